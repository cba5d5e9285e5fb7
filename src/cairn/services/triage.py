"""Triage counts and the review queue: what needs human eyes, new material first.

Reviewer exposure is the point: every item that an exact or near match settles is one a
person does not have to look at, and near-duplicates of a new item are shown stacked under it
so that a series is reviewed once, not once per copy.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from cairn.core.hash_kinds import PDQ
from cairn.core.thresholds import PDQ_MATCH_DISTANCE, PDQ_MIN_QUALITY
from cairn.core.types import Triage
from cairn.services.cases import get_case
from cairn.services.context import Context
from cairn.services.matching import BestMatch, best_matches
from cairn.store import audit
from cairn.store.case_media import case_media
from cairn.store.models import Evidence, Media, MediaPdqVariant, Occurrence

NEEDS_NO_VIEW = (Triage.KNOWN, Triage.NEAR_KNOWN, Triage.KNOWN_IGNORABLE)
REVIEW_ORDER = (Triage.NEW, Triage.POSSIBLE)


@dataclass(frozen=True)
class TriageCount:
    evidence: str
    bucket: str
    items: int  # unique media items of that evidence in that bucket


@dataclass(frozen=True)
class TriageReport:
    case_ref: str
    rows: list[TriageCount]
    totals: dict[str, int]  # unique media of the whole case
    no_view_share: float  # share of the case's items that need no human view


@dataclass(frozen=True)
class CaseMatch:
    """A matched media item of a case: its bucket and the best match behind it."""

    media_sha256: str
    triage: str
    hashset: str
    category: str
    method: str
    distance: int | None
    variant: str
    series: str


def _triage_of(best: dict[str, BestMatch], sha: str) -> Triage:
    found = best.get(sha)
    return found.triage if found else Triage.NEW


def case_matches(ctx: Context, case_ref: str) -> list[CaseMatch]:
    """Each matched media item of the case, by SHA-256, with its bucket and best match."""
    with ctx.db.engine.connect() as connection:
        with Session(bind=connection) as session:
            case_id = get_case(session, case_ref).id
        best = best_matches(connection, case_id)
    return [
        CaseMatch(
            sha,
            m.triage.value,
            m.hashset,
            m.category,
            m.method,
            m.distance,
            m.variant,
            m.series,
        )
        for sha, m in sorted(best.items())
    ]


def triage_report(ctx: Context, case_ref: str) -> TriageReport:
    with ctx.db.engine.connect() as connection:
        with Session(bind=connection) as session:
            case_id = get_case(session, case_ref).id
        best = best_matches(connection, case_id)
        pairs = connection.execute(
            case_media(case_id, Evidence.label).order_by(Evidence.label)
        ).all()
    per_evidence: Counter[tuple[str, str]] = Counter()
    bucket_of: dict[str, Triage] = {}
    for label, sha in pairs:
        assert sha is not None  # the query keeps hashed occurrences only
        bucket = _triage_of(best, sha)
        per_evidence[(label, bucket.value)] += 1
        bucket_of[sha] = bucket
    order = {bucket.value: i for i, bucket in enumerate(Triage)}
    rows = [
        TriageCount(label, bucket, n)
        for (label, bucket), n in sorted(
            per_evidence.items(), key=lambda x: (x[0][0], order[x[0][1]])
        )
    ]
    totals = Counter(bucket.value for bucket in bucket_of.values())
    cleared = sum(totals.get(bucket.value, 0) for bucket in NEEDS_NO_VIEW)
    return TriageReport(
        case_ref,
        rows,
        {bucket.value: totals.get(bucket.value, 0) for bucket in Triage},
        cleared / len(bucket_of) if bucket_of else 0.0,
    )


@dataclass(frozen=True)
class QueueEntry:
    sha256: str
    mime: str | None
    triage: str
    paths: tuple[str, ...]  # "evidence:path" of every occurrence
    distance: int | None = None  # to the group's lead item (stacked duplicates only)


@dataclass(frozen=True)
class QueueGroup:
    lead: QueueEntry
    duplicates: tuple[QueueEntry, ...]

    @property
    def size(self) -> int:
        return 1 + len(self.duplicates)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def pdq_variants(connection: Connection, shas: list[str]) -> dict[str, list[str]]:
    """The extra PDQs (rotations, flips, trimmed forms) of each item, for stacking."""
    variants: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(shas), 5000):
        for sha, pdq in connection.execute(
            select(MediaPdqVariant.media_sha256, MediaPdqVariant.pdq).where(
                MediaPdqVariant.media_sha256.in_(shas[start : start + 5000])
            )
        ):
            variants[sha].append(pdq)
    return variants


def stack_groups(
    pdqs: dict[str, tuple[str | None, int | None]], variants: dict[str, list[str]]
) -> list[list[str]]:
    """Items stacked with their near-duplicates: any form of one within PDQ's match distance
    of another joins them (transitively). `pdqs`: SHA-256 -> (PDQ, quality); items without
    a usable PDQ stand alone. Groups and their members in SHA-256 order."""
    from cairn.matching.pdq_index import PdqIndex

    shas = sorted(pdqs)
    position = {sha: i for i, sha in enumerate(shas)}
    groups = _UnionFind(len(shas))
    hashed = [s for s in shas if pdqs[s][0] and (pdqs[s][1] or 0) >= PDQ_MIN_QUALITY]
    if hashed:
        index = PdqIndex()
        index.build(
            np.frombuffer(
                b"".join(bytes.fromhex(pdqs[s][0] or "") for s in hashed), np.uint8
            ).reshape(-1, PDQ.key_bytes),
            np.array([position[s] for s in hashed], np.int64),
        )
        query_owner = []
        query_hex = []
        for sha in hashed:
            for pdq in [pdqs[sha][0] or "", *variants.get(sha, ())]:
                query_owner.append(position[sha])
                query_hex.append(pdq)
        queries = np.frombuffer(b"".join(bytes.fromhex(h) for h in query_hex), np.uint8)
        found = index.search_arrays(queries.reshape(-1, PDQ.key_bytes), PDQ_MATCH_DISTANCE)
        for query, other in zip(found.query.tolist(), found.id.tolist(), strict=True):
            groups.union(query_owner[query], other)
    members: dict[int, list[str]] = defaultdict(list)
    for sha in shas:
        members[groups.find(position[sha])].append(sha)
    return list(members.values())


def review_queue(ctx: Context, case_ref: str, limit: int | None = None) -> list[QueueGroup]:
    """New items first, then possible ones; within each, the largest near-duplicate groups
    first. Each unique item appears once; its near-duplicates are stacked under it."""
    from cairn.hashing.pdq import hamming

    with ctx.db.engine.connect() as connection, Session(bind=connection) as session:
        case_id = get_case(session, case_ref).id
        best = best_matches(connection, case_id)
        rows = connection.execute(
            select(
                Media.sha256,
                Media.mime,
                Media.pdq,
                Media.pdq_quality,
                Evidence.label,
                Occurrence.path,
            )
            .join(Occurrence, Occurrence.media_sha256 == Media.sha256)
            .join(Evidence, Evidence.id == Occurrence.evidence_id)
            .where(Evidence.case_id == case_id)
            .order_by(Media.sha256, Evidence.label, Occurrence.path)
        ).all()
        items: dict[str, tuple[str | None, str | None, int | None]] = {}
        paths: dict[str, list[str]] = defaultdict(list)
        for sha, mime, pdq, quality, label, path in rows:
            if not mime or not mime.startswith(("image/", "video/")):
                continue
            if _triage_of(best, sha) not in REVIEW_ORDER:
                continue
            items[sha] = (mime, pdq, quality)
            paths[sha].append(f"{label}:{path.decode('utf-8', 'backslashreplace')}")
        shas = sorted(items)
        variants = pdq_variants(connection, shas)
        audit.record(session, ctx.actor, "queue.view", case_ref, items=len(shas))
        session.commit()
    stacks = stack_groups(
        {sha: (pdq, quality) for sha, (_mime, pdq, quality) in items.items()}, variants
    )
    result = []
    for group in stacks:
        # The lead is the item of the group whose bucket comes first, then the earliest sha.
        group.sort(key=lambda s: (REVIEW_ORDER.index(_triage_of(best, s)), s))
        lead = group[0]
        lead_pdq = items[lead][1]

        def entry(sha: str, lead_pdq: str | None = lead_pdq, is_lead: bool = False) -> QueueEntry:
            pdq = items[sha][1]
            distance = None if is_lead or not (pdq and lead_pdq) else hamming(pdq, lead_pdq)
            return QueueEntry(
                sha, items[sha][0], _triage_of(best, sha).value, tuple(paths[sha]), distance
            )

        result.append(QueueGroup(entry(lead, is_lead=True), tuple(entry(s) for s in group[1:])))
    result.sort(key=lambda g: (REVIEW_ORDER.index(Triage(g.lead.triage)), -g.size, g.lead.sha256))
    return result[:limit] if limit else result
