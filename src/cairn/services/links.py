"""Links between media items, across every case of an agency: record them, list them.

The links layer other parts build on (docs/architecture.md, "Links"). A link joins two media
items (by SHA-256) with a `method` from METHODS, a `score` in 0..1 (higher is more certain),
optionally the region [x, y, w, h] of each image it rests on, and free `details` (distance,
inliers, model...). To add a method (camera links, series...):

    from cairn.services.links import Link, record_links
    record_links(connection, engine, [Link(a, b, "camera-serial", 1.0, details={...})],
                 by=ctx.actor.user, run_id=run_id)

`record_links` is an idempotent upsert keyed on (pair, method): recording a link again
replaces its score, regions and details. Links are stored once per pair (`store.link_models`)
and read from both sides; which cases a reader sees at the other end is decided on reading,
from the occurrences of the linked item and the reading case's agency (`linked_cases`), so a
case ingested earlier shows the links that a later case made to it, and never a case of another
agency. Exact copies (method `sha256`) are not stored: identical files are one media row, so
their links are read from the occurrences.

`case_links` is what `cairn links --case REF` prints; `stored_links` gives the raw rows touching
some media, for services that cluster them (series suggestions). `link_media` computes the
`pdq` links of some media against every image of the workspace (ingest and match call it);
`vpdq` links come from the video comparisons (`services.video_matching.comparison`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, Engine, Select, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from cairn.core.errors import UsageError
from cairn.core.hash_kinds import PDQ
from cairn.core.thresholds import PDQ_MATCH_DISTANCE, PDQ_MIN_QUALITY
from cairn.services.access import case_for, require
from cairn.services.context import Context
from cairn.store import audit
from cairn.store.link_models import MediaLink
from cairn.store.models import Case, Evidence, Media, MediaPdqVariant, Occurrence

if TYPE_CHECKING:
    from cairn.services.identity import Principal

# The methods a link may name (the `cairn links` contract, docs/architecture.md).
METHODS = (
    "sha256",
    "pdq",
    "vpdq",
    "local-features",
    "camera-serial",
    "camera-signature",
    "prnu",
    "gps-time",
    "folder",
    "messaging",
)
CHUNK = 5000
Region = tuple[int, int, int, int]  # x, y, w, h in pixels of the image


@dataclass(frozen=True)
class Link:
    """A link to record between media `a` and `b` (any order: stored canonically)."""

    a: str
    b: str
    method: str
    score: float
    a_region: Region | None = None
    b_region: Region | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredLink:
    """A stored link seen from one side: `sha256` is the given item, `other` the linked one,
    each region in pixels of its own image."""

    sha256: str
    other: str
    method: str
    score: float
    region: Region | None
    other_region: Region | None
    details: dict[str, Any]
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class LinkedTo:
    """One end of a link as a case shows it: the case and item linked to, the region of it."""

    case: str
    sha256: str
    method: str
    score: float
    region: list[int] | None  # [x, y, w, h] in pixels of the linked item; None: all of it
    details: dict[str, Any]


@dataclass(frozen=True)
class LinkedMedia:
    sha256: str
    paths: list[str]  # "evidence:path" of each occurrence in the case
    links: list[LinkedTo]


def record_links(
    connection: Connection,
    engine: Engine,
    links: Iterable[Link],
    *,
    by: str,
    run_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Upsert links (one per pair and method; a repeated one replaces the stored values).
    Self-links are dropped; an unknown method is a ValueError. Returns the rows written."""
    now = now or datetime.now(UTC)
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for link in links:
        if link.method not in METHODS:
            raise ValueError(f"unknown link method {link.method!r}")
        if link.a == link.b:
            continue
        first, second = sorted((link.a, link.b))
        a_region, b_region = link.a_region, link.b_region
        if first != link.a:
            a_region, b_region = b_region, a_region
        rows[(first, second, link.method)] = {
            "a_sha256": first,
            "b_sha256": second,
            "method": link.method,
            "score": float(link.score),
            "a_region": None if a_region is None else [int(v) for v in a_region],
            "b_region": None if b_region is None else [int(v) for v in b_region],
            "details": dict(link.details),
            "created_at": now,
            "created_by": by,
            "run_id": run_id,
        }
    ordered = [rows[key] for key in sorted(rows)]
    for start in range(0, len(ordered), CHUNK):
        connection.execute(_upsert(engine), ordered[start : start + CHUNK])
    return len(ordered)


def _upsert(engine: Engine) -> Any:
    dialect = {"postgresql": postgresql, "sqlite": sqlite}.get(engine.dialect.name)
    if dialect is None:
        raise NotImplementedError(engine.dialect.name)
    statement = dialect.insert(MediaLink)
    replaced = ("score", "a_region", "b_region", "details", "created_at", "created_by", "run_id")
    return statement.on_conflict_do_update(
        index_elements=["a_sha256", "b_sha256", "method"],
        set_={name: statement.excluded[name] for name in replaced},
    )


def stored_links(
    connection: Connection, shas: Collection[str], methods: Collection[str] | None = None
) -> list[StoredLink]:
    """Every stored link touching one of `shas`, seen from that side (a link between two of
    them appears once from each). No agency filter: callers decide who sees the other end."""
    found = []
    wanted = sorted(set(shas))
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        query = select(MediaLink).where(
            or_(MediaLink.a_sha256.in_(chunk), MediaLink.b_sha256.in_(chunk))
        )
        if methods is not None:
            query = query.where(MediaLink.method.in_(list(methods)))
        members = set(chunk)
        for row in connection.execute(query):
            for mine, other, region, other_region in (
                (row.a_sha256, row.b_sha256, row.a_region, row.b_region),
                (row.b_sha256, row.a_sha256, row.b_region, row.a_region),
            ):
                if mine in members:
                    found.append(
                        StoredLink(
                            mine,
                            other,
                            row.method,
                            row.score,
                            _region(region),
                            _region(other_region),
                            dict(row.details or {}),
                            row.created_at,
                            row.created_by,
                        )
                    )
    found.sort(key=lambda s: (s.sha256, -s.score, s.other, s.method))
    return found


_COLUMNS = (
    MediaLink.a_sha256,
    MediaLink.b_sha256,
    MediaLink.method,
    MediaLink.score,
    MediaLink.a_region,
    MediaLink.b_region,
    MediaLink.details,
    MediaLink.created_at,
    MediaLink.created_by,
)


def _region(value: Sequence[int] | None) -> Region | None:
    if value is None:
        return None
    x, y, w, h = (int(v) for v in value)
    return (x, y, w, h)


def agency_cases(agency_id: int | None) -> Select[int, str]:
    """(id, ref) of the cases a case of `agency_id` may be linked to: its agency's own (every
    case of the workspace for a local case, as for video comparisons)."""
    query = select(Case.id, Case.ref)
    if agency_id is not None:
        query = query.where(Case.agency_id == agency_id)
    return query


def linked_cases(
    connection: Connection, shas: Collection[str], agency_id: int | None
) -> dict[str, list[str]]:
    """Per item, the refs of the cases of the agency that hold it, sorted."""
    cases = agency_cases(agency_id).subquery()
    found: dict[str, set[str]] = defaultdict(set)
    wanted = sorted(set(shas))
    for start in range(0, len(wanted), CHUNK):
        rows = connection.execute(
            select(Occurrence.media_sha256, cases.c.ref)
            .join(Evidence, Evidence.id == Occurrence.evidence_id)
            .join(cases, cases.c.id == Evidence.case_id)
            .where(Occurrence.media_sha256.in_(wanted[start : start + CHUNK]))
            .distinct()
        )
        for sha, ref in rows:
            found[sha].add(ref)
    return {sha: sorted(refs) for sha, refs in found.items()}


def case_links(
    ctx: Context,
    principal: Principal | None,
    case_ref: str,
    methods: Collection[str] | None = None,
) -> list[LinkedMedia]:
    """The case's media items that are linked to other media (of this case or another case of
    its agency), each with its links, best score first; items by SHA-256. Audited as a read."""
    require(principal, "case.read")
    if methods is not None and (unknown := set(methods) - set(METHODS)):
        raise UsageError(f"unknown link method {sorted(unknown)[0]!r}")
    with ctx.db.session() as session:
        case = case_for(session, principal, case_ref)
        case_id, ref, agency_id = case.id, case.ref, case.agency_id
        connection = session.connection()
        paths = _case_paths(connection, case_id)
        stored = stored_links(connection, paths, methods)
        holders = linked_cases(connection, {s.other for s in stored} | set(paths), agency_id)
        result: dict[str, list[LinkedTo]] = defaultdict(list)
        if methods is None or "sha256" in methods:
            for sha in paths:  # exact copies: the same item in the agency's other cases
                for other_case in holders.get(sha, ()):
                    if other_case != ref:
                        result[sha].append(LinkedTo(other_case, sha, "sha256", 1.0, None, {}))
        for link in stored:
            for other_case in holders.get(link.other, ()):
                region = None if link.other_region is None else list(link.other_region)
                result[link.sha256].append(
                    LinkedTo(other_case, link.other, link.method, link.score, region, link.details)
                )
        audit.record(session, ctx.actor, "case.read", ref, view="links", items=len(result))
    return [
        LinkedMedia(
            sha,
            paths[sha],
            sorted(links, key=lambda t: (-t.score, t.case, t.sha256, t.method)),
        )
        for sha, links in sorted(result.items())
    ]


def _case_paths(connection: Connection, case_id: int) -> dict[str, list[str]]:
    paths: dict[str, list[str]] = defaultdict(list)
    for sha, label, path in connection.execute(
        select(Occurrence.media_sha256, Evidence.label, Occurrence.path)
        .join(Evidence, Evidence.id == Occurrence.evidence_id)
        .where(Evidence.case_id == case_id, Occurrence.media_sha256.is_not(None))
        .order_by(Evidence.label, Occurrence.path, Occurrence.id)
    ):
        if sha is not None:  # always: filtered above
            paths[sha].append(f"{label}:{path.decode('utf-8', 'backslashreplace')}")
    return dict(paths)


# PDQ links ------------------------------------------------------------------------------------


def pdq_score(distance: int) -> float:
    """1 at distance 0, 0 at 128 bits, where unrelated pictures sit (PDQ's documentation)."""
    return max(0.0, 1.0 - distance / 128)


def _images(connection: Connection, query: Any) -> list[tuple[str, str]]:
    """(sha256, pdq) of trusted image hashes (quality at or above PDQ's floor)."""
    rows = connection.execute(
        select(Media.sha256, Media.pdq)
        .where(query, Media.pdq.is_not(None), Media.pdq_quality >= PDQ_MIN_QUALITY)
        .order_by(Media.sha256)
    )
    return [(sha, pdq) for sha, pdq in rows if pdq is not None]  # always: filtered above


def link_media(
    connection: Connection,
    engine: Engine,
    media: Select[Any],
    *,
    by: str,
    run_id: int | None = None,
) -> int:
    """Store the `pdq` links of some images (`media`: a query of SHA-256s, such as
    `store.case_media.case_media(case_id)`) to every other image of the workspace, within
    PDQ's match distance of the image as stored or of any of its stored variants (rotations,
    flips, trimmed borders). Cost: one exact range search over the workspace's images.
    Returns the links written."""
    queries = list(_images(connection, Media.sha256.in_(media)))
    if not queries:
        return 0
    stored = list(_images(connection, Media.sha256.is_not(None)))
    if len(stored) < 2:
        return 0
    from cairn.matching.pdq_index import PdqIndex  # numba kernels: only when there is work

    index = PdqIndex()
    index.build(_hex_rows(pdq for _, pdq in stored), np.arange(len(stored), dtype=np.int64))
    owners: list[tuple[str, str]] = [(sha, "") for sha, _ in queries]
    hashes = [pdq for _, pdq in queries]
    mine = [sha for sha, _ in queries]
    for start in range(0, len(mine), CHUNK):
        for sha, variant, pdq, quality in connection.execute(
            select(
                MediaPdqVariant.media_sha256,
                MediaPdqVariant.variant,
                MediaPdqVariant.pdq,
                MediaPdqVariant.quality,
            )
            .where(MediaPdqVariant.media_sha256.in_(mine[start : start + CHUNK]))
            .order_by(MediaPdqVariant.media_sha256, MediaPdqVariant.variant)
        ):
            if quality >= PDQ_MIN_QUALITY:
                owners.append((sha, variant))
                hashes.append(pdq)
    found = index.search_arrays(_hex_rows(hashes), PDQ_MATCH_DISTANCE)
    best: dict[tuple[str, str], tuple[int, str]] = {}
    for query, row, distance in zip(
        found.query.tolist(), found.id.tolist(), found.distance.tolist(), strict=True
    ):
        sha, variant = owners[query]
        other = stored[row][0]
        if other == sha:
            continue
        key = (min(sha, other), max(sha, other))
        form = f"{sha}:{variant}" if variant else ""  # which item's variant matched
        if key not in best or (distance, form) < best[key]:
            best[key] = (distance, form)
    links = [
        Link(a, b, "pdq", pdq_score(distance), details=_pdq_details(distance, variant))
        for (a, b), (distance, variant) in sorted(best.items())
    ]
    return record_links(connection, engine, links, by=by, run_id=run_id)


def _pdq_details(distance: int, form: str) -> dict[str, Any]:
    if not form:
        return {"distance": distance}
    sha, variant = form.split(":", 1)
    return {"distance": distance, "variant": variant, "variant_of": sha}


def _hex_rows(hashes: Iterable[str]) -> np.ndarray[Any, Any]:
    joined = b"".join(bytes.fromhex(h) for h in hashes)
    return np.frombuffer(joined, np.uint8).reshape(-1, PDQ.key_bytes)
