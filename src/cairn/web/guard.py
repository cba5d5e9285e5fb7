"""Who is looking: the session behind the cookie, the role's right to the page, and the CSRF
token every state-changing request must carry.

A visitor without a session is sent to the login page (`LoginRequired`); a role without the
page's action gets the 403 page; a case of another agency is the same 404 page as a missing
one (services.access).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from cairn.api.deps import ServerState, client_address
from cairn.core.errors import PermissionDeniedError
from cairn.services.access import allowed
from cairn.services.context import Context
from cairn.services.identity import Principal, actor_for, principal_for_user
from cairn.web.sessions import (
    COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SessionStore,
    WebSession,
    same_token,
)

DEFAULT_BREAK_AFTER_SECONDS = 20 * 60  # exposure since the last break before the prompt


@dataclass(frozen=True)
class WebSettings:
    break_after_seconds: float = DEFAULT_BREAK_AFTER_SECONDS
    session_idle_seconds: float = 3600
    session_max_seconds: float = 12 * 3600


@dataclass
class WebState:
    settings: WebSettings
    sessions: SessionStore = field(default_factory=SessionStore)


class LoginRequired(Exception):
    """No (live) session: the handler sends the browser to the login page."""


class CsrfRefused(Exception):
    """A state-changing request without its session's CSRF token."""


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    session: WebSession
    ctx: Context  # audits in the viewer's name, from the client's address

    def may(self, action: str) -> bool:
        return allowed(self.principal, action)


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.cairn
    return state


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def _viewer(request: Request) -> Viewer:
    state = server_state(request)
    session = web_state(request).sessions.get(request.cookies.get(COOKIE))
    if session is None:
        raise LoginRequired
    principal = principal_for_user(state.ctx, session.user_id)
    if principal is None:  # disabled since the login
        web_state(request).sessions.end(request.cookies.get(COOKIE))
        raise LoginRequired
    base = state.ctx
    ctx = Context(base.workspace, base.db, actor_for(principal, client_address(request)))
    return Viewer(principal, session, ctx)


def needs(action: str | None) -> Callable[[Request], Viewer]:
    """A dependency: the logged-in viewer, whose role must allow `action` (None: any role)."""

    def dependency(request: Request) -> Viewer:
        viewer = _viewer(request)
        if action is not None and not viewer.may(action):
            raise PermissionDeniedError(f"role {viewer.principal.role.value} may not {action}")
        return viewer

    dependency.web_action = action  # type: ignore[attr-defined]  # read by check_pages
    return dependency


async def check_csrf(request: Request) -> None:
    """The request's CSRF token (header for scripts, form field for forms) must be its
    session's; checked on every POST of the workspace."""
    session = web_state(request).sessions.get(request.cookies.get(COOKIE))
    if session is None:
        raise LoginRequired
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not same_token(session.csrf, given):
        raise CsrfRefused


Csrf = Annotated[None, Depends(check_csrf)]


def dependency_actions(dependant: Any) -> list[str | None]:
    """The actions of the `needs` dependencies of a route (its whole dependency tree)."""
    found = []
    call = getattr(dependant, "call", None)
    if call is not None and hasattr(call, "web_action"):
        found.append(call.web_action)
    for sub in getattr(dependant, "dependencies", ()):
        found.extend(dependency_actions(sub))
    return found
