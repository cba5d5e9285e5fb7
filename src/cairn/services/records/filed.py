"""The series a case's media are filed in, as a VICS export states them: the series' names and
whether its victim or offender is identified (`cairn export vics`, docs/records.md)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, or_, select

from cairn.core.types import SeriesStatus
from cairn.store.case_media import case_media
from cairn.store.models import Case
from cairn.store.record_models import Person, Victim
from cairn.store.series_models import Series, SeriesMedia

VICTIM_FOUND = (SeriesStatus.IDENTIFIED.value, SeriesStatus.SAFEGUARDED.value)
VICTIM_RECORD_FOUND = ("identified", "safeguarded")
OFFENDER_FOUND = ("identified", "located", "arrested")


@dataclass(frozen=True)
class Filed:
    series: tuple[str, ...]
    victim_identified: bool | None  # None: no series it is in says
    offender_identified: bool | None


NOT_FILED = Filed((), None, None)


def _any(flags: list[bool | None]) -> bool | None:
    """One series saying yes is enough; no only when one says no and none yes."""
    if True in flags:
        return True
    return False if False in flags else None


def filed_in_series(connection: Connection, case_id: int) -> dict[str, Filed]:
    """Per media item of the case, the series it is filed in that the case's agency may see
    (its own and the shared ones; merged-away series left out). A victim counts as identified
    where the series' status or flag, or one of its victim records, says so; an offender where
    the flag says so or one of its person records is identified, located or arrested."""
    agency_id = connection.scalar(select(Case.agency_id).where(Case.id == case_id))
    query = (
        select(
            SeriesMedia.media_sha256,
            Series.id,
            Series.name,
            Series.status,
            Series.victim_identified,
            Series.offender_identified,
        )
        .join(Series, Series.id == SeriesMedia.series_id)
        .where(SeriesMedia.media_sha256.in_(case_media(case_id)), Series.merged_into.is_(None))
        .order_by(SeriesMedia.media_sha256, Series.name, Series.id)
    )
    if agency_id is not None:
        query = query.where(or_(Series.agency_id == agency_id, Series.shared))
    rows = connection.execute(query).all()
    series_ids = sorted({row.id for row in rows})
    victims_found = set(
        connection.scalars(
            select(Victim.series_id).where(
                Victim.series_id.in_(series_ids), Victim.status.in_(VICTIM_RECORD_FOUND)
            )
        )
    )
    offenders_found = set(
        connection.scalars(
            select(Person.series_id).where(
                Person.series_id.in_(series_ids), Person.status.in_(OFFENDER_FOUND)
            )
        )
    )
    by_media: dict[str, list[tuple[str, bool | None, bool | None]]] = defaultdict(list)
    for row in rows:
        victim = (
            True if row.status in VICTIM_FOUND or row.id in victims_found else row.victim_identified
        )
        offender = True if row.id in offenders_found else row.offender_identified
        by_media[row.media_sha256].append((row.name, victim, offender))
    return {
        sha256: Filed(
            tuple(dict.fromkeys(name for name, _, _ in filed)),
            _any([v for _, v, _ in filed]),
            _any([o for _, _, o in filed]),
        )
        for sha256, filed in by_media.items()
    }
