"""The app: its route table, OpenAPI schema, health, and no anonymous access."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI

from cairn.api.app import api_routes, check_route_table
from cairn.api.deps import Caller
from cairn.api.permissions import PUBLIC, ROUTE_PERMISSIONS

if TYPE_CHECKING:
    from conftest import World


def test_health_needs_no_token_and_names_the_store(world: World) -> None:
    answer = world.client.get("/api/v1/health")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert body["database"] == world.ctx.db.engine.dialect.name
    assert answer.headers["cache-control"] == "no-store, private"  # every answer, by default


def test_every_route_but_health_and_login_refuses_anonymous_callers(world: World) -> None:
    for (method, path), action in ROUTE_PERMISSIONS.items():
        ids = {"job_id": 1, "hashset_id": 1, "token_id": 1, "series_id": 1}
        url = path.format(ref="A-1", sha256="0" * 64, username="nobody", **ids)
        answer = world.client.request(method, url)
        if action == PUBLIC:
            assert answer.status_code != 401, (method, path)
        else:
            assert answer.status_code == 401, (method, path, answer.status_code)
            assert answer.headers["WWW-Authenticate"] == "Bearer"
        bad = world.client.request(method, url, headers={"Authorization": "Bearer cat1.x.y"})
        if action != PUBLIC:
            assert bad.status_code == 401, (method, path)


def test_openapi_schema_lists_every_route_of_the_table(world: World) -> None:
    schema = world.client.get("/api/v1/openapi.json").json()
    listed = {(m.upper(), p) for p, item in schema["paths"].items() for m in item}
    assert listed == set(ROUTE_PERMISSIONS)
    assert "MediaOut" in schema["components"]["schemas"]


def test_a_route_missing_from_the_table_stops_the_app() -> None:
    app = FastAPI()

    @app.get("/api/v1/unlisted")
    def unlisted(principal: Caller) -> None:
        return None

    with pytest.raises(RuntimeError, match="GET /api/v1/unlisted has no entry"):
        check_route_table(app)


def test_a_listed_route_that_skips_authentication_stops_the_app() -> None:
    app = FastAPI()

    @app.get("/api/v1/cases")
    def cases() -> None:
        return None

    with pytest.raises(RuntimeError, match="does not authenticate"):
        check_route_table(app)
    assert len(api_routes(app)) == 1
