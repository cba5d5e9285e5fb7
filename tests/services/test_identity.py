"""Agencies, users, passwords, access and API tokens, login limiting — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from cairn.core.config import Actor
from cairn.core.errors import NotFoundError, PermissionDeniedError, UsageError
from cairn.core.types import Role
from cairn.services import identity
from cairn.services.context import Context
from cairn.services.identity import (
    LoginGuard,
    LoginLimiter,
    Principal,
    adopt_unowned,
    authenticate,
    create_agency,
    create_api_token,
    create_api_token_for,
    create_user,
    issue_access_token,
    list_agencies,
    list_api_tokens,
    list_users,
    principal_from_token,
    revoke_api_token,
    set_user_active,
)
from cairn.store.identity_models import ApiToken, User
from cairn.store.models import AuditEvent

PASSWORD = "correct horse battery"


def _setup(ctx: Context) -> None:
    create_agency(ctx, "NL-NP", "Politie", "NL")
    create_agency(ctx, "BE-FP", "Federale Politie", "BE")
    create_user(ctx, "anna", "NL-NP", Role.EXAMINER, PASSWORD)


def _events(ctx: Context, action: str) -> list[AuditEvent]:
    with ctx.db.session() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def _login(ctx: Context, username: str = "anna", password: str = PASSWORD) -> Principal:
    principal = authenticate(ctx, username, password, "10.0.0.7")
    assert principal is not None
    return principal


def test_agencies_and_users_are_created_listed_and_validated(db_ctx: Context) -> None:
    _setup(db_ctx)
    assert [(a.code, a.country) for a in list_agencies(db_ctx)] == [
        ("BE-FP", "BE"),
        ("NL-NP", "NL"),
    ]
    create_user(db_ctx, "bert", "BE-FP", "auditor", PASSWORD)
    users = list_users(db_ctx)
    assert [(u.username, u.agency, u.role, u.active) for u in users] == [
        ("anna", "NL-NP", Role.EXAMINER, True),
        ("bert", "BE-FP", Role.AUDITOR, True),
    ]
    assert [u.username for u in list_users(db_ctx, "BE-FP")] == ["bert"]
    with pytest.raises(UsageError, match="already exists"):
        create_agency(db_ctx, "NL-NP", "again", "NL")
    with pytest.raises(UsageError, match="already exists"):
        create_user(db_ctx, "anna", "NL-NP", Role.EXAMINER, PASSWORD)
    with pytest.raises(UsageError, match="at least 12"):
        create_user(db_ctx, "carl", "NL-NP", Role.EXAMINER, "short-pass")
    with pytest.raises(UsageError, match="role must be one of"):
        create_user(db_ctx, "carl", "NL-NP", "boss", PASSWORD)
    with pytest.raises(NotFoundError, match="no agency 'XX'"):
        create_user(db_ctx, "carl", "XX", Role.EXAMINER, PASSWORD)
    with pytest.raises(UsageError, match="agency code"):
        create_agency(db_ctx, "nl np", "x", "NL")
    with pytest.raises(UsageError, match="country"):
        create_agency(db_ctx, "DE-BKA", "BKA", "Germany")


def test_passwords_are_argon2id_and_never_reach_the_audit_trail(db_ctx: Context) -> None:
    _setup(db_ctx)
    authenticate(db_ctx, "anna", "wrong password!", "10.0.0.7")
    _login(db_ctx)
    with db_ctx.db.session() as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "anna"))
        trail = json.dumps(
            [(e.user, e.action, e.details) for e in session.scalars(select(AuditEvent))]
        )
    assert stored is not None and stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert PASSWORD not in trail and "wrong password!" not in trail


def test_logins_and_failed_logins_are_audited_with_their_origin(db_ctx: Context) -> None:
    _setup(db_ctx)
    assert authenticate(db_ctx, "anna", "not the password", "10.0.0.7") is None
    assert authenticate(db_ctx, "nobody", PASSWORD, "10.0.0.8") is None
    principal = _login(db_ctx)
    assert principal == Principal(
        principal.user_id, "anna", principal.agency_id, "NL-NP", Role.EXAMINER
    )
    set_user_active(db_ctx, "anna", False)
    assert authenticate(db_ctx, "anna", PASSWORD, "10.0.0.9") is None
    failed = [(e.user, e.origin, e.agency, e.details) for e in _events(db_ctx, "login-failed")]
    assert failed == [
        ("anna", "10.0.0.7", "NL-NP", {"reason": "bad-credentials"}),
        ("nobody", "10.0.0.8", None, {"reason": "bad-credentials"}),
        ("anna", "10.0.0.9", "NL-NP", {"reason": "disabled"}),
    ]
    assert [(e.user, e.origin) for e in _events(db_ctx, "login")] == [("anna", "10.0.0.7")]
    # What the server's requests are audited as: the user, its agency, the client's address.
    assert identity.actor_for(principal, "10.0.0.9") == Actor(
        "anna", Actor.current().host, "10.0.0.9", "NL-NP"
    )


def test_an_unknown_user_costs_a_password_verification_too(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(ctx)
    verified: list[str] = []
    real = identity._verify

    def counting(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(identity, "_verify", counting)
    assert authenticate(ctx, "nobody", PASSWORD, "cli") is None
    assert len(verified) == 1 and verified[0].startswith("$argon2id$")


def test_a_weaker_hash_is_upgraded_at_the_next_login(ctx: Context) -> None:
    _setup(ctx)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with ctx.db.session() as session:
        session.execute(update(User).where(User.username == "anna").values(password_hash=weak))
    _login(ctx)
    with ctx.db.session() as session:
        upgraded = session.scalar(select(User.password_hash).where(User.username == "anna"))
    assert upgraded is not None and upgraded != weak
    assert "m=65536,t=3,p=4" in upgraded
    _login(ctx)  # and the new hash verifies


def test_access_tokens_hold_only_while_signed_unexpired_and_the_user_active(
    db_ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CAIRN_SECRET_KEY", raising=False)
    monkeypatch.delenv("CAIRN_SECRET_KEY_FILE", raising=False)
    _setup(db_ctx)
    principal = _login(db_ctx)
    token = issue_access_token(db_ctx, principal)
    assert token.startswith("cat1.")
    assert token != issue_access_token(db_ctx, principal)  # a nonce in every token
    assert principal_from_token(db_ctx, token) == principal
    payload, signature = token.removeprefix("cat1.").split(".")
    forged = identity._b64(
        json.dumps({"u": principal.user_id, "iat": 0, "exp": 2**40, "n": "x"}).encode()
    )
    for bad in (
        f"cat1.{forged}.{signature}",  # another payload under the old signature
        f"cat1.{payload}.{signature[:-2]}AA",
        f"cat1.{payload}",
        "cat1.",
        "Bearer nonsense",
        "cat1.\u00e9.x",
        issue_access_token(db_ctx, principal, ttl_seconds=-1),  # expired
    ):
        assert principal_from_token(db_ctx, bad) is None, bad
    monkeypatch.setenv("CAIRN_SECRET_KEY", "k" * 40)  # another server's key
    assert principal_from_token(db_ctx, token) is None
    monkeypatch.delenv("CAIRN_SECRET_KEY")
    set_user_active(db_ctx, "anna", False)
    assert principal_from_token(db_ctx, token) is None


def test_the_secret_key_comes_from_env_a_named_file_or_a_private_workspace_file(
    ctx: Context, monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]
) -> None:
    monkeypatch.delenv("CAIRN_SECRET_KEY", raising=False)
    monkeypatch.delenv("CAIRN_SECRET_KEY_FILE", raising=False)
    key = identity._secret_key(ctx)
    path = ctx.workspace.root / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key == path.read_bytes() and len(key) == 64
    assert identity._secret_key(ctx) == key  # the same on every use
    named = ctx.workspace.root.parent / "server.key"
    named.write_bytes(b"n" * 48 + b"\n")
    monkeypatch.setenv("CAIRN_SECRET_KEY_FILE", str(named))
    assert identity._secret_key(ctx) == b"n" * 48
    monkeypatch.setenv("CAIRN_SECRET_KEY", "e" * 32)
    assert identity._secret_key(ctx) == b"e" * 32
    monkeypatch.setenv("CAIRN_SECRET_KEY", "too short")
    with pytest.raises(UsageError, match="at least 32"):
        identity._secret_key(ctx)


def test_api_tokens_are_stored_hashed_revocable_and_expire(db_ctx: Context) -> None:
    _setup(db_ctx)
    create_user(db_ctx, "bert", "BE-FP", Role.EXAMINER, PASSWORD)
    anna = _login(db_ctx)
    bert = _login(db_ctx, "bert")
    token = create_api_token(db_ctx, anna, "nightly sync")
    assert token.startswith("cairn_") and len(token) > 40
    with db_ctx.db.session() as session:
        stored = session.scalars(select(ApiToken)).all()
    assert [(t.name, t.last_used_at) for t in stored] == [("nightly sync", None)]
    assert token not in stored[0].token_sha256 and len(stored[0].token_sha256) == 64
    assert principal_from_token(db_ctx, token) == anna
    (info,) = list_api_tokens(db_ctx, anna)
    assert info.name == "nightly sync" and info.last_used_at is not None
    assert list_api_tokens(db_ctx, bert) == []
    with pytest.raises(NotFoundError, match=f"no API token {info.id}"):
        revoke_api_token(db_ctx, bert, info.id)  # not bert's: looks like none
    assert principal_from_token(db_ctx, token) == anna
    assert revoke_api_token(db_ctx, anna, info.id).revoked_at is not None
    assert principal_from_token(db_ctx, token) is None
    old = create_api_token_for(
        db_ctx, "bert", "expired", expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert principal_from_token(db_ctx, old) is None
    assert principal_from_token(db_ctx, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert [e.details["name"] for e in _events(db_ctx, "token.create")] == [
        "nightly sync",
        "expired",
    ]
    assert all(token not in json.dumps(e.details) for e in _events(db_ctx, "token.create"))


def test_an_admin_manages_only_its_own_agency(ctx: Context) -> None:
    _setup(ctx)
    create_user(ctx, "root-nl", "NL-NP", Role.ADMIN, PASSWORD)
    admin = _login(ctx, "root-nl")
    examiner = _login(ctx)
    create_user(ctx, "carl", "NL-NP", Role.VICTIM_ID, PASSWORD, principal=admin)
    with pytest.raises(NotFoundError, match="no agency 'BE-FP'"):
        create_user(ctx, "dirk", "BE-FP", Role.ADMIN, PASSWORD, principal=admin)
    with pytest.raises(PermissionDeniedError):
        create_user(ctx, "dirk", "NL-NP", Role.ADMIN, PASSWORD, principal=examiner)
    create_user(ctx, "emma", "BE-FP", Role.EXAMINER, PASSWORD)
    with pytest.raises(NotFoundError, match="no user 'emma'"):
        set_user_active(ctx, "emma", False, principal=admin)
    assert [u.username for u in list_users(ctx, principal=admin)] == ["anna", "carl", "root-nl"]


def test_adopting_gives_an_agency_what_the_local_workspace_made(ctx: Context) -> None:
    from cairn.services.cases import create_case, list_cases

    create_case(ctx, "LOCAL-1")
    _setup(ctx)
    anna = _login(ctx)
    assert list_cases(ctx, anna) == []
    assert adopt_unowned(ctx, "NL-NP") == (1, 0)
    assert [c.ref for c in list_cases(ctx, anna)] == ["LOCAL-1"]
    assert adopt_unowned(ctx, "NL-NP") == (0, 0)


def test_the_login_limiter_locks_a_key_for_the_rest_of_its_window() -> None:
    now = [1000.0]
    limiter = LoginLimiter(max_failures=3, window=60.0, clock=lambda: now[0])
    key = "anna@10.0.0.7"
    for _ in range(3):
        assert limiter.check(key) == 0.0
        limiter.failed(key)
        now[0] += 10
    assert limiter.check(key) == pytest.approx(30.0)  # first failure at 1000 leaves at 1060
    assert limiter.check("anna@10.0.0.8") == 0.0  # another origin is not locked
    now[0] = 1060.0
    assert limiter.check(key) == 0.0
    limiter.failed(key)
    assert limiter.check(key) == pytest.approx(10.0)
    limiter.succeeded(key)
    assert limiter.check(key) == 0.0


def test_the_login_guard_limits_the_pair_first_and_locks_an_account_once() -> None:
    now = [0.0]
    guard = LoginGuard(
        pair_failures=2, address_failures=4, account_failures=6, clock=lambda: now[0]
    )
    for _ in range(2):
        assert guard.failed("10.0.0.1", "anna") is False
    assert guard.wait("10.0.0.1", "anna")[0] > 0  # that place, that account
    assert guard.wait("10.0.0.2", "anna") == (0.0, False)  # the owner elsewhere
    assert guard.wait("10.0.0.1", "bert") == (0.0, False)
    guard.failed("10.0.0.1", "bert")
    guard.failed("10.0.0.1", None)  # a name no user can have counts for the address only
    assert guard.wait("10.0.0.1", "carl")[0] > 0  # the address sprayed 4 times
    locked = [guard.failed(f"10.1.0.{n}", "anna") for n in range(4)]
    assert locked == [False, False, False, True]  # the sixth failure locks, and says so once
    assert guard.wait("10.9.9.9", "anna")[1] is True
    assert guard.failed("10.9.9.9", "anna") is False
    now[0] += 301.0
    assert guard.wait("10.9.9.9", "anna") == (0.0, False)


def test_the_login_limiter_keeps_a_bounded_number_of_keys() -> None:
    now = [0.0]
    limiter = LoginLimiter(max_failures=1, window=60.0, clock=lambda: now[0], max_keys=3)
    for n in range(10):
        limiter.failed(f"spray-{n}")
    assert len(limiter._failures) <= 3
    assert limiter.check("spray-9") > 0


def test_the_operator_resets_a_password(ctx: Context) -> None:
    _setup(ctx)
    with pytest.raises(UsageError, match="at least 12"):
        identity.set_password(ctx, "anna", "too short")
    with pytest.raises(NotFoundError, match="no user 'nobody'"):
        identity.set_password(ctx, "nobody", "a new long password")
    identity.set_password(ctx, "anna", "a new long password")
    assert authenticate(ctx, "anna", PASSWORD, "cli") is None
    assert authenticate(ctx, "anna", "a new long password", "cli") is not None
    assert [e.details for e in _events(ctx, "user.password")] == [
        {"username": "anna", "revoked": 0}
    ]
