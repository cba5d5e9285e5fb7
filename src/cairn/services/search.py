"""Search by hash: where a digest or PDQ is known to the caller's agency.

Two kinds of hits, with different reach. Case media are searched only in the cases the
caller's agency may see: media and occurrences are never shared across agencies. Known hashes
are searched in the sets the agency may use (its own and every shared one), through the
workspace's known-material indexes; unshared sets of other agencies are filtered out before
anything is counted, so a search cannot tell whether they hold the hash.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.core.errors import UsageError
from cairn.core.hash_kinds import BY_NAME, KNOWN_HASH_NAMES, PDQ
from cairn.core.thresholds import PDQ_MATCH_DISTANCE
from cairn.matching.known import KnownIndexes
from cairn.services.access import usable_hashset_ids, visible_case_ids
from cairn.services.context import Context
from cairn.services.hashsets import materialize_known_files
from cairn.services.identity import Principal
from cairn.store import audit
from cairn.store.identity_models import Agency
from cairn.store.models import Case, Evidence, HashSet, KnownHash, Media, Occurrence

# Beyond 64 bits a PDQ "match" says little (unrelated images sit near 128) and a wide radius
# would turn the search into a listing of the agency's media.
MAX_PDQ_DISTANCE = 64
_HEX = re.compile(r"^[0-9a-f]*$")


@dataclass(frozen=True)
class CaseHit:
    case_ref: str
    media_sha256: str
    occurrences: int
    distance: int


@dataclass(frozen=True)
class KnownHit:
    hashset_id: int
    hashset: str
    agency_code: str | None
    shared: bool
    category: str | None
    series: str | None
    victim_identified: bool | None
    method: str
    distance: int


@dataclass(frozen=True)
class SearchResult:
    kind: str
    value: str
    distance: int
    case_hits: list[CaseHit]
    known_hits: list[KnownHit]


def parse_query(kind: str, value: str, distance: int | None) -> tuple[str, int]:
    """The normalised hex value and distance; UsageError for anything malformed."""
    if kind not in KNOWN_HASH_NAMES:
        raise UsageError(f"search by one of {', '.join(KNOWN_HASH_NAMES)}")
    value = value.strip().lower()
    digits = BY_NAME[kind].hex_length
    if len(value) != digits or not _HEX.match(value):
        raise UsageError(f"{kind} must be {digits} hexadecimal digits")
    if kind != "pdq":
        if distance not in (None, 0):
            raise UsageError("distance applies to PDQ searches only")
        return value, 0
    distance = PDQ_MATCH_DISTANCE if distance is None else distance
    if not 0 <= distance <= MAX_PDQ_DISTANCE:
        raise UsageError(f"distance must be 0..{MAX_PDQ_DISTANCE}")
    return value, distance


def search_hash(
    ctx: Context, principal: Principal, kind: str, value: str, distance: int | None = None
) -> SearchResult:
    value, radius = parse_query(kind, value, distance)
    with ctx.db.session() as session:
        cases = visible_case_ids(session, principal)
        usable = usable_hashset_ids(session, principal)
        case_hits = _case_hits(session, cases, kind, value, radius)
        known_hits = _known_hits(ctx, session, usable, kind, value, radius)
        audit.record(
            session,
            ctx.actor,
            "search.hash",
            None,
            kind=kind,
            value=value,
            distance=radius,
            case_hits=len(case_hits),
            known_hits=len(known_hits),
        )
    return SearchResult(kind, value, radius, case_hits, known_hits)


def _case_hits(session: Session, cases: Any, kind: str, value: str, radius: int) -> list[CaseHit]:
    visible = (
        select(Occurrence.media_sha256, Case.ref)
        .join(Evidence, Evidence.id == Occurrence.evidence_id)
        .join(Case, Case.id == Evidence.case_id)
        .where(Case.id.in_(cases), Occurrence.media_sha256.is_not(None))
    )
    if kind == "pdq":
        distances = _pdq_distances(session, visible, value, radius)
        wanted = list(distances)
    else:
        column = getattr(Media, kind)
        wanted = list(session.scalars(select(Media.sha256).where(column == value)))
        distances = dict.fromkeys(wanted, 0)
    if not wanted:
        return []
    counts: Counter[tuple[str, str]] = Counter()
    for sha, ref in session.execute(visible.where(Occurrence.media_sha256.in_(wanted))):
        counts[(ref, str(sha))] += 1
    return sorted(
        (CaseHit(ref, sha, n, distances[sha]) for (ref, sha), n in counts.items()),
        key=lambda hit: (hit.distance, hit.case_ref, hit.media_sha256),
    )


def _pdq_distances(session: Session, visible: Any, value: str, radius: int) -> dict[str, int]:
    """Media of the visible cases within `radius` of the PDQ: a scan of those cases' hashes,
    through the same exact range search the known-material index uses."""
    from cairn.matching.pdq_index import PdqIndex

    in_cases = visible.with_only_columns(Occurrence.media_sha256).distinct().subquery()
    rows = session.execute(
        select(Media.sha256, Media.pdq).where(
            Media.sha256.in_(select(in_cases.c.media_sha256)), Media.pdq.is_not(None)
        )
    ).all()
    if not rows:
        return {}
    index = PdqIndex()
    keys = np.frombuffer(b"".join(bytes.fromhex(pdq or "") for _sha, pdq in rows), np.uint8)
    index.build(keys.reshape(-1, PDQ.key_bytes), np.arange(len(rows), dtype=np.int64))
    query = np.frombuffer(bytes.fromhex(value), np.uint8).reshape(1, -1)
    hits = index.search_arrays(query, radius)
    return {
        rows[row][0]: distance
        for row, distance in zip(hits.id.tolist(), hits.distance.tolist(), strict=True)
    }


def _known_hits(
    ctx: Context, session: Session, usable: Any, kind: str, value: str, radius: int
) -> list[KnownHit]:
    indexes = KnownIndexes(ctx.workspace.root / "indexes")
    query = np.frombuffer(bytes.fromhex(value), np.uint8).reshape(1, -1)
    if kind == "pdq":
        near = indexes.pdq_search(query, radius)
        found = dict(zip(near.id.tolist(), near.distance.tolist(), strict=True))
    else:
        _rows, ids = indexes.lookup(kind, query)
        found = dict.fromkeys(ids.tolist(), 0)
    if not found:
        return []
    # NSRL-scale sets keep their entries in files until one is hit; a hit becomes a row here
    # as it does when a case matches it (services.hashsets, "known-file sets").
    materialize_known_files(session.connection(), indexes.folder, sorted(found))
    rows = session.execute(
        select(KnownHash, HashSet, Agency.code)
        .join(HashSet, HashSet.id == KnownHash.hashset_id)
        .outerjoin(Agency, Agency.id == HashSet.agency_id)
        .where(
            KnownHash.id.in_(list(found)),
            HashSet.id.in_(usable),
            HashSet.removed_at.is_(None),
        )
    ).all()
    hits = [
        KnownHit(
            hashset.id,
            hashset.name,
            code,
            hashset.shared,
            f"{known.category_scheme}:{known.category_code or ''}"
            if known.category_scheme
            else None,
            known.series,
            known.victim_identified,
            kind,
            found[known.id],
        )
        for known, hashset, code in rows
    ]
    return sorted(hits, key=lambda hit: (hit.distance, hit.hashset_id))
