"""Usable video frames as arrays, loaded from the store, and the pairs of videos worth
comparing found by an exact index search."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, select

from cairn.core.hash_kinds import PDQ
from cairn.hashing.vpdq import FrameArrays, VideoComparison, VideoMatchSettings, compare_frames
from cairn.services.access import agency_media
from cairn.store.case_media import case_media
from cairn.store.models import Case, KnownHash
from cairn.store.video_models import KnownVideoFrame, VideoFrame

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Frames:
    """Usable frames (quality >= the minimum) of several videos, as parallel arrays.

    `owner[i]` is the video of frame i (an index into `keys`); video v's frames are rows
    `starts[v]` to `starts[v + 1]`.
    """

    keys: list[Any]  # media SHA-256 or known_hashes id, per video
    owner: I64
    starts: I64  # len(keys) + 1 row numbers
    times: npt.NDArray[np.float64]
    hashes: npt.NDArray[np.uint8]  # (n, 32)

    @classmethod
    def build(cls, rows: Iterable[tuple[Any, str, float]]) -> Frames:
        """From (video key, pdq, timestamp) rows grouped by video, in frame order."""
        keys: list[Any] = []
        owner: list[int] = []
        times: list[float] = []
        raw = bytearray()
        for key, pdq, timestamp in rows:
            if not keys or keys[-1] != key:
                keys.append(key)
            owner.append(len(keys) - 1)
            times.append(timestamp)
            raw += bytes.fromhex(pdq)
        owners = np.array(owner, np.int64)
        counts = np.bincount(owners, minlength=len(keys))
        return cls(
            keys,
            owners,
            np.r_[0, np.cumsum(counts)].astype(np.int64),
            np.array(times, np.float64),
            np.frombuffer(bytes(raw), np.uint8).reshape(-1, PDQ.key_bytes),
        )

    def __len__(self) -> int:
        return len(self.owner)

    def video(self, v: int) -> FrameArrays:
        """Video v's frames, for comparing two videos."""
        rows = slice(int(self.starts[v]), int(self.starts[v + 1]))
        return FrameArrays.from_hashes(self.hashes[rows], self.times[rows])


def case_video_frames(connection: Connection, case_id: int, min_quality: int) -> Frames:
    return Frames.build(
        connection.execute(
            select(VideoFrame.media_sha256, VideoFrame.pdq, VideoFrame.timestamp)
            .where(
                VideoFrame.media_sha256.in_(case_media(case_id)), VideoFrame.quality >= min_quality
            )
            .order_by(VideoFrame.media_sha256, VideoFrame.seq)
        )
    )


def workspace_video_frames(connection: Connection, case_id: int, min_quality: int) -> Frames:
    """Frames of the workspace's videos that the case's agency holds (all of them for a local
    case): one agency's media is never compared with, nor linked to, another's."""
    query = select(VideoFrame.media_sha256, VideoFrame.pdq, VideoFrame.timestamp).where(
        VideoFrame.quality >= min_quality
    )
    agency_id = connection.scalar(select(Case.agency_id).where(Case.id == case_id))
    if agency_id is not None:
        query = query.where(VideoFrame.media_sha256.in_(agency_media(agency_id)))
    return Frames.build(connection.execute(query.order_by(VideoFrame.media_sha256, VideoFrame.seq)))


def known_video_frames(
    connection: Connection, set_ids: Sequence[int], min_quality: int
) -> tuple[Frames, dict[int, int]]:
    """Frames of the known videos of the given sets, and each known video's set."""
    rows = connection.execute(
        select(
            KnownVideoFrame.known_hash_id,
            KnownVideoFrame.pdq,
            KnownVideoFrame.timestamp,
            KnownHash.hashset_id,
        )
        .join(KnownHash, KnownHash.id == KnownVideoFrame.known_hash_id)
        .where(KnownHash.hashset_id.in_(set_ids), KnownVideoFrame.quality >= min_quality)
        .order_by(KnownVideoFrame.known_hash_id, KnownVideoFrame.seq)
    )
    owners: dict[int, int] = {}
    frames = []
    for known_id, pdq, timestamp, hashset_id in rows:
        owners[known_id] = hashset_id
        frames.append((known_id, pdq, timestamp))
    return Frames.build(frames), owners


def search_frames(
    stored: Frames, queries: npt.NDArray[np.uint8], radius: int
) -> tuple[I64, I64, I64]:
    """(query row, stored row, distance) of every pair within the radius (exact search)."""
    from cairn.matching.pdq_index import PdqIndex

    if not len(stored) or not len(queries):
        empty = np.empty(0, np.int64)
        return empty, empty, empty
    index = PdqIndex()
    index.build(stored.hashes, np.arange(len(stored), dtype=np.int64))
    found = index.search_arrays(queries, radius)
    return found.query, found.id, found.distance


def comparisons(
    query: Frames,
    stored: Frames,
    hits: tuple[I64, I64, I64],
    threshold: Mapping[int, int],
    settings: VideoMatchSettings,
) -> Iterable[tuple[int, int, VideoComparison]]:
    """(query video, stored video, comparison) for every pair of videos that share a frame
    pair within the stored video's search radius (its threshold, or the aligned distance) and
    match at all when compared whole."""
    limits = np.array([threshold[v] for v in range(len(stored.keys))], np.int64)
    q, s, distance = hits
    radius = np.maximum(limits, settings.aligned_distance)
    keep = distance <= radius[stored.owner[s]]
    pairs = np.unique(query.owner[q[keep]] * len(stored.keys) + stored.owner[s[keep]])
    for pair in pairs.tolist():
        qv, sv = divmod(pair, len(stored.keys))
        comparison = compare_frames(
            query.video(qv), stored.video(sv), threshold=int(limits[sv]), settings=settings
        )
        if comparison.query_matched:
            yield qv, sv, comparison
