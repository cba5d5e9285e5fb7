"""Metadata camera links: images that share a body or lens serial or an exposure's unique id
(`camera-serial`), or a camera-original JPEG signature (`camera-signature`), and how
distinctive each signature is in the workspace (docs/camera.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, func, select

from cairn.services.access import case_for, require
from cairn.services.context import Context
from cairn.store import audit
from cairn.store.case_media import case_media
from cairn.store.models import Media

if TYPE_CHECKING:
    from cairn.services.identity import Principal

CHUNK = 500
# (field, the columns that must agree): a serial alone is not unique across makers.
SERIAL_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("body-serial", ("exif_make", "exif_model", "exif_serial")),
    ("lens-serial", ("exif_make", "exif_lens_serial")),
    ("image-unique-id", ("exif_image_unique_id",)),
)


@dataclass(frozen=True)
class Signature:
    """A JPEG signature seen in a case (the `cairn camera signatures --json` row)."""

    signature: str
    origin: str  # camera, re-saved
    quality: int | None  # IJG quality of standard tables
    cameras: list[str]  # "make model [serial]" seen with it in the case
    images: int  # in the case
    workspace_cameras: int  # distinct cameras in the whole workspace sharing it: 1 is distinctive


def _camera(make: str | None, model: str | None, serial: str | None) -> str:
    return " ".join(part for part in (make, model, serial) if part) or "unknown camera"


def link_camera_metadata(
    connection: Connection, engine: Engine, sha256s: Collection[str], *, by: str
) -> int:
    """Record the metadata links of these media with every medium of the workspace that shares
    a key; each group is a star around its lowest SHA-256 (a group of n gives n - 1 links)."""
    from cairn.services.links import Link, record_links

    links: list[Link] = []
    for name, columns in SERIAL_KEYS:
        for key, members in _groups(connection, sha256s, columns).items():
            anchor = members[0]
            details: dict[str, Any] = {"field": name, "value": " ".join(key)}
            links += [
                Link(sha, anchor, "camera-serial", 1.0, details=details) for sha in members[1:]
            ]
    for key, members in _groups(connection, sha256s, ("jpeg_signature",), camera_only=True).items():
        cameras = _workspace_cameras(connection, key[0])
        details = {"signature": key[0], "cameras": cameras}
        score = 1.0 / max(1, cameras)  # shared by many cameras: weak evidence
        anchor = members[0]
        links += [
            Link(sha, anchor, "camera-signature", score, details=details) for sha in members[1:]
        ]
    if not links:
        return 0
    return int(record_links(connection, engine, links, by=by))


def _groups(
    connection: Connection,
    sha256s: Collection[str],
    columns: tuple[str, ...],
    *,
    camera_only: bool = False,
) -> dict[tuple[str, ...], list[str]]:
    """Workspace media grouped by the key columns, for the keys these media have."""
    fields = [getattr(Media, column) for column in columns]
    keys: set[tuple[str, ...]] = set()
    items = sorted(sha256s)
    for start in range(0, len(items), CHUNK):
        query = select(*fields).where(
            Media.sha256.in_(items[start : start + CHUNK]), *(f.is_not(None) for f in fields)
        )
        if camera_only:
            query = query.where(Media.jpeg_origin == "camera")
        keys.update(tuple(row) for row in connection.execute(query))
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    last = columns[-1]
    values = sorted({key[-1] for key in keys})
    for start in range(0, len(values), CHUNK):
        query = select(Media.sha256, *fields).where(
            getattr(Media, last).in_(values[start : start + CHUNK])
        )
        if camera_only:
            query = query.where(Media.jpeg_origin == "camera")
        for sha, *key in connection.execute(query.order_by(Media.sha256)):
            if tuple(key) in keys:
                groups[tuple(key)].append(sha)
    return {key: members for key, members in groups.items() if len(members) > 1}


def _workspace_cameras(connection: Connection, signature: str) -> int:
    """Distinct cameras (make, model, serial) whose images carry the signature."""
    query = (
        select(Media.exif_make, Media.exif_model, Media.exif_serial)
        .where(Media.jpeg_signature == signature)
        .distinct()
    )
    return len(connection.execute(query).all())


def case_signatures(ctx: Context, principal: Principal | None, case_ref: str) -> list[Signature]:
    """The JPEG signatures of a case's images, most images first, with their distinctiveness."""
    require(principal, "camera.read")
    with ctx.db.session() as session:
        case = case_for(session, principal, case_ref)
        per = (
            Media.jpeg_signature,
            Media.jpeg_origin,
            Media.jpeg_quality,
            Media.exif_make,
            Media.exif_model,
            Media.exif_serial,
        )
        rows = session.execute(
            select(*per, func.count())
            .where(Media.sha256.in_(case_media(case.id)), Media.jpeg_signature.is_not(None))
            .group_by(*per)
        ).all()
        merged: dict[str, dict[str, Any]] = {}
        for signature, origin, quality, make, model, serial, count in rows:
            assert signature is not None
            entry = merged.setdefault(
                signature, {"origin": origin, "quality": quality, "cameras": set(), "images": 0}
            )
            entry["images"] += count
            if make or model or serial:
                entry["cameras"].add(_camera(make, model, serial))
        connection = session.connection()
        found = [
            Signature(
                signature,
                entry["origin"],
                entry["quality"],
                sorted(entry["cameras"]),
                entry["images"],
                _workspace_cameras(connection, signature),
            )
            for signature, entry in merged.items()
        ]
        audit.record(session, ctx.actor, "camera.signatures", case.ref, signatures=len(found))
        session.commit()
        return sorted(found, key=lambda s: (-s.images, s.signature))
