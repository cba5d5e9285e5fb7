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
from tests.services.interrupt import killed_ingest

from cairn.core.errors import NotFoundError, UsageError
from cairn.core.types import Role, Triage
from cairn.media.synthetic import jpeg_bytes, synthetic_scene
from cairn.media.video import SyntheticVideo, write_synthetic_video
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


def _clip(seed: int) -> bytes:
    """Ten seconds of two textured scenes: picture seed * 1000 (0-5 s), then seed * 1000 + 1,
    each at 5/4 of the 480 x 360 frame, panned (media.video.synthetic_frames)."""
    out = io.BytesIO()
    spec = SyntheticVideo(
        seconds=10, fps=5, width=W, height=H, seed=seed, scene_seconds=5, textured=True
    )
    write_synthetic_video(out, spec)
    return out.getvalue()


def test_video_keyframes_link_to_pictures_and_are_found(db_ctx: Context, tmp_path: Path) -> None:
    """A video's scene keyframes are searched like pictures: a still of the room its second
    scene shows, ingested later, links to it at that keyframe's time; an outside picture of
    its first scene finds it at 0 s; the video searched by its SHA-256 finds the still; and
    when the still is known, the video is near-known through the link."""
    ctx = db_ctx
    clip = _clip(21)
    room = synthetic_scene(21001, W + W // 4, H + H // 4)
    still = jpeg_bytes(room.crop((40, 30, 40 + W, 30 + H)))  # a little off the keyframe's view
    create_case(ctx, "REF")
    create_case(ctx, "TIP")
    ingest(ctx, "REF", _folder(tmp_path / "ref", {"clip.mp4": clip}), workers=0)
    ingest(
        ctx,
        "TIP",
        _folder(tmp_path / "tip", {"room.jpg": still, "other.jpg": jpeg_bytes(_scene(41))}),
        workers=0,
    )
    index = feature_index(ctx.workspace)
    assert _sha(clip) in index and 0.0 in index.times(_sha(clip))
    assert 5.0 in index.times(_sha(clip))
    (item,) = case_links(ctx, None, "TIP", ["local-features"])
    (link,) = item.links
    assert (item.paths, link.case, link.sha256) == (["tip:room.jpg"], "REF", _sha(clip))
    (time,) = link.details["keyframes"].values()
    assert list(link.details["keyframes"]) == [_sha(clip)] and time in index.times(_sha(clip))
    assert time >= 5.0  # the second scene
    # The region is in pixels of that keyframe, which shows the picture from (x0, y0): where
    # the still (from (40, 30)) overlaps it.
    progress = (time - 5.0) / 5.0
    x0, y0 = int(progress * (W // 4)), int(progress * (H // 8))
    expected = (max(0, 40 - x0), max(0, 30 - y0), min(W, 40 + W - x0), min(H, 30 + H - y0))
    x, y, w, h = link.region or []
    assert all(abs(a - b) < 30 for a, b in zip((x, y, x + w, y + h), expected, strict=True))
    (back,) = case_links(ctx, None, "REF", ["local-features"])
    assert back.links[0].sha256 == _sha(still)

    outside = jpeg_bytes(synthetic_scene(21000, W + W // 4, H + H // 4).crop((60, 40, 420, 320)))
    found = similar(ctx, None, image=outside)
    assert [(h.case, h.path, h.time) for h in found.hits] == [("REF", "clip.mp4", 0.0)]
    by_video = similar(ctx, None, sha256=_sha(clip))
    assert [(h.path, h.time) for h in by_video.hits] == [("room.jpg", None)]
    assert by_video.features == sum(
        len(index.features(_sha(clip), t)) for t in index.times(_sha(clip))
    )

    known = tmp_path / "known.txt"
    known.write_text(f"{_sha(still)}  room.jpg\n")
    import_hashset(ctx, known, "known-rooms")
    for ref in ("TIP", "REF"):
        match_case(ctx, ref)
    with ctx.db.engine.connect() as connection:
        ref_id = connection.scalar(select(Case.id).where(Case.ref == "REF"))
        best = best_matches(connection, ref_id)
    assert (best[_sha(clip)].triage, best[_sha(clip)].variant) == (
        Triage.NEAR_KNOWN,
        "local-features",
    )


def test_a_killed_ingest_links_on_resume_what_it_indexed(tmp_path: Path, run_cli: RunCli) -> None:
    """The run is killed after its first commit, whose two images (a scene and its crop) are
    in the feature index but were never linked (links are stored when an ingest ends); the
    run that resumes it skips their units but links them, from the journal the killed run
    left."""
    pairs = {}
    for i in range(4):
        pairs[f"a-{i}-crop.jpg"] = jpeg_bytes(_scene(i).crop((48, 36, 432, 324)))
        pairs[f"a-{i}-scene.jpg"] = jpeg_bytes(_scene(i))
    filler = {f"z-{k:03}.txt": f"note {k}".encode() for k in range(300)}
    tree = _folder(tmp_path / "device", {**pairs, **filler})
    env = {"CAIRN_COMMIT_ENTRIES": "2"}  # the pairs come first, one to a commit
    workspace, stored = killed_ingest(tmp_path, run_cli, tree, env, below=len(pairs))
    (journal,) = (workspace / "indexes" / "features-pending").iterdir()
    assert len(journal.read_text().split()) >= stored  # what the killed run indexed
    code, out, err = run_cli(
        "ingest", "--case", "C-1", tree, "--json", workspace=workspace, env=env
    )
    assert code == 0, err
    assert json.loads(out)["skipped_units"] == stored
    code, out, err = run_cli(
        "links", "--case", "C-1", "--method", "local-features", "--json", workspace=workspace
    )
    assert code == 0, err
    linked = {
        (item["paths"][0], link["sha256"]) for item in json.loads(out) for link in item["links"]
    }
    assert linked == {
        (f"device:a-{i}-{side}.jpg", _sha(pairs[f"a-{i}-{other}.jpg"]))
        for i in range(4)
        for side, other in (("crop", "scene"), ("scene", "crop"))
    }
    assert not journal.exists()  # linked: nothing pending


def test_the_journal_of_a_killed_run_survives_a_torn_line(ctx: Context) -> None:
    from cairn.services.similarity import FeatureSink

    journal = FeatureSink(ctx.workspace, 7).journal
    journal.parent.mkdir(parents=True)
    journal.write_text(f"{'a' * 64}\n{'b' * 64}\n{'a' * 64}\n{'c' * 20}")  # killed mid-line
    sink = FeatureSink(ctx.workspace, 7)
    assert sink.added == ["a" * 64, "b" * 64]
    sink.linked()
    assert not journal.exists() and FeatureSink(ctx.workspace, 7).added == []


def test_the_commands_name_the_keyframe_of_a_video(run_cli: RunCli, tmp_path: Path) -> None:
    clip = _clip(22)
    room = synthetic_scene(22001, W + W // 4, H + H // 4).crop((40, 30, 40 + W, 30 + H))
    assert run_cli("case", "create", "C-1")[0] == 0
    tree = _folder(tmp_path / "phone", {"clip.mp4": clip, "room.jpg": jpeg_bytes(room)})
    assert run_cli("ingest", "--case", "C-1", tree)[0] == 0
    code, out, err = run_cli("links", "--case", "C-1", "--method", "local-features", "--json")
    assert code == 0, err
    by_path = {item["paths"][0]: item["links"] for item in json.loads(out)}
    (to_video,) = by_path["phone:room.jpg"]
    time = to_video["details"]["keyframes"][_sha(clip)]
    assert to_video["sha256"] == _sha(clip) and time >= 5.0
    code, out, err = run_cli("links", "--case", "C-1", "--method", "local-features")
    assert code == 0, err
    assert f"at {time:g} s" in out  # the region on the video is on that keyframe
    query = tmp_path / "tip.png"
    room.save(query)
    code, out, err = run_cli("similar", query, "--json")
    assert code == 0, err
    assert {(hit["path"], hit["time"]) for hit in json.loads(out)} == {
        ("room.jpg", None),
        ("clip.mp4", time),
    }
