"""The case's rows as reports read them: phone owners given or inferred, and clocks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.messaging.analysis import ClockOffset
from cairn.messaging.scenario import PEOPLE

if TYPE_CHECKING:
    from conftest import Harbour  # tests/services/messaging/conftest.py

ALICE, BOB, CAROL, DAN, ERIN, FRANK = (p.phone for p in PEOPLE)


def test_clocks_and_owners(harbour: Harbour) -> None:
    assert harbour.analysis.clocks == [
        ClockOffset("phone-A", "phone-A", 0.0, 0.0, 0),
        ClockOffset("phone-B", "phone-A", 90.0, 2.5, 5),
        ClockOffset("phone-C", "phone-A", -30.0, 1.0, 8),
    ]
    # Each phone states its owner; the other phones' copies of its messages agree.
    assert harbour.analysis.owners == {
        "phone-A": f"{ALICE} (given at import)",
        "phone-B": f"{BOB} (stated by the phone: the member named in 1 group notice of the "
        "phone's own acts (message_system_chat_participant); inferred: 2 of 2 messages sent "
        "from phone-B are held by other phones as received from it)",
        "phone-C": f"{CAROL} (stated by the phone: addressee of 8 received messages (ZTOJID); "
        "creator of 1 group (ZCREATORJID) who never wrote to the phone; subject owner of 1 "
        "group (ZSUBJECTOWNERJID) who never wrote to the phone; inferred: 3 of 3 messages "
        "sent from phone-C are held by other phones as received from it)",
    }
