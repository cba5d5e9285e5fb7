"""vPDQ: a video as the PDQ hashes of its sampled frames (Meta's ThreatExchange vPDQ).

Three things live here:

* `pdq_from_luma_plane`: the PDQ of one decoded frame's luma plane. It is the reference
  algorithm (two Jarosz box-filter passes each way, decimation to 64x64, a 16x64 DCT, the
  median threshold and the gradient quality) compiled with numba, operation for operation in
  float32, so it gives bit for bit the hash and quality that `cairn.hashing.pdq.pdq_from_luma`
  (the pdqhash package) gives on the same pixels — the tests assert it. Why not call pdqhash:
  on a 1080p frame pdqhash spends about 45 ms (a float64 luma pass in numpy over three
  channels, then scalar running sums), this about 12 ms, and at one frame per second of
  video that was a third of the hashing time.
* the vPDQ text format, one line per frame: `frame_number,quality,pdq_hex,timestamp_sec`.
* the comparison of two videos: the share of the query's frames that have a match in the
  compared video, and the share of the compared video's frames that have one in the query.
  Frames of quality < 50 are dropped first, as the reference does. A pair of frames matches at
  distance <= 31 (PDQ's threshold); the reference's own comparison uses "< distance".
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

import numba
import numpy as np
import numpy.typing as npt

from cairn.core.records import FrameHash
from cairn.hashing.pdq import HEX_LENGTH, MIN_HASHABLE_SIDE, ZERO_HEX, PdqHash

__all__ = [
    "FrameHash",
    "VideoComparison",
    "VideoMatchSettings",
    "compare_videos",
    "comparison_from_pairs",
    "format_vpdq",
    "parse_vpdq",
    "pdq_from_luma_plane",
]

MIN_QUALITY = 50  # PDQ's advice, and the reference's default quality tolerance
MATCH_DISTANCE = 31  # PDQ's published threshold
U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]


# ---------------------------------------------------------------------------------------------
# PDQ of a luma plane


def _dct_matrix() -> F32:
    """Rows 1-16 of the 64-point DCT-II, built as the reference builds it: a float32 scale
    times a double cosine, rounded to float32."""
    scale = float(np.float32(math.sqrt(2.0 / 64)))
    matrix = np.empty((16, 64), np.float32)
    for i in range(16):
        for j in range(64):
            matrix[i, j] = scale * math.cos((math.pi / 2.0 / 64) * (i + 1) * (2 * j + 1))
    return matrix


_DCT = _dct_matrix()


def _jit(fn: Any) -> Any:
    return numba.njit(nogil=True, cache=True)(fn)


@_jit
def _box_rows_one(src: Any, dst: F32, row: int, window: int) -> None:  # pragma: no cover
    """One row of the reference's 1-D box filter: a running sum whose window grows at the
    left edge and shrinks at the right edge (each output divided by the cells it covers)."""
    cols = src.shape[1]
    half = (window + 2) // 2
    total = np.float32(0.0)
    count = 0
    right = 0
    left = 0
    out = 0
    for _ in range(half - 1):
        total += np.float32(src[row, right])
        count += 1
        right += 1
    for _ in range(window - half + 1):
        total += np.float32(src[row, right])
        count += 1
        dst[row, out] = total / np.float32(count)
        right += 1
        out += 1
    for _ in range(cols - window):
        total += np.float32(src[row, right])
        total -= np.float32(src[row, left])
        dst[row, out] = total / np.float32(count)
        left += 1
        right += 1
        out += 1
    for _ in range(half - 1):
        total -= np.float32(src[row, left])
        count -= 1
        dst[row, out] = total / np.float32(count)
        left += 1
        out += 1


@_jit
def _box_rows(src: Any, dst: F32, window: int) -> None:  # pragma: no cover
    """The box filter along every row. Four rows run interleaved: each row's sum is one long
    chain of dependent additions, and four independent chains keep the CPU busy."""
    rows, cols = src.shape
    half = (window + 2) // 2
    row = 0
    while row + 4 <= rows:
        a0 = np.float32(0.0)
        a1 = np.float32(0.0)
        a2 = np.float32(0.0)
        a3 = np.float32(0.0)
        count = 0
        right = 0
        left = 0
        out = 0
        for _ in range(half - 1):
            a0 += np.float32(src[row, right])
            a1 += np.float32(src[row + 1, right])
            a2 += np.float32(src[row + 2, right])
            a3 += np.float32(src[row + 3, right])
            count += 1
            right += 1
        for _ in range(window - half + 1):
            a0 += np.float32(src[row, right])
            a1 += np.float32(src[row + 1, right])
            a2 += np.float32(src[row + 2, right])
            a3 += np.float32(src[row + 3, right])
            count += 1
            n = np.float32(count)
            dst[row, out] = a0 / n
            dst[row + 1, out] = a1 / n
            dst[row + 2, out] = a2 / n
            dst[row + 3, out] = a3 / n
            right += 1
            out += 1
        n = np.float32(count)
        for _ in range(cols - window):
            a0 += np.float32(src[row, right])
            a1 += np.float32(src[row + 1, right])
            a2 += np.float32(src[row + 2, right])
            a3 += np.float32(src[row + 3, right])
            a0 -= np.float32(src[row, left])
            a1 -= np.float32(src[row + 1, left])
            a2 -= np.float32(src[row + 2, left])
            a3 -= np.float32(src[row + 3, left])
            dst[row, out] = a0 / n
            dst[row + 1, out] = a1 / n
            dst[row + 2, out] = a2 / n
            dst[row + 3, out] = a3 / n
            left += 1
            right += 1
            out += 1
        for _ in range(half - 1):
            a0 -= np.float32(src[row, left])
            a1 -= np.float32(src[row + 1, left])
            a2 -= np.float32(src[row + 2, left])
            a3 -= np.float32(src[row + 3, left])
            count -= 1
            n = np.float32(count)
            dst[row, out] = a0 / n
            dst[row + 1, out] = a1 / n
            dst[row + 2, out] = a2 / n
            dst[row + 3, out] = a3 / n
            left += 1
            out += 1
        row += 4
    while row < rows:
        _box_rows_one(src, dst, row, window)
        row += 1


@_jit
def _box_cols(src: F32, dst: F32, window: int) -> None:  # pragma: no cover
    """The box filter down every column, all columns at once (a vector of running sums)."""
    rows, cols = src.shape
    half = (window + 2) // 2
    total = np.zeros(cols, np.float32)
    count = 0
    right = 0
    left = 0
    out = 0
    for _ in range(half - 1):
        for c in range(cols):
            total[c] += src[right, c]
        count += 1
        right += 1
    for _ in range(window - half + 1):
        count += 1
        n = np.float32(count)
        for c in range(cols):
            total[c] += src[right, c]
            dst[out, c] = total[c] / n
        right += 1
        out += 1
    n = np.float32(count)
    for _ in range(rows - window):
        for c in range(cols):
            total[c] += src[right, c]
            total[c] -= src[left, c]
            dst[out, c] = total[c] / n
        left += 1
        right += 1
        out += 1
    for _ in range(half - 1):
        count -= 1
        n = np.float32(count)
        for c in range(cols):
            total[c] -= src[left, c]
            dst[out, c] = total[c] / n
        left += 1
        out += 1


@_jit
def _pdq_dct(luma: Any, dct: F32, first: F32, second: F32) -> tuple[F32, int]:  # pragma: no cover
    """The 16x16 DCT coefficients and the quality of a luma plane (rows, cols >= 5);
    `first` and `second` are scratch planes of the same shape."""
    rows, cols = luma.shape
    along_rows = (cols + 127) // 128  # the reference's Jarosz window for 64 output cells
    along_cols = (rows + 127) // 128
    _box_rows(luma, second, along_rows)
    _box_cols(second, first, along_cols)
    _box_rows(first, second, along_rows)
    _box_cols(second, first, along_cols)
    small = np.empty((64, 64), np.float32)
    for i in range(64):
        source_row = int(((i + 0.5) * rows) / 64)
        for j in range(64):
            small[i, j] = first[source_row, int(((j + 0.5) * cols) / 64)]
    gradients = 0
    hundred = np.float32(100.0)
    scale = np.float32(255.0)
    for i in range(63):
        for j in range(64):
            gradients += abs(int(((small[i, j] - small[i + 1, j]) * hundred) / scale))
    for i in range(64):
        for j in range(63):
            gradients += abs(int(((small[i, j] - small[i, j + 1]) * hundred) / scale))
    partial = np.empty((16, 64), np.float32)
    for i in range(16):
        for j in range(64):
            total = np.float32(0.0)
            for k in range(64):
                total += dct[i, k] * small[k, j]
            partial[i, j] = total
    out = np.empty((16, 16), np.float32)
    for i in range(16):
        for j in range(16):
            total = np.float32(0.0)
            for k in range(64):
                total += partial[i, k] * dct[j, k]
            out[i, j] = total
    return out, min(100, gradients // 90)


_local = threading.local()


def _scratch(shape: tuple[int, ...]) -> tuple[F32, F32]:
    """Two float planes reused from frame to frame of one size: fresh 8 MB buffers per 1080p
    frame cost about as much in page faults as the filtering itself. One pair per thread."""
    kept: tuple[F32, F32] | None = getattr(_local, "planes", None)
    if kept is None or kept[0].shape != shape:
        kept = (np.empty(shape, np.float32), np.empty(shape, np.float32))
        _local.planes = kept
    return kept


def pdq_from_luma_plane(luma: U8) -> PdqHash:
    """PDQ of a (rows, cols) uint8 luma plane, any strides (a decoder's padded plane).

    Equal to `pdq_from_luma` from `cairn.hashing.pdq` on the same pixels, bit for bit.
    """
    if min(luma.shape) < MIN_HASHABLE_SIDE:
        return PdqHash(ZERO_HEX, 0)
    coefficients, quality = _pdq_dct(luma, _DCT, *_scratch(luma.shape))
    flat = coefficients.ravel()
    # The reference's median (Torben's method) is the 128th smallest of the 256 values.
    median = np.partition(flat, 127)[127]
    # Bit k (k = row * 16 + column) is the k-th least significant bit of the 256-bit hash.
    bits = np.packbits((flat > median)[::-1])
    return PdqHash(bits.tobytes().hex(), int(quality))


# ---------------------------------------------------------------------------------------------
# The vPDQ file format


def format_vpdq(frames: Iterable[FrameHash]) -> str:
    """vPDQ text, one `frame_number,quality,pdq_hex,timestamp_sec` line per frame."""
    return "".join(f"{f.frame_number},{f.quality},{f.pdq},{f.timestamp:.3f}\n" for f in frames)


def write_vpdq(frames: Iterable[FrameHash], out: IO[str]) -> int:
    """Write frames as vPDQ text; returns the number of lines."""
    count = 0
    for frame in frames:
        out.write(format_vpdq((frame,)))
        count += 1
    return count


def parse_vpdq(text: str) -> tuple[list[FrameHash], list[str]]:
    """Frames of a vPDQ file and a message per line that is not a frame (line numbers from 1).

    Blank lines are skipped; hashes come back lower-case. A frame number or timestamp that
    goes backwards is accepted: sets in the wild are not always sorted.
    """
    frames: list[FrameHash] = []
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            frames.append(_parse_line(line))
        except ValueError as exc:
            errors.append(f"line {number}: {exc}")
    return frames, errors


def _parse_line(line: str) -> FrameHash:
    fields = [f.strip() for f in line.split(",")]
    if len(fields) != 4:
        raise ValueError(f"expected frame_number,quality,pdq_hex,timestamp_sec, got {line!r}")
    frame_text, quality_text, pdq, timestamp_text = fields
    frame_number, quality = int(frame_text), int(quality_text)
    timestamp = float(timestamp_text)
    if frame_number < 0 or not 0 <= quality <= 100:
        raise ValueError(f"frame number {frame_number} or quality {quality} out of range")
    if not (math.isfinite(timestamp) and timestamp >= 0):
        raise ValueError(f"timestamp {timestamp_text!r} is not a time")
    if len(pdq) != HEX_LENGTH:
        raise ValueError(f"a PDQ hash is {HEX_LENGTH} hex characters, got {pdq!r}")
    bytes.fromhex(pdq)  # stricter than int(x, 16): no signs, underscores or "0x"
    return FrameHash(frame_number, quality, pdq.lower(), timestamp)


# ---------------------------------------------------------------------------------------------
# Comparing two videos


@dataclass(frozen=True)
class VideoMatchSettings:
    """When two videos are the same material. Shares are of quality-filtered frames.

    `compared_share` (default 80 %, the common vPDQ setting): that much of the compared video
    is in the query — the query is a copy, or a compilation that contains it. `query_share`:
    that much of the query is in the compared video — the query is a clip cut from it.
    Below both, `possible_share` of either side sends the pair to a human.
    """

    distance: int = MATCH_DISTANCE
    min_quality: int = MIN_QUALITY
    query_share: float = 0.8
    compared_share: float = 0.8
    possible_share: float = 0.5


@dataclass(frozen=True)
class VideoComparison:
    query_frames: int  # frames of quality >= min_quality
    compared_frames: int
    query_matched: int  # query frames within the distance of some compared frame
    compared_matched: int
    distance: int  # median over matched query frames of their nearest distance

    @property
    def query_share(self) -> float:
        return self.query_matched / self.query_frames if self.query_frames else 0.0

    @property
    def compared_share(self) -> float:
        return self.compared_matched / self.compared_frames if self.compared_frames else 0.0

    def verdict(self, settings: VideoMatchSettings) -> str | None:
        """ "match" (the compared video is in the query), "clip" (the query is a clip of the
        compared video), "possible", or None."""
        if self.compared_frames and self.compared_share >= settings.compared_share:
            return "match"
        if self.query_frames and self.query_share >= settings.query_share:
            return "clip"
        if max(self.query_share, self.compared_share) >= settings.possible_share:
            return "possible"
        return None


def comparison_from_pairs(
    query_frames: int,
    compared_frames: int,
    query_index: npt.ArrayLike,
    compared_index: npt.ArrayLike,
    distance: npt.ArrayLike,
) -> VideoComparison:
    """The comparison from every matching frame pair (positions among the filtered frames).

    Shared by the brute-force `compare_videos` and the index search of the matching service,
    so that both count the same way.
    """
    queries = np.asarray(query_index, np.int64)
    compared = np.asarray(compared_index, np.int64)
    distances = np.asarray(distance, np.int64)
    if not len(queries):
        return VideoComparison(query_frames, compared_frames, 0, 0, 0)
    best = np.full(query_frames, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(best, queries, distances)
    nearest = best[best != np.iinfo(np.int64).max]
    return VideoComparison(
        query_frames,
        compared_frames,
        len(nearest),
        len(np.unique(compared)),
        int(np.median(nearest) // 1),
    )


def usable_frames(frames: Sequence[FrameHash], min_quality: int = MIN_QUALITY) -> list[str]:
    """The hashes vPDQ compares: frames of quality >= min_quality, in order."""
    return [f.pdq for f in frames if f.quality >= min_quality]


def hash_words(hashes: Sequence[str]) -> npt.NDArray[np.uint64]:
    """Hashes as rows of four uint64 words, for popcount distances."""
    raw = b"".join(bytes.fromhex(h) for h in hashes)
    return np.frombuffer(raw, np.uint8).reshape(-1, 32).view(np.uint64)


def compare_videos(
    query: Sequence[FrameHash],
    compared: Sequence[FrameHash],
    settings: VideoMatchSettings | None = None,
) -> VideoComparison:
    """Compare two videos frame by frame (every pair: for two videos, not for a collection)."""
    settings = settings or VideoMatchSettings()
    q = usable_frames(query, settings.min_quality)
    c = usable_frames(compared, settings.min_quality)
    if not q or not c:
        return VideoComparison(len(q), len(c), 0, 0, 0)
    qw, cw = hash_words(q), hash_words(c)
    distances = np.zeros((len(q), len(c)), np.int64)
    for word in range(4):
        distances += np.bitwise_count(qw[:, word, None] ^ cw[None, :, word])
    rows, cols = np.nonzero(distances <= settings.distance)
    return comparison_from_pairs(len(q), len(c), rows, cols, distances[rows, cols])
