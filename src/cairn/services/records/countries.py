"""The country of a series: its clues' and tips' support and elimination combined into a ranked
list of countries, each with the evidence behind it (docs/records.md)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.services.access import require
from cairn.services.context import Context
from cairn.services.records.common import countries_of, series_for
from cairn.store.record_models import LocationClue, Tip
from cairn.store.series_models import Series

if TYPE_CHECKING:
    from cairn.services.identity import Principal


@dataclass(frozen=True)
class Evidence:
    source: str  # clue or tip
    id: int
    kind: str  # the clue's kind; "tip" for a tip
    description: str
    stance: str  # supports, eliminates
    confidence: float


@dataclass(frozen=True)
class CountryRank:
    country: str
    score: float  # support x (1 - elimination)
    support: float  # 1 - prod(1 - c): independent clues, each able to be right alone
    elimination: float
    evidence: list[Evidence]


def _combined(confidences: list[float]) -> float:
    return round(1 - prod(1 - c for c in confidences), 4)


def series_evidence(session: Session, series: Series) -> list[tuple[str, Evidence]]:
    """(country, evidence) for every country a clue or tip of the series names."""
    found: list[tuple[str, Evidence]] = []
    for clue in session.scalars(
        select(LocationClue).where(LocationClue.series_id == series.id).order_by(LocationClue.id)
    ):
        for e in countries_of(clue.countries):
            found.append(
                (
                    e.country,
                    Evidence("clue", clue.id, clue.kind, clue.description, e.stance, e.confidence),
                )
            )
    for tip in session.scalars(select(Tip).where(Tip.series_id == series.id).order_by(Tip.id)):
        for e in countries_of(tip.countries):
            found.append(
                (e.country, Evidence("tip", tip.id, "tip", tip.text, e.stance, e.confidence))
            )
    return found


def rank(found: list[tuple[str, Evidence]]) -> list[CountryRank]:
    """Best first: score, then support; ties by country code, so the order is stable."""
    by_country: dict[str, list[Evidence]] = defaultdict(list)
    for code, evidence in found:
        by_country[code].append(evidence)
    ranks = []
    for code, items in by_country.items():
        support = _combined([e.confidence for e in items if e.stance == "supports"])
        elimination = _combined([e.confidence for e in items if e.stance == "eliminates"])
        ranks.append(
            CountryRank(code, round(support * (1 - elimination), 4), support, elimination, items)
        )
    return sorted(ranks, key=lambda r: (-r.score, -r.support, r.elimination, r.country))


def rank_countries(ctx: Context, principal: Principal | None, series_ref: str) -> list[CountryRank]:
    require(principal, "series.read")
    with ctx.db.session() as session:
        return rank(series_evidence(session, series_for(session, principal, series_ref)))
