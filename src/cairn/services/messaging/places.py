"""A case's places: location messages (where, when, who sent it) and the GPS of its media.

`cairn messaging places` lists them; `cairn export geojson` writes them, and the location clues
seen in the case, as a GeoJSON FeatureCollection (RFC 7946: coordinates are longitude,
latitude), streamed feature by feature, for a map or a GIS. The export is audited like every
export of case data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.messaging.analysis import iso
from cairn.services.cases import get_case
from cairn.services.context import Context
from cairn.services.messaging.case_rows import CaseRows, utc
from cairn.services.records.geo import case_clue_features, point, write_features
from cairn.store import audit
from cairn.store.case_media import case_media
from cairn.store.messaging_models import MsgImport, MsgMessage
from cairn.store.models import Evidence, Media


@dataclass(frozen=True)
class PlaceView:
    source: str  # "message": a location message; "media-gps": a media item's EXIF GPS
    latitude: float
    longitude: float
    at: str | None  # a message: as the phone recorded it (UTC); media: EXIF DateTimeOriginal
    who: str | None  # who sent the location (number, else name); None for media
    device: str  # evidence label
    chat: str | None
    name: str | None  # the place's name, when the message named it
    message_id: int | None  # for `cairn messaging messages --around`
    sha256: str | None  # the media item


def case_places(ctx: Context, case_ref: str) -> Iterator[PlaceView]:
    """Location messages by phone and time, then the media with GPS by phone and SHA-256."""
    with ctx.db.engine.connect() as connection, Session(bind=connection) as session:
        case = CaseRows(connection, session, get_case(session, case_ref))
        rows = session.execute(
            select(MsgMessage, Evidence.label)
            .join(MsgImport, MsgImport.id == MsgMessage.import_id)
            .join(Evidence, Evidence.id == MsgImport.evidence_id)
            .where(
                MsgMessage.import_id.in_(list(case.imports) or [-1]),
                MsgMessage.latitude.is_not(None),
                MsgMessage.longitude.is_not(None),
            )
            .order_by(Evidence.label, MsgMessage.at, MsgMessage.id)
        )
        for m, device in rows:
            assert m.latitude is not None and m.longitude is not None  # selected by them
            group = case.groups.get(m.group_id) if m.group_id is not None else None
            peer = None if group else case.person(device, False, m.peer_account_id)
            yield PlaceView(
                "message",
                m.latitude,
                m.longitude,
                iso(utc(m.at)) if m.at is not None else None,
                case.shown(case.person(device, m.from_me, m.sender_account_id)),
                device,
                (group.name or group.key) if group else f"{case.shown(peer)} with {device}",
                m.place_name,
                m.id,
                None,
            )
        held = case_media(case.id, Evidence.label).subquery()
        for label, media in session.execute(
            select(held.c.label, Media)
            .join(Media, Media.sha256 == held.c.media_sha256)
            .where(Media.gps_lat.is_not(None), Media.gps_lon.is_not(None))
            .order_by(held.c.label, Media.sha256)
        ):
            assert media.gps_lat is not None and media.gps_lon is not None  # selected by them
            yield PlaceView(
                "media-gps",
                media.gps_lat,
                media.gps_lon,
                media.exif_datetime_original,
                None,
                label,
                None,
                None,
                None,
                media.sha256,
            )


def export_geojson(ctx: Context, case_ref: str, out: TextIO) -> int:
    """Write the case's places, then the location clues seen in its media or messages
    (services.records.geo), as a GeoJSON FeatureCollection; returns how many features."""

    def features() -> Iterator[dict[str, Any]]:
        for place in case_places(ctx, case_ref):
            yield {
                "type": "Feature",
                "geometry": point(place.longitude, place.latitude),
                "properties": {
                    k: v for k, v in asdict(place).items() if k not in ("latitude", "longitude")
                },
            }
        with ctx.db.session() as session:
            yield from case_clue_features(session, get_case(session, case_ref))

    count = write_features(out, features())
    with ctx.db.session() as session:
        audit.record(session, ctx.actor, "export.geojson", case_ref, features=count)
    return count
