"""PDQ bands and triage at their exact edges: threshold, review band, low quality.

Each test ingests one benign generated PNG (lossless, so Cairn's PDQ of it is known exactly)
and imports a hash set holding that PDQ with a chosen number of bits flipped: the distance
between the image and the "known" entry is then exactly that number.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.core.records import ImageInfo
from cairn.core.settings import AnalysisSettings
from cairn.core.thresholds import PDQ_POSSIBLE_MAX
from cairn.core.types import Triage
from cairn.hashing.pdq import hamming
from cairn.media.image import analyse_image
from cairn.media.sniff import PNG
from cairn.media.synthetic import synthetic_image
from cairn.services.cases import create_case, get_case
from cairn.services.context import Context
from cairn.services.hashsets import import_hashset
from cairn.services.ingest import ingest
from cairn.services.matching import best_matches, match_case
from cairn.services.triage import review_queue, triage_report
from cairn.store.models import Match


def _png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def _photo() -> bytes:
    return _png(np.asarray(synthetic_image(11, 320, 240)))


def _faint_pattern(amplitude: float) -> bytes:
    """A grey sinusoidal pattern: the fainter it is, the lower its PDQ quality."""
    y, x = np.mgrid[0:240, 0:320].astype(np.float32)
    grey = 110 + amplitude * np.sin(x / 320 * 6.28 * 3) * np.cos(y / 240 * 6.28 * 2)
    return _png(np.repeat(grey[..., None], 3, axis=2).astype(np.uint8))


def _analysed(data: bytes) -> ImageInfo:
    info, errors = analyse_image(data, PNG, AnalysisSettings())
    assert errors == [] and info is not None and info.pdq is not None
    return info


def _flip(pdq: str, bits: int) -> str:
    """`pdq` with its `bits` most significant bits flipped: exactly `bits` away."""
    value = int(pdq, 16) ^ (((1 << bits) - 1) << (256 - bits))
    return f"{value:064x}"


def _run(
    ctx: Context, tmp_path: Path, data: bytes, known_pdq: str, threshold: int = 31
) -> tuple[str, list[tuple[str, int, str]]]:
    """Import the one-entry set, ingest the one image, match; return its triage bucket and
    its PDQ match rows (band, distance, variant)."""
    (tmp_path / "device").mkdir()
    (tmp_path / "device" / "picture.png").write_bytes(data)
    hashset = tmp_path / "known.csv"
    hashset.write_text(f"pdq,category\n{known_pdq},vics:1\n")
    assert import_hashset(ctx, hashset, "known", pdq_threshold=threshold).records == 1
    create_case(ctx, "C-1")
    ingest(ctx, "C-1", tmp_path / "device", workers=0)
    match_case(ctx, "C-1")
    with ctx.db.engine.connect() as connection:
        with Session(bind=connection) as session:
            case_id = get_case(session, "C-1").id
        best = best_matches(connection, case_id)
        rows = connection.execute(
            select(Match.band, Match.distance, Match.variant).where(Match.method == "pdq")
        ).all()
    assert len(best) <= 1
    bucket = next(iter(best.values())).triage.value if best else Triage.NEW.value
    assert triage_report(ctx, "C-1").totals[bucket] == 1
    return bucket, [tuple(row) for row in rows]  # type: ignore[misc]


def _assert_only_plain_form_in_reach(info: ImageInfo, known_pdq: str) -> None:
    """The construction's premise: no rotation, flip or trimmed form comes near the entry, so
    the plain hash alone decides."""
    assert min(hamming(v.pdq, known_pdq) for v in info.pdq_variants) > PDQ_POSSIBLE_MAX


@pytest.mark.parametrize(
    ("bits", "bucket", "rows"),
    [
        (0, "near-known", [("match", 0, "")]),
        (31, "near-known", [("match", 31, "")]),
        (32, "possible", [("possible", 32, "")]),
        (40, "possible", [("possible", 40, "")]),
        (52, "possible", [("possible", 52, "")]),
        (53, "new", []),
    ],
)
def test_default_threshold_and_review_band(
    ctx: Context, tmp_path: Path, bits: int, bucket: str, rows: list[tuple[str, int, str]]
) -> None:
    data = _photo()
    info = _analysed(data)
    assert info.pdq_quality is not None and info.pdq_quality >= 50  # quality plays no part
    known = _flip(info.pdq or "", bits)
    assert hamming(known, info.pdq or "") == bits
    _assert_only_plain_form_in_reach(info, known)
    assert _run(ctx, tmp_path, data, known) == (bucket, rows)


@pytest.mark.parametrize(
    ("bits", "bucket", "rows"),
    [
        (10, "near-known", [("match", 10, "")]),
        (11, "possible", [("possible", 11, "")]),
        (20, "possible", [("possible", 20, "")]),
    ],
)
def test_a_sets_own_threshold_moves_the_band(
    ctx: Context, tmp_path: Path, bits: int, bucket: str, rows: list[tuple[str, int, str]]
) -> None:
    """With pdq_threshold=10 a copy 20 bits away is only possible, never near-known."""
    data = _photo()
    info = _analysed(data)
    known = _flip(info.pdq or "", bits)
    _assert_only_plain_form_in_reach(info, known)
    assert _run(ctx, tmp_path, data, known, threshold=10) == (bucket, rows)


def test_low_quality_match_is_flagged_not_matched_silently(ctx: Context, tmp_path: Path) -> None:
    """Quality under 50: the hit is recorded in the match band (distance 0) but triage says
    "possible", and the item waits in the review queue."""
    data = _faint_pattern(20)
    info = _analysed(data)
    assert info.pdq_quality is not None and 0 < info.pdq_quality < 50
    known = info.pdq or ""
    _assert_only_plain_form_in_reach(info, known)
    assert _run(ctx, tmp_path, data, known) == ("possible", [("match", 0, "")])
    (group,) = review_queue(ctx, "C-1")
    assert (group.lead.triage, group.lead.paths) == ("possible", ("device:picture.png",))


def test_same_pattern_at_good_quality_is_near_known(ctx: Context, tmp_path: Path) -> None:
    """The control for the test above: only the quality differs."""
    data = _faint_pattern(40)
    info = _analysed(data)
    assert info.pdq_quality is not None and info.pdq_quality >= 50
    _assert_only_plain_form_in_reach(info, info.pdq or "")
    assert _run(ctx, tmp_path, data, info.pdq or "") == ("near-known", [("match", 0, "")])
    assert review_queue(ctx, "C-1") == []
