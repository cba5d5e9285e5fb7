"""Every registered messaging format, run against its own benign example (the plugin contract)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cairn.core.errors import UsageError
from cairn.messaging import registry
from cairn.messaging.base import Artefact, Issue, MessagingFormat, Severity, count_records
from cairn.messaging.sqlitedb import table_names

FORMATS = registry.FORMATS
IDS = [fmt.name for fmt in FORMATS]


def artefact(path: Path) -> Artefact:
    return Artefact(path.name, path, "phone-X")


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_example_reads_back_its_records(fmt: type[MessagingFormat], tmp_path: Path) -> None:
    path = fmt.example(tmp_path)
    assert count_records(fmt.read(artefact(path))) == fmt.example_counts()


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_example_is_detected_as_its_format(fmt: type[MessagingFormat], tmp_path: Path) -> None:
    path = fmt.example(tmp_path)
    head = path.read_bytes()[: registry.HEAD_BYTES]
    tables = table_names(path) if fmt.sqlite else frozenset()
    assert registry.detect(path.name, head, tables) is fmt


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_no_example_record_is_an_error(fmt: type[MessagingFormat], tmp_path: Path) -> None:
    records = list(fmt.read(artefact(fmt.example(tmp_path))))
    assert [r for r in records if isinstance(r, Issue) and r.severity is Severity.ERROR] == []


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_a_damaged_file_is_an_error_not_a_silent_loss(
    fmt: type[MessagingFormat], tmp_path: Path
) -> None:
    path = fmt.example(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:16] + b"\xff" * (len(data) - 16))  # the header survives, nothing else
    if fmt.sqlite:
        with pytest.raises(sqlite3.DatabaseError):
            list(fmt.read(artefact(path)))
    else:
        errors = [r for r in fmt.read(artefact(path)) if isinstance(r, Issue)]
        assert errors[0].severity is Severity.ERROR


def test_names_are_unique_and_looked_up() -> None:
    assert len(set(IDS)) == len(IDS)
    assert registry.by_name("whatsapp-ios") is FORMATS[2]
    with pytest.raises(UsageError, match="unknown messaging format 'telegram'"):
        registry.by_name("telegram")


@pytest.mark.parametrize(
    ("name", "needs"),
    [
        ("msgstore.db.crypt15", "64-hex-digit end-to-end backup key"),
        ("msgstore-2024-05-01.1.db.crypt14", "/data/data/com.whatsapp/files/key"),
        ("wa.db.crypt12", "/data/data/com.whatsapp/files/key"),
    ],
)
def test_encrypted_backups_say_what_they_need(name: str, needs: str) -> None:
    problem = registry.backup_problem(name)
    assert problem is not None
    assert problem.startswith(f"{name} is an encrypted WhatsApp backup (crypt")
    assert needs in problem
    assert registry.backup_problem("msgstore.db") is None
