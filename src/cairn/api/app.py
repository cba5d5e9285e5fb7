"""The Cairn server: `create_app(workspace)` builds the FastAPI application.

Use it in-process (tests, benches) as::

    from fastapi.testclient import TestClient
    from cairn.api.app import create_app

    app = create_app(workspace_dir)                      # SQLite in the workspace
    app = create_app(workspace_dir, "postgresql+psycopg://…")  # or a PostgreSQL store
    with TestClient(app) as client:                      # `with`: starts the job runner
        token = client.post("/api/v1/auth/token",
                            data={"username": "demo", "password": "…"}).json()["access_token"]
        client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})

Every route lives under `/api/v1/` (`cairn.web.app.create_server` adds the browser review
workspace at `/` to this app, for `cairn serve`), needs a bearer token except health and
login, and is listed with its permission action in `cairn.api.permissions.ROUTE_PERMISSIONS`;
the app refuses to be built when a route is missing there. The job runner (ingest, imports,
matching) starts and stops with the application's lifespan; `run_jobs=False` leaves it
stopped, for tests that drive `app.state.cairn.runner.run_pending()` themselves. The OpenAPI
schema is at `/api/v1/openapi.json`. `tests/api/conftest.py` (`build_world`) builds a benign
two-agency workspace with one user per role (password "benign test password") to run it
against.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace

from fastapi import FastAPI, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from cairn import __version__
from cairn.api import errors
from cairn.api.deps import ServerSettings, ServerState, authorize
from cairn.api.permissions import PUBLIC, ROUTE_PERMISSIONS, V1
from cairn.api.routes import (
    alerts,
    audit,
    auth,
    cameras,
    cases,
    evidence,
    evidence_roots,
    grading,
    hashsets,
    health,
    jobs,
    media,
    messaging,
    records,
    search,
    series,
    share,
    similar,
    triage,
    users,
)
from cairn.core.config import Actor, Workspace
from cairn.services.access import PERMISSIONS
from cairn.services.context import Context
from cairn.services.evidence_roots import bind as bind_roots
from cairn.services.identity import list_agencies
from cairn.services.jobs import JobRunner, RunnerSettings
from cairn.store.database import open_database

log = logging.getLogger(__name__)
NextHandler = Callable[[Request], Awaitable[Response]]
ROUTERS = (
    health,
    auth,
    users,
    cases,
    evidence,
    evidence_roots,
    jobs,
    media,
    hashsets,
    triage,
    grading,
    messaging,
    search,
    similar,
    series,
    records,
    alerts,
    share,
    cameras,
    audit,
)


def create_app(
    workspace: str | os.PathLike[str] | None = None,
    database_url: str | None = None,
    *,
    settings: ServerSettings | None = None,
    runner_settings: RunnerSettings | None = None,
    run_jobs: bool = True,
) -> FastAPI:
    """The API over one workspace; `database_url` overrides the workspace's store (PostgreSQL)."""
    ws = Workspace.resolve(workspace)
    if database_url is not None:
        ws = Workspace(ws.root, database_url)
    ws.create()
    ctx = Context(ws, open_database(ws.database_url), Actor.current())
    settings = settings or ServerSettings()
    agencies = [agency.code for agency in list_agencies(ctx)]
    roots = bind_roots(settings.evidence_roots, agencies)
    log.info("%s", roots.describe())  # what each agency may read, for the operator to audit
    runner_settings = replace(runner_settings or RunnerSettings(), evidence_roots=roots)
    state = ServerState(ctx, JobRunner(ctx, runner_settings), settings, roots)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_jobs:
            state.runner.start()
        try:
            yield
        finally:
            state.runner.stop(timeout=30)
            ctx.close()

    app = FastAPI(
        title="Cairn",
        version=__version__,
        description="Multi-agency forensic database: cases, media, hash sets, search by hash.",
        openapi_url=f"{V1}/openapi.json",
        docs_url=f"{V1}/docs" if settings.api_docs else None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.cairn = state
    errors.install(app)

    @app.middleware("http")
    async def no_store(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        # Answers carry case data: no browser or proxy keeps them, unless a route says so.
        response = await call_next(request)
        response.headers.setdefault("Cache-Control", "no-store, private")
        return response

    for module in ROUTERS:
        app.include_router(module.router)  # each router carries its full /api/v1 prefix
    check_route_table(app)
    return app


def api_routes(app: FastAPI) -> list[APIRoute]:
    """The app's API routes. A route's `path` must be the full path that it serves: requests
    find their entry in ROUTE_PERMISSIONS by it (so routers are included without a prefix)."""
    routes = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            if context.path != route.path:
                raise RuntimeError(f"{context.path}: include routers without a prefix")
            routes.append(route)
    return routes


def _calls(dependant: Dependant, call: Callable[..., object]) -> bool:
    return dependant.call is call or any(_calls(d, call) for d in dependant.dependencies)


def check_route_table(app: FastAPI) -> None:
    """Every route is in ROUTE_PERMISSIONS and every entry is a route; every action is known;
    every route but the public ones authenticates its caller."""
    seen = set()
    for route in api_routes(app):
        for method in (route.methods or set()) - {"HEAD"}:
            key = (method, route.path)
            seen.add(key)
            action = ROUTE_PERMISSIONS.get(key)
            if action is None:
                raise RuntimeError(f"{method} {route.path} has no entry in ROUTE_PERMISSIONS")
            if action == PUBLIC:
                continue
            if not _calls(route.dependant, authorize):
                raise RuntimeError(f"{method} {route.path} does not authenticate its caller")
    stale = set(ROUTE_PERMISSIONS) - seen
    if stale:
        raise RuntimeError(f"ROUTE_PERMISSIONS names routes that do not exist: {sorted(stale)}")
    unknown = {a for a in ROUTE_PERMISSIONS.values() if "." in a and a not in PERMISSIONS}
    if unknown:
        raise RuntimeError(f"actions missing from services.access.PERMISSIONS: {sorted(unknown)}")
