"""The groups report: members, invite-link joins, events merged over phones."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.messaging.scenario import PEOPLE
from cairn.services.messaging.groups import GroupReport

if TYPE_CHECKING:
    from conftest import Harbour  # tests/services/messaging/conftest.py

ALICE, BOB, CAROL, DAN, ERIN, FRANK = (p.phone for p in PEOPLE)
REF, B_CLOCK = "phone-A reference clock", "phone-B clock +90.0 s ± 2.5 s against phone-A"


def test_groups(harbour: Harbour) -> None:
    groups = {g.name: g for g in harbour.analysis.groups}
    assert groups["Harbour Club"] == GroupReport(
        "group:120363000000000011",
        "Harbour Club",
        DAN,
        "2024-04-30T08:00:00Z",
        ("phone-A", "phone-B"),
        (f"{ALICE} (admin)", f"{BOB} (member)", f"{DAN} (superadmin)"),
        (ALICE, DAN),
        (),
        # One event seen on two phones, whose stamps differ by phone-B's 90 s.
        (f"2024-05-01T06:00:00Z {BOB} added by {DAN} ({REF}; seen on phone-A, phone-B)",),
        8,  # what people wrote, on both phones; the notice of Bob's addition apart
        1,
        2,
    )
    night = groups["Night Owls"]
    # Phone-C (iOS) states it too, in its notice (ZGROUPEVENTTYPE).
    assert night.invite_link_joins == (
        f"{ERIN} at 2024-05-01T07:00:00Z ({REF}; seen on phone-A, phone-C)",
    )
    assert (night.seen_on, night.messages, night.media_items) == (("phone-A", "phone-C"), 12, 5)
    assert night.notices == 4  # created and Erin's join, on both phones
    # No wa.db on phone-B: the creator comes from the "created" event.
    assert groups["Quiet Room"].creator == BOB
    assert groups["Quiet Room"].events == (
        f"2024-04-30T18:06:40Z {BOB} created ({B_CLOCK}; seen on phone-B)",
        f"2024-05-01T08:41:40Z {FRANK} left ({B_CLOCK}; seen on phone-B)",
    )
