"""Known-material matching end to end: hash sets imported, a device ingested, triage asserted.

"Known" material here is benign synthetic photographs placed in test hash sets.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image, ImageOps
from sqlalchemy import func, select

from cairn.core.errors import UsageError
from cairn.core.types import Category, CategoryScheme, Triage
from cairn.hashing.digests import digest_bytes
from cairn.hashing.pdq import pdq_from_image
from cairn.hashsets.base import KnownHashRecord, ReadOptions
from cairn.hashsets.vics.reader import read_case_media
from cairn.hashsets.vics.writer import write_media_set
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.export import export_vics, write_csv
from cairn.services.hashsets import (
    export_hashset,
    import_hashset,
    list_hashsets,
    remove_hashset,
)
from cairn.services.ingest import ingest
from cairn.services.matching import match_case
from cairn.services.triage import review_queue, triage_report
from cairn.store.models import Match

VICS_1 = Category(CategoryScheme.VICS, "1")


def _photo(seed: int) -> bytes:
    return jpeg_bytes(synthetic_image(seed, 640, 480), quality=92)


@pytest.fixture
def device(tmp_path: Path) -> dict[str, bytes]:
    """A small device: originals, an exact copy, a resized copy, a rotated and a letterboxed
    copy, an unrelated photo, a text file."""
    root = tmp_path / "device"
    root.mkdir()
    files = {
        "a.jpg": _photo(1),
        "copy/a-again.jpg": _photo(1),
        "b.jpg": _photo(2),
        "b-small.jpg": jpeg_bytes(Image.open(io.BytesIO(_photo(2))).resize((320, 240)), quality=70),
        "c-rotated.jpg": jpeg_bytes(Image.open(io.BytesIO(_photo(3))).rotate(90, expand=True)),
        "d-letterbox.jpg": jpeg_bytes(
            ImageOps.pad(Image.open(io.BytesIO(_photo(4))), (640, 640), color=(0, 0, 0))
        ),
        "unrelated.jpg": _photo(99),
        "notes.txt": b"nothing to see\n",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def _pdq(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as image:
        return pdq_from_image(image).hex


def _sets(tmp_path: Path, device: dict[str, bytes]) -> tuple[Path, Path, Path]:
    vics = tmp_path / "known.json"
    with vics.open("w") as out:
        write_media_set(
            [
                KnownHashRecord(
                    md5=digest_bytes(device["a.jpg"]).md5,
                    category=VICS_1,
                    series=("Series A",),
                    media_id="7",
                )
            ],
            out,
        )
    pdq = tmp_path / "known-pdq.csv"
    rows = [_pdq(device["b.jpg"]), _pdq(_photo(3)), _pdq(_photo(4))]
    pdq.write_text("pdq,category,series\n" + "".join(f"{h},vics:1,Series B\n" for h in rows))
    ignorable = tmp_path / "nsrl-like.txt"
    ignorable.write_text(f"{digest_bytes(device['notes.txt']).sha256}  notes.txt\n")
    return vics, pdq, ignorable


def _ingest_and_match(ctx: Context, tmp_path: Path, device: dict[str, bytes]) -> None:
    vics, pdq, ignorable = _sets(tmp_path, device)
    assert import_hashset(ctx, vics, "known-vics").records == 1
    assert import_hashset(ctx, pdq, "known-pdq").records == 3
    assert import_hashset(ctx, ignorable, "known-files", kind="ignorable").records == 1
    create_case(ctx, "C-1")
    ingest(ctx, "C-1", tmp_path / "device", workers=0)
    match_case(ctx, "C-1")


def _triage_by_path(ctx: Context) -> dict[str, tuple[str, ...]]:
    out = io.StringIO()
    with ctx.db.session() as session:
        write_csv(session, 1, out)
    lines = out.getvalue().splitlines()
    header = lines[0].split(",")
    result = {}
    for line in lines[1:]:
        row = dict(zip(header, line.split(","), strict=True))
        result[row["path"]] = (
            row["triage"],
            row["hashset"],
            row["category"],
            row["distance"],
            row["match_variant"],
        )
    return result


def test_triage_buckets_and_variants(
    ctx: Context, tmp_path: Path, device: dict[str, bytes]
) -> None:
    _ingest_and_match(ctx, tmp_path, device)
    rows = _triage_by_path(ctx)
    assert rows["a.jpg"] == ("known", "known-vics", "vics:1", "0", "md5")
    assert rows["copy/a-again.jpg"] == rows["a.jpg"]
    assert rows["b.jpg"] == ("near-known", "known-pdq", "vics:1", "0", "pdq")
    triage, hashset, _category, distance, variant = rows["b-small.jpg"]
    assert (triage, hashset, variant) == ("near-known", "known-pdq", "pdq")
    assert 0 < int(distance) <= 31
    assert rows["c-rotated.jpg"][0] == "near-known"
    assert rows["c-rotated.jpg"][4] in {"rotate90", "rotate270"}
    assert rows["d-letterbox.jpg"][0] == "near-known"
    assert rows["d-letterbox.jpg"][4].startswith("trimmed")
    assert rows["unrelated.jpg"][0] == "new"
    assert rows["notes.txt"][:2] == ("known-ignorable", "known-files")

    report = triage_report(ctx, "C-1")
    # Unique items: a (known), b, b-small, c, d (near-known), notes (ignorable), unrelated (new).
    assert report.totals == {
        "known": 1,
        "near-known": 4,
        "known-ignorable": 1,
        "possible": 0,
        "new": 1,
    }
    assert report.no_view_share == pytest.approx(6 / 7)


def test_match_is_idempotent_and_removal_keeps_reported_matches(
    ctx: Context, tmp_path: Path, device: dict[str, bytes]
) -> None:
    _ingest_and_match(ctx, tmp_path, device)
    with ctx.db.session() as session:
        before = session.scalar(select(func.count(Match.id)))
    again = match_case(ctx, "C-1")
    assert again.new_matches == 0
    remove_hashset(ctx, "known-vics")
    with ctx.db.session() as session:
        assert session.scalar(select(func.count(Match.id))) == before
    assert [h.name for h in list_hashsets(ctx)] == ["known-pdq", "known-files"]
    assert _triage_by_path(ctx)["a.jpg"][0] == "new"  # the removed set no longer triages
    assert match_case(ctx, "C-1").new_matches == 0


def test_review_queue_stacks_near_duplicates(ctx: Context, tmp_path: Path) -> None:
    root = tmp_path / "device"
    root.mkdir()
    base = Image.open(io.BytesIO(_photo(5)))
    (root / "orig.jpg").write_bytes(jpeg_bytes(base))
    (root / "small.jpg").write_bytes(jpeg_bytes(base.resize((320, 240)), quality=60))
    (root / "mirror.jpg").write_bytes(jpeg_bytes(ImageOps.mirror(base)))
    (root / "other.jpg").write_bytes(_photo(6))
    create_case(ctx, "C-2")
    ingest(ctx, "C-2", root, workers=0)
    groups = review_queue(ctx, "C-2")
    assert [g.size for g in groups] == [3, 1]
    stacked = {g.lead.paths[0] for g in groups[:1]} | {d.paths[0] for d in groups[0].duplicates}
    assert stacked == {"device:orig.jpg", "device:small.jpg", "device:mirror.jpg"}
    assert groups[1].lead.paths == ("device:other.jpg",)
    assert all(g.lead.triage == Triage.NEW.value for g in groups)


def test_conflicting_categories_are_kept_and_reported(ctx: Context, tmp_path: Path) -> None:
    md5 = digest_bytes(b"benign").md5
    first, second = tmp_path / "one.csv", tmp_path / "two.csv"
    first.write_text(f"md5,category\n{md5},vics:1\n")
    second.write_text(f"md5,category\n{md5},vics:2\n")
    import_hashset(ctx, first, "one")
    summary = import_hashset(ctx, second, "two")
    assert summary.records == 1 and summary.conflicts == 1
    assert "vics:2" in summary.conflict_examples[0] and "'one'" in summary.conflict_examples[0]


def test_bad_records_are_counted_and_import_goes_on(ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    good = digest_bytes(b"x").sha256
    path.write_text(f"{good}\nnot-a-hash\n{'a' * 31}\n{digest_bytes(b'y').md5}\n")
    summary = import_hashset(ctx, path, "list")
    assert (summary.records, summary.bad_records) == (2, 2)
    assert summary.errors[0].startswith("record 2 (line 2)")


def test_import_refusals(ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "set.txt"
    path.write_text(digest_bytes(b"x").md5 + "\n")
    import_hashset(ctx, path, "s")
    with pytest.raises(UsageError, match="exists"):
        import_hashset(ctx, path, "s")
    with pytest.raises(UsageError, match="kind"):
        import_hashset(ctx, path, "t", kind="bad")
    legacy = tmp_path / "v13.json"
    legacy.write_text(
        json.dumps(
            {
                "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media",
                "value": [{"MediaID": 1, "MD5": digest_bytes(b"z").md5.upper(), "Category": 0}],
            }
        )
    )
    with pytest.raises(UsageError, match="category-scheme"):
        import_hashset(ctx, legacy, "legacy")
    assert [h.name for h in list_hashsets(ctx)] == ["s"]  # nothing of the refused import kept
    summary = import_hashset(
        ctx, legacy, "legacy", options=ReadOptions(category_scheme=CategoryScheme.DHS)
    )
    assert summary.records == 1


def test_vics_exports_round_trip(ctx: Context, tmp_path: Path, device: dict[str, bytes]) -> None:
    _ingest_and_match(ctx, tmp_path, device)
    case_file = tmp_path / "case.json"
    with case_file.open("w") as out:
        written = export_vics(ctx, "C-1", out, str(case_file))
    media = [m for m in read_case_media(case_file, ReadOptions()) if not isinstance(m, str)]
    assert written == len(media) == 7  # a.jpg once, with two MediaFiles
    by_md5 = {m.record.md5: m for m in media}  # type: ignore[union-attr]
    a = by_md5[digest_bytes(device["a.jpg"]).md5]
    assert a.record.category == VICS_1 and a.record.series == ("Series A",)  # type: ignore[union-attr]
    assert sorted(f.file_name for f in a.files) == ["a-again.jpg", "a.jpg"]  # type: ignore[union-attr]
    set_file = tmp_path / "shared.json"
    with set_file.open("w") as out:
        assert export_hashset(ctx, "known-vics", out) == 1
    assert "a.jpg" not in set_file.read_text()  # hashes and labels only, never paths
    assert import_hashset(ctx, set_file, "reimported").records == 1
