"""Trace an Object: a crop of a clue's region, confirmed person-free, published alone; a face
found blocks it; tips count in the country ranking."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass

import pytest
from PIL import Image

from cairn.core.errors import NotFoundError, UsageError
from cairn.hashing.digests import digest_bytes
from cairn.media.faces import detector
from cairn.services.records.clues import add_clue
from cairn.services.records.countries import rank_countries
from cairn.services.records.trace import (
    add_tip,
    confirm_crop,
    crop_object,
    list_crops,
    publication_package,
    show_crop,
)

from .conftest import BE_PHOTO, Agencies


@dataclass
class Finds:
    """A stand-in detector: the real one finds no face in synthetic pictures."""

    faces: int
    name: str = "stand-in"

    def count(self, image: Image.Image) -> int:
        return self.faces


def _clue(agencies: Agencies) -> int:
    ctx, nl = agencies.as_("victim-id@NL-NP")
    return add_clue(
        ctx,
        nl,
        "iris",
        kind="object",
        description="a blue mug with a crest",
        sha256=agencies.photo,
        region_xywh="40,30,64,48",
    ).id


def test_a_confirmed_crop_is_published_alone_and_tips_rank_countries(
    agencies: Agencies,
) -> None:
    ctx, nl = agencies.as_("victim-id@NL-NP")
    clue = _clue(agencies)
    crop = crop_object(ctx, nl, clue, agencies.photo_bytes)
    installed = detector()
    assert (crop.detector, crop.faces) == (
        (installed.name, 0) if installed is not None else (None, None)
    )
    assert crop.status == "draft"
    with pytest.raises(UsageError, match="not confirmed person-free yet"):
        publication_package(ctx, nl, crop.id, io.BytesIO())
    confirmed = confirm_crop(ctx, nl, crop.id)
    assert (confirmed.status, confirmed.confirmed_by) == ("confirmed", "victim-id.nl-np")
    with pytest.raises(UsageError, match="not published"):
        add_tip(ctx, nl, crop.id, source="public", text="seen in Antwerp")
    out = io.BytesIO()
    assert publication_package(ctx, nl, crop.id, out) == crop.crop_sha256
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["manifest.json", "object.jpg"]
        jpeg = package.read("object.jpg")
        manifest = json.loads(package.read("manifest.json"))
    assert digest_bytes(jpeg).sha256 == crop.crop_sha256
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.size == (64, 48)
    assert manifest["description"] == "a blue mug with a crest"
    assert manifest["note"] == ("face detector ran" if installed else "no face detector ran")
    assert agencies.photo not in json.dumps(manifest)  # nothing of the series' media
    add_tip(ctx, nl, crop.id, source="public", text="sold in Antwerp", supports=["BE:0.7"])
    assert [c.id for c in list_crops(ctx, nl, "iris")] == [crop.id]
    shown = show_crop(ctx, nl, crop.id)
    assert shown.status == "published"
    assert [(t.text, t.source) for t in shown.tips] == [("sold in Antwerp", "public")]
    assert [h.changes.get("status") for h in shown.history] == [
        None,
        ["draft", "confirmed"],
        ["confirmed", "published"],
    ]
    (ranked,) = rank_countries(ctx, nl, "iris")
    assert (ranked.country, ranked.score, ranked.evidence[0].source) == ("BE", 0.7, "tip")
    be_ctx, be = agencies.as_("victim-id@BE-FP")
    assert show_crop(be_ctx, be, crop.id).tips[0].source is None  # shared: read, no sources
    with pytest.raises(NotFoundError, match=f"no crop {crop.id}"):
        publication_package(be_ctx, be, crop.id, io.BytesIO())


def test_a_face_blocks_confirmation_and_export(agencies: Agencies) -> None:
    ctx, nl = agencies.as_("victim-id@NL-NP")
    crop = crop_object(ctx, nl, _clue(agencies), agencies.photo_bytes, faces=Finds(1))
    assert (crop.detector, crop.faces) == ("stand-in", 1)
    for refused in (confirm_crop, lambda c, p, i: publication_package(c, p, i, io.BytesIO())):
        with pytest.raises(UsageError, match="found 1 face"):
            refused(ctx, nl, crop.id)


def test_a_crop_needs_the_clues_own_media(agencies: Agencies) -> None:
    ctx, nl = agencies.as_("victim-id@NL-NP")
    clue = _clue(agencies)
    with pytest.raises(UsageError, match="is not media item"):
        crop_object(ctx, nl, clue, BE_PHOTO)
    place = add_clue(ctx, nl, "iris", kind="place", description="x", message_id=agencies.message_id)
    with pytest.raises(UsageError, match="names no region"):
        crop_object(ctx, nl, place.id, agencies.photo_bytes)
    be_ctx, be = agencies.as_("victim-id@BE-FP")
    with pytest.raises(NotFoundError, match=f"no clue {clue}"):
        crop_object(be_ctx, be, clue, agencies.photo_bytes)
