"""What an ingest of a disk image stored, read back for the tests' assertions."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from tests.evidence.diskimage.builders import (
    CASE,
)

from cairn.core.errors import UsageError
from cairn.core.records import EntryRecord, UnitResult
from cairn.core.settings import AnalysisSettings
from cairn.evidence.base import Unit
from cairn.evidence.diskimage.source import DiskImageSource
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.ingest import IngestSummary, ingest
from cairn.store.models import Evidence, IngestError, Occurrence


@dataclass(frozen=True)
class Row:
    kind: str
    sha256: str | None
    deleted: bool
    unallocated: bool
    offset: int | None
    errors: tuple[tuple[str, str], ...]
    flags: str = ""


def stored(ctx: Context, label: str) -> dict[bytes, list[Row]]:
    with ctx.db.session() as session:
        evidence = session.scalar(select(Evidence).where(Evidence.label == label))
        assert evidence is not None
        errors: dict[int, list[tuple[str, str]]] = {}
        for occurrence_id, stage, message in session.execute(
            select(IngestError.occurrence_id, IngestError.stage, IngestError.message)
            .where(IngestError.evidence_id == evidence.id)
            .order_by(IngestError.id)
        ):
            errors.setdefault(occurrence_id, []).append((stage, message))
        rows: dict[bytes, list[Row]] = {}
        for o in session.scalars(
            select(Occurrence).where(Occurrence.evidence_id == evidence.id).order_by(Occurrence.id)
        ):
            rows.setdefault(o.path, []).append(
                Row(
                    o.kind, o.media_sha256, o.deleted, o.unallocated, o.offset,
                    tuple(errors.get(o.id, ())), o.flags,
                )
            )  # fmt: skip
        return rows


def one(rows: dict[bytes, list[Row]], path: bytes) -> Row:
    (row,) = rows[path]
    return row


def hashed(rows: dict[bytes, list[Row]], prefix: bytes = b"") -> dict[bytes, tuple[str, bool]]:
    """Path -> (sha256, deleted) of the file occurrences, without NTFS metadata files."""
    return {
        path[len(prefix) :]: (row.sha256, row.deleted)
        for path, found in rows.items()
        for row in found
        if row.kind == "file" and path.startswith(prefix) and b"$" not in path and row.sha256
    }


def run_ingest(
    ctx: Context, source: Path, workers: int = 0, kind: str | None = None, **settings: object
) -> IngestSummary:
    with contextlib.suppress(UsageError):  # the case exists after a first ingest in a test
        create_case(ctx, CASE)
    return ingest(
        ctx, CASE, source, workers=workers, source_kind=kind,
        settings=AnalysisSettings(thumbnails=False, **settings),  # type: ignore[arg-type]
    )  # fmt: skip


def entries(source: DiskImageSource, settings: AnalysisSettings) -> Iterator[EntryRecord]:
    """Every record the source yields, processing units in this process."""
    for item in source.units():
        if isinstance(item, Unit):
            result = source.process(item, settings)
            assert isinstance(result, UnitResult)
            yield from result.entries
        else:
            yield item
