"""The app: its route table, OpenAPI schema, health, and no anonymous access."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cairn.api.app import api_routes, check_route_table, create_app
from cairn.api.deps import Caller
from cairn.api.permissions import PUBLIC, ROUTE_PERMISSIONS

if TYPE_CHECKING:
    from conftest import World


def test_health_needs_no_token_and_tells_nothing_else(world: World) -> None:
    answer = world.client.get("/api/v1/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}  # no version, no kind of store
    assert answer.headers["cache-control"] == "no-store, private"  # every answer, by default


def test_swagger_ui_is_off_unless_asked_and_the_schema_is_always_served(world: World) -> None:
    """Swagger UI's page loads its scripts from a CDN: not served by default."""
    assert world.client.get("/api/v1/docs").status_code == 404
    assert world.client.get("/api/v1/openapi.json").status_code == 200
    ws = world.ctx.workspace
    settings = dataclasses.replace(world.client.app.state.cairn.settings, api_docs=True)
    asked = create_app(ws.root, ws.database_url, settings=settings, run_jobs=False)
    page = TestClient(asked).get("/api/v1/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    asked.state.cairn.ctx.close()


def test_a_nul_byte_in_any_text_field_is_a_clean_422(world: World) -> None:
    headers = world.headers()
    device = str(world.roots["AA-1"] / "AA-1-device")
    for url, body in (
        ("/api/v1/cases/A-1/evidence", {"source": device, "label": "a\0b"}),
        ("/api/v1/cases/A-1/evidence", {"source": device, "custodian": "a\0b"}),
        ("/api/v1/cases/A-1/evidence", {"source": device, "timezone": "a\0b"}),
        ("/api/v1/cases/A-1/evidence", {"source": device, "acquisition_hash": "md5:\0"}),
        ("/api/v1/cases/A-1/ingest", {"source": device, "evidence_label": "a\0b"}),
        ("/api/v1/cases/A-1/ingest", {"source": device + "\0"}),
        ("/api/v1/cases/A-1/evidence", {"source": "\0"}),
    ):
        answer = world.client.post(url, json=body, headers=headers)
        assert answer.status_code == 422, (url, body, answer.text)
    for param in ("name", "filename", "format"):
        answer = world.client.post(
            "/api/v1/hashsets",
            params={"name": "n", "filename": "list.txt", param: "a\0b"},
            content=f"{'ab' * 16}\n".encode(),
            headers=headers,
        )
        assert answer.status_code == 422, (param, answer.text)


def test_every_route_but_health_and_login_refuses_anonymous_callers(world: World) -> None:
    for (method, path), action in ROUTE_PERMISSIONS.items():
        ids = {"job_id": 1, "hashset_id": 1, "token_id": 1, "series_id": 1}
        ids |= {f"{kind}_id": 1 for kind in ("victim", "person", "clue", "lead", "crop")}
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
