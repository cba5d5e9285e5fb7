"""NSRL: RDSv3 SQLite (FILE view or table, read-only) and RDSv2 NSRLFile.txt."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from cairn.core.errors import UsageError
from cairn.hashsets import nsrl
from cairn.hashsets.base import KnownHashRecord, ReadOptions, RecordError, example_hashes
from cairn.hashsets.nsrl import RDS2_HEADER, NsrlFormat, write_rds3

MD5 = [example_hashes(n)[0] for n in range(8)]
SHA1 = [example_hashes(n)[1] for n in range(8)]
SHA256 = [example_hashes(n)[2] for n in range(8)]
RDS2_HEADER_LINE = (
    '"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"'
)


def read(path: Path) -> list[KnownHashRecord | RecordError]:
    return list(NsrlFormat.read(path, ReadOptions()))


def record(n: int, name: str | None, size: int | None, package: int) -> KnownHashRecord:
    return KnownHashRecord(
        md5=MD5[n],
        sha1=SHA1[n],
        sha256=SHA256[n],
        file_name=name,
        size=size,
        extra=(("package_id", str(package)),),
    )


def test_rds3_view_upper_case_hex_is_lowered_and_names_get_their_extension(
    tmp_path: Path,
) -> None:
    path = tmp_path / "RDS_2026.03.1_modern.db"
    write_rds3(
        path,
        [
            (SHA256[1].upper(), SHA1[1], MD5[1], "setup", "exe", 10, 7),
            (SHA256[2], SHA1[2], MD5[2], "LICENSE", "", 0, 8),
        ],
    )
    assert read(path) == [record(1, "setup.exe", 10, 7), record(2, "LICENSE", 0, 8)]


def test_reading_leaves_the_database_untouched(tmp_path: Path) -> None:
    path = NsrlFormat.example(tmp_path)
    before = (hashlib.sha256(path.read_bytes()).hexdigest(), os.stat(path).st_mtime_ns)
    os.chmod(path, 0o444)
    assert len(read(path)) == 2
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), os.stat(path).st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["example-nsrl.db"]  # no journal


def bad_rows_db(path: Path) -> None:
    """A FILE *table* (some tools flatten the view) with bad rows among good ones."""
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE file (sha256, sha1, md5, file_name, file_size, package_id)"
        )
        connection.executemany(
            "INSERT INTO file VALUES (?, ?, ?, ?, ?, ?)",
            [
                (SHA256[1], SHA1[1], MD5[1], "a", 1, 1),
                (SHA256[2][:-1], SHA1[2], MD5[2], "b", 2, 2),
                (SHA256[3], SHA1[3] + "0", MD5[3], "c", 3, 3),
                (SHA256[4], SHA1[4], "z" * 32, "d", 4, 4),
                (None, None, MD5[5], None, None, None),
                (None, None, None, "e", 5, 5),
                (SHA256[6], SHA1[6], MD5[6], "f", -1, 6),
                (SHA256[7], SHA1[7], MD5[7], b"g\xff", "77", 7),
                (SHA256[1], SHA1[1], MD5[1], "", 1, 1),
            ],
        )
    connection.close()


EXPECTED_BAD_ROWS: list[KnownHashRecord | RecordError] = [
    record(1, "a", 1, 1),
    RecordError(2, f"SHA-256 '{SHA256[2][:-1]}' has 63 hex digits, expected 64"),
    RecordError(3, f"SHA-1 '{SHA1[3]}0' has 41 hex digits, expected 40"),
    RecordError(4, f"MD5 '{'z' * 32}' has characters that are not hexadecimal"),
    KnownHashRecord(md5=MD5[5]),
    RecordError(6, "no MD5, SHA-1, SHA-256 or PDQ hash"),
    RecordError(7, "file_size: expected a whole number, found -1"),
    record(7, "g\ufffd", 77, 7),
    record(1, None, 1, 1),
]


def test_rds3_bad_rows_are_reported_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "flat.db"
    bad_rows_db(path)
    assert read(path) == EXPECTED_BAD_ROWS


@pytest.mark.parametrize("batch", [1, 2, 3, 4096])
def test_batch_boundaries_do_not_change_the_result(
    batch: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nsrl, "_BATCH", batch)
    path = tmp_path / "flat.db"
    bad_rows_db(path)
    assert read(path) == EXPECTED_BAD_ROWS


def test_a_file_table_with_only_some_columns(tmp_path: Path) -> None:
    path = tmp_path / "partial.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE FILE (SHA1 TEXT, md5 TEXT)")
        connection.execute("INSERT INTO FILE VALUES (?, ?)", (SHA1[1].upper(), MD5[1].upper()))
    connection.close()
    assert read(path) == [KnownHashRecord(md5=MD5[1], sha1=SHA1[1])]


def test_an_sqlite_database_that_is_not_rds(tmp_path: Path) -> None:
    path = tmp_path / "msgstore.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE message (_id INTEGER PRIMARY KEY, text_data TEXT)")
    connection.close()
    with pytest.raises(UsageError) as caught:
        read(path)
    assert str(caught.value) == (
        "msgstore.db is an SQLite database but not an NSRL RDSv3 set: it has no FILE table or view"
    )
    no_hashes = tmp_path / "nohash.db"
    with sqlite3.connect(no_hashes) as connection:
        connection.execute("CREATE TABLE FILE (file_name TEXT)")
    connection.close()
    with pytest.raises(UsageError, match="the FILE table has no sha256, sha1 or md5 column"):
        read(no_hashes)


def test_a_damaged_database_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    path.write_bytes(nsrl.SQLITE_MAGIC + b"\xff" * 4000)
    with pytest.raises(UsageError, match=r"damaged\.db is not a readable SQLite database"):
        read(path)


def test_rds2_text(tmp_path: Path) -> None:
    path = tmp_path / "NSRLFile.txt"
    rows = [
        RDS2_HEADER_LINE,
        f'"{SHA1[1].upper()}","{MD5[1].upper()}","14CCE906","WORD.EXE",1217654,103,"NT4WKS",""',
        f'"{SHA1[2]}","{MD5[2]}","00000000","a,b.dll",0,104,"358","M"',
        f'"{SHA1[3]}","{MD5[3][:-1]}","00000000","c.dll",1,105,"358",""',
        f'"{SHA1[4]}","{MD5[4]}","00000000","d.dll",1,105',
        f'"{SHA1[5]}","{MD5[5]}","00000000","e.dll",big,105,"358",""',
        f'"{SHA1[6]}","{MD5[6]}","00000000","caf\xe9.dll",6,106,"358",""',
    ]
    path.write_bytes(b"\r\n".join(r.encode("latin-1") for r in rows) + b"\r\n")
    assert read(path) == [
        KnownHashRecord(
            md5=MD5[1],
            sha1=SHA1[1],
            file_name="WORD.EXE",
            size=1217654,
            extra=(("ProductCode", "103"), ("OpSystemCode", "NT4WKS")),
        ),
        KnownHashRecord(
            md5=MD5[2],
            sha1=SHA1[2],
            file_name="a,b.dll",
            size=0,
            extra=(("ProductCode", "104"), ("OpSystemCode", "358"), ("SpecialCode", "M")),
        ),
        RecordError(3, f"MD5 '{MD5[3][:-1]}' has 31 hex digits, expected 32", 4),
        RecordError(4, "expected 8 fields, found 6", 5),
        RecordError(5, "FileSize: expected a whole number, found 'big'", 6),
        KnownHashRecord(
            md5=MD5[6],
            sha1=SHA1[6],
            file_name="caf\ufffd.dll",
            size=6,
            extra=(("ProductCode", "106"), ("OpSystemCode", "358")),
        ),
    ]


def test_a_text_file_without_the_rds2_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "NSRLProd.txt"
    path.write_text('"ProductCode","ProductName"\r\n103,"Word"\r\n')
    with pytest.raises(UsageError, match="neither an SQLite database nor an NSRL RDSv2 file"):
        read(path)


def test_probe() -> None:
    assert ",".join(f'"{name}"' for name in RDS2_HEADER) == RDS2_HEADER_LINE
    assert NsrlFormat.probe((RDS2_HEADER_LINE + "\r\n").encode(), "NSRLFile.txt")
    assert NsrlFormat.probe(b"\xef\xbb\xbf" + RDS2_HEADER_LINE.encode(), "x")
    assert NsrlFormat.probe(nsrl.SQLITE_MAGIC + b"\x10\x00", "x.db")
    assert not NsrlFormat.probe(b'"SHA-1","MD5"\r\n', "x")


def as_records(path: Path) -> list[KnownHashRecord | RecordError]:
    """`read_columns`' batches turned back into records and errors, in file order."""
    out: list[KnownHashRecord | RecordError] = []
    for item in NsrlFormat.read_columns(path):
        if isinstance(item, RecordError):
            out.append(item)
            continue
        for n, name in enumerate(item.names):
            digests = {
                kind: None if column is None or not column[n].any() else column[n].tobytes().hex()
                for kind, column in (
                    ("md5", item.md5),
                    ("sha1", item.sha1),
                    ("sha256", item.sha256),
                )
            }
            out.append(
                KnownHashRecord(
                    **digests,
                    file_name=name or None,
                    size=item.sizes[n],
                    extra=item.extra_table[item.extras[n]],
                )
            )
    return out


def ordered(items: list[KnownHashRecord | RecordError]) -> list[KnownHashRecord | RecordError]:
    """Records in order, then errors by record number: a batch's errors come before its
    records, and record numbers say where each error was."""
    return [i for i in items if isinstance(i, KnownHashRecord)] + sorted(
        (i for i in items if isinstance(i, RecordError)), key=lambda e: e.record
    )


@pytest.mark.parametrize("batch", [1, 2, 3, 4096])
def test_columns_hold_what_records_hold_rds3(
    batch: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nsrl, "_BATCH", batch)
    flat = tmp_path / "flat.db"
    bad_rows_db(flat)
    assert ordered(as_records(flat)) == ordered(EXPECTED_BAD_ROWS)
    published = tmp_path / "published.db"
    write_rds3(
        published,
        [
            (SHA256[n].upper(), SHA1[n].upper(), MD5[n].upper(), f"f{n}", "dll", n, n % 2)
            for n in range(6)
        ],
    )
    assert as_records(published) == read(published)
    batches = [b for b in NsrlFormat.read_columns(published) if not isinstance(b, RecordError)]
    assert batches[-1].extra_table == [(("package_id", "0"),), (("package_id", "1"),)]


@pytest.mark.parametrize("batch", [1, 4, 4096])
def test_columns_hold_what_records_hold_rds2(
    batch: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nsrl, "_BATCH", batch)
    path = tmp_path / "NSRLFile.txt"
    rows = [
        RDS2_HEADER_LINE,
        *(f'"{SHA1[n]}","{MD5[n].upper()}","0","f{n}.dll",{n},{n},"358",""' for n in range(4)),
        f'"{SHA1[4]}","{MD5[4]}","00000000","e.dll",big,105,"358",""',
        f'"{SHA1[5]}","{MD5[5]}","00000000","",5,106,"358","M"',
        f'"{SHA1[6]}","{MD5[6]}","00000000","d.dll",1,105',
        f'"{SHA1[7]}","{MD5[7]}","00000000","caf\xe9.dll",7,107,"358",""',
    ]
    path.write_bytes(b"\r\n".join(r.encode("latin-1") for r in rows) + b"\r\n")
    expected = read(path)
    assert sum(isinstance(item, RecordError) for item in expected) == 2
    assert ordered(as_records(path)) == ordered(expected)


def test_columns_refuse_what_records_refuse(tmp_path: Path) -> None:
    path = tmp_path / "NSRLProd.txt"
    path.write_text('"ProductCode","ProductName"\r\n103,"Word"\r\n')
    with pytest.raises(UsageError, match="neither an SQLite database nor an NSRL RDSv2 file"):
        list(NsrlFormat.read_columns(path))


def test_the_published_view_is_read_from_its_tables_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    spec = (shared_data / "formats" / "RDSv3.txt").read_text()
    start = spec.index("CREATE VIEW FILE")
    # The spec's text (trailing blanks, the shell's /* FILE(...) */ comment) is recognised.
    assert nsrl._normal_sql(spec[start : spec.index(";", start) + 1]) == nsrl._PUBLISHED_FILE_VIEW
    path = tmp_path / "RDS_modern.db"
    write_rds3(
        path,
        [
            (SHA256[1].upper(), SHA1[1], MD5[1].upper(), "setup", "exe", 10, 7),
            (SHA256[2], SHA1[2][:-1], MD5[2], "LICENSE", "", 0, 8),  # a bad SHA-1
            (SHA256[3], SHA1[3], MD5[3], "caf\xe9", "txt", 3, 8),
        ],
    )
    from_tables = read(path), as_records(path)
    assert from_tables[0] == [
        record(1, "setup.exe", 10, 7),
        RecordError(
            2, f"SHA-1 '{SHA1[2][:-1].upper()}' has 39 hex digits, expected 40"
        ),  # as FILE shows it
        record(3, "caf\xe9.txt", 3, 8),
    ]
    # The same rows through the view itself, as a FILE table, read the same.
    table = tmp_path / "as_table.db"
    with sqlite3.connect(path) as source, sqlite3.connect(table) as copy:
        copy.execute("CREATE TABLE FILE (sha256, sha1, md5, file_name, file_size, package_id)")
        copy.executemany(
            "INSERT INTO FILE VALUES (?, ?, ?, ?, ?, ?)", source.execute("SELECT * FROM FILE")
        )
    source.close()
    copy.close()
    assert (read(table), as_records(table)) == from_tables


def _file_view_db(path: Path, view: str, tables: str = "") -> Path:
    with sqlite3.connect(path) as connection:
        connection.executescript(tables + view)
    connection.close()
    return path


# 50,000 well-formed rows from a few KiB: what a 4 KiB upload's own FILE view produced.
_MANY_ROWS = """
CREATE VIEW FILE AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
  WHERE i < 50000)
SELECT substr(printf('%064d', i), 1, 64) AS sha256, substr(printf('%040d', i), 1, 40) AS sha1,
  substr(printf('%032d', i), 1, 32) AS md5, 'x' AS file_name, 1 AS file_size,
  1 AS package_id FROM n;
"""
# A view that runs until it ends: 10**12 steps.
_CPU_BURN = """
CREATE VIEW FILE AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
  WHERE i < 1000000000000)
SELECT '' AS sha256, '' AS sha1, '' AS md5, '' AS file_name, 0 AS file_size,
  0 AS package_id FROM n WHERE i = 0;
"""


@pytest.mark.parametrize("view", [_MANY_ROWS, _CPU_BURN], ids=["many-rows", "cpu-burn"])
@pytest.mark.parametrize("reader", [read, as_records], ids=["records", "columns"])
def test_a_file_view_of_the_uploaders_own_is_refused_before_reading(
    tmp_path: Path, view: str, reader: Callable[[Path], object]
) -> None:
    path = _file_view_db(tmp_path / "hostile.db", view)
    with pytest.raises(UsageError) as caught:
        reader(path)
    assert str(caught.value) == "hostile.db: the FILE view is not the published RDSv3 view"


_PUBLISHED_VIEW = nsrl.RDS3_SCHEMA[nsrl.RDS3_SCHEMA.index("CREATE VIEW FILE") :]


@pytest.mark.parametrize("table", ["METADATA", "PACKAGE_OBJECT"])
def test_the_published_view_over_a_view_is_refused(tmp_path: Path, table: str) -> None:
    """The published FILE view's text over METADATA (or PACKAGE_OBJECT) made a view: the
    uploader's SQL again, refused."""
    schema = nsrl.RDS3_SCHEMA[: nsrl.RDS3_SCHEMA.index("CREATE VIEW FILE")]
    start = schema.index(f"CREATE TABLE {table}")
    end = schema.index(");", start) + 2
    columns = (
        "package_object_id, package_id, object_id"
        if table == "PACKAGE_OBJECT"
        else (
            "0 AS metadata_id, 1 AS object_id, 'k' AS key_hash, '/x' AS path, 'x' AS file_name, "
            "'' AS extension, 1 AS bytes, '0' AS crc32, '' AS md5, '' AS sha1, '' AS sha256"
        )
    )
    if table == "PACKAGE_OBJECT":
        replacement = f"CREATE VIEW {table} AS SELECT 1 AS {columns.replace(', ', ', 1 AS ')};"
    else:
        replacement = f"CREATE VIEW {table} AS SELECT {columns};"
    path = _file_view_db(
        tmp_path / "hostile.db", _PUBLISHED_VIEW, schema[:start] + replacement + schema[end:]
    )
    with pytest.raises(UsageError) as caught:
        read(path)
    assert str(caught.value) == f"hostile.db: {table} is not a table, as RDSv3 publishes it"


def test_a_virtual_file_table_is_refused(tmp_path: Path) -> None:
    path = _file_view_db(
        tmp_path / "virtual.db", "CREATE VIRTUAL TABLE FILE USING fts5(sha1, md5);"
    )
    with pytest.raises(UsageError, match="FILE is not a table nor the published RDSv3 view"):
        read(path)


def test_a_join_that_multiplies_rows_is_cut_at_the_files_size(tmp_path: Path) -> None:
    """The published schema without its UNIQUE constraints: every METADATA row joins every
    PACKAGE_OBJECT row, 300 x 300 = 90,000 rows from a file of about 100 KiB."""
    unique_free = (
        nsrl.RDS3_SCHEMA.replace("UNIQUE ", "")
        .replace(
            " CONSTRAINT PK_PACKAGE_OBJECT__PACKAGE_OBJECT_ID PRIMARY KEY (package_object_id)\n", ""
        )
        .replace(",\n);\nCREATE TABLE METADATA", "\n);\nCREATE TABLE METADATA")
    )
    path = tmp_path / "multiplied.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(unique_free)
        connection.executemany(
            "INSERT INTO PACKAGE_OBJECT VALUES (?, ?, 1)", [(n, n) for n in range(300)]
        )
        connection.executemany(
            "INSERT INTO METADATA (metadata_id, object_id, key_hash, path, file_name, "
            "extension, bytes, crc32, md5, sha1, sha256) "
            "VALUES (?, 1, 'k', '/x', 'x', '', 1, '0', ?, ?, ?)",
            [(n, MD5[0], SHA1[0], SHA256[0]) for n in range(300)],
        )
    connection.close()
    assert path.stat().st_size < 200_000
    for reader in (read, as_records):
        with pytest.raises(UsageError, match="more rows than a file of its size holds"):
            reader(path)


def test_work_beyond_the_budget_is_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The VM-step budget, made tiny: a published set's scan is interrupted, cleanly."""
    monkeypatch.setattr(nsrl, "_STEPS_PER_BYTE", 0)
    monkeypatch.setattr(nsrl, "_WORK_FLOOR", 0)
    monkeypatch.setattr(nsrl, "_STEPS_PER_CHECK", 10)
    path = tmp_path / "RDS.db"
    write_rds3(path, [(SHA256[n], SHA1[n], MD5[n], "f", "", 1, 1) for n in range(8)])
    for reader in (read, as_records):
        with pytest.raises(UsageError, match="more work than a file of its size needs"):
            reader(path)
