"""Known videos imported as a hash set: one vPDQ file per video (format "vpdq")."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from cairn.core.errors import UsageError
from cairn.core.records import FrameHash
from cairn.core.thresholds import PDQ_MATCH_DISTANCE
from cairn.core.types import Category
from cairn.hashing.vpdq import parse_vpdq
from cairn.services.context import Context
from cairn.store import audit
from cairn.store.models import HashSet, KnownHash
from cairn.store.video_models import KnownVideoFrame

KINDS = ("illegal", "ignorable", "alert")
INSERT_BATCH = 20_000
MAX_ERRORS_KEPT = 100
VPDQ_SUFFIXES = (".txt", ".vpdq")


@dataclass
class VpdqImportSummary:
    name: str
    kind: str
    source_sha256: str
    videos: int = 0
    frames: int = 0
    bad_records: int = 0  # lines that are not frames, files without frames
    errors: list[str] = field(default_factory=list)  # the first MAX_ERRORS_KEPT


def vpdq_files(paths: Sequence[Path]) -> list[Path]:
    """The vPDQ files named: files as given, folders searched for *.txt and *.vpdq."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in VPDQ_SUFFIXES)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    if not found:
        raise UsageError("no vPDQ files found")
    return found


def import_vpdq_hashset(
    ctx: Context,
    paths: Sequence[Path],
    name: str,
    *,
    kind: str = "illegal",
    category: Category | None = None,
    series: Sequence[str] = (),
    pdq_threshold: int = PDQ_MATCH_DISTANCE,
) -> VpdqImportSummary:
    """Import known videos, one vPDQ file each, as one hash set (format "vpdq").

    Each file becomes a known_hashes row (no digests, its name as file name and media id) and
    its lines known_video_frames rows. The set's SHA-256 is the file's, or for several files
    that of a manifest: one "sha256  name" line per file, sorted by name.
    """
    if kind not in KINDS:
        raise UsageError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not 0 <= pdq_threshold <= 128:
        raise UsageError("--pdq-threshold must be between 0 and 128")
    files = vpdq_files(paths)
    contents = {path: path.read_bytes() for path in files}
    summary = VpdqImportSummary(name, kind, _source_sha256(contents))
    with ctx.db.engine.begin() as connection:
        if connection.scalar(select(HashSet.id).where(HashSet.name == name)) is not None:
            raise UsageError(f"a hash set named {name!r} exists; remove it or choose another name")
        source = files[0] if len(files) == 1 else Path(paths[0])
        hashset_id = connection.execute(
            insert(HashSet).returning(HashSet.id),
            {
                "name": name,
                "kind": kind,
                "format": "vpdq",
                "source_file": str(source.resolve()),
                "source_sha256": summary.source_sha256,
                "source_date": datetime.fromtimestamp(source.stat().st_mtime, UTC),
                "pdq_threshold": pdq_threshold,
                "imported_at": datetime.now(UTC),
                "imported_by": ctx.actor.user,
            },
        ).scalar_one()
        next_id = (connection.scalar(select(func.max(KnownHash.id))) or 0) + 1
        known_rows: list[dict[str, Any]] = []
        frame_rows: list[dict[str, Any]] = []
        for path, data in contents.items():
            frames = _read_file(path, data, summary)
            if not frames:
                continue
            known_rows.append(_known_row(next_id, hashset_id, path, frames, category, series))
            frame_rows.extend(_frame_row(next_id, seq, f) for seq, f in enumerate(frames))
            summary.videos += 1
            summary.frames += len(frames)
            next_id += 1
        for start in range(0, len(known_rows), INSERT_BATCH):
            connection.execute(insert(KnownHash), known_rows[start : start + INSERT_BATCH])
        for start in range(0, len(frame_rows), INSERT_BATCH):
            connection.execute(insert(KnownVideoFrame), frame_rows[start : start + INSERT_BATCH])
        connection.execute(
            update(HashSet)
            .where(HashSet.id == hashset_id)
            .values(entries=summary.videos, bad_records=summary.bad_records)
        )
        with Session(bind=connection) as session:
            audit.record(
                session,
                ctx.actor,
                "hashset.import",
                None,
                name=name,
                kind=kind,
                format="vpdq",
                files=len(files),
                sha256=summary.source_sha256,
                videos=summary.videos,
                frames=summary.frames,
                bad_records=summary.bad_records,
            )
            session.flush()
    return summary


def _source_sha256(contents: Mapping[Path, bytes]) -> str:
    if len(contents) == 1:
        return hashlib.sha256(next(iter(contents.values()))).hexdigest()
    manifest = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {path.name}\n"
        for path, data in sorted(contents.items(), key=lambda item: item[0].name)
    )
    return hashlib.sha256(manifest.encode()).hexdigest()


def _read_file(path: Path, data: bytes, summary: VpdqImportSummary) -> list[FrameHash]:
    def error(message: str) -> None:
        summary.bad_records += 1
        if len(summary.errors) < MAX_ERRORS_KEPT:
            summary.errors.append(f"{path.name}: {message}")

    try:
        frames, errors = parse_vpdq(data.decode("utf-8"))
    except UnicodeDecodeError:
        error("not a vPDQ text file")
        return []
    for message in errors:
        error(message)
    if not frames:
        error("no frames")
    return frames


def _known_row(
    known_id: int,
    hashset_id: int,
    path: Path,
    frames: Sequence[FrameHash],
    category: Category | None,
    series: Sequence[str],
) -> dict[str, Any]:
    return {
        "id": known_id,
        "hashset_id": hashset_id,
        "category_scheme": category.scheme.value if category else None,
        "category_code": category.code if category else None,
        "series": ",".join(series) or None,
        "media_id": path.stem,
        "file_name": path.name,
        "details": {"frames": len(frames), "duration": max(f.timestamp for f in frames)},
    }


def _frame_row(known_id: int, seq: int, frame: FrameHash) -> dict[str, Any]:
    return {
        "known_hash_id": known_id,
        "seq": seq,
        "frame_number": frame.frame_number,
        "quality": frame.quality,
        "pdq": frame.pdq,
        "timestamp": frame.timestamp,
    }
