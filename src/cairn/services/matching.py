"""Matching a case against the known-material indexes, and the triage that follows from it.

Exact digests first, then PDQ: every stored hash within the review band of any form of the
image (as stored, its seven rotations and flips, its border-trimmed forms). A PDQ hit within
the set's threshold is a match; one in the band above it is only "possible", for a human to
confirm. Matching is idempotent: rerunning adds only what is new.
"""

from __future__ import annotations

import socket
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import ColumnElement, Connection, Select, func, insert, select, update
from sqlalchemy.orm import Session

from cairn.core.hash_kinds import DIGESTS, PDQ, PERCEPTUAL, HashKind
from cairn.core.thresholds import PDQ_MIN_QUALITY, PDQ_POSSIBLE_MAX
from cairn.core.types import Triage
from cairn.matching.known import KnownIndexes, PdqSearch
from cairn.services.access import agency_media, series_seen_by, usable_by_agency
from cairn.services.alerts import raise_media_hits
from cairn.services.cases import get_case
from cairn.services.context import Context
from cairn.services.graded import as_category, is_ignorable, known_from_grades, standing_grades
from cairn.services.hashsets import materialize_known_files
from cairn.services.links import link_media, stored_links
from cairn.services.provenance import library_versions
from cairn.services.sharing.filters import (
    ASK,
    filter_match_rows,
    filter_sets,
    request_details,
)
from cairn.services.video_matching.comparison import compare_workspace_videos, video_match_rows
from cairn.store import audit
from cairn.store.case_media import case_media
from cairn.store.models import (
    Case,
    HashSet,
    KnownHash,
    Match,
    Media,
    MediaPdqVariant,
    ProcessingRun,
)
from cairn.store.series_models import Series, SeriesMedia
from cairn.store.writer import insert_ignoring_duplicates

HOSTILE = ("illegal", "alert")
GRADES = "(grades)"  # the hash-set column of an item that grades made known
ID_CHUNK = 5000


@dataclass
class MatchSummary:
    case_ref: str
    media: int = 0
    hash_sets: int = 0
    new_matches: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    links: int = 0  # PDQ links to the workspace's images, new or not
    seconds: float = 0.0


@dataclass(frozen=True)
class ActiveSet:
    id: int
    name: str
    kind: str
    threshold: int
    source_sha256: str


def _chunks(values: list[Any], size: int = ID_CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class _CaseMedia(NamedTuple):
    sha256: str
    md5: str
    sha1: str
    pdq: str | None


def _case_media(connection: Connection, case_id: int) -> list[_CaseMedia]:
    rows = connection.execute(
        select(Media.sha256, Media.md5, Media.sha1, Media.pdq)
        .where(Media.sha256.in_(case_media(case_id)))
        .order_by(Media.sha256)
    )
    return [_CaseMedia(*row) for row in rows]


def _variants(connection: Connection, shas: list[str]) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for chunk in _chunks(shas):
        for sha, variant, pdq in connection.execute(
            select(
                MediaPdqVariant.media_sha256, MediaPdqVariant.variant, MediaPdqVariant.pdq
            ).where(MediaPdqVariant.media_sha256.in_(chunk))
        ):
            found[sha].append((variant, pdq))
    return found


def _hex_array(values: Iterable[str], kind: HashKind) -> np.ndarray[Any, Any]:
    joined = b"".join(bytes.fromhex(v) for v in values)
    return np.frombuffer(joined, np.uint8).reshape(-1, kind.key_bytes)


def match_case(ctx: Context, case_ref: str, scheduler: str | None = None) -> MatchSummary:
    """Match the case; with `scheduler` (a Dask scheduler's address), its PDQ searches run on
    that cluster's workers (`cairn.cluster.matching`): the same rows, stored here."""
    if scheduler is None:
        return _match_case(ctx, case_ref)
    from cairn.cluster.matching import cluster_pdq_search

    with cluster_pdq_search(scheduler, ctx.workspace.root / "indexes" / "pdq") as search:
        return _match_case(ctx, case_ref, search, scheduler)


def _match_case(
    ctx: Context,
    case_ref: str,
    pdq_search: PdqSearch | None = None,
    scheduler: str | None = None,
) -> MatchSummary:
    started = time.monotonic()
    summary = MatchSummary(case_ref)
    with ctx.db.engine.begin() as connection:
        with Session(bind=connection) as session:
            case = get_case(session, case_ref)
            case_id, agency_id = case.id, case.agency_id
        # A case matches against its agency's sets and the shared ones, never another's.
        usable = select(HashSet).where(HashSet.removed_at.is_(None), usable_by_agency(agency_id))
        sets = {
            s.id: ActiveSet(s.id, s.name, s.kind, s.pdq_threshold, s.source_sha256)
            for s in connection.execute(usable)
        }
        summary.hash_sets = len(sets)
        media = _case_media(connection, case_id)
        summary.media = len(media)
        if not media:
            summary.seconds = time.monotonic() - started
            return summary
        if not sets:  # nothing known, but the case's videos are still linked to the workspace's
            now = datetime.now(UTC)
            run_id = _record_run(connection, ctx, case_id, sets, now, scheduler)
            compare_workspace_videos(connection, ctx, case_id, run_id, now)
            summary.links = _link(connection, ctx, case_id, run_id)
            _alert_hits(ctx, connection, case_id, case_ref, media)
            summary.seconds = time.monotonic() - started
            _finish_run(connection, ctx, run_id, case_ref, summary)
            return summary
        indexes = KnownIndexes(ctx.workspace.root / "indexes", pdq_search)
        # (media position, known id, method, variant) -> distance
        found: dict[tuple[int, int, str, str], int] = {}
        for digest in DIGESTS:
            queries = _hex_array([getattr(m, digest.name) for m in media], digest)
            rows, known_ids = indexes.lookup(digest.name, queries)
            for row, known_id in zip(rows.tolist(), known_ids.tolist(), strict=True):
                found[(row, known_id, digest.name, "")] = 0
        pdq_rows: list[tuple[int, str]] = []
        pdq_hex: list[str] = []
        variants = _variants(connection, [m.sha256 for m in media])
        for position, (sha, _md5, _sha1, pdq) in enumerate(media):
            if pdq:
                pdq_rows.append((position, ""))
                pdq_hex.append(pdq)
            for variant, variant_pdq in variants.get(sha, ()):
                pdq_rows.append((position, variant))
                pdq_hex.append(variant_pdq)
        if pdq_hex:
            radius = max(PDQ_POSSIBLE_MAX, *(s.threshold for s in sets.values()))
            hits = indexes.pdq_search(_hex_array(pdq_hex, PDQ), radius)
            for query, known_id, distance in zip(
                hits.query.tolist(), hits.id.tolist(), hits.distance.tolist(), strict=True
            ):
                position, variant = pdq_rows[query]
                key = (position, known_id, "pdq", variant)
                found[key] = min(distance, found.get(key, distance))
        known_ids = sorted({key[1] for key in found})
        materialize_known_files(connection, ctx.workspace.root / "indexes", known_ids)
        owner = _owners(connection, known_ids)
        now = datetime.now(UTC)
        run_id = _record_run(connection, ctx, case_id, sets, now, scheduler)
        rows_out = []
        for (position, known_id, method, variant), distance in found.items():
            hashset = sets.get(owner.get(known_id, -1))
            if hashset is None:  # a set removed since the indexes were built
                continue
            if method == "pdq" and distance > max(hashset.threshold, PDQ_POSSIBLE_MAX):
                continue
            band = "match" if method != "pdq" or distance <= hashset.threshold else "possible"
            rows_out.append(
                {
                    "media_sha256": media[position].sha256,
                    "hashset_id": hashset.id,
                    "known_hash_id": known_id,
                    "method": method,
                    "distance": distance,
                    "variant": variant,
                    "band": band,
                    "hashset_file_sha256": hashset.source_sha256,
                    "matched_at": now,
                    "run_id": run_id,
                }
            )
        rows_out.extend(video_match_rows(connection, ctx, case_id, sets, indexes, run_id, now))
        through_filters = filter_sets(connection, sorted(sets))
        if through_filters:
            filter_rows = filter_match_rows(
                ctx, connection, through_filters, media, pdq_rows, pdq_hex
            )
            rows_out.extend({**row, "matched_at": now, "run_id": run_id} for row in filter_rows)
            request_details(ctx, connection, case_id, case_ref, through_filters, filter_rows)
        summary.links = _link(connection, ctx, case_id, run_id)
        _alert_hits(ctx, connection, case_id, case_ref, media)
        counts: Counter[str] = Counter()
        for chunk in _chunks(rows_out):
            connection.execute(
                insert_ignoring_duplicates(
                    ctx.db.engine, Match, "media_sha256", "known_hash_id", "method", "variant"
                ),
                chunk,
            )
        # Rows already on record keep their first run: what this run added carries its id.
        summary.new_matches = (
            connection.scalar(select(func.count(Match.id)).where(Match.run_id == run_id)) or 0
        )
        for row in rows_out:
            counts[f"{row['method']}:{row['band']}"] += 1
        summary.by_method = dict(counts)
        summary.seconds = time.monotonic() - started
        _finish_run(connection, ctx, run_id, case_ref, summary)
    return summary


def _link(connection: Connection, ctx: Context, case_id: int, run_id: int) -> int:
    """The case's images linked to the workspace's (links are kept at match time too, so that
    cases ingested before a method existed get its links)."""
    return link_media(
        connection, ctx.db.engine, case_media(case_id), by=ctx.actor.user, run_id=run_id
    )


def _alert_hits(
    ctx: Context, connection: Connection, case_id: int, case_ref: str, media: list[_CaseMedia]
) -> None:
    raise_media_hits(ctx, connection, case_id, case_ref, [(m.sha256, m.pdq) for m in media])


def _owners(connection: Connection, known_ids: list[int]) -> dict[int, int]:
    owner: dict[int, int] = {}
    for chunk in _chunks(known_ids):
        rows = connection.execute(
            select(KnownHash.id, KnownHash.hashset_id).where(KnownHash.id.in_(chunk))
        )
        owner.update((known_id, hashset_id) for known_id, hashset_id in rows)
    return owner


def _record_run(
    connection: Connection,
    ctx: Context,
    case_id: int,
    sets: dict[int, ActiveSet],
    now: datetime,
    scheduler: str | None,
) -> int:
    # The scheduler is recorded (as ingest records it) for whoever asks where the work ran.
    where = {"scheduler": scheduler} if scheduler else {}
    return int(
        connection.execute(
            insert(ProcessingRun).returning(ProcessingRun.id),
            {
                "case_id": case_id,
                "evidence_id": None,
                "command": "match",
                "cairn_version": library_versions()["cairn"],
                "libraries": library_versions(),
                "settings": {
                    "possible_max": PDQ_POSSIBLE_MAX,
                    "min_quality": PDQ_MIN_QUALITY,
                    "hash_sets": {
                        s.name: {
                            "kind": s.kind,
                            "pdq_threshold": s.threshold,
                            "sha256": s.source_sha256,
                        }
                        for s in sets.values()
                    },
                    **where,
                },
                "host": socket.gethostname(),
                "user": ctx.actor.user,
                "started_at": now,
                "status": "running",
            },
        ).scalar_one()
    )


def _finish_run(
    connection: Connection, ctx: Context, run_id: int, case_ref: str, summary: MatchSummary
) -> None:
    connection.execute(
        update(ProcessingRun)
        .where(ProcessingRun.id == run_id)
        .values(
            ended_at=datetime.now(UTC),
            status="completed",
            counts={
                "media": summary.media,
                "new_matches": summary.new_matches,
                **summary.by_method,
            },
        )
    )
    with Session(bind=connection) as session:
        audit.record(
            session,
            ctx.actor,
            "match",
            case_ref,
            run=run_id,
            media=summary.media,
            new_matches=summary.new_matches,
        )
        session.flush()


@dataclass(frozen=True)
class BestMatch:
    """What the export shows for one media item: its bucket and the best match behind it."""

    triage: Triage
    hashset: str = ""
    category: str = ""
    distance: int | None = None
    method: str = ""
    variant: str = ""
    series: str = ""


def _bucket(hits: list[tuple[str, int, str, str, str]], quality: int | None) -> Triage:
    """Bucket precedence (docs/architecture.md): an illegal or alert hit beats an ignorable one."""
    low_quality = quality is not None and quality < PDQ_MIN_QUALITY
    if any(method not in PERCEPTUAL and kind in HOSTILE for method, _d, _v, band, kind in hits):
        return Triage.KNOWN
    if any(m in PERCEPTUAL and b == "match" and kind in HOSTILE for m, _d, _v, b, kind in hits):
        return Triage.POSSIBLE if low_quality else Triage.NEAR_KNOWN
    if any(method not in PERCEPTUAL and kind == "ignorable" for method, _d, _v, _b, kind in hits):
        return Triage.KNOWN_IGNORABLE
    if any(band == "possible" and kind in HOSTILE for _m, _d, _v, band, kind in hits):
        return Triage.POSSIBLE
    # A near match to an ignorable set alone does not clear an image: it stays new.
    return Triage.NEW


def _set_label(name: str, owner: str | None, fmt: str) -> str:
    """A partner's set is named with its owner; one known only through a filter says whom to
    ask for the details (docs/federation.md)."""
    if owner is None:
        return name
    return f"{name} ({owner}): {ASK}" if fmt == "filter" else f"{name} ({owner})"


def best_matches(connection: Connection, case_id: int) -> dict[str, BestMatch]:
    """Per matched media item of the case: its triage bucket and best match (active sets).

    An item without a hostile match of its own that has a `local-features` link to an item the
    agency may see that matched an illegal or alert set (exactly or by PDQ/vPDQ), was graded
    of concern or was filed in a series is near-known too: the link is its evidence (`method`
    and `variant` "local-features")."""
    agency_id = connection.scalar(select(Case.agency_id).where(Case.id == case_id))
    result = _best(connection, Match.media_sha256.in_(case_media(case_id)), agency_id)
    _apply_grades(connection, case_id, result)
    shas = [
        sha
        for sha in connection.scalars(case_media(case_id))
        if sha is not None and (sha not in result or result[sha].triage not in _SETTLED)
    ]
    links = stored_links(connection, shas, ["local-features"])
    known = _known_link_ends(connection, sorted({link.other for link in links}), agency_id)
    settled = {sha for sha, best in result.items() if best.triage in _SETTLED}
    for link in sorted(links, key=lambda k: (-k.score, k.other)):  # the best link is shown
        other = known.get(link.other)
        if other is None or link.sha256 in settled:
            continue
        settled.add(link.sha256)
        result[link.sha256] = replace(
            other,
            triage=Triage.NEAR_KNOWN,
            distance=None,
            method="local-features",
            variant="local-features",
        )
    return result


def _known_link_ends(
    connection: Connection, shas: list[str], agency_id: int | None
) -> dict[str, BestMatch]:
    """Of the items at the far end of links, those whose own evidence settles them: a hostile
    match (in the agency's cases), else a grade of concern, else membership of a series the
    agency sees; the first found is the one a linked item shows."""
    visible = None if agency_id is None else agency_media(agency_id)
    found = {
        sha: best
        for sha, best in _best(connection, Match.media_sha256.in_(shas), agency_id, visible).items()
        if best.triage in _SETTLED
    }
    for sha, hit in standing_grades(connection, shas, agency_id).items():
        if sha not in found and not is_ignorable(hit.category):
            found[sha] = BestMatch(
                Triage.KNOWN, GRADES, str(as_category(hit.category)), None, "grade"
            )
    filed = connection.execute(
        select(SeriesMedia.media_sha256, Series.name)
        .join(Series, Series.id == SeriesMedia.series_id)
        .where(SeriesMedia.media_sha256.in_(shas), series_seen_by(agency_id))
        .order_by(SeriesMedia.media_sha256, Series.name)
    )
    for sha, name in filed:
        if sha not in found:
            found[sha] = BestMatch(Triage.KNOWN, method="series", series=name)
    return found


_SETTLED = (Triage.KNOWN, Triage.NEAR_KNOWN)


def _best(
    connection: Connection,
    media: ColumnElement[bool],
    agency_id: int | None,
    held_by: Select[Any] | None = None,
) -> dict[str, BestMatch]:
    """The bucket and best match of each item selected by `media` (among those `held_by`
    selects, when given), from the matches of the sets the agency may use."""
    query = (
        select(
            Match.media_sha256,
            Match.method,
            Match.distance,
            Match.variant,
            Match.band,
            HashSet.kind,
            HashSet.name,
            HashSet.owner,
            HashSet.format,
            KnownHash.category_scheme,
            KnownHash.category_code,
            KnownHash.series,
            Media.pdq_quality,
        )
        .join(HashSet, HashSet.id == Match.hashset_id)
        .join(KnownHash, KnownHash.id == Match.known_hash_id)
        .join(Media, Media.sha256 == Match.media_sha256)
        .where(
            media,
            HashSet.removed_at.is_(None),
            # Media is shared between cases; the matches another agency's sets made are not.
            usable_by_agency(agency_id),
        )
    )
    if held_by is not None:
        query = query.where(Match.media_sha256.in_(held_by))
    rows = connection.execute(query)
    grouped: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    quality: dict[str, int | None] = {}
    for sha, method, distance, variant, band, kind, name, owner, fmt, *rest in rows:
        scheme, code, series, q = rest
        name = _set_label(name, owner, fmt)
        grouped[sha].append((method, distance, variant, band, kind, name, scheme, code, series))
        quality[sha] = q
    result = {}
    for sha, hits in grouped.items():
        bucket = _bucket([h[:5] for h in hits], quality[sha])
        # Exact before PDQ, hostile before ignorable, then the lowest distance.
        method, distance, variant, _band, _kind, name, scheme, code, series = min(
            hits, key=lambda h: (h[0] in PERCEPTUAL, h[4] not in HOSTILE, h[1], h[5])
        )
        result[sha] = BestMatch(
            bucket,
            name,
            f"{scheme}:{code or ''}" if scheme else "",
            distance,
            method,
            variant,
            series or "",
        )
    return result


def _apply_grades(connection: Connection, case_id: int, result: dict[str, BestMatch]) -> None:
    """Graded items of the case take their grade's bucket (in place)."""
    for sha, hit in known_from_grades(connection, case_id).items():
        graded = Triage.KNOWN_IGNORABLE if is_ignorable(hit.category) else Triage.KNOWN
        held = result.get(sha)
        # A grade is a person's exact verdict on this very item: it settles all but an exact
        # hostile hit, and an "ignorable" grade never clears a hostile near match.
        if (
            held is None
            or held.triage is Triage.NEW
            or (graded is Triage.KNOWN and held.triage is not Triage.KNOWN)
        ):
            result[sha] = BestMatch(graded, GRADES, str(as_category(hit.category)), None, "grade")
