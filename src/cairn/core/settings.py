"""Settings that change what an analysis produces; every processing record stores them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from cairn.core.config import DEFAULT_MAX_IMAGE_PIXELS


@dataclass(frozen=True)
class AnalysisSettings:
    exact_pdq: bool = False  # force the full JPEG decode for PDQ (no draft fast path)
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    # Archives: how deep containers nest, and caps that stop zip bombs.
    max_archive_depth: int = 8
    max_archive_members: int = 1_000_000
    max_member_bytes: int = 8 << 30
    max_expanded_bytes: int = 64 << 30  # per top-level archive
    max_expansion_ratio: int = 1000  # expanded bytes / archive bytes, past a 64 MiB floor
    # A member is buffered in memory when it must be decoded (image) or opened (archive).
    max_buffer_bytes: int = 512 << 20
    # Carving (opt-in): signature-and-structure recovery from unallocated space.
    carve: bool = False
    max_carved_count: int = 100_000
    max_carved_bytes: int = 64 << 20  # per carved item
    # Video (media.video): one PDQ per sampled frame, the interval stretched so that no video
    # gives more than video_max_samples hashes (a 10-hour video: one per 10 s).
    video_seconds_per_hash: float = 1.0  # vPDQ's usual sampling
    video_max_samples: int = 3600
    video_sampling: str = "fast"  # fast, exact (decode as the vpdq reference) or keyframes
    video_sheet_tiles: int = 16  # frames on a contact sheet
    video_sheet_blur: float = 4.0  # Gaussian radius on each tile; 0 for sharp tiles
    thumbnails: bool = True
    local_features: bool = True  # SIFT features for similarity (media.features)
    prnu: bool = False  # sensor-noise residuals at ingest (camera.residual); else on first need
    thumbnail_key: bytes | None = None  # AES-GCM key; None: no review thumbnails

    def describe(self) -> dict[str, Any]:
        """The settings as recorded in a processing run; the key itself is never recorded."""
        data = asdict(self)
        data.pop("thumbnail_key")
        return data
