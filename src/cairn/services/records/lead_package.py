"""A lead package: what another country's police need to take a series on, and nothing else
(docs/records.md). A zip, written straight to its destination member by member:

- `summary.json`: the series, its victims (age band, sex, status: never names) and offenders
  (role, status, phones, accounts), its leads, the country it is for;
- `clues.json`: the location clues with the countries each supports or eliminates;
- `countries.json`: the country ranking with its evidence;
- `hashes.csv`: SHA-256, MD5, SHA-1 and PDQ of the series' media (its members and its clues'
  media) that the agency holds;
- `objects/`: the published Trace an Object crops (the only images in it) and their manifests.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.media.thumbnail import load_or_create_key, open_thumbnail
from cairn.services.access import agency_media, require
from cairn.services.context import Context
from cairn.services.records.common import (
    agency_code,
    countries_of,
    country,
    series_for,
    series_media,
)
from cairn.services.records.countries import rank, series_evidence
from cairn.store import audit
from cairn.store.models import Media
from cairn.store.record_models import Lead, LocationClue, ObjectCrop, Person, Victim
from cairn.store.series_models import Series

if TYPE_CHECKING:
    from cairn.services.identity import Principal

HASH_COLUMNS = ("sha256", "md5", "sha1", "pdq", "pdq_quality")


def _json(package: zipfile.ZipFile, name: str, value: Any) -> None:
    package.writestr(name, json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def _summary(session: Session, series: Series, for_country: str) -> dict[str, Any]:
    def rows(model: Any) -> list[Any]:
        return list(
            session.scalars(select(model).where(model.series_id == series.id).order_by(model.id))
        )

    return {
        "series": series.name,
        "agency": agency_code(session, series),
        "for_country": for_country,
        "victim_identified": series.victim_identified,
        "offender_identified": series.offender_identified,
        "victims": [
            {"id": v.id, "age_band": v.age_band, "sex": v.sex, "status": v.status}
            for v in rows(Victim)
        ],
        "persons": [
            {
                "id": p.id,
                "role": p.role,
                "status": p.status,
                "phones": p.phones,
                "accounts": p.accounts,
            }
            for p in rows(Person)
        ],
        "leads": [
            {"country": x.country, "sent_at": x.sent_at.isoformat(), "outcome": x.outcome}
            for x in rows(Lead)
        ],
    }


def _clues(session: Session, series: Series) -> list[dict[str, Any]]:
    clues = session.scalars(
        select(LocationClue).where(LocationClue.series_id == series.id).order_by(LocationClue.id)
    )
    return [
        {
            "id": c.id,
            "kind": c.kind,
            "description": c.description,
            "text": c.text,
            "language": c.language,
            "socket_type": c.socket_type,
            "sha256": c.media_sha256,
            "region": c.region,
            "latitude": c.latitude,
            "longitude": c.longitude,
            "countries": [asdict(e) for e in countries_of(c.countries)],
        }
        for c in clues
    ]


def _hashes(session: Session, series: Series, principal: Principal | None, out: TextIO) -> None:
    query = select(Media).where(Media.sha256.in_(series_media(series.id))).order_by(Media.sha256)
    if principal is not None:
        query = query.where(Media.sha256.in_(agency_media(principal.agency_id)))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HASH_COLUMNS)
    for media in session.scalars(query):
        writer.writerow([getattr(media, column) or "" for column in HASH_COLUMNS])


def export_lead_package(
    ctx: Context, principal: Principal | None, series_ref: str, for_country: str, out: BinaryIO
) -> int:
    """Write the lead package of the agency's own series for `for_country`; audited. Returns
    how many object crops it holds."""
    require(principal, "series.export")
    code = country(for_country)
    with ctx.db.session() as session:
        series = series_for(session, principal, series_ref, write=True)
        crops = list(
            session.scalars(
                select(ObjectCrop)
                .where(ObjectCrop.series_id == series.id, ObjectCrop.status == "published")
                .order_by(ObjectCrop.id)
            )
        )
        key = load_or_create_key(ctx.workspace.key_file) if crops else b""
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
            _json(package, "summary.json", _summary(session, series, code))
            _json(package, "clues.json", _clues(session, series))
            _json(
                package,
                "countries.json",
                [asdict(r) for r in rank(series_evidence(session, series))],
            )
            with (
                package.open("hashes.csv", "w") as raw,
                io.TextIOWrapper(raw, encoding="utf-8", newline="") as text,
            ):
                _hashes(session, series, principal, text)
            for crop in crops:
                package.writestr(
                    f"objects/object-{crop.id}.jpg", open_thumbnail(crop.blob, key, crop.sha256)
                )
                _json(
                    package,
                    f"objects/object-{crop.id}.json",
                    {
                        "object": crop.id,
                        "clue": crop.clue_id,
                        "sha256": crop.sha256,
                        "face_detector": crop.detector,
                        "faces": crop.faces,
                        "confirmed_person_free_by": crop.confirmed_by,
                    },
                )
        audit.record(
            session,
            ctx.actor,
            "export.lead_package",
            None,
            series=series.id,
            country=code,
            objects=[c.id for c in crops],
        )
        return len(crops)
