"""Cases and evidence items come back as plain frozen records, not rows of the store; case
references follow a pattern, checked at creation whichever way the case is made."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cairn.core.errors import UsageError
from cairn.services.cases import (
    CaseSummary,
    EvidenceSummary,
    add_evidence,
    create_case,
    list_cases,
    list_evidence,
)
from cairn.services.context import Context

if TYPE_CHECKING:
    from conftest import RunCli

BAD_REFS = ["", " ", "two words", 'say "x"', "it's", "a\r\nb", "tab\there", "a/b", "-x", "x" * 201]


def test_a_new_case_is_summarised_with_nothing_in_it(ctx: Context) -> None:
    summary = create_case(ctx, "C-1", "title")
    assert isinstance(summary, CaseSummary)
    assert (summary.ref, summary.title, summary.evidence, summary.occurrences) == (
        "C-1",
        "title",
        0,
        0,
    )
    assert summary.created_by == ctx.actor.user
    with pytest.raises(UsageError, match="already exists"):
        create_case(ctx, "C-1")


def test_evidence_is_returned_as_listed_and_once(ctx: Context, tmp_path: Path) -> None:
    source = tmp_path / "device"
    source.mkdir()
    create_case(ctx, "C-1")
    added, created = add_evidence(
        ctx, "C-1", source, custodian="Ann", timezone="Europe/Paris", acquisition_hash="md5:00"
    )
    assert created
    assert added == EvidenceSummary(
        "device", "directory", str(source), "Ann", None, "Europe/Paris", "md5:00"
    )
    again, created = add_evidence(ctx, "C-1", source)
    assert (again, created) == (added, False)
    assert list_evidence(ctx, "C-1") == [added]
    with pytest.raises(dataclasses.FrozenInstanceError):
        added.label = "other"  # type: ignore[misc]


@pytest.mark.parametrize("ref", BAD_REFS)
def test_refs_outside_the_pattern_are_refused(db_ctx: Context, ref: str) -> None:
    with pytest.raises(UsageError, match="case reference"):
        create_case(db_ctx, ref)
    assert list_cases(db_ctx) == []


def test_refs_of_the_pattern_are_made(db_ctx: Context) -> None:
    refs = ["NL-2026-17", "AA-1:op.7", "x" * 200, "2026_04"]
    for ref in refs:
        create_case(db_ctx, ref)
    assert sorted(c.ref for c in list_cases(db_ctx)) == sorted(refs)


def test_the_cli_refuses_a_bad_ref_with_exit_2(run_cli: RunCli) -> None:
    code, _, err = run_cli("case", "create", "NL 2026\r\n17")
    assert code == 2 and "case reference" in err


def test_a_seizure_time_with_an_offset_is_stored_as_that_instant(
    db_ctx: Context, tmp_path: Path
) -> None:
    source = tmp_path / "device"
    source.mkdir()
    create_case(db_ctx, "C-1")
    seized = datetime.fromisoformat("2026-03-01T09:00:00+14:00")
    add_evidence(db_ctx, "C-1", source, seized_at=seized)
    (listed,) = list_evidence(db_ctx, "C-1")
    assert listed.seized_at is not None
    assert listed.seized_at.removesuffix("+00:00") == "2026-02-28T19:00:00"
