"""Deleted messages recovered from the earlier database states a WAL preserves.

Shared by the SQLite readers: each names its message table and key column and supplies a
function that reads given rows from any state of the database (see `sqlitedb.snapshots`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from cairn.messaging.base import Issue, Record, Severity, plural
from cairn.messaging.sqlitedb import id_ranges, present_ids, snapshots

# Reads the rows with these ids from a database state, labelling each message `recovered`.
ReadRows = Callable[[sqlite3.Connection, list[int], str], Iterator[Record]]

NOT_CARVED = "free pages of the main file not carved"


def recover_deleted(
    copy: Path, table: str, key: str, live_ids: Iterable[int], read_rows: ReadRows
) -> Iterator[Record]:
    """Yield the rows of `table` that some WAL commit held and the final state does not,
    each from the newest state that still held it; end with an INFO issue saying what was done.
    """
    commits, states = snapshots(copy)
    if not commits:
        yield Issue(
            Severity.INFO,
            "recovery",
            f"table {table}",
            f"no WAL to replay: live records only; {NOT_CARVED}",
        )
        return
    gaps, last = id_ranges(live_ids)
    recovered: set[int] = set()
    inspected = 0
    try:
        for state in states:
            inspected += 1
            ids = [
                i
                for i in present_ids(state.connection, table, key, gaps, last)
                if i not in recovered
            ]
            if ids:
                recovered.update(ids)
                yield from read_rows(state.connection, ids, state.label)
    except sqlite3.DatabaseError as exc:
        yield Issue(
            Severity.ERROR,
            "recovery",
            f"table {table}",
            f"replaying the WAL stopped after {inspected} states: {exc}",
        )
    sampled = "" if inspected >= commits else f", {inspected} of them inspected"
    yield Issue(
        Severity.INFO,
        "recovery",
        f"table {table}",
        f"{plural(len(recovered), 'deleted record')} recovered from the WAL "
        f"({plural(commits, 'commit')}{sampled}); {NOT_CARVED}",
    )
