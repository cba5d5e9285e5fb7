"""Location clues: seen in a region of media the user may see, or given by a location
message; countries supported or eliminated with confidence; bad input refused clearly."""

from __future__ import annotations

import pytest

from cairn.core.errors import NotFoundError, UsageError
from cairn.messaging.samples import GARDENS
from cairn.services.records.clues import CLUES, add_clue
from cairn.services.records.common import (
    CountryEvidence,
    list_records,
    show_record,
    update_record,
)

from .conftest import Agencies


def test_clues_from_media_regions_and_location_messages(agencies: Agencies) -> None:
    ctx, nl = agencies.as_("victim-id@NL-NP")
    sign = add_clue(
        ctx,
        nl,
        "tulip",
        kind="text",
        description="shop sign",
        sha256=agencies.photo.upper(),
        region_xywh="10,20,100,50",
        text="Bakkerij",
        language="nl",
        supports=["nl:0.8", "BE"],
        eliminates=["FR:1"],
    )
    assert (sign.sha256, sign.region, sign.text) == (agencies.photo, "10,20,100,50", "Bakkerij")
    assert sign.countries == [
        CountryEvidence("BE", "supports", 0.5),
        CountryEvidence("FR", "eliminates", 1.0),
        CountryEvidence("NL", "supports", 0.8),
    ]
    place = add_clue(
        ctx, nl, "tulip", kind="place", description="sent location", message_id=agencies.message_id
    )
    assert (place.latitude, place.longitude) == GARDENS[:2]
    socket = add_clue(
        ctx,
        nl,
        "tulip",
        kind="socket",
        description="wall socket",
        sha256=agencies.photo,
        socket_type="g",
        supports=["GB:0.9"],
    )
    assert socket.socket_type == "G"
    changed = update_record(
        ctx,
        nl,
        CLUES,
        sign.id,
        {"countries": [{"country": "NL", "stance": "supports", "confidence": 0.9}]},
    )
    assert changed.countries == [CountryEvidence("NL", "supports", 0.9)]
    assert set(changed.history[-1].changes) == {"countries"}
    be_ctx, be = agencies.as_("victim-id@BE-FP")
    with pytest.raises(NotFoundError, match="no clue"):
        show_record(be_ctx, be, CLUES, sign.id)  # tulip is private


def test_a_clue_on_media_the_user_cannot_see_is_refused(agencies: Agencies) -> None:
    be_ctx, be = agencies.as_("victim-id@BE-FP")
    messages = []
    for sha256 in (agencies.photo, "0" * 64):  # NL's media; nobody's
        with pytest.raises(NotFoundError) as caught:
            add_clue(be_ctx, be, "fern", kind="object", description="lamp", sha256=sha256)
        messages.append(str(caught.value).replace(sha256, "X"))
    assert messages == ["no media X that you may see"] * 2
    with pytest.raises(NotFoundError, match=f"no location message {agencies.message_id}"):
        add_clue(be_ctx, be, "fern", kind="place", description="x", message_id=agencies.message_id)
    clue = add_clue(be_ctx, be, "fern", kind="object", description="lamp", sha256=agencies.be_photo)
    assert clue.sha256 == agencies.be_photo


BAD_CLUES: list[tuple[dict[str, object], str]] = [
    ({"kind": "smell"}, "kind must be one of"),
    ({"description": " "}, "a clue needs a description"),
    ({"sha256": None}, "a clue is seen in a media item"),
    ({"region_xywh": "1,2,3"}, "is not X,Y,W,H"),
    ({"region_xywh": "0,0,0,5"}, "W, H > 0"),
    ({"region_xywh": "300,200,40,50"}, r"goes beyond the media item \(320x240\)"),
    ({"kind": "text"}, "needs its --text"),
    ({"kind": "socket"}, "needs its --socket-type"),
    ({"kind": "socket", "socket_type": "Z"}, "socket type must be one of"),
    ({"language": "Dutch"}, "not a BCP 47 tag"),
    ({"supports": ["NL"], "eliminates": ["NL"]}, "NL is named twice"),
    ({"supports": ["NL:2"]}, "must be above 0 and at most 1"),
    ({"supports": ["NL:high"]}, "is not a number"),
    ({"supports": ["Holland"]}, "not an ISO 3166-1 alpha-2"),
]


def test_bad_clues_are_refused_and_nothing_is_stored(agencies: Agencies) -> None:
    ctx, nl = agencies.as_("victim-id@NL-NP")
    for given, message in BAD_CLUES:
        fields: dict[str, object] = {
            "kind": "object",
            "description": "lamp",
            "sha256": agencies.photo,
            **given,
        }
        with pytest.raises(UsageError, match=message):
            add_clue(ctx, nl, "tulip", **fields)  # type: ignore[arg-type]
    assert list_records(ctx, nl, CLUES, "tulip") == []
