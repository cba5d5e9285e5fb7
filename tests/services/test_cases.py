"""Cases and evidence items come back as plain frozen records, not rows of the store."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from cairn.core.errors import UsageError
from cairn.services.cases import (
    CaseSummary,
    EvidenceSummary,
    add_evidence,
    create_case,
    list_evidence,
)
from cairn.services.context import Context


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
