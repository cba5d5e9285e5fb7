"""Trace an Object: a benign object cut from a clue's region, confirmed person-free by a
specialist, published as a package of the crop alone, and the tips that come back.

The crop is cut from the media item's own bytes, which the specialist supplies (Cairn keeps no
copies of the material): they must hash to the clue's media item. The crop is stored sealed
like a review thumbnail, bound to its own SHA-256, until it is published (docs/records.md).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.core.errors import UsageError
from cairn.hashing.digests import digest_bytes
from cairn.media.faces import FaceDetector, detector
from cairn.media.thumbnail import load_or_create_key, open_thumbnail, seal
from cairn.services.access import require
from cairn.services.context import Context
from cairn.services.records.common import (
    Change,
    CountryEvidence,
    agency_code,
    apply_update,
    countries_of,
    country_evidence,
    history,
    log_create,
    now,
    owns,
    record_for,
    series_for,
    visible_media,
)
from cairn.store import audit
from cairn.store.record_models import LocationClue, ObjectCrop, Tip
from cairn.store.series_models import Series

if TYPE_CHECKING:
    from cairn.services.identity import Principal

STATUSES = ("draft", "confirmed", "published")
CROP_FILE = "object.jpg"
_JPEG_QUALITY = 92  # a publication copy: detail matters more than size


@dataclass(frozen=True)
class TipView:
    id: int
    crop: int
    source: str | None  # who told: the owning agency's only
    text: str
    countries: list[CountryEvidence]
    at: str


@dataclass(frozen=True)
class CropView:
    id: int
    series: str
    agency: str
    clue: int
    sha256: str  # the media item it was cut from
    region: str
    crop_sha256: str
    detector: str | None  # None: no face detector was installed when it was cut
    faces: int | None
    status: str
    confirmed_by: str | None
    confirmed_at: str | None
    tips: list[TipView]
    history: list[Change]


def _tip_view(tip: Tip, owner: bool) -> TipView:
    return TipView(
        tip.id,
        tip.crop_id,
        tip.source if owner else None,
        tip.text,
        countries_of(tip.countries),
        tip.created_at.isoformat(),
    )


def _view(session: Session, crop: ObjectCrop, series: Series, owner: bool) -> CropView:
    tips = session.scalars(select(Tip).where(Tip.crop_id == crop.id).order_by(Tip.id))
    return CropView(
        crop.id,
        series.name,
        agency_code(session, series),
        crop.clue_id,
        crop.media_sha256,
        crop.region,
        crop.sha256,
        crop.detector,
        crop.faces,
        crop.status,
        crop.confirmed_by,
        crop.confirmed_at.isoformat() if crop.confirmed_at else None,
        [_tip_view(t, owner) for t in tips],
        history(session, "crop", crop.id) if owner else [],
    )


def _cut(data: bytes, region: str) -> Image.Image:
    x, y, w, h = (int(v) for v in region.split(","))
    try:
        with Image.open(io.BytesIO(data)) as image:
            if x + w > image.width or y + h > image.height:
                raise UsageError(
                    f"region {region} goes beyond the image ({image.width}x{image.height})"
                )
            return image.convert("RGB").crop((x, y, x + w, y + h))
    except (UnidentifiedImageError, OSError) as exc:
        raise UsageError(f"the image cannot be decoded: {exc}") from None


def crop_object(
    ctx: Context,
    principal: Principal | None,
    clue_id: int,
    image: bytes,
    *,
    faces: FaceDetector | None = None,
) -> CropView:
    """Cut the clue's region from `image` (the clue's media item's bytes) and run the face
    detector on it (`faces`, else the installed one). A crop with a face is kept, so that the
    specialist sees why, but can never be confirmed or published."""
    require(principal, "series.write")
    found = detector() if faces is None else faces
    with ctx.db.session() as session:
        clue, series = record_for(session, principal, LocationClue, "clue", clue_id, write=True)
        if clue.media_sha256 is None or clue.region is None:
            raise UsageError(f"clue {clue_id} names no region of a media item to crop")
        visible_media(session, principal, clue.media_sha256)
        if digest_bytes(image).sha256 != clue.media_sha256:
            raise UsageError(f"the image given is not media item {clue.media_sha256}")
        crop = _cut(image, clue.region)
        out = io.BytesIO()
        crop.save(out, "JPEG", quality=_JPEG_QUALITY)  # pixels only: no EXIF carried over
        jpeg = out.getvalue()
        crop_sha256 = digest_bytes(jpeg).sha256
        row = ObjectCrop(
            series_id=series.id,
            clue_id=clue.id,
            media_sha256=clue.media_sha256,
            region=clue.region,
            blob=seal(jpeg, load_or_create_key(ctx.workspace.key_file), crop_sha256),
            sha256=crop_sha256,
            detector=found.name if found else None,
            faces=found.count(crop) if found else None,
            status="draft",
            created_at=now(),
            created_by=ctx.actor.user,
        )
        session.add(row)
        log_create(
            session,
            ctx,
            "crop",
            row,
            ["clue_id", "media_sha256", "region", "sha256", "detector", "faces"],
        )
        return _view(session, row, series, True)


def _refuse_faces(crop: ObjectCrop) -> None:
    if crop.faces:
        raise UsageError(
            f"the face detector found {crop.faces} face(s) in crop {crop.id}: "
            "it can be neither confirmed nor published"
        )


def confirm_crop(ctx: Context, principal: Principal | None, crop_id: int) -> CropView:
    """The specialist's word that the crop shows an object and no person."""
    require(principal, "series.write")
    with ctx.db.session() as session:
        crop, series = record_for(session, principal, ObjectCrop, "crop", crop_id, write=True)
        _refuse_faces(crop)
        if crop.status == "draft":
            apply_update(
                session,
                ctx,
                "crop",
                crop,
                {"status": "confirmed", "confirmed_by": ctx.actor.user, "confirmed_at": now()},
                None,
            )
        return _view(session, crop, series, True)


def show_crop(ctx: Context, principal: Principal | None, crop_id: int) -> CropView:
    require(principal, "series.read")
    with ctx.db.session() as session:
        crop, series = record_for(session, principal, ObjectCrop, "crop", crop_id)
        return _view(session, crop, series, owns(principal, series))


def list_crops(ctx: Context, principal: Principal | None, series_ref: str) -> list[CropView]:
    """The series' crops, oldest first, with their tips."""
    require(principal, "series.read")
    with ctx.db.session() as session:
        series = series_for(session, principal, series_ref)
        crops = session.scalars(
            select(ObjectCrop).where(ObjectCrop.series_id == series.id).order_by(ObjectCrop.id)
        )
        return [_view(session, crop, series, owns(principal, series)) for crop in crops]


def publication_package(
    ctx: Context, principal: Principal | None, crop_id: int, out: BinaryIO
) -> str:
    """A zip of the confirmed crop and a manifest (what it is, who confirmed it, whether a
    face detector ran): nothing else of the series or its media. Returns the crop's SHA-256."""
    require(principal, "series.write")
    with ctx.db.session() as session:
        crop, series = record_for(session, principal, ObjectCrop, "crop", crop_id, write=True)
        _refuse_faces(crop)
        if crop.status == "draft":
            raise UsageError(
                f"crop {crop_id} is not confirmed person-free yet (`cairn crop confirm`)"
            )
        clue = session.get(LocationClue, crop.clue_id)
        jpeg = open_thumbnail(crop.blob, load_or_create_key(ctx.workspace.key_file), crop.sha256)
        manifest = {
            "object": crop.id,
            "description": clue.description if clue else "",
            "file": CROP_FILE,
            "sha256": crop.sha256,
            "confirmed_person_free_by": crop.confirmed_by,
            "confirmed_at": crop.confirmed_at.isoformat() if crop.confirmed_at else None,
            "face_detector": crop.detector,
            "faces": crop.faces,
            "note": "face detector ran" if crop.detector else "no face detector ran",
        }
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as package:
            package.writestr(CROP_FILE, jpeg)
            package.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
        if crop.status != "published":
            apply_update(session, ctx, "crop", crop, {"status": "published"}, None)
        audit.record(
            session,
            ctx.actor,
            "crop.publish",
            None,
            id=crop.id,
            series=series.id,
            sha256=crop.sha256,
        )
        return crop.sha256


def add_tip(
    ctx: Context,
    principal: Principal | None,
    crop_id: int,
    *,
    source: str,
    text: str,
    supports: Sequence[str] = (),
    eliminates: Sequence[str] = (),
) -> TipView:
    """A tip about a published object, with the countries it supports or eliminates: it counts
    in the series' country ranking beside the clues."""
    require(principal, "series.write")
    if not text.strip():
        raise UsageError("a tip needs its text")
    countries = country_evidence(supports, eliminates)
    with ctx.db.session() as session:
        crop, series = record_for(session, principal, ObjectCrop, "crop", crop_id, write=True)
        if crop.status != "published":
            raise UsageError(f"crop {crop_id} is not published: no tip can be about it yet")
        tip = Tip(
            series_id=series.id,
            crop_id=crop.id,
            source=source,
            text=text,
            countries=countries,
            created_at=now(),
            created_by=ctx.actor.user,
        )
        session.add(tip)
        log_create(session, ctx, "tip", tip, ["crop_id", "source", "text", "countries"])
        return _tip_view(tip, True)
