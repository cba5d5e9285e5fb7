"""The media of a case: what matching, triage and video matching all start from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute

from cairn.store.models import Evidence, Occurrence


def case_media(case_id: int, *per: InstrumentedAttribute[Any]) -> Select[*tuple[Any, ...]]:
    """The distinct SHA-256 of the media items that occur in the case (in any of its evidence
    items, at any depth), for use as a subquery: `Media.sha256.in_(case_media(case_id))`.

    Columns given in `per` (of `Evidence` or `Occurrence`) lead each row, and the rows are
    distinct per their values: `case_media(case_id, Evidence.label)` gives (label, sha256), an
    item once per evidence item that holds it. Occurrences without content (non-regular
    entries, unreadable files) have no media and are left out.
    """
    return (
        select(*per, Occurrence.media_sha256)
        .join(Evidence, Evidence.id == Occurrence.evidence_id)
        .where(Evidence.case_id == case_id, Occurrence.media_sha256.is_not(None))
        .distinct()
    )
