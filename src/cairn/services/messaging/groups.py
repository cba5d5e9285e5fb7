"""What happened in each WhatsApp group of a case: the `cairn messaging groups` report.

Groups are merged over every phone that holds them. A dated membership event seen on several
phones is reported once, at its time corrected to the reference clock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select
from sqlalchemy import case as when

from cairn.messaging.analysis import MIN_UNCERTAINTY, ClockOffset, iso
from cairn.services.messaging.case_rows import CaseRows, Event, utc
from cairn.services.messaging.people import SYSTEM
from cairn.store.messaging_models import MsgImport, MsgMessage
from cairn.store.models import Evidence


@dataclass(frozen=True)
class GroupReport:
    key: str
    name: str | None
    creator: str | None
    created_at: str | None
    seen_on: tuple[str, ...]
    members: tuple[str, ...]  # "person (roles)" as the extractions list them
    admins: tuple[str, ...]
    invite_link_joins: tuple[str, ...]  # "person at time (phone)"
    events: tuple[str, ...]  # dated membership events, in time order
    messages: int  # message records people wrote, over every phone
    media_items: int
    notices: int  # the app's notices (created, added, left, subject changed), over every phone


Counts = tuple[int, int, int, set[str]]  # messages, notices, media items, phones


def group_counts(connection: Connection, case_id: int) -> dict[int, Counts]:
    """Per group: message records people wrote, the app's notices, distinct media items, and
    the phones holding messages. A group where only notices happened is not active."""
    result: dict[int, Counts] = {}
    for group_id, label, records, notices, items in connection.execute(
        select(
            MsgMessage.group_id,
            Evidence.label,
            func.count(),
            func.sum(when((MsgMessage.kind == SYSTEM, 1), else_=0)),
            func.count(func.distinct(MsgMessage.media_sha256)),
        )
        .join(MsgImport, MsgImport.id == MsgMessage.import_id)
        .join(Evidence, Evidence.id == MsgImport.evidence_id)
        .where(
            MsgImport.case_id == case_id,
            MsgMessage.group_id.is_not(None),
            MsgImport.status != "failed",
        )
        .group_by(MsgMessage.group_id, Evidence.label)
    ):
        assert group_id is not None  # selected by it
        total, system, media, phones = result.get(group_id, (0, 0, 0, set()))
        notices = int(notices or 0)
        result[group_id] = (
            total + records - notices,
            system + notices,
            max(media, items),
            phones | {label},
        )
    return result


@dataclass
class _Dated:
    at: datetime  # corrected to the reference clock
    clock: ClockOffset  # of the phone whose stamp is used
    devices: set[str]


def group_reports(
    case: CaseRows,
    events: list[Event],
    counts: dict[int, Counts],
    offsets: dict[str, ClockOffset],
) -> list[GroupReport]:
    roster: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    seen_on: dict[str, set[str]] = defaultdict(set)
    created_by: dict[str, str] = {}
    # A dated event seen on several phones is one event: same group, person, act and actor,
    # at corrected times within the phones' clock uncertainties of each other.
    dated: dict[tuple[str, str | None, str, str | None], list[_Dated]] = defaultdict(list)
    for event in events:
        seen_on[event.group].add(event.device)
        if event.action == "created" and event.person is not None:
            created_by.setdefault(event.group, event.person)
        if event.at is None:
            roster[event.group][case.shown(event.person)].add(event.action)
            continue
        clock = offsets[event.device]
        at = event.at - timedelta(seconds=clock.offset)
        same = dated[(event.group, event.person, event.action, event.actor)]
        for merged in same:
            tolerance = (merged.clock.uncertainty or 0.0) + (clock.uncertainty or 0.0)
            if abs((merged.at - at).total_seconds()) <= tolerance + MIN_UNCERTAINTY:
                merged.devices.add(event.device)
                if (clock.uncertainty or 0.0) < (merged.clock.uncertainty or 0.0):
                    merged.at, merged.clock = at, clock
                break
        else:
            same.append(_Dated(at, clock, {event.device}))
    lines: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    joins: dict[str, list[str]] = defaultdict(list)
    for (group_key, person, action, actor), occurrences in dated.items():
        who = case.shown(person)
        by = f" by {case.shown(actor)}" if actor not in (None, person) else ""
        for merged in occurrences:
            where = f"{merged.clock.note()}; seen on {', '.join(sorted(merged.devices))}"
            lines[group_key].append((merged.at, f"{iso(merged.at)} {who} {action}{by} ({where})"))
            if action == "joined-by-link":
                joins[group_key].append(f"{who} at {iso(merged.at)} ({where})")
    reports = []
    for group in sorted(case.groups.values(), key=lambda g: (g.name or "", g.key)):
        creator = case.accounts.get(group.creator_account_id or -1)
        creator_key = creator.key if creator else created_by.get(group.key)
        messages, notices, items, phones = counts.get(group.id, (0, 0, 0, set()))
        members = roster[group.key]
        reports.append(
            GroupReport(
                group.key,
                group.name,
                case.shown(creator_key) if creator_key else None,
                iso(utc(group.created_at)) if group.created_at else None,
                tuple(sorted(seen_on[group.key] | phones)),
                tuple(f"{who} ({', '.join(sorted(r))})" for who, r in sorted(members.items())),
                tuple(sorted(w for w, r in members.items() if r & {"admin", "superadmin"})),
                tuple(sorted(joins[group.key])),
                tuple(line for _at, line in sorted(lines[group.key])),
                messages,
                items,
                notices,
            )
        )
    return reports
