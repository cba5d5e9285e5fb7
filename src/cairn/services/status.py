"""Per-evidence accounting: enumerated = hashed + errored + non-regular (docs/architecture.md)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case as when
from sqlalchemy import func, select

from cairn.core.types import EntryKind, Flag
from cairn.services.cases import get_case
from cairn.services.context import Context
from cairn.store.alert_models import Alert
from cairn.store.models import Evidence, HashSet, IngestError, Occurrence, ProcessingRun
from cairn.store.video_models import Video

NON_REGULAR = [kind.value for kind in EntryKind if kind.is_non_regular]


@dataclass(frozen=True)
class EvidenceStatus:
    label: str
    source_kind: str
    enumerated: int
    hashed: int
    errored: int  # could not be read, so no digests
    non_regular: int
    with_errors: int  # entries with any recorded error (also those hashed but not decoded)
    unique_media: int
    bytes_hashed: int
    last_run: str | None  # status of the latest ingest run
    # Read on the guess that a deleted file's clusters were contiguous: digests not certain.
    assumed_contiguous: int


def case_status(ctx: Context, case_ref: str) -> list[EvidenceStatus]:
    with ctx.db.session() as session:
        case = get_case(session, case_ref)
        hashed = func.count(Occurrence.media_sha256)
        non_regular = func.sum(when((Occurrence.kind.in_(NON_REGULAR), 1), else_=0))
        guessed = func.sum(
            when((Occurrence.flags.contains(Flag.ASSUMED_CONTIGUOUS.value), 1), else_=0)
        )
        rows = session.execute(
            select(
                Evidence.id,
                Evidence.label,
                Evidence.source_kind,
                func.count(Occurrence.id),
                hashed,
                func.coalesce(non_regular, 0),
                func.coalesce(guessed, 0),
                func.count(func.distinct(Occurrence.media_sha256)),
                func.coalesce(
                    func.sum(
                        when((Occurrence.media_sha256.is_not(None), Occurrence.size), else_=0)
                    ),
                    0,
                ),
            )
            .outerjoin(Occurrence, Occurrence.evidence_id == Evidence.id)
            .where(Evidence.case_id == case.id)
            .group_by(Evidence.id, Evidence.label, Evidence.source_kind)
            .order_by(Evidence.id)
        ).all()
        result = []
        for ev_id, label, kind, enumerated, n_hashed, n_other, n_guessed, unique, nbytes in rows:
            with_errors = session.scalar(
                select(func.count(func.distinct(IngestError.occurrence_id))).where(
                    IngestError.evidence_id == ev_id
                )
            )
            last_run = session.scalar(
                select(ProcessingRun.status)
                .where(ProcessingRun.evidence_id == ev_id, ProcessingRun.command == "ingest")
                .order_by(ProcessingRun.id.desc())
                .limit(1)
            )
            result.append(
                EvidenceStatus(
                    label=label,
                    source_kind=kind,
                    enumerated=enumerated,
                    hashed=n_hashed,
                    errored=enumerated - n_hashed - int(n_other),
                    non_regular=int(n_other),
                    with_errors=with_errors or 0,
                    unique_media=unique,
                    bytes_hashed=int(nbytes),
                    last_run=last_run,
                    assumed_contiguous=int(n_guessed),
                )
            )
        return result


def matching_due(ctx: Context, case_ref: str) -> bool:
    """Whether matching has anything to do for the case: a hash set to match against, an
    alert to check, or a video (or animation) to compare with the workspace's other videos.

    Cheap on purpose, and in this light module: every ingest asks it, and importing the
    matching services (numba, the indexes) costs more than many a small ingest."""
    with ctx.db.session() as session:
        if session.scalar(select(HashSet.id).where(HashSet.removed_at.is_(None)).limit(1)):
            return True
        if session.scalar(select(Alert.id).where(Alert.removed_at.is_(None)).limit(1)):
            return True  # alerts are checked when a case is matched
        case_id = get_case(session, case_ref).id
        video = session.scalar(
            select(Occurrence.id)
            .join(Evidence, Evidence.id == Occurrence.evidence_id)
            .join(Video, Video.sha256 == Occurrence.media_sha256)
            .where(Evidence.case_id == case_id)
            .limit(1)
        )
    return video is not None
