"""Series: own agency's and shared ones visible, only the owner changes them, all audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from cairn.core.errors import NotFoundError, PermissionDeniedError, UsageError
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.identity import (
    Principal,
    actor_for,
)
from cairn.services.ingest import ingest
from cairn.services.series import (
    add_media,
    create_series,
    list_series,
    merge_series,
    remove_media,
    set_status,
    show_series,
    split_series,
    update_series,
)
from cairn.store.models import AuditEvent


def test_series_are_shared_read_everywhere_and_changed_only_by_their_agency(
    db_ctx: Context, people: dict[str, Principal]
) -> None:
    nl, be = people["victim-id@NL-NP"], people["victim-id@BE-FP"]
    as_nl, as_be = (Context(db_ctx.workspace, db_ctx.db, actor_for(p, "test")) for p in (nl, be))
    tulip = create_series(as_nl, nl, "tulip", notes="garden clues")
    iris = create_series(as_be, be, "iris", shared=True)
    create_series(as_be, be, "fern")
    create_series(as_nl, nl, "iris")  # names are unique per agency only
    with pytest.raises(UsageError, match="already exists"):
        create_series(as_nl, nl, "tulip")
    assert [(s.name, s.agency) for s in list_series(db_ctx, nl)] == [
        ("iris", "BE-FP"),
        ("iris", "NL-NP"),
        ("tulip", "NL-NP"),
    ]
    assert [s.name for s in list_series(db_ctx, people["auditor@BE-FP"])] == ["fern", "iris"]
    updated = update_series(as_be, be, iris.id, victim_identified=True, notes="identified")
    assert (updated.victim_identified, updated.offender_identified, updated.notes) == (
        True,
        None,
        "identified",
    )
    assert update_series(as_be, be, iris.id, victim_identified=None).victim_identified is None
    messages = []
    for series_id in (iris.id, tulip.id + 1000, 2**63):  # shared but BE's; missing; absurd
        with pytest.raises(NotFoundError) as caught:
            update_series(db_ctx, nl, series_id, shared=False)
        messages.append(str(caught.value).replace(str(series_id), "N"))
    assert messages == ["no series N"] * 3
    with pytest.raises(PermissionDeniedError):
        create_series(db_ctx, people["auditor@NL-NP"], "nope")
    with db_ctx.db.session() as session:
        trail = [
            (e.action, e.user, e.details.get("name"))
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.action.like("series.%")).order_by(AuditEvent.id)
            )
        ]
    assert trail[:3] == [
        ("series.create", "victim-id.nl-np", "tulip"),
        ("series.create", "victim-id.be-fp", "iris"),
        ("series.create", "victim-id.be-fp", "fern"),
    ]
    assert [t[0] for t in trail[4:]] == ["series.update", "series.update"]


def _device(root: Path, name: str, seeds: list[int]) -> Path:
    device = root / name
    device.mkdir()
    for seed in seeds:
        (device / f"{seed}.jpg").write_bytes(jpeg_bytes(synthetic_image(seed, 96, 72)))
    return device


def test_members_statuses_merge_split_and_history(db_ctx: Context, tmp_path: Path) -> None:
    create_case(db_ctx, "C-1")
    ingest(db_ctx, "C-1", _device(tmp_path, "phone", [1, 2, 3]), workers=0)
    bridge = create_series(db_ctx, None, "bridge", case_ref="C-1", contact="vid@example.org")
    assert (bridge.agency, bridge.status, bridge.media) == ("local", "unidentified", 0)
    with pytest.raises(UsageError, match="already exists"):
        create_series(db_ctx, None, "bridge", case_ref="C-1")
    added = add_media(db_ctx, None, bridge.id, "C-1", ["phone:1.jpg", "phone:2.jpg"])
    assert added.media == 2
    with pytest.raises(NotFoundError):
        add_media(db_ctx, None, bridge.id, "C-1", ["phone:9.jpg"])
    detail = show_series(db_ctx, None, bridge.id)
    one, two = (m.sha256 for m in detail.media)
    assert [m.case for m in detail.media] == ["C-1", "C-1"]
    assert set_status(db_ctx, None, bridge.id, "identified").status == "identified"
    with pytest.raises(UsageError, match="give the reason"):
        set_status(db_ctx, None, bridge.id, "disseminated")
    with pytest.raises(UsageError, match="one of unidentified"):
        set_status(db_ctx, None, bridge.id, "found")
    back = set_status(db_ctx, None, bridge.id, "disseminated", reason="wrong child")
    assert back.status == "disseminated"
    split = split_series(db_ctx, None, bridge.id, "bridge-2", [two])
    assert (split.name, split.media, split.status) == ("bridge-2", 1, "disseminated")
    with pytest.raises(UsageError, match="not members"):
        split_series(db_ctx, None, bridge.id, "bridge-3", [two])
    merged = merge_series(db_ctx, None, split.id, bridge.id, reason="one event")
    assert merged.media == 2
    assert [s.name for s in list_series(db_ctx, None)] == ["bridge-2"]
    with pytest.raises(NotFoundError):  # merged away: kept for history, changed no more
        add_media(db_ctx, None, bridge.id, "C-1", [one])
    assert remove_media(db_ctx, None, split.id, [one, "0" * 64]).media == 1
    history = [(h.action, h.reason) for h in show_series(db_ctx, None, bridge.id).history]
    assert history == [
        ("create", ""),
        ("add", ""),
        ("status", ""),
        ("status", "wrong child"),
        ("split", ""),
        ("merged", "one event"),
    ]
    status_change = show_series(db_ctx, None, bridge.id).history[3].details
    assert status_change == {"old": "identified", "new": "disseminated", "backwards": True}


def test_another_agencys_series_are_invisible_or_read_only(
    db_ctx: Context, tmp_path: Path, people: dict[str, Principal]
) -> None:
    nl, be = people["victim-id@NL-NP"], people["victim-id@BE-FP"]
    create_case(db_ctx, "NL-1", agency_id=nl.agency_id)
    create_case(db_ctx, "BE-1", agency_id=be.agency_id)
    ingest(db_ctx, "NL-1", _device(tmp_path, "nl", [1, 2]), workers=0)
    ingest(db_ctx, "BE-1", _device(tmp_path, "be", [1, 3]), workers=0)
    shared = create_series(db_ctx, be, "rose", shared=True, contact="vid@be.example")
    private = create_series(db_ctx, be, "thorn")
    add_media(db_ctx, be, shared.id, "BE-1", ["be:1.jpg"])
    mine = create_series(db_ctx, nl, "tulip")
    seen = show_series(db_ctx, nl, shared.id)
    assert (seen.series.agency, seen.series.contact, seen.history) == (
        "BE-FP",
        "vid@be.example",
        [],
    )
    assert [(m.case, m.added_by) for m in seen.media] == [(None, None)]
    refusals = []
    for call in (
        lambda: show_series(db_ctx, nl, private.id),
        lambda: show_series(db_ctx, nl, 10**6),
        lambda: add_media(db_ctx, nl, shared.id, "NL-1", ["nl:1.jpg"]),
        lambda: add_media(db_ctx, nl, mine.id, "BE-1", ["be:1.jpg"]),
        lambda: set_status(db_ctx, nl, shared.id, "identified"),
        lambda: merge_series(db_ctx, nl, mine.id, shared.id),
        lambda: merge_series(db_ctx, nl, mine.id, private.id),
        lambda: split_series(db_ctx, nl, shared.id, "x", ["0" * 64]),
    ):
        with pytest.raises(NotFoundError) as caught:
            call()
        refusals.append(type(caught.value))
    assert len(refusals) == 8
    with pytest.raises(UsageError, match="different agencies"):  # the operator sees both
        merge_series(db_ctx, None, mine.id, shared.id)
