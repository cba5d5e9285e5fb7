"""The people report: phones owned, groups, camera matches, ranks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.messaging.scenario import CAMERA_PATH, PEOPLE

if TYPE_CHECKING:
    from conftest import Harbour  # tests/services/messaging/conftest.py

ALICE, BOB, CAROL, DAN, ERIN, FRANK = (p.phone for p in PEOPLE)


def test_people(harbour: Harbour) -> None:
    sha, short = harbour.sha, harbour.short
    people = {p.key: p for p in harbour.analysis.people}
    assert list(people) == [ALICE, BOB, ERIN, DAN, CAROL, FRANK, "lid:190000000000006"]
    alice = people[ALICE]
    assert alice.phones_owned == ("phone-A: +447700900001 (given at import)",)
    assert alice.groups == (
        "Harbour Club (admin)",
        "Night Owls (admin, created, creator, superadmin)",
    )
    assert alice.camera_matches == (
        f"{short['p']} on phone-A:{CAMERA_PATH} (EXIF CairnDemo Synthetic One)",
        f"{short['p']} on phone-A:data/media/0/WhatsApp/Media/WhatsApp Images/Sent/"
        "IMG-20240501-WA0003.jpg (EXIF CairnDemo Synthetic One)",
    )
    assert (alice.first_posted, alice.producer_rank, alice.distributor_rank) == ((sha["p"],), 1, 4)
    bob = people[BOB]
    assert bob.groups == (
        "Harbour Club (added, member)",
        "Park Run (member)",
        "Quiet Room (created, superadmin)",
    )
    assert (bob.forwarded, bob.media_sent, bob.messages_seen) == ((sha["x"],), 2, 5)
    assert people[ERIN].names == ("Erin", "Erin Harbour")
    # Frank's number (from the member list) and his unmapped @lid stay two accounts.
    assert people[FRANK].groups == ("Quiet Room (left, member)",)
    assert people["lid:190000000000006"].messages_seen == 1  # "hi"; the notice of leaving apart
