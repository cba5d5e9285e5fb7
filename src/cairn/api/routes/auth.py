"""Logging in (password to a short-lived access token) and the caller's own API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from cairn.api.deps import Caller, RequestContext, RowId, Server, client_address
from cairn.api.login import LoginRefused, password_login
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

    The login limits of `api.login.password_login` apply: past a limit the answer is 429 with
    Retry-After, before the password is even checked.
    """
    try:
        principal = password_login(state, client_address(request), form.username, form.password)
    except LoginRefused as refused:
        if refused.status == status.HTTP_429_TOO_MANY_REQUESTS:
            headers = {"Retry-After": str(refused.retry_after)}
        else:
            headers = {"WWW-Authenticate": "Bearer"}
        raise HTTPException(refused.status, refused.detail, headers=headers) from None
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
