"""What a case report says, gathered once from the store (`build_report`); rendering is apart.

Every field is plain text or numbers ready to print: the templates only lay them out. The
one exception is `ReviewItem.thumbnail`, a protected (greyscale, blurred) JPEG, filled only in
a report made for internal review.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cairn.core.types import Triage
from cairn.services.access import case_for, require
from cairn.services.context import Context
from cairn.services.graded import case_standing
from cairn.services.matching import BestMatch, best_matches
from cairn.services.provenance import library_versions
from cairn.services.status import EvidenceStatus, case_status
from cairn.store.case_media import case_media
from cairn.store.identity_models import Agency
from cairn.store.models import AuditEvent, Evidence, Media, ProcessingRun
from cairn.store.series_models import Series, SeriesMedia

if TYPE_CHECKING:
    from cairn.messaging.analysis import Score
    from cairn.services.identity import Principal
    from cairn.services.messaging.groups import GroupReport
    from cairn.services.messaging.people import PersonReport
    from cairn.services.messaging.reports import CaseAnalysis, MediaReport
    from cairn.services.records.leads import LeadView
    from cairn.services.records.persons import PersonView
    from cairn.services.records.victims import VictimView

BUCKETS = tuple(bucket.value for bucket in Triage)
NO_CATEGORY = "uncategorised"
# Reads (who looked at what) are counted in the excerpt, not listed: the custody events are
# what a reader of the report checks against the chain.
READ_ACTIONS = frozenset(
    {"case.read", "media.read", "queue.view", "thumbnail.read", "audit.list", "search.hash"}
)
AUDIT_EXCERPT_EVENTS = 200  # the latest custody events listed; `cairn audit list` has them all
REVIEW_THUMBNAILS = 60  # queue leads shown in an internal-review report
EXIF_TIME = "%Y:%m:%d %H:%M:%S"


def utc(at: datetime | None) -> str:
    """ISO 8601 in UTC with a Z, as the exports write times ("" for none)."""
    if at is None:
        return ""
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class HashCheck:
    algorithm: str
    reference: str  # examiner, image, registered (services.verify.Reference)
    expected: str
    computed: str
    matched: bool


@dataclass(frozen=True)
class Verification:
    """The latest `cairn evidence verify` of an item, as its audit event recorded it."""

    at: str
    by: str
    status: str
    bytes_read: int
    checks: tuple[HashCheck, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True)
class EvidenceItem:
    label: str
    source_kind: str
    source_path: str
    custodian: str
    seized_at: str
    timezone: str
    acquisition_hash: str  # "algorithm:hex" as the examiner gave it
    source_info: tuple[tuple[str, str], ...]  # format, size, an E01's header and stored hashes
    added_at: str
    added_by: str
    status: EvidenceStatus
    verification: Verification | None


@dataclass(frozen=True)
class CountTable:
    """Unique items per evidence item (rows) and bucket or category (columns). `totals` is
    the whole case's unique items: an item on two devices counts once there."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[int, ...]], ...]
    totals: tuple[int, ...]


@dataclass(frozen=True)
class SeriesRow:
    id: int | None  # the series record's, None when no record of that name is visible
    name: str
    matched: int  # the case's items whose best hash-set match names the series
    filed: int  # the case's items a specialist filed in the series
    buckets: str  # of those items together: "known 2, near-known 1"
    agency: str  # the series record's owner, "" when local or without a record
    status: str  # SeriesStatus; "" without a record
    shared: bool | None
    victim_identified: bool | None
    offender_identified: bool | None
    contact: str
    notes: str
    # Its victim-identification records (docs/records.md), as the case's agency may see them.
    victims: tuple[VictimView, ...] = ()
    persons: tuple[PersonView, ...] = ()
    leads: tuple[LeadView, ...] = ()


@dataclass(frozen=True)
class Messaging:
    """What `cairn messaging people|groups|media` show, in the report's order."""

    summary: tuple[str, ...]  # the lines `cairn demo` prints for the case
    clocks: tuple[str, ...]
    producers: tuple[Score, ...]
    distributors: tuple[Score, ...]
    people: tuple[PersonReport, ...]
    groups: tuple[GroupReport, ...]
    media: tuple[MediaReport, ...]


@dataclass(frozen=True)
class RunRecord:
    id: int
    command: str
    evidence: str
    started_at: str
    ended_at: str
    status: str
    host: str
    user: str
    cairn_version: str
    libraries: int  # index into ProcessingRecord.libraries
    settings: int  # index into ProcessingRecord.settings


@dataclass(frozen=True)
class ProcessingRecord:
    """The case's runs; identical library versions and settings are listed once and named by
    their index, since a case's runs mostly share them."""

    runs: tuple[RunRecord, ...]
    libraries: tuple[tuple[tuple[str, str], ...], ...]
    settings: tuple[tuple[tuple[str, str], ...], ...]


@dataclass(frozen=True)
class AuditLine:
    id: int
    at: str
    user: str
    agency: str
    origin: str
    action: str
    details: str
    hash: str  # the event's link in the chain, to check the excerpt against it


@dataclass(frozen=True)
class AuditExcerpt:
    total: int
    by_action: tuple[tuple[str, int], ...]
    events: tuple[AuditLine, ...]  # the latest custody events (reads are only counted)
    omitted: int  # earlier custody events not listed


@dataclass(frozen=True)
class ReviewItem:
    sha256: str
    triage: str
    stacked: int  # near-duplicates stacked under it
    paths: tuple[str, ...]
    thumbnail: bytes | None  # protected JPEG; None when the item has none or is flagged violent
    violent: bool = False  # a reviewer flagged it violent: its thumbnail is withheld


@dataclass(frozen=True)
class CaseReport:
    case_ref: str
    title: str
    agency: str
    created_at: str
    created_by: str
    generated_at: str
    generated_by: str
    generated_on: str
    internal_review: bool
    versions: tuple[tuple[str, str], ...]  # of the Cairn that made the report
    evidence: tuple[EvidenceItem, ...]
    buckets: CountTable
    categories: CountTable
    capture_times: tuple[datetime, ...]  # EXIF DateTimeOriginal of the case's items, sorted
    items: int
    series: tuple[SeriesRow, ...]
    messaging: Messaging | None
    processing: ProcessingRecord
    audit: AuditExcerpt
    review: tuple[ReviewItem, ...]  # internal review only


def build_report(
    ctx: Context, principal: Principal | None, case_ref: str, *, internal_review: bool = False
) -> CaseReport:
    """Everything the report shows. `principal`: the server's user (None: the local operator);
    another agency's case is not found. A report for internal review needs the right to see
    thumbnails and carries the review queue's leads, their thumbnails protected."""
    from cairn.services.messaging.reports import analyse_case

    require(principal, "case.export")
    if internal_review:
        require(principal, "thumbnail.read")
    with ctx.db.engine.connect() as connection, Session(bind=connection) as session:
        case = case_for(session, principal, case_ref)
        agency = (
            session.scalar(select(Agency.code).where(Agency.id == case.agency_id))
            if case.agency_id is not None
            else None
        )
        case_id, agency_id = case.id, case.agency_id
        best = best_matches(connection, case.id)
        graded = case_standing(connection, case.id)
        pairs = [
            (label, sha) for label, sha in connection.execute(case_media(case.id, Evidence.label))
        ]
        capture = connection.execute(
            select(Media.exif_datetime_original).where(
                Media.sha256.in_(case_media(case.id)), Media.exif_datetime_original.is_not(None)
            )
        ).scalars()
        times = sorted(t for t in (_exif_time(text) for text in capture) if t is not None)
        evidence_rows = session.scalars(
            select(Evidence).where(Evidence.case_id == case.id).order_by(Evidence.id)
        ).all()
        verifications = _verifications(session, case_ref)
        processing = _processing(session, case.id, {e.id: e.label for e in evidence_rows})
        audit_excerpt = _audit(session, case_ref)
        title, created_at, created_by = case.title, utc(case.created_at), case.created_by
        evidence_info = [
            (
                e.label,
                e.source_kind,
                e.source_path,
                e.custodian or "",
                utc(e.seized_at),
                e.timezone or "",
                e.acquisition_hash or "",
                tuple(sorted((k, str(v)) for k, v in (e.source_info or {}).items())),
                utc(e.added_at),
                e.added_by,
            )
            for e in evidence_rows
        ]
    statuses = {s.label: s for s in case_status(ctx, case_ref)}
    evidence = tuple(
        EvidenceItem(*info, statuses[info[0]], verifications.get(info[0])) for info in evidence_info
    )
    labels = [e.label for e in evidence]
    triage = {
        sha: (best[sha].triage.value if sha in best else Triage.NEW.value) for _l, sha in pairs
    }
    # A grade that stands in this case is a person's verdict on the item itself: it comes
    # before the hash-set match's category.
    category = {
        sha: graded.get(sha) or (best[sha].category if sha in best else "") or NO_CATEGORY
        for _l, sha in pairs
    }
    with ctx.db.session() as session:
        series = _series(session, principal, case_id, agency_id, triage, best)
    buckets = _count(labels, pairs, triage, BUCKETS)
    categories = _count(labels, pairs, category, _category_order(set(category.values())))
    analysis = analyse_case(ctx, case_ref)
    series = tuple(_with_records(ctx, principal, row) for row in series)
    return CaseReport(
        case_ref,
        title,
        agency or "",
        created_at,
        created_by,
        utc(datetime.now(UTC)),
        ctx.actor.user,
        ctx.actor.host,
        internal_review,
        _flat(_versions()),
        evidence,
        buckets,
        categories,
        tuple(times),
        len(triage),
        series,
        _messaging(analysis) if analysis.media or analysis.groups else None,
        processing,
        audit_excerpt,
        _review(ctx, case_ref) if internal_review else (),
    )


def _versions() -> dict[str, Any]:
    from importlib import metadata

    versions = dict(library_versions())
    for name in ("weasyprint", "jinja2"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _exif_time(text: str | None) -> datetime | None:
    """EXIF's "YYYY:MM:DD HH:MM:SS" (camera-local time, no zone); None when unreadable or
    zeroed, as cameras without a set clock write."""
    try:
        return datetime.strptime((text or "").strip()[:19], EXIF_TIME)
    except ValueError:
        return None


def _category_order(present: set[str]) -> tuple[str, ...]:
    """Schemes in name order, codes in their own order (0-4 as numbers), uncategorised last."""

    def key(category: str) -> tuple[str, int, str]:
        scheme, _, code = category.partition(":")
        return (scheme, int(code) if code.isdigit() else 1 << 30, code)

    named = sorted((c for c in present if c != NO_CATEGORY), key=key)
    return (*named, NO_CATEGORY) if NO_CATEGORY in present else tuple(named)


def _count(
    labels: list[str],
    pairs: list[tuple[str, str]],
    value_of: dict[str, str],
    columns: tuple[str, ...],
) -> CountTable:
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for label, sha in pairs:
        per[label][value_of[sha]] += 1
    totals = Counter(value_of.values())
    return CountTable(
        columns,
        tuple((label, tuple(per[label][c] for c in columns)) for label in labels),
        tuple(totals[c] for c in columns),
    )


def _verifications(session: Session, case_ref: str) -> dict[str, Verification]:
    """The latest verification of each evidence item, from the audit trail (where
    `evidence.verify` records every outcome)."""
    found: dict[str, Verification] = {}
    for event in session.scalars(
        select(AuditEvent)
        .where(AuditEvent.case_ref == case_ref, AuditEvent.action == "evidence.verify")
        .order_by(AuditEvent.id)
    ):
        d = event.details
        found[str(d.get("label"))] = Verification(
            utc(event.at),
            event.user,
            str(d.get("status", "")),
            int(d.get("bytes", 0)),
            tuple(
                HashCheck(
                    c["algorithm"], c["reference"], c["expected"], c["computed"], c["matched"]
                )
                for c in d.get("checks", ())
            ),
            tuple(d.get("problems", ())),
        )
    return found


def _flat(values: dict[str, Any], prefix: str = "") -> tuple[tuple[str, str], ...]:
    """Nested settings as "a.b" keys with JSON-ish values, in key order."""
    out: list[tuple[str, str]] = []
    for key in sorted(values):
        value = values[key]
        if isinstance(value, dict) and value:
            out.extend(_flat(value, f"{prefix}{key}."))
        else:
            shown = value if isinstance(value, str) else json.dumps(value)
            out.append((f"{prefix}{key}", shown))
    return tuple(out)


def _processing(session: Session, case_id: int, labels: dict[int, str]) -> ProcessingRecord:
    libraries: list[tuple[tuple[str, str], ...]] = []
    settings: list[tuple[tuple[str, str], ...]] = []

    def index(table: list[tuple[tuple[str, str], ...]], value: tuple[tuple[str, str], ...]) -> int:
        if value not in table:
            table.append(value)
        return table.index(value)

    runs = []
    for run in session.scalars(
        select(ProcessingRun).where(ProcessingRun.case_id == case_id).order_by(ProcessingRun.id)
    ):
        runs.append(
            RunRecord(
                run.id,
                run.command,
                labels.get(run.evidence_id or -1, ""),
                utc(run.started_at),
                utc(run.ended_at),
                run.status,
                run.host,
                run.user,
                run.cairn_version,
                index(libraries, _flat(run.libraries)),
                index(settings, _flat(run.settings)),
            )
        )
    return ProcessingRecord(tuple(runs), tuple(libraries), tuple(settings))


def _audit(session: Session, case_ref: str) -> AuditExcerpt:
    """Counted and cut in SQL: a long-worked case has an event per page viewed."""
    of_case = AuditEvent.case_ref == case_ref
    by_action = {
        action: int(n)
        for action, n in session.execute(
            select(AuditEvent.action, func.count()).where(of_case).group_by(AuditEvent.action)
        )
    }
    custody = of_case & AuditEvent.action.not_in(sorted(READ_ACTIONS))
    latest = session.scalars(
        select(AuditEvent).where(custody).order_by(AuditEvent.id.desc()).limit(AUDIT_EXCERPT_EVENTS)
    ).all()
    shown = tuple(
        AuditLine(
            event.id,
            utc(event.at),
            event.user,
            event.agency or "",
            event.origin or "",
            event.action,
            json.dumps(event.details, sort_keys=True, ensure_ascii=False),
            event.hash,
        )
        for event in reversed(latest)
    )
    custody_count = sum(n for action, n in by_action.items() if action not in READ_ACTIONS)
    return AuditExcerpt(
        sum(by_action.values()),
        tuple(sorted(by_action.items())),
        shown,
        custody_count - len(shown),
    )


def _series(
    session: Session,
    principal: Principal | None,
    case_id: int,
    agency_id: int | None,
    triage: dict[str, str],
    best: dict[str, BestMatch],
) -> tuple[SeriesRow, ...]:
    """The series the case's items belong to: those their best hash-set matches name, and
    those a specialist filed them in, each with its record as the case's agency sees it (for
    a name, its own record first, then a shared one)."""
    from cairn.services.access import visible_series

    named: dict[str, set[str]] = defaultdict(set)
    for sha in triage:
        match = best.get(sha)
        for name in (n.strip() for n in (match.series if match else "").split(",")):
            if name:
                named[name].add(sha)
    visible = visible_series(session, principal).where(Series.merged_into.is_(None))
    filed: dict[int, set[str]] = defaultdict(set)
    for filed_in, sha in session.execute(
        select(SeriesMedia.series_id, SeriesMedia.media_sha256).where(
            SeriesMedia.media_sha256.in_(case_media(case_id)),
            SeriesMedia.series_id.in_(visible.with_only_columns(Series.id)),
        )
    ):
        filed[filed_in].add(sha)
    records: dict[int, tuple[Series, str | None]] = {}
    by_name: dict[str, int] = {}
    for record, code in session.execute(
        visible.add_columns(Agency.code)
        .outerjoin(Agency, Agency.id == Series.agency_id)
        .where(or_(Series.name.in_(sorted(named)), Series.id.in_(sorted(filed))))
        .order_by(Series.id)
    ):
        records[record.id] = (record, code)
        if record.name in named and (record.name not in by_name or record.agency_id == agency_id):
            by_name[record.name] = record.id
    keys: set[tuple[str, int | None]] = {(records[i][0].name, i) for i in filed}
    keys |= {(name, by_name.get(name)) for name in named}
    result = []
    for name, series_id in sorted(keys, key=lambda k: (k[0], k[1] or 0)):
        matched = named.get(name, set()) if by_name.get(name) == series_id else set()
        items = matched | filed.get(series_id or -1, set())
        record, code = records[series_id] if series_id is not None else (None, None)
        counts = Counter(triage[sha] for sha in items)
        result.append(
            SeriesRow(
                series_id,
                name,
                len(matched),
                len(filed.get(series_id or -1, ())),
                ", ".join(f"{b} {counts[b]}" for b in BUCKETS if counts[b]),
                code or "",
                record.status if record else "",
                record.shared if record else None,
                record.victim_identified if record else None,
                record.offender_identified if record else None,
                record.contact if record else "",
                record.notes if record else "",
            )
        )
    return tuple(result)


def _with_records(ctx: Context, principal: Principal | None, row: SeriesRow) -> SeriesRow:
    from dataclasses import replace

    from cairn.services.records.common import list_records
    from cairn.services.records.leads import LEADS
    from cairn.services.records.persons import PERSONS
    from cairn.services.records.victims import VICTIMS

    if row.id is None:
        return row
    ref = str(row.id)
    return replace(
        row,
        victims=tuple(list_records(ctx, principal, VICTIMS, ref)),
        persons=tuple(list_records(ctx, principal, PERSONS, ref)),
        leads=tuple(list_records(ctx, principal, LEADS, ref)),
    )


def _messaging(analysis: CaseAnalysis) -> Messaging:
    from cairn.services.messaging.reports import summary_lines

    return Messaging(
        tuple(line.split("; `cairn ")[0] for line in summary_lines(analysis)),
        tuple(clock.describe() for clock in analysis.clocks),
        tuple(analysis.producers),
        tuple(analysis.distributors),
        tuple(analysis.people),
        tuple(analysis.groups),
        tuple(analysis.media),
    )


def _review(ctx: Context, case_ref: str) -> tuple[ReviewItem, ...]:
    """The review queue's leads, each with its protected thumbnail (opened and audited as any
    thumbnail read is); none for an item a reviewer flagged violent, which the UI gates too."""
    import contextlib

    from cairn.core.errors import CairnError
    from cairn.media.thumbnail import load_or_create_key, open_thumbnail, protected
    from cairn.services.cases import get_case
    from cairn.services.review import VIOLENT
    from cairn.services.triage import review_queue
    from cairn.store.models import Thumbnail
    from cairn.store.review_models import ReviewFlag

    groups = review_queue(ctx, case_ref, limit=REVIEW_THUMBNAILS)
    key = load_or_create_key(ctx.workspace.key_file)
    items = []
    with ctx.db.session() as session:
        violent = set(
            session.scalars(
                select(ReviewFlag.sha256).where(
                    ReviewFlag.case_id == get_case(session, case_ref).id,
                    ReviewFlag.flag == VIOLENT,
                )
            )
        )
        for group in groups:
            lead = group.lead
            stored = session.get(Thumbnail, lead.sha256)
            jpeg = None
            if stored is not None and lead.sha256 not in violent:
                with contextlib.suppress(CairnError):
                    jpeg = protected(open_thumbnail(stored.blob, key, lead.sha256))
            items.append(
                ReviewItem(
                    lead.sha256,
                    lead.triage,
                    len(group.duplicates),
                    lead.paths,
                    jpeg,
                    lead.sha256 in violent,
                )
            )
    return tuple(items)
