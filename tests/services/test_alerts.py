"""Alerts and person notices: hits raised by matching and by messaging imports, shown to the
notice's owner without another agency's details (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from cairn.core.errors import UsageError
from cairn.core.types import Role
from cairn.hashing.digests import digest_bytes
from cairn.hashing.pdq import pdq_from_image
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.messaging.samples import BOB, CAROL, example_device, write_msgstore
from cairn.services.alerts import add_alert, list_hits, remove_alert
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.identity import Principal, create_agency
from cairn.services.ingest import ingest
from cairn.services.matching import match_case
from cairn.services.messaging.importing import import_path


def _principal(agency_id: int, code: str) -> Principal:
    return Principal(1, f"{code}:anna", agency_id, code, Role.EXAMINER)


def test_media_alerts_hit_on_match(db_ctx: Context, tmp_path: Path) -> None:
    device = tmp_path / "device"
    device.mkdir()
    photo = jpeg_bytes(synthetic_image(1, 640, 480), quality=90)
    (device / "a.jpg").write_bytes(photo)
    (device / "b.jpg").write_bytes(jpeg_bytes(synthetic_image(2, 640, 480)))
    with Image.open(io.BytesIO(jpeg_bytes(synthetic_image(1, 640, 480).resize((320, 240))))) as im:
        near = pdq_from_image(im).hex
    sha = digest_bytes(photo).sha256
    add_alert(db_ctx, "sha256", sha.upper(), note="seen in OP-1")
    add_alert(db_ctx, "pdq", near)
    gone = add_alert(db_ctx, "sha256", digest_bytes(b"x").sha256)
    remove_alert(db_ctx, gone.id)
    create_case(db_ctx, "C-1")
    ingest(db_ctx, "C-1", device, workers=0)
    match_case(db_ctx, "C-1")
    match_case(db_ctx, "C-1")  # once per alert, case and item
    hits = list_hits(db_ctx)
    assert sorted((h.kind, h.case, h.item, h.source) for h in hits) == [
        ("pdq", "C-1", sha, "match"),
        ("sha256", "C-1", sha, "match"),
    ]
    with pytest.raises(UsageError):
        add_alert(db_ctx, "phone", "not a number")
    with pytest.raises(UsageError):
        add_alert(db_ctx, "pdq", "abc")


def test_a_notice_hits_in_another_agencys_messaging_import(db_ctx: Context, tmp_path: Path) -> None:
    nl = create_agency(db_ctx, "NL-NP", "Politie", "NL")
    be = create_agency(db_ctx, "BE-FP", "Federale Politie", "BE")
    add_alert(db_ctx, "phone", "+1 202-555-0103", notice=True, agency_id=nl.id)  # Carol
    add_alert(db_ctx, "account", BOB.phone, agency_id=nl.id)  # an alert only: NL's cases
    create_case(db_ctx, "BE-1", agency_id=be.id)
    store = write_msgstore(tmp_path / "phone" / "msgstore.db", example_device())
    import_path(db_ctx, store, "BE-1", "phone")
    (hit,) = list_hits(db_ctx, _principal(nl.id, "NL-NP"))
    assert (hit.kind, hit.value, hit.case, hit.item, hit.agency, hit.source) == (
        "phone",
        CAROL.phone,
        None,
        None,
        "BE-FP",
        "messaging",
    )
    assert list_hits(db_ctx, _principal(be.id, "BE-FP")) == []  # BE has no alerts of its own
    (local,) = list_hits(db_ctx)  # the local operator sees the case
    assert (local.case, local.item) == ("BE-1", CAROL.phone)
