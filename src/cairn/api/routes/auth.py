"""Logging in (password to a short-lived access token) and the caller's own API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from cairn.api.deps import Caller, RequestContext, RowId, Server, client_address
from cairn.api.permissions import V1
from cairn.api.schemas import ApiTokenCreate, ApiTokenCreated, ApiTokenOut, Me, Token
from cairn.services import identity

router = APIRouter(prefix=f"{V1}/auth", tags=["auth"])


@router.post("/token")
def login(
    request: Request,
    state: Server,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token:
    """Exchange a username and password for a bearer access token (OAuth2 password flow).

    Failed attempts are limited per user name and per client address; past the limit the
    answer is 429 with Retry-After, before the password is even checked.
    """
    origin = client_address(request)
    # A name no user can have is refused before it reaches the store or the audit trail, and
    # counts against the address only (it names no account).
    valid = identity.is_login_name(form.username)
    keys = (f"user:{form.username}", f"address:{origin}") if valid else (f"address:{origin}",)
    wait = max(state.limiter.check(key) for key in keys)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed logins; try again later",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    principal = None
    try:  # counted even when the check itself fails (a store error), before anything else
        if valid:
            principal = identity.authenticate(state.ctx, form.username, form.password, origin)
    finally:
        if principal is None:
            for key in keys:
                state.limiter.failed(key)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "wrong user name or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # Only the user's own count is cleared: a valid login of one account must not reset the
    # address's count, or one known password would let an address try every other account.
    state.limiter.succeeded(keys[0])
    ttl = state.settings.access_token_seconds
    return Token(
        access_token=identity.issue_access_token(state.ctx, principal, ttl_seconds=ttl),
        expires_in=ttl,
    )


@router.get("/me")
def me(principal: Caller) -> Me:
    return Me(
        user_id=principal.user_id,
        username=principal.username,
        agency_code=principal.agency_code,
        role=principal.role.value,
    )


@router.get("/api-tokens")
def list_api_tokens(ctx: RequestContext, principal: Caller) -> list[ApiTokenOut]:
    return [
        ApiTokenOut.model_validate(token, from_attributes=True)
        for token in identity.list_api_tokens(ctx, principal)
    ]


@router.post("/api-tokens", status_code=status.HTTP_201_CREATED)
def create_api_token(
    body: ApiTokenCreate, ctx: RequestContext, principal: Caller, state: Server
) -> ApiTokenCreated:
    token = identity.create_api_token(
        ctx,
        principal,
        body.name,
        expires_at=body.expires_at,
        max_lifetime=timedelta(days=state.settings.api_token_max_days),
    )
    return ApiTokenCreated(name=body.name, token=token)


@router.delete("/api-tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_api_token(token_id: RowId, ctx: RequestContext, principal: Caller) -> None:
    identity.revoke_api_token(ctx, principal, token_id)
