"""NSRL sets stored as known-file sets (no row per entry), matched, triaged, exported, removed,
on SQLite and on a real PostgreSQL (`db_ctx`, tests/conftest.py). Every file here is
benign text made by the test."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cairn.core.errors import UsageError
from cairn.core.types import Category, CategoryScheme
from cairn.hashing.digests import digest_bytes
from cairn.hashsets.base import KnownHashRecord, ReadOptions, example_hashes
from cairn.hashsets.nsrl import RDS2_HEADER, Rds3Row, write_rds3
from cairn.hashsets.vics.reader import VicsFormat
from cairn.hashsets.vics.writer import write_media_set
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.export import write_csv
from cairn.services.hashsets import export_hashset, import_hashset, list_hashsets, remove_hashset
from cairn.services.ingest import ingest
from cairn.services.matching import match_case
from cairn.store.models import HashSet, KnownHash, Match

VICS_1 = Category(CategoryScheme.VICS, "1")
DEVICE = {
    "setup.exe": b"a benign installer\n",
    "docs/caf\xe9.txt": b"a benign text with an accent\n",
    "both.bin": b"listed by NSRL and by an illegal set (benign bytes)\n",
    "other.txt": b"known to no set\n",
}
FILLER = 40  # NSRL entries no device file has


def _nsrl_rows() -> list[Rds3Row]:
    """The RDSv3 rows: filler, then the device's files (upper-case hex, as NSRL publishes)."""
    rows: list[Rds3Row] = []
    for n in range(FILLER):
        md5, sha1, sha256 = example_hashes(n)
        rows.append((sha256.upper(), sha1.upper(), md5.upper(), f"lib{n}", "dll", n, 7))
    for position, (path, package) in enumerate(
        (("setup.exe", 103), ("docs/caf\xe9.txt", 104), ("both.bin", 103))
    ):
        d = digest_bytes(DEVICE[path])
        stem, _, extension = path.rsplit("/", 1)[-1].partition(".")
        rows.insert(10 * position + 5, (d.sha256, d.sha1, d.md5, stem, extension, d.size, package))
    return rows


@pytest.fixture
def nsrl_ctx(db_ctx: Context, tmp_path: Path) -> Context:
    """A case whose one device holds DEVICE, on SQLite, then on PostgreSQL."""
    ctx = db_ctx
    device = tmp_path / "device"
    for path, data in DEVICE.items():
        (device / path).parent.mkdir(parents=True, exist_ok=True)
        (device / path).write_bytes(data)
    create_case(ctx, "C-1", "test")
    ingest(ctx, "C-1", device, workers=0)
    return ctx


def _illegal_set(tmp_path: Path) -> Path:
    path = tmp_path / "known.json"
    with path.open("w") as out:
        write_media_set(
            [KnownHashRecord(md5=digest_bytes(DEVICE["both.bin"]).md5, category=VICS_1)], out
        )
    return path


def _triage(ctx: Context) -> dict[str, tuple[str, str, str]]:
    out = io.StringIO()
    with ctx.db.session() as session:
        write_csv(session, 1, out)
    lines = out.getvalue().splitlines()
    header = lines[0].split(",")
    rows = (dict(zip(header, line.split(","), strict=True)) for line in lines[1:])
    return {row["path"]: (row["triage"], row["hashset"], row["category"]) for row in rows}


def _count(ctx: Context, table: type[KnownHash] | type[Match]) -> int:
    with ctx.db.session() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def test_nsrl_set_matches_triages_exports_and_is_removed(nsrl_ctx: Context, tmp_path: Path) -> None:
    ctx = nsrl_ctx
    rows = _nsrl_rows()
    source = tmp_path / "RDS_2026.03.1_modern.db"
    write_rds3(source, rows)
    summary = import_hashset(ctx, source, "nsrl", kind="ignorable")
    assert (summary.format, summary.records, summary.bad_records) == ("nsrl", len(rows), 0)
    # No row per entry: only the last entry, which reserves the set's id range.
    with ctx.db.session() as session:
        nsrl_id = session.scalar(select(HashSet.id).where(HashSet.name == "nsrl"))
        reserved = session.execute(select(KnownHash.id, KnownHash.md5)).all()
    assert reserved == [(len(rows), rows[-1][2].lower())]
    illegal = import_hashset(ctx, _illegal_set(tmp_path), "known-vics")
    assert (illegal.records, illegal.conflicts) == (1, 0)
    with ctx.db.session() as session:  # ids of later sets come after the reserved range
        assert session.scalar(select(func.max(KnownHash.id))) == len(rows) + 1

    first = match_case(ctx, "C-1")
    # NSRL entries with a SHA-256 match by it (known_files' docstring); both.bin by the VICS MD5
    # too.
    assert first.new_matches == 4
    assert _triage(ctx) == {
        "setup.exe": ("known-ignorable", "nsrl", ""),
        "docs/caf\xe9.txt": ("known-ignorable", "nsrl", ""),
        "both.bin": ("known", "known-vics", "vics:1"),  # an illegal hit always wins
        "other.txt": ("new", "", ""),
    }
    setup = digest_bytes(DEVICE["setup.exe"])
    with ctx.db.session() as session:
        row = session.scalars(select(KnownHash).where(KnownHash.sha256 == setup.sha256)).one()
        methods = session.scalars(
            select(Match.method).where(Match.known_hash_id == row.id).order_by(Match.method)
        ).all()
        accent = session.scalars(
            select(KnownHash.file_name).where(KnownHash.md5 == rows[15][2])
        ).one()
    assert (row.id, row.hashset_id, row.md5, row.sha1) == (6, nsrl_id, setup.md5, setup.sha1)
    assert (row.file_name, row.size, row.details) == (
        "setup.exe",
        len(DEVICE["setup.exe"]),
        {"extra": {"package_id": "103"}},
    )
    assert row.category_scheme is None
    assert methods == ["sha256"]
    assert accent == "caf\xe9.txt"
    assert _count(ctx, KnownHash) == 5  # the reserved one, three matched NSRL entries, VICS

    again = match_case(ctx, "C-1")  # idempotent: nothing new, no second row
    assert again.new_matches == 0
    assert (_count(ctx, KnownHash), _count(ctx, Match)) == (5, 4)

    exported = tmp_path / "nsrl-export.json"
    with exported.open("w") as out:
        assert export_hashset(ctx, "nsrl", out) == len(rows)
    back = list(VicsFormat.read(exported, ReadOptions()))
    assert back == [
        KnownHashRecord(
            md5=md5.lower(),
            sha1=sha1.lower(),
            sha256=sha256.lower(),
            size=size,
            category=Category(CategoryScheme.VICS, None),  # VICS spells "none given" null
        )
        for sha256, sha1, md5, _name, _ext, size, _package in rows
    ]
    assert import_hashset(ctx, exported, "nsrl-again", kind="ignorable").records == len(rows)
    remove_hashset(ctx, "nsrl-again")

    remove_hashset(ctx, "nsrl")
    assert not (ctx.workspace.root / "indexes" / "sets" / str(nsrl_id)).exists()
    # Matches stay on record, with their rows (and the 43 rows of the removed VICS copy).
    assert (_count(ctx, KnownHash), _count(ctx, Match)) == (5 + len(rows), 4)
    with ctx.db.session() as session:
        kept = session.scalar(select(func.count()).where(Match.hashset_id == nsrl_id))
    assert kept == 3
    assert _triage(ctx)["setup.exe"] == ("new", "", "")  # a removed set no longer triages
    assert match_case(ctx, "C-1").new_matches == 0
    assert [h.name for h in list_hashsets(ctx)] == ["known-vics"]


def test_rds2_text_matches_by_md5_and_sha1(nsrl_ctx: Context, tmp_path: Path) -> None:
    ctx = nsrl_ctx
    setup = digest_bytes(DEVICE["setup.exe"])
    filler = [example_hashes(n) for n in range(3)]
    lines = [",".join(f'"{name}"' for name in RDS2_HEADER)]
    lines += [
        f'"{sha1}","{md5}","0","x{n}.dll",{n},1,"358",""' for n, (md5, sha1, _) in enumerate(filler)
    ]
    lines.append(f'"{filler[0][1]}","{"z" * 32}","0","bad.dll",1,1,"358",""')
    lines.append(
        f'"{setup.sha1.upper()}","{setup.md5.upper()}","0","SETUP.EXE",{setup.size},9,"358","M"'
    )
    source = tmp_path / "NSRLFile.txt"
    source.write_text("\r\n".join(lines) + "\r\n")
    summary = import_hashset(ctx, source, "nsrl2", kind="ignorable")
    assert (summary.records, summary.bad_records) == (4, 1)
    assert summary.errors == [
        f"record 4 (line 5): MD5 '{'z' * 32}' has characters that are not hexadecimal"
    ]
    assert match_case(ctx, "C-1").new_matches == 2  # md5 and sha1: RDSv2 has no SHA-256
    assert _triage(ctx)["setup.exe"] == ("known-ignorable", "nsrl2", "")
    with ctx.db.session() as session:
        row = session.scalars(select(KnownHash).where(KnownHash.md5 == setup.md5)).one()
    assert (row.sha256, row.file_name, row.size) == (None, "SETUP.EXE", setup.size)
    assert row.details == {"extra": {"ProductCode": "9", "OpSystemCode": "358", "SpecialCode": "M"}}


def test_a_file_that_is_not_rds_is_refused_and_leaves_nothing(
    nsrl_ctx: Context, tmp_path: Path
) -> None:
    ctx = nsrl_ctx
    path = tmp_path / "msgstore.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE message (_id INTEGER PRIMARY KEY, text_data TEXT)")
    connection.close()
    with pytest.raises(UsageError) as caught:
        import_hashset(ctx, path, "x", fmt="nsrl", kind="ignorable")
    assert str(caught.value) == (
        "msgstore.db is an SQLite database but not an NSRL RDSv3 set: it has no FILE table or view"
    )
    text = tmp_path / "hashes.txt"
    text.write_text("d41d8cd98f00b204e9800998ecf8427e  empty\n")
    with pytest.raises(UsageError, match="neither an SQLite database nor an NSRL RDSv2 file"):
        import_hashset(ctx, text, "y", fmt="nsrl")
    assert list_hashsets(ctx, include_removed=True) == []
    assert list((ctx.workspace.root / "indexes" / "sets").iterdir()) == []  # no staging left
