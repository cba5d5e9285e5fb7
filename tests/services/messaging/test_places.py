"""A case's places: location messages and media GPS, listed and exported as GeoJSON."""

from __future__ import annotations

import io
import json
from pathlib import Path

from cairn.media.synthetic import CameraExif, jpeg_bytes, synthetic_image
from cairn.messaging.samples import CAROL, GARDENS, located_device, write_msgstore
from cairn.services.context import Context
from cairn.services.ingest import ingest
from cairn.services.messaging.discovery import import_from_evidence
from cairn.services.messaging.places import PlaceView, case_places, export_geojson


def test_location_messages_and_media_gps(case: Context, tmp_path: Path) -> None:
    phone = tmp_path / "phone"
    (phone / "DCIM").mkdir(parents=True)
    photo = jpeg_bytes(synthetic_image(401, 64, 48), CameraExif(gps=(48.8584, 2.2945)))
    (phone / "DCIM" / "IMG_0001.jpg").write_bytes(photo)
    write_msgstore(phone / "msgstore.db", located_device())
    assert ingest(case, "C", phone, workers=0).exit_code == 0
    (summary,) = import_from_evidence(case, "C", "phone")
    assert summary.counts["locations"] == 1
    assert "media_without_hash" not in summary.counts  # neither the place nor the reply
    message, media = list(case_places(case, "C"))
    assert message == PlaceView(
        "message",
        GARDENS[0],
        GARDENS[1],
        "2024-05-01T08:05:00Z",
        CAROL.phone,
        "phone",
        f"{CAROL.phone} with phone",
        GARDENS[2],
        message.message_id,
        None,
    )
    assert (media.source, media.device, media.who) == ("media-gps", "phone", None)
    assert (round(media.latitude, 4), round(media.longitude, 4)) == (48.8584, 2.2945)
    out = io.StringIO()
    assert export_geojson(case, "C", out) == 2
    collection = json.loads(out.getvalue())
    assert collection["type"] == "FeatureCollection"
    first = collection["features"][0]
    assert first["geometry"] == {"type": "Point", "coordinates": [GARDENS[1], GARDENS[0]]}
    assert first["properties"]["who"] == CAROL.phone
    assert [f["properties"]["source"] for f in collection["features"]] == ["message", "media-gps"]


def test_a_case_without_places_exports_an_empty_collection(case: Context) -> None:
    out = io.StringIO()
    assert export_geojson(case, "C", out) == 0
    assert json.loads(out.getvalue()) == {"type": "FeatureCollection", "features": []}
