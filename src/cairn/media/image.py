"""Decode an image once and derive what Cairn records: dimensions, PDQ, EXIF, review thumbnail.

Compatibility: pixels are hashed as stored (no EXIF rotation) after Pillow's `convert('RGB')`,
which is python-threatexchange's path, so a full decode hashes bit for bit like shared sets.

JPEG fast path ("draft"): libjpeg can decode at 1/2, 1/4 or 1/8 scale inside its IDCT. PDQ's
cost grows faster than the pixel count (pdqhash's float64 luma pass and its filters over one
large buffer), so a half-scale decode makes the whole hash several times cheaper. It is used
only while the reduced short side stays >= 1024 px — below that the hash was measured to drift —
and the decoded image is never resized further (a resize to 512 px moved a hash 32 bits). The
draft decodes straight to luma, which is what PDQ hashes anyway, or to YCbCr when a colour
thumbnail is wanted: both give the same luma plane, so the hash does not depend on thumbnails.
`AnalysisSettings.exact_pdq` turns the fast path off.

Pillow, numpy and pdqhash are imported inside the functions: analysis runs in workers.
"""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from cairn.core.records import (
    ErrorRecord,
    ExifInfo,
    ImageInfo,
    JpegSignature,
    LocalFeatures,
    PdqVariant,
)
from cairn.core.settings import AnalysisSettings
from cairn.hashing.pdq import (
    ZERO_HEX,
    DihedralHashes,
    DihedralVariant,
    PdqHash,
    dihedral_from_rgb,
    hamming,
    luma_as_rgb,
    pdq_from_image,
    reference_rgb,
)
from cairn.media.borders import find_borders
from cairn.media.exif import read_exif
from cairn.media.features import image_features
from cairn.media.jpeg_signature import MalformedJpeg, signature
from cairn.media.sniff import HEIC, JPEG, ContentType
from cairn.media.thumbnail import make_thumbnail

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from PIL.Image import Image

DRAFT_MIN_SIDE = 1024
# Below this short side the flips are hashed from flipped pixels (see _dihedral).
EXACT_DIHEDRAL_BELOW = 768
BORDER_SCAN_SIDE = 512  # border detection runs on a view about this many pixels on its short side
# EXIF thumbnails are 160x120 by the standard; one far larger is a bomb, not a thumbnail.
EMBEDDED_THUMBNAIL_MAX_PIXELS = 1 << 20

# Only the plugin for the sniffed type may parse the bytes: less attack surface, and a file
# that sniffs as JPEG is never "rescued" by a lenient parser of some other format.
_PILLOW_FORMATS = {
    "image/jpeg": ("JPEG",),  # Pillow's JPEG factory also returns MPO files
    "image/png": ("PNG",),
    "image/gif": ("GIF",),
    "image/bmp": ("BMP",),
    "image/tiff": ("TIFF",),
    "image/webp": ("WEBP",),
    "image/heic": ("HEIF",),
    "image/avif": ("AVIF",),
}
_DRAFTABLE = ("JPEG", "MPO")  # Pillow formats whose decoder can scale in the IDCT


def analyse_image(
    data: bytes, content_type: ContentType, settings: AnalysisSettings
) -> tuple[ImageInfo | None, list[ErrorRecord]]:
    """Everything Cairn records about one image. Never raises: failures become ErrorRecords.

    The result is None only when not even the header could be read; otherwise it carries the
    dimensions, and a PDQ when the pixels were decoded.
    """
    from PIL import UnidentifiedImageError

    if content_type.mime == HEIC.mime:
        _register_heif()
    try:
        img = _open(data, _PILLOW_FORMATS.get(content_type.mime))
    except UnidentifiedImageError:
        return None, [ErrorRecord("decode", f"not a readable {content_type.mime} image")]
    except Exception as exc:  # a hostile header can make a plugin fail in any way
        return None, [ErrorRecord("decode", f"unreadable image header: {_describe(exc)}")]
    with img:
        return _analyse(img, data, settings)


def _analyse(
    img: Image, data: bytes, settings: AnalysisSettings
) -> tuple[ImageInfo, list[ErrorRecord]]:
    from PIL import Image as PILImage

    errors: list[ErrorRecord] = []
    width, height = img.size
    key = settings.thumbnail_key if settings.thumbnails else None
    decoded: Image | None = None
    method: str | None = None
    pdq: PdqHash | None = None
    variants: tuple[PdqVariant, ...] = ()
    too_large = _too_large(img, settings.max_image_pixels)
    if too_large:
        errors.append(ErrorRecord("limit", f"{too_large}; not decoded"))
    else:
        try:
            decoded, method = _decode(img, settings, colour=key is not None)
            pdq, variants = _hashes(decoded)
        except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
            errors.append(ErrorRecord("limit", str(exc)))
            decoded = method = None
        except Exception as exc:  # truncated or corrupt data fails deep inside the codecs
            errors.append(ErrorRecord("decode", _describe(exc)))
            decoded = method = None

    # After the decode: PNG may keep its eXIf chunk after the pixels.
    exif = read_exif(_exif_block(img, data))
    errors.extend(exif.errors)
    exif_info = exif.info
    if exif_info is not None and exif.thumbnail is not None and pdq is not None:
        distance = _embedded_thumbnail_distance(exif.thumbnail, pdq, settings, errors)
        exif_info = replace(exif_info, thumbnail_pdq_distance=distance)

    features: LocalFeatures | None = None
    if decoded is not None and settings.local_features:
        try:
            features = image_features(decoded, width, height)
        except Exception as exc:  # OpenCV refuses odd buffers with its own errors
            errors.append(ErrorRecord("features", _describe(exc)))

    jpeg = _jpeg_signature(img, data, exif_info, exif.thumbnail, errors)

    thumbnail: bytes | None = None
    if decoded is not None and key is not None:
        try:
            thumbnail = make_thumbnail(decoded, key, orientation=exif.orientation)
        except Exception as exc:
            errors.append(ErrorRecord("thumbnail", _describe(exc)))

    info = ImageInfo(
        width=width,
        height=height,
        pdq=pdq.hex if pdq is not None else None,
        pdq_quality=pdq.quality if pdq is not None else None,
        pdq_method=method,
        exif=exif_info,
        thumbnail=thumbnail,
        pdq_variants=variants,
        features=features,
        jpeg=jpeg,
    )
    return info, errors


def region_features(
    data: bytes, region: tuple[int, int, int, int] | None, settings: AnalysisSettings
) -> LocalFeatures:
    """The local features of an image file, or of a region of it ([x, y, w, h] in its pixels
    as stored), for a similarity query; positions are in pixels of the region. ValueError
    says why an image cannot be read, or a region is not inside it."""
    from PIL import Image as PILImage

    from cairn.media.sniff import sniff

    content_type = sniff(data[:8192])
    if content_type is None or not content_type.is_image:
        raise ValueError("not an image Cairn can read")
    if content_type.mime == HEIC.mime:
        _register_heif()
    try:
        img = _open(data, _PILLOW_FORMATS.get(content_type.mime))
    except Exception as exc:
        raise ValueError(f"unreadable image: {_describe(exc)}") from None
    with img:
        too_large = _too_large(img, settings.max_image_pixels)
        if too_large:
            raise ValueError(too_large)
        width, height = img.size
        x, y, w, h = region if region is not None else (0, 0, width, height)
        if w < 1 or h < 1 or x < 0 or y < 0 or x + w > width or y + h > height:
            raise ValueError(f"region {x},{y},{w},{h} is not inside the {width}x{height} image")
        try:
            with _pixel_limit(settings.max_image_pixels):
                grey = img.convert("L").crop((x, y, x + w, y + h))
        except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
            raise ValueError(str(exc)) from None
        except Exception as exc:
            raise ValueError(f"undecodable image: {_describe(exc)}") from None
    return image_features(grey, w, h)


def _jpeg_signature(
    img: Image,
    data: bytes,
    exif: ExifInfo | None,
    thumbnail: bytes | None,
    errors: list[ErrorRecord],
) -> JpegSignature | None:
    if img.format not in _DRAFTABLE:
        return None
    camera_exif = exif is not None and bool(exif.make or exif.model)
    try:
        return signature(data, thumbnail, camera_exif=camera_exif)
    except MalformedJpeg as exc:
        errors.append(ErrorRecord("metadata", f"JPEG header: {exc}"))
        return None


def _decode(img: Image, settings: AnalysisSettings, *, colour: bool) -> tuple[Image, str]:
    """Load the pixels PDQ hashes; the method is "draft" only if libjpeg really scaled down."""
    method = "full"
    if not settings.exact_pdq and img.format in _DRAFTABLE:
        width, height = img.size
        scale = draft_scale(width, height)
        if scale > 1:
            img.draft("YCbCr" if colour else "L", (width // scale, height // scale))
            if img.size != (width, height):
                method = "draft"
    with _pixel_limit(settings.max_image_pixels):
        img.load()
    if img.mode in ("RGB", "L") or (method == "draft" and img.mode == "YCbCr"):
        return img, method
    return img.convert("RGB"), method  # exactly the reference's conversion


def draft_scale(width: int, height: int) -> int:
    """The largest libjpeg reduction (8, 4, 2) that keeps the short side >= DRAFT_MIN_SIDE."""
    short = min(width, height)
    for scale in (8, 4, 2):
        if -(-short // scale) >= DRAFT_MIN_SIDE:  # libjpeg rounds reduced sizes up
            return scale
    return 1


def _pixels(img: Image) -> NDArray[np.uint8]:
    """The RGB array PDQ hashes: a draft's Y plane (the luma pdqhash would compute) as a
    zero-copy grey RGB view, else exactly the reference's pixels."""
    import numpy as np

    if img.mode == "YCbCr":
        return luma_as_rgb(np.asarray(img)[:, :, 0])
    return reference_rgb(img)


def _trims(pixels: NDArray[np.uint8]) -> list[tuple[str, NDArray[np.uint8]]]:
    """The picture inside its added borders, as (label, pixels): "trimmed" for the first
    candidate, "trimmed-<sides>" for the others (see borders.find_borders). Borders are
    looked for on a subsampled view: a 2 % bar survives subsampling, and misplacing an edge
    by a few pixels does not move PDQ."""
    step = max(1, min(pixels.shape[:2]) // BORDER_SCAN_SIDE)
    found = []
    for i, trim in enumerate(find_borders(pixels[::step, ::step])):
        label = "trimmed" if i == 0 else f"trimmed-{trim.sides}"
        rows = slice(trim.top * step, trim.bottom * step)
        columns = slice(trim.left * step, trim.right * step)
        found.append((label, pixels[rows, columns]))
    return found


def _dihedral(pixels: NDArray[np.uint8]) -> DihedralHashes:
    """All eight forms of a picture, each as its plain hash would be if it were turned so.

    pdqhash derives them from one DCT, but its downsampling is not symmetric under a flip: a
    derived flip was measured a median 13-26 bits (max 44) from the hash of the really flipped
    pixels at 128-512 px on the short side, 10 (max 14) at 768 and 2 (max 10) at 1024. So
    small pictures, where hashing is cheap, hash the three flipped views too (four hashes
    instead of one); each also gives its transpose, which the DCT derives exactly, so all
    eight are then bit-exact. bench/pdq_robustness.py measures both ways.
    """
    dihedral = dihedral_from_rgb(pixels)
    if min(pixels.shape[:2]) >= EXACT_DIHEDRAL_BELOW:
        return dihedral
    hashes = dict(dihedral.hashes)
    for view, plain, transposed in (
        (pixels[:, ::-1], DihedralVariant.FLIPY, DihedralVariant.ROTATE90),
        (pixels[::-1], DihedralVariant.FLIPX, DihedralVariant.ROTATE270),
        (pixels[::-1, ::-1], DihedralVariant.ROTATE180, DihedralVariant.FLIPMINUS1),
    ):
        flipped = dihedral_from_rgb(view).hashes
        hashes[plain] = flipped[DihedralVariant.ORIGINAL]
        hashes[transposed] = flipped[DihedralVariant.FLIPPLUS1]
    return DihedralHashes(hashes, dihedral.quality)


def _hashes(img: Image) -> tuple[PdqHash, tuple[PdqVariant, ...]]:
    """The plain hash, plus the forms matching queries: the seven other rotations and flips,
    and, when the picture sits inside added borders, each trimmed candidate in all eight."""
    pixels = _pixels(img)
    dihedral = _dihedral(pixels)
    plain = PdqHash(dihedral.hashes[DihedralVariant.ORIGINAL], dihedral.quality)
    if plain.hex == ZERO_HEX:  # too small to hash: no form of it can match anything
        return plain, ()
    variants = [
        PdqVariant(name.value, value, dihedral.quality)
        for name, value in dihedral.hashes.items()
        if name is not DihedralVariant.ORIGINAL
    ]
    for label, trimmed_pixels in _trims(pixels):
        trimmed = _dihedral(trimmed_pixels)
        for name, value in trimmed.hashes.items():
            suffix = "" if name is DihedralVariant.ORIGINAL else f"-{name.value}"
            variants.append(PdqVariant(label + suffix, value, trimmed.quality))
    return plain, tuple(variants)


def _embedded_thumbnail_distance(
    jpeg: bytes, main: PdqHash, settings: AnalysisSettings, errors: list[ErrorRecord]
) -> int | None:
    """PDQ distance from the EXIF thumbnail to the picture: large after an edit or a crop.

    The thumbnail is untrusted bytes like any image, so it gets the same header check.
    """
    from PIL import UnidentifiedImageError

    limit = min(EMBEDDED_THUMBNAIL_MAX_PIXELS, settings.max_image_pixels)
    try:
        with _open(jpeg, _PILLOW_FORMATS[JPEG.mime]) as thumb:
            too_large = _too_large(thumb, limit)
            if too_large:
                errors.append(ErrorRecord("metadata", f"EXIF thumbnail: {too_large}"))
                return None
            with _pixel_limit(limit):
                thumb.load()
            return hamming(pdq_from_image(thumb).hex, main.hex)
    except UnidentifiedImageError:
        errors.append(ErrorRecord("metadata", f"EXIF thumbnail: not a readable {JPEG.mime} image"))
        return None
    except Exception as exc:
        errors.append(ErrorRecord("metadata", f"EXIF thumbnail: {_describe(exc)}"))
        return None


def _open(data: bytes, formats: tuple[str, ...] | None) -> Image:
    """Read the header only. Pillow's own pixel check is off here because it would refuse to
    say how large the image is; `_too_large` checks the same limit before any decoding."""
    from PIL import Image as PILImage

    with _pixel_limit(None):
        return PILImage.open(io.BytesIO(data), formats=formats)


def _too_large(img: Image, limit: int) -> str | None:
    width, height = img.size
    if width * height <= limit:
        return None
    return f"{width}x{height} = {width * height} pixels exceeds the limit of {limit}"


@contextlib.contextmanager
def _pixel_limit(limit: int | None) -> Iterator[None]:
    """Pillow's decompression-bomb check at `limit` (None: off), raised rather than warned.

    It still matters after our header check: TIFF tiles and GIF frames are sized separately.
    """
    import warnings

    from PIL import Image as PILImage

    previous = PILImage.MAX_IMAGE_PIXELS
    PILImage.MAX_IMAGE_PIXELS = limit
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            yield
    finally:
        PILImage.MAX_IMAGE_PIXELS = previous


def _exif_block(img: Image, data: bytes) -> bytes | None:
    block = img.info.get("exif")
    if isinstance(block, bytes):
        return block
    return data if img.format == "TIFF" else None  # a TIFF file's own IFDs are its EXIF


@functools.cache
def _register_heif() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
