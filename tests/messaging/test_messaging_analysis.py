"""Clock offsets, first posters, producer and distributor scores: the arithmetic, by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cairn.messaging.analysis import (
    CameraCopy,
    ClockOffset,
    Score,
    Sighting,
    Stamp,
    attribute,
    distributor_scores,
    estimate_offsets,
    infer_owners,
    iso,
    producer_scores,
)

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def stamps(message: str, **devices: float) -> list[Stamp]:
    return [Stamp(message, device.replace("_", "-"), t(s)) for device, s in devices.items()]


def test_offsets_are_medians_chained_from_the_best_connected_phone() -> None:
    observed = [
        # phone-B runs 90 s fast against phone-A (88..93: uncertainty 2.5 s).
        *stamps("m1", phone_A=0, phone_B=88),
        *stamps("m2", phone_A=10, phone_B=100),
        *stamps("m3", phone_A=20, phone_B=113),
        # phone-C runs 30 s slow against phone-A, exactly: uncertainty is the 1 s floor.
        *stamps("m4", phone_A=30, phone_C=0),
        *stamps("m5", phone_A=40, phone_C=10),
        *stamps("m6", phone_A=50, phone_C=20),
        *stamps("m7", phone_A=60, phone_C=30),
        # phone-D is linked to phone-B only: chained through it, uncertainties added.
        *stamps("m8", phone_B=200, phone_D=195),
    ]
    offsets = estimate_offsets(observed, ["phone-A", "phone-B", "phone-C", "phone-D", "phone-E"])
    assert offsets == {
        "phone-A": ClockOffset("phone-A", "phone-A", 0.0, 0.0, 0),
        "phone-B": ClockOffset("phone-B", "phone-A", 90.0, 2.5, 3),
        "phone-C": ClockOffset("phone-C", "phone-A", -30.0, 1.0, 4),
        "phone-D": ClockOffset("phone-D", "phone-A", 85.0, 3.5, 1, "phone-B"),
        "phone-E": ClockOffset("phone-E", "phone-A", 0.0, None, 0),
    }
    assert [offsets[d].describe() for d in sorted(offsets)] == [
        "phone-A: reference clock",
        "phone-B: +90.0 s ± 2.5 s against phone-A (3 shared messages)",
        "phone-C: -30.0 s ± 1.0 s against phone-A (4 shared messages)",
        "phone-D: +85.0 s ± 3.5 s against phone-A via phone-B (1 shared message)",
        "phone-E: clock not corrected (no message shared with phone-A)",
    ]
    assert offsets["phone-B"].note() == "phone-B clock +90.0 s ± 2.5 s against phone-A"
    assert offsets["phone-E"].note() == (
        "phone-E clock not corrected: no message shared with phone-A"
    )
    assert estimate_offsets([], []) == {}


def sighting(
    message: str,
    sha: str,
    device: str,
    sender: str | None,
    at: float | None,
    chat: str = "group:1",
    forwarded: bool | None = False,
    score: int | None = None,
) -> Sighting:
    name = {"group:1": "Harbour Club", "group:2": "Night Owls", "group:3": "Park Run"}[chat]
    return Sighting(
        message, sha, device, sender, chat, name, None if at is None else t(at), forwarded, score
    )


OFFSETS = {
    "phone-A": ClockOffset("phone-A", "phone-A", 0.0, 0.0, 0),
    "phone-B": ClockOffset("phone-B", "phone-A", 90.0, 2.5, 5),
    "phone-X": ClockOffset("phone-X", "phone-A", 0.0, None, 0),
}
X, Z = "aa" * 32, "bb" * 32


def test_first_posting_is_decided_on_corrected_times() -> None:
    """Raw stamps put Erin first (2060 s < 2090 s); corrected, Bob posted 60 s earlier."""
    items = attribute(
        [
            sighting("z4", Z, "phone-B", "+bob", 2090, "group:3"),
            sighting("z2", Z, "phone-A", "+erin", 2060, "group:2"),
            sighting("x0", X, "phone-A", "+dan", 0),
            sighting("x0", X, "phone-B", "+dan", 90),  # the same message on two phones
            sighting("x9", X, "phone-X", "+fay", 1, "group:2", forwarded=True),
        ],
        OFFSETS,
    )
    x, z = items
    assert z.first.sender == "+bob" and z.first.at == t(2000) and z.first.recorded_at == t(2090)
    assert z.later[0].sender == "+erin" and z.gap == 60.0 and z.established
    assert z.claim() == (
        "first posted by +bob in 'Park Run' at 2024-05-01T08:33:20Z "
        "(phone-B clock +90.0 s ± 2.5 s against phone-A)"
    )
    # One posting seen on two phones, its time read from the reference clock.
    assert x.first.devices == ("phone-A", "phone-B") and x.first.device == "phone-A"
    # The next posting comes from an uncorrected clock: the order cannot be established.
    assert x.gap == 1.0 and not x.established and x.forwards == 1
    assert x.claim() == (
        "first posted by +dan in 'Harbour Club' at 2024-05-01T08:00:00Z (phone-A reference "
        "clock); order against the next posting within clock uncertainty"
    )


def test_producer_scores_list_every_point() -> None:
    items = attribute(
        [
            sighting("p1", "cc" * 32, "phone-A", "+alice", 1200, "group:2"),
            sighting("x0", X, "phone-A", "+dan", 0),
            sighting("w2", "dd" * 32, "phone-A", "+erin", 2400, "group:2", True, 5),
            sighting("x3", X, "phone-B", "+bob", 690, "group:3", True, 1),
        ],
        OFFSETS,
    )
    known = {X: ["test-known (illegal; sha256)"]}
    cameras = {"cc" * 32: [CameraCopy("phone-A", "DCIM/IMG_1.jpg", "Make", "Model")]}
    scores = producer_scores(items, known, cameras, {"phone-A": "+alice"})
    assert scores == [
        Score(
            "+alice",
            4,
            1,
            (
                "cccccccccccc: first posted in 'Night Owls' at 2024-05-01T08:20:00Z (phone-A "
                "reference clock), not forwarded: +1",
                "cccccccccccc: in no hash set (new material): +1",
                "cccccccccccc: camera original on own phone phone-A:DCIM/IMG_1.jpg (EXIF Make "
                "Model): +2",
            ),
        ),
        Score(
            "+dan",
            1,
            2,
            (
                "aaaaaaaaaaaa: first posted in 'Harbour Club' at 2024-05-01T08:00:00Z (phone-A "
                "reference clock), not forwarded: +1",
                "aaaaaaaaaaaa: known in hash set test-known (illegal; sha256): +0",
            ),
        ),
    ]
    # Erin posted W first, but as a forward: she is listed with no points, so not ranked.
    assert "+erin" not in {s.person for s in scores}
    # The same photo on someone else's phone is not their camera original.
    assert producer_scores(items, known, cameras, {"phone-A": "+bob"})[0].points == 2


def test_distributor_scores_count_forwards_and_groups() -> None:
    items = attribute(
        [
            sighting("x0", X, "phone-A", "+dan", 0),
            sighting("x3", X, "phone-B", "+bob", 690, "group:3", True, 1),
            sighting("x2", X, "phone-A", "+carol", 900, "group:2", True),
            sighting("z4", Z, "phone-B", "+bob", 2090, "group:3"),
        ],
        OFFSETS,
    )
    assert distributor_scores(items) == [
        Score(
            "+bob",
            2,
            1,
            (
                "aaaaaaaaaaaa: forwarded to 'Park Run' at 2024-05-01T08:10:00Z (phone-B clock "
                "+90.0 s ± 2.5 s against phone-A, forward score 1): +1",
                "posted media in 1 group ('Park Run'): +1",
            ),
        ),
        Score(
            "+carol",
            2,
            2,
            (
                "aaaaaaaaaaaa: forwarded to 'Night Owls' at 2024-05-01T08:15:00Z (phone-A "
                "reference clock): +1",
                "posted media in 1 group ('Night Owls'): +1",
            ),
        ),
        Score("+dan", 1, 3, ("posted media in 1 group ('Harbour Club'): +1",)),
    ]


def test_owners_are_inferred_by_majority() -> None:
    assert infer_owners(
        [("phone-B", "+bob"), ("phone-B", "+bob"), ("phone-B", "+eve"), ("phone-C", "+carol")]
    ) == {
        "phone-B": ("+bob", 2, 3),
        "phone-C": ("+carol", 1, 1),
    }


def test_times_print_as_utc() -> None:
    assert iso(None) == "unknown time"
    assert iso(t(0.25)) == "2024-05-01T08:00:00.25Z"
    assert attribute([], OFFSETS) == []
