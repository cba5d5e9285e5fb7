"""What every route depends on: the server's state, the authenticated caller, and a Context
that audits in the caller's name with the client's address as the origin."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cairn.api.permissions import AUTHENTICATED, PUBLIC, ROUTE_PERMISSIONS
from cairn.api.schemas import MAX_ID
from cairn.services.access import case_for, require
from cairn.services.context import Context
from cairn.services.evidence_roots import EvidenceRoots
from cairn.services.identity import LoginGuard, Principal, actor_for, principal_from_token
from cairn.services.jobs import JobRunner

# 2 GiB: a national hash set with PDQs is a few hundred MB; NSRL's largest RDS files are
# imported from disk with the CLI, not uploaded.
DEFAULT_UPLOAD_MAX_BYTES = 2 << 30


@dataclass(frozen=True)
class ServerSettings:
    upload_max_bytes: int = DEFAULT_UPLOAD_MAX_BYTES
    # `--evidence-root AGENCY=PATH` options (services.evidence_roots.bind); none: the API
    # registers and ingests no evidence.
    evidence_roots: tuple[str, ...] = ()
    access_token_seconds: int = 900
    # The longest an API token made through the API lives (and its expiry when none is asked):
    # a 15-minute password session must not mint a credential that never ends.
    api_token_max_days: int = 30
    # Swagger UI at /api/v1/docs loads its scripts from a CDN (no installed package ships
    # them): off unless the operator asks (`cairn serve --api-docs`); openapi.json is always on.
    api_docs: bool = False


@dataclass
class ServerState:
    ctx: Context  # the workspace and store; its actor is the server process itself
    runner: JobRunner
    settings: ServerSettings
    roots: EvidenceRoots  # the settings' evidence roots, bound to agencies at start
    logins: LoginGuard = field(default_factory=LoginGuard)


def server(request: Request) -> ServerState:
    state: ServerState = request.app.state.cairn
    return state


Server = Annotated[ServerState, Depends(server)]

# auto_error=False: a missing token is answered 401 by `authorize`, not 403 by FastAPI.
_bearer = HTTPBearer(auto_error=False, description="An access token or an API token.")
_UNAUTHORIZED = HTTPException(
    401, "missing, invalid or expired token", headers={"WWW-Authenticate": "Bearer"}
)


def client_address(request: Request) -> str:
    """The caller's address for the audit trail (uvicorn applies trusted proxy headers)."""
    return request.client.host if request.client else "unknown"


def route_action(request: Request) -> str:
    route = request.scope["route"]
    (method,) = route.methods - {"HEAD"}
    return ROUTE_PERMISSIONS[(method, route.path)]


def authorize(
    request: Request,
    state: Server,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller behind the bearer token, allowed by its role to do this route's action."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _UNAUTHORIZED
    principal = principal_from_token(state.ctx, credentials.credentials)
    if principal is None:
        raise _UNAUTHORIZED
    action = route_action(request)
    if action not in (AUTHENTICATED, PUBLIC):
        require(principal, action)
    return principal


Caller = Annotated[Principal, Depends(authorize)]


def request_context(request: Request, state: Server, principal: Caller) -> Context:
    """A Context whose audit events name the caller and where the request came from."""
    base = state.ctx
    return Context(base.workspace, base.db, actor_for(principal, client_address(request)))


RequestContext = Annotated[Context, Depends(request_context)]

RowId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="A row id.")]


def check_case(ctx: Context, principal: Principal, ref: str) -> None:
    """404 unless the case is the caller's agency's: before a change whose service audits it."""
    with ctx.db.session() as session:
        case_for(session, principal, ref)
