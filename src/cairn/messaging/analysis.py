"""Who posted what first, who passed it on: clock offsets, first posters, and scores.

Everything here is arithmetic an investigator can redo by hand, and every number comes with
the lines that produced it, because each rank must be explainable in court.

**Clock offsets.** A message has one id (`key_id`) on every phone that holds it, and each phone
stamps it with its own clock. For two seized phones sharing messages, the offset of one clock
against the other is the median of the differences of their stamps; its uncertainty is half
the spread of those differences, and never below `MIN_UNCERTAINTY` (a message's transit time
between phones). Offsets are chained from a reference phone — the one sharing messages with
the most others (then the most messages, then the first label) — along the pairs sharing the
most messages; uncertainties add up along the chain. A phone sharing nothing with the
reference keeps its own clock, and its claims say so. Offsets are relative: no message says
what the true time was.

**First posters.** A *sharing* is one posting of a media item (by SHA-256): one message, seen on
one or more phones. Its time is its stamp on the phone with the smallest clock uncertainty,
corrected by that phone's offset. Per item, the sharings in time order give the first poster
and every later sharing. The order between the first two is *established* when their gap
exceeds the sum of their uncertainties.

**Producer candidates** (points per media item the person posted first):
  +1 first posted and not marked forwarded (a forwarded first posting scores nothing: it came
     from elsewhere);
  +1 in no hash set (new material);
  +2 a copy on a phone they own carries camera EXIF (make or model): camera-original.
**Distributors**: +1 per forwarded sharing they sent, +1 per group they posted media in.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cairn.messaging.base import plural

MIN_UNCERTAINTY = 1.0  # seconds: a message's transit between phones blurs any finer offset
FORWARD_POINTS = 1
GROUP_POINTS = 1
FIRST_POINTS = 1
NEW_POINTS = 1
CAMERA_POINTS = 2


@dataclass(frozen=True)
class Stamp:
    """One phone's record of one message."""

    message: str  # the message's identity on every phone (its key_id, within its chat)
    device: str  # evidence label
    at: datetime


@dataclass(frozen=True)
class ClockOffset:
    device: str
    reference: str
    offset: float  # seconds this phone's clock is ahead of the reference's
    uncertainty: float | None  # None: no message links it to the reference
    messages: int  # messages shared on the link that set it (0 for the reference)
    via: str = ""  # the phone it was chained through, when not the reference itself

    def note(self) -> str:
        """What a time claim says about the clock it was read from."""
        if self.uncertainty is None:
            return f"{self.device} clock not corrected: no message shared with {self.reference}"
        if self.device == self.reference:
            return f"{self.device} reference clock"
        return (
            f"{self.device} clock {self.offset:+.1f} s ± {self.uncertainty:.1f} s "
            f"against {self.reference}"
        )

    def describe(self) -> str:
        if self.uncertainty is None:
            return f"{self.device}: clock not corrected (no message shared with {self.reference})"
        if self.device == self.reference:
            return f"{self.device}: reference clock"
        via = f" via {self.via}" if self.via else ""
        return (
            f"{self.device}: {self.offset:+.1f} s ± {self.uncertainty:.1f} s against "
            f"{self.reference}{via} ({plural(self.messages, 'shared message')})"
        )


def _pairwise(stamps: Iterable[Stamp]) -> dict[tuple[str, str], list[float]]:
    """Differences (first device minus second, seconds) per device pair, labels sorted."""
    by_message: dict[str, dict[str, datetime]] = defaultdict(dict)
    for stamp in stamps:
        by_message[stamp.message].setdefault(stamp.device, stamp.at)
    pairs: dict[tuple[str, str], list[float]] = defaultdict(list)
    for seen in by_message.values():
        devices = sorted(seen)
        for i, a in enumerate(devices):
            for b in devices[i + 1 :]:
                pairs[(a, b)].append((seen[a] - seen[b]).total_seconds())
    return pairs


def estimate_offsets(stamps: Iterable[Stamp], devices: Iterable[str]) -> dict[str, ClockOffset]:
    """Every device's offset against one reference (see the module's description)."""
    pairs = _pairwise(stamps)
    names = sorted(set(devices) | {d for pair in pairs for d in pair})
    if not names:
        return {}
    links: dict[str, dict[str, tuple[float, float, int]]] = defaultdict(dict)
    for (a, b), differences in pairs.items():
        median = statistics.median(differences)
        spread = (max(differences) - min(differences)) / 2
        uncertainty = max(spread, MIN_UNCERTAINTY)
        links[a][b] = (median, uncertainty, len(differences))
        links[b][a] = (-median, uncertainty, len(differences))
    reference = min(
        names,
        key=lambda d: (-len(links[d]), -sum(n for *_x, n in links[d].values()), d),
    )
    result = {reference: ClockOffset(reference, reference, 0.0, 0.0, 0)}
    frontier = [reference]
    while frontier:  # widest-first: always extend along the link with the most messages
        best: tuple[int, str, str] | None = None
        for known in frontier:
            for other, (_m, _u, n) in links[known].items():
                if other in result:
                    continue
                candidate = (-n, other, known)
                if best is None or candidate < best:
                    best = candidate
        if best is None:
            break
        _n, device, parent = best
        median, uncertainty, count = links[parent][device]
        # links[parent][device] is parent minus device: the device is behind by that much.
        base = result[parent]
        assert base.uncertainty is not None
        result[device] = ClockOffset(
            device,
            reference,
            base.offset - median,
            base.uncertainty + uncertainty,
            count,
            "" if parent == reference else parent,
        )
        frontier.append(device)
    for device in names:
        result.setdefault(device, ClockOffset(device, reference, 0.0, None, 0))
    return result


@dataclass(frozen=True)
class Sighting:
    """One phone's record of a media message: the input of the attribution."""

    message: str  # identity shared by every phone's copy of the message
    sha256: str
    device: str
    sender: str | None  # account key (the phone's owner for its own messages)
    chat: str  # group or peer key
    chat_name: str
    at: datetime | None
    forwarded: bool | None
    forward_score: int | None
    recovered: str | None = None


@dataclass(frozen=True)
class Sharing:
    """One posting of a media item, however many phones hold it."""

    sha256: str
    message: str
    sender: str | None
    chat: str
    chat_name: str
    at: datetime | None  # corrected to the reference clock
    recorded_at: datetime | None  # as the phone below recorded it
    device: str  # the phone whose stamp gives the time
    devices: tuple[str, ...]
    clock: ClockOffset  # the phone's offset, applied to its stamp
    forwarded: bool | None
    forward_score: int | None
    recovered: str | None

    @property
    def uncertainty(self) -> float | None:
        return self.clock.uncertainty


@dataclass(frozen=True)
class Attribution:
    """A media item's first posting and every later one, in corrected time order."""

    sha256: str
    first: Sharing
    later: tuple[Sharing, ...]
    established: bool  # the first posting precedes the second beyond both uncertainties
    gap: float | None  # seconds between the first and second postings

    @property
    def sharings(self) -> tuple[Sharing, ...]:
        return (self.first, *self.later)

    @property
    def forwards(self) -> int:
        return sum(1 for s in self.sharings if s.forwarded)

    def claim(self) -> str:
        first = self.first
        when = iso(first.at)
        order = ""
        if self.later:
            order = (
                ""
                if self.established
                else "; order against the next posting within clock uncertainty"
            )
        return (
            f"first posted by {first.sender or 'unknown sender'} in {first.chat_name!r} "
            f"at {when} ({first.clock.note()}){order}"
        )


def iso(at: datetime | None) -> str:
    if at is None:
        return "unknown time"
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".") + "Z"


def _sharing(sightings: Sequence[Sighting], offsets: Mapping[str, ClockOffset]) -> Sharing:
    def clock(device: str) -> ClockOffset:
        return offsets.get(device) or ClockOffset(device, device, 0.0, None, 0)

    def rank(s: Sighting) -> tuple[bool, float, bool, str]:
        uncertainty = clock(s.device).uncertainty
        return (uncertainty is None, uncertainty or 0.0, s.at is None, s.device)

    best = min(sightings, key=rank)
    used = clock(best.device)
    at = best.at - timedelta(seconds=used.offset) if best.at is not None else None
    sender = next((s.sender for s in sorted(sightings, key=rank) if s.sender), None)
    forwarded_values = [s.forwarded for s in sightings if s.forwarded is not None]
    scores = [s.forward_score for s in sightings if s.forward_score is not None]
    return Sharing(
        best.sha256,
        best.message,
        sender,
        best.chat,
        best.chat_name,
        at,
        best.at,
        best.device,
        tuple(sorted({s.device for s in sightings})),
        used,
        any(forwarded_values) if forwarded_values else None,
        max(scores) if scores else None,
        next((s.recovered for s in sightings if s.recovered), None),
    )


def attribute(
    sightings: Iterable[Sighting], offsets: Mapping[str, ClockOffset]
) -> list[Attribution]:
    """Per media item (sorted by SHA-256): its postings in corrected time order."""
    grouped: dict[str, dict[str, list[Sighting]]] = defaultdict(lambda: defaultdict(list))
    for sighting in sightings:
        grouped[sighting.sha256][sighting.message].append(sighting)
    result = []
    for sha256 in sorted(grouped):
        sharings = sorted(
            (_sharing(copies, offsets) for copies in grouped[sha256].values()),
            key=lambda s: (s.at is None, s.at or datetime.min, s.sender or "", s.message),
        )
        first, later = sharings[0], tuple(sharings[1:])
        gap = established = None
        if later and first.at is not None and later[0].at is not None:
            gap = (later[0].at - first.at).total_seconds()
            bound = (first.uncertainty, later[0].uncertainty)
            established = None not in bound and gap > sum(u or 0.0 for u in bound)
        result.append(Attribution(sha256, first, later, bool(established) or not later, gap))
    return result


@dataclass(frozen=True)
class CameraCopy:
    """A seized copy of a media item that carries camera EXIF, on some phone."""

    device: str
    path: str
    make: str | None
    model: str | None


@dataclass(frozen=True)
class Score:
    person: str
    points: int
    rank: int
    evidence: tuple[str, ...]  # one line per point given (or withheld), in order


@dataclass
class _Tally:
    points: int = 0
    lines: list[str] = field(default_factory=list)


def _ranked(tallies: Mapping[str, _Tally]) -> list[Score]:
    ordered = sorted(
        ((p, t) for p, t in tallies.items() if t.points > 0),
        key=lambda item: (-item[1].points, item[0]),
    )
    return [
        Score(person, tally.points, rank, tuple(tally.lines))
        for rank, (person, tally) in enumerate(ordered, 1)
    ]


def producer_scores(
    attributions: Iterable[Attribution],
    known: Mapping[str, Sequence[str]],
    cameras: Mapping[str, Sequence[CameraCopy]],
    owners: Mapping[str, str],
) -> list[Score]:
    """Producer candidates, best first. `known`: hash-set labels per SHA-256; `owners`: the
    owner's account key per phone (evidence label)."""
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    for item in attributions:
        first = item.first
        if first.sender is None:
            continue
        tally = tallies[first.sender]
        short = item.sha256[:12]
        where = f"in {first.chat_name!r} at {iso(first.at)} ({first.clock.note()})"
        if not item.established:
            where += ", order within clock uncertainty of the next posting"
        if first.forwarded:
            tally.lines.append(f"{short}: first posted {where}, but marked forwarded: +0")
            continue
        tally.points += FIRST_POINTS
        tally.lines.append(f"{short}: first posted {where}, not forwarded: +{FIRST_POINTS}")
        sets = known.get(item.sha256, ())
        if sets:
            tally.lines.append(f"{short}: known in hash set {', '.join(sets)}: +0")
        else:
            tally.points += NEW_POINTS
            tally.lines.append(f"{short}: in no hash set (new material): +{NEW_POINTS}")
        own = [c for c in cameras.get(item.sha256, ()) if owners.get(c.device) == first.sender]
        if own:
            copy = own[0]
            camera = " ".join(p for p in (copy.make, copy.model) if p)
            tally.points += CAMERA_POINTS
            tally.lines.append(
                f"{short}: camera original on own phone {copy.device}:"
                f"{copy.path} (EXIF {camera}): +{CAMERA_POINTS}"
            )
    return _ranked(tallies)


def distributor_scores(attributions: Iterable[Attribution]) -> list[Score]:
    """Distributors, best first: forwards sent, and groups reached with media."""
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    groups: dict[str, dict[str, str]] = defaultdict(dict)
    for item in attributions:
        for sharing in item.sharings:
            if sharing.sender is None:
                continue
            if sharing.chat.startswith(("group:", "chat:")):
                groups[sharing.sender].setdefault(sharing.chat, sharing.chat_name)
            if sharing.forwarded:
                tally = tallies[sharing.sender]
                tally.points += FORWARD_POINTS
                score = (
                    ""
                    if sharing.forward_score is None
                    else f", forward score {sharing.forward_score}"
                )
                tally.lines.append(
                    f"{item.sha256[:12]}: forwarded to {sharing.chat_name!r} at "
                    f"{iso(sharing.at)} ({sharing.clock.note()}{score}): +{FORWARD_POINTS}"
                )
    for person, reached in groups.items():
        tally = tallies[person]
        names = ", ".join(repr(n) for n in sorted(reached.values()))
        points = GROUP_POINTS * len(reached)
        tally.points += points
        tally.lines.append(f"posted media in {plural(len(reached), 'group')} ({names}): +{points}")
    return _ranked(tallies)


def infer_owners(pairs: Iterable[tuple[str, str]]) -> dict[str, tuple[str, int, int]]:
    """Phone owners from messages a phone sent that another phone received from someone.

    `pairs`: (phone that holds the message as its own, sender key on the other phone). Per
    phone: (owner key, messages supporting it, messages in all).
    """
    votes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for device, sender in pairs:
        votes[device][sender] += 1
    result = {}
    for device, counts in votes.items():
        owner, support = min(counts.items(), key=lambda item: (-item[1], item[0]))
        result[device] = (owner, support, sum(counts.values()))
    return result
