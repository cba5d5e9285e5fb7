"""The case analysis: first posters, later sharings, producer and distributor evidence."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.messaging.analysis import Score
from cairn.messaging.scenario import CAMERA_PATH, PEOPLE
from cairn.services.context import Context
from cairn.services.ingest import ingest
from cairn.services.messaging.discovery import import_from_evidence
from cairn.services.messaging.reports import analyse_case, conversation_lines, summary_lines

if TYPE_CHECKING:
    from conftest import Harbour  # tests/services/messaging/conftest.py

ALICE, BOB, CAROL, DAN, ERIN, FRANK = (p.phone for p in PEOPLE)
REF, B_CLOCK, C_CLOCK = (
    "phone-A reference clock",
    "phone-B clock +90.0 s ± 2.5 s against phone-A",
    "phone-C clock -30.0 s ± 1.0 s against phone-A",
)
DB = "data/data/com.whatsapp/databases"


def test_first_posters_later_sharings_and_links(harbour: Harbour) -> None:
    sha = harbour.sha
    media = {m.sha256: m for m in harbour.analysis.media}
    assert sorted(media) == sorted(sha.values())
    x = media[sha["x"]]
    assert x.claim == (f"first posted by {DAN} in 'Harbour Club' at 2024-05-01T08:00:00Z ({REF})")
    assert (x.first.seen_on, x.forwards, x.order_established) == (("phone-A", "phone-B"), 2, True)
    assert [
        (s.sender, s.chat, s.at, s.device, s.clock, s.forwarded, s.forward_score) for s in x.later
    ] == [
        (BOB, "Park Run", "2024-05-01T08:10:00Z", "phone-C", C_CLOCK, True, 1),
        (CAROL, "Night Owls", "2024-05-01T08:15:00Z", "phone-A", REF, True, 2),
    ]
    # X's file is gone from phone-A (only its message, media row and thumbnail remain), but
    # its hash still links it to phone-B's copy and to the hash set.
    assert x.files == (
        "phone-B:data/media/0/WhatsApp/Media/WhatsApp Images/IMG-20240501-WA0001.jpg",
    )
    assert x.hash_sets == ("test-known (illegal; sha256)",) and x.thumbnail
    z = media[sha["z"]]
    # Only the clock correction puts Bob first: phone-B recorded his posting at 08:34:50.
    assert z.claim == (f"first posted by {BOB} in 'Quiet Room' at 2024-05-01T08:33:20Z ({B_CLOCK})")
    assert z.first.recorded_at == "2024-05-01T08:34:50Z"
    assert [(s.sender, s.at) for s in z.later] == [(ERIN, "2024-05-01T08:34:20Z")]
    d = media[sha["d"]]
    assert (d.first.sender, d.first.recovered, d.first.seen_on, d.files) == (
        ERIN,
        "WAL commit 2 of 3",
        ("phone-A", "phone-C"),
        (),
    )
    p = media[sha["p"]]
    assert p.files == (
        f"phone-A:{CAMERA_PATH}",
        "phone-A:data/media/0/WhatsApp/Media/WhatsApp Images/Sent/IMG-20240501-WA0003.jpg",
    )
    assert (p.mime, p.size) == ("image/jpeg", len(harbour.media.p))


def test_producer_and_distributor_ranks_with_their_evidence(harbour: Harbour) -> None:
    short = harbour.short
    w_first = f"first posted in 'Night Owls' at 2024-05-01T08:40:00Z ({REF})"
    d_first = f"first posted in 'Night Owls' at 2024-05-01T08:45:00Z ({REF})"
    # Lines come item by item, in SHA-256 order: here, sorting them gives that order.
    erin = tuple(
        sorted(
            [
                f"{short['w']}: {w_first}, but marked forwarded: +0",
                f"{short['d']}: {d_first}, not forwarded: +1",
                f"{short['d']}: in no hash set (new material): +1",
            ]
        )
    )
    assert harbour.analysis.producers == [
        Score(
            ALICE,
            4,
            1,
            (
                f"{short['p']}: first posted in 'Night Owls' at 2024-05-01T08:20:00Z ({REF}), "
                "not forwarded: +1",
                f"{short['p']}: in no hash set (new material): +1",
                f"{short['p']}: camera original on own phone phone-A:{CAMERA_PATH} (EXIF CairnDemo "
                "Synthetic One): +2",
            ),
        ),
        Score(
            BOB,
            2,
            2,
            (
                f"{short['z']}: first posted in 'Quiet Room' at 2024-05-01T08:33:20Z ({B_CLOCK}), "
                "not forwarded: +1",
                f"{short['z']}: in no hash set (new material): +1",
            ),
        ),
        Score(ERIN, 2, 3, erin),
        Score(
            DAN,
            1,
            4,
            (
                f"{short['x']}: first posted in 'Harbour Club' at 2024-05-01T08:00:00Z ({REF}), "
                "not forwarded: +1",
                f"{short['x']}: known in hash set test-known (illegal; sha256): +0",
            ),
        ),
    ]
    carol_forwards = sorted(
        [
            f"{short['x']}: forwarded to 'Night Owls' at 2024-05-01T08:15:00Z ({REF}, forward "
            "score 2): +1",
            # Its time from phone-C's clock; its forward score from phone-B (iOS keeps none).
            f"{short['p']}: forwarded to 'Park Run' at 2024-05-01T08:25:00Z ({C_CLOCK}, forward "
            "score 1): +1",
        ]
    )
    assert harbour.analysis.distributors == [
        Score(
            CAROL,
            4,
            1,
            (*carol_forwards, "posted media in 2 groups ('Night Owls', 'Park Run'): +2"),
        ),
        Score(
            BOB,
            3,
            2,
            (
                f"{short['x']}: forwarded to 'Park Run' at 2024-05-01T08:10:00Z ({C_CLOCK}, "
                "forward score 1): +1",
                "posted media in 2 groups ('Park Run', 'Quiet Room'): +2",
            ),
        ),
        Score(
            ERIN,
            2,
            3,
            (
                f"{short['w']}: forwarded to 'Night Owls' at 2024-05-01T08:40:00Z ({REF}, forward "
                "score 5): +1",
                "posted media in 1 group ('Night Owls'): +1",
            ),
        ),
        Score(ALICE, 1, 4, ("posted media in 1 group ('Night Owls'): +1",)),
        Score(DAN, 1, 5, ("posted media in 1 group ('Harbour Club'): +1",)),
    ]


def test_demo_device_with_whatsapp(case: Context, tmp_path: Path) -> None:
    """What `cairn demo` can show: the demo phone's groups, producer and distributor."""
    from cairn.messaging.scenario import demo_whatsapp
    from cairn.services.demo import build_device

    device = build_device(tmp_path / "demo-device")
    demo_whatsapp(device)
    ingest(case, "C", device, workers=0)  # exit code 1: the demo holds a truncated JPEG
    (summary,) = import_from_evidence(case, "C", "demo-device")
    assert (summary.path, summary.counts["messages"]) == (f"{DB}/msgstore.db", 6)
    camera = "DCIM/Camera/IMG_20240512_1030.jpg"
    photo = hashlib.sha256((device / camera).read_bytes()).hexdigest()
    image = device / "WhatsApp/Media/WhatsApp Images/IMG-20240520-WA0001.jpg"
    received = hashlib.sha256(image.read_bytes()).hexdigest()
    assert summary_lines(analyse_case(case, "C")) == [
        # The owner is one person: the phone's own notice names its number.
        "WhatsApp: 2 media items shared in 2 groups, 3 people, 1 phones",
        "phone owner of demo-device: +447700900100 (stated by the phone: the member named in 1 "
        "group notice of the phone's own acts (message_system_chat_participant))",
        f"top producer candidate: +447700900100 (4 points; {photo[:12]}: first posted in "
        "'Demo Walkers' at 2024-05-01T08:00:00Z (demo-device reference clock), not forwarded: "
        "+1); `cairn messaging people --case C` explains it",
        "top distributor: +447700900102 (3 points; "
        f"{photo[:12]}: forwarded to 'Demo Photo Club' at 2024-05-01T08:10:00Z (demo-device "
        "reference clock, forward score 1): +1); `cairn messaging people --case C` explains it",
    ]
    # The demo shows one group's conversation and the location shared in it.
    assert conversation_lines(case, "C", "Demo Walkers") == [
        "conversation in 'Demo Walkers' (`cairn messaging messages --case C --group "
        "'Demo Walkers'`):",
        f"  2024-05-01T08:00:00Z +447700900100: [image {photo[:12]}]",
        f"  2024-05-01T08:05:00Z +447700900103: [image {received[:12]}]",
        "  2024-05-01T08:16:00Z +447700900103: nice walk",
        "  2024-05-01T08:17:00Z +447700900103: [location]",
        "location: +447700900103 shared 51.50740, -0.12780 (Victoria Embankment Gardens) at "
        "2024-05-01T08:17:00Z in 'Demo Walkers'; `cairn export geojson --case C -o "
        "places.geojson` maps it with the photos' GPS",
    ]
