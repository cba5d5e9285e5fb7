"""A case's WhatsApp analysis: what `cairn messaging people|groups|media|clocks|graph` shows.

The case's messages are analysed across all its phones (`cairn.messaging.analysis`): clock
offsets, the first poster of each media item, producer and distributor scores. Media are
linked by SHA-256 to the files ingested from any phone of the case and to hash sets, also when
the file itself is gone (`linking`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from cairn.messaging.analysis import (
    Attribution,
    ClockOffset,
    Score,
    Sharing,
    Stamp,
    attribute,
    distributor_scores,
    estimate_offsets,
    iso,
    producer_scores,
)
from cairn.services.cases import get_case
from cairn.services.context import Context
from cairn.services.messaging.case_rows import CaseRows
from cairn.services.messaging.groups import GroupReport, group_counts, group_reports
from cairn.services.messaging.linking import (
    ingested_copies,
    known_hash_sets,
    media_facts,
    thumbnailed,
)
from cairn.services.messaging.people import (
    PersonReport,
    message_counts,
    one_to_one_chats,
    people_reports,
)


@dataclass(frozen=True)
class SharingView:
    sender: str  # phone number, else name, else key
    chat: str
    at: str  # corrected to the reference clock, ISO 8601 UTC
    recorded_at: str  # as the phone below recorded it
    device: str
    seen_on: tuple[str, ...]
    clock: str  # the offset and uncertainty applied
    forwarded: bool | None
    forward_score: int | None
    recovered: str | None


@dataclass(frozen=True)
class MediaReport:
    sha256: str
    mime: str | None
    size: int | None
    claim: str  # the first-poster claim, with the clock correction beside it
    first: SharingView
    later: tuple[SharingView, ...]
    forwards: int
    order_established: bool
    files: tuple[str, ...]  # "evidence:path" of every ingested copy in the case
    hash_sets: tuple[str, ...]
    thumbnail: bool  # a review thumbnail exists (the file's own, or WhatsApp's)


@dataclass(frozen=True)
class CaseAnalysis:
    """Everything the reports show, computed once by `analyse_case`."""

    case_ref: str
    clocks: list[ClockOffset]
    owners: dict[str, str]  # evidence label -> owner and how it is known
    people: list[PersonReport]
    groups: list[GroupReport]
    media: list[MediaReport]
    producers: list[Score]  # people shown by number or name
    distributors: list[Score]
    # What the graph is drawn from, keyed as stored: attributions, (person, group) roles.
    attributions: list[Attribution] = field(default_factory=list)
    memberships: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # person or group key -> shown name
    # One-to-one chats: (phone owner, other party) -> messages people wrote, over every phone.
    chats: dict[tuple[str, str], int] = field(default_factory=dict)


def analyse_case(ctx: Context, case_ref: str) -> CaseAnalysis:
    """Everything `cairn messaging people|groups|media|clocks|graph` shows, computed once."""
    with ctx.db.engine.connect() as connection, Session(bind=connection) as session:
        case = CaseRows(connection, session, get_case(session, case_ref))
        offsets = estimate_offsets(
            (
                Stamp(message, device, at)
                for message, device, _m, _s, at in case.shared
                if at is not None
            ),
            case.devices,
        )
        attributions = attribute(case.sightings(), offsets)
        shas = [a.sha256 for a in attributions]
        known = known_hash_sets(ctx, connection, shas)
        cameras, files = ingested_copies(connection, case.id, shas)
        thumbnails = thumbnailed(connection, shas)
        facts = media_facts(connection, shas)
        events = case.events()
        counts = message_counts(case)
        per_group = group_counts(connection, case.id)
        chats = one_to_one_chats(case)
    producers = producer_scores(attributions, known, cameras, case.owners)
    distributors = distributor_scores(attributions)
    memberships: dict[tuple[str, str], set[str]] = defaultdict(set)
    for event in events:
        if event.person is not None:
            memberships[(event.person, event.group)].add(event.action)
    for group in case.groups.values():
        creator = case.accounts.get(group.creator_account_id or -1)
        if creator is not None:
            memberships[(creator.key, group.key)].add("creator")
    media = [
        MediaReport(
            item.sha256,
            *facts.get(item.sha256, (None, None)),
            _claim(item, case),
            _view(item.first, case),
            tuple(_view(s, case) for s in item.later),
            item.forwards,
            item.established,
            tuple(files.get(item.sha256, ())),
            tuple(known.get(item.sha256, ())),
            item.sha256 in thumbnails,
        )
        for item in attributions
    ]
    return CaseAnalysis(
        case_ref,
        [offsets[d] for d in sorted(offsets)],
        dict(sorted(case.owner_notes.items())),
        people_reports(case, attributions, cameras, producers, distributors, memberships, counts),
        group_reports(case, events, per_group, offsets),
        media,
        [replace(s, person=case.shown(s.person)) for s in producers],
        [replace(s, person=case.shown(s.person)) for s in distributors],
        attributions,
        dict(memberships),
        case.names,
        chats,
    )


def _claim(item: Attribution, case: CaseRows) -> str:
    first = item.first
    return replace(item, first=replace(first, sender=case.shown(first.sender))).claim()


def _view(sharing: Sharing, case: CaseRows) -> SharingView:
    return SharingView(
        case.shown(sharing.sender),
        sharing.chat_name,
        iso(sharing.at),
        iso(sharing.recorded_at),
        sharing.device,
        sharing.devices,
        sharing.clock.note(),
        sharing.forwarded,
        sharing.forward_score,
        sharing.recovered,
    )


def conversation_lines(ctx: Context, case_ref: str, group: str) -> list[str]:
    """What a case summary shows of one group's conversation and of the case's places."""
    from cairn.services.messaging.conversation import conversation
    from cairn.services.messaging.places import case_places

    lines = [
        f"conversation in {group!r} (`cairn messaging messages --case {case_ref} --group "
        f"{group!r}`):"
    ]
    for m in conversation(ctx, case_ref, group=group):
        shown = m.text or (f"[{m.kind} {m.media_sha256[:12]}]" if m.media_sha256 else f"[{m.kind}]")
        lines.append(f"  {m.at} {m.sender}: {shown}")
    for place in case_places(ctx, case_ref):
        if place.source == "message":
            name = f" ({place.name})" if place.name else ""
            lines.append(
                f"location: {place.who} shared {place.latitude:.5f}, {place.longitude:.5f}{name} "
                f"at {place.at} in {place.chat!r}; `cairn export geojson --case {case_ref} -o "
                "places.geojson` maps it with the photos' GPS"
            )
    return lines


def summary_lines(analysis: CaseAnalysis) -> list[str]:
    """What a case summary (`cairn demo`) says about messaging: volume, and the top producer
    and distributor candidates with their first piece of evidence."""
    if not analysis.media and not analysis.groups:
        return []
    lines = [
        f"WhatsApp: {len(analysis.media)} media items shared in {len(analysis.groups)} "
        f"groups, {len(analysis.people)} people, {len(analysis.clocks)} phones"
    ]
    lines += [f"phone owner of {label}: {note}" for label, note in analysis.owners.items()]
    for title, scores in (
        ("top producer candidate", analysis.producers),
        ("top distributor", analysis.distributors),
    ):
        if scores:
            best = scores[0]
            lines.append(
                f"{title}: {best.person} ({best.points} points; {best.evidence[0]}); "
                f"`cairn messaging people --case {analysis.case_ref}` explains it"
            )
    return lines
