"""Video matching: known videos (vPDQ hash sets), known images seen as frames, and the videos
of the workspace compared with each other.

Every comparison is of frame hashes (quality >= 50) at Hamming distance <= the set's PDQ
threshold (31 by default), plus the frames on a clip's time-offset line (`cairn.hashing.vpdq`
says when), and reports both shares. The pairs of videos worth comparing are found by an exact
index search at the aligned distance (63), then each pair is compared whole. That radius costs
more than 31: 1 ms per query frame against 0.05 ms over a million stored frames
(`VideoMatchSettings(aligned_distance=0)` goes back to plain vPDQ).

* a case video against a known video: "match" when at least 80 % of the known video's frames
  are in the case video (a copy, or a compilation containing it), "clip" when 80 % of the case
  video is in the known video (a clip cut from it), "possible" when either share reaches 50 %;
* a known image (a PDQ in any hash set) as a frame of a case video, and a case image as a frame
  of a known video: the best frame, by the set's threshold, with the 32-52 review band;
* case videos against every other video of the workspace: the same shares, recorded in
  `video_matches` for linking (a workspace video is not "known", so triage is unchanged).

Hash-set hits become `Match` rows with method "vpdq", so the triage buckets and exports see
them beside PDQ hits; `match_variant` says "clip" or which frame ("frame 12.000s").
Matching is idempotent: rows already stored are kept as they were.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, Connection, func, insert, or_, select, true, update
from sqlalchemy.orm import Session

from cairn.core.errors import NotFoundError, UsageError
from cairn.core.records import FrameHash
from cairn.core.types import Category
from cairn.hashing.vpdq import (
    FrameArrays,
    VideoComparison,
    VideoMatchSettings,
    compare_frames,
    parse_vpdq,
    write_vpdq,
)
from cairn.services.access import agency_media, usable_by_agency
from cairn.services.cases import get_case
from cairn.services.context import Context
from cairn.store import audit
from cairn.store.models import Case, Evidence, HashSet, KnownHash, Media, Occurrence
from cairn.store.video_models import KnownVideoFrame, Video, VideoFrame, VideoMatch
from cairn.store.writer import insert_ignoring_duplicates

if TYPE_CHECKING:
    from cairn.matching.known import KnownIndexes
    from cairn.services.matching import ActiveSet

KINDS = ("illegal", "ignorable", "alert")
INSERT_BATCH = 20_000
CHUNK = 5000
MAX_ERRORS_KEPT = 100
VPDQ_SUFFIXES = (".txt", ".vpdq")
I64 = npt.NDArray[np.int64]


# ---------------------------------------------------------------------------------------------
# Importing known videos


@dataclass
class VpdqImportSummary:
    name: str
    kind: str
    source_sha256: str
    videos: int = 0
    frames: int = 0
    bad_records: int = 0  # lines that are not frames, files without frames
    errors: list[str] = field(default_factory=list)  # the first MAX_ERRORS_KEPT


def vpdq_files(paths: Sequence[Path]) -> list[Path]:
    """The vPDQ files named: files as given, folders searched for *.txt and *.vpdq."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in VPDQ_SUFFIXES)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    if not found:
        raise UsageError("no vPDQ files found")
    return found


def import_vpdq_hashset(
    ctx: Context,
    paths: Sequence[Path],
    name: str,
    *,
    kind: str = "illegal",
    category: Category | None = None,
    series: Sequence[str] = (),
    pdq_threshold: int = 31,
) -> VpdqImportSummary:
    """Import known videos, one vPDQ file each, as one hash set (format "vpdq").

    Each file becomes a known_hashes row (no digests, its name as file name and media id) and
    its lines known_video_frames rows. The set's SHA-256 is the file's, or for several files
    that of a manifest: one "sha256  name" line per file, sorted by name.
    """
    if kind not in KINDS:
        raise UsageError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not 0 <= pdq_threshold <= 128:
        raise UsageError("--pdq-threshold must be between 0 and 128")
    files = vpdq_files(paths)
    contents = {path: path.read_bytes() for path in files}
    summary = VpdqImportSummary(name, kind, _source_sha256(contents))
    with ctx.db.engine.begin() as connection:
        if connection.scalar(select(HashSet.id).where(HashSet.name == name)) is not None:
            raise UsageError(f"a hash set named {name!r} exists; remove it or choose another name")
        source = files[0] if len(files) == 1 else Path(paths[0])
        hashset_id = connection.execute(
            insert(HashSet).returning(HashSet.id),
            {
                "name": name,
                "kind": kind,
                "format": "vpdq",
                "source_file": str(source.resolve()),
                "source_sha256": summary.source_sha256,
                "source_date": datetime.fromtimestamp(source.stat().st_mtime, UTC),
                "pdq_threshold": pdq_threshold,
                "imported_at": datetime.now(UTC),
                "imported_by": ctx.actor.user,
            },
        ).scalar_one()
        next_id = (connection.scalar(select(func.max(KnownHash.id))) or 0) + 1
        known_rows: list[dict[str, Any]] = []
        frame_rows: list[dict[str, Any]] = []
        for path, data in contents.items():
            frames = _read_file(path, data, summary)
            if not frames:
                continue
            known_rows.append(_known_row(next_id, hashset_id, path, frames, category, series))
            frame_rows.extend(_frame_row(next_id, seq, f) for seq, f in enumerate(frames))
            summary.videos += 1
            summary.frames += len(frames)
            next_id += 1
        for start in range(0, len(known_rows), INSERT_BATCH):
            connection.execute(insert(KnownHash), known_rows[start : start + INSERT_BATCH])
        for start in range(0, len(frame_rows), INSERT_BATCH):
            connection.execute(insert(KnownVideoFrame), frame_rows[start : start + INSERT_BATCH])
        connection.execute(
            update(HashSet)
            .where(HashSet.id == hashset_id)
            .values(entries=summary.videos, bad_records=summary.bad_records)
        )
        with Session(bind=connection) as session:
            audit.record(
                session,
                ctx.actor,
                "hashset.import",
                None,
                name=name,
                kind=kind,
                format="vpdq",
                files=len(files),
                sha256=summary.source_sha256,
                videos=summary.videos,
                frames=summary.frames,
                bad_records=summary.bad_records,
            )
            session.flush()
    return summary


def _source_sha256(contents: Mapping[Path, bytes]) -> str:
    if len(contents) == 1:
        return hashlib.sha256(next(iter(contents.values()))).hexdigest()
    manifest = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {path.name}\n"
        for path, data in sorted(contents.items(), key=lambda item: item[0].name)
    )
    return hashlib.sha256(manifest.encode()).hexdigest()


def _read_file(path: Path, data: bytes, summary: VpdqImportSummary) -> list[FrameHash]:
    def error(message: str) -> None:
        summary.bad_records += 1
        if len(summary.errors) < MAX_ERRORS_KEPT:
            summary.errors.append(f"{path.name}: {message}")

    try:
        frames, errors = parse_vpdq(data.decode("utf-8"))
    except UnicodeDecodeError:
        error("not a vPDQ text file")
        return []
    for message in errors:
        error(message)
    if not frames:
        error("no frames")
    return frames


def _known_row(
    known_id: int,
    hashset_id: int,
    path: Path,
    frames: Sequence[FrameHash],
    category: Category | None,
    series: Sequence[str],
) -> dict[str, Any]:
    return {
        "id": known_id,
        "hashset_id": hashset_id,
        "category_scheme": category.scheme.value if category else None,
        "category_code": category.code if category else None,
        "series": ",".join(series) or None,
        "media_id": path.stem,
        "file_name": path.name,
        "details": {"frames": len(frames), "duration": max(f.timestamp for f in frames)},
    }


def _frame_row(known_id: int, seq: int, frame: FrameHash) -> dict[str, Any]:
    return {
        "known_hash_id": known_id,
        "seq": seq,
        "frame_number": frame.frame_number,
        "quality": frame.quality,
        "pdq": frame.pdq,
        "timestamp": frame.timestamp,
    }


# ---------------------------------------------------------------------------------------------
# Frames as arrays


@dataclass(frozen=True)
class _Frames:
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
    def build(cls, rows: Iterable[tuple[Any, str, float]]) -> _Frames:
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
            np.frombuffer(bytes(raw), np.uint8).reshape(-1, 32),
        )

    def __len__(self) -> int:
        return len(self.owner)

    def video(self, v: int) -> FrameArrays:
        """Video v's frames, for comparing two videos."""
        rows = slice(int(self.starts[v]), int(self.starts[v + 1]))
        return FrameArrays.from_hashes(self.hashes[rows], self.times[rows])


def _case_video_frames(connection: Connection, case_id: int, min_quality: int) -> _Frames:
    in_case = (
        select(Occurrence.media_sha256)
        .join(Evidence, Evidence.id == Occurrence.evidence_id)
        .where(Evidence.case_id == case_id, Occurrence.media_sha256.is_not(None))
        .distinct()
    )
    return _Frames.build(
        connection.execute(
            select(VideoFrame.media_sha256, VideoFrame.pdq, VideoFrame.timestamp)
            .where(VideoFrame.media_sha256.in_(in_case), VideoFrame.quality >= min_quality)
            .order_by(VideoFrame.media_sha256, VideoFrame.seq)
        )
    )


def _workspace_video_frames(connection: Connection, case_id: int, min_quality: int) -> _Frames:
    """Frames of the workspace's videos that the case's agency holds (all of them for a local
    case): one agency's media is never compared with, nor linked to, another's."""
    query = select(VideoFrame.media_sha256, VideoFrame.pdq, VideoFrame.timestamp).where(
        VideoFrame.quality >= min_quality
    )
    agency_id = connection.scalar(select(Case.agency_id).where(Case.id == case_id))
    if agency_id is not None:
        query = query.where(VideoFrame.media_sha256.in_(agency_media(agency_id)))
    return _Frames.build(
        connection.execute(query.order_by(VideoFrame.media_sha256, VideoFrame.seq))
    )


def _known_video_frames(
    connection: Connection, set_ids: Sequence[int], min_quality: int
) -> tuple[_Frames, dict[int, int]]:
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
    return _Frames.build(frames), owners


def _search(stored: _Frames, queries: npt.NDArray[np.uint8], radius: int) -> tuple[I64, I64, I64]:
    """(query row, stored row, distance) of every pair within the radius (exact search)."""
    from cairn.matching.pdq_index import PdqIndex

    if not len(stored) or not len(queries):
        empty = np.empty(0, np.int64)
        return empty, empty, empty
    index = PdqIndex()
    index.build(stored.hashes, np.arange(len(stored), dtype=np.int64))
    found = index.search_arrays(queries, radius)
    return found.query, found.id, found.distance


def _comparisons(
    query: _Frames,
    stored: _Frames,
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


# ---------------------------------------------------------------------------------------------
# Matching a case


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
    from cairn.services.matching import POSSIBLE_MAX  # matching calls this module

    settings = settings or VideoMatchSettings()
    thresholds = _thresholds(settings)
    query = _case_video_frames(connection, case_id, settings.min_quality)
    known, known_set = _known_video_frames(connection, list(sets), settings.min_quality)
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
    hits = _search(known, query.hashes, radius)
    for qv, kv, comparison in _comparisons(query, known, hits, known_threshold, settings):
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
    image_radius = max(POSSIBLE_MAX, *(s.threshold for s in sets.values()))
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
        frame_band = None if owner is None else _band(distance, owner.threshold, POSSIBLE_MAX)
        if owner is not None and frame_band is not None:
            hit(media, known_id, owner, distance, f"frame {time:.3f}s", frame_band)

    # Case images as a frame of a known video: the best frame of each known video.
    images = _case_images(connection, case_id, settings.min_quality)
    hits = _search(known, _hex_rows(pdq for _, pdq in images), image_radius)
    best = {}
    for row, stored, distance in zip(*(a.tolist() for a in hits), strict=True):
        key = (images[row][0], int(known.keys[int(known.owner[stored])]))
        if key not in best or distance < best[key][0]:
            best[key] = (distance, float(known.times[stored]))
    for (image, known_id), (distance, time) in sorted(best.items()):
        owner = sets[known_set[known_id]]
        frame_band = _band(distance, owner.threshold, POSSIBLE_MAX)
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
    query = _case_video_frames(connection, case_id, settings.min_quality)
    rows = _workspace_rows(connection, case_id, query, settings, now, run_id)
    _insert_compared(connection, ctx, rows)
    return len(rows)


def _workspace_rows(
    connection: Connection,
    case_id: int,
    query: _Frames,
    settings: VideoMatchSettings,
    now: datetime,
    run_id: int | None,
) -> list[dict[str, Any]]:
    """Case videos against every other video of the workspace (linking, not triage)."""
    if not len(query):
        return []
    others = _workspace_video_frames(connection, case_id, settings.min_quality)
    same = dict.fromkeys(range(len(others.keys)), settings.distance)
    hits = _search(others, query.hashes, settings.search_radius(settings.distance))
    rows = []
    for qv, ov, comparison in _comparisons(query, others, hits, same, settings):
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
    for start in range(0, len(rows), CHUNK):
        connection.execute(
            insert_ignoring_duplicates(ctx.db.engine, VideoMatch, "media_sha256", "compared"),
            rows[start : start + CHUNK],
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
    in_case = (
        select(Occurrence.media_sha256)
        .join(Evidence, Evidence.id == Occurrence.evidence_id)
        .where(Evidence.case_id == case_id, Occurrence.media_sha256.is_not(None))
        .distinct()
    )
    rows = connection.execute(
        select(Media.sha256, Media.pdq)
        .where(Media.sha256.in_(in_case), Media.pdq.is_not(None), Media.pdq_quality >= min_quality)
        .order_by(Media.sha256)
    )
    return [(sha, pdq) for sha, pdq in rows if pdq is not None]


def _hex_rows(hashes: Iterable[str]) -> npt.NDArray[np.uint8]:
    return np.frombuffer(b"".join(bytes.fromhex(h) for h in hashes), np.uint8).reshape(-1, 32)


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


# ---------------------------------------------------------------------------------------------
# Reading results


@dataclass(frozen=True)
class VideoMatchInfo:
    media_sha256: str
    paths: tuple[str, ...]  # "evidence:path" of every occurrence in the case
    compared: str  # a known video "hashset:media id" or a workspace video's SHA-256
    known: bool  # compared with a known video (a hash set), not a workspace video
    verdict: str
    query_share: float
    compared_share: float
    query_frames: int
    compared_frames: int
    distance: int
    aligned_frames: int  # query frames counted for lying on the offset line, not within 31
    offset_seconds: float | None  # compared time = query time + offset


def video_matches(ctx: Context, case_ref: str) -> list[VideoMatchInfo]:
    """The video comparisons stored for the case's videos, best shares first."""
    with ctx.db.session() as session:
        case = get_case(session, case_ref)
        case_id = case.id
        places: dict[str, list[str]] = {}
        for sha, label, path in session.execute(
            select(Occurrence.media_sha256, Evidence.label, Occurrence.path)
            .join(Evidence, Evidence.id == Occurrence.evidence_id)
            .join(Video, Video.sha256 == Occurrence.media_sha256)
            .where(Evidence.case_id == case_id)
            .order_by(Evidence.label, Occurrence.path)
        ):
            if sha is not None:  # always: joined with videos
                name = path.decode("utf-8", "backslashreplace")
                places.setdefault(sha, []).append(f"{label}:{name}")
        rows = session.execute(
            select(VideoMatch, HashSet.name, KnownHash.media_id)
            .outerjoin(HashSet, HashSet.id == VideoMatch.hashset_id)
            .outerjoin(KnownHash, KnownHash.id == VideoMatch.known_hash_id)
            .where(VideoMatch.media_sha256.in_(list(places)), _shown_to(case.agency_id))
        ).all()
        result = [
            VideoMatchInfo(
                m.media_sha256,
                tuple(places[m.media_sha256]),
                f"{name}:{media_id}" if name is not None else m.other_sha256 or "",
                name is not None,
                m.verdict,
                m.query_matched / m.query_frames if m.query_frames else 0.0,
                m.compared_matched / m.compared_frames if m.compared_frames else 0.0,
                m.query_frames,
                m.compared_frames,
                m.distance,
                m.aligned_frames,
                m.offset_seconds,
            )
            for m, name, media_id in rows
        ]
    result.sort(key=lambda r: (-max(r.query_share, r.compared_share), r.media_sha256, r.compared))
    return result


def _shown_to(agency_id: int | None) -> ColumnElement[bool]:
    """Comparisons a case of `agency_id` may list: hits on the sets it may use, links to the
    videos of its own cases. A video is stored once for every case that holds it, so the
    comparisons another agency's cases made with it are there too, and stay hidden."""
    if agency_id is None:
        return true()
    return or_(
        VideoMatch.hashset_id.in_(select(HashSet.id).where(usable_by_agency(agency_id))),
        VideoMatch.other_sha256.in_(agency_media(agency_id)),
    )


def video_frames(ctx: Context, sha256: str) -> list[FrameHash]:
    """The stored vPDQ frames of one video, in time order."""
    with ctx.db.session() as session:
        if session.get(Video, sha256) is None:
            raise NotFoundError(f"no video {sha256}")
        rows = session.execute(
            select(
                VideoFrame.frame_number, VideoFrame.quality, VideoFrame.pdq, VideoFrame.timestamp
            )
            .where(VideoFrame.media_sha256 == sha256)
            .order_by(VideoFrame.seq)
        )
        return [FrameHash(*row) for row in rows]


def export_vpdq(ctx: Context, sha256: str, out: IO[str]) -> int:
    """Write one video's vPDQ file (hashes only, for sharing); the number of frames."""
    frames = video_frames(ctx, sha256)
    with ctx.db.session() as session:
        audit.record(session, ctx.actor, "export.vpdq", None, sha256=sha256, frames=len(frames))
    return write_vpdq(frames, out)


# ---------------------------------------------------------------------------------------------
# The demo


DEMO_KNOWN_FILM = "known-film.vpdq.txt"


def build_demo_videos(device: Path, sets: Path) -> Path:
    """Benign synthetic films for `cairn demo`: on the device a clip cut from a "known" film
    and an unrelated film; in `sets` the known film's vPDQ file (the film itself is never
    written: hash sets carry hashes, not material). Returns the vPDQ file."""
    from cairn.core.settings import AnalysisSettings
    from cairn.media.video import SyntheticVideo, analyse_video, write_synthetic_video

    known = SyntheticVideo(seconds=20, fps=10, width=320, height=240, seed=505, scene_seconds=5)
    film = io.BytesIO()
    write_synthetic_video(film, known)
    info, errors = analyse_video(film.getvalue(), AnalysisSettings())
    assert info is not None and not errors, errors  # a film made here always decodes
    sets.mkdir(parents=True, exist_ok=True)
    vpdq_file = sets / DEMO_KNOWN_FILM
    with vpdq_file.open("w") as out:
        write_vpdq(info.frames, out)
    videos = device / "videos"
    videos.mkdir(parents=True, exist_ok=True)
    write_synthetic_video(videos / "clip.mp4", replace(known, start=5.0, seconds=8.0))
    write_synthetic_video(videos / "holiday.mp4", replace(known, seed=506, seconds=8.0))
    return vpdq_file


def video_findings(ctx: Context, case_ref: str) -> list[str]:
    """Summary lines: each case video found in a known video, with both shares."""
    return [
        f"{found.paths[0]}: {found.verdict} of known video {found.compared} "
        f"({found.query_share:.0%} of its frames in it, {found.compared_share:.0%} of "
        f"the known video's frames found)"
        for found in video_matches(ctx, case_ref)
        if found.known and found.paths
    ]
