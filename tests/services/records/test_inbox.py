"""Outcome feedback: a series identified tells everyone who worked on it, once each."""

from __future__ import annotations

from cairn.services.records.inbox import inbox
from cairn.services.records.victims import add_victim
from cairn.services.series import update_series

from .conftest import Agencies


def test_everyone_who_worked_on_an_identified_series_is_told(agencies: Agencies) -> None:
    ctx, nl = agencies.as_("victim-id@NL-NP")
    add_victim(agencies.ctx, None, "iris")  # the local operator worked on it too
    update_series(ctx, nl, agencies.series["iris"], victim_identified=True)
    # The one who recorded the outcome is not told; a second "identified" tells nobody again.
    assert inbox(ctx, nl) == []
    update_series(ctx, nl, agencies.series["iris"], victim_identified=True)
    (entry,) = inbox(agencies.ctx, None)
    assert (entry.series, entry.agency, entry.outcome, entry.read) == (
        "iris",
        "NL-NP",
        "identified",
        False,
    )
    assert entry.message == "series 'iris' is identified"
    assert inbox(agencies.ctx, None, mark_read=True)[0].read is False  # as it was when shown
    assert inbox(agencies.ctx, None)[0].read is True
    be_ctx, be = agencies.as_("victim-id@BE-FP")
    assert inbox(be_ctx, be) == []
