"""What people's grades settle: the standing category of an item, and the items of a case
that grades made elsewhere count as known (triage reads this beside the hash-set matches).

A grade stands when `votes_required` active votes agree on one category and no other category
has as many (the agency's k-of-n rule; one vote by default). It counts as known in the other
cases of the grader's agency, and in every agency's cases when the item is a member of a shared
series of the grader's agency: grading is how a reviewer's work stops the next one's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from cairn.core.types import Category, CategoryScheme
from cairn.store.case_media import case_media
from cairn.store.grade_models import Grade, GradePolicy
from cairn.store.models import Case
from cairn.store.series_models import Series, SeriesMedia

IGNORABLE = "ignorable"
# Categories that mean "nothing of concern" (VICS 0 is non-pertinent).
IGNORABLE_CATEGORIES = frozenset({IGNORABLE, "vics:0"})


def category_text(scheme: str, code: str) -> str:
    return IGNORABLE if scheme == IGNORABLE else f"{scheme}:{code}"


def is_ignorable(category: str) -> bool:
    return category in IGNORABLE_CATEGORIES


def standing(votes: Iterable[str], required: int) -> str | None:
    """The category that `required` votes agree on and no other category matches in number."""
    counts = Counter(votes).most_common()
    if not counts or counts[0][1] < required:
        return None
    if len(counts) > 1 and counts[1][1] == counts[0][1]:
        return None
    return counts[0][0]


def votes_required(connection: Connection, agency_id: int | None) -> int:
    found = connection.scalar(
        select(GradePolicy.votes_required).where(of_agency(GradePolicy.agency_id, agency_id))
    )
    return found or 1


def of_agency(
    column: InstrumentedAttribute[int | None], agency_id: int | None
) -> ColumnElement[bool]:
    """`column` names `agency_id`, where None is the local operator's (SQL's NULL is no value)."""
    return column.is_(None) if agency_id is None else column == agency_id


@dataclass(frozen=True)
class GradeHit:
    """A category that grades made outside this case settle for one of its items."""

    category: str
    votes: int


def known_from_grades(connection: Connection, case_id: int) -> dict[str, GradeHit]:
    """Per item of the case: the standing category from grades in the agency's other cases,
    or from the owner's grades of a shared series it is a member of."""
    agency_id = connection.scalar(select(Case.agency_id).where(Case.id == case_id))
    return standing_grades(connection, case_media(case_id), agency_id, Grade.case_id != case_id)


def standing_grades(
    connection: Connection,
    media: Select[Any] | Sequence[str],
    agency_id: int | None,
    cases: ColumnElement[bool] | None = None,
) -> dict[str, GradeHit]:
    """Per item of `media`: the standing category from the grades the agency made (in the
    cases `cases` selects, default all) or that a shared series' owner made of its members."""
    shared_members = (
        select(SeriesMedia.media_sha256, Series.agency_id)
        .join(Series, Series.id == SeriesMedia.series_id)
        .where(Series.shared.is_(True), Series.merged_into.is_(None))
        .subquery()
    )
    own_agency = of_agency(Grade.agency_id, agency_id)
    if cases is not None:
        own_agency = and_(cases, own_agency)
    in_shared_series = (
        select(shared_members.c.media_sha256)
        .where(
            shared_members.c.media_sha256 == Grade.media_sha256,
            shared_members.c.agency_id == Grade.agency_id,
        )
        .exists()
    )
    rows = connection.execute(
        select(Grade.media_sha256, Grade.agency_id, Grade.scheme, Grade.code)
        .where(
            Grade.media_sha256.in_(media),
            Grade.retracted_at.is_(None),
            or_(own_agency, in_shared_series),
        )
        .order_by(Grade.id)
    )
    votes: dict[tuple[str, int | None], list[str]] = defaultdict(list)
    for sha, grader_agency, scheme, code in rows:
        votes[(sha, grader_agency)].append(category_text(scheme, code))
    required: dict[int | None, int] = {}
    found: dict[str, GradeHit] = {}
    for (sha, grader_agency), categories in sorted(votes.items(), key=lambda kv: kv[0][0]):
        if grader_agency not in required:
            required[grader_agency] = votes_required(connection, grader_agency)
        category = standing(categories, required[grader_agency])
        if category is None:
            continue
        hit = GradeHit(category, categories.count(category))
        held = found.get(sha)
        # A category of concern outweighs "ignorable" from another agency's grading.
        if held is None or (is_ignorable(held.category) and not is_ignorable(category)):
            found[sha] = hit
    return found


def case_standing(connection: Connection, case_id: int) -> dict[str, str]:
    """The case's own items whose grade stands: SHA-256 -> category."""
    agency_id = connection.scalar(select(Case.agency_id).where(Case.id == case_id))
    required = votes_required(connection, agency_id)
    votes: dict[str, list[str]] = defaultdict(list)
    for sha, scheme, code in connection.execute(
        select(Grade.media_sha256, Grade.scheme, Grade.code)
        .where(Grade.case_id == case_id, Grade.retracted_at.is_(None))
        .order_by(Grade.media_sha256, Grade.id)
    ):
        votes[sha].append(category_text(scheme, code))
    found = {sha: standing(v, required) for sha, v in votes.items()}
    return {sha: category for sha, category in found.items() if category is not None}


def as_category(category: str) -> Category:
    """A grade's category as the hash-set formats write it ("ignorable" is VICS 0)."""
    if category == IGNORABLE:
        return Category(CategoryScheme.VICS, "0")
    return Category.parse(category)
