"""Leads: to which country, when, by whom, and what came of them."""

from __future__ import annotations

import pytest

from cairn.core.errors import UsageError
from cairn.services.records.common import list_records, update_record
from cairn.services.records.leads import LEADS, add_lead

from .conftest import Agencies


def test_leads_record_their_outcome(agencies: Agencies) -> None:
    ctx, nl = agencies.as_("victim-id@NL-NP")
    lead = add_lead(ctx, nl, "iris", "de", sent_at="2026-11-02T10:00:00", reference="BKA-7")
    assert (lead.country, lead.sent_by, lead.outcome) == ("DE", "victim-id.nl-np", "pending")
    assert lead.sent_at.startswith("2026-11-02T10:00:00")
    done = update_record(ctx, nl, LEADS, lead.id, {"outcome": "identified"})
    assert done.history[-1].changes == {"outcome": ["pending", "identified"]}
    # An outcome is no progression: a later answer may replace an earlier one, no reason asked.
    assert update_record(ctx, nl, LEADS, lead.id, {"outcome": "pending"}).outcome == "pending"
    be_ctx, be = agencies.as_("victim-id@BE-FP")
    (seen,) = list_records(be_ctx, be, LEADS, "iris")
    assert (seen.country, seen.reference, seen.notes) == ("DE", None, None)
    for bad, message in (
        ({"country_code": "XX"}, "not an ISO 3166-1 alpha-2 country code"),
        ({"country_code": "DE", "sent_at": "yesterday"}, "not an ISO 8601"),
        ({"country_code": "DE", "outcome": "great"}, "outcome must be one of"),
    ):
        with pytest.raises(UsageError, match=message):
            add_lead(ctx, nl, "iris", **bad)  # type: ignore[arg-type]
