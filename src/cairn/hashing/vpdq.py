"""vPDQ: a video as the PDQ of its sampled frames — the numba frame hasher (bit for bit pdqhash's),
the vPDQ text format, and two videos compared with time-offset alignment. Why: docs/video.md."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any, NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from cairn.core.hash_kinds import PDQ
from cairn.core.records import FrameHash
from cairn.core.thresholds import PDQ_MATCH_DISTANCE, PDQ_MIN_QUALITY
from cairn.hashing.pdq import MIN_HASHABLE_SIDE, ZERO_HEX, PdqHash

__all__ = [
    "FrameArrays",
    "FrameHash",
    "VideoComparison",
    "VideoMatchSettings",
    "compare_frames",
    "compare_videos",
    "format_vpdq",
    "parse_vpdq",
    "pdq_from_luma_plane",
]

ALIGNED_DISTANCE = 63  # a frame pair on a clip's offset line (docs/video.md)
TIME_JITTER = 0.1  # seconds a sampled frame may sit off its instant (nearest frame, rounding)
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
    if len(pdq) != PDQ.hex_length:
        raise ValueError(f"a PDQ hash is {PDQ.hex_length} hex characters, got {pdq!r}")
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

    Frames up to `aligned_distance` apart, and frames between the two that bracket them, count
    too when at least `min_aligned` query frames within `aligned_distance` lie on one
    time-offset line (docs/video.md says why); 0 turns alignment off.
    """

    distance: int = PDQ_MATCH_DISTANCE
    min_quality: int = PDQ_MIN_QUALITY
    query_share: float = 0.8
    compared_share: float = 0.8
    possible_share: float = 0.5
    aligned_distance: int = ALIGNED_DISTANCE
    min_aligned: int = 2

    def search_radius(self, threshold: int) -> int:
        """How far apart a frame pair may be to count at all, beside this strict threshold."""
        return max(threshold, self.aligned_distance)


@dataclass(frozen=True)
class VideoComparison:
    query_frames: int  # frames of quality >= min_quality
    compared_frames: int
    query_matched: int  # query frames within the distance of some compared frame
    compared_matched: int
    distance: int  # median over matched query frames of their nearest distance
    aligned: int = 0  # of query_matched, the frames counted only for lying on the offset line
    offset: float | None = None  # seconds: compared time = query time + offset, on that line

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


@dataclass(frozen=True)
class FrameArrays:
    """A video's usable frames (quality >= the minimum) in time order, as arrays."""

    words: npt.NDArray[np.uint64]  # (n, 4): each PDQ as four words, for popcounts
    times: npt.NDArray[np.float64]  # (n,), ascending

    @classmethod
    def of(cls, frames: Sequence[FrameHash], min_quality: int = PDQ_MIN_QUALITY) -> FrameArrays:
        usable = sorted((f for f in frames if f.quality >= min_quality), key=lambda f: f.timestamp)
        return cls.from_hashes(
            np.frombuffer(b"".join(bytes.fromhex(f.pdq) for f in usable), np.uint8),
            np.array([f.timestamp for f in usable], np.float64),
        )

    @classmethod
    def from_hashes(cls, hashes: npt.NDArray[np.uint8], times: npt.ArrayLike) -> FrameArrays:
        """From raw 32-byte hashes (flat or (n, 32)) and their times, sorted here by time."""
        stamps = np.asarray(times, np.float64)
        order = np.argsort(stamps, kind="stable")
        words = np.ascontiguousarray(hashes).reshape(-1, PDQ.key_bytes).view(np.uint64)
        return cls(np.ascontiguousarray(words[order]), stamps[order])

    def __len__(self) -> int:
        return len(self.times)

    @property
    def interval(self) -> float:
        """The sampling interval: the median gap between frames."""
        gaps = np.diff(self.times)
        gaps = gaps[gaps > 0]
        return float(np.median(gaps)) if len(gaps) else 0.0


PAIR_BLOCK = 1 << 22  # distances computed at once: a (rows, C) block of this many cells


class _Pairs(NamedTuple):
    """Frame pairs of two videos (query row, compared row, distance), as parallel arrays."""

    rows: npt.NDArray[np.int64]
    cols: npt.NDArray[np.int64]
    distances: npt.NDArray[np.int64]


def _pairs_within(
    query: npt.NDArray[np.uint64], compared: npt.NDArray[np.uint64], radius: int
) -> _Pairs:
    """Every pair within `radius`, computed in row blocks: memory stays bounded by PAIR_BLOCK
    and the pairs kept, however long the two videos are."""
    step = max(1, PAIR_BLOCK // max(1, len(compared)))
    found: list[tuple[npt.NDArray[np.int64], ...]] = []
    for start in range(0, len(query), step):
        block = query[start : start + step]
        total = np.zeros((len(block), len(compared)), np.uint16)
        for word in range(4):
            total += np.bitwise_count(block[:, word, None] ^ compared[None, :, word])
        rows, cols = np.nonzero(total <= radius)
        found.append((rows + start, cols, total[rows, cols].astype(np.int64)))
    if not found:
        empty = np.empty(0, np.int64)
        return _Pairs(empty, empty, empty)
    return _Pairs(*(np.concatenate(parts) for parts in zip(*found, strict=True)))


def _distance(first: npt.NDArray[np.uint64], second: npt.NDArray[np.uint64]) -> Any:
    """Row-wise Hamming distances of two (n, 4) word arrays."""
    return sum(np.bitwise_count(first[:, w] ^ second[:, w]).astype(np.int64) for w in range(4))


def compare_frames(
    query: FrameArrays,
    compared: FrameArrays,
    *,
    threshold: int = PDQ_MATCH_DISTANCE,
    settings: VideoMatchSettings | None = None,
) -> VideoComparison:
    """Compare two videos' usable frames: every pair within `threshold` counts, and along the
    dominant time-offset line (docs/video.md) pairs within `settings.aligned_distance` and frames
    lying between the two compared frames that bracket them. Exact, every pair: for two videos
    (the matching service picks the pairs of videos worth comparing with an index)."""
    settings = settings or VideoMatchSettings()
    pairs = _pairs_within(query.words, compared.words, settings.search_radius(threshold))
    counted = pairs.distances <= threshold
    strict_frames = len(np.unique(pairs.rows[counted]))
    line = None
    rows, cols, distances = pairs.rows, pairs.cols, pairs.distances
    if settings.aligned_distance > threshold and len(rows):
        line = _offset_line(query, compared, pairs, settings)
    if line is not None:
        counted |= np.abs(compared.times[cols] - query.times[rows] - line) <= line_tolerance(
            query, compared
        )
        between_rows, between_distances = _between_rows(
            query, compared, line, rows[counted], threshold
        )
        between_cols, _ = _between_rows(compared, query, -line, cols[counted], threshold)
        rows = np.r_[rows[counted], between_rows]
        distances = np.r_[distances[counted], between_distances]
        cols = np.r_[cols[counted], between_cols]
    else:
        rows, cols, distances = rows[counted], cols[counted], distances[counted]
    if not len(rows):
        return VideoComparison(len(query), len(compared), 0, 0, 0)
    best = np.full(len(query), np.iinfo(np.int64).max, np.int64)
    np.minimum.at(best, rows, distances)
    nearest = best[best != np.iinfo(np.int64).max]
    return VideoComparison(
        len(query),
        len(compared),
        len(nearest),
        len(np.unique(cols)),
        int(np.median(nearest) // 1),
        aligned=len(nearest) - strict_frames,
        offset=None if line is None else round(line, 3),
    )


def _between_rows(
    frames: FrameArrays,
    other: FrameArrays,
    line: float,
    matched: npt.NDArray[np.int64],
    threshold: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The frames not yet matched that lie between the two frames of the other video that
    bracket their place on the line, and the distance to the nearer of the two.

    Between: the frame differs from the first in at most `threshold` of the bits where the two
    agree. Only neighbours bracket (frames further apart than the sampling are not a path), and
    only the frame between counts: its neighbours are matched by their own pairs or not at all.
    """
    waiting = np.ones(len(frames), bool)
    waiting[matched] = False
    index = np.flatnonzero(waiting)
    after = np.searchsorted(other.times, frames.times[index] + line, side="right")
    inside = (after > 0) & (after < len(other))
    index, after = index[inside], after[inside]
    before = after - 1
    near = other.times[after] - other.times[before] <= other.interval * 1.5 + TIME_JITTER
    index, before, after = index[near], before[near], after[near]
    mine, first, second = frames.words[index], other.words[before], other.words[after]
    apart = np.zeros(len(index), np.int64)
    for word in range(4):
        agree = ~(first[:, word] ^ second[:, word])
        apart += np.bitwise_count((mine[:, word] ^ first[:, word]) & agree).astype(np.int64)
    close = apart <= threshold
    nearer = np.minimum(_distance(mine, first), _distance(mine, second))
    return index[close], nearer[close]


def _offset_line(
    query: FrameArrays, compared: FrameArrays, pairs: _Pairs, settings: VideoMatchSettings
) -> float | None:
    """The time offset most query frames agree on, or None when fewer than `min_aligned` do.

    Each query frame votes once, with the offset of its nearest pair. Off the sampling grid a
    frame's nearest compared frame is either neighbour of the true instant, so votes spread
    over one interval either side: the densest window of two tolerances wins, and the line is
    the mean of its votes (the neighbours average out to the true offset).
    """
    offsets = compared.times[pairs.cols] - query.times[pairs.rows]
    order = np.lexsort((pairs.distances, pairs.rows))
    first = np.r_[True, pairs.rows[order][1:] != pairs.rows[order][:-1]]
    votes = np.sort(offsets[order][first])
    ends = np.searchsorted(votes, votes + 2 * line_tolerance(query, compared), side="right")
    counts = ends - np.arange(len(votes))
    start = int(np.argmax(counts))
    if counts[start] < max(1, settings.min_aligned):
        return None
    return float(votes[start : ends[start]].mean())


def line_tolerance(query: FrameArrays, compared: FrameArrays) -> float:
    """How far a pair's offset may be from the line: one interval of the sparser sampling (a
    frame's nearest match may be either neighbour of the true instant), plus jitter."""
    return max(query.interval, compared.interval) + TIME_JITTER


def compare_videos(
    query: Sequence[FrameHash],
    compared: Sequence[FrameHash],
    settings: VideoMatchSettings | None = None,
) -> VideoComparison:
    """Compare two videos frame by frame, with the settings' distance as the threshold."""
    settings = settings or VideoMatchSettings()
    return compare_frames(
        FrameArrays.of(query, settings.min_quality),
        FrameArrays.of(compared, settings.min_quality),
        threshold=settings.distance,
        settings=settings,
    )
