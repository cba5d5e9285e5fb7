"""Similarity end to end: features kept at ingest, `local-features` links between cases,
`similar` with an outside image or a region of it, agency rules, and triage near-known by a
local-features link. Benign synthetic scenes only (cairn.media.synthetic)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps
from sqlalchemy import select

from cairn.core.errors import NotFoundError, UsageError
from cairn.core.types import Role, Triage
from cairn.media.synthetic import jpeg_bytes, synthetic_scene
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.export import write_csv
from cairn.services.grading import grade
from cairn.services.hashsets import import_hashset
from cairn.services.identity import Principal, create_agency
from cairn.services.ingest import ingest
from cairn.services.links import case_links
from cairn.services.matching import GRADES, BestMatch, best_matches, match_case
from cairn.services.series import add_media, create_series
from cairn.services.similarity import feature_index, parse_region, similar
from cairn.store.models import Case

if TYPE_CHECKING:
    from conftest import RunCli

W, H = 480, 360


def _scene(seed: int) -> Image.Image:
    return synthetic_scene(seed, W, H)


def _framed(image: Image.Image) -> Image.Image:
    """The picture at half size inside a "screenshot" with an app's bars."""
    screen = Image.new("RGB", (600, 500), (235, 235, 235))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, 600, 40), fill=(30, 60, 150))
    draw.rectangle((0, 460, 600, 500), fill=(30, 30, 30))
    screen.paste(image.resize((W // 2 + 40, H // 2 + 30)), (150, 120))
    return screen


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _folder(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True)
    for name, data in files.items():
        (root / name).write_bytes(data)
    return root


def _cases(ctx: Context, tmp_path: Path, agencies: tuple[int | None, int | None] = (None, None)):
    """REF holds four scenes; TIP, ingested later, a 10 % crop of scene 0, a mirrored crop of
    scene 1, scene 2 framed in a screenshot, and an unrelated scene."""
    originals = {f"scene{i}.jpg": jpeg_bytes(_scene(i)) for i in range(4)}
    copies = {
        "crop.jpg": jpeg_bytes(_scene(0).crop((48, 36, 432, 324))),
        "mirror.jpg": jpeg_bytes(ImageOps.mirror(_scene(1).crop((30, 20, 450, 340)))),
        "framed.jpg": jpeg_bytes(_framed(_scene(2))),
        "other.jpg": jpeg_bytes(_scene(40)),
    }
    create_case(ctx, "REF", agency_id=agencies[0])
    create_case(ctx, "TIP", agency_id=agencies[1])
    ingest(ctx, "REF", _folder(tmp_path / "ref", originals), workers=0)
    ingest(ctx, "TIP", _folder(tmp_path / "tip", copies), workers=0)
    return originals, copies


def test_local_feature_links_and_similar(db_ctx: Context, tmp_path: Path) -> None:
    originals, copies = _cases(db_ctx, tmp_path)
    links = {
        (item.paths[0], link.case, link.sha256): link
        for item in case_links(db_ctx, None, "TIP", ["local-features"])
        for link in item.links
    }
    assert set(links) == {
        ("tip:crop.jpg", "REF", _sha(originals["scene0.jpg"])),
        ("tip:mirror.jpg", "REF", _sha(originals["scene1.jpg"])),
        ("tip:framed.jpg", "REF", _sha(originals["scene2.jpg"])),
    }
    crop = links[("tip:crop.jpg", "REF", _sha(originals["scene0.jpg"]))]
    x, y, w, h = crop.region or []
    # The crop kept 80 % of each side: the region found in the original says where.
    assert abs(x - 48) < 25 and abs(y - 36) < 25 and abs(w - 384) < 50 and abs(h - 288) < 50
    assert crop.details["inliers"] >= 15 and 0.4 < crop.score < 1
    assert links[("tip:mirror.jpg", "REF", _sha(originals["scene1.jpg"]))].details["mirrored"]
    # Symmetric: the earlier case shows the links the later one made.
    assert {
        (item.paths[0], link.sha256)
        for item in case_links(db_ctx, None, "REF", ["local-features"])
        for link in item.links
    } == {
        ("ref:scene0.jpg", _sha(copies["crop.jpg"])),
        ("ref:scene1.jpg", _sha(copies["mirror.jpg"])),
        ("ref:scene2.jpg", _sha(copies["framed.jpg"])),
    }

    # An outside picture: scene 3 cropped to its middle; its region of interest too.
    tip = jpeg_bytes(_scene(3).crop((100, 60, 380, 300)))
    found = similar(db_ctx, None, image=tip)
    assert [(h.case, h.evidence, h.path) for h in found.hits] == [("REF", "ref", "scene3.jpg")]
    assert found.hits[0].sha256 == _sha(originals["scene3.jpg"]) and found.hits[0].inliers >= 15
    region = similar(db_ctx, None, image=tip, region=(40, 40, 200, 160), case_ref="REF")
    assert [h.path for h in region.hits] == ["scene3.jpg"]
    qx, _qy, qw, _qh = region.hits[0].query_region
    assert qx >= 40 and qx + qw <= 240  # in pixels of the whole query image
    assert similar(db_ctx, None, image=tip, case_ref="TIP").hits == []
    # By a workspace image: the framed copy finds its original.
    by_media = similar(db_ctx, None, sha256=_sha(copies["framed.jpg"]))
    assert [h.path for h in by_media.hits] == ["scene2.jpg"]


def test_similar_bad_input(ctx: Context, tmp_path: Path) -> None:
    _cases(ctx, tmp_path)
    flat = jpeg_bytes(Image.new("RGB", (300, 200), (90, 90, 90)))
    result = similar(ctx, None, image=flat)
    assert (result.hits, result.features, result.reason) == ([], 0, "flat")
    with pytest.raises(UsageError, match="not an image"):
        similar(ctx, None, image=b"\x00" * 100)
    with pytest.raises(UsageError, match=r"unreadable|undecodable"):
        similar(ctx, None, image=jpeg_bytes(_scene(3))[:600])
    with pytest.raises(UsageError, match="not inside"):
        similar(ctx, None, image=flat, region=(250, 0, 100, 100))
    with pytest.raises(UsageError, match="X,Y,W,H"):
        parse_region("1,2,3")
    with pytest.raises(NotFoundError):
        similar(ctx, None, sha256="0" * 64)
    with pytest.raises(NotFoundError):
        similar(ctx, None, image=flat, case_ref="NOPE")


def test_similar_and_links_stay_within_the_agency(ctx: Context, tmp_path: Path) -> None:
    a = create_agency(ctx, "AA-ONE", "Agency A", "NL")
    b = create_agency(ctx, "BB-TWO", "Agency B", "BE")
    originals, copies = _cases(ctx, tmp_path, (a.id, b.id))
    reader_b = Principal(1, "b", b.id, "BB-TWO", Role.VICTIM_ID)
    reader_a = Principal(2, "a", a.id, "AA-ONE", Role.VICTIM_ID)
    # Agency B's crop is linked to A's original in the store, but B sees no case of A.
    assert case_links(ctx, reader_b, "TIP", ["local-features"]) == []
    tip = jpeg_bytes(_scene(3).crop((100, 60, 380, 300)))
    assert similar(ctx, reader_b, image=tip).hits == []
    assert [h.case for h in similar(ctx, reader_a, image=tip).hits] == ["REF"]
    with pytest.raises(NotFoundError):
        similar(ctx, reader_b, image=tip, case_ref="REF")
    with pytest.raises(NotFoundError):  # A's image by its SHA-256: as if it did not exist
        similar(ctx, reader_b, sha256=_sha(originals["scene0.jpg"]))
    assert [h.case for h in similar(ctx, reader_b, sha256=_sha(copies["crop.jpg"])).hits] == []


def test_near_known_by_a_local_features_link(ctx: Context, tmp_path: Path) -> None:
    """Scene 0 is known (exact SHA-256 in an illegal set); its crop, which PDQ misses, is
    near-known through its link, shown as `local-features` in the export."""
    originals, _copies = _cases(ctx, tmp_path)
    known = tmp_path / "known.txt"
    known.write_text(f"{_sha(originals['scene0.jpg'])}  scene0.jpg\n")
    import_hashset(ctx, known, "known-scenes")
    for ref in ("REF", "TIP"):
        match_case(ctx, ref)
    out = io.StringIO()
    with ctx.db.session() as session:
        from cairn.store.models import Case

        tip_id = session.query(Case.id).filter(Case.ref == "TIP").scalar()
        write_csv(session, tip_id, out)
    lines = out.getvalue().splitlines()
    header = lines[0].split(",")
    rows = {
        r["path"]: r
        for r in (dict(zip(header, line.split(","), strict=True)) for line in lines[1:])
    }
    assert (rows["crop.jpg"]["triage"], rows["crop.jpg"]["match_variant"]) == (
        "near-known",
        "local-features",
    )
    assert rows["crop.jpg"]["hashset"] == "known-scenes"
    # Links inform but clear nothing: the framed copy of an unknown scene stays new.
    assert rows["framed.jpg"]["triage"] == "new" and rows["other.jpg"]["triage"] == "new"


def test_near_known_by_a_link_to_a_graded_or_filed_item(db_ctx: Context, tmp_path: Path) -> None:
    """No hash set knows the scenes, but a reviewer graded scene 0 of concern and filed scene 1
    in a series: their crop and mirrored crop are near-known through their links; a grade of
    "ignorable" clears nothing."""
    ctx = db_ctx
    originals, copies = _cases(ctx, tmp_path)
    scene = {name: _sha(data) for name, data in originals.items()}
    grade(ctx, None, "REF", "vics:1", [scene["scene0.jpg"]])
    series = create_series(ctx, None, "bedroom", case_ref="REF")
    add_media(ctx, None, series.id, "REF", [scene["scene1.jpg"]])
    with ctx.db.engine.connect() as connection:
        tip_id = connection.scalar(select(Case.id).where(Case.ref == "TIP"))
        before = best_matches(connection, tip_id)
    assert before[_sha(copies["crop.jpg"])] == BestMatch(
        Triage.NEAR_KNOWN, GRADES, "vics:1", None, "local-features", "local-features"
    )
    assert before[_sha(copies["mirror.jpg"])] == BestMatch(
        Triage.NEAR_KNOWN, "", "", None, "local-features", "local-features", "bedroom"
    )
    assert _sha(copies["other.jpg"]) not in before
    grade(ctx, None, "REF", "ignorable", [scene["scene0.jpg"]])  # the same reviewer's new vote
    with ctx.db.engine.connect() as connection:
        assert _sha(copies["crop.jpg"]) not in best_matches(connection, tip_id)


def test_features_index_grows_once_per_image(ctx: Context, tmp_path: Path) -> None:
    _cases(ctx, tmp_path)
    index = feature_index(ctx.workspace)
    assert len(index) == 8  # the images of both cases, each once
    create_case(ctx, "AGAIN")
    ingest(ctx, "AGAIN", tmp_path / "ref", workers=0)
    assert len(feature_index(ctx.workspace)) == 8


def test_similar_command(run_cli: RunCli, tmp_path: Path) -> None:
    scene = _scene(5)
    ref = _folder(tmp_path / "ref", {"room.jpg": jpeg_bytes(scene)})
    assert run_cli("case", "create", "REF")[0] == 0
    assert run_cli("ingest", "--case", "REF", ref)[0] == 0
    query = tmp_path / "tip.png"
    scene.crop((60, 40, 420, 320)).save(query)
    code, out, err = run_cli("similar", query, "--json", "--top", "5")
    assert code == 0, err
    (hit,) = json.loads(out)
    assert {k: hit[k] for k in ("case", "evidence", "path", "sha256")} == {
        "case": "REF",
        "evidence": "ref",
        "path": "room.jpg",
        "sha256": _sha(jpeg_bytes(scene)),
    }
    assert 0 < hit["score"] <= 1 and len(hit["region"]) == 4
    assert run_cli("similar", query, "--region", "1,2")[0] == 2
    assert run_cli("similar", tmp_path / "missing.png")[0] == 2
    noise = tmp_path / "flat.png"
    Image.fromarray(np.full((100, 100), 7, np.uint8)).save(noise)
    code, out, _err = run_cli("similar", noise)
    assert code == 0 and "nothing to compare (flat)" in out
