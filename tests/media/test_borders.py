"""Added-border detection on synthetic arrays whose bars sit at known rows and columns.

Pictures are seeded textures (benign noise and shapes); bars are drawn by the test, so every
expected box is exact. JPEG cases allow one 8x8 block of ringing at the bar's inner edge.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from cairn.core.settings import AnalysisSettings
from cairn.hashing.pdq import pdq_from_rgb
from cairn.media.borders import LUMA_DELTA, Trim, find_bar, find_borders
from cairn.media.image import analyse_image
from cairn.media.sniff import PNG
from cairn.media.synthetic import synthetic_image

BLACK, WHITE, GREY, NAVY = (0, 0, 0), (255, 255, 255), (128, 128, 128), (20, 30, 70)
Pixels = NDArray[np.uint8]


def picture(height: int = 200, width: int = 300, seed: int = 1) -> Pixels:
    """A textured picture whose every row and column varies well beyond LUMA_DELTA."""
    return np.asarray(synthetic_image(seed, width, height))


def framed(
    pic: Pixels,
    colour: tuple[int, int, int],
    top: int = 0,
    bottom: int = 0,
    left: int = 0,
    right: int = 0,
) -> Pixels:
    height, width = pic.shape[:2]
    out = np.empty((height + top + bottom, width + left + right, 3), np.uint8)
    out[:] = colour
    out[top : top + height, left : left + width] = pic
    return out


def with_caption(
    pic: Pixels,
    colour: tuple[int, int, int],
    bar: int,
    *,
    above: bool,
    text: str = "when the weekend finally arrives",
) -> Pixels:
    """A meme-style strip: `bar` rows of `colour` with a line of text centred in it."""
    height, width = pic.shape[:2]
    image = Image.fromarray(
        framed(pic, colour, top=bar if above else 0, bottom=0 if above else bar)
    )
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=bar // 2)
    ink = (0, 0, 0) if sum(colour) > 384 else (255, 255, 255)
    y = (0 if above else height) + bar // 4
    draw.text((width // 10, y), text, fill=ink, font=font)
    return np.asarray(image)


def jpeg_round_trip(pixels: Pixels, quality: int) -> Pixels:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=quality)
    return np.asarray(Image.open(out).convert("RGB"))


@pytest.mark.parametrize("colour", [BLACK, WHITE, GREY, NAVY])
def test_letterbox_bars_of_any_colour_give_the_exact_picture(colour: tuple[int, int, int]) -> None:
    padded = framed(picture(), colour, top=40, bottom=40)
    assert find_borders(padded) == (Trim(40, 240, 0, 300, "tb"),)


def test_pillarbox_and_uneven_bars() -> None:
    padded = framed(picture(), BLACK, left=75, right=30)
    assert find_borders(padded) == (Trim(0, 200, 75, 375, "lr"),)


def test_one_sided_bar() -> None:
    assert find_borders(framed(picture(), GREY, bottom=12)) == (Trim(0, 200, 0, 300, "b"),)


def test_a_frame_of_one_colour_is_one_candidate() -> None:
    padded = framed(picture(), WHITE, top=20, bottom=20, left=30, right=30)
    assert find_borders(padded) == (Trim(20, 220, 30, 330, "tblr"),)


def test_caption_strip_with_text_is_trimmed_whole() -> None:
    captioned = with_caption(picture(), WHITE, 48, above=True)
    assert find_bar(_luma_rows(captioned)) is not None
    assert find_borders(captioned) == (Trim(48, 248, 0, 300, "t"),)
    below = with_caption(picture(), BLACK, 48, above=False)
    assert find_borders(below) == (Trim(0, 200, 0, 300, "b"),)


def test_caption_strip_text_rows_are_mostly_not_solid() -> None:
    """The text really breaks the rows: a solid-lines-only rule would stop at the text."""
    captioned = with_caption(picture(), WHITE, 48, above=True)
    rows = _luma_rows(captioned)
    share = (np.abs(rows - 255) <= LUMA_DELTA).mean(axis=1)
    assert share[:48].min() < 0.9
    assert share[47] == 1.0  # the strip's last line, below the text, is solid


@pytest.mark.parametrize("quality", [90, 70, 30, 10])
def test_jpeg_ringing_costs_at_most_one_block(quality: int) -> None:
    """Edges off the 8x8 grid, so ringing reaches into the bars; low qualities also smear
    the caption's text over whole blocks."""
    padded = jpeg_round_trip(framed(picture(197, 300), BLACK, top=37, bottom=43), quality)
    (trim,) = find_borders(padded)
    assert trim.sides == "tb" and (trim.left, trim.right) == (0, 300)
    assert 37 - 8 <= trim.top <= 37 and 234 <= trim.bottom <= 234 + 8
    captioned = jpeg_round_trip(with_caption(picture(197, 300), NAVY, 45, above=False), quality)
    (trim,) = find_borders(captioned)
    assert trim.sides == "b" and trim.top == 0 and 197 <= trim.bottom <= 197 + 8
    captioned = jpeg_round_trip(with_caption(picture(197, 300), WHITE, 45, above=True), quality)
    (trim,) = find_borders(captioned)
    assert trim.sides == "t" and 45 - 8 <= trim.top <= 45 and trim.bottom == 45 + 197


def test_noisy_bar_within_tolerance_is_found_and_noisier_is_not() -> None:
    rng = np.random.default_rng(7)
    padded = framed(picture(), GREY, top=30).astype(np.int16)
    bar = padded[:30]
    bar += rng.integers(-3, 4, bar.shape, dtype=np.int16)
    assert find_borders(padded.astype(np.uint8)) == (Trim(30, 230, 0, 300, "t"),)
    bar += rng.integers(-20, 21, bar.shape, dtype=np.int16)
    assert find_borders(np.clip(padded, 0, 255).astype(np.uint8)) == ()


def test_mixed_colours_offer_each_colour_alone() -> None:
    """A white caption above a picture whose own sides are black: every side trimmed cuts the
    picture, the white side alone is the picture itself."""
    pic = framed(picture(height=200, width=240), BLACK, left=30, right=30)  # its own black sides
    captioned = with_caption(pic, WHITE, 48, above=True)
    assert find_borders(captioned) == (
        Trim(48, 248, 30, 270, "tlr"),
        Trim(48, 248, 0, 300, "t"),
        Trim(0, 248, 30, 270, "lr"),
    )


def test_pale_picture_between_white_bars_keeps_its_own_margins() -> None:
    """A page-like picture, near-white but not bar-white, whose columns are mostly pale: the
    bar's run across it must not reach the opposite bar and swallow the picture."""
    pale = np.full((200, 300, 3), 243, np.uint8)
    pale[:25] = (60, 120, 90)  # a coloured header
    for y in range(40, 190, 12):
        pale[y : y + 4, 20:280] = 40  # lines of text
    assert find_borders(framed(pale, WHITE, left=40, right=40)) == (Trim(0, 200, 40, 340, "lr"),)


def test_picture_dark_at_its_edges_is_not_trimmed() -> None:
    """A vignette: dim, but textured, edges are the picture's own content."""
    height, width = 200, 300
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    falloff = np.hypot((x - width / 2) / (width / 2), (y - height / 2) / (height / 2))
    vignette = np.clip(1.2 - falloff, 0.08, 1.0)[..., None]
    dark = (picture(height, width).astype(np.float32) * vignette).astype(np.uint8)
    assert dark[0].mean() < 25  # dark indeed
    assert find_borders(dark) == ()


def test_own_flat_black_band_is_trimmed_to_the_content_and_no_further() -> None:
    """A flat black band is indistinguishable from a bar: the box keeps every content row."""
    pic = picture().copy()
    pic[:15] = 0
    assert find_borders(pic) == (Trim(15, 200, 0, 300, "t"),)


@pytest.mark.parametrize(
    "pixels",
    [
        framed(picture(), BLACK, top=1, bottom=1, left=1, right=1),  # a hairline frame
        framed(picture(), BLACK, top=3),  # under 2 % of the side
        framed(picture(height=60, width=300), BLACK, top=100, bottom=100),  # bars are most of it
        np.zeros((100, 100, 3), np.uint8),  # all one colour
        picture()[:15],  # too small to judge
        np.zeros((0, 0, 3), np.uint8),
    ],
    ids=["hairline", "thin", "mostly-bars", "solid", "tiny", "empty"],
)
def test_no_borders(pixels: Pixels) -> None:
    assert find_borders(pixels) == ()


def test_find_bar_needs_a_solid_outer_line() -> None:
    lines = np.full((50, 100), 255, np.float32)
    lines[0, :10] = 0  # a tenth of the outer line is not bar-coloured
    assert find_bar(lines) is None
    lines[0, :] = 255
    lines[20:] = np.linspace(0, 255, 100, dtype=np.float32)  # the picture starts at line 20
    assert find_bar(lines) is not None and find_bar(lines).depth == 20  # type: ignore[union-attr]
    assert find_bar(np.zeros((0, 100), np.float32)) is None


def test_analysis_hashes_the_trimmed_picture_in_all_eight_orientations() -> None:
    """Through the ingest path: a letterboxed PNG's trimmed forms are the picture's own hashes,
    bit for bit, in every orientation (the flips hashed from flipped pixels, not derived)."""
    image = synthetic_image(3, 320, 240)
    pic = np.asarray(image)
    out = io.BytesIO()
    Image.fromarray(framed(pic, BLACK, top=40, bottom=40)).save(out, "PNG")
    info, errors = analyse_image(out.getvalue(), PNG, AnalysisSettings())
    assert errors == [] and info is not None
    trimmed = {v.name: v.pdq for v in info.pdq_variants if v.name.startswith("trimmed")}
    transposes = {
        "trimmed": None,
        "trimmed-rotate90": Image.Transpose.ROTATE_90,
        "trimmed-rotate180": Image.Transpose.ROTATE_180,
        "trimmed-rotate270": Image.Transpose.ROTATE_270,
        "trimmed-flipx": Image.Transpose.FLIP_TOP_BOTTOM,
        "trimmed-flipy": Image.Transpose.FLIP_LEFT_RIGHT,
        "trimmed-flipplus1": Image.Transpose.TRANSPOSE,
        "trimmed-flipminus1": Image.Transpose.TRANSVERSE,
    }
    assert set(trimmed) == set(transposes)
    for name, method in transposes.items():
        turned = image if method is None else image.transpose(method)
        assert trimmed[name] == pdq_from_rgb(np.asarray(turned)).hex, name


def _luma_rows(rgb: Pixels) -> NDArray[np.float32]:
    weights = np.array([0.299, 0.587, 0.114], np.float32)
    return rgb.astype(np.float32) @ weights
