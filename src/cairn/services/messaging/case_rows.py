"""The case's messaging rows as the reports read them, with each phone's owner resolved.

A phone's own messages are stored as "from me"; reports need a person, so each phone's owner
is the number given at import, else the one its own databases state (`cairn.messaging.owner`),
else the account other phones hold its sent messages as received from
(`cairn.messaging.analysis.infer_owners`). A message two phones hold is one
message: it is known by its WhatsApp id within its group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from cairn.messaging import jids
from cairn.messaging.analysis import Sighting, infer_owners
from cairn.messaging.base import plural
from cairn.store.messaging_models import (
    MsgAccount,
    MsgGroup,
    MsgGroupEvent,
    MsgImport,
    MsgMessage,
)
from cairn.store.models import Case, Evidence


@dataclass(frozen=True)
class Event:
    """A group event as one phone recorded it, with its people resolved."""

    group: str  # group key
    person: str | None
    action: str
    at: datetime | None
    actor: str | None
    device: str


class CaseRows:
    """The case's messaging rows, with each phone's owner resolved: what reports read."""

    def __init__(self, connection: Connection, session: Session, case: Case) -> None:
        self.id = case.id
        self.connection = connection
        self.accounts = {
            a.id: a
            for a in session.scalars(select(MsgAccount).where(MsgAccount.case_id == case.id))
        }
        self.groups = {
            g.id: g for g in session.scalars(select(MsgGroup).where(MsgGroup.case_id == case.id))
        }
        self.imports: dict[int, tuple[str, int | None]] = {}
        self.owner_sources: dict[int, str | None] = {}
        for row, label in session.execute(
            select(MsgImport, Evidence.label)
            .join(Evidence, Evidence.id == MsgImport.evidence_id)
            .where(MsgImport.case_id == case.id, MsgImport.status != "failed")
            .order_by(MsgImport.id)
        ):
            self.imports[row.id] = (label, row.owner_account_id)
            self.owner_sources[row.id] = row.owner_source
        self.devices = sorted({label for label, _ in self.imports.values()})
        self.names = {a.key: _shown(a) for a in self.accounts.values()}
        self.names.update({g.key: g.name or g.key for g in self.groups.values()})
        self.shared = _shared_rows(connection, case.id)
        self.owners, self.owner_notes = self._owners()

    def person(self, device: str, from_me: bool, account_id: int | None) -> str | None:
        """Who acted: the phone's owner for its own messages, else the account named."""
        if from_me:
            return self.owners[device]
        account = self.accounts.get(account_id) if account_id is not None else None
        if account is None:
            return None
        if account.key.startswith("owner:"):  # a phone's own act, or "You" in an export
            return self.owners.get(account.key.removeprefix("owner:"), account.key)
        return account.key

    def shown(self, key: str | None) -> str:
        return "unknown" if key is None else self.names.get(key, key)

    def _owners(self) -> tuple[dict[str, str], dict[str, str]]:
        """Each phone's owner: given at import, else stated by one of its artefacts (the
        first), else inferred from messages the phone sent that another phone holds as
        received from a number. A stated owner is checked against that inference too."""
        owners: dict[str, str] = {}
        notes: dict[str, str] = {}
        given: set[str] = set()
        for import_id, (label, owner_id) in self.imports.items():
            account = self.accounts.get(owner_id) if owner_id else None
            if account is None or account.key.startswith("owner:") or label in given:
                continue
            source = self.owner_sources[import_id] or "given at import"
            if source == "given at import":
                given.add(label)
            elif label in owners:
                continue
            owners[label] = account.key
            notes[label] = f"{_shown(account)} ({source})"
        copies: dict[str, list[tuple[str, bool, int | None]]] = defaultdict(list)
        for message, label, from_me, sender_id, _at in self.shared:
            copies[message].append((label, from_me, sender_id))
        pairs = [
            (label, self.accounts[sender].key)
            for held in copies.values()
            for label, mine, _s in held
            if mine and label not in given
            for other, theirs, sender in held
            if other != label
            and not theirs
            and sender in self.accounts
            and not self.accounts[sender].key.startswith("owner:")
        ]
        for label, (key, support, total) in infer_owners(pairs).items():
            inferred = (
                f"inferred: {support} of {plural(total, 'message')} sent from {label} are held "
                "by other phones as received from"
            )
            if label not in owners:
                owners[label] = key
                notes[label] = f"{self.shown(key)} ({inferred} that account)"
            elif owners[label] == key:
                notes[label] = f"{notes[label][:-1]}; {inferred} it)"
            else:
                notes[label] += f"; but {inferred} {self.shown(key)}"
        for label in sorted(set(self.devices) - set(owners)):
            owners[label] = jids.owner_key(label)
            notes[label] = "unknown (no number given at import, none stated or inferred)"
        return owners, notes

    def events(self) -> list[Event]:
        rows = self.connection.execute(
            select(
                MsgGroupEvent.group_id,
                MsgGroupEvent.account_id,
                MsgGroupEvent.action,
                MsgGroupEvent.at,
                MsgGroupEvent.actor_account_id,
                MsgImport.id,
            )
            .join(MsgImport, MsgImport.id == MsgGroupEvent.import_id)
            .where(MsgImport.case_id == self.id, MsgImport.status != "failed")
            .order_by(MsgGroupEvent.id)
        )
        events = []
        for group_id, account_id, action, at, actor_id, import_id in rows:
            device = self.imports[import_id][0]
            events.append(
                Event(
                    self.groups[group_id].key,
                    self.person(device, False, account_id),
                    action,
                    utc(at),
                    self.person(device, False, actor_id),
                    device,
                )
            )
        return events

    def sightings(self) -> Iterator[Sighting]:
        rows = self.connection.execute(
            select(
                MsgMessage.id,
                MsgMessage.key_id,
                MsgMessage.group_id,
                MsgMessage.peer_account_id,
                MsgMessage.import_id,
                MsgMessage.from_me,
                MsgMessage.sender_account_id,
                MsgMessage.at,
                MsgMessage.forwarded,
                MsgMessage.forward_score,
                MsgMessage.media_sha256,
                MsgMessage.recovered,
            )
            .join(MsgImport, MsgImport.id == MsgMessage.import_id)
            .where(
                MsgImport.case_id == self.id,
                MsgMessage.media_sha256.is_not(None),
                MsgImport.status != "failed",
            )
            .order_by(MsgMessage.id)
        )
        for (
            row_id,
            key_id,
            group_id,
            peer_id,
            import_id,
            from_me,
            sender_id,
            at,
            forwarded,
            score,
            sha256,
            recovered,
        ) in rows:
            device = self.imports[import_id][0]
            if group_id is not None:
                group = self.groups[group_id]
                chat, chat_name = group.key, group.name or group.key
            else:
                peer = self.person(device, False, peer_id)
                chat = peer or "unknown"
                chat_name = f"chat of {self.shown(peer)} with {device}"
            message = _identity(key_id, group_id) if key_id else f"row:{row_id}"
            yield Sighting(
                message,
                sha256,
                device,
                self.person(device, bool(from_me), sender_id),
                chat,
                chat_name,
                utc(at),
                forwarded,
                score,
                recovered,
            )


def _shown(account: MsgAccount) -> str:
    return account.phone or account.display_name or account.push_name or account.key


def _shared_rows(
    connection: Connection, case_id: int
) -> list[tuple[str, str, bool, int | None, datetime | None]]:
    """Messages held by more than one phone: (identity, phone, from me, sender id, time)."""
    live = (MsgImport.case_id == case_id, MsgImport.status != "failed")
    shared = (
        select(MsgMessage.key_id)
        .join(MsgImport, MsgImport.id == MsgMessage.import_id)
        .where(*live, MsgMessage.key_id.is_not(None))
        .group_by(MsgMessage.key_id)
        .having(func.count(func.distinct(MsgImport.evidence_id)) > 1)
    )
    rows = connection.execute(
        select(
            MsgMessage.key_id,
            MsgMessage.group_id,
            Evidence.label,
            MsgMessage.from_me,
            MsgMessage.sender_account_id,
            MsgMessage.at,
        )
        .join(MsgImport, MsgImport.id == MsgMessage.import_id)
        .join(Evidence, Evidence.id == MsgImport.evidence_id)
        .where(*live, MsgMessage.key_id.in_(shared))
        .order_by(MsgMessage.key_id, Evidence.label)
    )
    return [
        (_identity(key_id or "", group_id), label, bool(from_me), sender, utc(at))
        for key_id, group_id, label, from_me, sender, at in rows
    ]


def _identity(key_id: str, group_id: int | None) -> str:
    """A message's identity on every phone: its id within its group (a one-to-one chat is
    filed under a different peer on each phone, so there the id alone names it)."""
    return f"{key_id}@{group_id}" if group_id is not None else key_id


def utc(at: datetime | None) -> datetime | None:
    """SQLite hands stored UTC times back without their zone."""
    if at is None or at.tzinfo is not None:
        return at
    return at.replace(tzinfo=UTC)
