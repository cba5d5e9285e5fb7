"""Cases through the API: each agency lists, creates and reads only its own."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cairn.core.types import Role

if TYPE_CHECKING:
    from conftest import World


def _refs(world: World, agency: str) -> list[str]:
    cases = world.client.get("/api/v1/cases", headers=world.headers(agency=agency)).json()
    return [c["ref"] for c in cases]


def test_a_new_case_belongs_to_the_creators_agency_only(world: World) -> None:
    assert (_refs(world, "AA-1"), _refs(world, "BB-2")) == (["A-1"], ["B-1"])
    created = world.client.post(
        "/api/v1/cases",
        json={"ref": "B-2", "title": "second"},
        headers=world.headers(agency="BB-2"),
    )
    assert created.status_code == 201
    assert {k: created.json()[k] for k in ("ref", "title", "evidence", "occurrences")} == {
        "ref": "BB-2:B-2",  # in the agency's namespace
        "title": "second",
        "evidence": 0,
        "occurrences": 0,
    }
    assert created.json()["created_by"] == "examiner.bb-2"
    assert (_refs(world, "AA-1"), _refs(world, "BB-2")) == (["A-1"], ["B-1", "BB-2:B-2"])
    assert world.client.get("/api/v1/cases/BB-2:B-2", headers=world.headers()).status_code == 404


def test_a_name_another_agency_holds_is_no_clue(world: World) -> None:
    """Agency B creating a case named like A's, or A's namespaced name, gets its own case:
    a refusal as "taken" would tell B that A has a case of that name."""
    a, b = world.headers(agency="AA-1"), world.headers(agency="BB-2")
    first = world.client.post("/api/v1/cases", json={"ref": "OP-7"}, headers=a)
    assert first.json()["ref"] == "AA-1:OP-7"
    for name in ("A-1", "OP-7", "AA-1:OP-7"):
        answer = world.client.post("/api/v1/cases", json={"ref": name}, headers=b)
        assert answer.status_code == 201, name
        assert answer.json()["ref"].startswith("BB-2:"), name
    again = world.client.post("/api/v1/cases", json={"ref": "OP-7"}, headers=a)
    assert again.status_code == 422  # only its own agency's names can be taken


def test_case_reads_count_evidence_occurrences_and_media(world: World) -> None:
    headers = world.headers(agency="AA-1")
    case = world.client.get("/api/v1/cases/A-1", headers=headers).json()
    assert (case["evidence"], case["occurrences"]) == (1, 2)
    evidence = world.client.get("/api/v1/cases/A-1/evidence", headers=headers).json()
    assert [(e["label"], e["source_kind"]) for e in evidence] == [("AA-1-device", "directory")]
    media = world.client.get("/api/v1/cases/A-1/media", headers=headers).json()
    assert sorted(m["sha256"] for m in media) == sorted(
        [world.common.sha256, world.own_photo["AA-1"].sha256]
    )
    page = world.client.get("/api/v1/cases/A-1/media?offset=1&limit=1", headers=headers).json()
    assert [m["sha256"] for m in page] == [sorted(m["sha256"] for m in media)[1]]
    triage = world.client.get("/api/v1/cases/A-1/triage", headers=headers).json()
    assert sum(triage["totals"].values()) == 2


@pytest.mark.parametrize(
    "ref", ["", "two words", 'quo"te', "it's", "line\r\nSet-Cookie: x=1", "a/b", "-lead", "x" * 201]
)
def test_case_refs_are_checked_against_a_pattern(world: World, ref: str) -> None:
    answer = world.client.post("/api/v1/cases", json={"ref": ref}, headers=world.headers())
    assert answer.status_code == 422, ref
    assert _refs(world, "AA-1") == ["A-1"]


# What may reach a header, a URL or a file name: a namespaced ref of the pattern.
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")
_FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_FUZZ
@given(ref=st.text(max_size=60))
def test_fuzzed_refs_are_made_safely_or_refused(world: World, ref: str) -> None:
    headers = world.headers()
    answer = world.client.post("/api/v1/cases", json={"ref": ref}, headers=headers)
    assert answer.status_code in (201, 422), (ref, answer.text)
    if answer.status_code == 201:
        made = answer.json()["ref"]
        assert _REF.fullmatch(made), made
        export = world.client.get(f"/api/v1/cases/{made}/export/hashes", headers=headers)
        assert export.headers["content-disposition"] == f'attachment; filename="{made}-hashes.csv"'


@_FUZZ
@given(name=st.text(max_size=120))
def test_fuzzed_user_and_login_names_never_fail_the_server(world: World, name: str) -> None:
    created = world.client.post(
        "/api/v1/users",
        json={"username": name, "role": "examiner", "password": "a long benign pass"},
        headers=world.headers(Role.ADMIN, "BB-2"),
    )
    assert created.status_code in (201, 422), (name, created.text)
    login = world.client.post("/api/v1/auth/token", data={"username": name, "password": "x" * 12})
    assert login.status_code in (401, 422, 429), (name, login.text)


def test_case_report_is_a_download_of_the_callers_case_only(world: World) -> None:
    import io

    from pypdf import PdfReader

    headers = world.headers(agency="BB-2")
    answer = world.client.get("/api/v1/cases/B-1/report", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == 'attachment; filename="cairn-report-B-1.pdf"'
    assert answer.headers["cache-control"] == "no-store, private"
    text = " ".join(PdfReader(io.BytesIO(answer.content)).pages[0].extract_text().split())
    assert "Case report B-1" in text and "title case of BB-2" in text
    page = world.client.get("/api/v1/cases/B-1/report?format=html", headers=headers)
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "Case report B-1" in page.text and "<img" not in page.text
    assert world.own_photo["AA-1"].sha256 not in page.text
    missing = world.client.get("/api/v1/cases/ZZ-9/report", headers=headers)
    other = world.client.get("/api/v1/cases/A-1/report", headers=headers)
    assert (other.status_code, other.content) == (404, missing.content.replace(b"ZZ-9", b"A-1"))
    bad = world.client.get("/api/v1/cases/B-1/report?format=docx", headers=headers)
    assert bad.status_code == 422
