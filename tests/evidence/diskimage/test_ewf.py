"""E01 sets with damage: a missing segment, a truncated one."""

from __future__ import annotations

import os
from pathlib import Path

from tests.evidence.diskimage.builders import (
    BLOB,
    NOTES,
    make_e01,
    make_fat,
    sha256,
)
from tests.evidence.diskimage.readback import one, run_ingest, stored

from cairn.services.context import Context


def _missing_segment_case(tmp_path: Path) -> tuple[Path, Path]:
    image = make_fat(tmp_path / "fat.dd", {"small.txt": NOTES, "big.bin": BLOB * 40})
    return image, make_e01(image, tmp_path / "ewf" / "fat")


def test_e01_with_a_missing_segment(ctx: Context, tmp_path: Path) -> None:
    _, e01 = _missing_segment_case(tmp_path)
    e01.with_suffix(".E03").unlink()
    summary = run_ingest(ctx, e01)
    assert summary.exit_code == 1
    rows = stored(ctx, "fat.E01")
    assert one(rows, b"small.txt").sha256 == sha256(NOTES)
    assert one(rows, b"big.bin").sha256 is None
    assert "missing segment file" in one(rows, b"big.bin").errors[0][1]
    assert one(rows, b".").errors == (("image", "the segment after fat.E02 is missing"),)


def test_e01_with_a_truncated_segment(ctx: Context, tmp_path: Path) -> None:
    _, e01 = _missing_segment_case(tmp_path)
    os.truncate(e01.with_suffix(".E02"), 4096)
    summary = run_ingest(ctx, e01)
    assert summary.exit_code == 1
    rows = stored(ctx, "fat.E01")
    assert one(rows, b"small.txt").sha256 == sha256(NOTES)
    # libewf zero-fills what the cut segment lost; the damage is reported on the image.
    assert one(rows, b".").errors == (
        ("image", "segment fat.E02 is damaged: the sectors section at byte 1141 runs to "
                  "byte 1017149, past the end of the file (4096 bytes)"),
    )  # fmt: skip
