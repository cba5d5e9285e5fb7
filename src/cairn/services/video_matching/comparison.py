"""Matching a case's videos: against known videos, known images as frames, case images
as frames of known videos, and the other videos of the workspace."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, select

from cairn.core.hash_kinds import PDQ
from cairn.core.thresholds import PDQ_POSSIBLE_MAX
from cairn.hashing.vpdq import VideoComparison, VideoMatchSettings
from cairn.services.context import Context
from cairn.services.links import Link, record_links
from cairn.services.video_matching.frames import (
    Frames,
    case_video_frames,
    comparisons,
    known_video_frames,
    search_frames,
    workspace_video_frames,
)
from cairn.store.case_media import case_media
from cairn.store.models import KnownHash, Media
from cairn.store.video_models import VideoMatch
from cairn.store.writer import insert_ignoring_duplicates

if TYPE_CHECKING:
    from cairn.matching.known import KnownIndexes
    from cairn.services.matching import ActiveSet

CHUNK = 5000


def video_match_rows(
    connection: Connection,
    ctx: Context,
    case_id: int,
    sets: Mapping[int, ActiveSet],
    indexes: KnownIndexes,
    run_id: int | None,
    now: datetime,
    settings: VideoMatchSettings | None = None,
) -> list[dict[str, Any]]:
    """Match the case's videos (and its images against known videos); store the video
    comparisons; return the hash-set hits as `matches` rows for `match_case` to insert."""
    settings = settings or VideoMatchSettings()
    thresholds = _thresholds(settings)
    query = case_video_frames(connection, case_id, settings.min_quality)
    known, known_set = known_video_frames(connection, list(sets), settings.min_quality)
    known_threshold = {v: sets[known_set[key]].threshold for v, key in enumerate(known.keys)}
    match_rows: list[dict[str, Any]] = []
    compared_rows: list[dict[str, Any]] = []

    def hit(
        media: str, known_id: int, hashset: ActiveSet, distance: int, variant: str, band: str
    ) -> None:
        match_rows.append(
            {
                "media_sha256": media,
                "hashset_id": hashset.id,
                "known_hash_id": known_id,
                "method": "vpdq",
                "distance": distance,
                "variant": variant,
                "band": band,
                "hashset_file_sha256": hashset.source_sha256,
                "matched_at": now,
                "run_id": run_id,
            }
        )

    # Case videos against known videos.
    radius = settings.search_radius(max(known_threshold.values(), default=0))
    hits = search_frames(known, query.hashes, radius)
    for qv, kv, comparison in comparisons(query, known, hits, known_threshold, settings):
        verdict = comparison.verdict(settings)
        if verdict is None:
            continue
        media, known_id = query.keys[qv], int(known.keys[kv])
        hashset = sets[known_set[known_id]]
        band = "possible" if verdict == "possible" else "match"
        variant = "clip" if verdict == "clip" else ""
        hit(media, known_id, hashset, comparison.distance, variant, band)
        compared_rows.append(
            _compared_row(
                media,
                f"known:{known_id}",
                comparison,
                verdict,
                {**thresholds, "distance": hashset.threshold},  # the set's own threshold
                now,
                run_id,
                known_hash_id=known_id,
                hashset_id=hashset.id,
                hashset_file_sha256=hashset.source_sha256,
            )
        )

    # Known images (PDQ in any set) seen as a frame of a case video: the best frame each.
    image_radius = max(PDQ_POSSIBLE_MAX, *(s.threshold for s in sets.values()))
    found = indexes.pdq_search(query.hashes, image_radius) if len(query) else None
    best: dict[tuple[str, int], tuple[int, float]] = {}
    if found is not None:
        for row, known_id, distance in zip(
            found.query.tolist(), found.id.tolist(), found.distance.tolist(), strict=True
        ):
            key = (query.keys[int(query.owner[row])], known_id)
            if key not in best or distance < best[key][0]:
                best[key] = (distance, float(query.times[row]))
    owners = _owners(connection, sorted({known_id for _, known_id in best}))
    for (media, known_id), (distance, time) in sorted(best.items()):
        owner = sets.get(owners.get(known_id, -1))
        frame_band = None if owner is None else _band(distance, owner.threshold, PDQ_POSSIBLE_MAX)
        if owner is not None and frame_band is not None:
            hit(media, known_id, owner, distance, f"frame {time:.3f}s", frame_band)

    # Case images as a frame of a known video: the best frame of each known video.
    images = _case_images(connection, case_id, settings.min_quality)
    hits = search_frames(known, _hex_rows(pdq for _, pdq in images), image_radius)
    best = {}
    for row, stored, distance in zip(*(a.tolist() for a in hits), strict=True):
        key = (images[row][0], int(known.keys[int(known.owner[stored])]))
        if key not in best or distance < best[key][0]:
            best[key] = (distance, float(known.times[stored]))
    for (image, known_id), (distance, time) in sorted(best.items()):
        owner = sets[known_set[known_id]]
        frame_band = _band(distance, owner.threshold, PDQ_POSSIBLE_MAX)
        if frame_band is not None:
            hit(image, known_id, owner, distance, f"frame {time:.3f}s", frame_band)

    compared_rows.extend(_workspace_rows(connection, case_id, query, settings, now, run_id))
    _insert_compared(connection, ctx, compared_rows)
    return match_rows


def compare_workspace_videos(
    connection: Connection,
    ctx: Context,
    case_id: int,
    run_id: int | None,
    now: datetime,
    settings: VideoMatchSettings | None = None,
) -> int:
    """Compare the case's videos with the other videos of the workspace only: what matching
    does when there is no hash set. Returns the number of comparisons found (new or not)."""
    settings = settings or VideoMatchSettings()
    query = case_video_frames(connection, case_id, settings.min_quality)
    rows = _workspace_rows(connection, case_id, query, settings, now, run_id)
    _insert_compared(connection, ctx, rows)
    return len(rows)


def _workspace_rows(
    connection: Connection,
    case_id: int,
    query: Frames,
    settings: VideoMatchSettings,
    now: datetime,
    run_id: int | None,
) -> list[dict[str, Any]]:
    """Case videos against every other video of the workspace (linking, not triage)."""
    if not len(query):
        return []
    others = workspace_video_frames(connection, case_id, settings.min_quality)
    same = dict.fromkeys(range(len(others.keys)), settings.distance)
    hits = search_frames(others, query.hashes, settings.search_radius(settings.distance))
    rows = []
    for qv, ov, comparison in comparisons(query, others, hits, same, settings):
        media, other = query.keys[qv], others.keys[ov]
        verdict = comparison.verdict(settings)
        if media != other and verdict is not None:
            rows.append(
                _compared_row(
                    media,
                    f"media:{other}",
                    comparison,
                    verdict,
                    _thresholds(settings),
                    now,
                    run_id,
                    other_sha256=other,
                )
            )
    return rows


def _thresholds(settings: VideoMatchSettings) -> dict[str, Any]:
    """The settings a comparison is recorded with."""
    return {
        "distance": settings.distance,
        "min_quality": settings.min_quality,
        "query_share": settings.query_share,
        "compared_share": settings.compared_share,
        "possible_share": settings.possible_share,
        "aligned_distance": settings.aligned_distance,
        "min_aligned": settings.min_aligned,
    }


def _insert_compared(connection: Connection, ctx: Context, rows: list[dict[str, Any]]) -> None:
    """Store the comparisons; those with workspace videos are `vpdq` links too."""
    for start in range(0, len(rows), CHUNK):
        connection.execute(
            insert_ignoring_duplicates(ctx.db.engine, VideoMatch, "media_sha256", "compared"),
            rows[start : start + CHUNK],
        )
    links = [_video_link(row) for row in rows if row["other_sha256"] is not None]
    record_links(connection, ctx.db.engine, links, by=ctx.actor.user)


def _video_link(row: dict[str, Any]) -> Link:
    """The link a comparison with a workspace video makes: scored by its larger frame share."""
    query_share = row["query_matched"] / row["query_frames"] if row["query_frames"] else 0.0
    compared_share = (
        row["compared_matched"] / row["compared_frames"] if row["compared_frames"] else 0.0
    )
    return Link(
        row["media_sha256"],
        row["other_sha256"],
        "vpdq",
        round(max(query_share, compared_share), 4),
        details={
            "verdict": row["verdict"],
            "distance": row["distance"],
            "offset_seconds": row["offset_seconds"],
            # Shares as seen from the item first compared (details keep that orientation).
            "from": row["media_sha256"],
            "query_share": round(query_share, 4),
            "compared_share": round(compared_share, 4),
        },
    )


def _band(distance: int, threshold: int, possible_max: int) -> str | None:
    if distance <= threshold:
        return "match"
    return "possible" if distance <= max(threshold, possible_max) else None


def _owners(connection: Connection, known_ids: list[int]) -> dict[int, int]:
    owner: dict[int, int] = {}
    for start in range(0, len(known_ids), CHUNK):
        rows = connection.execute(
            select(KnownHash.id, KnownHash.hashset_id).where(
                KnownHash.id.in_(known_ids[start : start + CHUNK])
            )
        )
        owner.update((known_id, hashset_id) for known_id, hashset_id in rows)
    return owner


def _case_images(connection: Connection, case_id: int, min_quality: int) -> list[tuple[str, str]]:
    rows = connection.execute(
        select(Media.sha256, Media.pdq)
        .where(
            Media.sha256.in_(case_media(case_id)),
            Media.pdq.is_not(None),
            Media.pdq_quality >= min_quality,
        )
        .order_by(Media.sha256)
    )
    return [(sha, pdq) for sha, pdq in rows if pdq is not None]


def _hex_rows(hashes: Iterable[str]) -> npt.NDArray[np.uint8]:
    joined = b"".join(bytes.fromhex(h) for h in hashes)
    return np.frombuffer(joined, np.uint8).reshape(-1, PDQ.key_bytes)


def _compared_row(
    media: str,
    compared: str,
    comparison: VideoComparison,
    verdict: str,
    thresholds: dict[str, Any],
    now: datetime,
    run_id: int | None,
    *,
    known_hash_id: int | None = None,
    hashset_id: int | None = None,
    hashset_file_sha256: str | None = None,
    other_sha256: str | None = None,
) -> dict[str, Any]:
    return {
        "media_sha256": media,
        "compared": compared,
        "known_hash_id": known_hash_id,
        "hashset_id": hashset_id,
        "other_sha256": other_sha256,
        "verdict": verdict,
        "query_frames": comparison.query_frames,
        "query_matched": comparison.query_matched,
        "compared_frames": comparison.compared_frames,
        "compared_matched": comparison.compared_matched,
        "distance": comparison.distance,
        "aligned_frames": comparison.aligned,
        "offset_seconds": comparison.offset,
        "thresholds": thresholds,
        "hashset_file_sha256": hashset_file_sha256,
        "matched_at": now,
        "run_id": run_id,
    }
