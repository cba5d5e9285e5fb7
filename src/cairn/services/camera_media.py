"""The pixels camera forensics needs again after ingest: an item's bytes (for fingerprints)
and an image's stored noise residual, computed on first need by analysing its unit of the
evidence again with residuals on (docs/camera.md)."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.core.settings import AnalysisSettings
from cairn.evidence.analysis import open_readonly
from cairn.evidence.base import Unit
from cairn.evidence.registry import open_source
from cairn.store.camera_models import PrnuResidual
from cairn.store.models import Evidence, Occurrence
from cairn.store.writer import insert_ignoring_duplicates, residual_row

MAX_ITEM_BYTES = 512 << 20  # as AnalysisSettings.max_buffer_bytes: larger is no photograph


class Unreadable(Exception):
    """An item whose bytes cannot be read again; the message is the recorded reason."""


@dataclass(frozen=True)
class Residual:
    data: bytes | None
    reason: str | None


def read_item(session: Session, case_id: int, sha256: str) -> tuple[str, bytes]:
    """The bytes of an item of the case, read again from a folder or single-file source, and
    the place they were read from ("evidence:path"). Members of containers and files inside
    disk images are not read back (Unreadable: export them and use a folder)."""
    rows = session.execute(
        select(Evidence, Occurrence.path, Occurrence.depth)
        .join(Occurrence, Occurrence.evidence_id == Evidence.id)
        .where(Evidence.case_id == case_id, Occurrence.media_sha256 == sha256)
        .order_by(Evidence.label, Occurrence.path)
    ).all()
    if not rows:
        raise Unreadable("not an item of the case")
    for evidence, path, depth in rows:
        root = Path(evidence.source_path)
        if depth != 0 or evidence.source_kind not in ("directory", "file", "android"):
            continue
        place = f"{evidence.label}:{path.decode('utf-8', 'backslashreplace')}"
        try:
            data = _read(root, path if root.is_dir() else None)
        except OSError as exc:
            raise Unreadable(f"{place}: {exc.strerror or exc}") from None
        if data is not None:
            return place, data
    raise Unreadable("inside a container or disk image: export it and use --folder")


def _read(root: Path, relative: bytes | None) -> bytes | None:
    if relative is None:
        fd = open_readonly(os.fsencode(root))
    else:
        folder = open_readonly(os.fsencode(root))
        try:
            fd = open_readonly(relative, folder)
        finally:
            os.close(folder)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_ITEM_BYTES + 1)
    return data if len(data) <= MAX_ITEM_BYTES else None


def residuals(session: Session, case_id: int, sha256s: Collection[str]) -> dict[str, Residual]:
    """The stored residual of each image, computing (and storing) those not stored yet."""
    wanted = set(sha256s)
    found = _stored(session, wanted)
    missing = wanted - set(found)
    if missing:
        computed, unavailable = _compute(session, case_id, missing)
        if computed:
            session.execute(
                insert_ignoring_duplicates(session.get_bind(), PrnuResidual, "media_sha256"),  # type: ignore[arg-type]
                list(computed.values()),
            )
        found |= _stored(session, missing)
        found |= {sha: Residual(None, reason) for sha, reason in unavailable.items()}
        for sha in missing - set(found):
            found[sha] = Residual(None, "not found again in its source")
    return found


def _stored(session: Session, sha256s: Collection[str]) -> dict[str, Residual]:
    found: dict[str, Residual] = {}
    items = sorted(sha256s)
    for start in range(0, len(items), 500):
        query = select(PrnuResidual.media_sha256, PrnuResidual.data, PrnuResidual.reason).where(
            PrnuResidual.media_sha256.in_(items[start : start + 500])
        )
        for sha, data, reason in session.execute(query):
            found[sha] = Residual(data, reason)
    return found


def _compute(
    session: Session, case_id: int, missing: set[str]
) -> tuple[dict[str, dict[str, object]], dict[str, str]]:
    """Analyse again, residuals on, the units of the case's evidence that hold the images:
    the rows to store, and the images whose source cannot be read now (not stored: it may
    come back)."""
    places: dict[int, set[bytes]] = defaultdict(set)
    rows = session.execute(
        select(Occurrence.evidence_id, Occurrence.path, Occurrence.media_sha256)
        .join(Evidence, Evidence.id == Occurrence.evidence_id)
        .where(Evidence.case_id == case_id, Occurrence.media_sha256.in_(sorted(missing)))
    )
    for evidence_id, path, _ in rows:
        places[evidence_id].update({path, path.split(b"!", 1)[0]})  # the unit: its top entry
    settings = AnalysisSettings(prnu=True, thumbnails=False)
    computed: dict[str, dict[str, object]] = {}
    unavailable: dict[str, str] = {}
    for evidence_id, paths in sorted(places.items()):
        evidence = session.get(Evidence, evidence_id)
        assert evidence is not None
        try:
            source = open_source(Path(evidence.source_path), evidence.source_kind)
            units = [u for u in source.units() if isinstance(u, Unit) and u.path in paths]
        except Exception as exc:  # a source moved away or damaged since ingest
            reason = f"source {evidence.label} not readable again: {exc}"
            unavailable |= dict.fromkeys(_held(session, evidence_id, missing), reason)
            continue
        for unit in units:
            for entry in source.process(unit, settings).entries:
                image = entry.content.image if entry.content else None
                if entry.content is None or image is None or image.prnu is None:
                    continue
                sha = entry.content.digests.sha256
                if sha in missing:
                    computed.setdefault(sha, residual_row(sha, image))
    return computed, {sha: r for sha, r in unavailable.items() if sha not in computed}


def _held(session: Session, evidence_id: int, sha256s: set[str]) -> list[str]:
    query = select(Occurrence.media_sha256).where(
        Occurrence.evidence_id == evidence_id, Occurrence.media_sha256.in_(sorted(sha256s))
    )
    return sorted({sha for sha in session.scalars(query) if sha is not None})
