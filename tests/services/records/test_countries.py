"""The country ranking: support and elimination of independent clues and tips combined."""

from __future__ import annotations

from cairn.services.records.clues import add_clue
from cairn.services.records.countries import CountryRank, Evidence, rank, rank_countries

from .conftest import Agencies


def _e(stance: str, confidence: float, n: int = 1) -> Evidence:
    return Evidence("clue", n, "object", f"clue {n}", stance, confidence)


def test_ranking_combines_support_and_elimination() -> None:
    found = [
        ("NL", _e("supports", 0.5, 1)),
        ("NL", _e("supports", 0.5, 2)),  # two clues: 1 - 0.5 * 0.5
        ("BE", _e("supports", 0.9, 3)),
        ("BE", _e("eliminates", 0.5, 4)),
        ("FR", _e("eliminates", 1.0, 5)),
        ("DE", _e("supports", 0.75, 6)),
    ]
    ranks = rank(found)
    assert [(r.country, r.score, r.support, r.elimination) for r in ranks] == [
        ("DE", 0.75, 0.75, 0.0),  # ties go by country code
        ("NL", 0.75, 0.75, 0.0),
        ("BE", 0.45, 0.9, 0.5),
        ("FR", 0.0, 0.0, 1.0),
    ]
    assert ranks[1] == CountryRank("NL", 0.75, 0.75, 0.0, [found[0][1], found[1][1]])


def test_a_series_ranking_shows_its_evidence(agencies: Agencies) -> None:
    ctx, nl = agencies.as_("victim-id@NL-NP")
    sign = add_clue(
        ctx,
        nl,
        "iris",
        kind="text",
        description="sign",
        sha256=agencies.photo,
        text="Ingang",
        supports=["NL:0.6", "BE:0.6"],
    )
    socket = add_clue(
        ctx,
        nl,
        "iris",
        kind="socket",
        description="socket",
        sha256=agencies.photo,
        socket_type="F",
        supports=["NL:0.5"],
        eliminates=["BE:0.9"],
    )
    be_ctx, be = agencies.as_("victim-id@BE-FP")
    ranks = rank_countries(be_ctx, be, "iris")  # a shared series: everyone may rank it
    assert [(r.country, r.score) for r in ranks] == [("NL", 0.8), ("BE", 0.06)]
    assert [(e.id, e.stance) for e in ranks[1].evidence] == [
        (sign.id, "supports"),
        (socket.id, "eliminates"),
    ]
