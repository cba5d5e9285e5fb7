"""Grading: votes as records, stacks, retraction, k-of-n agreement, and grades counting as
known in the agency's later cases (and every agency's, through a shared series)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from cairn.core.errors import NotFoundError, PermissionDeniedError, UsageError
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.services import grading
from cairn.services.cases import create_case, get_case
from cairn.services.context import Context
from cairn.services.identity import Principal, actor_for
from cairn.services.ingest import ingest
from cairn.services.items import resolve_items
from cairn.services.series import add_media, create_series, update_series
from cairn.services.triage import review_queue, triage_report
from cairn.store.grade_models import Grade
from cairn.store.models import AuditEvent


def _device(root: Path, name: str, seeds: dict[str, int], quality: int = 90) -> Path:
    device = root / name
    device.mkdir()
    for file_name, seed in seeds.items():
        (device / file_name).write_bytes(
            jpeg_bytes(synthetic_image(seed, 160, 120), quality=quality)
        )
    return device


def _sha(ctx: Context, case: str, path: str) -> str:
    with ctx.db.session() as session:
        (sha,) = resolve_items(session, get_case(session, case), [path])
    return sha


@pytest.fixture
def case(db_ctx: Context, tmp_path: Path) -> str:
    create_case(db_ctx, "C-1")
    device = _device(tmp_path, "phone", {"a.jpg": 1, "b.jpg": 2, "c.jpg": 3})
    # a near-duplicate of a.jpg: the same picture saved at a lower quality
    (device / "a-small.jpg").write_bytes(jpeg_bytes(synthetic_image(1, 160, 120), quality=60))
    ingest(db_ctx, "C-1", device, workers=0)
    return "C-1"


def test_votes_are_records_and_a_new_vote_replaces_the_reviewers_own(
    db_ctx: Context, case: str
) -> None:
    a = _sha(db_ctx, case, "phone:a.jpg")
    votes = grading.grade(db_ctx, None, case, "vics:1", ["phone:a.jpg"])
    assert [(v.sha256, v.category, v.by, v.via) for v in votes] == [
        (a, "vics:1", db_ctx.actor.user, None)
    ]
    grading.grade(db_ctx, None, case, "vics:2", [a.upper()])  # the same reviewer changes it
    listed = grading.list_grades(db_ctx, None, case)
    assert [(v.sha256, v.category) for v in listed] == [(a, "vics:2")]
    with db_ctx.db.session() as session:
        rows = session.scalars(select(Grade).order_by(Grade.id)).all()
        assert [(g.scheme, g.code, g.retracted_at is not None) for g in rows] == [
            ("vics", "1", True),
            ("vics", "2", False),
        ]
    assert grading.retract(db_ctx, None, case, [a]) == 1
    assert grading.list_grades(db_ctx, None, case) == []
    with db_ctx.db.session() as session:
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.like("grade%"))
            .order_by(AuditEvent.id)
        ).all()
    assert actions == ["grade", "grade", "grade.retract"]


@pytest.mark.parametrize(
    ("category", "message"),
    [
        ("1", "write scheme:code"),
        ("vics:", "names no code"),
        ("vics:7", "not a vics code"),
        ("nope:1", "unknown category scheme"),
    ],
)
def test_categories_have_a_scheme_and_a_code(
    db_ctx: Context, case: str, category: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        grading.grade(db_ctx, None, case, category, ["phone:a.jpg"])


def test_unknown_items_are_not_found(db_ctx: Context, case: str) -> None:
    for item in ("f" * 64, "phone:missing.jpg", "nowhere:a.jpg"):
        with pytest.raises(NotFoundError):
            grading.grade(db_ctx, None, case, "vics:1", [item])
    assert grading.list_grades(db_ctx, None, case) == []


def test_one_vote_grades_a_stack_of_near_duplicates(db_ctx: Context, case: str) -> None:
    a, small = _sha(db_ctx, case, "phone:a.jpg"), _sha(db_ctx, case, "phone:a-small.jpg")
    stacked = {g.lead.sha256: {d.sha256 for d in g.duplicates} for g in review_queue(db_ctx, case)}
    assert {a, small} in [{lead, *dups} for lead, dups in stacked.items()]
    votes = grading.grade(db_ctx, None, case, "caid:b", ["phone:a.jpg"], stack=True)
    assert sorted((v.sha256, v.category, v.via) for v in votes) == sorted(
        [(a, "caid:B", a), (small, "caid:B", a)]
    )
    assert grading.retract(db_ctx, None, case, [small], stack=True) == 2


def test_k_of_n_agreement_and_disagreements(db_ctx: Context, case: str) -> None:
    a, b = _sha(db_ctx, case, "phone:a.jpg"), _sha(db_ctx, case, "phone:b.jpg")
    reviewers = [
        Context(db_ctx.workspace, db_ctx.db, db_ctx.actor.__class__(name, "test-host"))
        for name in ("ann", "bob", "cem")
    ]
    for reviewer, (cat_a, cat_b) in zip(
        reviewers, [("vics:1", "vics:1"), ("vics:1", "vics:2"), ("vics:1", "vics:1")], strict=True
    ):
        grading.grade(reviewer, None, case, cat_a, [a])
        grading.grade(reviewer, None, case, cat_b, [b])
    found = grading.agreement(db_ctx, None, case)
    assert (found.votes_required, found.graded, found.standing, found.voted_twice) == (1, 2, 2, 2)
    assert found.agreement_rate == 0.5
    assert [(d.sha256, d.votes) for d in found.disagreements] == [(b, {"vics:1": 2, "vics:2": 1})]
    grading.set_votes_required(db_ctx, None, 3)
    found = grading.agreement(db_ctx, None, case)
    assert (found.votes_required, found.standing) == (3, 1)  # b has two agreeing votes only
    with pytest.raises(UsageError):
        grading.set_votes_required(db_ctx, None, 0)


def test_grades_count_as_known_in_the_agencys_later_cases_only(
    db_ctx: Context, tmp_path: Path, people: dict[str, Principal]
) -> None:
    nl, be = people["victim-id@NL-NP"], people["victim-id@BE-FP"]
    ids = {p.agency_code: p.agency_id for p in (nl, be)}
    seeds = {"a.jpg": 1, "b.jpg": 2, "i.jpg": 4}
    for ref, code in (("NL-1", "NL-NP"), ("NL-2", "NL-NP"), ("BE-1", "BE-FP")):
        create_case(db_ctx, ref, agency_id=ids[code])
        ingest(db_ctx, ref, _device(tmp_path, ref, seeds), workers=0)
    as_nl = Context(db_ctx.workspace, db_ctx.db, actor_for(nl, "test"))
    grading.grade(as_nl, nl, "NL-1", "vics:1", ["NL-1:a.jpg"])
    grading.grade(as_nl, nl, "NL-1", "ignorable", ["NL-1:i.jpg"])
    with pytest.raises(NotFoundError):  # another agency's case is as missing as none
        grading.grade(as_nl, nl, "BE-1", "vics:1", ["BE-1:a.jpg"])
    with pytest.raises(PermissionDeniedError):
        grading.grade(db_ctx, people["auditor@NL-NP"], "NL-1", "vics:1", ["NL-1:b.jpg"])
    totals = {ref: triage_report(db_ctx, ref).totals for ref in ("NL-1", "NL-2", "BE-1")}
    assert (totals["NL-1"]["known"], totals["NL-1"]["new"]) == (0, 3)  # its own grades: reviewed
    assert (totals["NL-2"]["known"], totals["NL-2"]["known-ignorable"]) == (1, 1)
    assert totals["BE-1"]["new"] == 3
    with pytest.raises(NotFoundError):
        grading.list_grades(db_ctx, be, "NL-1")
    assert grading.list_grades(db_ctx, nl, "NL-1")[0].by == "victim-id.nl-np"
    # Filed in a series of NL: known to BE only once the series is shared.
    series = create_series(as_nl, nl, "bridge")
    add_media(as_nl, nl, series.id, "NL-1", ["NL-1:a.jpg"])
    assert triage_report(db_ctx, "BE-1").totals["known"] == 0
    update_series(as_nl, nl, series.id, shared=True)
    assert triage_report(db_ctx, "BE-1").totals["known"] == 1
