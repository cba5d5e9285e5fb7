"""The links layer: recording (idempotent, canonical pairs), listing per case (symmetric, across
cases, within the agency), and the sha256 / pdq links kept at ingest and match."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from sqlalchemy import func, select

from cairn.core.errors import NotFoundError, UsageError
from cairn.core.types import Role
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.identity import Principal, create_agency
from cairn.services.ingest import ingest
from cairn.services.links import Link, case_links, record_links, stored_links
from cairn.services.matching import match_case
from cairn.store.link_models import MediaLink

if TYPE_CHECKING:
    from conftest import RunCli


EXACT_AND_PDQ = ("sha256", "pdq")  # local features link these copies too (test_similarity)


def _photo(seed: int) -> bytes:
    return jpeg_bytes(synthetic_image(seed, 320, 240), quality=92)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _folder(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True)
    for name, data in files.items():
        (root / name).write_bytes(data)
    return root


def _resized(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return jpeg_bytes(image.resize((200, 150)), quality=75)


def _rotated(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return jpeg_bytes(image.rotate(90, expand=True))


def _two_cases(
    ctx: Context, tmp_path: Path, *, agencies: tuple[int | None, int | None] = (None, None)
) -> dict[str, bytes]:
    """C-1 holds photos 1 and 2; C-2, ingested later, an exact copy of photo 1, a resized
    copy of it, a rotated copy of photo 2 and an unrelated photo."""
    files = {
        "one.jpg": _photo(1),
        "two.jpg": _photo(2),
        "one-copy.jpg": _photo(1),
        "one-small.jpg": _resized(_photo(1)),
        "two-turned.jpg": _rotated(_photo(2)),
        "other.jpg": _photo(3),
    }
    first = _folder(tmp_path / "first", {k: files[k] for k in ("one.jpg", "two.jpg")})
    second = _folder(
        tmp_path / "second",
        {k: files[k] for k in ("one-copy.jpg", "one-small.jpg", "two-turned.jpg", "other.jpg")},
    )
    create_case(ctx, "C-1", agency_id=agencies[0])
    create_case(ctx, "C-2", agency_id=agencies[1])
    ingest(ctx, "C-1", first, workers=0)
    ingest(ctx, "C-2", second, workers=0)
    return files


def _view(
    ctx: Context, ref: str, principal: Principal | None = None
) -> set[tuple[str, str, str, str]]:
    return {
        (item.paths[0], link.case, link.sha256, link.method)
        for item in case_links(ctx, principal, ref, EXACT_AND_PDQ)
        for link in item.links
    }


def test_links_are_kept_at_ingest_and_read_from_both_sides(db_ctx: Context, tmp_path: Path) -> None:
    files = _two_cases(db_ctx, tmp_path)
    one, two = _sha(files["one.jpg"]), _sha(files["two.jpg"])
    small, turned = _sha(files["one-small.jpg"]), _sha(files["two-turned.jpg"])
    # The earlier case shows what the later one linked to it; nothing links the unrelated photo.
    assert _view(db_ctx, "C-1") == {
        ("first:one.jpg", "C-2", one, "sha256"),
        ("first:one.jpg", "C-2", small, "pdq"),
        ("first:two.jpg", "C-2", turned, "pdq"),
    }
    assert _view(db_ctx, "C-2") == {
        ("second:one-copy.jpg", "C-1", one, "sha256"),
        ("second:one-copy.jpg", "C-2", small, "pdq"),
        ("second:one-small.jpg", "C-1", one, "pdq"),
        ("second:one-small.jpg", "C-2", one, "pdq"),  # the exact copy, in this case too
        ("second:two-turned.jpg", "C-1", two, "pdq"),
    }
    turned_link = next(
        link
        for item in case_links(db_ctx, None, "C-1", ["pdq"])
        for link in item.links
        if link.sha256 == turned
    )
    assert turned_link.details["variant_of"] == turned  # matched by the copy's own rotation
    assert 0.75 < turned_link.score <= 1.0 and turned_link.region is None
    # Matching again (idempotent) keeps one row per pair and method.
    with db_ctx.db.session() as session:
        before = session.scalar(select(func.count(MediaLink.id)).where(MediaLink.method == "pdq"))
    match_case(db_ctx, "C-2")
    match_case(db_ctx, "C-1")
    with db_ctx.db.session() as session:
        pdq = select(func.count(MediaLink.id)).where(MediaLink.method == "pdq")
        assert session.scalar(pdq) == before == 2


def test_links_stay_within_an_agency(ctx: Context, tmp_path: Path) -> None:
    a = create_agency(ctx, "AA-ONE", "Agency A", "NL")
    b = create_agency(ctx, "BB-TWO", "Agency B", "BE")
    _two_cases(ctx, tmp_path, agencies=(a.id, b.id))
    # The links are stored (media are shared), but no case shows another agency's.
    assert _view(ctx, "C-1") == set()
    one, small = _sha(_photo(1)), _sha(_resized(_photo(1)))
    assert _view(ctx, "C-2") == {
        ("second:one-copy.jpg", "C-2", small, "pdq"),
        ("second:one-small.jpg", "C-2", one, "pdq"),
    }
    reader = Principal(1, "reader", b.id, "BB-TWO", Role.VICTIM_ID)
    with pytest.raises(NotFoundError, match="no case 'C-1'"):
        case_links(ctx, reader, "C-1")
    assert _view(ctx, "C-2", reader) == _view(ctx, "C-2")


def test_record_links_upserts_canonical_pairs(db_ctx: Context, tmp_path: Path) -> None:
    files = _two_cases(db_ctx, tmp_path)
    one, other = _sha(files["one.jpg"]), _sha(files["other.jpg"])
    engine = db_ctx.db.engine
    link = Link(other, one, "local-features", 0.5, (1, 2, 3, 4), (5, 6, 7, 8), {"inliers": 9})
    with engine.begin() as connection:
        assert record_links(connection, engine, [link, Link(one, one, "folder", 1.0)], by="t") == 1
        again = Link(one, other, "local-features", 0.9, (5, 6, 7, 8), None, {"inliers": 30})
        record_links(connection, engine, [again], by="t")
        with pytest.raises(ValueError, match="unknown link method"):
            record_links(connection, engine, [Link(one, other, "guess", 1.0)], by="t")
    with engine.connect() as connection:
        seen = [s for s in stored_links(connection, [other]) if s.method == "local-features"]
    assert [(s.other, s.score, s.region, s.other_region, s.details) for s in seen] == [
        (one, 0.9, None, (5, 6, 7, 8), {"inliers": 30})
    ]
    linked = {
        (link.sha256, None if link.region is None else tuple(link.region))
        for item in case_links(db_ctx, None, "C-2", ["local-features"])
        for link in item.links
        if {item.sha256, link.sha256} == {one, other}  # the copies have links of their own
    }
    assert linked == {(one, (5, 6, 7, 8)), (other, None)}
    with pytest.raises(UsageError, match="unknown link method"):
        case_links(db_ctx, None, "C-2", ["guess"])


def test_links_command_json(run_cli: RunCli, tmp_path: Path) -> None:
    data = _photo(5)
    first = _folder(tmp_path / "first", {"a.jpg": data})
    second = _folder(tmp_path / "second", {"b.jpg": _resized(data)})
    for ref, folder in (("C-1", first), ("C-2", second)):
        assert run_cli("case", "create", ref)[0] == 0
        assert run_cli("ingest", "--case", ref, folder)[0] == 0
    code, out, err = run_cli("links", "--case", "C-1", "--method", "pdq", "--json")
    assert code == 0, err
    (item,) = json.loads(out)
    assert item["sha256"] == _sha(data) and item["paths"] == ["first:a.jpg"]
    (link,) = item["links"]
    assert {k: link[k] for k in ("case", "sha256", "method", "region")} == {
        "case": "C-2",
        "sha256": _sha(_resized(data)),
        "method": "pdq",
        "region": None,
    }
    assert 0 < link["score"] <= 1
    assert run_cli("links", "--case", "NOPE")[0] == 2
