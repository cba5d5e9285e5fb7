"""Logging in, login limiting, API tokens (create, use, revoke), expiry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from cairn.api import login
from cairn.api.routes import auth
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
    # The limit is per address and user first: the same address may still log in as another
    # user, and the account's owner elsewhere is not locked out by a stranger's guesses.
    assert _login(world, "benign test password", user="admin.aa-1") == 200
    assert _login(world, "benign test password") == 429
    with _from("192.0.2.7"):
        assert _login(world, "benign test password") == 200
    assert _count(world, "user.locked") == 0


@contextmanager
def _from(address: str) -> Iterator[None]:
    """Requests in the block come from `address` (as if through a configured proxy)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "client_address", lambda _request: address)
        yield


def test_an_account_is_locked_only_past_many_addresses_and_with_notice(world: World) -> None:
    account_failures = world.client.app.state.cairn.logins.account.max_failures
    for n in range(account_failures):  # one wrong password each from many addresses
        with _from(f"198.51.100.{n}"):
            assert _login(world, "wrong password!") == 401
    with _from("192.0.2.7"):
        answer = world.client.post(
            "/api/v1/auth/token",
            data={"username": "examiner.aa-1", "password": "benign test password"},
        )
    assert answer.status_code == 429
    assert answer.json() == {"detail": login.LOCKED}
    with world.ctx.db.session() as session:
        (locked,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.locked"))
    assert (locked.user, locked.agency, locked.origin) == (
        "examiner.aa-1",
        "AA-1",
        f"198.51.100.{account_failures - 1}",
    )
    assert locked.details == {"failures": account_failures}
    assert _login(world, "benign test password", user="admin.aa-1") == 200  # others unaffected


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


def _works(world: World, token: str) -> bool:
    answer = world.client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code in (200, 401)
    return answer.status_code == 200


def test_an_expiry_with_a_utc_offset_is_stored_as_that_instant(world: World) -> None:
    # Issue 13: "+14:00" was dropped on SQLite, so a token that expired an hour ago worked.
    headers = world.headers(Role.EXAMINER, "BB-2")
    kiribati = timezone(timedelta(hours=14))
    past = (datetime.now(UTC) - timedelta(hours=1)).astimezone(kiribati)
    soon = (datetime.now(UTC) + timedelta(hours=1)).astimezone(timezone(timedelta(hours=-9)))
    made = {}
    for name, when in (("past", past), ("soon", soon)):
        answer = world.client.post(
            "/api/v1/auth/api-tokens",
            json={"name": name, "expires_at": when.isoformat()},
            headers=headers,
        )
        assert answer.status_code == 201, answer.text
        made[name] = answer.json()["token"]
    assert not _works(world, made["past"])
    assert _works(world, made["soon"])
    listed = {
        t["name"]: t for t in world.client.get("/api/v1/auth/api-tokens", headers=headers).json()
    }
    assert listed["past"]["expires_at"] == past.astimezone(UTC).isoformat()
    assert listed["soon"]["expires_at"] == soon.astimezone(UTC).isoformat()
    naive = world.client.post(
        "/api/v1/auth/api-tokens",
        json={"name": "naive", "expires_at": "2030-01-01T00:00:00"},
        headers=headers,
    )
    assert naive.status_code == 422  # a time without its offset means nothing


def test_api_tokens_made_through_the_api_live_at_most_the_policy(world: World) -> None:
    headers = world.headers(Role.EXAMINER, "AA-1")
    answer = world.client.post(
        "/api/v1/auth/api-tokens", json={"name": "no expiry asked"}, headers=headers
    )
    assert answer.status_code == 201
    (listed,) = world.client.get("/api/v1/auth/api-tokens", headers=headers).json()
    lifetime = datetime.fromisoformat(listed["expires_at"]) - datetime.fromisoformat(
        listed["created_at"]
    )
    assert lifetime == timedelta(days=30)  # ServerSettings.api_token_max_days
    too_long = datetime.now(UTC) + timedelta(days=31)
    answer = world.client.post(
        "/api/v1/auth/api-tokens",
        json={"name": "forever", "expires_at": too_long.isoformat()},
        headers=headers,
    )
    assert answer.status_code == 422
    assert answer.json() == {"detail": "an API token made here lives at most 30 days"}


def test_a_password_reset_and_a_disable_revoke_api_tokens(world: World) -> None:
    principal = world.principals[(Role.EXAMINER, "AA-1")]
    before_reset = identity.create_api_token(world.ctx, principal, "before reset")
    assert _works(world, before_reset)
    identity.set_password(world.ctx, "examiner.aa-1", "a new benign password")
    assert not _works(world, before_reset)
    before_disable = identity.create_api_token(world.ctx, principal, "before disable")
    identity.set_user_active(world.ctx, "examiner.aa-1", False)
    identity.set_user_active(world.ctx, "examiner.aa-1", True)
    assert not _works(world, before_disable)  # enabling again revives no old token
    assert _works(world, identity.create_api_token(world.ctx, principal, "after"))
    with world.ctx.db.session() as session:
        details = session.scalars(
            select(AuditEvent.details).where(
                AuditEvent.action.in_(["user.password", "user.disable"])
            )
        ).all()
    assert [d["revoked"] for d in details] == [1, 1]


@pytest.mark.parametrize("name", ["x" * 200_000, "anna\r\nlogin ok", "nul\x00name", " ", "é" * 5])
def test_impossible_login_names_reach_neither_the_store_nor_the_audit_trail(
    world: World, name: str
) -> None:
    events_before = _count(world, "login-failed")
    assert _login(world, "benign test password", user=name) == 401
    assert _count(world, "login-failed") == events_before
    assert [_login(world, "whatever", user=name) for _ in range(4)] == [401] * 4
    address = world.client.app.state.cairn.logins.address
    assert len(address._failures["testclient"]) == 5  # counted against the address


def test_a_failing_login_check_is_still_counted(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("the store failed")

    monkeypatch.setattr(identity, "authenticate", broken)
    with pytest.raises(RuntimeError):
        _login(world, "benign test password")
    assert world.client.app.state.cairn.logins.pair._failures["testclient examiner.aa-1"]
