"""Location clues on a map: GeoJSON features for `cairn export geojson --case REF` (beside the
case's places) and `--series NAME` (the GPS of the series' media, then its clues).

A clue is placed where its location message was sent from, else at its media item's EXIF GPS
when the caller's agency holds that item; a clue with neither is a feature with a null
geometry (RFC 7946 allows it), so that its countries still travel with the export.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from itertools import chain
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from cairn.services.access import agency_media, require
from cairn.services.context import Context
from cairn.services.records.common import countries_of, series_for, series_media
from cairn.store import audit
from cairn.store.case_media import case_media
from cairn.store.messaging_models import MsgImport, MsgMessage
from cairn.store.models import Case, Media
from cairn.store.record_models import LocationClue
from cairn.store.series_models import Series

if TYPE_CHECKING:
    from cairn.services.identity import Principal


def write_features(out: TextIO, features: Iterable[dict[str, Any]]) -> int:
    """A FeatureCollection written feature by feature (streamed); returns how many."""
    out.write('{"type": "FeatureCollection", "features": [\n')
    count = 0
    for feature in features:
        out.write(("" if count == 0 else ",\n") + json.dumps(feature, sort_keys=True))
        count += 1
    out.write("\n]}\n")
    return count


def point(longitude: float, latitude: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [longitude, latitude]}


def _clue_features(
    session: Session, clues: Select[LocationClue, str], held: Select[Any] | None
) -> Iterator[dict[str, Any]]:
    """`held`: the media whose GPS may place a clue (None: any, for the local operator)."""
    for clue, series_name in session.execute(clues):
        geometry, placed_by = None, None
        if clue.latitude is not None and clue.longitude is not None:
            geometry, placed_by = point(clue.longitude, clue.latitude), "message"
        elif clue.media_sha256 is not None:
            query = select(Media).where(
                Media.sha256 == clue.media_sha256, Media.gps_lat.is_not(None)
            )
            media = session.scalar(query if held is None else query.where(Media.sha256.in_(held)))
            if media is not None and media.gps_lat is not None and media.gps_lon is not None:
                geometry, placed_by = point(media.gps_lon, media.gps_lat), "media-gps"
        yield {
            "type": "Feature",
            "geometry": geometry,
            "properties": {
                "source": "clue",
                "clue": clue.id,
                "series": series_name,
                "kind": clue.kind,
                "description": clue.description,
                "text": clue.text,
                "sha256": clue.media_sha256,
                "region": clue.region,
                "placed_by": placed_by,
                "countries": [asdict(e) for e in countries_of(clue.countries)],
            },
        }


def case_clue_features(session: Session, case: Case) -> Iterator[dict[str, Any]]:
    """The clues seen in the case's media or sent in its location messages, of the series the
    case's agency may see (its own and the shared ones)."""
    messages = (
        select(MsgMessage.id)
        .join(MsgImport, MsgImport.id == MsgMessage.import_id)
        .where(MsgImport.case_id == case.id)
    )
    series = select(Series.id)
    if case.agency_id is not None:
        series = series.where(or_(Series.agency_id == case.agency_id, Series.shared))
    clues = (
        select(LocationClue, Series.name)
        .join(Series, Series.id == LocationClue.series_id)
        .where(
            LocationClue.series_id.in_(series),
            or_(
                LocationClue.media_sha256.in_(case_media(case.id)),
                LocationClue.message_id.in_(messages),
            ),
        )
        .order_by(LocationClue.id)
    )
    return _clue_features(session, clues, case_media(case.id))


def _series_media_features(
    session: Session, series: Series, held: Select[Any] | None
) -> Iterator[dict[str, Any]]:
    query = (
        select(Media)
        .where(
            Media.sha256.in_(series_media(series.id)),
            Media.gps_lat.is_not(None),
            Media.gps_lon.is_not(None),
        )
        .order_by(Media.sha256)
    )
    for media in session.scalars(query if held is None else query.where(Media.sha256.in_(held))):
        assert media.gps_lat is not None and media.gps_lon is not None  # selected by them
        yield {
            "type": "Feature",
            "geometry": point(media.gps_lon, media.gps_lat),
            "properties": {
                "source": "media-gps",
                "sha256": media.sha256,
                "at": media.exif_datetime_original,
            },
        }


def export_series_geojson(
    ctx: Context, principal: Principal | None, series_ref: str, out: TextIO
) -> int:
    """The series' clues and the GPS of their media items that the caller's agency holds, as
    GeoJSON; audited. Returns how many features."""
    require(principal, "series.export")
    with ctx.db.session() as session:
        series = series_for(session, principal, series_ref)
        held = None if principal is None else agency_media(principal.agency_id)
        clues = (
            select(LocationClue, Series.name)
            .join(Series, Series.id == LocationClue.series_id)
            .where(LocationClue.series_id == series.id)
            .order_by(LocationClue.id)
        )
        count = write_features(
            out,
            chain(
                _series_media_features(session, series, held),
                _clue_features(session, clues, held),
            ),
        )
        audit.record(session, ctx.actor, "export.geojson", None, series=series.id, features=count)
        return count
