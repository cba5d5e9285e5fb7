"""NSRL Reference Data Set: RDSv3 SQLite databases and RDSv2 `NSRLFile.txt`.

NSRL lists known files, not good ones (its SpecialCode marks some as malicious): the import
service decides what a hit means; this module only reads. Sets run to tens of millions of rows
and must import at 200k rows/s or more, so the per-row work is kept to what validation needs
(see `_read_rds3` and `_known_file`); `NsrlFormat.read_columns`, which the import uses, checks
and converts a batch of rows at a time and builds no object per row (`KnownFiles`).

The RDSv3 database is opened read-only and `immutable=1`: it is published reference data, not
evidence, and immutable mode lets SQLite skip locking and journal checks.

A database may be uploaded by any examiner, and reading one runs the SQL of its views: a FILE
view of the uploader's own could produce any number of rows from a few bytes, or burn CPU
until it ends. So only the published schema is read (FILE a plain table, or the published FILE
view over plain METADATA and PACKAGE_OBJECT tables; checked in sqlite_master before any read),
and the work is bounded by the file's size: at most `_ROWS_PER_BYTE` rows and
`_STEPS_PER_BYTE` SQLite VM steps per byte (a join of tables without their published UNIQUE
constraints can still multiply rows).
"""

from __future__ import annotations

import re
import sqlite3
import string
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from cairn.core.errors import UsageError
from cairn.core.hash_kinds import MD5, SHA1, SHA256, HashKind
from cairn.hashsets.base import (
    BadRecord,
    HashSetFormat,
    KnownHashRecord,
    ReadOptions,
    RecordError,
    csv_rows,
    example_hashes,
    first_line,
    hex_hash,
    parse_count,
    require_hash,
)

SQLITE_MAGIC: Final = b"SQLite format 3\x00"
RDS2_HEADER: Final = (
    "SHA-1",
    "MD5",
    "CRC32",
    "FileName",
    "FileSize",
    "ProductCode",
    "OpSystemCode",
    "SpecialCode",
)
_RDS2_HEADER_LINE: Final = ",".join(f'"{name}"' for name in RDS2_HEADER)
_FILE_COLUMNS: Final = ("sha256", "sha1", "md5", "file_name", "file_size", "package_id")
# Rows per batch: 1024 keeps a batch (rows, columns, arrays) in the CPU caches; 4096 cost
# 15-25 % more CPU time in read_columns (measured, RDSv3 and RDSv2).
_BATCH: Final = 1024
_HEX_RUN: Final = re.compile(r"[0-9A-Fa-f]*")
# Bounds of the work a file may cause, per byte of it, plus a floor for tiny files. A published
# row takes 346 bytes even with short names (write_rds3, 100k rows; three hex digests alone are
# 136), so 1/16 of a row per byte is 20 times what a set holds; scanning the published view,
# from its tables or through it, took 0.05-0.07 VM steps a byte there, so 20 is 300 times that.
_ROWS_PER_BYTE: Final = 1 / 16
_STEPS_PER_BYTE: Final = 20
_WORK_FLOOR: Final = 10_000
_STEPS_PER_CHECK: Final = 100_000
_new: Final = tuple.__new__

# The part of the published RDSv3 schema (data/formats/RDSv3.txt) that the FILE view reads,
# verbatim, for example files and the bench.
RDS3_SCHEMA: Final = """
CREATE TABLE PACKAGE_OBJECT (
 package_object_id INTEGER UNIQUE NOT NULL,
 package_id INTEGER NOT NULL,
 object_id INTEGER UNIQUE NOT NULL,
 CONSTRAINT PK_PACKAGE_OBJECT__PACKAGE_OBJECT_ID PRIMARY KEY (package_object_id)
);
CREATE TABLE METADATA (
 metadata_id NUMERIC UNIQUE NOT NULL,
 object_id INTEGER,
 key_hash VARCHAR NOT NULL,
 image_hash VARCHAR,
 path VARCHAR NOT NULL,
 path_b64 VARCHAR,
 path_coding VARCHAR,
 file_name VARCHAR NOT NULL,
 file_name_b64 VARCHAR,
 file_name_coding VARCHAR,
 extension VARCHAR DEFAULT '' NOT NULL,
 extension_b64 VARCHAR,
 extension_coding VARCHAR,
 bytes INTEGER NOT NULL,
 mtime TIMESTAMP,
 used_in_rds TIMESTAMP,
 update_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL,
 recursion_level INTEGER,
 extractee_id INTEGER DEFAULT 0,
 crc32 VARCHAR NOT NULL,
 md5 VARCHAR NOT NULL,
 sha1 VARCHAR NOT NULL,
 sha256 VARCHAR NOT NULL,
 CONSTRAINT PK_METADATA__METADATA_ID PRIMARY KEY (metadata_id),
 CONSTRAINT FK_METADATA__EXTRACTEE_ID FOREIGN KEY (extractee_id) REFERENCES METADATA (metadata_id),
 CONSTRAINT FK_METADATA__OBJECT_ID FOREIGN KEY (object_id) REFERENCES PACKAGE_OBJECT (object_id)
);
CREATE VIEW FILE AS
    SELECT
        UPPER(md.sha256) AS sha256,
        UPPER(md.sha1) AS sha1,
        UPPER(md.md5) AS md5,
        CASE md.extension
         WHEN ''
                THEN md.file_name
                ELSE md.file_name||'.'||md.extension
            END AS file_name,
        md.bytes AS file_size,
        po.package_id
    FROM
        METADATA AS md,
        PACKAGE_OBJECT AS po
    WHERE
        md.object_id = po.object_id;
"""

# The published view, read from its tables: the same rows without the view's UPPER() calls,
# which the readers undo anyway (hex is lower-cased): 15 % of the scan's CPU time, measured.
_FILE_FROM_TABLES: Final = (
    "SELECT md.sha256, md.sha1, md.md5, CASE md.extension WHEN '' THEN md.file_name "
    "ELSE md.file_name || '.' || md.extension END, md.bytes, po.package_id "
    "FROM METADATA AS md, PACKAGE_OBJECT AS po WHERE md.object_id = po.object_id"
)


def _normal_sql(sql: str) -> str:
    """SQL text without comments, case and layout: to recognise the published view."""
    return " ".join(re.sub(r"/\*.*?\*/", " ", sql, flags=re.S).lower().split()).rstrip("; ")


_PUBLISHED_FILE_VIEW: Final = _normal_sql(RDS3_SCHEMA[RDS3_SCHEMA.index("CREATE VIEW FILE") :])
_ASCII_UPPER: Final = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)

# (sha256, sha1, md5, file name, extension, size, package id): one row of the FILE view.
Rds3Row = tuple[str, str, str, str, str, int, int]


def write_rds3(path: Path, rows: Iterable[Rds3Row]) -> None:
    """Build an RDSv3-shaped database: for example files and benches, never for evidence."""
    numbered = enumerate(rows, 1)
    with sqlite3.connect(path) as connection:
        connection.executescript(RDS3_SCHEMA)
        while chunk := list(islice(numbered, 10_000)):
            connection.executemany(
                "INSERT INTO PACKAGE_OBJECT VALUES (?, ?, ?)",
                [(number, row[6], number) for number, row in chunk],
            )
            connection.executemany(
                "INSERT INTO METADATA (metadata_id, object_id, key_hash, path, file_name, "
                "extension, bytes, crc32, md5, sha1, sha256) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, '00000000', ?, ?, ?)",
                [
                    (number, number, sha256, f"/{name}", name, ext, size, md5, sha1, sha256)
                    for number, (sha256, sha1, md5, name, ext, size, _) in chunk
                ],
            )
    connection.close()


RowCheck = Callable[[tuple[object, ...]], KnownHashRecord]


def _is_plain_table(connection: sqlite3.Connection, name: str) -> bool:
    """Whether `name` is an ordinary table: reading one runs no SQL of the file's author (a
    view or a virtual table would)."""
    row = connection.execute(
        "SELECT type, sql FROM sqlite_master WHERE name = ? COLLATE NOCASE", (name,)
    ).fetchone()
    return (
        row is not None
        and row[0] == "table"
        and not _normal_sql(row[1] or "").startswith("create virtual")
    )


def _published_view(connection: sqlite3.Connection, path: Path) -> bool:
    """Whether FILE is the published view (else a plain table); refuses anything else."""
    view = connection.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = 'FILE' COLLATE NOCASE"
    ).fetchone()
    if view is None:
        if (
            connection.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'FILE' COLLATE NOCASE"
            ).fetchone()
            is None
        ):
            raise UsageError(
                f"{path.name} is an SQLite database but not an NSRL RDSv3 set: "
                "it has no FILE table or view"
            )
        if not _is_plain_table(connection, "FILE"):
            raise UsageError(f"{path.name}: FILE is not a table nor the published RDSv3 view")
        return False
    if _normal_sql(view[0] or "") != _PUBLISHED_FILE_VIEW:
        raise UsageError(f"{path.name}: the FILE view is not the published RDSv3 view")
    for table in ("METADATA", "PACKAGE_OBJECT"):
        if not _is_plain_table(connection, table):
            raise UsageError(f"{path.name}: {table} is not a table, as RDSv3 publishes it")
    return True


class _Budget:
    """The bounds of the work reading a file may cause, from its size (module docstring)."""

    def __init__(self, path: Path) -> None:
        size = path.stat().st_size
        self.rows = _WORK_FLOOR + int(size * _ROWS_PER_BYTE)
        self.checks = 1 + (_WORK_FLOOR + size * _STEPS_PER_BYTE) // _STEPS_PER_CHECK
        self.name = path.name

    def step(self) -> int:
        """SQLite's progress handler: non-zero interrupts the statement."""
        self.checks -= 1
        return self.checks < 0

    def count(self, read: int) -> None:
        if read > self.rows:
            raise UsageError(
                f"{self.name}: more rows than a file of its size holds; not a published RDSv3 set"
            )


def _open_rds3(path: Path) -> tuple[sqlite3.Connection, sqlite3.Cursor, RowCheck, _Budget]:
    """Open read-only and start the FILE scan, or say clearly why this is no RDSv3 set.
    Returns the row check that reports a bad row's values as the FILE view shows them."""
    uri = path.resolve().as_uri() + "?mode=ro&immutable=1"
    budget = _Budget(path)
    try:
        connection = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise UsageError(f"cannot open {path.name} as an SQLite database: {exc}") from None
    connection.set_progress_handler(budget.step, _STEPS_PER_CHECK)
    try:
        connection.execute("PRAGMA trusted_schema = OFF")  # no side-effect functions in schema
        if _published_view(connection, path):
            cursor = connection.execute(_FILE_FROM_TABLES)
            return connection, cursor, _rds3_checked_from_tables, budget
        columns = {row[1].lower() for row in connection.execute("PRAGMA table_info('FILE')")}
        if columns.isdisjoint(("sha256", "sha1", "md5")):
            raise UsageError(f"{path.name}: the FILE table has no sha256, sha1 or md5 column")
        select = ", ".join(name if name in columns else "NULL" for name in _FILE_COLUMNS)
        return connection, connection.execute(f"SELECT {select} FROM FILE"), _rds3_checked, budget
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise _read_error(path, budget, exc) from None
    except UsageError:
        connection.close()
        raise


def _read_error(path: Path, budget: _Budget, exc: sqlite3.DatabaseError) -> UsageError:
    if budget.checks < 0:  # our progress handler interrupted it
        return UsageError(
            f"{path.name}: more work than a file of its size needs; not a published RDSv3 set"
        )
    return UsageError(f"{path.name} is not a readable SQLite database: {exc}")


def _batches(path: Path, cursor: sqlite3.Cursor, budget: _Budget, size: int) -> Iterator[list[Any]]:
    """The scan's rows, `size` at a time, within the budget."""
    read = 0
    try:
        while rows := cursor.fetchmany(size):
            read += len(rows)
            budget.count(read)
            yield rows
    except sqlite3.DatabaseError as exc:
        raise _read_error(path, budget, exc) from None


def _view_upper(value: object) -> object:
    """What the view's UPPER() makes of a value: SQLite upper-cases ASCII only, and gives text
    for numbers and BLOBs."""
    if value is None or isinstance(value, str):
        return value and value.translate(_ASCII_UPPER)
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return str(value).translate(_ASCII_UPPER)


def _rds3_checked_from_tables(row: tuple[object, ...]) -> KnownHashRecord:
    """`_rds3_checked` of a row read from the tables, its digests as the view shows them, so
    that errors quote the same values either way."""
    return _rds3_checked((*map(_view_upper, row[:3]), *row[3:]))


def _rds3_checked(row: tuple[object, ...]) -> KnownHashRecord:
    """The slow path for a row the fast path refused: full validation with a reason."""
    sha256, sha1, md5, name, size, package = row
    if isinstance(name, bytes):  # a BLOB where text was expected
        name = name.decode("utf-8", errors="replace")
    return require_hash(
        KnownHashRecord(
            md5=hex_hash(md5, "md5"),
            sha1=hex_hash(sha1, "sha1"),
            sha256=hex_hash(sha256, "sha256"),
            file_name=name if isinstance(name, str) and name else None,
            size=parse_count(size, "file_size"),
            extra=() if package is None else (("package_id", str(package)),),
        )
    )


def _known_file(
    md5: str,
    sha1: str,
    sha256: str | None,
    name: str | None,
    size: int,
    extra: tuple[tuple[str, str], ...],
) -> KnownHashRecord:
    """The fast paths' record, built positionally: tuple.__new__ skips the NamedTuple
    constructor's keyword handling (0.25 µs against 0.7 µs a row, measured). The tests compare
    its records with keyword-built ones, which pins the field order."""
    return _new(
        KnownHashRecord,
        (
            md5,
            sha1,
            sha256,
            None,  # pdq
            None,  # pdq_quality
            None,  # photodna
            size,
            None,  # category
            (),  # series
            None,  # victim_identified
            None,  # offender_identified
            None,  # distributed
            None,  # media_id
            name,  # file_name
            None,  # mime_type
            None,  # comments
            None,  # tags
            extra,
        ),
    )


def _read_rds3(path: Path) -> Iterator[KnownHashRecord | RecordError]:
    connection, cursor, checked, budget = _open_rds3(path)
    # Rows of one package share one `extra` tuple: packages repeat across millions of rows, and
    # a dict hit is cheaper than building the pair and str() of the id for each row.
    package_extra: dict[object, tuple[tuple[str, str], ...]] = {None: ()}
    md5_digits, sha1_digits, sha256_digits = MD5.hex_length, SHA1.hex_length, SHA256.hex_length
    try:
        number = 0
        for rows in _batches(path, cursor, budget, _BATCH):
            # Hex is checked once per batch: one regex over the batch's joined hashes costs
            # about 0.1 µs a row against 0.4 µs for a regex per hash. Only a batch that fails
            # (or holds a NULL: TypeError) takes the per-row path, which finds the bad row and
            # says why.
            try:
                joined = "".join([row[0] + row[1] + row[2] for row in rows])
                batch_ok = _HEX_RUN.fullmatch(joined) is not None
            except TypeError:
                batch_ok = False
            for row in rows:
                number += 1
                sha256, sha1, md5, name, size, package = row
                if (
                    batch_ok
                    and len(sha256) == sha256_digits
                    and len(sha1) == sha1_digits
                    and len(md5) == md5_digits
                    and type(name) is str
                    and type(size) is int
                    and size >= 0
                ):
                    extra = package_extra.get(package)
                    if extra is None:
                        extra = package_extra[package] = (("package_id", str(package)),)
                    yield _known_file(
                        md5.lower(), sha1.lower(), sha256.lower(), name or None, size, extra
                    )
                    continue
                try:
                    yield checked(row)
                except BadRecord as exc:
                    yield RecordError(number, str(exc))
    finally:
        connection.close()


def _rds2_record(fields: list[str]) -> KnownHashRecord:
    """The slow path for a row the fast path refused: full validation with a reason."""
    sha1, md5, _crc32, name, size, product, os_code, special = fields
    return require_hash(
        KnownHashRecord(
            md5=hex_hash(md5, "md5"),
            sha1=hex_hash(sha1, "sha1"),
            file_name=name or None,
            size=parse_count(size, "FileSize"),
            extra=_rds2_extra(product, os_code, special),
        )
    )


def _rds2_extra(product: str, os_code: str, special: str) -> tuple[tuple[str, str], ...]:
    if special:  # "M" malicious, "S" special: worth keeping; blank is the normal case
        return (("ProductCode", product), ("OpSystemCode", os_code), ("SpecialCode", special))
    return (("ProductCode", product), ("OpSystemCode", os_code))


def _rds2_rows(file: Iterable[str], path: Path) -> Iterator[tuple[int, list[str] | str]]:
    """The data rows of an open `NSRLFile.txt`, after checking its header."""
    rows = csv_rows(file, ",")
    _, header = next(rows, (0, ""))
    if isinstance(header, str) or tuple(name.strip() for name in header) != RDS2_HEADER:
        raise UsageError(
            f"{path.name} is neither an SQLite database nor an NSRL RDSv2 file: "
            f"expected the header {_RDS2_HEADER_LINE}"
        )
    return rows


def _rds2_item(number: int, line: int, fields: list[str] | str) -> KnownHashRecord | RecordError:
    if isinstance(fields, str):
        return RecordError(number, fields, line)
    if len(fields) != len(RDS2_HEADER):
        return RecordError(number, f"expected {len(RDS2_HEADER)} fields, found {len(fields)}", line)
    sha1, md5, _crc32, name, size, product, os_code, special = fields
    # Fast path, as for RDSv3: one regex for both hashes, no per-field parsers.
    if (
        len(sha1) == SHA1.hex_length
        and len(md5) == MD5.hex_length
        and size.isascii()
        and size.isdigit()
        and _HEX_RUN.fullmatch(sha1 + md5)
    ):
        extra = _rds2_extra(product, os_code, special)
        return _known_file(md5.lower(), sha1.lower(), None, name or None, int(size), extra)
    try:
        return _rds2_record(fields)
    except BadRecord as exc:
        return RecordError(number, str(exc), line)


def _read_rds2(path: Path) -> Iterator[KnownHashRecord | RecordError]:
    # FileName comes in whatever encoding the software's vendor used (rdsv2-formats.txt):
    # undecodable bytes are replaced, which only touches names, never hashes.
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as file:
        for number, (line, fields) in enumerate(_rds2_rows(file, path), 1):
            yield _rds2_item(number, line, fields)


# --- Columns: what an import that stores no record per row reads ----------------------------

Extra = tuple[tuple[str, str], ...]
U8 = npt.NDArray[np.uint8]


class KnownFiles(NamedTuple):
    """A batch of known-file rows in columns, in file order, with no object per row.

    Why: building a `KnownHashRecord` per row and storing it as a row cost more than SQLite's
    own scan of the FILE view; columns are checked and converted a batch at a time, in C.
    A digest column is (count, width) raw bytes, all zeros for a row without that digest, and
    None when no row of the batch has one. A name is '' or None when there is none. `extras`
    number the rows' `extra` facts in `extra_table`, the reader's list of the distinct ones
    (NSRL has a few packages per thousand files), which grows while reading goes on.
    """

    md5: U8 | None
    sha1: U8 | None
    sha256: U8 | None
    names: Sequence[str | None]
    sizes: Sequence[int | None]
    extras: Sequence[int]
    extra_table: Sequence[Extra]


class _Extras(dict[object, int]):
    """Numbers distinct `extra` tuples by what they are built from (an RDSv3 package id, an
    RDSv2 code triple, or the tuple itself): one dict hit per row, the tuple built once."""

    def __init__(self, table: list[Extra], make: Callable[[Any], Extra]) -> None:
        super().__init__()
        self.table = table
        self._make = make

    def __missing__(self, key: object) -> int:
        number = self[key] = len(self.table)
        self.table.append(self._make(key))
        return number


def _package_extra(package: object) -> Extra:
    return () if package is None else (("package_id", str(package)),)


def _hex_column(values: Sequence[object], kind: HashKind) -> U8:
    """Hex digests of one batch as (count, key bytes); TypeError or ValueError when any is
    absent, not hexadecimal or of another length (then the batch is read row by row)."""
    width = kind.key_bytes
    if set(map(len, values)) != {kind.hex_length}:  # type: ignore[arg-type]
        raise ValueError("mixed lengths")
    raw = bytes.fromhex("".join(values))  # type: ignore[arg-type]
    if len(raw) != width * len(values):  # fromhex skips whitespace
        raise ValueError("whitespace")
    return np.frombuffer(raw, np.uint8).reshape(-1, width)


def _record_columns(records: Sequence[KnownHashRecord], extras: _Extras) -> KnownFiles:
    """Records the slow paths produced, as columns."""

    def digests(kind: HashKind) -> U8 | None:
        values: list[str | None] = [getattr(record, kind.name) for record in records]
        if not any(values):
            return None
        width = kind.key_bytes
        raw = b"".join(bytes.fromhex(v) if v else bytes(width) for v in values)
        return np.frombuffer(raw, np.uint8).reshape(-1, width)

    return KnownFiles(
        digests(MD5),
        digests(SHA1),
        digests(SHA256),
        [record.file_name for record in records],
        [record.size for record in records],
        [extras[record.extra] for record in records],
        extras.table,
    )


def _rds3_fast(rows: list[tuple[Any, ...]], extras: _Extras) -> KnownFiles | None:
    """A batch of FILE rows as columns, or None when any row needs the per-row checks."""
    sha256, sha1, md5, names, sizes, packages = zip(*rows, strict=True)
    try:
        columns = (_hex_column(md5, MD5), _hex_column(sha1, SHA1), _hex_column(sha256, SHA256))
    except (TypeError, ValueError):
        return None
    if set(map(type, names)) != {str} or set(map(type, sizes)) != {int} or min(sizes) < 0:
        return None
    return KnownFiles(*columns, names, sizes, list(map(extras.__getitem__, packages)), extras.table)


def _rds3_columns(path: Path, batch: int) -> Iterator[KnownFiles | RecordError]:
    connection, cursor, checked, budget = _open_rds3(path)
    table: list[Extra] = []
    by_package, by_extra = _Extras(table, _package_extra), _Extras(table, tuple)
    try:
        number = 0
        for rows in _batches(path, cursor, budget, batch):
            columns = _rds3_fast(rows, by_package)
            if columns is None:
                good: list[KnownHashRecord] = []
                for row_number, row in enumerate(rows, number + 1):
                    try:
                        good.append(checked(row))
                    except BadRecord as exc:
                        yield RecordError(row_number, str(exc))
                columns = _record_columns(good, by_extra)
            number += len(rows)
            if columns.names:
                yield columns
    finally:
        connection.close()


def _rds2_fast(rows: Sequence[list[str] | str], extras: _Extras) -> KnownFiles | None:
    if set(map(type, rows)) != {list} or set(map(len, rows)) != {len(RDS2_HEADER)}:
        return None
    sha1, md5, _crc32, names, sizes, product, os_code, special = zip(*rows, strict=True)
    try:
        columns = (_hex_column(md5, MD5), _hex_column(sha1, SHA1))
    except ValueError:
        return None
    digits = "".join(sizes)
    if not (digits.isascii() and digits.isdigit()) or min(map(len, sizes)) == 0:
        return None
    codes = zip(product, os_code, special, strict=True)
    return KnownFiles(
        *columns,
        None,
        names,
        list(map(int, sizes)),
        list(map(extras.__getitem__, codes)),
        extras.table,
    )


def _rds2_columns(path: Path, batch: int) -> Iterator[KnownFiles | RecordError]:
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as file:
        rows = _rds2_rows(file, path)
        table: list[Extra] = []
        by_codes = _Extras(table, lambda codes: _rds2_extra(*codes))
        by_extra = _Extras(table, tuple)
        number = 0
        while chunk := list(islice(rows, batch)):
            _lines, fields = zip(*chunk, strict=True)
            columns = _rds2_fast(fields, by_codes)
            if columns is None:
                good: list[KnownHashRecord] = []
                for row_number, (line, row) in enumerate(chunk, number + 1):
                    item = _rds2_item(row_number, line, row)
                    if isinstance(item, RecordError):
                        yield item
                    else:
                        good.append(item)
                columns = _record_columns(good, by_extra)
            number += len(chunk)
            if columns.names:
                yield columns


class NsrlFormat(HashSetFormat):
    name = "nsrl"
    title = "NSRL RDSv3 SQLite database or RDSv2 NSRLFile.txt"

    @classmethod
    def probe(cls, head: bytes, file_name: str) -> bool:
        return head.startswith(SQLITE_MAGIC) or first_line(head).strip() == _RDS2_HEADER_LINE

    @classmethod
    def read(cls, path: Path, options: ReadOptions) -> Iterator[KnownHashRecord | RecordError]:
        with path.open("rb") as file:
            is_sqlite = file.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
        return _read_rds3(path) if is_sqlite else _read_rds2(path)

    @classmethod
    def read_columns(cls, path: Path) -> Iterator[KnownFiles | RecordError]:
        """As `read`, in batches of columns (`KnownFiles`): the same rows, the same errors."""
        with path.open("rb") as file:
            is_sqlite = file.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
        return _rds3_columns(path, _BATCH) if is_sqlite else _rds2_columns(path, _BATCH)

    @classmethod
    def example(cls, tmp_path: Path) -> Path:
        path = tmp_path / "example-nsrl.db"
        write_rds3(path, cls._example_rows())
        return path

    @classmethod
    def _example_rows(cls) -> list[Rds3Row]:
        (md5_1, sha1_1, sha256_1), (md5_2, sha1_2, sha256_2) = example_hashes(1), example_hashes(2)
        return [
            (sha256_1, sha1_1, md5_1, "WORD", "EXE", 1217654, 103),
            (sha256_2, sha1_2, md5_2, "README", "", 0, 104),
        ]

    @classmethod
    def example_records(cls) -> tuple[KnownHashRecord, ...]:
        return tuple(
            KnownHashRecord(
                md5=md5,
                sha1=sha1,
                sha256=sha256,
                file_name=f"{name}.{extension}" if extension else name,
                size=size,
                extra=(("package_id", str(package)),),
            )
            for sha256, sha1, md5, name, extension, size, package in cls._example_rows()
        )
