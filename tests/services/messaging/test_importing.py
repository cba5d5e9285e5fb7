"""Importing artefacts: originals hashed, recovery and problems recorded, bad input refused."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from cairn.core.errors import UsageError
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.messaging.samples import example_device, write_msgstore
from cairn.services.context import Context
from cairn.services.messaging.discovery import import_from_evidence
from cairn.services.messaging.importing import ImportSummary, import_path
from cairn.services.messaging.reports import analyse_case
from cairn.store.messaging_models import MsgImport, MsgImportIssue, MsgMessage

if TYPE_CHECKING:
    from conftest import Harbour  # tests/services/messaging/conftest.py

DB = "data/data/com.whatsapp/databases"
RunCli = Callable[..., tuple[int, str, str]]  # the run_cli fixture of tests/conftest.py


def test_imports_record_originals_recovery_and_problems(harbour: Harbour) -> None:
    summaries = {(s.evidence, s.path): s for s in harbour.imports}
    assert list(summaries) == [
        ("phone-A", f"{DB}/msgstore.db"),
        ("phone-A", f"{DB}/wa.db"),
        ("phone-A", "data/media/0/WhatsApp/Databases/msgstore.db.crypt15"),
        ("phone-B", f"{DB}/msgstore.db"),
        ("phone-C", "private/var/mobile/Containers/Shared/AppGroup/0A1B2C3D/ChatStorage.sqlite"),
    ]
    a = summaries[("phone-A", f"{DB}/msgstore.db")]
    folder = harbour.phones["phone-A"] / DB
    assert a.originals == [
        {
            "name": n,
            "sha256": hashlib.sha256((folder / n).read_bytes()).hexdigest(),
            "size": (folder / n).stat().st_size,
        }
        for n in ("msgstore.db", "msgstore.db-wal", "msgstore.db-shm")
    ]
    assert (a.format, a.status, a.exit_code) == ("whatsapp-android", "completed", 0)
    assert a.counts == {
        "accounts": 5,
        "groups": 2,
        "group_events": 9,
        "messages": 10,
        "system_messages": 3,
        "media": 6,
        "thumbnails": 1,
        "recovered_messages": 1,
    }
    assert a.recovery == (
        "1 deleted record recovered from the WAL (3 commits); free pages "
        "of the main file not carved"
    )
    backup = summaries[("phone-A", "data/media/0/WhatsApp/Databases/msgstore.db.crypt15")]
    assert (backup.status, backup.exit_code, backup.format) == ("failed", 1, None)
    assert backup.issues == [
        "error unreadable (data/media/0/WhatsApp/Databases/msgstore.db.crypt15): "
        "msgstore.db.crypt15 is an encrypted WhatsApp backup (crypt15): reading it needs the "
        "64-hex-digit end-to-end backup key (shown once to the user when backups were "
        "encrypted) or the 'encrypted_backup.key' file from the app's private files folder. "
        "Cairn does not decrypt backups: decrypt it with that key and import the resulting "
        "msgstore.db, or import the live msgstore.db from the extraction"
    ]
    b = summaries[("phone-B", f"{DB}/msgstore.db")]
    assert b.issues[-1] == (
        "info unresolved-lid (table jid): 1 @lid ids are not mapped to "
        "phone numbers (kept as lid accounts)"
    )
    c = summaries[
        ("phone-C", "private/var/mobile/Containers/Shared/AppGroup/0A1B2C3D/ChatStorage.sqlite")
    ]
    assert (c.format, c.counts["messages"], c.counts["media"]) == ("whatsapp-ios", 8, 7)
    assert c.counts["system_messages"] == 3


def test_importing_again_adds_nothing(harbour: Harbour) -> None:
    with harbour.ctx.db.session() as session:
        before = session.scalar(select(func.count()).select_from(MsgMessage))
    again = import_from_evidence(harbour.ctx, harbour.case, "phone-B")
    assert [(s.status, s.exit_code) for s in again] == [("already-imported", 0)]
    with harbour.ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(MsgMessage)) == before


def import_one(ctx: Context, path: Path, **options: str) -> ImportSummary:
    (summary,) = import_path(ctx, path, "C", "phone", **options)  # type: ignore[arg-type]
    return summary


def test_corrupt_database_fails_with_the_file_named(case: Context, tmp_path: Path) -> None:
    good = write_msgstore(tmp_path / "good" / "msgstore.db", example_device())
    bad = tmp_path / "msgstore.db"
    data = good.read_bytes()
    bad.write_bytes(data[:100] + b"\x00" * (len(data) - 100))
    summary = import_one(case, bad)
    assert (summary.status, summary.exit_code) == ("failed", 1)
    assert summary.issues == [
        "error unreadable (msgstore.db): SQLite cannot open it: database disk image is malformed"
    ]
    with case.db.session() as session:
        row = session.scalar(select(MsgImport))
        assert row is not None and row.status == "failed"
        assert session.scalar(select(MsgImportIssue.message)) == (
            "SQLite cannot open it: database disk image is malformed"
        )


def test_a_locked_database_is_read_as_last_committed(case: Context, tmp_path: Path) -> None:
    """WhatsApp holds its database open with a write lock: the copy is read, not the lock."""
    path = write_msgstore(tmp_path / "msgstore.db", example_device())
    with closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("DELETE FROM message")
        summary = import_one(case, path, owner="+447700900001")
        holder.execute("ROLLBACK")
    assert (summary.status, summary.counts["messages"]) == ("completed", 3)


def test_other_sqlite_files_and_plain_files_are_refused(case: Context, tmp_path: Path) -> None:
    other = tmp_path / "wa.db"
    with closing(sqlite3.connect(other)) as connection:
        connection.execute("CREATE TABLE notes (x)")
    summary = import_one(case, other)
    assert summary.issues == [
        "error unreadable (wa.db): not a WhatsApp database or chat export, nor a Telegram "
        "export (SQLite tables: notes)"
    ]
    with pytest.raises(UsageError, match="is not an international phone number"):
        import_path(case, other, "C", "phone", owner="Alice")
    with pytest.raises(UsageError, match="no such file"):
        import_path(case, tmp_path / "missing.db", "C", "phone")


def test_export_with_attachments_beside_it(case: Context, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    photo = jpeg_bytes(synthetic_image(9, 64, 48))
    (folder / "IMG-20240512-WA0001.jpg").write_bytes(photo)
    (folder / "WhatsApp Chat with Playa.txt").write_text(
        "12/05/2024, 10:30 - Ana: IMG-20240512-WA0001.jpg (file attached)\n"
        "12/05/2024, 10:31 - Luis: IMG-20240512-WA0002.jpg (file attached)\n"
        "12/05/2024, 10:32 - Eva: hola\n"
    )
    (summary,) = import_path(case, folder, "C", "phone")
    # Accounts: the three voices, and the phone's (unknown) owner.
    assert (summary.format, summary.counts) == (
        "whatsapp-export",
        {"accounts": 4, "groups": 1, "messages": 3, "media": 1, "media_without_hash": 1},
    )
    analysis = analyse_case(case, "C")
    assert [m.sha256 for m in analysis.media] == [hashlib.sha256(photo).hexdigest()]
    assert analysis.media[0].first.sender == "Ana"


def test_cli_import(tmp_path: Path, run_cli: RunCli) -> None:
    assert run_cli("case", "create", "C")[0] == 0
    store = write_msgstore(tmp_path / "phone" / "msgstore.db", example_device())
    code, out, err = run_cli(
        "messaging",
        "import",
        store,
        "--case",
        "C",
        "--evidence",
        "phone",
        "--owner",
        "+447700900001",
    )
    assert code == 0, err
    digest = hashlib.sha256(store.read_bytes()).hexdigest()
    assert f"original msgstore.db: {store.stat().st_size:,} bytes, SHA-256 {digest}" in out
    assert "deleted records: no WAL to replay" in out
    backup = tmp_path / "phone" / "msgstore.db.crypt14"
    backup.write_bytes(bytes(512))
    code, out, _ = run_cli(
        "messaging", "import", backup, "--case", "C", "--evidence", "phone", "--json"
    )
    assert code == 1
    (summary,) = json.loads(out)
    assert (summary["status"], summary["exit_code"]) == ("failed", 1)
    assert (
        "the app's key file (/data/data/com.whatsapp/files/key, 158 bytes)" in summary["issues"][0]
    )
    # Without a PATH: the artefacts of the (ingested) evidence item, here none.
    code, out, _ = run_cli("messaging", "import", "--case", "C", "--evidence", "phone")
    assert (code, out.strip()) == (0, "no messaging artefacts found")


def test_every_issue_is_stored(case: Context, tmp_path: Path) -> None:
    export = tmp_path / "WhatsApp Chat with Ana.txt"
    export.write_text("".join(f"{d}/13/2023, 10:00 - Ana: bad\n" for d in range(1, 160)))
    summary = import_one(case, export)
    assert summary.issue_counts == {"info": 1, "warning": 1, "error": 159}
    assert len(summary.issues) == 100  # shown; all are stored
    with case.db.session() as session:
        stored = session.scalar(select(func.count()).select_from(MsgImportIssue))
    assert stored == 161


def test_a_single_phone_states_its_owner(case: Context, tmp_path: Path) -> None:
    """One iOS phone: its number is the addressee of what it received; the owner is one
    person with the phone's own messages, not a second one with none."""
    from cairn.messaging.ios import IosChatStorage
    from cairn.messaging.samples import ALICE

    path = IosChatStorage.example(tmp_path / "phone")
    (summary,) = import_path(case, path, "C", "phone-C")
    assert summary.owner == (
        f"{ALICE.phone} (stated by the phone: addressee of 3 received messages (ZTOJID); "
        "creator of 1 group (ZCREATORJID) who never wrote to the phone; subject owner of 1 "
        "group (ZSUBJECTOWNERJID) who never wrote to the phone)"
    )
    analysis = analyse_case(case, "C")
    assert analysis.owners["phone-C"] == summary.owner
    people = {p.key: p for p in analysis.people}
    assert [k for k in people if k.startswith("owner:")] == []
    assert people[ALICE.phone].messages_seen == 1  # the forward; the group's creation apart
    assert people[ALICE.phone].phones_owned == (f"phone-C: {summary.owner}",)


def test_a_number_given_at_import_stands_against_the_stated_one(
    case: Context, tmp_path: Path
) -> None:
    from cairn.messaging.ios import IosChatStorage
    from cairn.messaging.samples import ALICE

    path = IosChatStorage.example(tmp_path / "phone")
    (summary,) = import_path(case, path, "C", "phone-C", owner="+447700900999")
    assert summary.owner == "+447700900999 (given at import)"
    assert summary.issue_counts == {"info": 2, "warning": 1}
    (issue,) = [i for i in summary.issues if i.startswith("warning")]
    assert issue.startswith(
        f"warning owner-differs (owner): +447700900999 was given at import, but the artefact "
        f"names {ALICE.phone} (addressee of 3 received messages (ZTOJID);"
    )
    assert analyse_case(case, "C").owners == {"phone-C": "+447700900999 (given at import)"}


def test_a_phone_stating_no_owner_keeps_a_stand_in(case: Context, tmp_path: Path) -> None:
    path = tmp_path / "phone" / "msgstore.db"
    path.parent.mkdir()
    device = example_device()
    write_msgstore(path, replace(device, messages=list(device.messages)[1:]))  # no own notice
    (summary,) = import_path(case, path, "C", "phone-X")
    assert summary.owner is None
    assert analyse_case(case, "C").owners == {
        "phone-X": "unknown (no number given at import, none stated or inferred)"
    }


def test_cli_ingest_owner_json_zip_and_reimport(tmp_path: Path, run_cli: RunCli) -> None:
    """`cairn ingest --owner … --json` carries the messaging result; `messaging import` reads
    a zip's artefacts in place and says when a file was already imported."""
    import zipfile

    from cairn.messaging.samples import located_device

    assert run_cli("case", "create", "C")[0] == 0
    phone = tmp_path / "phone"
    store = write_msgstore(phone / "msgstore.db", located_device())
    code, _out, err = run_cli("ingest", "--case", "C", phone, "--owner", "not a number")
    assert code == 2 and "--owner 'not a number' is not an international phone number" in err
    code, out, err = run_cli(
        "ingest", "--case", "C", phone, "--owner", "+44 7700 900009", "--workers", "0", "--json"
    )
    assert code == 0, err
    (imported,) = json.loads(out)["messaging"]
    assert (imported["path"], imported["status"]) == ("msgstore.db", "completed")
    assert imported["owner"] == "+447700900009 (given at import)"
    assert imported["counts"]["locations"] == 1
    archive = tmp_path / "extraction.zip"
    with zipfile.ZipFile(archive, "w") as out_zip:
        out_zip.write(store, f"{DB}/msgstore.db")
    for attempt in ("first", "again"):
        code, out, err = run_cli("messaging", "import", archive, "--case", "C", "--evidence", "z")
        assert code == 0, err
        if attempt == "first":
            assert f"extraction.zip!{DB}/msgstore.db (whatsapp-android) → completed" in out
            assert "phone owner: +447700900001 (stated by the phone:" in out
        else:
            assert "already imported (the same file, by SHA-256): nothing added" in out
    places = tmp_path / "places.geojson"
    code, _out, err = run_cli("export", "geojson", "--case", "C", "-o", places)
    assert code == 0 and "wrote 2 features" in err  # the location, on each phone
    assert len(json.loads(places.read_text())["features"]) == 2


def test_a_file_that_is_no_artefact_points_to_ingest(case: Context, tmp_path: Path) -> None:
    tar = tmp_path / "extraction.tar"
    tar.write_bytes(b"\0" * 1024)
    (summary,) = import_path(case, tar, "C", "t")
    assert summary.issues == [
        "error unreadable (extraction.tar): not a WhatsApp database or chat export, nor a "
        "Telegram export; if it is an archive or disk image, `cairn ingest` it: the artefacts "
        "inside are imported"
    ]
