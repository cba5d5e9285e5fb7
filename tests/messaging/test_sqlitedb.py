"""Private copies of SQLite evidence, hot journals, WAL states, tolerant schema access."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import pytest

from cairn.messaging.samples import SampleDevice, SampleMessage, example_device, write_msgstore
from cairn.messaging.sqlitedb import (
    Opener,
    Schema,
    acquire,
    commit_ends,
    connect,
    id_ranges,
    present_ids,
    private_folder,
    snapshots,
)


def fingerprint(folder: Path) -> dict[str, tuple[str, int, int]]:
    """Content and times of every file: what must not change when evidence is read."""
    return {
        p.name: (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
            p.stat().st_atime_ns,
        )
        for p in sorted(folder.iterdir())
    }


def openers(path: Path, suffixes: tuple[str, ...]) -> list[tuple[str, Opener]]:
    return [(s, lambda s=s: open(f"{path}{s}", "rb")) for s in suffixes]


def wal_store(folder: Path) -> Path:
    """The example device, then two messages and a deletion left in the WAL."""
    device = example_device()
    later = [
        SampleMessage("3EB0B1", "+12025550103", None, 1714550700000, text="uncheckpointed"),
        SampleMessage("3EB0B2", "+12025550103", "+12025550103", 1714550760000, text="gone"),
    ]
    return write_msgstore(folder / "msgstore.db", device, uncheckpointed=[*later, "3EB0B2"])


def test_copies_keep_companions_and_record_the_originals_digests(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    original = wal_store(evidence)
    before = fingerprint(evidence)
    with private_folder(tmp_path / "workspace" / "tmp") as folder:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        copy, copied = acquire(folder, "msgstore.db", openers(original, ("", "-wal", "-shm")))
        assert [c.name for c in copied] == ["msgstore.db", "msgstore.db-wal", "msgstore.db-shm"]
        assert {c.name: (c.sha256, c.size) for c in copied} == {
            name: (digest, (evidence / name).stat().st_size)
            for name, (digest, _m, _a) in before.items()
        }
        assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}
        with closing(connect(copy)) as connection:
            texts = [r[0] for r in connection.execute("SELECT text_data FROM message")]
        # The uncheckpointed message lives only in the WAL; the deleted one is gone.
        assert texts == [None, None, None, None, "hello", "uncheckpointed"]
    assert not folder.exists()
    assert fingerprint(evidence) == before


def test_a_hot_journal_is_rolled_back_in_the_copy_only(tmp_path: Path) -> None:
    """A phone imaged mid-transaction: the database holds half-written pages and a journal."""
    live, evidence = tmp_path / "live.db", tmp_path / "evidence"
    evidence.mkdir()
    with closing(sqlite3.connect(live, isolation_level=None)) as connection:
        connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        connection.executemany("INSERT INTO t (v) VALUES (?)", [("x" * 100,)] * 100)
        connection.execute("PRAGMA cache_size=1")  # spill pages into the file mid-transaction
        connection.execute("BEGIN")
        connection.executemany("INSERT INTO t (v) VALUES (?)", [("y" * 100,)] * 3000)
        for suffix in ("", "-journal"):
            shutil.copyfile(f"{live}{suffix}", evidence / f"store.db{suffix}")
        connection.execute("ROLLBACK")
    before = fingerprint(evidence)
    with private_folder(tmp_path / "ws") as folder:
        copy, _ = acquire(folder, "store.db", openers(evidence / "store.db", ("", "-journal")))
        with closing(connect(copy)) as connection:
            assert connection.execute("SELECT count(*) FROM t").fetchone() == (100,)
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                connection.execute("DELETE FROM t")
    assert fingerprint(evidence) == before


def test_wal_states_newest_first(tmp_path: Path) -> None:
    copy = wal_store(tmp_path)
    wal = Path(f"{copy}-wal").read_bytes()
    assert len(commit_ends(wal)) == 3
    assert commit_ends(b"not a wal" * 10) == []
    assert commit_ends(wal[:20]) == []
    commits, states = snapshots(copy)
    assert commits == 3
    seen = []
    for state in states:
        ids = [r[0] for r in state.connection.execute("SELECT key_id FROM message ORDER BY _id")]
        seen.append((state.label, ids[5:]))
    assert seen == [
        ("WAL commit 2 of 3", ["3EB0B1", "3EB0B2"]),
        ("WAL commit 1 of 3", ["3EB0B1"]),
        ("main file before the WAL", []),
    ]
    assert not (tmp_path / ".msgstore.db.snapshot").exists()
    assert snapshots(tmp_path / "no-such.db")[0] == 0


def test_gaps_in_ids_are_where_deleted_rows_were(tmp_path: Path) -> None:
    assert id_ranges([1, 2, 5, 6, 9]) == ([(3, 4), (7, 8)], 9)
    assert id_ranges([]) == ([], 0)
    copy = write_msgstore(tmp_path / "m.db", example_device())
    with closing(connect(copy)) as connection:
        assert present_ids(connection, "message", "_id", [(2, 3)], 4) == [2, 3, 5]


def test_schema_lookups_are_case_insensitive_and_report_what_is_missing(tmp_path: Path) -> None:
    copy = write_msgstore(tmp_path / "m.db", SampleDevice(example_device().owner))
    with closing(connect(copy)) as connection:
        connection.execute("SELECT 1")
        schema = Schema(connection)
    assert schema.has("MESSAGE", "Key_Id")
    assert schema.column("m", "message", "no_such") == "NULL"
    assert schema.column("m", "message", "key_id") == 'm."key_id"'
    assert schema.missing("message", ["key_id", "nope"]) == ["message.nope"]
    assert schema.missing("nowhere", ["x"]) == ["nowhere"]


def test_garbage_is_not_a_database(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"SQLite format 3\x00" + os.urandom(2000))
    with pytest.raises(sqlite3.DatabaseError):
        connect(bad)
