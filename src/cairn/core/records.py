"""Typed records that sources and analysers emit and the store's writer persists.

Workers never open the database (plaso's "parsers describe, a mediator stores"): everything a
worker learns about an entry travels back to the single writer as one of these frozen records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cairn.core.types import Digests, EntryKind, Flag


@dataclass(frozen=True)
class ErrorRecord:
    """One recorded failure: which stage failed and why. Never replaces the digests."""

    stage: str  # read, decode, archive, metadata, thumbnail, limit, ...
    message: str


@dataclass(frozen=True)
class ExifInfo:
    make: str | None = None
    model: str | None = None
    serial: str | None = None  # BodySerialNumber
    software: str | None = None  # phones write their firmware version here
    image_unique_id: str | None = None  # ImageUniqueID: per exposure (some phones: per device)
    lens_serial: str | None = None  # LensSerialNumber
    datetime_original: str | None = None  # as written by the camera: local time, no zone
    gps_lat: float | None = None
    gps_lon: float | None = None
    has_thumbnail: bool = False
    thumbnail_pdq_distance: int | None = None


@dataclass(frozen=True)
class PdqVariant:
    """An extra PDQ of the same picture: a rotation or flip, or the picture with its added
    borders trimmed. Stored so that matching can query every form a copy may take."""

    name: str  # dihedral: "rotate90", "flipx", ...; trimmed forms: "trimmed", "trimmed-rotate90"
    pdq: str
    quality: int


@dataclass(frozen=True)
class LocalFeatures:
    """An image's or a video keyframe's local features (media.features): SIFT keypoints on a
    bounded view, their positions in pixels of the picture as stored. Bytes, not arrays:
    records cross processes and the core layer stays free of numpy. None of them (count 0)
    says why in `reason`."""

    width: int
    height: int
    count: int
    points: bytes = b""  # float32 (x, y) per keypoint, native byte order
    descriptors: bytes = b""  # uint8, 128 per keypoint
    reason: str = ""  # "flat", "too few features", ...: why there are none to index
    time: float | None = None  # a video keyframe's: seconds into the video; None: a picture


@dataclass(frozen=True)
class JpegSignature:
    """How an encoder wrote a JPEG (media.jpeg_signature): shared by the pictures of one
    camera model and firmware, and changed by any re-save."""

    digest: str  # 32 hex chars over tables, sampling, thumbnail geometry and segment order
    quality: int | None  # the IJG quality whose standard tables these are; None: own tables
    origin: str  # "camera" or "re-saved" (docs/camera.md says how it is told)


@dataclass(frozen=True)
class PrnuResidual:
    """An image's sensor-noise residual (camera.compact bytes), or why it has none."""

    data: bytes | None
    reason: str | None = None  # too small, too dark, saturated, not decodable


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    pdq: str | None = None  # 64 hex chars
    pdq_quality: int | None = None
    pdq_method: str | None = None  # "full" or "draft"
    exif: ExifInfo | None = None
    thumbnail: bytes | None = None  # encrypted review thumbnail (see media.thumbnail)
    pdq_variants: tuple[PdqVariant, ...] = ()
    features: LocalFeatures | None = None
    jpeg: JpegSignature | None = None
    prnu: PrnuResidual | None = None  # computed at ingest only with --prnu


@dataclass(frozen=True)
class FrameHash:
    """The PDQ of one sampled video frame, as a line of a vPDQ file says it."""

    frame_number: int
    quality: int
    pdq: str
    timestamp: float  # seconds from the first frame


@dataclass(frozen=True)
class VideoInfo:
    """What Cairn records about one video: metadata, vPDQ frame hashes, review aids."""

    width: int
    height: int
    duration: float | None = None  # seconds
    frame_rate: float | None = None  # average frames per second
    rotation: int = 0  # display rotation in degrees (hashed pixels are never rotated)
    container: str | None = None
    video_codec: str | None = None
    audio_codecs: tuple[str, ...] = ()
    creation_time: datetime | None = None  # UTC, from the container header
    gps_lat: float | None = None
    gps_lon: float | None = None
    make: str | None = None
    model: str | None = None
    sampling: str = "fast"  # fast, exact or keyframes (see media.video)
    seconds_per_hash: float = 1.0  # the sampling interval actually used
    frames_decoded: int = 0  # decoder output frames: the work done, bounded by sampling
    frames: tuple[FrameHash, ...] = ()
    keyframes: tuple[float, ...] = ()  # timestamps of scene changes
    features: tuple[LocalFeatures, ...] = ()  # of some scene keyframes (media.video), timed
    sheet_times: tuple[float, ...] = ()  # timestamps of the contact sheet's tiles, in order
    contact_sheet: bytes | None = None  # encrypted like review thumbnails


@dataclass(frozen=True)
class ContentRecord:
    """What the bytes of one regular entry are: digests, type, and media analysis if any."""

    digests: Digests
    mime: str | None = None
    image: ImageInfo | None = None
    video: VideoInfo | None = None


@dataclass(frozen=True)
class FileTimes:
    """MAC(B) times in UTC where the source has them."""

    mtime: datetime | None = None
    ctime: datetime | None = None
    atime: datetime | None = None
    crtime: datetime | None = None


@dataclass(frozen=True)
class EntryRecord:
    """One enumerated entry: a file, an archive member, a carved run or a non-regular entry.

    `path` is bytes because seized file names are not always UTF-8; it is relative to the
    evidence root, '/'-separated, and a container's member is `container!member`.
    """

    path: bytes
    kind: EntryKind
    depth: int = 0  # 0 for a top-level entry, n for a member nested n containers deep
    container: bytes | None = None  # path of the container that holds a member
    size: int | None = None
    deleted: bool = False
    unallocated: bool = False
    offset: int | None = None
    inode: str | None = None
    times: FileTimes = field(default_factory=FileTimes)
    flags: frozenset[Flag] = frozenset()
    content: ContentRecord | None = None
    errors: tuple[ErrorRecord, ...] = ()


@dataclass(frozen=True)
class UnitResult:
    """Everything one unit of work (a top-level entry and its members) produced.

    The writer commits a unit all or nothing, which is what makes a killed run resumable.
    """

    unit_path: bytes
    entries: tuple[EntryRecord, ...]
