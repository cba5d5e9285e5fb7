"""Location clues on the map: in a case's GeoJSON beside its places, and a series' own."""

from __future__ import annotations

import io
import json

from cairn.messaging.samples import GARDENS
from cairn.services.messaging.places import export_geojson
from cairn.services.records.clues import add_clue
from cairn.services.records.geo import export_series_geojson

from .conftest import Agencies


def test_clues_are_placed_by_their_message_or_their_media(agencies: Agencies) -> None:
    ctx, nl = agencies.as_("victim-id@NL-NP")
    sign = add_clue(
        ctx,
        nl,
        "iris",
        kind="text",
        description="sign",
        sha256=agencies.photo,
        text="Ingang",
        supports=["NL:0.6"],
    )
    place = add_clue(
        ctx, nl, "iris", kind="place", description="sent", message_id=agencies.message_id
    )
    out = io.StringIO()
    assert export_series_geojson(ctx, nl, "iris", out) == 3
    media, by_media, by_message = json.loads(out.getvalue())["features"]
    assert (media["properties"]["source"], media["properties"]["sha256"]) == (
        "media-gps",
        agencies.photo,
    )
    assert by_media["geometry"] == media["geometry"]
    assert (by_media["properties"]["clue"], by_media["properties"]["placed_by"]) == (
        sign.id,
        "media-gps",
    )
    assert by_media["properties"]["countries"] == [
        {"country": "NL", "stance": "supports", "confidence": 0.6}
    ]
    assert by_message["geometry"]["coordinates"] == [GARDENS[1], GARDENS[0]]
    assert by_message["properties"]["clue"] == place.id
    # BE-FP reads the shared series, but holds neither the photo nor the phone: the clues
    # come without the photo's GPS, the message's place still places its clue.
    be_ctx, be = agencies.as_("victim-id@BE-FP")
    out = io.StringIO()
    assert export_series_geojson(be_ctx, be, "iris", out) == 2
    sign_seen, place_seen = json.loads(out.getvalue())["features"]
    assert (sign_seen["geometry"], sign_seen["properties"]["placed_by"]) == (None, None)
    assert place_seen["properties"]["placed_by"] == "message"
    case = io.StringIO()
    assert export_geojson(agencies.ctx, "NL-1", case) == 4  # a message, a photo, two clues
    sources = [f["properties"]["source"] for f in json.loads(case.getvalue())["features"]]
    assert sources == ["message", "media-gps", "clue", "clue"]
    assert export_geojson(agencies.ctx, "BE-1", io.StringIO()) == 0
