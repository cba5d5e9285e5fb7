"""The store on SQLite and PostgreSQL: migrations, the writer, the audit chain, ingest."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from cairn.core.config import Actor, Workspace
from cairn.core.records import ContentRecord, EntryRecord, ErrorRecord, FileTimes, UnitResult
from cairn.core.types import EntryKind, Flag
from cairn.hashing.digests import digest_bytes
from cairn.services.cases import add_evidence, create_case, find_evidence, get_case
from cairn.services.context import Context
from cairn.store import audit
from cairn.store.database import (
    HEAD_REVISION,
    current_revision,
    make_engine,
    open_database,
    upgrade,
)
from cairn.store.models import AuditEvent, IngestError, Media, Occurrence
from cairn.store.schema import metadata
from cairn.store.writer import IngestWriter

ACTOR = Actor(user="examiner", host="lab-1")


def test_migrations_match_the_models(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(database_url)
    with engine.begin() as connection:
        upgrade(connection)  # every migration, as an old store is upgraded
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
        assert current_revision(connection) == HEAD_REVISION
    engine.dispose()
    assert diff == []


def test_a_new_store_is_made_from_the_models_at_the_newest_revision(database_url: str) -> None:
    """Without Alembic: the models' schema (equal to the migrations', above), stamped so that
    later migrations apply to it; opening it again changes nothing."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    for _ in range(2):
        db = open_database(database_url)
        with db.engine.connect() as connection:
            assert current_revision(connection) == HEAD_REVISION
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
        db.dispose()


def test_a_new_store_does_not_load_alembic(tmp_path: Path) -> None:
    """What the shortcut is for: a new workspace's first command skips Alembic entirely."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    code = (
        "import sys; from cairn.store.database import open_database; "
        f"open_database({url!r}); print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "False\n"


def test_head_revision_constant_is_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from cairn.store.database import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD_REVISION]


def _setup(database_url: str, tmp_path: Path) -> tuple[Context, int]:
    db = open_database(database_url)
    ctx = Context(Workspace(tmp_path, database_url), db, ACTOR)
    source = tmp_path / "device"
    source.mkdir(exist_ok=True)
    create_case(ctx, "C-1", "test")
    evidence, created = add_evidence(ctx, "C-1", source)
    assert created
    with db.session() as session:
        return ctx, find_evidence(session, get_case(session, "C-1"), evidence.label).id


def _entry(
    path: bytes, data: bytes, *, depth: int = 0, errors: tuple[ErrorRecord, ...] = ()
) -> EntryRecord:
    return EntryRecord(
        path=path,
        kind=EntryKind.FILE if depth == 0 else EntryKind.MEMBER,
        depth=depth,
        size=len(data),
        times=FileTimes(mtime=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        flags=frozenset({Flag.EXTENSION_MISMATCH}) if path.endswith(b".dat") else frozenset(),
        content=ContentRecord(digest_bytes(data), "text/plain"),
        errors=errors,
    )


def test_writer_stores_units_dedupes_media_and_links_errors(
    database_url: str, tmp_path: Path
) -> None:
    ctx, evidence_id = _setup(database_url, tmp_path)
    writer = IngestWriter(ctx.db.engine, evidence_id, run_id=None, batch_entries=2)
    latin1 = "caf\u00e9.txt".encode("latin-1")  # not UTF-8: must survive byte for byte
    writer.add(UnitResult(b"a.txt", (_entry(b"a.txt", b"same"),)))
    writer.add(
        UnitResult(latin1, (_entry(latin1, b"same", errors=(ErrorRecord("decode", "bad"),)),))
    )
    writer.add(
        UnitResult(
            b"z.zip",
            (
                _entry(b"z.zip", b"zip bytes"),
                _entry(
                    b"z.zip!x.dat",
                    b"member",
                    depth=1,
                    errors=(ErrorRecord("limit", "cap"), ErrorRecord("decode", "x")),
                ),
            ),
        )
    )
    writer.add(EntryRecord(path=b"link", kind=EntryKind.SYMLINK))
    writer.flush()
    assert writer.counts == {
        "enumerated": 5,
        "hashed": 4,
        "non_regular": 1,
        "bytes": 4 + 4 + 9 + 6,
        "with_errors": 2,
    }
    with ctx.db.session() as session:
        assert (
            session.scalar(select(Media.sha256).where(Media.size == 4))
            == digest_bytes(b"same").sha256
        )
        assert len(session.scalars(select(Media)).all()) == 3
        paths = set(session.scalars(select(Occurrence.path)))
        assert paths == {b"a.txt", latin1, b"z.zip", b"z.zip!x.dat", b"link"}
        errors = session.execute(
            select(Occurrence.path, IngestError.stage)
            .join(Occurrence, Occurrence.id == IngestError.occurrence_id)
            .order_by(IngestError.id)
        ).all()
        assert errors == [(latin1, "decode"), (b"z.zip!x.dat", "limit"), (b"z.zip!x.dat", "decode")]
        member = session.scalar(select(Occurrence).where(Occurrence.path == b"z.zip!x.dat"))
        assert member is not None and member.depth == 1 and member.flags == "extension-mismatch"
    assert writer.done_units() == {b"a.txt", latin1, b"z.zip", b"link"}
    ctx.db.dispose()


def test_audit_chain_detects_edit_delete_and_reorder(database_url: str, tmp_path: Path) -> None:
    db = open_database(database_url)
    audit.keep_chain(db.engine, tmp_path, b"k" * 32)
    with db.session() as session:
        ids = [audit.record(session, ACTOR, f"action.{i}", "C-1", n=i).id for i in range(5)]
    with db.session() as session:
        assert audit.verify(session) is None
    with db.session() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == ids[2]).values(details={"n": 99}))
    with db.session() as session:
        assert audit.verify(session) == ids[2]
    with db.session() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == ids[2]).values(details={"n": 2}))
        assert audit.verify(session) is None
        victim = session.get(AuditEvent, ids[1])
        session.delete(victim)
    with db.session() as session:
        assert audit.verify(session) == ids[2]  # the event after the hole no longer links
    db.dispose()


def test_ingest_and_export_agree_across_databases(database_url: str, tmp_path: Path) -> None:
    from cairn.services.export import write_csv
    from cairn.services.ingest import ingest

    ctx, _ = _setup(database_url, tmp_path)
    source = tmp_path / "device"
    (source / "docs").mkdir()
    (source / "docs" / "a.txt").write_bytes(b"alpha")
    (source / "b.bin").write_bytes(bytes(range(256)) * 10)
    (source / "empty").write_bytes(b"")
    summary = ingest(ctx, "C-1", source, workers=0)
    assert summary.counts["hashed"] == 3 and summary.exit_code == 0
    again = ingest(ctx, "C-1", source, workers=0)
    assert again.counts == {} and again.skipped_units == 3
    out = io.StringIO()
    with ctx.db.session() as session:
        assert write_csv(session, 1, out) == 3
    lines = out.getvalue().splitlines()
    assert [line.split(",")[1] for line in lines[1:]] == ["b.bin", "docs/a.txt", "empty"]
    assert "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" in lines[3]
    ctx.db.dispose()


@pytest.mark.parametrize("ref", ["", "   "])
def test_empty_case_reference_is_a_usage_error(database_url: str, tmp_path: Path, ref: str) -> None:
    from cairn.core.errors import UsageError

    db = open_database(database_url)
    with pytest.raises(UsageError):
        create_case(Context(Workspace(tmp_path, database_url), db, ACTOR), ref)
    db.dispose()


def test_hash_sets_and_matching_on_both_databases(database_url: str, tmp_path: Path) -> None:
    """Bulk loading (executemany on SQLite, COPY on PostgreSQL), indexes, match and triage."""
    from cairn.hashing.pdq import pdq_from_image
    from cairn.media.synthetic import jpeg_bytes, synthetic_image
    from cairn.services.hashsets import import_hashset, remove_hashset
    from cairn.services.ingest import ingest
    from cairn.services.matching import match_case
    from cairn.services.triage import triage_report

    ctx, _ = _setup(database_url, tmp_path)
    photo = synthetic_image(7, 320, 240)
    (tmp_path / "device" / "a.jpg").write_bytes(jpeg_bytes(photo))
    (tmp_path / "device" / "b.txt").write_bytes(b"known file")
    known = tmp_path / "known.csv"
    known.write_text(f'pdq,category,series\n{pdq_from_image(photo).hex},vics:1,S "1"\n')
    files = tmp_path / "files.txt"
    files.write_text(f"{digest_bytes(b'known file').md5}  b.txt\n")
    assert import_hashset(ctx, known, "known").records == 1
    assert import_hashset(ctx, files, "files", kind="ignorable").records == 1
    ingest(ctx, "C-1", tmp_path / "device", workers=0)
    first = match_case(ctx, "C-1")
    assert (first.new_matches, match_case(ctx, "C-1").new_matches) == (2, 0)
    assert triage_report(ctx, "C-1").totals == {
        "known": 0,
        "near-known": 1,
        "known-ignorable": 1,
        "possible": 0,
        "new": 0,
    }
    remove_hashset(ctx, "files")
    assert triage_report(ctx, "C-1").totals["new"] == 1
    ctx.db.dispose()
