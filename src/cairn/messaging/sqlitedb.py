"""SQLite artefacts: private copies, tolerant schema access, and deleted rows from the WAL.

Evidence is never opened for writing, and SQLite writes even when asked only to read (it rolls
back a hot journal, rebuilds the WAL index). So a database is copied, *with* its `-wal`,
`-shm` and `-journal` companions, into a private folder (mode 0700, in the workspace) and
that copy is opened. `immutable=1` on the original would be no substitute: it ignores the WAL,
where the app's newest, uncheckpointed messages live.

Deleted rows: a WAL holds successive versions of pages, one commit after another. Truncating
a copy of the WAL just after a commit frame gives a valid WAL that ends there, so opening the
database with it shows the database *as it stood at that commit*. A message present at some
commit but absent from the final state was deleted after it: it is recovered whole, with its
media row and everything else the reader joins, as of that commit. Free pages of the main
file are not carved: Android builds SQLite with SECURE_DELETE, which zeroes freed content.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.request import pathname2url

from cairn.messaging.base import Issue, Severity

MAGIC = b"SQLite format 3\x00"
COMPANIONS = ("-wal", "-shm", "-journal")
WAL_HEADER = 32
WAL_FRAME_HEADER = 24
# Commits inspected for deleted rows: an app commits once per message, so a busy WAL holds
# thousands; past this many, commits are sampled evenly (and the summary says so).
MAX_SNAPSHOTS = 512
_IDS_PER_QUERY = 500  # ids per IN (...) list: far below SQLite's parameter limit
_RANGES_PER_QUERY = 400  # BETWEEN pairs per statement: well under SQLite's parameter limit
_COPY_CHUNK = 1 << 20


# Opens one original file for reading (read-only, as the evidence layer opens evidence).
Opener = Callable[[], AbstractContextManager[IO[bytes]]]


@dataclass(frozen=True)
class CopiedFile:
    """One original file of an artefact: what was copied and its digest before any use."""

    name: str  # as found: the database or a companion
    sha256: str
    size: int


def copy_file(source: IO[bytes], target: Path | None) -> tuple[str, int]:
    """Copy a stream to a new private file (0600), or nowhere when `target` is None; return
    the SHA-256 and size of what was read."""
    hasher = hashlib.sha256()
    size = 0
    fd = None
    if target is not None:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with open(fd, "wb") if fd is not None else nullcontext() as out:
        while chunk := source.read(_COPY_CHUNK):
            hasher.update(chunk)
            if out is not None:
                out.write(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size


def digest(name: str, opener: Opener) -> CopiedFile:
    """The digest of an original without copying it (a file Cairn will not read further)."""
    with opener() as source:
        sha256, size = copy_file(source, None)
    return CopiedFile(name, sha256, size)


def acquire(
    folder: Path, name: str, openers: Sequence[tuple[str, Opener]]
) -> tuple[Path, list[CopiedFile]]:
    """Copy an artefact's files (`(suffix, opener)`; "" is the main file) into `folder`.

    The copy keeps the original's base name, so its companions pair up with it as SQLite
    expects. Returns the copy of the main file and what was copied.
    """
    copies: list[CopiedFile] = []
    main = folder / name
    for suffix, opener in openers:
        with opener() as source:
            sha256, size = copy_file(source, folder / (name + suffix))
        copies.append(CopiedFile(name + suffix, sha256, size))
    return main, copies


def connect(copy: Path) -> sqlite3.Connection:
    """A read-only connection to a private copy, with any hot journal rolled back first.

    A hot journal means the app was inside a transaction when the phone was imaged: SQLite
    undoes it on open, and a read-only connection cannot, so the copy (ours to change) is
    opened writable once for that.
    """
    journal = copy.with_name(copy.name + "-journal")
    if journal.exists() and journal.stat().st_size and not _wal(copy).exists():
        with closing(sqlite3.connect(copy)) as writable:
            writable.execute("SELECT count(*) FROM sqlite_master").fetchone()
    uri = f"file:{pathname2url(str(copy))}?mode=ro"
    connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
    connection.execute("SELECT count(*) FROM sqlite_master").fetchone()  # fails if not SQLite
    return connection


def _wal(copy: Path) -> Path:
    return copy.with_name(copy.name + "-wal")


class Schema:
    """Tables and columns of a database, looked up case-insensitively as SQLite does.

    Readers ask for the columns they know and get NULL for those an app version lacks,
    and the list of what was missing, to report as unavailable features.
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.columns: dict[str, dict[str, str]] = {}
        names = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
            )
        ]
        for name in names:
            info = connection.execute(f"PRAGMA table_info({quote(name)})").fetchall()
            self.columns[name.lower()] = {row[1].lower(): row[1] for row in info}

    @property
    def tables(self) -> frozenset[str]:
        return frozenset(self.columns)

    def has(self, table: str, *columns: str) -> bool:
        found = self.columns.get(table.lower())
        return found is not None and all(c.lower() in found for c in columns)

    def missing(self, table: str, columns: Iterable[str]) -> list[str]:
        found = self.columns.get(table.lower())
        if found is None:
            return [table]
        return [f"{table}.{c}" for c in columns if c.lower() not in found]

    def column(self, alias: str, table: str, column: str) -> str:
        """`alias.column`, or NULL when the table lacks the column."""
        if self.has(table, column):
            return f"{alias}.{quote(column)}"
        return "NULL"


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def table_names(copy: Path) -> frozenset[str]:
    """The lower-case table names of a private copy; sqlite3.DatabaseError if it will not open."""
    with closing(connect(copy)) as connection:
        return Schema(connection).tables


def commit_ends(wal: bytes) -> list[int]:
    """Byte offsets just after each commit frame of a WAL, in order.

    Frames are read while their salts match the header's (what SQLite itself does); checksums
    are left for SQLite to verify when a truncated copy is opened.
    """
    if len(wal) < WAL_HEADER:
        return []
    magic, _version, page_size, _seq, salt1, salt2 = struct.unpack(">IIIIII", wal[:24])
    if magic not in (0x377F0682, 0x377F0683) or page_size < 512 or page_size & (page_size - 1):
        return []
    ends = []
    offset = WAL_HEADER
    frame = WAL_FRAME_HEADER + page_size
    while offset + frame <= len(wal):
        _page, db_size, frame_salt1, frame_salt2 = struct.unpack(">IIII", wal[offset : offset + 16])
        if (frame_salt1, frame_salt2) != (salt1, salt2):
            break
        offset += frame
        if db_size:
            ends.append(offset)
    return ends


@dataclass(frozen=True)
class Snapshot:
    label: str  # "WAL commit 3 of 7", "before the WAL"
    connection: sqlite3.Connection


def snapshots(copy: Path) -> tuple[int, Iterator[Snapshot]]:
    """The earlier states a WAL preserves, newest first: (commits in the WAL, iterator).

    Each state is opened from a second copy of the database and a truncated copy of its WAL,
    in a subfolder that is removed afterwards; the first copy is not touched.
    """
    wal_path = _wal(copy)
    wal = wal_path.read_bytes() if wal_path.exists() else b""
    ends = commit_ends(wal)
    if not ends:
        return 0, iter(())
    # The last commit is the final state itself; before the first, the main file alone.
    points = [(i + 1, end) for i, end in enumerate(ends[:-1])] + [(0, 0)]
    if len(points) > MAX_SNAPSHOTS:
        step = len(points) / MAX_SNAPSHOTS
        points = [points[int(i * step)] for i in range(MAX_SNAPSHOTS - 1)] + [(0, 0)]
    points.sort(reverse=True)
    return len(ends), _open_snapshots(copy, wal, points, len(ends))


def _open_snapshots(
    copy: Path, wal: bytes, points: list[tuple[int, int]], commits: int
) -> Iterator[Snapshot]:
    folder = copy.parent / f".{copy.name}.snapshot"
    folder.mkdir(mode=0o700)
    try:
        # A second copy, not a hard link: SQLite keeps one lock and WAL-index state per inode
        # in a process, and the reader's own connection to the copy is still open.
        target = folder / copy.name
        shutil.copyfile(copy, target)
        for number, end in points:
            for suffix in ("-wal", "-shm"):
                target.with_name(target.name + suffix).unlink(missing_ok=True)
            if end:
                fd = os.open(_wal(target), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with open(fd, "wb") as out:
                    out.write(wal[:end])
            label = f"WAL commit {number} of {commits}" if number else "main file before the WAL"
            with closing(connect(target)) as connection:
                yield Snapshot(label, connection)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def id_ranges(live: Iterable[int]) -> tuple[list[tuple[int, int]], int]:
    """The gaps between sorted live ids (where deleted rows would have been), and the last id."""
    gaps: list[tuple[int, int]] = []
    previous = 0
    for row_id in live:
        if row_id > previous + 1:
            gaps.append((previous + 1, row_id - 1))
        previous = row_id
    return gaps, previous


def present_ids(
    connection: sqlite3.Connection,
    table: str,
    key: str,
    gaps: list[tuple[int, int]],
    last: int,
) -> list[int]:
    """Ids in `table` of a snapshot that lie in `gaps` or beyond `last`: rows since deleted."""
    found: set[int] = set()
    sql = f"SELECT {quote(key)} FROM {quote(table)} WHERE {quote(key)} > ?"
    found.update(row[0] for row in connection.execute(sql, (last,)))
    for start in range(0, len(gaps), _RANGES_PER_QUERY):
        chunk = gaps[start : start + _RANGES_PER_QUERY]
        where = " OR ".join(f"{quote(key)} BETWEEN ? AND ?" for _ in chunk)
        params = [bound for gap in chunk for bound in gap]
        sql = f"SELECT {quote(key)} FROM {quote(table)} WHERE {where}"
        found.update(row[0] for row in connection.execute(sql, params))
    return sorted(found)


@contextmanager
def private_folder(parent: Path) -> Iterator[Path]:
    """A fresh folder readable by this user only, removed with everything in it afterwards."""
    import tempfile

    parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="messaging-", dir=parent))  # mkdtemp: mode 0700
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# A feature a reader can offer, and the table and columns it needs.
Feature = tuple[str, str, tuple[str, ...]]


def features(schema: Schema, wanted: Sequence[Feature]) -> tuple[set[str], list[Issue]]:
    """Which optional features this database supports, and an issue for each it does not."""
    available: set[str] = set()
    issues: list[Issue] = []
    for feature, table, columns in wanted:
        missing = schema.missing(table, columns)
        if missing:
            issues.append(
                Issue(
                    Severity.WARNING,
                    "unavailable",
                    ", ".join(missing),
                    f"{feature} unavailable: the database has no {missing[0]}",
                )
            )
        else:
            available.add(feature)
    return available, issues


def required(schema: Schema, needed: dict[str, tuple[str, ...]]) -> Issue | None:
    """An ERROR issue naming what is missing, when the reader cannot work without it."""
    missing = [m for table, columns in needed.items() for m in schema.missing(table, columns)]
    if not missing:
        return None
    return Issue(
        Severity.ERROR,
        "unreadable",
        ", ".join(missing),
        f"not a readable WhatsApp database: it lacks {', '.join(missing)}",
    )


def rows_by_id(
    connection: sqlite3.Connection, sql: str, key: str, ids: list[int] | None
) -> Iterator[tuple[Any, ...]]:
    """The rows of `sql` (a SELECT without WHERE) in `key` order: all, or those with `ids`."""
    if ids is None:
        yield from connection.execute(f"{sql} ORDER BY {key}")
        return
    for start in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[start : start + _IDS_PER_QUERY]
        marks = ",".join("?" * len(chunk))
        yield from connection.execute(f"{sql} WHERE {key} IN ({marks}) ORDER BY {key}", chunk)
