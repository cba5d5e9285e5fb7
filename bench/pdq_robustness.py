"""PDQ robustness: Cairn's real matching path against two PDQ peers on a benign transform suite.

The bench generates every copy itself from benign originals (seeded synthetic pictures in five
styles, and the public ThreatExchange sample photos under ../shared/data), so the run is
reproducible and nothing but benign pixels is ever touched.

Cairn   the real path in one run: the originals' PDQ written as a plain CSV list (`pdq,series`)
        and imported with import_hashset; every copy and distractor put in one device folder,
        ingested (workers=2) and matched; a copy is found on a match-band hit on its own
        original (distance <= 31 in any variant, the peer's criterion); "cleared" counts those
        also triaged known/near-known, i.e. not held as `possible` for PDQ quality < 50.
peers   both on Image.open().convert('RGB') (full decode, no border trimming), a match when
        the Hamming distance to the copy's original is <= 31:
        plain PDQ       as python-threatexchange computes it: pdqhash.compute, one orientation;
        pdqhash dihedral  what the pdqhash package itself offers a user: compute_dihedral's
                        eight hashes (rotations and mirrors, from one DCT), all eight queried.

Prints recall per transform family for all three, false matches on the distractors (any
match-band hit on a known hash from an unrelated image), and PASS/FAIL for the bar of issue 3:
Cairn at least as good as plain PDQ on every family, strictly better on rotation/mirror and
letterbox/pillarbox padding, zero false matches on distractors; families where Cairn finds fewer
than the dihedral peer are marked. Crops are expected to be weak for all. Then the copies where
Cairn and a peer disagree, and an ablation of one Cairn choice: flips of small pictures hashed
from flipped pixels rather than derived from one DCT (distance and analysis time, best of
three interleaved runs after a warm-up).

    .venv/bin/python bench/pdq_robustness.py [--quick] [--keep DIR] [--list]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont
from sqlalchemy import select
from sqlalchemy.orm import Session

from _harness import load, machine, ratio, versus
from cairn.core.settings import AnalysisSettings
from cairn.core.types import Triage
from cairn.hashing.pdq import hamming
from cairn.media.image import analyse_image
from cairn.media.sniff import JPEG
from cairn.media.synthetic import synthetic_image
from cairn.services.cases import create_case, get_case
from cairn.services.context import Context
from cairn.services.hashsets import import_hashset
from cairn.services.ingest import ingest
from cairn.services.matching import best_matches, match_case
from cairn.store.models import Evidence, KnownHash, Match, Occurrence

SEED = 20_261_203
PEER_THRESHOLD = 31
WORKERS = 2
SAMPLES = Path(__file__).resolve().parents[1] / ".." / "shared/data/threatexchange/pdq/data"
STRICTLY_BETTER = ("rotate", "mirror", "letterbox", "pillarbox")
# Benign caption and watermark texts, as re-shared pictures carry them.
CAPTIONS = (
    "when the weekend finally arrives",
    "Monday mood",
    "view from the office window",
    "nobody: / me at 3 am:",
    "best holiday ever!!",
    "found this on my phone",
)
WATERMARKS = ("@sunny_days_88", "shared via Chatter", "IMG_2041", "(c) photo club")

BLACK, WHITE, GREY, NAVY = (0, 0, 0), (255, 255, 255), (128, 128, 128), (20, 30, 70)

Picture = Image.Image
Rng = np.random.Generator


# ---------------------------------------------------------------- originals and distractors


@dataclass(frozen=True)
class Source:
    """One benign picture: a seeded synthetic one (style, seed, size) or a sample file."""

    name: str
    style: str  # a key of STYLES, or "file"
    seed: int = 0
    size: tuple[int, int] = (0, 0)
    path: str = ""  # sample file, relative to SAMPLES
    shrink: int = 1  # a sample file reduced by this factor (keeps the run short)

    def load(self) -> Picture:
        if self.style == "file":
            with Image.open(SAMPLES / self.path) as image:
                rgb = image.convert("RGB")  # pixels as stored: no EXIF rotation, like PDQ
            return rgb.reduce(self.shrink) if self.shrink > 1 else rgb
        return STYLES[self.style](self.seed, *self.size)


def _value_noise(rng: Rng, width: int, height: int, octaves: int) -> np.ndarray:
    """Fractal noise in [0, 1]: random grids upsampled bicubically and summed, the finer ones
    weighted enough to give the texture a photograph has (PDQ quality grows with it)."""
    total = np.zeros((height, width), np.float32)
    for octave in range(octaves):
        cells = 3 * 2**octave
        grid = rng.random((cells, cells)).astype(np.float32)
        layer = Image.fromarray(grid, "F").resize((width, height), Image.Resampling.BICUBIC)
        total += np.asarray(layer) * 0.7**octave
    total -= total.min()
    return total / max(float(total.max()), 1e-6)


def clouds(seed: int, width: int, height: int) -> Picture:
    """Fractal noise through a random dark-mid-light palette: soft, photo-like texture."""
    rng = np.random.default_rng(seed)
    noise = _value_noise(rng, width, height, 7)[..., None]
    low, mid, high = (
        rng.integers(a, b, 3).astype(np.float32) for a, b in ((0, 90), (40, 220), (160, 256))
    )
    rgb = np.where(
        noise < 0.5, low + (mid - low) * noise * 2, mid + (high - mid) * (noise - 0.5) * 2
    )
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def landscape(seed: int, width: int, height: int) -> Picture:
    """Sky gradient, sun, ridges of hills and a textured foreground."""
    rng = np.random.default_rng(seed)
    top, bottom = rng.integers(40, 256, 3), rng.integers(0, 200, 3)
    ramp = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    sky = top + (bottom - top) * ramp
    image = Image.fromarray(np.broadcast_to(sky, (height, width, 3)).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    sun_x, sun_y = int(rng.integers(0, width)), int(rng.integers(0, height // 2))
    radius = int(rng.integers(height // 20, height // 7))
    draw.ellipse(
        (sun_x - radius, sun_y - radius, sun_x + radius, sun_y + radius),
        fill=tuple(int(c) for c in rng.integers(180, 256, 3)),
    )
    for ridge in range(int(rng.integers(3, 6))):
        base = height * (0.35 + 0.12 * ridge)
        xs = np.linspace(0, width, 12)
        ys = base + rng.normal(0, height * 0.06, xs.size)
        colour = tuple(int(c) for c in rng.integers(0, 160, 3))
        draw.polygon(
            [*zip(xs.tolist(), ys.tolist(), strict=True), (width, height), (0, height)], fill=colour
        )
    pixels = np.asarray(image).astype(np.float32)
    pixels += (_value_noise(rng, width, height, 7)[..., None] - 0.5) * 90
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def night(seed: int, width: int, height: int) -> Picture:
    """Lit shapes in a strong vignette: the picture's own content is near-black at its
    edges, the case where border trimming must not cost the plain hash."""
    rng = np.random.default_rng(seed)
    image = synthetic_image(seed, width, height)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = rng.uniform(0.35, 0.65) * width, rng.uniform(0.35, 0.65) * height
    falloff = np.hypot((x - cx) / (0.5 * width), (y - cy) / (0.5 * height))
    vignette = np.clip(1.3 - falloff, 0, 1) ** 2
    pixels = np.asarray(image).astype(np.float32) * vignette[..., None]
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def page(seed: int, width: int, height: int) -> Picture:
    """A screenshot-like page: light background and margins, a coloured header, blocks of
    text lines and a picture; its own margins look like added white borders."""
    rng = np.random.default_rng(seed)
    background = tuple(int(c) for c in rng.integers(235, 256, 3))
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    header = int(height * rng.uniform(0.08, 0.15))
    draw.rectangle((0, 0, width, header), fill=tuple(int(c) for c in rng.integers(0, 200, 3)))
    margin = int(width * 0.08)
    y = header + margin // 2
    font = ImageFont.load_default(size=max(10, height // 40))
    while y < height - margin:
        if rng.random() < 0.2:
            box_h = int(height * rng.uniform(0.15, 0.3))
            inset = synthetic_image(int(rng.integers(1 << 30)), width - 2 * margin, box_h)
            image.paste(inset, (margin, y))
            y += box_h + margin // 3
        else:
            words = " ".join(CAPTIONS[int(i)] for i in rng.integers(0, len(CAPTIONS), 3))
            draw.text((margin, y), words, fill=(30, 30, 30), font=font)
            y += int(height / 28)
    return image


STYLES: dict[str, Callable[[int, int, int], Picture]] = {
    "synthetic": synthetic_image,
    "clouds": clouds,
    "landscape": landscape,
    "night": night,
    "page": page,
}
SIZES = ((640, 480), (1024, 768), (600, 900), (1280, 720), (800, 800), (1600, 1200))

# Sample photos (benign, see ../shared/data/threatexchange/README.md): (path, shrink). The
# known set gets the bridge, three LabelMe scenes (already padded with grey by LabelMe), two
# phone photos (one at its full 12 MP, which Cairn decodes in draft mode), the pen and coaster
# and c.png; the other LabelMe scenes and phone photos (same kinds of picture), the
# near-featureless quality 3/4 scenes, a black and a tiny image are distractors.
KNOWN_FILES = (
    ("bridge-mods/aaa-orig.jpg", 1),
    ("reg-test-input/labelme-subset/q0122.jpg", 1),
    ("reg-test-input/labelme-subset/q0291.jpg", 1),
    ("reg-test-input/labelme-subset/q0746.jpg", 1),
    ("reg-test-input/exif-rotn/exif-rotn-1.jpg", 1),
    ("reg-test-input/exif-rotn/exif-rotn-6.jpg", 2),
    ("reg-test-input/pen-and-coaster.png", 1),
    ("misc-images/c.png", 1),
)
DISTRACTOR_FILES = (
    ("reg-test-input/labelme-subset/q1050.jpg", 1),
    ("reg-test-input/labelme-subset/q2821.jpg", 1),
    ("reg-test-input/labelme-subset/q0003.jpg", 1),
    ("reg-test-input/labelme-subset/q0004.jpg", 1),
    ("reg-test-input/exif-rotn/exif-rotn-3.jpg", 2),
    ("reg-test-input/exif-rotn/exif-rotn-8.jpg", 2),
    ("misc-images/small.jpg", 1),
    ("misc-images/wee.jpg", 1),
)
QUICK_KNOWN_FILES = KNOWN_FILES[:2] + KNOWN_FILES[6:7]
QUICK_DISTRACTOR_FILES = DISTRACTOR_FILES[:4]


def sources(
    per_style: int, files: Sequence[tuple[str, int]], seed_base: int, prefix: str
) -> list[Source]:
    out = []
    for style_index, style in enumerate(STYLES):
        for i in range(per_style):
            seed = seed_base + 100 * style_index + i
            size = SIZES[(style_index + i) % len(SIZES)]
            out.append(Source(f"{prefix}-{style}-{i}", style, seed, size))
    out += [Source(f"{prefix}-{Path(p).stem}", "file", path=p, shrink=k) for p, k in files]
    return out


# ---------------------------------------------------------------- the transform suite


@dataclass(frozen=True)
class Transform:
    family: str
    name: str
    apply: Callable[[Picture, Rng], Picture]
    quality: int = 90  # JPEG quality the copy is saved at, as a re-share would


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, size))


def identity(img: Picture, rng: Rng) -> Picture:
    return img


def resize(factor: float, img: Picture, rng: Rng) -> Picture:
    width, height = img.size
    return img.resize(
        (max(1, round(width * factor)), max(1, round(height * factor))), Image.Resampling.LANCZOS
    )


def crop(share: float, sides: str, img: Picture, rng: Rng) -> Picture:
    """Cut `share` of the width/height from every side ("each") or from one seeded side."""
    width, height = img.size
    dx, dy = round(width * share), round(height * share)
    if sides == "each":
        return img.crop((dx, dy, width - dx, height - dy))
    side = ("top", "bottom", "left", "right")[int(rng.integers(4))]
    box = {
        "top": (0, dy, width, height),
        "bottom": (0, 0, width, height - dy),
        "left": (dx, 0, width, height),
        "right": (0, 0, width - dx, height),
    }[side]
    return img.crop(box)


def transpose(method: Image.Transpose, img: Picture, rng: Rng) -> Picture:
    return img.transpose(method)


def enhance(
    kind: type[ImageEnhance.Brightness | ImageEnhance.Contrast],
    factor: float,
    img: Picture,
    rng: Rng,
) -> Picture:
    return kind(img).enhance(factor)


def blur(share: float, img: Picture, rng: Rng) -> Picture:
    return img.filter(ImageFilter.GaussianBlur(max(1.0, share * min(img.size))))


def greyscale(img: Picture, rng: Rng) -> Picture:
    return img.convert("L")


def caption(colour: tuple[int, int, int], above: bool, img: Picture, rng: Rng) -> Picture:
    """A solid strip with a line of text in it, above or below the picture (meme style)."""
    width, height = img.size
    bar = max(24, round(height * 0.16))
    out = Image.new("RGB", (width, height + bar), colour)
    out.paste(img, (0, bar if above else 0))
    ink = (0, 0, 0) if sum(colour) > 384 else (255, 255, 255)
    text = CAPTIONS[int(rng.integers(len(CAPTIONS)))]
    draw = ImageDraw.Draw(out)
    size = round(bar * 0.5)  # half the strip's height, or less to fit 90 % of its width
    size = min(size, int(size * 0.9 * width / draw.textlength(text, font=_font(size))))
    font = _font(size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = (width - (right - left)) // 2 - left
    y = (0 if above else height) + (bar - (bottom - top)) // 2 - top
    draw.text((x, y), text, fill=ink, font=font)
    return out


def pad(
    colour: tuple[int, int, int], share: float, vertical: bool, img: Picture, rng: Rng
) -> Picture:
    """Solid bars of `share` of the picture's height (letterbox) or width (pillarbox) on
    both sides, as a video frame or a fixed-aspect re-share adds them."""
    width, height = img.size
    if vertical:
        bar = round(height * share)
        out = Image.new("RGB", (width, height + 2 * bar), colour)
        out.paste(img, (0, bar))
    else:
        bar = round(width * share)
        out = Image.new("RGB", (width + 2 * bar, height), colour)
        out.paste(img, (bar, 0))
    return out


def overlay(centred: bool, img: Picture, rng: Rng) -> Picture:
    """A small watermark-like text with an outline, in a corner or in the middle."""
    out = img.copy()
    width, height = out.size
    text = WATERMARKS[int(rng.integers(len(WATERMARKS)))]
    size = round(min(width, height) * 0.035)
    font = _font(size)
    draw = ImageDraw.Draw(out)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    if centred:
        xy = ((width - (right - left)) // 2, (height - (bottom - top)) // 2)
    else:
        xy = (width - (right - left) - width // 30, height - (bottom - top) - height // 20)
    draw.text(xy, text, fill=WHITE, font=font, stroke_width=max(1, size // 12), stroke_fill=BLACK)
    return out


T = Image.Transpose
TRANSFORMS: tuple[Transform, ...] = (
    Transform("identity", "original-q90", identity),
    Transform("resize", "resize-50", partial(resize, 0.5)),
    Transform("resize", "resize-25", partial(resize, 0.25)),
    Transform("jpeg", "jpeg-q30", identity, quality=30),
    Transform("jpeg", "jpeg-q10", identity, quality=10),
    Transform("crop-each", "crop-each-2", partial(crop, 0.02, "each")),
    Transform("crop-each", "crop-each-5", partial(crop, 0.05, "each")),
    Transform("crop-each", "crop-each-10", partial(crop, 0.10, "each")),
    Transform("crop-one", "crop-one-2", partial(crop, 0.02, "one")),
    Transform("crop-one", "crop-one-5", partial(crop, 0.05, "one")),
    Transform("crop-one", "crop-one-10", partial(crop, 0.10, "one")),
    Transform("rotate", "rotate-90", partial(transpose, T.ROTATE_90)),
    Transform("rotate", "rotate-180", partial(transpose, T.ROTATE_180)),
    Transform("rotate", "rotate-270", partial(transpose, T.ROTATE_270)),
    Transform("mirror", "mirror-h", partial(transpose, T.FLIP_LEFT_RIGHT)),
    Transform("mirror", "mirror-v", partial(transpose, T.FLIP_TOP_BOTTOM)),
    Transform("bright-contrast", "brighter", partial(enhance, ImageEnhance.Brightness, 1.35)),
    Transform("bright-contrast", "darker", partial(enhance, ImageEnhance.Brightness, 0.65)),
    Transform("bright-contrast", "contrast-up", partial(enhance, ImageEnhance.Contrast, 1.5)),
    Transform("bright-contrast", "contrast-down", partial(enhance, ImageEnhance.Contrast, 0.6)),
    Transform("blur", "blur-light", partial(blur, 0.004)),
    Transform("blur", "blur-heavy", partial(blur, 0.012)),
    Transform("greyscale", "greyscale", greyscale),
    Transform("caption", "caption-white-above", partial(caption, WHITE, True)),
    Transform("caption", "caption-white-below", partial(caption, WHITE, False)),
    Transform("caption", "caption-black-above", partial(caption, BLACK, True)),
    Transform("caption", "caption-navy-below", partial(caption, NAVY, False)),
    Transform("letterbox", "letterbox-black-12", partial(pad, BLACK, 0.125, True)),
    Transform("letterbox", "letterbox-black-25", partial(pad, BLACK, 0.25, True)),
    Transform("letterbox", "letterbox-white-12", partial(pad, WHITE, 0.125, True)),
    Transform("letterbox", "letterbox-navy-q70", partial(pad, NAVY, 0.15, True), quality=70),
    Transform("pillarbox", "pillarbox-black-12", partial(pad, BLACK, 0.125, False)),
    Transform("pillarbox", "pillarbox-black-25", partial(pad, BLACK, 0.25, False)),
    Transform("pillarbox", "pillarbox-grey-12", partial(pad, GREY, 0.125, False)),
    Transform("pillarbox", "pillarbox-white-q70", partial(pad, WHITE, 0.15, False), quality=70),
    Transform("overlay", "overlay-corner", partial(overlay, False)),
    Transform("overlay", "overlay-centre", partial(overlay, True)),
)
TRANSFORM_BY_NAME = {t.name: t for t in TRANSFORMS}
# Distractors get the transforms that give Cairn extra forms to query (rotations, trimmed
# borders): where a false match would come from if there were one.
DISTRACTOR_TRANSFORMS = (
    "original-q90",
    "rotate-90",
    "mirror-h",
    "caption-white-below",
    "letterbox-black-12",
    "pillarbox-grey-12",
)
QUICK_TRANSFORMS = (
    "original-q90",
    "resize-25",
    "jpeg-q10",
    "crop-each-5",
    "rotate-90",
    "mirror-h",
    "brighter",
    "blur-heavy",
    "greyscale",
    "caption-white-above",
    "letterbox-black-12",
    "pillarbox-grey-12",
    "overlay-corner",
)


# ---------------------------------------------------------------- generation (in workers)


@dataclass(frozen=True)
class Copy:
    file: str  # relative to the device folder
    original: str  # the Source name, or "" for a distractor
    family: str  # "distractor" for distractors
    transform: str


def _save(img: Picture, path: Path, quality: int) -> None:
    img.save(path, "JPEG", quality=quality)


def _original_file(source: Source, known_dir: Path) -> Path:
    """The known original as a file: a sample keeps its own bytes, a synthetic or shrunk
    one is written as a JPEG."""
    if source.style == "file" and source.shrink == 1:
        return SAMPLES / source.path
    path = known_dir / f"{source.name}.jpg"
    _save(source.load(), path, 95)
    return path


def make_copies(
    job: tuple[int, Source, bool, tuple[str, ...]], device: Path, known_dir: Path
) -> tuple[str, str, list[Copy]]:
    """All copies of one source: (source name, original's path or "", copies)."""
    index, source, known, names = job
    original = str(_original_file(source, known_dir)) if known else ""
    if original:
        with Image.open(original) as image:
            picture = image.convert("RGB")  # copies start from the known file's own pixels
    else:
        picture = source.load()
    copies = []
    for position, name in enumerate(names):
        transform = TRANSFORM_BY_NAME[name]
        rng = np.random.default_rng([SEED, index, position])
        file = f"{source.name}--{name}.jpg"
        _save(transform.apply(picture, rng), device / file, transform.quality)
        family = transform.family if known else "distractor"
        copies.append(Copy(file, source.name if known else "", family, name))
    return source.name, original, copies


@dataclass(frozen=True)
class PeerPdq:
    """Both peers' hashes of one file: pdqhash.compute_dihedral, whose first hash is the plain
    pdqhash.compute one (python-threatexchange's PDQ: full decode, convert('RGB'))."""

    dihedral: tuple[str, ...]  # the image as stored first, then its seven rotations/mirrors
    quality: int

    @property
    def plain(self) -> str:
        return self.dihedral[0]


def peer_pdq(path: Path) -> PeerPdq:
    with Image.open(path) as image:
        hashes, quality = pdqhash.compute_dihedral(np.asarray(image.convert("RGB")))
    return PeerPdq(tuple(np.packbits(bits).tobytes().hex() for bits in hashes), int(quality))


# ---------------------------------------------------------------- the Cairn path


@dataclass(frozen=True)
class Hit:
    band: str  # match or possible
    distance: int
    variant: str  # "" = the image as stored, else the dihedral or trimmed form
    original: str  # the known hash's series: the original's Source name


@dataclass(frozen=True)
class CairnResult:
    bucket: str
    hits: tuple[Hit, ...]


def run_cairn(workspace: Path, hashset: Path, device: Path) -> tuple[dict[str, CairnResult], str]:
    """Import, ingest, match as a user would; return each device file's bucket and PDQ hits."""
    ctx = Context.open(workspace)
    try:
        imported = import_hashset(ctx, hashset, "known-originals")
        create_case(ctx, "ROBUSTNESS")
        started = time.monotonic()
        ingested = ingest(ctx, "ROBUSTNESS", device, workers=WORKERS)
        ingest_s = time.monotonic() - started
        matched = match_case(ctx, "ROBUSTNESS")
        with ctx.db.engine.connect() as connection:
            with Session(bind=connection) as session:
                case_id = get_case(session, "ROBUSTNESS").id
            best = best_matches(connection, case_id)
            files = connection.execute(
                select(Occurrence.path, Occurrence.media_sha256)
                .join(Evidence, Evidence.id == Occurrence.evidence_id)
                .where(Evidence.case_id == case_id)
            ).all()
            rows = connection.execute(
                select(
                    Match.media_sha256, Match.band, Match.distance, Match.variant, KnownHash.series
                )
                .join(KnownHash, KnownHash.id == Match.known_hash_id)
                .where(Match.method == "pdq")
            ).all()
    finally:
        ctx.close()
    hits: dict[str, list[Hit]] = defaultdict(list)
    for sha, band, distance, variant, series in rows:
        hits[sha].append(Hit(band, distance, variant, series or ""))
    results = {}
    for path, media in files:
        found = best.get(media) if media else None
        bucket = found.triage.value if found else Triage.NEW.value
        results[path.decode()] = CairnResult(bucket, tuple(hits.get(media or "", ())))
    note = (
        f"Cairn: {imported.records} known PDQ imported; {len(files)} files ingested in "
        f"{ingest_s:.1f} s (workers={WORKERS}, {len(ingested.errors)} errors); "
        f"{matched.media} media matched in {matched.seconds:.1f} s, "
        f"match rows {dict(sorted(matched.by_method.items()))}"
    )
    return results, note


# ---------------------------------------------------------------- report


@dataclass(frozen=True)
class Verdict:
    """One device file, judged both ways."""

    copy: Copy
    cairn: CairnResult
    peer_distance: int  # plain PDQ: to the own original; for a distractor, to the nearest known
    dihedral_distance: int  # the nearest of the eight pdqhash dihedral hashes, likewise
    peer_quality: int

    @property
    def cairn_found(self) -> bool:
        """A copy is found on a match-band hit (distance within the set's threshold) on its own
        original: the peer's criterion, so the two columns compare like with like. A distractor
        is (falsely) found on any match-band hit, whatever its triage bucket."""
        wanted = self.copy.original
        return any(
            h.band == "match" and (not wanted or h.original == wanted) for h in self.cairn.hits
        )

    @property
    def cairn_cleared(self) -> bool:
        """Found and triaged known/near-known without a human: PDQ quality 50 or more (DESIGN:
        a lower-quality hit is flagged "possible" for review, never matched silently)."""
        return self.cairn_found and self.cairn.bucket in (
            Triage.KNOWN.value,
            Triage.NEAR_KNOWN.value,
        )

    @property
    def cairn_own(self) -> Hit | None:
        own = [h for h in self.cairn.hits if h.original == self.copy.original]
        return min(own, key=lambda h: h.distance) if own else None

    @property
    def cairn_wrong(self) -> bool:
        """A match-band hit on some other known original (a false match between knowns)."""
        return bool(self.copy.original) and any(
            h.band == "match" and h.original != self.copy.original for h in self.cairn.hits
        )

    @property
    def peer_found(self) -> bool:
        return self.peer_distance <= PEER_THRESHOLD

    @property
    def dihedral_found(self) -> bool:
        return self.dihedral_distance <= PEER_THRESHOLD


def _share(found: int, total: int) -> str:
    return f"{found}/{total} {100 * found / total:5.1f}%" if total else "-"


def _median(values: Iterable[int | None]) -> str:
    present = [v for v in values if v is not None]
    return f"{statistics.median(present):.0f}" if present else "-"


def report(verdicts: list[Verdict]) -> bool:
    families: dict[str, list[Verdict]] = defaultdict(list)
    for verdict in verdicts:
        families[verdict.copy.family].append(verdict)
    print(
        f"\n{'family':<16}{'copies':>7}  {'Cairn recall':>15}  {'plain PDQ recall':>16}  "
        f"{'dihedral recall':>16}  {'Cairn cleared':>14}  {'med d Cairn':>11}  "
        f"{'med d plain':>11}  bar (vs plain PDQ)"
    )
    all_ok = True
    order = [t.family for t in TRANSFORMS]
    for family in sorted(families, key=lambda f: order.index(f) if f in order else len(order)):
        if family == "distractor":
            continue
        group = families[family]
        cairn = sum(v.cairn_found for v in group)
        peer = sum(v.peer_found for v in group)
        dihedral = sum(v.dihedral_found for v in group)
        cleared = sum(v.cairn_cleared for v in group)
        strict = family in STRICTLY_BETTER
        ok = cairn > peer if strict else cairn >= peer
        all_ok &= ok
        bar = ("PASS" if ok else "FAIL") + (" (strictly better)" if strict else " (>= peer)")
        held = sum(v.cairn_found and not v.cairn_cleared for v in group)
        if held:
            bar += f"; {held} held as possible (quality < 50)"
        if cairn < dihedral:
            bar += f"; {dihedral - cairn} fewer than pdqhash dihedral"
        own = [v.cairn_own for v in group]
        print(
            f"{family:<16}{len(group):>7}  {_share(cairn, len(group)):>15}  "
            f"{_share(peer, len(group)):>16}  {_share(dihedral, len(group)):>16}  "
            f"{cleared:>14}  {_median(h.distance if h else None for h in own):>11}  "
            f"{_median(v.peer_distance for v in group):>11}  {bar}"
        )
    known = [v for v in verdicts if v.copy.original]
    cairn_all = _share(sum(v.cairn_found for v in known), len(known))
    peer_all = _share(sum(v.peer_found for v in known), len(known))
    dihedral_all = _share(sum(v.dihedral_found for v in known), len(known))
    print(f"{'all copies':<16}{len(known):>7}  {cairn_all:>15}  {peer_all:>16}  {dihedral_all:>16}")

    distractors = families.get("distractor", [])
    cairn_false = [v for v in distractors if v.cairn_found]
    peer_false = [v for v in distractors if v.peer_found]
    dihedral_false = [v for v in distractors if v.dihedral_found]
    flagged = [v for v in distractors if v.cairn.bucket == Triage.POSSIBLE.value]
    wrong = [v for v in known if v.cairn_wrong]
    print(
        f"\ndistractors: {len(distractors)} files; false matches Cairn {len(cairn_false)}, "
        f"plain PDQ {len(peer_false)}, pdqhash dihedral {len(dihedral_false)}; Cairn "
        f"'possible' (review band, not a match) {len(flagged)}; nearest known: min distance "
        f"plain PDQ {min((v.peer_distance for v in distractors), default='-')}, dihedral "
        f"{min((v.dihedral_distance for v in distractors), default='-')}"
    )
    print(f"copies matched to a different known original (Cairn): {len(wrong)}")
    false_ok = not cairn_false and not wrong
    print(f"bar: zero false matches on distractors: {'PASS' if false_ok else 'FAIL'}")
    for v in cairn_false + wrong:
        print(
            f"  false match: {v.copy.file} -> "
            f"{[(h.original, h.distance, h.variant) for h in v.cairn.hits if h.band == 'match']}"
        )
    return all_ok and false_ok


def details(verdicts: list[Verdict]) -> None:
    """What matched how, and every copy a peer found and Cairn did not: the honest part."""
    variants: dict[str, Counter[str]] = defaultdict(Counter)
    for v in verdicts:
        own = v.cairn_own
        if v.cairn_found and own is not None:
            variants[v.copy.family][own.variant or "plain"] += 1
    print(
        "\nform that matched (Cairn, found copies): "
        + "; ".join(f"{f}: {dict(c)}" for f, c in variants.items())
    )
    peers: tuple[tuple[str, Callable[[Verdict], bool]], ...] = (
        ("plain PDQ", lambda v: v.peer_found),
        ("pdqhash dihedral", lambda v: v.dihedral_found),
    )
    for peer, found in peers:
        lost = [v for v in verdicts if v.copy.original and found(v) and not v.cairn_found]
        print(f"\ncopies {peer} found and Cairn did not: {len(lost)}")
        for v in lost:
            own = v.cairn_own
            print(
                f"  {v.copy.file}: Cairn {v.cairn.bucket}"
                f"{f' d={own.distance} {own.variant or chr(34) * 2}' if own else ''}, "
                f"plain d={v.peer_distance} dihedral d={v.dihedral_distance} q={v.peer_quality}"
            )
    missed: Counter[str] = Counter(
        v.copy.transform for v in verdicts if v.copy.original and not v.cairn_found
    )
    print("Cairn misses per transform: " + ", ".join(f"{k} {n}" for k, n in sorted(missed.items())))


# ---------------------------------------------------------------- ablation: exact flips


def flip_ablation(device: Path, verdicts: list[Verdict], originals: dict[str, str]) -> None:
    """Cairn hashes the flips of small pictures (EXACT_DIHEDRAL_BELOW) from flipped pixels;
    pdqhash's own derivation from one DCT is cheaper but not flip-symmetric. Same copies,
    same analysis function, both ways: best distance of the eight forms to the original, and
    analysis time (this includes the decode and the border scan)."""
    import cairn.media.image as image_module

    copies = [v.copy for v in verdicts if v.copy.family in ("rotate", "mirror")]
    exact = image_module.EXACT_DIHEDRAL_BELOW
    data = [(device / c.file).read_bytes() for c in copies]

    def distances(below: int) -> list[int]:
        image_module.EXACT_DIHEDRAL_BELOW = below
        out = []
        for c, raw in zip(copies, data, strict=True):
            info, _errors = analyse_image(raw, JPEG, AnalysisSettings())
            assert info is not None and info.pdq is not None, c.file
            forms = [
                info.pdq,
                *(v.pdq for v in info.pdq_variants if not v.name.startswith("trimmed")),
            ]
            out.append(min(hamming(f, originals[c.original]) for f in forms))
        return out

    hashed, derived = versus(lambda: distances(exact), lambda: distances(0))
    image_module.EXACT_DIHEDRAL_BELOW = exact
    print(
        f"\nablation on the {len(copies)} rotate/mirror copies (in-process, one core, best of 3):"
    )
    for label, (found_at, timing) in (
        ("hashed flips (Cairn)", hashed),
        ("derived flips (one DCT)", derived),
    ):
        found = sum(d <= PEER_THRESHOLD for d in found_at)
        print(
            f"  {label:<24} within 31: {_share(found, len(copies))}  median d "
            f"{statistics.median(found_at):.0f}  max d {max(found_at)}  "
            f"analysis {1000 * timing.cpu / len(copies):.1f} CPU-ms/image"
        )
    print(ratio("analysis time, hashed flips", hashed[1], derived[1], "derived flips"))


# ---------------------------------------------------------------- driver


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run (under 2 minutes)")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    parser.add_argument("--list", action="store_true", help="print the verdict on every file")
    args = parser.parse_args()
    print(machine(f"pdqhash {pdqhash.__version__}"))
    started = time.monotonic()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        ok = run(args.keep, quick=args.quick, listing=args.list)
    else:
        with tempfile.TemporaryDirectory(prefix="cairn-robustness-") as tmp:
            ok = run(Path(tmp), quick=args.quick, listing=args.list)
    print(
        f"\noverall: {'PASS' if ok else 'FAIL'}   (total {time.monotonic() - started:.0f} s, "
        f"{load()})"
    )


def run(root: Path, *, quick: bool, listing: bool) -> bool:
    device, known_dir = root / "device", root / "known"
    device.mkdir()
    known_dir.mkdir()
    per_style = 1 if quick else 4
    names = QUICK_TRANSFORMS if quick else tuple(t.name for t in TRANSFORMS)
    known = sources(per_style, QUICK_KNOWN_FILES if quick else KNOWN_FILES, SEED, "k")
    others = sources(
        per_style, QUICK_DISTRACTOR_FILES if quick else DISTRACTOR_FILES, SEED + 50_000, "d"
    )
    jobs = [(i, s, True, names) for i, s in enumerate(known)]
    jobs += [(len(known) + i, s, False, DISTRACTOR_TRANSFORMS) for i, s in enumerate(others)]

    started = time.monotonic()
    with ProcessPoolExecutor(WORKERS) as pool:
        made = list(pool.map(partial(make_copies, device=device, known_dir=known_dir), jobs))
    originals = {name: Path(path) for name, path, _ in made if path}
    copies = [c for _, _, group in made for c in group]
    print(
        f"generated {len(copies)} files from {len(known)} known originals and "
        f"{len(others)} distractor pictures in {time.monotonic() - started:.1f} s "
        f"({len(names)} transforms, seed {SEED})"
    )

    started = time.monotonic()
    with ProcessPoolExecutor(WORKERS) as pool:
        original_pdq = dict(zip(originals, pool.map(peer_pdq, originals.values()), strict=True))
        peer = dict(
            zip(
                (c.file for c in copies),
                pool.map(peer_pdq, (device / c.file for c in copies), chunksize=8),
                strict=True,
            )
        )
    print(
        f"pdqhash dihedral PDQ (plain PDQ its first hash) of {len(originals) + len(copies)} "
        f"files in {time.monotonic() - started:.1f} s ({WORKERS} processes)"
    )
    low = sorted(n for n, h in original_pdq.items() if h.quality < 50)
    if low:
        print(f"note: originals with PDQ quality < 50 (Cairn flags their matches): {low}")

    hashset = root / "known-originals.csv"
    with hashset.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["pdq", "series"])
        writer.writerows([h.plain, name] for name, h in original_pdq.items())
    results, note = run_cairn(root / "workspace", hashset, device)
    print(note)

    verdicts = []
    plain_known = [h.plain for h in original_pdq.values()]
    for c in copies:
        mine = peer[c.file]
        # The known set holds each original's plain hash; a copy is looked up by its own hashes.
        knowns = [original_pdq[c.original].plain] if c.original else plain_known
        plain = min(hamming(mine.plain, h) for h in knowns)
        dihedral = min(hamming(d, h) for d in mine.dihedral for h in knowns)
        verdicts.append(Verdict(c, results[c.file], plain, dihedral, mine.quality))
    if listing:
        for v in verdicts:
            own = v.cairn_own
            print(
                f"{v.copy.file:<48} {v.cairn.bucket:<11} "
                f"{f'{own.band} d={own.distance} {own.variant}' if own else '-':<28} "
                f"plain d={v.peer_distance} dihedral d={v.dihedral_distance} q={v.peer_quality}"
            )
    ok = report(verdicts)
    details(verdicts)
    flip_ablation(device, verdicts, {name: h.plain for name, h in original_pdq.items()})
    return ok


if __name__ == "__main__":
    main()
