"""Match filters between instances: export a set as a keyed filter, keep an imported one in the
workspace, and match a case's media through it (docs/federation.md, "Match filters").

A hit through a filter becomes a `known_hashes` row of the filter's set holding the case's own
hash (what the filter confirmed, never anything of the owner's), so matches, triage and exports
treat it like a hit on any set; each hit also makes a request for details, since the owner
alone knows the entry's category and series.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.orm import Session

from cairn.core.errors import UsageError
from cairn.core.hash_kinds import DIGEST_NAMES
from cairn.core.thresholds import PDQ_POSSIBLE_MAX
from cairn.hashsets.share_file import ShareFile, ShareFileError, ShareWriter, open_share_file
from cairn.matching.match_filter import (
    DEFAULT_FPR,
    KEY_BYTES,
    PDQ_CONFIRMING_SEGMENTS,
    MatchFilter,
)
from cairn.services.context import Context
from cairn.services.sharing.bundles import (
    ExportSummary,
    exportable_set,
    next_version,
    record_export,
    set_manifest,
)
from cairn.services.sharing.trust import instance_key
from cairn.store import audit
from cairn.store.models import Case, HashSet, KnownHash
from cairn.store.share_models import DetailsRequest

FOLDER = "filters"  # <workspace>/filters/<hash set id>.share: the verified file as received
ASK = "ask the owner"


def export_filter(ctx: Context, name: str, out: Path, *, fpr: float = DEFAULT_FPR) -> ExportSummary:
    """Write a signed match filter of the set `name`: no digest can be listed from it."""
    if not 0 < fpr < 0.5:
        raise UsageError("--fpr must be between 0 and 0.5")
    key = instance_key(ctx)
    with ctx.db.session() as session:
        hashset = exportable_set(session, name)
        set_uid, version = next_version(session, hashset.id)
        digests: list[tuple[str, bytes]] = []
        pdqs: list[bytes] = []
        last_id = 0
        rows = session.execute(
            select(KnownHash.id, KnownHash.md5, KnownHash.sha1, KnownHash.sha256, KnownHash.pdq)
            .where(KnownHash.hashset_id == hashset.id)
            .order_by(KnownHash.id)
            .execution_options(yield_per=50_000)
        )
        for known_id, *values in rows:
            *digest_values, pdq = values
            digests.extend(
                (kind, bytes.fromhex(v))
                for kind, v in zip(DIGEST_NAMES, digest_values, strict=True)
                if v
            )
            if pdq:
                pdqs.append(bytes.fromhex(pdq))
            last_id = known_id
        built = MatchFilter.build(os.urandom(KEY_BYTES), digests, pdqs, fpr)
        writer = ShareWriter(out)
        try:
            writer.write(built.body())
            writer.finish(
                {
                    **set_manifest(hashset, set_uid, version),
                    "kind": "filter",
                    "since": None,
                    "entries": len(digests) + len(pdqs),
                    "filter": built.parameters(),
                },
                key,
            )
        except BaseException:
            writer.discard()
            raise
        summary = ExportSummary(
            name,
            "filter",
            set_uid,
            version,
            None,
            len(digests) + len(pdqs),
            str(out),
            built.digest_fpr,
        )
        record_export(session, ctx, hashset, summary, last_id)
    return summary


def _parameters(share: ShareFile) -> dict[str, Any]:
    parameters = share.manifest.get("filter")
    try:
        if not isinstance(parameters, dict):
            raise ValueError
        declared = MatchFilter.body_bytes(parameters)
        entries = int(parameters["digest_entries"]) + int(parameters["pdq_entries"])
    except (KeyError, TypeError, ValueError):
        raise ShareFileError(f"{share.path}: a filter without its parameters") from None
    if declared != int(share.manifest["body_bytes"]) or entries != share.manifest["entries"]:
        raise ShareFileError(f"{share.path}: the filter's declared size does not match its body")
    return parameters


def load_filter(share: ShareFile) -> MatchFilter:
    parameters = _parameters(share)
    try:
        return MatchFilter.from_body(parameters, b"".join(share.body()))
    except ValueError as exc:
        raise ShareFileError(f"{share.path}: {exc}") from None


def store_filter(ctx: Context, share: ShareFile, hashset_id: int, written: list[Path]) -> int:
    """Keep a verified filter file for the set `hashset_id`; returns its entry count."""
    load_filter(share)  # every declared parameter checked before it is kept
    folder = ctx.workspace.root / FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)
    target = folder / f"{hashset_id}.share"
    partial = folder / f".{hashset_id}.partial"
    with partial.open("wb") as out, share.path.open("rb") as source:
        while data := source.read(1 << 20):
            out.write(data)
    written.append(target)
    os.replace(partial, target)
    if open_share_file(target).manifest != share.manifest:  # changed while copied
        raise ShareFileError(f"{share.path}: changed while it was imported")
    return int(share.manifest["entries"])


@dataclass(frozen=True)
class FilterSet:
    id: int
    name: str
    owner: str
    threshold: int
    source_sha256: str


def _filters(ctx: Context, sets: list[FilterSet]) -> list[tuple[FilterSet, MatchFilter]]:
    loaded = []
    for filter_set in sets:
        path = ctx.workspace.root / FOLDER / f"{filter_set.id}.share"
        loaded.append((filter_set, load_filter(open_share_file(path))))
    return loaded


def _hit_row(
    connection: Connection, hashset_id: int, column: str, value: str, made: dict[Any, int]
) -> int:
    """The filter set's row for a hash the filter confirmed (made on its first hit)."""
    key = (hashset_id, column, value)
    if key in made:
        return made[key]
    known_id = connection.scalar(
        select(KnownHash.id).where(
            KnownHash.hashset_id == hashset_id, getattr(KnownHash, column) == value
        )
    )
    if known_id is None:
        known_id = (connection.scalar(select(func.max(KnownHash.id))) or 0) + 1
        connection.execute(
            insert(KnownHash),
            {"id": known_id, "hashset_id": hashset_id, column: value, "details": {"filter": True}},
        )
    made[key] = int(known_id)
    return int(known_id)


def filter_match_rows(
    ctx: Context,
    connection: Connection,
    sets: list[FilterSet],
    media: list[Any],
    pdq_rows: list[tuple[int, str]],
    pdq_hex: list[str],
) -> list[dict[str, Any]]:
    """`matches` rows (without run and time) for the case's media found through filters.

    A filter cannot measure a distance: a PDQ hit confirmed by two segments is recorded at the
    set's threshold (band match), a single segment at the review band's edge (possible)."""
    rows: list[dict[str, Any]] = []
    made: dict[Any, int] = {}
    for filter_set, match_filter in _filters(ctx, sets):
        base = {"hashset_id": filter_set.id, "hashset_file_sha256": filter_set.source_sha256}
        for kind in DIGEST_NAMES:
            values = [getattr(m, kind) for m in media]
            found = match_filter.contains_digests(kind, [bytes.fromhex(v) for v in values])
            for position in found.nonzero()[0].tolist():
                known_id = _hit_row(connection, filter_set.id, kind, values[position], made)
                rows.append(
                    {
                        **base,
                        "media_sha256": media[position].sha256,
                        "known_hash_id": known_id,
                        "method": kind,
                        "distance": 0,
                        "variant": "",
                        "band": "match",
                    }
                )
        for (position, variant), pdq in zip(pdq_rows, pdq_hex, strict=True):
            segments = match_filter.pdq_segment_hits(bytes.fromhex(pdq))
            if not segments:
                continue
            confirmed = segments >= PDQ_CONFIRMING_SEGMENTS
            known_id = _hit_row(connection, filter_set.id, "pdq", pdq, made)
            rows.append(
                {
                    **base,
                    "media_sha256": media[position].sha256,
                    "known_hash_id": known_id,
                    "method": "pdq",
                    "variant": variant,
                    "distance": filter_set.threshold if confirmed else PDQ_POSSIBLE_MAX,
                    "band": "match" if confirmed else "possible",
                }
            )
    return rows


def request_details(
    ctx: Context,
    connection: Connection,
    case_id: int,
    case_ref: str,
    sets: list[FilterSet],
    rows: list[dict[str, Any]],
) -> int:
    """A request for details per new (set, case, item) found through a filter, audited;
    returns how many were made."""
    owners = {s.id: s for s in sets}
    made = 0
    seen: set[tuple[int, str]] = set()
    for row in rows:
        key = (row["hashset_id"], row["media_sha256"])
        if key in seen or row["band"] != "match":
            continue
        seen.add(key)
        exists = connection.scalar(
            select(DetailsRequest.id).where(
                DetailsRequest.hashset_id == key[0],
                DetailsRequest.case_id == case_id,
                DetailsRequest.media_sha256 == key[1],
            )
        )
        if exists is not None:
            continue
        filter_set = owners[key[0]]
        connection.execute(
            insert(DetailsRequest),
            {
                "hashset_id": key[0],
                "case_id": case_id,
                "media_sha256": key[1],
                "method": row["method"],
                "owner": filter_set.owner,
                "requested_at": datetime.now(UTC),
            },
        )
        with Session(bind=connection) as session:
            audit.record(
                session,
                ctx.actor,
                "share.request",
                case_ref,
                hashset=filter_set.name,
                owner=filter_set.owner,
                sha256=key[1],
                method=row["method"],
            )
            session.flush()
        made += 1
    return made


def filter_sets(connection: Connection, active_ids: list[int]) -> list[FilterSet]:
    rows = connection.execute(
        select(
            HashSet.id, HashSet.name, HashSet.owner, HashSet.pdq_threshold, HashSet.source_sha256
        )
        .where(HashSet.id.in_(active_ids), HashSet.format == "filter")
        .order_by(HashSet.id)
    )
    return [FilterSet(i, n, o or "", t, s) for i, n, o, t, s in rows]


@dataclass(frozen=True)
class RequestInfo:
    id: int
    case: str
    sha256: str
    hashset: str
    owner: str
    method: str
    requested_at: str
    message: str


def list_requests(ctx: Context, case_ids: list[int] | None = None) -> list[RequestInfo]:
    """Requests for details (all, or those of these cases)."""
    with ctx.db.session() as session:
        query = (
            select(DetailsRequest, Case.ref, HashSet.name)
            .join(Case, Case.id == DetailsRequest.case_id)
            .join(HashSet, HashSet.id == DetailsRequest.hashset_id)
            .order_by(DetailsRequest.id)
        )
        if case_ids is not None:
            query = query.where(DetailsRequest.case_id.in_(case_ids))
        return [
            RequestInfo(
                r.id,
                ref,
                r.media_sha256,
                name,
                r.owner,
                r.method,
                r.requested_at.isoformat(),
                f"in the set of {name} ({r.owner}): {ASK}",
            )
            for r, ref, name in session.execute(query)
        ]
