"""What every record of a series shares: finding its series under the agency rules, validated
statuses and countries, and one history with an audit event per change (docs/records.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import phonenumbers
from sqlalchemy import CompoundSelect, select, union
from sqlalchemy.orm import Session

from cairn.core.errors import NotFoundError, UsageError
from cairn.services.access import agency_media, is_row_id, require, visible_series
from cairn.services.context import Context
from cairn.store import audit
from cairn.store.identity_models import Agency
from cairn.store.models import Base, Media
from cairn.store.record_models import LocationClue, RecordChange
from cairn.store.series_models import Series, SeriesMedia

if TYPE_CHECKING:
    from cairn.services.identity import Principal

Row = TypeVar("Row", bound=Base)

# ISO 3166-1 alpha-2 codes: the regions libphonenumber knows are every country with a
# telephone code, which is every country a victim-identification lead can go to.
COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS)
STANCES = ("supports", "eliminates")
DEFAULT_CONFIDENCE = 0.5  # "points there" without a stated strength
MAX_SIDE = 1 << 20  # pixels: beyond any picture, and keeps a region's text short


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Change:
    at: str
    by: str
    action: str
    changes: dict[str, Any]  # field -> [old, new] (create: field -> value)
    reason: str | None


@dataclass(frozen=True)
class CountryEvidence:
    country: str
    stance: str  # supports, eliminates
    confidence: float


# Series --------------------------------------------------------------------------------------


def series_for(
    session: Session, principal: Principal | None, ref: str, *, write: bool = False
) -> Series:
    """The series `ref` (its id, or its name among those the principal sees). Writing needs
    the principal's own agency's series; another agency's, shared or not, is not found."""
    query = visible_series(session, principal)
    if write and principal is not None:
        query = query.where(Series.agency_id == principal.agency_id)
    if ref.isdigit():
        found = (
            session.scalars(query.where(Series.id == int(ref))).all() if is_row_id(int(ref)) else []
        )
    else:
        found = session.scalars(query.where(Series.name == ref).order_by(Series.id)).all()
    if not found:
        raise NotFoundError(f"no series {ref!r}")
    if len(found) > 1:
        raise UsageError(f"several series are named {ref!r}: name it by its id")
    return found[0]


def check_series(
    ctx: Context, principal: Principal | None, ref: str, *, write: bool = False
) -> None:
    """NotFoundError now, before a streamed export starts, if the series is not the caller's
    to read (or, with `write`, its agency's own)."""
    with ctx.db.session() as session:
        series_for(session, principal, ref, write=write)


def agency_code(session: Session, series: Series) -> str:
    agency = session.get(Agency, series.agency_id) if series.agency_id is not None else None
    return agency.code if agency is not None else ""


def owns(principal: Principal | None, series: Series) -> bool:
    return principal is None or series.agency_id == principal.agency_id


def record_for(
    session: Session,
    principal: Principal | None,
    model: type[Row],
    kind: str,
    record_id: int,
    *,
    write: bool = False,
) -> tuple[Row, Series]:
    """A record and its series, if the principal may see it (or change it, with `write`);
    otherwise NotFoundError worded as for a missing one."""
    row = session.get(model, record_id) if is_row_id(record_id) else None
    series = session.get(Series, getattr(row, "series_id", -1)) if row is not None else None
    visible = series is not None and (
        owns(principal, series) if write else (series.shared or owns(principal, series))
    )
    if row is None or series is None or not visible:
        raise NotFoundError(f"no {kind} {record_id}")
    return row, series


# Validation ----------------------------------------------------------------------------------


def choice(field: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise UsageError(f"{field} must be one of {', '.join(allowed)} (not {value!r})")
    return value


def country(code: str) -> str:
    upper = code.strip().upper()
    if upper not in COUNTRIES:
        raise UsageError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return upper


def country_evidence(supports: Sequence[str], eliminates: Sequence[str]) -> list[dict[str, Any]]:
    """`NL` or `NL:0.8` per country (confidence in (0, 1]), as stored; a country both
    supported and eliminated by one clue is a contradiction, refused."""
    evidence: dict[str, dict[str, Any]] = {}
    for stance, given in zip(STANCES, (supports, eliminates), strict=True):
        for item in given:
            code, _, strength = item.partition(":")
            try:
                confidence = float(strength) if strength else DEFAULT_CONFIDENCE
            except ValueError:
                raise UsageError(f"confidence of {item!r} is not a number") from None
            if not 0 < confidence <= 1:
                raise UsageError(f"confidence of {item!r} must be above 0 and at most 1")
            name = country(code)
            if name in evidence:
                raise UsageError(f"{name} is named twice in one record's countries")
            evidence[name] = {"country": name, "stance": stance, "confidence": confidence}
    return [evidence[name] for name in sorted(evidence)]


def countries_of(stored: Sequence[Mapping[str, Any]]) -> list[CountryEvidence]:
    return [CountryEvidence(e["country"], e["stance"], float(e["confidence"])) for e in stored]


def region(value: str, media: Media | None) -> str:
    """The region "X,Y,W,H" in pixels, inside the media item when its size is known."""
    try:
        x, y, w, h = (int(part) for part in value.split(","))
    except ValueError:
        raise UsageError(f"region {value!r} is not X,Y,W,H in whole pixels") from None
    if x < 0 or y < 0 or w <= 0 or h <= 0:
        raise UsageError(f"region {value!r} needs X, Y >= 0 and W, H > 0")
    if max(x + w, y + h) > MAX_SIDE:
        raise UsageError(f"region {value!r} goes beyond {MAX_SIDE} pixels")
    width, height = (media.width, media.height) if media is not None else (None, None)
    if width is not None and height is not None and (x + w > width or y + h > height):
        raise UsageError(f"region {value!r} goes beyond the media item ({width}x{height})")
    return f"{x},{y},{w},{h}"


def series_media(series_id: int) -> CompoundSelect[str]:
    """The SHA-256s of a series' media, as a subquery: its members and its clues' media."""
    return union(
        select(SeriesMedia.media_sha256).where(SeriesMedia.series_id == series_id),
        select(LocationClue.media_sha256).where(
            LocationClue.series_id == series_id, LocationClue.media_sha256.is_not(None)
        ),
    )


def visible_media(session: Session, principal: Principal | None, sha256: str) -> Media:
    """A media item found in a case of the principal's agency; any other (missing, or only
    another agency's) is the same NotFoundError."""
    query = select(Media).where(Media.sha256 == sha256.lower())
    if principal is not None:
        query = query.where(Media.sha256.in_(agency_media(principal.agency_id)))
    media = session.scalar(query)
    if media is None:
        raise NotFoundError(f"no media {sha256} that you may see")
    return media


def status_change(field: str, old: str, new: str, order: Sequence[str], reason: str | None) -> None:
    """Statuses move forward freely; going back is allowed only with a reason, kept in the
    history (a victim "identified" in error is set back, never erased)."""
    choice(field, new, order)
    if order.index(new) < order.index(old) and not (reason and reason.strip()):
        raise UsageError(f"{field} going back from {old} to {new} needs a --reason")


# History -------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def log_create(session: Session, ctx: Context, kind: str, row: Any, fields: Sequence[str]) -> None:
    session.flush()
    values = {f: _plain(getattr(row, f)) for f in fields}
    _log(session, ctx, kind, row, "create", values, None)


def apply_update(
    session: Session,
    ctx: Context,
    kind: str,
    row: Any,
    changes: Mapping[str, Any],
    reason: str | None,
) -> dict[str, Any]:
    """Set the fields that change; record them (old and new) in the history and the audit
    trail. Nothing changed records nothing."""
    changed = {}
    for field, value in changes.items():
        old = getattr(row, field)
        if old != value:
            changed[field] = [_plain(old), _plain(value)]
            setattr(row, field, value)
    if changed:
        _log(session, ctx, kind, row, "update", changed, reason)
    return changed


def _log(
    session: Session,
    ctx: Context,
    kind: str,
    row: Any,
    action: str,
    changes: dict[str, Any],
    reason: str | None,
) -> None:
    session.add(
        RecordChange(
            series_id=row.series_id,
            kind=kind,
            record_id=row.id,
            action=action,
            changes=changes,
            reason=reason,
            at=now(),
            by=ctx.actor.user,
        )
    )
    # The trail names the fields, not their values: names of victims stay in the records.
    audit.record(
        session,
        ctx.actor,
        f"{kind}.{action}",
        None,
        id=row.id,
        series=row.series_id,
        fields=sorted(changes),
        reason=reason,
    )


def history(session: Session, kind: str, record_id: int) -> list[Change]:
    rows = session.scalars(
        select(RecordChange)
        .where(RecordChange.kind == kind, RecordChange.record_id == record_id)
        .order_by(RecordChange.id)
    )
    return [Change(r.at.isoformat(), r.by, r.action, r.changes, r.reason) for r in rows]


# The operations every kind shares ------------------------------------------------------------

View = TypeVar("View")


@dataclass(frozen=True)
class Kind(Generic[Row, View]):
    """A kind of record: its table, how a row is shown (the bool: the viewer's agency owns the
    series, and so sees names, contacts, notes and history), and how changes are checked and
    normalised before they are applied."""

    name: str
    model: type[Row]
    view: Callable[[Session, Row, Series, bool], View]
    check: Callable[[Session, Principal | None, Row, dict[str, Any], str | None], dict[str, Any]]


def create_record(
    ctx: Context,
    principal: Principal | None,
    kind: Kind[Row, View],
    series_ref: str,
    build: Callable[[Session, Series], Row],
) -> View:
    require(principal, "series.write")
    with ctx.db.session() as session:
        series = series_for(session, principal, series_ref, write=True)
        row = build(session, series)
        session.add(row)
        session.flush()
        fields = [c.key for c in row.__table__.columns if c.key not in _NOT_LOGGED]
        log_create(session, ctx, kind.name, row, fields)
        return kind.view(session, row, series, True)


_NOT_LOGGED = frozenset({"id", "series_id", "created_at", "created_by", "blob"})


def list_records(
    ctx: Context, principal: Principal | None, kind: Kind[Row, View], series_ref: str
) -> list[View]:
    require(principal, "series.read")
    with ctx.db.session() as session:
        series = series_for(session, principal, series_ref)
        model: Any = kind.model
        rows = session.scalars(
            select(kind.model).where(model.series_id == series.id).order_by(model.id)
        )
        return [kind.view(session, row, series, owns(principal, series)) for row in rows]


def show_record(
    ctx: Context, principal: Principal | None, kind: Kind[Row, View], record_id: int
) -> View:
    require(principal, "series.read")
    with ctx.db.session() as session:
        row, series = record_for(session, principal, kind.model, kind.name, record_id)
        return kind.view(session, row, series, owns(principal, series))


def update_record(
    ctx: Context,
    principal: Principal | None,
    kind: Kind[Row, View],
    record_id: int,
    changes: dict[str, Any],
    reason: str | None = None,
) -> View:
    """Change the fields given (the owning agency only), with a reason where a status goes
    back; unknown fields are a usage error."""
    require(principal, "series.write")
    with ctx.db.session() as session:
        row, series = record_for(session, principal, kind.model, kind.name, record_id, write=True)
        checked = kind.check(session, principal, row, changes, reason)
        columns = row.__table__.columns
        for field in (f for f, value in checked.items() if value is None):
            if not columns[field].nullable:
                raise UsageError(f"{field} cannot be emptied")
        apply_update(session, ctx, kind.name, row, checked, reason)
        return kind.view(session, row, series, True)


def unknown_fields(changes: Mapping[str, Any], allowed: Sequence[str]) -> None:
    extra = sorted(set(changes) - set(allowed))
    if extra:
        raise UsageError(f"cannot change {', '.join(extra)} (changeable: {', '.join(allowed)})")


def move_records(session: Session, ctx: Context, source: Series, into: Series) -> int:
    """When `source` is merged into `into`, its records follow (victims, persons, clues, leads,
    crops, tips and their history); each record's history says so. Returns how many moved."""
    from cairn.store.record_models import Lead, ObjectCrop, Person, Tip, Victim

    moved = 0
    kinds: tuple[tuple[str, Any], ...] = (
        ("victim", Victim),
        ("person", Person),
        ("clue", LocationClue),
        ("lead", Lead),
        ("crop", ObjectCrop),
        ("tip", Tip),
    )
    for kind, model in kinds:
        for row in session.scalars(select(model).where(model.series_id == source.id)):
            row.series_id = into.id
            session.add(
                RecordChange(
                    series_id=into.id,
                    kind=kind,
                    record_id=row.id,
                    action="move",
                    changes={"series_id": [source.id, into.id]},
                    reason=f"series {source.name!r} merged into {into.name!r}",
                    at=now(),
                    by=ctx.actor.user,
                )
            )
            moved += 1
    for change in session.scalars(select(RecordChange).where(RecordChange.series_id == source.id)):
        change.series_id = into.id
    if moved:
        audit.record(
            session, ctx.actor, "records.move", None, source=source.id, into=into.id, records=moved
        )
    return moved
