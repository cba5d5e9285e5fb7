"""Series statuses between instances, for deconfliction (docs/federation.md).

`cairn share export --series` signs the shared series of this workspace (of an agency): name,
status, identified flags, country, whom to call, and the members' SHA-256s — never media. A
partner's list replaces the one it sent before; `cairn share series` then says, per partner
series, which of the workspace's cases hold its members, so that nobody works a series another
country has identified or safeguarded without calling them first.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from cairn.core.types import SeriesStatus
from cairn.hashsets.share_file import ShareFile, ShareFileError
from cairn.services.context import Context
from cairn.services.sharing.notices import NoticeExport, entries_of, write_list
from cairn.store import audit
from cairn.store.identity_models import Agency
from cairn.store.models import Case, Evidence, Occurrence
from cairn.store.series_models import Series, SeriesMedia
from cairn.store.share_models import PartnerSeries, ShareImport

_SHA = re.compile(r"[0-9a-f]{64}")
_FIELDS = {
    "name",
    "status",
    "victim_identified",
    "offender_identified",
    "country",
    "contact",
    "media",
}


@dataclass(frozen=True)
class PartnerSeriesInfo:
    owner: str
    name: str
    status: str
    victim_identified: bool | None
    offender_identified: bool | None
    country: str
    contact: str
    media: int
    in_cases: list[str]  # this workspace's cases that hold members


def export_series(ctx: Context, out: Path, agency_id: int | None = None) -> NoticeExport:
    """The shared series of `agency_id` (None: the local workspace's), signed."""
    with ctx.db.session() as session:
        rows = session.execute(
            select(Series, Agency.country)
            .outerjoin(Agency, Agency.id == Series.agency_id)
            .where(
                Series.shared.is_(True),
                Series.merged_into.is_(None),
                Series.agency_id.is_(None) if agency_id is None else Series.agency_id == agency_id,
            )
            .order_by(Series.id)
        ).all()
        entries = []
        for series, country in rows:
            media = sorted(
                session.scalars(
                    select(SeriesMedia.media_sha256).where(SeriesMedia.series_id == series.id)
                )
            )
            entries.append(
                {
                    "name": series.name,
                    "status": series.status,
                    "victim_identified": series.victim_identified,
                    "offender_identified": series.offender_identified,
                    "country": country or "",
                    "contact": series.contact,
                    "media": media,
                }
            )
    return write_list(ctx, out, "series", entries)


def _entry(entry: dict[str, Any], number: int) -> dict[str, Any]:
    try:
        valid = (
            set(entry) == _FIELDS
            and isinstance(entry["name"], str)
            and 0 < len(entry["name"]) <= 200
            and entry["status"] in {s.value for s in SeriesStatus}
            and all(
                entry[f] in (None, True, False)
                for f in ("victim_identified", "offender_identified")
            )
            and isinstance(entry["country"], str)
            and len(entry["country"]) in (0, 2)
            and isinstance(entry["contact"], str)
            and len(entry["contact"]) <= 2000
            and isinstance(entry["media"], list)
            and all(isinstance(s, str) and _SHA.fullmatch(s) for s in entry["media"])
        )
    except (KeyError, TypeError):
        valid = False
    if not valid:
        raise ShareFileError(f"entry {number} is not a series status")
    return entry


def import_series(ctx: Context, share: ShareFile, owner: str) -> tuple[int, int]:
    """Replace `owner`'s series statuses with a verified file's, in one transaction: (version,
    entries). A version not newer than the last imported is a replay."""
    version = share.manifest.get("version")
    if not isinstance(version, int) or version < 1:
        raise ShareFileError(f"{share.path}: no version")
    uid = hashlib.sha256(f"{share.signer}:series".encode()).hexdigest()[:32]
    entries = [_entry(e, n) for n, e in enumerate(entries_of(share), 1)]
    now = datetime.now(UTC)
    with ctx.db.engine.begin() as connection:
        last = connection.scalar(
            select(func.max(ShareImport.version)).where(
                ShareImport.signer == share.signer, ShareImport.set_uid == uid
            )
        )
        if last is not None and version <= last:
            raise ShareFileError(f"{share.path}: not newer than the series imported: a replay")
        connection.execute(delete(PartnerSeries).where(PartnerSeries.owner == owner))
        if entries:
            connection.execute(
                insert(PartnerSeries), [{**e, "owner": owner, "received_at": now} for e in entries]
            )
        connection.execute(
            insert(ShareImport),
            {
                "signer": share.signer,
                "trust_name": owner,
                "set_uid": uid,
                "version": version,
                "since": None,
                "kind": "series",
                "hashset_id": None,
                "entries": len(entries),
                "manifest_sha256": share.file_sha256_prefix,
                "imported_at": now,
                "imported_by": ctx.actor.user,
            },
        )
        with Session(bind=connection) as session:
            audit.record(
                session,
                ctx.actor,
                "share.import",
                None,
                kind="series",
                owner=owner,
                version=version,
                entries=len(entries),
            )
    return version, len(entries)


def list_partner_series(ctx: Context, agency_id: int | None = None) -> list[PartnerSeriesInfo]:
    """Partners' series, each with the cases here (of `agency_id`; None: all) holding members."""
    with ctx.db.session() as session:
        rows = session.scalars(
            select(PartnerSeries).order_by(PartnerSeries.owner, PartnerSeries.name)
        )
        out = []
        for row in rows:
            query = (
                select(Case.ref)
                .join(Evidence, Evidence.case_id == Case.id)
                .join(Occurrence, Occurrence.evidence_id == Evidence.id)
                .where(Occurrence.media_sha256.in_(row.media or [""]))
                .distinct()
                .order_by(Case.ref)
            )
            if agency_id is not None:
                query = query.where(Case.agency_id == agency_id)
            out.append(
                PartnerSeriesInfo(
                    row.owner,
                    row.name,
                    row.status,
                    row.victim_identified,
                    row.offender_identified,
                    row.country,
                    row.contact,
                    len(row.media),
                    list(session.scalars(query)),
                )
            )
        return out
