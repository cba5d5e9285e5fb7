"""PDQ against the ThreatExchange reference values (see shared/data/threatexchange/README.md)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cairn.hashing.pdq import (
    ZERO_HEX,
    DihedralVariant,
    PdqHash,
    dihedral_from_image,
    hamming,
    pdq_from_image,
    pdq_from_luma,
    pdq_from_rgb,
)

THREATEXCHANGE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "threatexchange"
DIH = THREATEXCHANGE / "pdq" / "data" / "reg-test-input" / "dih"


def _rows(name: str) -> list[dict[str, str]]:
    with (THREATEXCHANGE / name).open(newline="") as stream:
        return [
            row for row in csv.DictReader(stream) if (THREATEXCHANGE / row["image_path"]).is_file()
        ]


def _cpp_reference_rows() -> list[dict[str, str]]:
    """C++ reference rows for images of quality >= 80, where PDQ promises 10 bits.

    The older C++ run gives no quality; the int64 run of the same C++ code does.
    """
    rows = [r for r in _rows("EXPECTED_PDQ_HASHES.csv") if r["implementation"].startswith("cpp-")]
    quality = {r["image_path"]: int(r["quality"]) for r in rows if r["quality"]}
    return [r for r in rows if quality[r["image_path"]] >= 80]


COMPUTED = _rows("COMPUTED_pdqhash_0.2.8.csv")
CPP_REFERENCE = _cpp_reference_rows()


def _hash_file(relative: str) -> PdqHash:
    with Image.open(THREATEXCHANGE / relative) as img:
        return pdq_from_image(img)


def test_reference_files_are_present() -> None:
    # The parametrised tests below silently shrink if the shared data goes missing.
    assert len(COMPUTED) == 55
    assert len(CPP_REFERENCE) == 37


@pytest.mark.parametrize("row", COMPUTED, ids=[r["image_path"] for r in COMPUTED])
def test_equals_pdqhash_reference_exactly(row: dict[str, str]) -> None:
    assert _hash_file(row["image_path"]) == PdqHash(row["pdq_hex"], int(row["quality"]))


@pytest.mark.parametrize(
    "row",
    CPP_REFERENCE,
    ids=[f"{r['implementation'][:25]}:{r['image_path']}" for r in CPP_REFERENCE],
)
def test_within_conformance_distance_of_cpp_reference(row: dict[str, str]) -> None:
    ours = _hash_file(row["image_path"])
    assert ours.quality >= 80
    assert hamming(ours.hex, row["pdq_hex"]) <= 10


# Which variant of the original each rotated file matches, and how far (measured, pdqhash 0.2.8).
DIHEDRAL_FILES = {
    "bridge-1-original.jpg": (DihedralVariant.ORIGINAL, 0),
    "bridge-2-rotate-90.jpg": (DihedralVariant.ROTATE90, 2),
    "bridge-3-rotate-180.jpg": (DihedralVariant.ROTATE180, 8),
    "bridge-4-rotate-270.jpg": (DihedralVariant.ROTATE270, 8),
    "bridge-5-flipx.jpg": (DihedralVariant.FLIPX, 8),
    "bridge-6-flipy.jpg": (DihedralVariant.FLIPY, 2),
    "bridge-7-flip-plus-1.jpg": (DihedralVariant.FLIPPLUS1, 0),
    "bridge-8-flip-minus-1.jpg": (DihedralVariant.FLIPMINUS1, 8),
}


@pytest.fixture(scope="module")
def original_variants() -> dict[DihedralVariant, str]:
    with Image.open(DIH / "bridge-1-original.jpg") as img:
        dihedral = dihedral_from_image(img)
    assert dihedral.quality == 100
    return dict(dihedral.hashes)


@pytest.mark.parametrize("name", DIHEDRAL_FILES)
def test_rotated_copy_matches_its_dihedral_variant(
    name: str, original_variants: dict[DihedralVariant, str]
) -> None:
    plain = _hash_file(f"pdq/data/reg-test-input/dih/{name}").hex
    distances = {variant: hamming(plain, h) for variant, h in original_variants.items()}
    best = min(distances, key=distances.__getitem__)
    assert (best, distances[best]) == DIHEDRAL_FILES[name]
    # Every other variant is far: the plain hash alone would miss a rotated copy.
    assert all(d > 100 for v, d in distances.items() if v != best)


def test_dihedral_original_is_the_plain_hash(original_variants: dict[DihedralVariant, str]) -> None:
    assert (
        original_variants[DihedralVariant.ORIGINAL]
        == _hash_file("pdq/data/reg-test-input/dih/bridge-1-original.jpg").hex
    )
    assert list(original_variants) == list(DihedralVariant)


@pytest.mark.parametrize("shape", [(0, 0), (4, 4), (4, 100), (100, 4), (1, 1)])
def test_images_under_five_pixels_hash_to_zero(shape: tuple[int, int]) -> None:
    pixels = np.full((*shape, 3), 200, dtype=np.uint8)
    assert pdq_from_rgb(pixels) == PdqHash(ZERO_HEX, 0)
    img = Image.new("RGB", (max(shape[1], 1), max(shape[0], 1)), (10, 200, 30))
    if min(img.size) < 5:
        dihedral = dihedral_from_image(img)
        assert dihedral.quality == 0
        assert set(dihedral.hashes.values()) == {ZERO_HEX}


def test_five_pixels_is_hashed() -> None:
    pixels = np.arange(5 * 5 * 3, dtype=np.uint8).reshape(5, 5, 3)
    assert pdq_from_rgb(pixels).hex != ZERO_HEX


def test_luma_equals_reference_for_grey_images() -> None:
    # pdq_from_luma avoids building a 3-channel copy; for an 'L' image it must be exact.
    with Image.open(THREATEXCHANGE / "pdq/data/misc-images/modes/L.png") as img:
        img.load()
        assert img.mode == "L"
        expected = pdq_from_rgb(np.asarray(img.convert("RGB")))
        assert pdq_from_luma(np.asarray(img)) == expected
        assert pdq_from_image(img) == expected


def test_hamming() -> None:
    a = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    assert hamming(a, a) == 0
    assert hamming(ZERO_HEX, "f" * 64) == 256
    assert hamming(ZERO_HEX, "0" * 63 + "1") == 1
    assert hamming(a, a.upper()) == 0


@pytest.mark.parametrize("bad", ["", "0" * 62, "0" * 66, "0x" + "0" * 62, "g" * 64, "+" + "0" * 63])
def test_hamming_rejects_non_pdq_text(bad: str) -> None:
    with pytest.raises(ValueError):
        hamming(bad, ZERO_HEX)
