"""Series proposals for a case: which of its new media belong together, and which existing
series its media belong to. A specialist confirms; Cairn never files a series by itself.

(a) **New clusters**: the case's new media (triage `new` or `possible`, images and videos, not
yet in a series filed from this case) joined by links: near-duplicates (PDQ of any form within
31 bits), the same camera body (EXIF make and serial), capture times and GPS positions close
together, the same small folder, the same messaging posting (one sender, one chat, within a few
minutes), and the links stored between media (services.links: PDQ, vPDQ, local features,
camera fingerprints). Every cluster carries the links behind it.

(b) **Existing series**: series the case's agency may see (its own and every shared one) with a
member that is an exact copy of a case item (the plainest hit), a near-duplicate of one, from
the same camera body, or joined to one by a stored link. A hit on another agency's shared
series names that agency, the series' status and its contact point ("identified elsewhere"):
never the owner's cases, paths or history. Another agency's private series never appears.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from cairn.core.hash_kinds import PDQ
from cairn.core.thresholds import PDQ_MATCH_DISTANCE, PDQ_MIN_QUALITY
from cairn.core.types import SeriesStatus, Triage
from cairn.services.access import case_for, require, visible_series
from cairn.services.context import Context
from cairn.services.links import pdq_score, stored_links
from cairn.services.matching import best_matches
from cairn.services.series import LOCAL
from cairn.services.triage import pdq_variants
from cairn.store import audit
from cairn.store.case_media import case_media
from cairn.store.identity_models import Agency
from cairn.store.messaging_models import MsgImport, MsgMessage
from cairn.store.models import Evidence, Media, Occurrence
from cairn.store.series_models import Series, SeriesMedia

if TYPE_CHECKING:
    from cairn.services.identity import Principal

# Link strengths: how sure each kind of link is that two items belong together (0..1).
CAMERA_SERIAL_SCORE = 1.0
GPS_TIME_SCORE = 0.8
MESSAGING_SCORE = 0.7
FOLDER_SCORE = 0.3
# Close in place and time: the same room within the hour (GPS error of phones is tens of metres).
GPS_METRES = 100.0
TIME_SECONDS = 3600
POSTING_SECONDS = 300  # one posting: a sender's media in one chat within five minutes
# A folder links its new items only when it holds few of them: a camera roll of thousands is
# not an event.
FOLDER_MAX_ITEMS = 20
# The surest kind of link first; the stored links (services.links) add their methods.
METHOD_RANK = (
    "sha256",
    "pdq",
    "vpdq",
    "local-features",
    "camera-serial",
    "prnu",
    "camera-signature",
    "gps-time",
    "messaging",
    "folder",
)
NEW = (Triage.NEW, Triage.POSSIBLE)
IDENTIFIED = (SeriesStatus.IDENTIFIED.value, SeriesStatus.SAFEGUARDED.value)


@dataclass(frozen=True)
class SuggestedMedia:
    sha256: str  # an item of the case
    method: str  # its strongest link into the proposal
    score: float
    linked_to: str  # the item or series member at the other end of that link


@dataclass(frozen=True)
class LinkEvidence:
    a: str
    b: str
    method: str
    score: float


@dataclass(frozen=True)
class Suggestion:
    series: str | None  # None: a new cluster
    series_id: int | None
    agency: str  # the series' owner (for a new cluster: the case's agency)
    status: str | None  # the series' status; None for a new cluster
    contact: str | None  # whom to ask (another agency's series)
    identified_elsewhere: bool  # another agency's series, identified or safeguarded
    media: list[SuggestedMedia]
    links: list[LinkEvidence] = field(default_factory=list)  # a new cluster's links


class _Item(NamedTuple):
    sha256: str
    mime: str | None
    pdq: str | None
    quality: int | None
    make: str | None
    serial: str | None
    taken: datetime | None
    lat: float | None
    lon: float | None


def _taken(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _metres(a: _Item, b: _Item) -> float:
    assert a.lat is not None and a.lon is not None and b.lat is not None and b.lon is not None
    dlat, dlon = math.radians(b.lat - a.lat), math.radians(b.lon - a.lon)
    h = (
        math.sin(dlat / 2) ** 2
        + math.cos(math.radians(a.lat)) * math.cos(math.radians(b.lat)) * math.sin(dlon / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def pdq_pairs(
    stored: dict[str, str], queries: dict[str, list[str]], radius: int = PDQ_MATCH_DISTANCE
) -> dict[tuple[str, str], int]:
    """(query item, stored item) -> the smallest distance between any form of the query and
    the stored PDQ, for every pair within `radius` (an item never pairs with itself)."""
    from cairn.matching.pdq_index import PdqIndex

    if not stored or not queries:
        return {}
    names = sorted(stored)
    index = PdqIndex()
    index.build(
        np.frombuffer(b"".join(bytes.fromhex(stored[s]) for s in names), np.uint8).reshape(
            -1, PDQ.key_bytes
        ),
        np.arange(len(names), dtype=np.int64),
    )
    owners: list[str] = []
    hexes: list[str] = []
    for sha in sorted(queries):
        for pdq in queries[sha]:
            owners.append(sha)
            hexes.append(pdq)
    found = index.search_arrays(
        np.frombuffer(b"".join(bytes.fromhex(h) for h in hexes), np.uint8).reshape(
            -1, PDQ.key_bytes
        ),
        radius,
    )
    pairs: dict[tuple[str, str], int] = {}
    for query, hit, distance in zip(
        found.query.tolist(), found.id.tolist(), found.distance.tolist(), strict=True
    ):
        key = (owners[query], names[hit])
        if key[0] != key[1]:
            pairs[key] = min(distance, pairs.get(key, distance))
    return pairs


def _items(connection: Connection, case_id: int) -> dict[str, _Item]:
    rows = connection.execute(
        select(
            Media.sha256,
            Media.mime,
            Media.pdq,
            Media.pdq_quality,
            Media.exif_make,
            Media.exif_serial,
            Media.exif_datetime_original,
            Media.gps_lat,
            Media.gps_lon,
        ).where(Media.sha256.in_(case_media(case_id)))
    )
    return {
        r.sha256: _Item(
            r.sha256,
            r.mime,
            r.pdq if r.pdq and (r.pdq_quality or 0) >= PDQ_MIN_QUALITY else None,
            r.pdq_quality,
            (r.exif_make or "").strip() or None,
            (r.exif_serial or "").strip() or None,
            _taken(r.exif_datetime_original),
            r.gps_lat,
            r.gps_lon,
        )
        for r in rows
    }


def _star(shas: Iterable[str], method: str, score: float) -> list[LinkEvidence]:
    """Links joining a group that shares one property: each item to the group's first."""
    ordered = sorted(set(shas))
    return [LinkEvidence(ordered[0], other, method, score) for other in ordered[1:]]


def _camera_links(items: list[_Item]) -> list[LinkEvidence]:
    bodies: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in items:
        if item.serial:
            bodies[(item.make or "", item.serial)].append(item.sha256)
    return [
        link
        for shas in bodies.values()
        for link in _star(shas, "camera-serial", CAMERA_SERIAL_SCORE)
    ]


def _gps_time_links(items: list[_Item]) -> list[LinkEvidence]:
    placed = sorted(
        (i for i in items if i.taken and i.lat is not None and i.lon is not None),
        key=lambda i: (i.taken, i.sha256),
    )
    links = []
    for n, item in enumerate(placed):
        assert item.taken is not None
        for other in placed[n + 1 :]:
            assert other.taken is not None
            if (other.taken - item.taken).total_seconds() > TIME_SECONDS:
                break
            if _metres(item, other) <= GPS_METRES:
                a, b = sorted((item.sha256, other.sha256))
                links.append(LinkEvidence(a, b, "gps-time", GPS_TIME_SCORE))
    return links


def _folder_links(connection: Connection, case_id: int, new: set[str]) -> list[LinkEvidence]:
    folders: dict[tuple[int, bytes], set[str]] = defaultdict(set)
    rows = connection.execute(
        select(Occurrence.evidence_id, Occurrence.path, Occurrence.media_sha256)
        .join(Evidence, Evidence.id == Occurrence.evidence_id)
        .where(Evidence.case_id == case_id, Occurrence.media_sha256.is_not(None))
    )
    for evidence_id, path, sha in rows:
        if sha in new:
            folders[(evidence_id, path.rpartition(b"/")[0])].add(sha)
    return [
        link
        for shas in folders.values()
        if 2 <= len(shas) <= FOLDER_MAX_ITEMS
        for link in _star(shas, "folder", FOLDER_SCORE)
    ]


def _posting_links(connection: Connection, case_id: int, new: set[str]) -> list[LinkEvidence]:
    """Media one sender posted to one chat within POSTING_SECONDS of each other."""
    rows = connection.execute(
        select(
            MsgMessage.import_id,
            MsgMessage.group_id,
            MsgMessage.peer_account_id,
            MsgMessage.sender_account_id,
            MsgMessage.from_me,
            MsgMessage.at,
            MsgMessage.media_sha256,
        )
        .join(MsgImport, MsgImport.id == MsgMessage.import_id)
        .where(MsgImport.case_id == case_id, MsgMessage.media_sha256.is_not(None))
    )
    postings: dict[tuple[object, ...], list[tuple[datetime, str]]] = defaultdict(list)
    for import_id, group, peer, sender, from_me, at, sha in rows:
        if sha in new and at is not None:
            postings[(import_id, group, peer, sender, from_me)].append((at, sha))
    links = []
    for posts in postings.values():
        posts.sort()
        for (at, sha), (next_at, next_sha) in pairwise(posts):
            if sha != next_sha and (next_at - at).total_seconds() <= POSTING_SECONDS:
                a, b = sorted((sha, next_sha))
                links.append(LinkEvidence(a, b, "messaging", MESSAGING_SCORE))
    return links


def _rank(method: str) -> int:
    return METHOD_RANK.index(method) if method in METHOD_RANK else len(METHOD_RANK)


def _strongest(
    links: Iterable[LinkEvidence], *, one_way: bool = False
) -> dict[str, SuggestedMedia]:
    """Each item's strongest link: the surest method, then the highest score. `one_way`:
    only the `a` ends (the case's items, linked to series members at `b`)."""
    best: dict[str, SuggestedMedia] = {}
    for link in links:
        ends = ((link.a, link.b),) if one_way else ((link.a, link.b), (link.b, link.a))
        for sha, other in ends:
            held = best.get(sha)
            key = (_rank(link.method), -link.score, other)
            if held is None or key < (_rank(held.method), -held.score, held.linked_to):
                best[sha] = SuggestedMedia(sha, link.method, link.score, other)
    return best


def _clusters(links: list[LinkEvidence]) -> list[list[LinkEvidence]]:
    """The links grouped by the connected sets of items they join."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for link in links:
        ra, rb = find(link.a), find(link.b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    grouped: dict[str, list[LinkEvidence]] = defaultdict(list)
    for link in links:
        grouped[find(link.a)].append(link)
    return list(grouped.values())


def new_clusters(
    connection: Connection, case_id: int, items: dict[str, _Item], new: set[str]
) -> list[list[LinkEvidence]]:
    """The links among the case's new items, grouped into clusters."""
    fresh = [items[s] for s in sorted(new)]
    stored = {i.sha256: i.pdq for i in fresh if i.pdq}
    variants = pdq_variants(connection, sorted(stored))
    queries = {sha: [pdq, *variants.get(sha, ())] for sha, pdq in stored.items()}
    closest: dict[tuple[str, str], int] = {}
    for (q, hit), distance in pdq_pairs(stored, queries).items():
        pair = (min(q, hit), max(q, hit))
        closest[pair] = min(distance, closest.get(pair, distance))
    links = [LinkEvidence(a, b, "pdq", pdq_score(d)) for (a, b), d in sorted(closest.items())]
    links += [
        LinkEvidence(link.sha256, link.other, link.method, round(link.score, 3))
        for link in stored_links(connection, new)
        if link.other in new and link.sha256 < link.other  # each link once, in sha order
    ]
    links += _camera_links(fresh)
    links += _gps_time_links(fresh)
    links += _posting_links(connection, case_id, new)
    links += _folder_links(connection, case_id, new)
    unique = {(link.a, link.b, link.method): link for link in links}
    return _clusters(sorted(unique.values(), key=lambda k: (k.a, k.b, _rank(k.method))))


def _series_hits(
    session: Session,
    principal: Principal | None,
    case_id: int,
    items: dict[str, _Item],
) -> dict[int, list[LinkEvidence]]:
    """Per visible series: links from the case's items to its members (a = the case item)."""
    visible = visible_series(session, principal).where(Series.merged_into.is_(None))
    members = session.execute(
        select(
            SeriesMedia.series_id,
            SeriesMedia.media_sha256,
            SeriesMedia.case_id,
            Media.pdq,
            Media.pdq_quality,
            Media.exif_make,
            Media.exif_serial,
        )
        .join(Media, Media.sha256 == SeriesMedia.media_sha256)
        .where(SeriesMedia.series_id.in_(visible.with_only_columns(Series.id)))
    ).all()
    # An item filed from this very case is no news about that series.
    filed_here = {(m.series_id, m.media_sha256) for m in members if m.case_id == case_id}
    series_of: dict[str, set[int]] = defaultdict(set)
    for m in members:
        series_of[m.media_sha256].add(m.series_id)
    hits: dict[int, list[LinkEvidence]] = defaultdict(list)

    def hit(series_id: int, sha: str, member: str, method: str, score: float) -> None:
        if (series_id, sha) not in filed_here:
            hits[series_id].append(LinkEvidence(sha, member, method, score))

    for sha in sorted(items):
        for series_id in sorted(series_of.get(sha, ())):
            hit(series_id, sha, sha, "sha256", 1.0)
    stored = {
        m.media_sha256: m.pdq for m in members if m.pdq and (m.pdq_quality or 0) >= PDQ_MIN_QUALITY
    }
    hashed = {s: i.pdq for s, i in items.items() if i.pdq}
    variants = pdq_variants(session.connection(), sorted(hashed))
    queries = {sha: [pdq, *variants.get(sha, ())] for sha, pdq in hashed.items() if pdq}
    for (sha, member), distance in sorted(pdq_pairs(stored, queries).items()):
        for series_id in sorted(series_of[member]):
            hit(series_id, sha, member, "pdq", pdq_score(distance))
    for link in stored_links(session.connection(), items):
        for series_id in sorted(series_of.get(link.other, ())):
            hit(series_id, link.sha256, link.other, link.method, round(link.score, 3))
    bodies: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for m in members:
        if (m.exif_serial or "").strip():
            make = (m.exif_make or "").strip()
            bodies[(make, m.exif_serial.strip())].append((m.series_id, m.media_sha256))
    for sha, item in sorted(items.items()):
        if item.serial:
            for series_id, member in bodies.get((item.make or "", item.serial), ()):
                if member != sha:
                    hit(series_id, sha, member, "camera-serial", CAMERA_SERIAL_SCORE)
    return hits


def suggest(ctx: Context, principal: Principal | None, case_ref: str) -> list[Suggestion]:
    """Proposals for the case: existing series first (those with an exact copy first, then
    the most items), then new clusters, largest first."""
    require(principal, "series.read")
    with ctx.db.session() as session:
        case = case_for(session, principal, case_ref)
        connection = session.connection()
        own_code = session.scalar(select(Agency.code).where(Agency.id == case.agency_id)) or LOCAL
        items = {
            sha: item
            for sha, item in _items(connection, case.id).items()
            if item.mime and item.mime.startswith(("image/", "video/"))
        }
        best = best_matches(connection, case.id)
        filed = set(
            session.scalars(select(SeriesMedia.media_sha256).where(SeriesMedia.case_id == case.id))
        )
        new = {
            sha
            for sha in items
            if (best[sha].triage if sha in best else Triage.NEW) in NEW and sha not in filed
        }
        proposals: list[tuple[tuple[object, ...], Suggestion]] = []
        hits = _series_hits(session, principal, case.id, items)
        series_rows = {
            s.id: (s, code)
            for s, code in session.execute(
                select(Series, Agency.code)
                .outerjoin(Agency, Agency.id == Series.agency_id)
                .where(Series.id.in_(sorted(hits)))
            )
        }
        for series_id, links in hits.items():
            series, code = series_rows[series_id]
            media = sorted(
                _strongest(links, one_way=True).values(), key=lambda m: (_rank(m.method), m.sha256)
            )
            foreign = principal is not None and series.agency_id != principal.agency_id
            foreign = foreign or (principal is None and series.agency_id != case.agency_id)
            suggestion = Suggestion(
                series.name,
                series.id,
                code or LOCAL,
                series.status,
                series.contact,
                foreign and series.status in IDENTIFIED,
                media,
            )
            exact = any(m.method == "sha256" for m in media)
            proposals.append(((0, not exact, -len(media), series.name, series.id), suggestion))
        for links in new_clusters(connection, case.id, items, new):
            media = sorted(_strongest(links).values(), key=lambda m: m.sha256)
            suggestion = Suggestion(None, None, own_code, None, None, False, media, links)
            proposals.append(((1, False, -len(media), media[0].sha256, 0), suggestion))
        proposals.sort(key=lambda p: p[0])
        result = [s for _key, s in proposals]
        audit.record(
            session,
            ctx.actor,
            "series.suggest",
            case_ref,
            series=sum(1 for s in result if s.series is not None),
            clusters=sum(1 for s in result if s.series is None),
        )
        return result
