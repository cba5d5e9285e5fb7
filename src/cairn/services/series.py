"""Series: the media of one abuse event or victim, worked by victim-identification staff.

A series belongs to an agency. Shared, it is visible to every agency, so that a victim
identified in one country is known as identified everywhere; only the owning agency changes it.
Specialists file media into series (Cairn proposes, services.series_suggest; it never files by
itself), carry a series through its statuses, merge and split series; each change is a history
event (`series_events`) and an audit event. Another agency's private series is as invisible as
a missing one; of another agency's shared series a user sees the owner, status, contact point
and member hashes, never the owner's cases or history.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cairn.core.errors import NotFoundError, UsageError
from cairn.core.types import SeriesStatus
from cairn.services.access import case_for, is_row_id, owning_agency, require, visible_series
from cairn.services.context import Context
from cairn.services.graded import of_agency
from cairn.services.items import resolve_items
from cairn.services.records.common import move_records
from cairn.services.records.inbox import OUTCOMES, notify_outcome
from cairn.store import audit
from cairn.store.grade_models import Grade
from cairn.store.identity_models import Agency
from cairn.store.models import Case
from cairn.store.series_models import Series, SeriesEvent, SeriesMedia

if TYPE_CHECKING:
    from cairn.services.identity import Principal

LOCAL = "local"  # the agency column of a series of the local operator's workspace


class Keep(enum.Enum):
    """Leave a field as it is (None already means "unknown" for the identified flags)."""

    KEEP = 0


KEEP = Keep.KEEP


@dataclass(frozen=True)
class SeriesInfo:
    id: int
    agency: str
    name: str
    shared: bool
    victim_identified: bool | None
    offender_identified: bool | None
    notes: str
    created_at: str
    created_by: str
    status: str
    contact: str
    media: int  # members


@dataclass(frozen=True)
class SeriesMember:
    sha256: str
    case: str | None  # the case it was filed from; None in another agency's shared series
    added_at: str | None
    added_by: str | None


@dataclass(frozen=True)
class SeriesChange:
    at: str
    by: str
    action: str
    details: dict[str, Any]
    reason: str


@dataclass(frozen=True)
class SeriesDetail:
    series: SeriesInfo
    media: list[SeriesMember]
    history: list[SeriesChange]  # empty for another agency's shared series


def _iso(value: datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _info(session: Session, series: Series) -> SeriesInfo:
    code = (
        session.scalar(select(Agency.code).where(Agency.id == series.agency_id))
        if series.agency_id is not None
        else None
    )
    members = session.scalar(
        select(func.count()).select_from(SeriesMedia).where(SeriesMedia.series_id == series.id)
    )
    return SeriesInfo(
        series.id,
        code or LOCAL,
        series.name,
        series.shared,
        series.victim_identified,
        series.offender_identified,
        series.notes,
        _iso(series.created_at),
        series.created_by,
        series.status,
        series.contact,
        members or 0,
    )


def _by(ctx: Context, principal: Principal | None) -> str:
    return ctx.actor.user if principal is None else principal.username


def _history(
    session: Session,
    ctx: Context,
    principal: Principal | None,
    series: Series,
    action: str,
    reason: str = "",
    **details: Any,
) -> None:
    session.add(
        SeriesEvent(
            series_id=series.id,
            at=datetime.now(UTC),
            by=_by(ctx, principal),
            action=action,
            details=details,
            reason=reason,
        )
    )
    audit.record(
        session, ctx.actor, f"series.{action}", None, id=series.id, reason=reason, **details
    )


def _workers(session: Session, series: Series) -> set[str]:
    """Who worked on the series beyond its records: who filed or changed it, and who graded
    its members (told of its outcome, services.records.inbox)."""
    members = select(SeriesMedia.media_sha256).where(SeriesMedia.series_id == series.id)
    graders = session.scalars(select(Grade.by).where(Grade.media_sha256.in_(members)))
    changers = session.scalars(select(SeriesEvent.by).where(SeriesEvent.series_id == series.id))
    return set(graders) | set(changers)


def list_series(ctx: Context, principal: Principal | None) -> list[SeriesInfo]:
    """The agency's own series and every shared one (merged series are left out)."""
    require(principal, "series.read")
    with ctx.db.session() as session:
        rows = session.scalars(
            visible_series(session, principal)
            .where(Series.merged_into.is_(None))
            .outerjoin(Agency, Agency.id == Series.agency_id)
            .order_by(Series.name, Agency.code, Series.id)
        )
        return [_info(session, series) for series in rows]


def series_id(ctx: Context, name: str, agency: str | None = None) -> int:
    """The id of the series `name` for the operator at the command line: names are unique
    per agency, so with several agencies holding one, `agency` chooses."""
    with ctx.db.session() as session:
        query = select(Series.id, Agency.code).outerjoin(Agency, Agency.id == Series.agency_id)
        query = query.where(Series.name == name, Series.merged_into.is_(None))
        if agency is not None:
            query = query.where(Agency.code == agency)
        found = session.execute(query.order_by(Series.id)).all()
    if not found:
        raise NotFoundError(f"no series {name!r}")
    if len(found) > 1:
        codes = ", ".join(code or LOCAL for _id, code in found)
        raise UsageError(f"series {name!r} exists in several agencies ({codes}): give --agency")
    return int(found[0][0])


def create_series(
    ctx: Context,
    principal: Principal | None,
    name: str,
    *,
    shared: bool = False,
    notes: str = "",
    contact: str = "",
    case_ref: str | None = None,
) -> SeriesInfo:
    """A new series of the principal's agency (at the command line: of the case's agency, or
    the workspace's only one)."""
    require(principal, "series.write")
    if not name.strip():
        raise UsageError("a series needs a name")
    try:
        with ctx.db.session() as session:
            if case_ref is not None:
                agency_id = case_for(session, principal, case_ref).agency_id
            elif principal is not None:
                agency_id = principal.agency_id
            else:
                agency_id = owning_agency(session, None)
            taken = session.scalar(
                select(Series.id).where(Series.name == name, of_agency(Series.agency_id, agency_id))
            )
            if taken is not None:  # the unique constraint lets NULL agencies repeat names
                raise UsageError(f"series {name!r} already exists")
            series = Series(
                agency_id=agency_id,
                name=name,
                shared=shared,
                notes=notes,
                contact=contact,
                status=SeriesStatus.UNIDENTIFIED.value,
                created_at=datetime.now(UTC),
                created_by=_by(ctx, principal),
            )
            session.add(series)
            session.flush()
            _history(session, ctx, principal, series, "create", name=name, shared=shared)
            return _info(session, series)
    except IntegrityError as exc:
        raise UsageError(f"series {name!r} already exists") from exc


def _owned(session: Session, principal: Principal | None, series_id: int) -> Series:
    """A live series the principal's agency owns: another agency's (shared or not) and a
    merged one are not found."""
    series = session.get(Series, series_id) if is_row_id(series_id) else None
    if (
        series is None
        or series.merged_into is not None
        or (principal is not None and series.agency_id != principal.agency_id)
    ):
        raise NotFoundError(f"no series {series_id}")
    return series


def _visible(session: Session, principal: Principal | None, series_id: int) -> Series:
    series = (
        session.scalar(visible_series(session, principal).where(Series.id == series_id))
        if is_row_id(series_id)
        else None
    )
    if series is None:
        raise NotFoundError(f"no series {series_id}")
    return series


def update_series(
    ctx: Context,
    principal: Principal | None,
    series_id: int,
    *,
    shared: bool | None = None,
    victim_identified: bool | Keep | None = KEEP,
    offender_identified: bool | Keep | None = KEEP,
    notes: str | None = None,
    contact: str | None = None,
) -> SeriesInfo:
    """Change the agency's own series; another agency's (shared or not) is not found.
    The identified flags take None for "unknown"; fields left out keep their value."""
    require(principal, "series.write")
    with ctx.db.session() as session:
        series = _owned(session, principal, series_id)
        changes: dict[str, Any] = {}
        if shared is not None:
            changes["shared"] = shared
        if victim_identified is not KEEP:
            changes["victim_identified"] = victim_identified
        if offender_identified is not KEEP:
            changes["offender_identified"] = offender_identified
        if notes is not None:
            changes["notes"] = notes
        if contact is not None:
            changes["contact"] = contact
        newly_identified = victim_identified is True and series.victim_identified is not True
        for field, value in changes.items():
            setattr(series, field, value)
        if newly_identified:
            notify_outcome(session, ctx.actor, series, "identified", _workers(session, series))
        if changes:
            _history(session, ctx, principal, series, "update", "", **changes)
        return _info(session, series)


def set_status(
    ctx: Context, principal: Principal | None, series_id: int, status: str, reason: str = ""
) -> SeriesInfo:
    """Move a series to `status`. Going back (identified → disseminated, or out of
    `eliminated`) is allowed and recorded, with the reason it needs."""
    require(principal, "series.write")
    try:
        new = SeriesStatus(status)
    except ValueError:
        raise UsageError(
            f"status {status!r}: one of {', '.join(s.value for s in SeriesStatus)}"
        ) from None
    with ctx.db.session() as session:
        series = _owned(session, principal, series_id)
        old = SeriesStatus(series.status)
        if new is old:
            return _info(session, series)
        backwards = new.rank < old.rank
        if backwards and not reason.strip():
            raise UsageError(f"{old.value} → {new.value} goes back: give the reason")
        series.status = new.value
        if new.value in OUTCOMES and not backwards:
            notify_outcome(session, ctx.actor, series, new.value, _workers(session, series))
        _history(
            session,
            ctx,
            principal,
            series,
            "status",
            reason,
            old=old.value,
            new=new.value,
            backwards=backwards,
        )
        return _info(session, series)


def add_media(
    ctx: Context, principal: Principal | None, series_id: int, case_ref: str, items: list[str]
) -> SeriesInfo:
    """File items of a case (SHA-256 or evidence:path) in one of the agency's series."""
    require(principal, "series.write")
    with ctx.db.session() as session:
        series = _owned(session, principal, series_id)
        case = case_for(session, principal, case_ref)
        if case.agency_id != series.agency_id:
            raise UsageError("a series holds media of its own agency's cases only")
        shas = resolve_items(session, case, items)
        held = set(
            session.scalars(
                select(SeriesMedia.media_sha256).where(
                    SeriesMedia.series_id == series.id, SeriesMedia.media_sha256.in_(shas)
                )
            )
        )
        now, by = datetime.now(UTC), _by(ctx, principal)
        added = [sha for sha in shas if sha not in held]
        session.add_all(
            SeriesMedia(
                series_id=series.id, media_sha256=sha, case_id=case.id, added_at=now, added_by=by
            )
            for sha in added
        )
        session.flush()
        _history(session, ctx, principal, series, "add", case=case.ref, media=added)
        return _info(session, series)


def _members_among(session: Session, series: Series, shas: list[str]) -> list[str]:
    """Those of `shas` that are members of the series, in SHA-256 order."""
    return sorted(
        session.scalars(
            select(SeriesMedia.media_sha256).where(
                SeriesMedia.series_id == series.id, SeriesMedia.media_sha256.in_(shas)
            )
        )
    )


def remove_media(
    ctx: Context, principal: Principal | None, series_id: int, shas: list[str], reason: str = ""
) -> SeriesInfo:
    """Take members out of a series (SHA-256s; one that is not a member changes nothing)."""
    require(principal, "series.write")
    wanted = sorted({sha.lower() for sha in shas})
    with ctx.db.session() as session:
        series = _owned(session, principal, series_id)
        removed = _members_among(session, series, wanted)
        session.execute(
            delete(SeriesMedia).where(
                SeriesMedia.series_id == series.id, SeriesMedia.media_sha256.in_(removed)
            )
        )
        _history(session, ctx, principal, series, "remove", reason, media=removed)
        return _info(session, series)


def _move(session: Session, source: Series, target: Series, shas: list[str] | None) -> list[str]:
    """Move members (all, or `shas`) from source to target; returns the SHA-256s moved."""
    query = select(SeriesMedia).where(SeriesMedia.series_id == source.id)
    if shas is not None:
        query = query.where(SeriesMedia.media_sha256.in_(shas))
    members = list(session.scalars(query.order_by(SeriesMedia.media_sha256)))
    held = set(
        session.scalars(select(SeriesMedia.media_sha256).where(SeriesMedia.series_id == target.id))
    )
    for member in members:
        if member.media_sha256 not in held:
            session.add(
                SeriesMedia(
                    series_id=target.id,
                    media_sha256=member.media_sha256,
                    case_id=member.case_id,
                    added_at=member.added_at,
                    added_by=member.added_by,
                )
            )
        session.delete(member)
    session.flush()
    return [m.media_sha256 for m in members]


def merge_series(
    ctx: Context, principal: Principal | None, into_id: int, from_id: int, reason: str = ""
) -> SeriesInfo:
    """Merge series `from_id` into `into_id`: its members and records move, it is kept (for
    its history) but no longer listed. Both must be the agency's own: a merge across agencies
    is refused."""
    require(principal, "series.write")
    if into_id == from_id:
        raise UsageError("a series cannot be merged into itself")
    with ctx.db.session() as session:
        into, source = _owned(session, principal, into_id), _owned(session, principal, from_id)
        if into.agency_id != source.agency_id:
            raise UsageError("refused: the series belong to different agencies")
        moved = _move(session, source, into, None)
        move_records(session, ctx, source, into)
        source.merged_into = into.id
        _history(session, ctx, principal, into, "merge", reason, merged=source.id, media=moved)
        _history(session, ctx, principal, source, "merged", reason, into=into.id, media=moved)
        return _info(session, into)


def split_series(
    ctx: Context,
    principal: Principal | None,
    series_id: int,
    name: str,
    shas: list[str],
    reason: str = "",
) -> SeriesInfo:
    """Move some members into a new series `name` of the same agency (same sharing and
    status); returns the new series."""
    require(principal, "series.write")
    wanted = sorted({sha.lower() for sha in shas})
    if not wanted:
        raise UsageError("name the members to split off")
    with ctx.db.session() as session:
        source = _owned(session, principal, series_id)
        members = set(_members_among(session, source, wanted))
        strangers = [sha for sha in wanted if sha not in members]
        if strangers:
            raise UsageError(f"not members of the series: {', '.join(strangers)}")
        taken = session.scalar(
            select(Series.id).where(
                Series.name == name, of_agency(Series.agency_id, source.agency_id)
            )
        )
        if taken is not None or not name.strip():
            raise UsageError(
                f"series {name!r} already exists" if taken else "a series needs a name"
            )
        new = Series(
            agency_id=source.agency_id,
            name=name,
            shared=source.shared,
            notes="",
            contact=source.contact,
            status=source.status,
            created_at=datetime.now(UTC),
            created_by=_by(ctx, principal),
        )
        session.add(new)
        session.flush()
        moved = _move(session, source, new, wanted)
        _history(session, ctx, principal, source, "split", reason, into=new.id, media=moved)
        _history(session, ctx, principal, new, "split-from", reason, source=source.id, media=moved)
        return _info(session, new)


def show_series(ctx: Context, principal: Principal | None, series_id: int) -> SeriesDetail:
    """A series with its members and history. Of another agency's shared series: its member
    hashes only, without the cases they came from or the owner's history."""
    require(principal, "series.read")
    with ctx.db.session() as session:
        series = _visible(session, principal, series_id)
        own = principal is None or series.agency_id == principal.agency_id
        rows = session.execute(
            select(SeriesMedia, Case.ref)
            .outerjoin(Case, Case.id == SeriesMedia.case_id)
            .where(SeriesMedia.series_id == series.id)
            .order_by(SeriesMedia.media_sha256)
        ).all()
        media = [
            SeriesMember(m.media_sha256, ref, _iso(m.added_at), m.added_by)
            if own
            else SeriesMember(m.media_sha256, None, None, None)
            for m, ref in rows
        ]
        history = (
            [
                SeriesChange(_iso(e.at), e.by, e.action, e.details, e.reason)
                for e in session.scalars(
                    select(SeriesEvent)
                    .where(SeriesEvent.series_id == series.id)
                    .order_by(SeriesEvent.id)
                )
            ]
            if own
            else []
        )
        audit.record(session, ctx.actor, "series.read", None, id=series.id)
        return SeriesDetail(_info(session, series), media, history)
