"""Offenders and suspects: phones in E.164, linked to the messaging accounts of the agency's
cases; contacts withheld from other agencies."""

from __future__ import annotations

import pytest

from cairn.core.errors import UsageError
from cairn.messaging.samples import CAROL
from cairn.services.records.common import show_record, update_record
from cairn.services.records.persons import PERSONS, LinkedAccount, add_person

from .conftest import Agencies


def test_a_person_links_to_the_messaging_accounts_of_their_phone(agencies: Agencies) -> None:
    ctx, nl = agencies.as_("victim-id@NL-NP")
    person = add_person(ctx, nl, "iris", role="producer", phones=["+1 202-555-0103"])
    assert person.phones == [CAROL.phone]
    assert person.messaging == [LinkedAccount("NL-1", CAROL.phone, CAROL.phone, None)]
    be_ctx, be = agencies.as_("victim-id@BE-FP")
    seen = show_record(be_ctx, be, PERSONS, person.id)  # a shared series: role and status only
    assert (seen.role, seen.phones, seen.accounts, seen.messaging) == ("producer", None, None, [])
    arrested = update_record(ctx, nl, PERSONS, person.id, {"status": "arrested"})
    assert arrested.history[-1].changes == {"status": ["unidentified", "arrested"]}
    with pytest.raises(UsageError, match="going back from arrested to located needs a --reason"):
        update_record(ctx, nl, PERSONS, person.id, {"status": "located"})
    none = update_record(ctx, nl, PERSONS, person.id, {"phones": []})
    assert (none.phones, none.messaging) == ([], [])


def test_bad_persons_are_refused(agencies: Agencies) -> None:
    ctx, nl = agencies.as_("victim-id@NL-NP")
    with pytest.raises(UsageError, match="not an international phone number"):
        add_person(ctx, nl, "tulip", role="producer", phones=["0612345678"])
    with pytest.raises(UsageError, match="role must be one of producer, distributor, other"):
        add_person(ctx, nl, "tulip", role="boss")
    person = add_person(ctx, nl, "tulip", role="other", accounts=["b", "a", "b"])
    assert person.accounts == ["a", "b"]
    with pytest.raises(UsageError, match="not an international phone number"):
        update_record(ctx, nl, PERSONS, person.id, {"phones": ["12"]})
