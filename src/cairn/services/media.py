"""Media as one agency sees it: metadata, where it was found, and its review thumbnail.

Media rows are content-addressed and stored once for the whole store, but a user may only see
an item that occurs in a case of their agency; for anything else the answer is the same
NotFoundError as for a hash nobody holds. Every thumbnail opened is audited.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cairn.core.errors import NotFoundError
from cairn.services.access import case_for, visible_case_ids
from cairn.services.context import Context
from cairn.services.identity import Principal
from cairn.store import audit
from cairn.store.models import Case, Evidence, Media, Occurrence, Thumbnail


@dataclass(frozen=True)
class Place:
    case_ref: str
    evidence: str
    path: str  # non-UTF-8 bytes replaced: for display; exports keep the bytes
    kind: str
    deleted: bool


@dataclass(frozen=True)
class MediaView:
    """What one agency may see of a media item: its metadata and the places it was found."""

    sha256: str
    md5: str
    sha1: str
    size: int
    mime: str | None
    width: int | None
    height: int | None
    pdq: str | None
    pdq_quality: int | None
    exif_make: str | None
    exif_model: str | None
    exif_serial: str | None
    exif_datetime_original: str | None
    gps_lat: float | None
    gps_lon: float | None
    has_thumbnail: bool
    occurrences: list[Place]  # only in the cases the agency may see


@dataclass(frozen=True)
class CaseMedia:
    sha256: str
    mime: str | None
    size: int
    occurrences: int


def _places(session: Session, cases: Any, sha256: str) -> list[Place]:
    rows = session.execute(
        select(Case.ref, Evidence.label, Occurrence.path, Occurrence.kind, Occurrence.deleted)
        .join(Evidence, Evidence.id == Occurrence.evidence_id)
        .join(Case, Case.id == Evidence.case_id)
        .where(Case.id.in_(cases), Occurrence.media_sha256 == sha256)
        .order_by(Case.ref, Evidence.label, Occurrence.id)
    )
    return [
        Place(ref, label, path.decode("utf-8", "replace"), kind, deleted)
        for ref, label, path, kind, deleted in rows
    ]


def media_view(ctx: Context, principal: Principal, sha256: str) -> MediaView:
    sha256 = sha256.lower()
    with ctx.db.session() as session:
        places = _places(session, visible_case_ids(session, principal), sha256)
        media = session.get(Media, sha256) if places else None
        if media is None:
            raise NotFoundError("no such media")
        has_thumbnail = session.get(Thumbnail, sha256) is not None
        audit.record(
            session,
            ctx.actor,
            "media.read",
            places[0].case_ref,
            sha256=sha256,
            cases=sorted({p.case_ref for p in places}),
        )
        return MediaView(
            media.sha256,
            media.md5,
            media.sha1,
            media.size,
            media.mime,
            media.width,
            media.height,
            media.pdq,
            media.pdq_quality,
            media.exif_make,
            media.exif_model,
            media.exif_serial,
            media.exif_datetime_original,
            media.gps_lat,
            media.gps_lon,
            has_thumbnail,
            places,
        )


def thumbnail_jpeg(
    ctx: Context, principal: Principal, sha256: str, action: str = "thumbnail.read"
) -> bytes:
    """The decrypted review thumbnail, audited as `action` (the review workspace names what it
    shows: a protected or a revealed view); NotFoundError when the caller may not see it,
    ThumbnailError (audited too) when the stored blob is not this item's own (moved or altered
    in the database)."""
    from cairn.media.thumbnail import ThumbnailError, load_or_create_key, open_thumbnail

    sha256 = sha256.lower()
    jpeg: bytes | None = None
    with ctx.db.session() as session:
        places = _places(session, visible_case_ids(session, principal), sha256)
        thumbnail = session.get(Thumbnail, sha256) if places else None
        if thumbnail is None:
            raise NotFoundError("no such thumbnail")
        key = load_or_create_key(ctx.workspace.key_file)
        with contextlib.suppress(ThumbnailError):
            jpeg = open_thumbnail(thumbnail.blob, key, sha256)
        audit.record(
            session,
            ctx.actor,
            action if jpeg is not None else "thumbnail.refused",
            places[0].case_ref,
            sha256=sha256,
            cases=sorted({p.case_ref for p in places}),
        )
    if jpeg is None:
        raise ThumbnailError(f"the stored thumbnail of {sha256} failed its integrity check")
    return jpeg


def case_media(
    ctx: Context, principal: Principal, case_ref: str, *, offset: int = 0, limit: int = 100
) -> Sequence[CaseMedia]:
    """The distinct media of one case, by SHA-256, a page at a time."""
    with ctx.db.session() as session:
        case = case_for(session, principal, case_ref)
        rows = session.execute(
            select(Media.sha256, Media.mime, Media.size, func.count(Occurrence.id))
            .join(Occurrence, Occurrence.media_sha256 == Media.sha256)
            .join(Evidence, Evidence.id == Occurrence.evidence_id)
            .where(Evidence.case_id == case.id)
            .group_by(Media.sha256, Media.mime, Media.size)
            .order_by(Media.sha256)
            .offset(offset)
            .limit(limit)
        )
        media = [CaseMedia(sha, mime, size, n) for sha, mime, size, n in rows]
        audit.record(
            session, ctx.actor, "case.read", case.ref, view="media", offset=offset, rows=len(media)
        )
        return media
