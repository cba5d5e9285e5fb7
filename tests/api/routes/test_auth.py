"""Logging in, login limiting, API tokens (create, use, revoke), expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from cairn.core.types import Role
from cairn.services import identity
from cairn.store.models import AuditEvent

if TYPE_CHECKING:
    from conftest import World


def _login(world: World, password: str, user: str = "examiner.aa-1") -> int:
    answer = world.client.post("/api/v1/auth/token", data={"username": user, "password": password})
    return answer.status_code


def _count(world: World, action: str) -> int:
    with world.ctx.db.session() as session:
        return (
            session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action))
            or 0
        )


def test_login_gives_a_bearer_token_for_the_user(world: World) -> None:
    answer = world.client.post(
        "/api/v1/auth/token",
        data={"username": "auditor.bb-2", "password": "benign test password"},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert (body["token_type"], body["expires_in"]) == ("bearer", 900)
    me = world.client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json() == {
        "user_id": world.principals[(Role.AUDITOR, "BB-2")].user_id,
        "username": "auditor.bb-2",
        "agency_code": "BB-2",
        "role": "auditor",
    }


def test_failed_logins_are_limited_then_refused_with_retry_after(world: World) -> None:
    logins_before = _count(world, "login-failed")
    assert [_login(world, "wrong password!") for _ in range(5)] == [401] * 5
    answer = world.client.post(
        "/api/v1/auth/token",
        data={"username": "examiner.aa-1", "password": "benign test password"},
    )
    assert answer.status_code == 429  # even the right password, until the window passes
    assert 1 <= int(answer.headers["Retry-After"]) <= 300
    assert _count(world, "login-failed") == logins_before + 5  # refused ones never checked
    # The limit is per user name and per address: this client is limited for others too.
    assert _login(world, "benign test password", user="admin.aa-1") == 429
    world.client.app.state.cairn.limiter.succeeded("address:testclient")
    assert _login(world, "benign test password", user="admin.aa-1") == 200
    assert _login(world, "benign test password") == 429


def test_api_tokens_work_until_revoked(world: World) -> None:
    headers = world.headers(Role.EXAMINER, "BB-2")
    created = world.client.post(
        "/api/v1/auth/api-tokens", json={"name": "nightly import"}, headers=headers
    )
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("cairn_")
    bearer = {"Authorization": f"Bearer {token}"}
    assert world.client.get("/api/v1/cases", headers=bearer).json()[0]["ref"] == "B-1"
    listed = world.client.get("/api/v1/auth/api-tokens", headers=headers).json()
    assert [t["name"] for t in listed] == ["nightly import"]
    assert "token" not in listed[0]  # shown once, at creation
    revoked = world.client.delete(f"/api/v1/auth/api-tokens/{listed[0]['id']}", headers=headers)
    assert revoked.status_code == 204
    assert world.client.get("/api/v1/cases", headers=bearer).status_code == 401
    listed = world.client.get("/api/v1/auth/api-tokens", headers=headers).json()
    assert listed[0]["revoked_at"] is not None


def test_expired_tokens_and_disabled_users_are_refused(world: World) -> None:
    principal = world.principals[(Role.EXAMINER, "AA-1")]
    expired = identity.issue_access_token(world.ctx, principal, ttl_seconds=-1)
    answer = world.client.get("/api/v1/cases", headers={"Authorization": f"Bearer {expired}"})
    assert answer.status_code == 401
    past = datetime.now(UTC) - timedelta(seconds=1)
    old = identity.create_api_token(world.ctx, principal, "old", expires_at=past)
    answer = world.client.get("/api/v1/cases", headers={"Authorization": f"Bearer {old}"})
    assert answer.status_code == 401
    headers = world.headers(Role.EXAMINER, "AA-1")
    assert world.client.get("/api/v1/cases", headers=headers).status_code == 200
    identity.set_user_active(world.ctx, "examiner.aa-1", False)
    assert world.client.get("/api/v1/cases", headers=headers).status_code == 401
    assert _login(world, "benign test password") == 401
