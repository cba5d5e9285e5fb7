"""Grading through the API: votes, retraction, agreement, the agency's rule."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.core.types import Role

if TYPE_CHECKING:
    from conftest import World


def test_a_reviewer_grades_lists_and_retracts(world: World) -> None:
    reviewer = world.headers(Role.VICTIM_ID, "AA-1")
    own, common = world.own_photo["AA-1"].sha256, world.common.sha256
    url = "/api/v1/cases/A-1/grades"
    answer = world.client.post(
        url,
        json={"category": "caid:a", "items": [own, "AA-1-device:common.jpg"]},
        headers=reviewer,
    )
    assert answer.status_code == 201, answer.text
    assert sorted((v["sha256"], v["category"], v["by"]) for v in answer.json()) == sorted(
        [(own, "caid:A", "victim-id.aa-1"), (common, "caid:A", "victim-id.aa-1")]
    )
    examiner = world.headers(Role.EXAMINER, "AA-1")
    world.client.post(url, json={"category": "caid:B", "items": [own]}, headers=examiner)
    listed = world.client.get(url, headers=world.headers(Role.AUDITOR, "AA-1")).json()
    assert [set(v) for v in listed] == [{"sha256", "category", "by", "at", "via"}] * 3
    agreement = world.client.get(f"{url}/agreement", headers=reviewer).json()
    assert (agreement["graded"], agreement["voted_twice"], agreement["agreement_rate"]) == (
        2,
        1,
        0.0,
    )
    assert agreement["disagreements"] == [{"sha256": own, "votes": {"caid:A": 1, "caid:B": 1}}]
    retracted = world.client.post(f"{url}/retract", json={"items": [own]}, headers=examiner)
    assert retracted.json() == {"retracted": 1}
    bad = world.client.post(url, json={"category": "2", "items": [own]}, headers=reviewer)
    assert bad.status_code == 422
    theirs = world.own_photo["BB-2"].sha256  # another agency's item is not in this case
    missing = world.client.post(
        url, json={"category": "vics:1", "items": [theirs]}, headers=reviewer
    )
    assert missing.status_code == 404


def test_an_admin_sets_the_agencys_rule(world: World) -> None:
    admin = world.headers(Role.ADMIN, "BB-2")
    answer = world.client.put("/api/v1/grading/policy", json={"votes_required": 3}, headers=admin)
    assert answer.json() == {"votes_required": 3}
    agreement = world.client.get("/api/v1/cases/B-1/grades/agreement", headers=admin).json()
    assert agreement["votes_required"] == 3
    other = world.client.get("/api/v1/cases/A-1/grades/agreement", headers=world.headers()).json()
    assert other["votes_required"] == 1
