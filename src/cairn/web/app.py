"""The server `cairn serve` runs: the REST API (api.app) with the review workspace at `/` — its
pages, its bundled files, and its answers to errors (pages, where the API answers JSON).

Everything the browser loads comes from the package (templates and `static/`): no CDN, no
fonts or scripts from elsewhere, so the workspace works on a network with no way out.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from cairn.api.app import create_app
from cairn.api.deps import ServerSettings
from cairn.api.permissions import V1
from cairn.core.errors import NotFoundError, PermissionDeniedError, UsageError
from cairn.services.jobs import RunnerSettings
from cairn.web import case_pages, pages
from cairn.web.guard import CsrfRefused, LoginRequired, WebSettings, WebState, dependency_actions
from cairn.web.render import page

ROUTERS = (pages.router, case_pages.router)
PUBLIC_PAGES = {("GET", "/"), ("GET", "/login"), ("POST", "/login")}

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(f"{V1}/") or request.url.path == V1


def _error_page(request: Request, status: int, heading: str, detail: str) -> Response:
    return page(request, "error.html", status=status, heading=heading, detail=detail)


# One body for "not found" whatever was asked: another agency's case and a missing one must
# read alike, so the page never echoes the request.
def not_found_page(request: Request) -> Response:
    return _error_page(request, 404, "Not found", "There is nothing here, or nothing for you.")


def _html_or_api(api: Handler, html: Callable[[Request, Exception], Response]) -> Handler:
    async def handler(request: Request, exc: Exception) -> Response:
        if _is_api(request):
            answer = api(request, exc)
            return await answer if isinstance(answer, Awaitable) else answer
        return html(request, exc)

    return handler


def create_server(
    workspace: str | os.PathLike[str] | None = None,
    database_url: str | None = None,
    *,
    settings: ServerSettings | None = None,
    runner_settings: RunnerSettings | None = None,
    run_jobs: bool = True,
    web_settings: WebSettings | None = None,
) -> FastAPI:
    """`api.app.create_app` (same arguments) with the review workspace installed."""
    app = create_app(
        workspace,
        database_url,
        settings=settings,
        runner_settings=runner_settings,
        run_jobs=run_jobs,
    )
    install(app, web_settings)
    return app


def install(app: FastAPI, settings: WebSettings | None = None) -> None:
    """Add the workspace to the API's app (after errors.install: it wraps those handlers)."""
    settings = settings or WebSettings()
    app.state.web = WebState(settings)
    app.state.web.sessions.idle_seconds = settings.session_idle_seconds
    app.state.web.sessions.max_seconds = settings.session_max_seconds
    static = Path(str(files("cairn.web") / "static"))
    app.mount("/static", StaticFiles(directory=static), name="static")
    for router in ROUTERS:
        app.include_router(router)
    check_pages(app)

    def api_handler(kind: type[Exception]) -> Handler:
        return app.exception_handlers[kind]

    app.add_exception_handler(
        NotFoundError,
        _html_or_api(api_handler(NotFoundError), lambda r, _e: not_found_page(r)),
    )
    app.add_exception_handler(
        PermissionDeniedError,
        _html_or_api(
            api_handler(PermissionDeniedError),
            lambda r, _e: _error_page(r, 403, "Not allowed", "Your role does not allow this."),
        ),
    )
    app.add_exception_handler(
        UsageError,
        _html_or_api(
            api_handler(UsageError),
            lambda r, e: _error_page(r, 400, "Cannot do that", str(e)),
        ),
    )

    async def http_error(request: Request, exc: Exception) -> Response:
        from fastapi.exception_handlers import http_exception_handler

        assert isinstance(exc, StarletteHTTPException)
        if _is_api(request) or exc.status_code != 404:
            return await http_exception_handler(request, exc)
        return not_found_page(request)

    app.add_exception_handler(StarletteHTTPException, http_error)

    async def login_required(request: Request, _exc: Exception) -> Response:
        if request.method != "GET":
            return Response("log in first", status_code=401, media_type="text/plain")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    async def csrf_refused(request: Request, _exc: Exception) -> Response:
        return _error_page(request, 403, "Refused", "This form expired; reload the page.")

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(CsrfRefused, csrf_refused)


def check_pages(app: FastAPI) -> None:
    """Every page but the login ones names the action its viewer's role needs, and every
    POST checks the CSRF token: a new page cannot ship open."""
    for route in app.routes:
        if not isinstance(route, APIRoute) or route.path.startswith(V1):
            continue
        for method in (route.methods or set()) - {"HEAD"}:
            if (method, route.path) in PUBLIC_PAGES:
                continue
            if not dependency_actions(route.dependant):
                raise RuntimeError(f"{method} {route.path} does not check its viewer")
            if method != "GET" and not _checks_csrf(route):
                raise RuntimeError(f"{method} {route.path} does not check the CSRF token")


def _checks_csrf(route: APIRoute) -> bool:
    from cairn.web.guard import check_csrf

    def walk(dependant: object) -> bool:
        if getattr(dependant, "call", None) is check_csrf:
            return True
        return any(walk(d) for d in getattr(dependant, "dependencies", ()))

    return walk(route.dependant)
