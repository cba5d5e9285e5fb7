"""Similarity by local features: the workspace's feature index kept at ingest (images and
video keyframes), the `local-features` links it makes, and `cairn similar` (an outside image,
or a region of it, searched in every case the user may see). How it works and its figures:
docs/similarity.md.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, select

from cairn.core.config import Workspace
from cairn.core.errors import NotFoundError, UsageError
from cairn.core.records import LocalFeatures
from cairn.core.settings import AnalysisSettings
from cairn.services.access import case_for, require, visible_case_ids
from cairn.services.context import Context
from cairn.services.links import Link, record_links
from cairn.store import audit
from cairn.store.models import Case, Evidence, Media, Occurrence

if TYPE_CHECKING:
    from cairn.matching.feature_index import FeatureIndex, Found
    from cairn.services.identity import Principal

DEFAULT_TOP = 20
CHUNK = 5000
SHA256_LINE = re.compile("[0-9a-f]{64}")
Region = tuple[int, int, int, int]


def feature_index(workspace: Workspace) -> FeatureIndex:
    from cairn.matching.feature_index import FeatureIndex

    return FeatureIndex(workspace.root / "indexes" / "features")


@dataclass
class FeatureSink:
    """What an ingest's writer hands its local features to: the index, which keeps those it
    does not hold yet; `added` lists the items given entries, for linking once the ingest
    ends.

    Items new to the index are journalled first, per evidence item: a run killed before its
    links were stored leaves them there, and the run that resumes it starts with them in
    `added` (its skipped units' items are already in the index, so would never be linked)."""

    workspace: Workspace
    evidence_id: int
    added: list[str] = field(default_factory=list)
    _index: FeatureIndex | None = None

    def __post_init__(self) -> None:
        self.added = _pending(self.journal)

    @property
    def journal(self) -> Path:
        return self.workspace.root / "indexes" / "features-pending" / f"{self.evidence_id}.txt"

    def __call__(self, items: list[tuple[str, LocalFeatures]]) -> None:
        if self._index is None:
            self._index = feature_index(self.workspace)
        fresh = sorted({sha for sha, record in items if record.count and sha not in self._index})
        if fresh:
            self.journal.parent.mkdir(parents=True, exist_ok=True)
            with self.journal.open("a", encoding="ascii") as out:
                out.write("".join(f"{sha}\n" for sha in fresh))
                out.flush()
                os.fsync(out.fileno())
        self.added.extend(self._index.add(items))

    def linked(self) -> None:
        """The ingest's links are stored: nothing is pending any more."""
        self.journal.unlink(missing_ok=True)


def _pending(journal: Path) -> list[str]:
    """The items a killed run indexed but never linked (a torn last line is left out)."""
    try:
        lines = journal.read_text(encoding="ascii", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    return list(dict.fromkeys(line for line in lines if SHA256_LINE.fullmatch(line)))


def link_features(
    connection: Connection,
    engine: Engine,
    index: FeatureIndex,
    shas: Collection[str],
    *,
    by: str,
    run_id: int | None = None,
) -> int:
    """Store the `local-features` links of the given indexed media items (each image, each
    keyframe of a video) to every other item of the index (candidates from the inverted file,
    each verified): one link per pair, the best-scoring one. Returns the links written."""
    best: dict[tuple[str, str], Link] = {}
    for sha in sorted(set(shas)):
        if sha not in index:
            continue
        for time in index.times(sha):
            for found in index.search(index.features(sha, time), exclude=[sha]):
                v = found.verified
                link = Link(
                    sha,
                    found.sha256,
                    "local-features",
                    v.score,
                    v.query_region,
                    v.found_region,
                    details=_details(found, sha, time),
                )
                pair = (min(sha, found.sha256), max(sha, found.sha256))
                if pair not in best or link.score > best[pair].score:
                    best[pair] = link
    links = [best[pair] for pair in sorted(best)]
    # The index may hold an item whose batch never committed (a killed ingest): no media row.
    stored = _existing(connection, {link.b for link in links})
    return record_links(
        connection, engine, [k for k in links if k.b in stored], by=by, run_id=run_id
    )


def _details(found: Found, query: str, time: float | None) -> dict[str, Any]:
    v = found.verified
    details: dict[str, Any] = {
        "inliers": v.inliers,
        "matches": v.matches,
        "model": v.model,
        # The image flipped left to right matched: which of the two was flipped.
        "mirrored": v.mirrored,
        "from": query,
    }
    # A video's side of the link is one of its keyframes: which (seconds into the video).
    keyframes = {s: t for s, t in ((query, time), (found.sha256, found.time)) if t is not None}
    if keyframes:
        details["keyframes"] = keyframes
    return details


def _existing(connection: Connection, shas: Collection[str]) -> set[str]:
    wanted = sorted(shas)
    found: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        found.update(
            connection.scalars(
                select(Media.sha256).where(Media.sha256.in_(wanted[start : start + CHUNK]))
            )
        )
    return found


# `cairn similar` ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SimilarHit:
    """A place where a verified similar image or video was found: the case (its reference as
    created), the evidence item and path, the media item, the score (0-1, higher is more
    certain), the inliers, the matched region of the found picture and of the query ([x, y, w,
    h], their pixels) and, for a video, the time of the keyframe that matched (seconds)."""

    case: str
    evidence: str
    path: str
    sha256: str
    score: float
    inliers: int
    region: list[int]
    query_region: list[int]
    mirrored: bool
    time: float | None = None


@dataclass(frozen=True)
class SimilarResult:
    hits: list[SimilarHit]
    features: int  # the query's features (a video's: all its keyframes'); 0: none to compare
    reason: str = ""  # why nothing could be searched ("flat", "too few features", ...)


def parse_region(text: str | None) -> Region | None:
    """`X,Y,W,H` in whole pixels, as given to `--region`."""
    if text is None:
        return None
    parts = text.split(",")
    try:
        x, y, w, h = (int(p) for p in parts)
    except ValueError:
        raise UsageError(f"--region must be X,Y,W,H in whole pixels, not {text!r}") from None
    return (x, y, w, h)


def similar(
    ctx: Context,
    principal: Principal | None,
    *,
    image: bytes | None = None,
    sha256: str | None = None,
    region: Region | None = None,
    case_ref: str | None = None,
    top: int = DEFAULT_TOP,
) -> SimilarResult:
    """Images and videos of the cases the principal may see (or of `case_ref`) showing the
    query image, a region of it, or the same scene: an image file given as bytes, or a
    workspace item by SHA-256 (which must be in a case the principal sees; a video is searched
    with each of its indexed keyframes, a region applying to each). Best score first, at most
    `top` places."""
    require(principal, "search.similar")
    if (image is None) == (sha256 is None):
        raise UsageError("give an image or the SHA-256 of a media item, not both")
    if not 1 <= top <= 1000:
        raise UsageError("--top must be 1..1000")
    index = feature_index(ctx.workspace)
    with ctx.db.session() as session:
        cases = visible_case_ids(session, principal)
        if case_ref is not None:
            cases = select(Case.id).where(Case.id == case_for(session, principal, case_ref).id)
        queries = _query_features(session.connection(), index, cases, image, sha256, region)
        count = sum(query.count for query in queries)
        hits: list[SimilarHit] = []
        if count:
            found = _search(index, queries, max(top, 48), exclude=[sha256] if sha256 else [])
            hits = _places(session.connection(), cases, found, region)[:top]
        audit.record(
            session,
            ctx.actor,
            "similar.search",
            case_ref,
            sha256=sha256,
            image_bytes=None if image is None else len(image),
            region=None if region is None else list(region),
            features=count,
            results=len(hits),
        )
    reasons = sorted({query.reason for query in queries if query.reason})
    return SimilarResult(hits, count, "" if count else ", ".join(reasons))


def _search(
    index: FeatureIndex, queries: list[LocalFeatures], count: int, exclude: list[str]
) -> list[Found]:
    """Each media item found by any of the queries, at its best score."""
    from cairn.matching.local_features import Features

    found = [
        f
        for query in queries
        if query.count
        for f in index.search(Features.of(query), count, exclude=exclude)
    ]
    found.sort(key=lambda f: -f.verified.score)  # stable: each query's ties stay in order
    best: dict[str, Found] = {}
    for f in found:
        best.setdefault(f.sha256, f)
    return list(best.values())


def _query_features(
    connection: Connection,
    index: FeatureIndex,
    cases: Any,
    image: bytes | None,
    sha256: str | None,
    region: Region | None,
) -> list[LocalFeatures]:
    """The query's features: the image file's, or each entry's of the workspace item."""
    if image is not None:
        from cairn.media.image import region_features

        try:
            return [region_features(image, region, AnalysisSettings())]
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    assert sha256 is not None
    held = connection.scalar(
        select(Occurrence.id)
        .join(Evidence, Evidence.id == Occurrence.evidence_id)
        .where(Occurrence.media_sha256 == sha256, Evidence.case_id.in_(cases))
        .limit(1)
    )
    if held is None or sha256 not in index:
        raise NotFoundError(f"no indexed image or video {sha256}")
    queries = []
    for time in index.times(sha256):
        features = index.features(sha256, time)
        if region is not None:
            x, y, w, h = region
            if (
                w < 1
                or h < 1
                or x < 0
                or y < 0
                or x + w > features.width
                or y + h > features.height
            ):
                raise UsageError(f"region {x},{y},{w},{h} is not inside the picture")
            features = features.crop(x, y, w, h)
        queries.append(
            LocalFeatures(
                features.width,
                features.height,
                len(features),
                features.points.tobytes(),
                features.descriptors.tobytes(),
                "" if len(features) else "too few features",
                time,
            )
        )
    return queries


def _places(
    connection: Connection, cases: Any, found: list[Found], region: Region | None
) -> list[SimilarHit]:
    """Each verified image at every place it occurs in the cases searched."""
    by_sha = {f.sha256: f for f in found}
    rows = connection.execute(
        select(Case.ref, Evidence.label, Occurrence.path, Occurrence.media_sha256)
        .join(Evidence, Evidence.id == Occurrence.evidence_id)
        .join(Case, Case.id == Evidence.case_id)
        .where(Occurrence.media_sha256.in_(list(by_sha)), Case.id.in_(cases))
        .order_by(Case.ref, Evidence.label, Occurrence.path, Occurrence.id)
    )
    dx, dy = (region[0], region[1]) if region is not None else (0, 0)
    hits = []
    for ref, label, path, sha in rows:
        if sha is None:  # never: selected by SHA-256
            continue
        v = by_sha[sha].verified
        qx, qy, qw, qh = v.query_region
        hits.append(
            SimilarHit(
                ref,
                label,
                path.decode("utf-8", "backslashreplace"),
                sha,
                v.score,
                v.inliers,
                list(v.found_region),
                [qx + dx, qy + dy, qw, qh],
                v.mirrored,
                by_sha[sha].time,
            )
        )
    hits.sort(key=lambda h: -h.score)  # stable: places of one image stay in order
    return hits
