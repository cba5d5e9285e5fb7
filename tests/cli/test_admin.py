"""`cairn agency|user|token|db|audit` through the real CLI (a subprocess per call)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cairn.core.types import Role
from cairn.services.context import Context
from cairn.services.identity import principal_from_token

if TYPE_CHECKING:
    from conftest import RunCli

PASSWORD = "a long enough secret"


def _users(run_cli: RunCli) -> None:
    assert run_cli("agency", "add", "NL-NP", "--name", "Politie", "--country", "NL")[0] == 0
    code, out, err = run_cli(
        "user", "add", "anna", "--agency", "NL-NP", "--role", "examiner",
        env={"CAIRN_NEW_USER_PASSWORD": PASSWORD},
    )  # fmt: skip
    assert (code, out) == (0, "created user anna (examiner of NL-NP)\n")
    assert PASSWORD not in out + err


def test_agencies_and_users_are_added_listed_and_disabled(
    run_cli: RunCli, workspace: Path, tmp_path: Path
) -> None:
    _users(run_cli)
    secret = tmp_path / "password.txt"
    secret.write_text(PASSWORD + "\n")
    code, out, err = run_cli(
        "user", "add", "bert", "--agency", "NL-NP", "--role", "auditor", "--password-file", secret
    )
    assert code == 0 and PASSWORD not in out + err
    code, out, _ = run_cli("agency", "list", "--json")
    assert [(a["code"], a["country"]) for a in json.loads(out)] == [("NL-NP", "NL")]
    assert run_cli("user", "disable", "bert")[0] == 0
    code, out, _ = run_cli("user", "list", "--json")
    assert [(u["username"], u["role"], u["active"]) for u in json.loads(out)] == [
        ("anna", "examiner", True),
        ("bert", "auditor", False),
    ]
    code, _, err = run_cli(
        "user", "add", "carl", "--agency", "NL-NP", "--role", "boss",
        env={"CAIRN_NEW_USER_PASSWORD": PASSWORD},
    )  # fmt: skip
    assert code == 2 and "role must be one of" in err
    code, _, err = run_cli(
        "user", "add", "carl", "--agency", "NL-NP", "--role", "admin",
        env={"CAIRN_NEW_USER_PASSWORD": "short"},
    )  # fmt: skip
    assert code == 2 and "at least 12" in err
    assert run_cli("user", "disable", "nobody")[0] == 2
    code, out, err = run_cli(
        "user", "password", "anna", env={"CAIRN_NEW_USER_PASSWORD": "the next long secret"}
    )
    assert (code, out) == (0, "password of anna changed\n") and "the next" not in out + err


def test_an_api_token_is_printed_once_and_can_be_revoked(run_cli: RunCli, workspace: Path) -> None:
    _users(run_cli)
    code, out, err = run_cli("token", "create", "--user", "anna", "--name", "sync", "--days", "30")
    assert code == 0 and "shown once" in err
    token = out.strip()
    assert token.startswith("cairn_") and "\n" not in token
    ctx = Context.open(workspace)
    try:
        principal = principal_from_token(ctx, token)
        assert principal is not None and (principal.username, principal.role) == (
            "anna",
            Role.EXAMINER,
        )
        code, out, _ = run_cli("token", "list", "--json")
        (listed,) = json.loads(out)
        assert token not in out and listed["name"] == "sync" and listed["expires_at"]
        assert run_cli("token", "revoke", str(listed["id"]))[0] == 0
        assert principal_from_token(ctx, token) is None
        assert run_cli("token", "revoke", "999")[0] == 2
    finally:
        ctx.close()


def test_db_upgrade_reports_the_revisions(run_cli: RunCli, database_url: str) -> None:
    from cairn.store.database import HEAD_REVISION

    env = {"CAIRN_DATABASE_URL": database_url}
    code, out, _ = run_cli("db", "upgrade", env=env)
    assert code == 0 and out.endswith(f"upgraded from revision none to {HEAD_REVISION}\n")
    code, out, _ = run_cli("db", "upgrade", env=env)
    assert code == 0 and out.endswith(f"already at revision {HEAD_REVISION}\n")


def test_audit_verify_names_the_first_broken_event(run_cli: RunCli, workspace: Path) -> None:
    _users(run_cli)
    assert run_cli("case", "create", "C-1", "--agency", "NL-NP")[0] == 0
    code, out, _ = run_cli("audit", "verify")
    assert code == 0 and out.startswith("audit chain whole:")
    code, out, _ = run_cli("audit", "list", "--case", "C-1", "--json")
    (event,) = json.loads(out)
    assert (event["action"], event["origin"], event["case_ref"]) == ("case.create", "cli", "C-1")
    with sqlite3.connect(workspace / "cairn.db") as db:
        db.execute(
            'UPDATE audit_events SET details = \'{"title": "x"}\' WHERE id = ?', (event["id"],)
        )
    code, out, err = run_cli("audit", "verify")
    assert code == 1
    assert f"BROKEN at event {event['id']} (edited)" in err
    code, out, _ = run_cli("audit", "verify", "--json")
    report = json.loads(out)
    assert code == 1 and (report["ok"], report["broken_id"], report["reason"]) == (
        False,
        event["id"],
        "edited",
    )


def test_a_truncated_trail_fails_verification(run_cli: RunCli, workspace: Path) -> None:
    _users(run_cli)
    with sqlite3.connect(workspace / "cairn.db") as db:
        (last,) = db.execute("SELECT max(id) FROM audit_events").fetchone()
        db.execute("DELETE FROM audit_events WHERE id = ?", (last,))
    code, _, err = run_cli("audit", "verify")
    assert code == 1 and f"BROKEN at event {last} (truncated)" in err


def test_a_truncation_with_the_anchor_deleted_fails(run_cli: RunCli, workspace: Path) -> None:
    _users(run_cli)
    with sqlite3.connect(workspace / "cairn.db") as db:
        (last,) = db.execute("SELECT max(id) FROM audit_events").fetchone()
        db.execute("DELETE FROM audit_events WHERE id = ?", (last,))
    (workspace / "audit.head").unlink()
    code, _, err = run_cli("audit", "verify")
    assert code == 1 and f"BROKEN at event {last - 1} (unanchored)" in err
    assert "cairn audit init" in err
    code, out, _ = run_cli("audit", "init")  # the operator's explicit step, recorded
    assert code == 0 and out.startswith("audit chain anchored in this workspace at event")
    code, out, _ = run_cli("audit", "list", "--json")
    assert [e["action"] for e in json.loads(out)][-2:] == ["audit.verify", "audit.anchor"]
    assert run_cli("audit", "verify")[0] == 0
    assert run_cli("audit", "init")[0] == 2  # never over an anchor without --replace


def test_a_copied_workspace_verifies_and_then_goes_its_own_way(
    run_cli: RunCli, workspace: Path, tmp_path: Path
) -> None:
    # Defined behaviour: a workspace copied whole (database, anchor, key) to a new path finds
    # its anchor (named by the workspace, not its path) and verifies; from then on the copy
    # and the original are separate chains, each held by its own anchor.
    _users(run_cli)
    copy = tmp_path / "moved"
    shutil.copytree(workspace, copy)
    code, out, _ = run_cli("audit", "verify", workspace=copy)
    assert code == 0 and out.startswith("audit chain whole:")
    with sqlite3.connect(copy / "cairn.db") as db:
        (last,) = db.execute("SELECT max(id) FROM audit_events").fetchone()
        db.execute("DELETE FROM audit_events WHERE id = ?", (last,))
    code, _, err = run_cli("audit", "verify", workspace=copy)
    assert code == 1 and f"BROKEN at event {last} (truncated)" in err
    assert run_cli("audit", "verify")[0] == 0


def test_a_checkpoint_holds_against_a_rewrite_with_the_key(
    run_cli: RunCli, workspace: Path, tmp_path: Path
) -> None:
    _users(run_cli)
    held = tmp_path / "off-host" / "checkpoint.json"
    held.parent.mkdir()
    code, out, _ = run_cli("audit", "checkpoint", "-o", held)
    assert code == 0 and out.startswith("checkpoint of ")
    checkpoint = json.loads(held.read_text())
    assert checkpoint["format"] == "cairn-audit-checkpoint/1" and len(checkpoint["mac"]) == 64
    code, out, _ = run_cli("audit", "verify", "--checkpoint", held)
    assert code == 0
    # Someone with the database, the workspace and the key: cut the trail back to before the
    # checkpoint, and anchor what is left. Links and anchor agree; the checkpoint does not.
    with sqlite3.connect(workspace / "cairn.db") as db:
        db.execute("DELETE FROM audit_events WHERE id >= ?", (checkpoint["event_id"] - 1,))
    code, out, _ = run_cli("audit", "init", "--replace")
    assert code == 0
    assert run_cli("audit", "verify")[0] == 0
    code, _, err = run_cli("audit", "verify", "--checkpoint", held)
    assert code == 1 and f"BROKEN at event {checkpoint['event_id']} (checkpoint)" in err
    held.write_text(held.read_text().replace('"events"', '"Events"'))
    code, _, err = run_cli("audit", "verify", "--checkpoint", held)
    assert code == 1 and "not an audit checkpoint" in err


def test_the_audit_key_can_live_outside_the_workspace(
    run_cli: RunCli, workspace: Path, tmp_path: Path
) -> None:
    key = tmp_path / "keys" / "audit.key"
    env = {"CAIRN_AUDIT_KEY_FILE": str(key)}
    code, _, err = run_cli("agency", "list", env=env)
    assert code == 2 and f"CAIRN_AUDIT_KEY_FILE={key}: No such file or directory" in err
    key.parent.mkdir()
    key.write_bytes(bytes(range(32)))
    key.chmod(0o600)
    assert run_cli("agency", "add", "NL-NP", "--name", "P", "--country", "NL", env=env)[0] == 0
    assert not (workspace / "audit.key").exists()
    assert run_cli("audit", "verify", env=env)[0] == 0
    # The same trail seen with another key (the workspace's own): the anchor gives it away.
    code, _, err = run_cli("audit", "verify")
    assert code == 1 and "audit head anchor is not signed with this audit key" in err
    assert bytes(range(32)).hex() not in err


def test_cases_and_hash_sets_belong_to_the_only_or_the_named_agency(
    run_cli: RunCli, workspace: Path, tmp_path: Path
) -> None:
    _users(run_cli)
    assert run_cli("case", "create", "C-1")[0] == 0  # the workspace's only agency
    known = tmp_path / "known.txt"
    known.write_text("0" * 64 + "\n")
    assert run_cli("hashset", "import", known, "--name", "nl", "--share")[0] == 0
    assert (
        run_cli("agency", "add", "BE-FP", "--name", "Federale Politie", "--country", "BE")[0] == 0
    )
    code, _, err = run_cli("case", "create", "C-2")
    assert code == 2 and "several agencies" in err
    assert run_cli("case", "create", "C-2", "--agency", "BE-FP")[0] == 0
    code, out, _ = run_cli("hashset", "share", "nl", "--unshare")
    assert (code, out) == (0, "hash set nl is not shared\n")
    with sqlite3.connect(workspace / "cairn.db") as db:
        owners = db.execute(
            "SELECT c.ref, a.code FROM cases c JOIN agencies a ON a.id = c.agency_id ORDER BY c.ref"
        ).fetchall()
        shared = db.execute("SELECT shared FROM hash_sets WHERE name = 'nl'").fetchone()
    assert owners == [("C-1", "NL-NP"), ("C-2", "BE-FP")]
    assert shared == (0,)


def test_a_prompted_password_is_confirmed_and_never_echoed(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cairn.cli.app import app
    from cairn.services.identity import authenticate, create_agency

    monkeypatch.setenv("CAIRN_WORKSPACE", str(workspace))
    monkeypatch.delenv("CAIRN_NEW_USER_PASSWORD", raising=False)
    ctx = Context.open(workspace)
    try:
        create_agency(ctx, "NL-NP", "Politie", "NL")
        typed = f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n"  # a mismatch, then a match
        result = CliRunner().invoke(
            app, ["user", "add", "anna", "--agency", "NL-NP", "--role", "examiner"], input=typed
        )
        assert result.exit_code == 0, result.output
        assert "do not match" in result.output and PASSWORD not in result.output
        assert authenticate(ctx, "anna", PASSWORD, "test") is not None
    finally:
        ctx.close()
