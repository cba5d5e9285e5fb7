"""Migration 0005 on a store that already holds data: cases and hash sets stay, unowned and
unshared, and the audit chain written before it still verifies (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from cairn.core.config import Actor
from cairn.store import audit
from cairn.store.database import MIGRATIONS, Database


def _migrate(db: Database, revision: str) -> None:
    with db.engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_upgrading_a_release_0004_store_keeps_its_data_and_chain(
    database_url: str, tmp_path: Path
) -> None:
    db = Database(database_url)
    audit.keep_chain(db.engine, tmp_path, b"k" * 32)
    _migrate(db, "0004")
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    chained = audit.event_hash(audit.GENESIS, at, "old", "lab-0", "case.create", "C-0", {})
    with db.engine.begin() as connection:  # rows as release 0004 wrote them, in raw SQL
        connection.execute(
            text(
                "INSERT INTO cases (ref, title, created_at, created_by) "
                "VALUES ('C-0', 'old case', :at, 'old')"
            ),
            {"at": at},
        )
        connection.execute(
            text(
                "INSERT INTO evidence (case_id, label, source_path, source_kind, added_at, "
                "added_by) SELECT id, 'dev', '/dev0', 'directory', :at, 'old' FROM cases"
            ),
            {"at": at},
        )
        connection.execute(
            text(
                "INSERT INTO hash_sets (name, kind, format, source_file, source_sha256, "
                "pdq_threshold, entries, bad_records, imported_at, imported_by) "
                "VALUES ('old set', 'illegal', 'plain', '/x', :sha, 31, 0, 0, :at, 'old')"
            ),
            {"at": at, "sha": "0" * 64},
        )
        connection.execute(
            text(
                'INSERT INTO audit_events (at, "user", host, action, case_ref, details, '
                "prev_hash, hash) VALUES (:at, 'old', 'lab-0', 'case.create', 'C-0', '{}', "
                ":prev, :hash)"
            ),
            {"at": at, "prev": audit.GENESIS, "hash": chained},
        )
    _migrate(db, "head")
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT ref, agency_id FROM cases")).all() == [("C-0", None)]
        assert connection.execute(text("SELECT name, agency_id, shared FROM hash_sets")).all() == [
            ("old set", None, False)
        ]
    with db.session() as session:
        audit.record(session, Actor(user="new", host="lab-1"), "case.read", "C-0")
    with db.session() as session:
        report = audit.check(session)
    assert report.ok and report.events == 3  # the old event, audit.rekey, the new one
    db.dispose()
