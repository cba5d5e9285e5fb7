"""The stored video comparisons of a case, and the stored frames of one video."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select, true

from cairn.core.errors import NotFoundError
from cairn.core.records import FrameHash
from cairn.services.access import agency_media, usable_by_agency
from cairn.services.cases import get_case
from cairn.services.context import Context
from cairn.store.models import Evidence, HashSet, KnownHash, Occurrence
from cairn.store.video_models import Video, VideoFrame, VideoMatch


@dataclass(frozen=True)
class VideoMatchInfo:
    media_sha256: str
    paths: tuple[str, ...]  # "evidence:path" of every occurrence in the case
    compared: str  # a known video "hashset:media id" or a workspace video's SHA-256
    known: bool  # compared with a known video (a hash set), not a workspace video
    verdict: str
    query_share: float
    compared_share: float
    query_frames: int
    compared_frames: int
    distance: int
    aligned_frames: int  # query frames counted for lying on the offset line, not within 31
    offset_seconds: float | None  # compared time = query time + offset


def video_matches(ctx: Context, case_ref: str) -> list[VideoMatchInfo]:
    """The video comparisons stored for the case's videos, best shares first."""
    with ctx.db.session() as session:
        case = get_case(session, case_ref)
        case_id = case.id
        places: dict[str, list[str]] = {}
        for sha, label, path in session.execute(
            select(Occurrence.media_sha256, Evidence.label, Occurrence.path)
            .join(Evidence, Evidence.id == Occurrence.evidence_id)
            .join(Video, Video.sha256 == Occurrence.media_sha256)
            .where(Evidence.case_id == case_id)
            .order_by(Evidence.label, Occurrence.path)
        ):
            if sha is not None:  # always: joined with videos
                name = path.decode("utf-8", "backslashreplace")
                places.setdefault(sha, []).append(f"{label}:{name}")
        rows = session.execute(
            select(VideoMatch, HashSet.name, KnownHash.media_id)
            .outerjoin(HashSet, HashSet.id == VideoMatch.hashset_id)
            .outerjoin(KnownHash, KnownHash.id == VideoMatch.known_hash_id)
            .where(VideoMatch.media_sha256.in_(list(places)), _shown_to(case.agency_id))
        ).all()
        result = [
            VideoMatchInfo(
                m.media_sha256,
                tuple(places[m.media_sha256]),
                f"{name}:{media_id}" if name is not None else m.other_sha256 or "",
                name is not None,
                m.verdict,
                m.query_matched / m.query_frames if m.query_frames else 0.0,
                m.compared_matched / m.compared_frames if m.compared_frames else 0.0,
                m.query_frames,
                m.compared_frames,
                m.distance,
                m.aligned_frames,
                m.offset_seconds,
            )
            for m, name, media_id in rows
        ]
    result.sort(key=lambda r: (-max(r.query_share, r.compared_share), r.media_sha256, r.compared))
    return result


def _shown_to(agency_id: int | None) -> ColumnElement[bool]:
    """Comparisons a case of `agency_id` may list: hits on the sets it may use, links to the
    videos of its own cases. A video is stored once for every case that holds it, so the
    comparisons another agency's cases made with it are there too, and stay hidden."""
    if agency_id is None:
        return true()
    return or_(
        VideoMatch.hashset_id.in_(select(HashSet.id).where(usable_by_agency(agency_id))),
        VideoMatch.other_sha256.in_(agency_media(agency_id)),
    )


def video_frames(ctx: Context, sha256: str) -> list[FrameHash]:
    """The stored vPDQ frames of one video, in time order."""
    with ctx.db.session() as session:
        if session.get(Video, sha256) is None:
            raise NotFoundError(f"no video {sha256}")
        rows = session.execute(
            select(
                VideoFrame.frame_number, VideoFrame.quality, VideoFrame.pdq, VideoFrame.timestamp
            )
            .where(VideoFrame.media_sha256 == sha256)
            .order_by(VideoFrame.seq)
        )
        return [FrameHash(*row) for row in rows]
