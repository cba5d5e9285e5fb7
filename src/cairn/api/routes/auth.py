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
LOCKED = "this account is locked for a while after many failed logins; its auditors are told"


@router.post("/token")
def login(
    request: Request,
    state: Server,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token:
    """Exchange a username and password for a bearer access token (OAuth2 password flow).

    Failed attempts are limited per (address, user name), per address and, past many from
    any addresses, per account, which is then locked with notice (`user.locked` in the audit
    trail, and the 429 says so); past a limit the answer is 429 with Retry-After, before the
    password is even checked.
    """
    origin = client_address(request)
    # A name no user can have is refused before it reaches the store or the audit trail, and
    # counts against the address only (it names no account).
    name = form.username if identity.is_login_name(form.username) else None
    wait, locked = state.logins.wait(origin, name)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            LOCKED if locked else "too many failed logins; try again later",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    principal = None
    try:  # counted even when the check itself fails (a store error), before anything else
        if name is not None:
            principal = identity.authenticate(state.ctx, name, form.password, origin)
    finally:
        if principal is None and state.logins.failed(origin, name) and name is not None:
            failures = state.logins.account.max_failures
            identity.record_lockout(state.ctx, name, origin, failures)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "wrong user name or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    state.logins.succeeded(origin, principal.username)
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
