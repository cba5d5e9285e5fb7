"""Who the people of a case are, and what each did: the `cairn messaging people` report.

A person is an account key (a phone number, else a WhatsApp id) merged over every phone; the
report gathers the phones they own, their groups, what they posted and forwarded, and their
producer and distributor ranks with the evidence for each point.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from cairn.messaging.analysis import Attribution, CameraCopy, Score
from cairn.services.messaging.case_rows import CaseRows
from cairn.store.messaging_models import MsgImport, MsgMessage

SYSTEM = "system"  # the kind of the app's own notices


@dataclass(frozen=True)
class PersonReport:
    key: str
    phone: str | None
    names: tuple[str, ...]
    phones_owned: tuple[str, ...]  # "evidence: how the owner is known"
    groups: tuple[str, ...]  # "group name (roles and events)"
    messages_seen: int  # message records sent by them, over every phone (notices apart)
    media_sent: int  # distinct media items they posted
    first_posted: tuple[str, ...]  # SHA-256 of the items they posted first
    first_posted_not_forwarded: tuple[str, ...]
    forwarded: tuple[str, ...]  # SHA-256 of the items they forwarded
    camera_matches: tuple[str, ...]  # their items with camera EXIF on their own phones
    producer_rank: int | None
    producer_score: int
    producer_evidence: tuple[str, ...]
    distributor_rank: int | None
    distributor_score: int
    distributor_evidence: tuple[str, ...]

    @property
    def shown(self) -> str:
        return self.phone or self.key

    @property
    def producer(self) -> str:
        """ "#rank (score)" as the listings show it; "" when not a candidate."""
        return f"#{self.producer_rank} ({self.producer_score})" if self.producer_rank else ""

    @property
    def distributor(self) -> str:
        return (
            f"#{self.distributor_rank} ({self.distributor_score})" if self.distributor_rank else ""
        )


def message_counts(case: CaseRows) -> dict[str, int]:
    """Message records per sender, over every phone (a message two phones hold counts twice);
    the app's notices (group created, member added) are not messages people wrote."""
    counts: dict[str, int] = defaultdict(int)
    for import_id, from_me, sender_id, count in case.connection.execute(
        select(MsgMessage.import_id, MsgMessage.from_me, MsgMessage.sender_account_id, func.count())
        .join(MsgImport, MsgImport.id == MsgMessage.import_id)
        .where(
            MsgImport.case_id == case.id,
            MsgImport.status != "failed",
            MsgMessage.kind != SYSTEM,
        )
        .group_by(MsgMessage.import_id, MsgMessage.from_me, MsgMessage.sender_account_id)
    ):
        person = case.person(case.imports[import_id][0], bool(from_me), sender_id)
        if person is not None:
            counts[person] += count
    return counts


def one_to_one_chats(case: CaseRows) -> dict[tuple[str, str], int]:
    """Per one-to-one chat, (the phone's owner, the other party): the messages people wrote
    in it, over every phone. The pair is in key order, so both phones' copies meet."""
    chats: dict[tuple[str, str], int] = defaultdict(int)
    for import_id, peer_id, count in case.connection.execute(
        select(MsgMessage.import_id, MsgMessage.peer_account_id, func.count())
        .join(MsgImport, MsgImport.id == MsgMessage.import_id)
        .where(
            MsgImport.case_id == case.id,
            MsgImport.status != "failed",
            MsgMessage.group_id.is_(None),
            MsgMessage.kind != SYSTEM,
        )
        .group_by(MsgMessage.import_id, MsgMessage.peer_account_id)
    ):
        device = case.imports[import_id][0]
        owner, peer = case.owners[device], case.person(device, False, peer_id)
        if peer is not None and peer != owner:
            first, second = sorted((owner, peer))
            chats[(first, second)] += count
    return dict(chats)


def people_reports(
    case: CaseRows,
    attributions: list[Attribution],
    cameras: dict[str, list[CameraCopy]],
    producers: list[Score],
    distributors: list[Score],
    memberships: dict[tuple[str, str], set[str]],
    counts: dict[str, int],
) -> list[PersonReport]:
    by_key = {a.key: a for a in case.accounts.values()}
    first: dict[str, list[str]] = defaultdict(list)
    originals: dict[str, list[str]] = defaultdict(list)
    forwarded: dict[str, set[str]] = defaultdict(set)
    sent: dict[str, set[str]] = defaultdict(set)
    for item in attributions:
        if item.first.sender:
            first[item.first.sender].append(item.sha256)
            if not item.first.forwarded:
                originals[item.first.sender].append(item.sha256)
        for sharing in item.sharings:
            if sharing.sender:
                sent[sharing.sender].add(item.sha256)
                if sharing.forwarded:
                    forwarded[sharing.sender].add(item.sha256)
    owned: dict[str, list[str]] = defaultdict(list)
    for label, key in case.owners.items():
        owned[key].append(f"{label}: {case.owner_notes[label]}")
    roles: dict[str, list[str]] = defaultdict(list)
    for (person, group), actions in sorted(memberships.items()):
        roles[person].append(f"{case.shown(group)} ({', '.join(sorted(actions))})")
    producer = {s.person: s for s in producers}
    distributor = {s.person: s for s in distributors}
    reports = []
    for key in set(counts) | set(roles) | set(sent) | set(owned):
        account = by_key.get(key)
        names = {n for n in (account.display_name, account.push_name) if n} if account else set()
        matches = tuple(
            f"{sha[:12]} on {c.device}:{c.path} (EXIF {_camera(c)})"
            for sha in sorted(sent[key])
            for c in cameras.get(sha, ())
            if case.owners.get(c.device) == key
        )
        p, d = producer.get(key), distributor.get(key)
        reports.append(
            PersonReport(
                key,
                account.phone if account else None,
                tuple(sorted(names)),
                tuple(owned[key]),
                tuple(sorted(roles[key])),
                counts.get(key, 0),
                len(sent[key]),
                tuple(first[key]),
                tuple(originals[key]),
                tuple(sorted(forwarded[key])),
                matches,
                p.rank if p else None,
                p.points if p else 0,
                p.evidence if p else (),
                d.rank if d else None,
                d.points if d else 0,
                d.evidence if d else (),
            )
        )
    unranked = 1 << 30
    reports.sort(key=lambda r: (r.producer_rank or unranked, r.distributor_rank or unranked, r.key))
    return reports


def _camera(copy: CameraCopy) -> str:
    return " ".join(p for p in (copy.make, copy.model) if p)
