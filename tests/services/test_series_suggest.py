"""Series proposals: new clusters by each kind of link, hits on existing series (exact copy
first), deconfliction with another agency's shared series, and nothing of its private ones."""

from __future__ import annotations

from pathlib import Path

from cairn.core.types import Role
from cairn.hashing.digests import digest_bytes
from cairn.media.synthetic import CameraExif, jpeg_bytes, synthetic_image
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.identity import Principal, authenticate, create_agency, create_user
from cairn.services.ingest import ingest
from cairn.services.links import Link, record_links
from cairn.services.series import add_media, create_series, set_status
from cairn.services.series_suggest import suggest

PASSWORD = "benign test password"


def _photo(seed: int, camera: CameraExif | None = None, quality: int = 90) -> bytes:
    return jpeg_bytes(synthetic_image(seed, 160, 120), camera, quality)


def _write(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def _principal(ctx: Context, code: str) -> Principal:
    create_agency(ctx, code, f"Agency {code}", code[:2])
    name = f"vid.{code.lower()}"
    create_user(ctx, name, code, Role.VICTIM_ID, PASSWORD)
    principal = authenticate(ctx, name, PASSWORD, "test")
    assert principal is not None
    return principal


def test_suggestions(db_ctx: Context, tmp_path: Path) -> None:
    nl, be = _principal(db_ctx, "NL-NP"), _principal(db_ctx, "BE-FP")
    create_case(db_ctx, "BE-1", agency_id=be.agency_id)
    ingest(
        db_ctx,
        "BE-1",
        _write(tmp_path / "be", {"w.jpg": _photo(20), "v.jpg": _photo(21)}),
        workers=0,
    )
    rose = create_series(db_ctx, be, "rose", shared=True, contact="vid@be.example")
    add_media(db_ctx, be, rose.id, "BE-1", ["be:w.jpg"])
    set_status(db_ctx, be, rose.id, "identified")
    thorn = create_series(db_ctx, be, "thorn")  # private: never seen by NL
    add_media(db_ctx, be, thorn.id, "BE-1", ["be:v.jpg"])
    create_case(db_ctx, "NL-0", agency_id=nl.agency_id)
    ingest(db_ctx, "NL-0", _write(tmp_path / "old", {"a.jpg": _photo(1, quality=75)}), workers=0)
    tulip = create_series(db_ctx, nl, "tulip")
    add_media(db_ctx, nl, tulip.id, "NL-0", ["old:a.jpg"])

    def camera(serial: str, when: str, gps: tuple[float, float] | None = None) -> CameraExif:
        return CameraExif(serial=serial, datetime_original=when, gps=gps)

    files = {
        "dup/a.jpg": _photo(1),
        "dup2/a-small.jpg": _photo(1, quality=60),
        "cam1/x.jpg": _photo(5, camera("SN-A", "2024:05:01 09:00:00")),
        "cam2/y.jpg": _photo(6, camera("SN-A", "2024:06:01 09:00:00")),
        "geo1/p.jpg": _photo(7, camera("SN-B", "2024:05:12 10:00:00", (52.37, 4.89))),
        "geo2/q.jpg": _photo(8, camera("SN-C", "2024:05:12 10:20:00", (52.3702, 4.8901))),
        "trip/m.jpg": _photo(10),
        "trip/n.jpg": _photo(11),
        "lone/z.jpg": _photo(12),
        "known/w.jpg": _photo(20),
        "theirs/v.jpg": _photo(21),
        "sim1/s.jpg": _photo(30),
        "sim2/t.jpg": _photo(31),
    }
    create_case(db_ctx, "NL-1", agency_id=nl.agency_id)
    ingest(db_ctx, "NL-1", _write(tmp_path / "nl", files), workers=0)
    shas = {digest_bytes(data).sha256: name for name, data in files.items()}
    by_name = {name: sha for sha, name in shas.items()}
    with db_ctx.db.engine.begin() as connection:  # as a local-features matcher would store it
        link = Link(by_name["sim1/s.jpg"], by_name["sim2/t.jpg"], "local-features", 0.9)
        record_links(connection, db_ctx.db.engine, [link], by="matcher")
    found = suggest(db_ctx, nl, "NL-1")
    existing = [
        (
            s.series,
            s.agency,
            s.status,
            s.contact,
            s.identified_elsewhere,
            [(shas[m.sha256], m.method) for m in s.media],
        )
        for s in found
        if s.series is not None
    ]
    assert existing == [
        ("rose", "BE-FP", "identified", "vid@be.example", True, [("known/w.jpg", "sha256")]),
        (
            "tulip",
            "NL-NP",
            "unidentified",
            "",
            False,
            [("dup/a.jpg", "pdq"), ("dup2/a-small.jpg", "pdq")],
        ),
    ]
    clusters = {
        frozenset((shas[m.sha256], m.method) for m in s.media) for s in found if s.series is None
    }
    # The copies of tulip's photo are proposed for tulip, never as a new series: their
    # local-features links to a filed item make them near-known, not new.
    assert clusters == {
        frozenset({("cam1/x.jpg", "camera-serial"), ("cam2/y.jpg", "camera-serial")}),
        frozenset({("geo1/p.jpg", "gps-time"), ("geo2/q.jpg", "gps-time")}),
        frozenset({("trip/m.jpg", "folder"), ("trip/n.jpg", "folder")}),
        frozenset({("sim1/s.jpg", "local-features"), ("sim2/t.jpg", "local-features")}),
    }
    assert all(s.agency == "NL-NP" and s.status is None and s.links for s in found[2:])
    # BE sees its own private series from its own case, and no NL series at all.
    be_found = suggest(db_ctx, be, "BE-1")
    assert [(s.series, s.agency) for s in be_found if s.series] == []
