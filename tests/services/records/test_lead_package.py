"""A lead package: summary, clues, countries and hashes of the series; its only images the
published object crops; victims without names; the owner's series only."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from cairn.core.errors import NotFoundError, UsageError
from cairn.services.records.clues import add_clue
from cairn.services.records.lead_package import export_lead_package
from cairn.services.records.persons import add_person
from cairn.services.records.trace import confirm_crop, crop_object, publication_package
from cairn.services.records.victims import add_victim

from .conftest import Agencies


def test_a_lead_package_holds_no_imagery_but_published_crops(agencies: Agencies) -> None:
    ctx, nl = agencies.as_("victim-id@NL-NP")
    add_victim(ctx, nl, "tulip", age_band="6-9", name="Jane Doe")
    add_person(ctx, nl, "tulip", role="producer", name="J. Smith", phones=["+31612345678"])
    clue = add_clue(
        ctx,
        nl,
        "tulip",
        kind="object",
        description="mug",
        sha256=agencies.photo,
        region_xywh="0,0,50,50",
        supports=["NL:0.7"],
    )
    published = crop_object(ctx, nl, clue.id, agencies.photo_bytes)
    confirm_crop(ctx, nl, published.id)
    publication_package(ctx, nl, published.id, io.BytesIO())
    crop_object(ctx, nl, clue.id, agencies.photo_bytes)  # a draft: never in a package
    out = io.BytesIO()
    assert export_lead_package(ctx, nl, "tulip", "be", out) == 1
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == [
            "clues.json",
            "countries.json",
            "hashes.csv",
            f"objects/object-{published.id}.jpg",
            f"objects/object-{published.id}.json",
            "summary.json",
        ]
        summary = json.loads(package.read("summary.json"))
        hashes = list(csv.DictReader(io.StringIO(package.read("hashes.csv").decode())))
        countries = json.loads(package.read("countries.json"))
        everything = b"".join(package.read(n) for n in package.namelist() if n.endswith("json"))
    assert (summary["series"], summary["for_country"]) == ("tulip", "BE")
    assert summary["victims"] == [
        {"id": 1, "age_band": "6-9", "sex": "unknown", "status": "unidentified"}
    ]
    assert summary["persons"][0]["phones"] == ["+31612345678"]
    assert b"Jane Doe" not in everything and b"J. Smith" not in everything
    assert [h["sha256"] for h in hashes] == [agencies.photo]
    assert [c["country"] for c in countries] == ["NL"]
    be_ctx, be = agencies.as_("victim-id@BE-FP")
    for series in ("tulip", "iris"):  # private, or shared: only the owner sends its leads
        with pytest.raises(NotFoundError, match="no series"):
            export_lead_package(be_ctx, be, series, "NL", io.BytesIO())
    with pytest.raises(UsageError, match="not an ISO 3166-1"):
        export_lead_package(ctx, nl, "tulip", "Belgium", io.BytesIO())
