"""Users of the caller's agency, for its admins: list, create, disable and enable."""

from __future__ import annotations

from fastapi import APIRouter, status

from cairn.api.deps import Caller, RequestContext
from cairn.api.permissions import V1
from cairn.api.schemas import UserActive, UserCreate, UserOut
from cairn.services import identity
from cairn.services.access import in_namespace

router = APIRouter(prefix=f"{V1}/users", tags=["users"])


def _out(user: identity.UserInfo) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


@router.get("")
def list_users(ctx: RequestContext, principal: Caller) -> list[UserOut]:
    return [_out(u) for u in identity.list_users(ctx, principal=principal)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, ctx: RequestContext, principal: Caller) -> UserOut:
    """A new user of the admin's own agency (Argon2id-hashed password, never stored clear),
    named in the agency's namespace (`BB-2:anna`) as cases are: a name another agency uses is
    never refused as taken, so creating users tells nothing about other agencies."""
    return _out(
        identity.create_user(
            ctx,
            in_namespace(principal, body.username),
            principal.agency_code,
            body.role,
            body.password.get_secret_value(),
            principal=principal,
        )
    )


@router.put("/{username}/active")
def set_active(username: str, body: UserActive, ctx: RequestContext, principal: Caller) -> UserOut:
    """Disable (tokens stop working at once) or enable a user of the admin's agency."""
    return _out(identity.set_user_active(ctx, username, body.active, principal=principal))
