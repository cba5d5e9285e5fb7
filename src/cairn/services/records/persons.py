"""Offenders and suspects of a series: role, status, phones and accounts, and the messaging
accounts of the agency's cases that those phones and accounts are."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import phonenumbers
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cairn.core.errors import UsageError
from cairn.services.context import Context
from cairn.services.records.common import (
    Change,
    Kind,
    agency_code,
    choice,
    create_record,
    history,
    now,
    status_change,
    unknown_fields,
)
from cairn.store.messaging_models import MsgAccount
from cairn.store.models import Case
from cairn.store.record_models import Person
from cairn.store.series_models import Series

if TYPE_CHECKING:
    from cairn.services.identity import Principal

ROLES = ("producer", "distributor", "other")
STATUSES = ("unidentified", "identified", "located", "arrested")
CHANGEABLE = ("role", "status", "name", "phones", "accounts", "notes")


@dataclass(frozen=True)
class LinkedAccount:
    """A messaging account (`cairn messaging people`) that is this person's phone or account."""

    case: str
    key: str
    phone: str | None
    name: str | None


@dataclass(frozen=True)
class PersonView:
    id: int
    series: str
    agency: str
    role: str
    status: str
    name: str | None  # names, contacts and notes: the owning agency's only
    phones: list[str] | None
    accounts: list[str] | None
    notes: str | None
    messaging: list[LinkedAccount]
    history: list[Change]


def phones_e164(numbers: Sequence[str]) -> list[str]:
    """International numbers (with their +country code) as E.164, the form messaging keys use."""
    result = []
    for number in numbers:
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is None or not phonenumbers.is_possible_number(parsed):
            raise UsageError(f"{number!r} is not an international phone number (+CC…)")
        result.append(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    return sorted(set(result))


def _linked(session: Session, row: Person, series: Series) -> list[LinkedAccount]:
    keys = [*row.phones, *row.accounts]
    if not keys:
        return []
    rows = session.execute(
        select(Case.ref, MsgAccount)
        .join(Case, Case.id == MsgAccount.case_id)
        .where(
            Case.agency_id.is_(None)
            if series.agency_id is None
            else Case.agency_id == series.agency_id,
            or_(
                MsgAccount.phone.in_(row.phones),
                MsgAccount.key.in_(keys),
                MsgAccount.jid.in_(row.accounts),
            ),
        )
        .order_by(Case.ref, MsgAccount.key)
    )
    return [LinkedAccount(ref, a.key, a.phone, a.display_name or a.push_name) for ref, a in rows]


def _view(session: Session, row: Person, series: Series, owner: bool) -> PersonView:
    return PersonView(
        row.id,
        series.name,
        agency_code(session, series),
        row.role,
        row.status,
        row.name if owner else None,
        list(row.phones) if owner else None,
        list(row.accounts) if owner else None,
        row.notes if owner else None,
        _linked(session, row, series) if owner else [],
        history(session, "person", row.id) if owner else [],
    )


def _check(
    session: Session,
    principal: Principal | None,
    row: Person,
    changes: dict[str, Any],
    reason: str | None,
) -> dict[str, Any]:
    unknown_fields(changes, CHANGEABLE)
    checked = dict(changes)
    if "role" in changes:
        choice("role", changes["role"], ROLES)
    if "status" in changes:
        status_change("status", row.status, changes["status"], STATUSES, reason)
    if "phones" in changes:
        checked["phones"] = phones_e164(changes["phones"])
    if "accounts" in changes:
        checked["accounts"] = sorted(set(changes["accounts"]))
    if changes.get("name") == "":
        checked["name"] = None
    return checked


PERSONS: Kind[Person, PersonView] = Kind("person", Person, _view, _check)


def add_person(
    ctx: Context,
    principal: Principal | None,
    series_ref: str,
    *,
    role: str,
    status: str = "unidentified",
    name: str | None = None,
    phones: Sequence[str] = (),
    accounts: Sequence[str] = (),
    notes: str = "",
) -> PersonView:
    choice("role", role, ROLES)
    choice("status", status, STATUSES)
    numbers = phones_e164(phones)

    def build(session: Session, series: Series) -> Person:
        return Person(
            series_id=series.id,
            role=role,
            status=status,
            name=name or None,
            phones=numbers,
            accounts=sorted(set(accounts)),
            notes=notes,
            created_at=now(),
            created_by=ctx.actor.user,
        )

    return create_record(ctx, principal, PERSONS, series_ref, build)
