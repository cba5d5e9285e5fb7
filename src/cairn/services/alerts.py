"""Alerts and person notices: "tell me when this appears" (docs/federation.md).

An alert watches a SHA-256, a PDQ (within 31 bits), a phone number or an account in the cases
of its agency; a **notice** is also watched in every other agency's cases and can be exported
to partner instances. Hits are raised where the value can first be seen: matching (media) and
messaging imports (accounts). A hit in another agency's case tells the notice's owner that and
when it appeared there, and in which agency, never the case or anything else of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Connection, or_, select
from sqlalchemy.orm import Session

from cairn.core.errors import NotFoundError, UsageError
from cairn.core.thresholds import PDQ_MATCH_DISTANCE
from cairn.messaging.jids import e164
from cairn.services.context import Context
from cairn.store import audit
from cairn.store.alert_models import Alert, AlertHit
from cairn.store.identity_models import Agency
from cairn.store.messaging_models import MsgAccount
from cairn.store.models import Case

if TYPE_CHECKING:
    from cairn.services.identity import Principal

KINDS = ("sha256", "pdq", "phone", "account")
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class AlertInfo:
    id: int
    kind: str
    value: str
    note: str
    notice: bool
    origin: str | None
    created_at: str
    created_by: str


@dataclass(frozen=True)
class HitInfo:
    """One hit: `case` and `item` only when the case is the caller's agency's; else `agency`
    (or `remote`, a partner instance) says where it appeared."""

    alert: int
    kind: str
    value: str
    case: str | None
    item: str | None
    agency: str | None
    remote: str | None
    source: str
    at: str


def normalise(kind: str, value: str) -> str:
    """An alert's value in the form the store compares (UsageError when it is not one)."""
    text = value.strip()
    if kind in ("sha256", "pdq"):
        text = text.lower()
        if not _HEX64.fullmatch(text):
            raise UsageError(f"--{kind} takes 64 hexadecimal digits")
        return text
    if kind == "phone":
        number = e164(text)
        if number is None:
            raise UsageError(f"{value!r} is not an international phone number")
        return number
    if kind == "account":
        if not text or len(text) > 300:
            raise UsageError("an account is 1 to 300 characters")
        return text
    raise UsageError(f"an alert watches one of {', '.join(KINDS)}")


def _alert_info(row: Alert) -> AlertInfo:
    return AlertInfo(
        row.id,
        row.kind,
        row.value,
        row.note,
        row.notice,
        row.origin,
        row.created_at.isoformat(),
        row.created_by,
    )


def add_alert(
    ctx: Context,
    kind: str,
    value: str,
    *,
    note: str = "",
    notice: bool = False,
    agency_id: int | None = None,
) -> AlertInfo:
    normalised = normalise(kind, value)
    with ctx.db.session() as session:
        row = Alert(
            agency_id=agency_id,
            kind=kind,
            value=normalised,
            note=note,
            notice=notice,
            created_at=datetime.now(UTC),
            created_by=ctx.actor.user,
        )
        session.add(row)
        session.flush()
        audit.record(session, ctx.actor, "alert.add", None, id=row.id, kind=kind, notice=notice)
        return _alert_info(row)


def _own(agency_id: int | None) -> ColumnElement[bool]:
    return Alert.agency_id.is_(None) if agency_id is None else Alert.agency_id == agency_id


def list_alerts(ctx: Context, agency_id: int | None = None) -> list[AlertInfo]:
    with ctx.db.session() as session:
        rows = session.scalars(
            select(Alert).where(Alert.removed_at.is_(None), _own(agency_id)).order_by(Alert.id)
        )
        return [_alert_info(row) for row in rows]


def remove_alert(ctx: Context, alert_id: int, agency_id: int | None = None) -> None:
    with ctx.db.session() as session:
        row = session.get(Alert, alert_id)
        if row is None or row.removed_at is not None or row.agency_id != agency_id:
            raise NotFoundError(f"no alert {alert_id}")
        row.removed_at = datetime.now(UTC)
        audit.record(session, ctx.actor, "alert.remove", None, id=alert_id)


def _watching(connection: Connection, case_id: int, kinds: Iterable[str]) -> list[Alert]:
    """The active alerts a case is checked against: its agency's, and every notice."""
    agency_id = connection.scalar(select(Case.agency_id).where(Case.id == case_id))
    with Session(bind=connection) as session:
        return list(
            session.scalars(
                select(Alert)
                .where(
                    Alert.removed_at.is_(None),
                    Alert.kind.in_(list(kinds)),
                    or_(_own(agency_id), Alert.notice.is_(True)),
                )
                .order_by(Alert.id)
            )
        )


def _record_hits(
    ctx: Context,
    connection: Connection,
    case_id: int,
    case_ref: str,
    hits: list[tuple[Alert, str]],
    source: str,
) -> int:
    """Store the hits not on record yet (one per alert, case and item), each audited."""
    made = 0
    now = datetime.now(UTC)
    with Session(bind=connection) as session:
        for alert, item in hits:
            exists = session.scalar(
                select(AlertHit.id).where(
                    AlertHit.alert_id == alert.id,
                    AlertHit.case_id == case_id,
                    AlertHit.item == item,
                )
            )
            if exists is not None:
                continue
            session.add(
                AlertHit(alert_id=alert.id, case_id=case_id, item=item, source=source, at=now)
            )
            audit.record(session, ctx.actor, "alert.hit", case_ref, alert=alert.id, kind=alert.kind)
            made += 1
        session.flush()
    return made


def raise_media_hits(
    ctx: Context,
    connection: Connection,
    case_id: int,
    case_ref: str,
    media: Iterable[tuple[str, str | None]],
) -> int:
    """Hits of SHA-256 and PDQ alerts on a case's media ((sha256, pdq) pairs)."""
    alerts = _watching(connection, case_id, ("sha256", "pdq"))
    if not alerts:
        return 0
    items = list(media)
    by_sha = {alert.value: alert for alert in alerts if alert.kind == "sha256"}
    pdq_alerts = [(alert, int(alert.value, 16)) for alert in alerts if alert.kind == "pdq"]
    hits: list[tuple[Alert, str]] = []
    for sha, pdq in items:
        if sha in by_sha:
            hits.append((by_sha[sha], sha))
        if pdq and pdq_alerts:
            value = int(pdq, 16)
            hits.extend(
                (alert, sha)
                for alert, watched in pdq_alerts
                if (value ^ watched).bit_count() <= PDQ_MATCH_DISTANCE
            )
    return _record_hits(ctx, connection, case_id, case_ref, hits, "match")


def raise_account_hits(ctx: Context, connection: Connection, case_id: int, case_ref: str) -> int:
    """Hits of phone and account alerts on the accounts a case's messaging holds."""
    alerts = _watching(connection, case_id, ("phone", "account"))
    if not alerts:
        return 0
    hits: list[tuple[Alert, str]] = []
    rows = connection.execute(
        select(MsgAccount.key, MsgAccount.phone, MsgAccount.jid, MsgAccount.lid).where(
            MsgAccount.case_id == case_id
        )
    ).all()
    for alert in alerts:
        for key, phone, jid, lid in rows:
            seen = (phone, key) if alert.kind == "phone" else (key, jid, lid)
            if alert.value in seen:
                hits.append((alert, key))
    return _record_hits(ctx, connection, case_id, case_ref, hits, "messaging")


def list_hits(ctx: Context, principal: Principal | None = None) -> list[HitInfo]:
    """Hits on the caller's alerts (all alerts for the local operator)."""
    agency_id = None if principal is None else principal.agency_id
    with ctx.db.session() as session:
        query = (
            select(AlertHit, Alert, Case.ref, Case.agency_id, Agency.code)
            .join(Alert, Alert.id == AlertHit.alert_id)
            .outerjoin(Case, Case.id == AlertHit.case_id)
            .outerjoin(Agency, Agency.id == Case.agency_id)
            .order_by(AlertHit.at, AlertHit.id)
        )
        if principal is not None:
            query = query.where(Alert.agency_id == agency_id)
        out = []
        for hit, alert, ref, case_agency, code in session.execute(query):
            ours = hit.case_id is not None and (principal is None or case_agency == agency_id)
            out.append(
                HitInfo(
                    alert.id,
                    alert.kind,
                    alert.value,
                    ref if ours else None,
                    hit.item if ours else None,
                    None if ours else code,
                    hit.remote or None,
                    hit.source,
                    hit.at.isoformat(),
                )
            )
        return out
