"""The review queue as the browser works it: one row per image or video of a case, new first,
near-duplicates stacked under a lead, paged by key so that the millionth item costs what the
first does.

The rows (store.review_models.QueueItem) are derived and filled incrementally: `refresh` reads
the occurrences and matches added since its high-water marks (a bounded batch per call, so a
page view during an ingest stays quick and shows what has been hashed so far), stacks each new
item under the earliest lead within PDQ_MATCH_DISTANCE of it (or of one of its stored variants),
and re-buckets the case when matching has added rows. A stack's rank is its most urgent
member's bucket. Filters apply to the stack's lead.

`services.triage.review_queue` remains the whole-case grouping for the command line; this one
trades its global grouping (a new item joins an existing stack, it never merges two) for
constant-time pages.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    exists,
    func,
    insert,
    not_,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from cairn.core.errors import UsageError
from cairn.core.hash_kinds import PDQ
from cairn.core.thresholds import PDQ_MATCH_DISTANCE, PDQ_MIN_QUALITY
from cairn.core.types import Triage
from cairn.services.access import case_for, series_seen_by
from cairn.services.context import Context
from cairn.services.identity import Principal
from cairn.services.matching import best_matches
from cairn.store import audit
from cairn.store.models import Evidence, Match, Media, MediaPdqVariant, Occurrence
from cairn.store.review_models import QueueItem, QueueState
from cairn.store.series_models import Series, SeriesMedia
from cairn.store.video_models import Video

# The review order of the buckets: what needs eyes first.
RANKS: dict[str, int] = {
    Triage.NEW: 0,
    Triage.POSSIBLE: 1,
    Triage.NEAR_KNOWN: 2,
    Triage.KNOWN: 3,
    Triage.KNOWN_IGNORABLE: 4,
}
TO_REVIEW = "to-review"  # the default bucket filter: new and possible
BUCKET_FILTERS = (TO_REVIEW, *RANKS, "all")
REFRESH_BATCH = 20_000  # occurrences read per refresh: a page view never waits for a whole ingest
_CHUNK = 5000  # values per IN (...): under SQLite's and PostgreSQL's parameter limits
_locks: dict[int, threading.Lock] = defaultdict(threading.Lock)  # one refresh per case at a time


@dataclass(frozen=True)
class QueueFilter:
    bucket: str = TO_REVIEW
    evidence: str | None = None  # an evidence label of the case
    category: str | None = None  # "vics:1"; "" for uncategorised
    has_gps: bool | None = None
    in_series: bool | None = None

    def __post_init__(self) -> None:
        if self.bucket not in BUCKET_FILTERS:
            raise UsageError(f"bucket must be one of {', '.join(BUCKET_FILTERS)}")


EVERYTHING_TO_REVIEW = QueueFilter()


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the (rank, seq) of its last stack."""

    rank: int
    seq: int

    def text(self) -> str:
        return f"{self.rank}.{self.seq}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        rank, _, seq = text.partition(".")
        if not (rank.isdigit() and seq.isdigit() and len(rank) < 3 and len(seq) < 12):
            raise UsageError(f"not a queue position: {text!r}")
        return cls(int(rank), int(seq))


@dataclass(frozen=True)
class QueueCard:
    sha256: str
    bucket: str
    stack_size: int
    video: bool
    has_gps: bool
    category: str
    path: str  # "evidence:path" of its first occurrence in the case
    cursor: Cursor


@dataclass(frozen=True)
class QueuePage:
    case_ref: str
    cards: list[QueueCard]
    next: Cursor | None  # None: the last page
    pending: bool  # the queue has not caught up with the case (an ingest is adding items)


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _rank(bucket: str) -> int:
    return RANKS[bucket]


def _pdq_rows(hexes: Iterable[str]) -> np.ndarray[Any, Any]:
    data = b"".join(bytes.fromhex(h) for h in hexes)
    return np.frombuffer(data, np.uint8).reshape(-1, PDQ.key_bytes)


def _settled(ctx: Context, case_id: int) -> bool:
    """Whether nothing was added to the store since the case's queue last read it: two
    lookups of the newest ids, so that a page view of a settled case costs next to nothing."""
    with ctx.db.engine.connect() as connection:
        marks = connection.execute(
            select(QueueState.occurrence_mark, QueueState.match_mark).where(
                QueueState.case_id == case_id
            )
        ).one_or_none()
        if marks is None:
            return False
        newest_occurrence = connection.scalar(select(func.max(Occurrence.id))) or 0
        newest_match = connection.scalar(select(func.max(Match.id))) or 0
    return newest_occurrence <= marks[0] and newest_match <= marks[1]


def refresh(ctx: Context, case_id: int, batch: int = REFRESH_BATCH) -> bool:
    """Bring the case's queue up to date by at most `batch` new occurrences; whether more
    remain. Safe to call from many requests: one refresh per case runs at a time.

    Occurrence ids are read in order from the last mark; this relies on ids being committed
    in increasing order, as one writer per ingest does (a transaction still open with lower
    ids than a committed one would be read only if its rows arrive before the next page)."""
    if _settled(ctx, case_id):
        return False
    with _locks[case_id], ctx.db.engine.begin() as connection:
        state = connection.execute(
            select(QueueState.occurrence_mark, QueueState.match_mark).where(
                QueueState.case_id == case_id
            )
        ).one_or_none()
        if state is None:
            connection.execute(insert(QueueState).values(case_id=case_id))
            occurrence_mark, match_mark = 0, 0
        else:
            occurrence_mark, match_mark = state
        rows = connection.execute(
            select(Occurrence.id, Occurrence.media_sha256)
            .join(Evidence, Evidence.id == Occurrence.evidence_id)
            .where(
                Evidence.case_id == case_id,
                Occurrence.id > occurrence_mark,
                Occurrence.media_sha256.is_not(None),
            )
            .order_by(Occurrence.id)
            .limit(batch)
        ).all()
        latest_match = connection.scalar(select(func.max(Match.id))) or 0
        added = _add(connection, case_id, rows) if rows else 0
        if added or latest_match > match_mark:
            _rebucket(connection, case_id)
        values: dict[str, int] = {}
        if latest_match != match_mark:
            values["match_mark"] = latest_match
        if rows:
            values["occurrence_mark"] = rows[-1][0]
        elif (newest := connection.scalar(select(func.max(Occurrence.id))) or 0) > occurrence_mark:
            values["occurrence_mark"] = newest  # other cases' rows: nothing of this case's
        if values:  # a page view of a settled case writes nothing
            connection.execute(
                update(QueueState).where(QueueState.case_id == case_id).values(**values)
            )
        return len(rows) == batch


def _add(connection: Connection, case_id: int, rows: Sequence[Any]) -> int:
    first: dict[str, int] = {}
    for occurrence_id, sha in rows:
        first.setdefault(sha, occurrence_id)
    shas = list(first)
    known: set[str] = set()
    media: dict[str, tuple[str | None, str | None, int | None, bool]] = {}
    for part in _chunks(shas):
        known.update(
            connection.scalars(
                select(QueueItem.sha256).where(
                    QueueItem.case_id == case_id, QueueItem.sha256.in_(part)
                )
            )
        )
        for sha, mime, pdq, quality, lat, video_lat in connection.execute(
            select(
                Media.sha256, Media.mime, Media.pdq, Media.pdq_quality, Media.gps_lat, Video.gps_lat
            )
            .outerjoin(Video, Video.sha256 == Media.sha256)
            .where(Media.sha256.in_(part))
        ):
            if mime and mime.startswith(("image/", "video/")):
                media[sha] = (mime, pdq, quality, lat is not None or video_lat is not None)
    new = [sha for sha in shas if sha in media and sha not in known]
    if not new:
        return 0
    lead_of = _stack(connection, case_id, new, media)
    connection.execute(
        insert(QueueItem),
        [
            {
                "case_id": case_id,
                "sha256": sha,
                "seq": first[sha],
                "bucket": Triage.NEW.value,
                "rank": 0,
                "lead_sha256": lead_of[sha],
                "is_lead": lead_of[sha] == sha,
                "stack_size": 1,
                "video": (media[sha][0] or "").startswith("video/"),
                "has_gps": media[sha][3],
                "category": "",
                "in_series": False,
            }
            for sha in new
        ],
    )
    return len(new)


def _stack(
    connection: Connection,
    case_id: int,
    new: list[str],
    media: dict[str, tuple[str | None, str | None, int | None, bool]],
) -> dict[str, str]:
    """The lead of each new item: an existing lead within the PDQ match distance of it, else
    the first new item of its near-duplicate group (new items arrive in seq order)."""
    from cairn.matching.pdq_index import PdqIndex

    lead_of = {sha: sha for sha in new}
    hashed = [sha for sha in new if media[sha][1] and (media[sha][2] or 0) >= PDQ_MIN_QUALITY]
    if not hashed:
        return lead_of
    leads: list[tuple[str, str]] = connection.execute(  # type: ignore[assignment]
        select(QueueItem.sha256, Media.pdq)
        .join(Media, Media.sha256 == QueueItem.sha256)
        .where(
            QueueItem.case_id == case_id,
            QueueItem.is_lead.is_(True),
            Media.pdq.is_not(None),
            Media.pdq_quality >= PDQ_MIN_QUALITY,
        )
        .order_by(QueueItem.seq)
    ).all()
    stored = [sha for sha, _ in leads] + hashed  # ids: positions; existing leads come first
    index = PdqIndex()
    index.build(
        _pdq_rows([pdq for _, pdq in leads] + [media[s][1] or "" for s in hashed]),
        np.arange(len(stored), dtype=np.int64),
    )
    variants: dict[str, list[str]] = defaultdict(list)
    for part in _chunks(hashed):
        for sha, pdq in connection.execute(
            select(MediaPdqVariant.media_sha256, MediaPdqVariant.pdq).where(
                MediaPdqVariant.media_sha256.in_(part)
            )
        ):
            variants[sha].append(pdq)
    owners: list[int] = []
    queries: list[str] = []
    for i, sha in enumerate(hashed):
        for pdq in (media[sha][1] or "", *variants[sha]):
            owners.append(i)
            queries.append(pdq)
    found = index.search_arrays(_pdq_rows(queries), PDQ_MATCH_DISTANCE)
    near: dict[int, set[int]] = defaultdict(set)
    for query, other in zip(found.query.tolist(), found.id.tolist(), strict=True):
        near[owners[query]].add(other)
    existing = len(leads)
    position: dict[int, int] = {}  # a new item's stored position -> its lead's position
    for i, sha in enumerate(hashed):
        me = existing + i
        # The earliest earlier neighbour's lead: an existing lead, or a new item's lead.
        candidates = [
            (other if other < existing else position[other])
            for other in near[i]
            if other < existing or (other < me and other in position)
        ]
        position[me] = min(candidates) if candidates else me
        lead_of[sha] = stored[position[me]]
    return lead_of


def _rebucket(connection: Connection, case_id: int) -> None:
    """Buckets, categories and series from the case's best matches; then each stack's rank
    and size."""
    best = best_matches(connection, case_id)
    current = {
        sha: (bucket, category, in_series)
        for sha, bucket, category, in_series in connection.execute(
            select(
                QueueItem.sha256, QueueItem.bucket, QueueItem.category, QueueItem.in_series
            ).where(
                QueueItem.case_id == case_id,
                (QueueItem.bucket != Triage.NEW.value)
                | (QueueItem.category != "")
                | QueueItem.in_series.is_(True),
            )
        )
    }
    for part in _chunks(list(best)):
        current.update(
            {
                sha: (bucket, category, in_series)
                for sha, bucket, category, in_series in connection.execute(
                    select(
                        QueueItem.sha256,
                        QueueItem.bucket,
                        QueueItem.category,
                        QueueItem.in_series,
                    ).where(QueueItem.case_id == case_id, QueueItem.sha256.in_(part))
                )
            }
        )
    for sha, (bucket, category, in_series) in current.items():
        match = best.get(sha)
        wanted = (
            (match.triage.value, match.category, bool(match.series))
            if match
            else (Triage.NEW.value, "", False)
        )
        if wanted != (bucket, category, in_series):
            connection.execute(
                update(QueueItem)
                .where(QueueItem.case_id == case_id, QueueItem.sha256 == sha)
                .values(bucket=wanted[0], category=wanted[1], in_series=wanted[2])
            )
    stacks: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for sha, lead, bucket in connection.execute(
        select(QueueItem.sha256, QueueItem.lead_sha256, QueueItem.bucket).where(
            QueueItem.case_id == case_id
        )
    ):
        stacks[lead].append((sha, bucket))
    shown = {
        lead: (rank, size)
        for lead, rank, size in connection.execute(
            select(QueueItem.sha256, QueueItem.rank, QueueItem.stack_size).where(
                QueueItem.case_id == case_id, QueueItem.is_lead.is_(True)
            )
        )
    }
    for lead, members in stacks.items():
        wanted_lead = (min(_rank(b) for _, b in members), len(members))
        if shown.get(lead) != wanted_lead:
            connection.execute(
                update(QueueItem)
                .where(QueueItem.case_id == case_id, QueueItem.sha256 == lead)
                .values(rank=wanted_lead[0], stack_size=wanted_lead[1])
            )
        for sha, bucket in members:
            if sha != lead:
                connection.execute(
                    update(QueueItem)
                    .where(
                        QueueItem.case_id == case_id,
                        QueueItem.sha256 == sha,
                        QueueItem.rank != _rank(bucket),
                    )
                    .values(rank=_rank(bucket))
                )


def _filed(agency_id: int | None) -> ColumnElement[bool]:
    """The item is filed in a series the case's agency sees (its own, or a shared one):
    asked per row through series_media's index, so filing shows at once."""
    return exists(
        select(SeriesMedia.series_id)
        .join(Series, Series.id == SeriesMedia.series_id)
        .where(SeriesMedia.media_sha256 == QueueItem.sha256, series_seen_by(agency_id))
    )


def _filtered(case_id: int, agency_id: int | None, chosen: QueueFilter) -> list[Any]:
    conditions: list[Any] = [QueueItem.case_id == case_id, QueueItem.is_lead.is_(True)]
    if chosen.bucket == TO_REVIEW:
        conditions.append(QueueItem.rank <= RANKS[Triage.POSSIBLE])
    elif chosen.bucket != "all":
        conditions.append(QueueItem.rank == RANKS[chosen.bucket])
    if chosen.has_gps is not None:
        conditions.append(QueueItem.has_gps.is_(chosen.has_gps))
    if chosen.in_series is not None:
        # A matched hash-set entry naming a series, or a specialist's filing.
        in_series = or_(QueueItem.in_series.is_(True), _filed(agency_id))
        conditions.append(in_series if chosen.in_series else not_(in_series))
    if chosen.category is not None:
        conditions.append(QueueItem.category == chosen.category)
    if chosen.evidence is not None:
        conditions.append(
            exists(
                select(Occurrence.id)
                .join(Evidence, Evidence.id == Occurrence.evidence_id)
                .where(
                    Occurrence.media_sha256 == QueueItem.sha256,
                    Evidence.case_id == case_id,
                    Evidence.label == chosen.evidence,
                )
            )
        )
    return conditions


def queue_page(
    ctx: Context,
    principal: Principal | None,
    case_ref: str,
    chosen: QueueFilter = QueueFilter(),
    after: Cursor | None = None,
    limit: int = 60,
) -> QueuePage:
    """One page of the case's stacks, in review order after `after`; audited."""
    with ctx.db.session() as session:
        case = case_for(session, principal, case_ref)
        case_id, ref, agency_id = case.id, case.ref, case.agency_id
    pending = refresh(ctx, case_id)
    with ctx.db.session() as session:
        conditions = _filtered(case_id, agency_id, chosen)
        if after is not None:
            conditions.append(tuple_(QueueItem.rank, QueueItem.seq) > (after.rank, after.seq))
        rows = session.execute(
            select(
                QueueItem.sha256,
                QueueItem.bucket,
                QueueItem.stack_size,
                QueueItem.video,
                QueueItem.has_gps,
                QueueItem.category,
                QueueItem.rank,
                QueueItem.seq,
            )
            .where(and_(*conditions))
            .order_by(QueueItem.rank, QueueItem.seq)
            .limit(limit + 1)
        ).all()
        more = len(rows) > limit
        rows = rows[:limit]
        paths = _paths(session, [row.seq for row in rows])
        cards = [
            QueueCard(
                row.sha256,
                row.bucket,
                row.stack_size,
                row.video,
                row.has_gps,
                row.category,
                paths.get(row.seq, ""),
                Cursor(row.rank, row.seq),
            )
            for row in rows
        ]
        audit.record(
            session,
            ctx.actor,
            "queue.view",
            ref,
            after=after.text() if after else None,
            items=len(cards),
        )
        session.commit()
    return QueuePage(ref, cards, cards[-1].cursor if more and cards else None, pending)


def _paths(session: Session, seqs: list[int]) -> dict[int, str]:
    """ "evidence:path" of each occurrence id (an item's seq is its first occurrence's id)."""
    rows = session.execute(
        select(Occurrence.id, Evidence.label, Occurrence.path)
        .join(Evidence, Evidence.id == Occurrence.evidence_id)
        .where(Occurrence.id.in_(seqs))
    )
    return {
        occurrence_id: f"{label}:{path.decode('utf-8', 'backslashreplace')}"
        for occurrence_id, label, path in rows
    }


def stack_members(ctx: Context, case_id: int, lead: str) -> list[str]:
    """The items of the stack `lead` leads in the case, the lead first, then by arrival."""
    with ctx.db.session() as session:
        size = session.scalar(
            select(QueueItem.stack_size).where(
                QueueItem.case_id == case_id, QueueItem.sha256 == lead, QueueItem.is_lead
            )
        )
        if size is None or size == 1:  # most stacks: no need to look for members
            return [lead] if size else []
        return list(
            session.scalars(
                select(QueueItem.sha256)
                .where(QueueItem.case_id == case_id, QueueItem.lead_sha256 == lead)
                .order_by(QueueItem.is_lead.desc(), QueueItem.seq)
            )
        )
