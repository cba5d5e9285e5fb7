"""`cairn status` counts the entries whose digests rest on a guess."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.evidence.diskimage.builders import CASE, NOTES, make_fat, make_fragmented_fat
from tests.evidence.diskimage.readback import run_ingest

from cairn.services.context import Context
from cairn.services.status import case_status

RunCli = Callable[..., tuple[int, str, str]]  # the fixtures of tests/conftest.py
NOTE = (
    "guessed.dd: 4 entries read on the guess that a deleted file's clusters were contiguous "
    "(flag assumed-contiguous): their digests are wrong if the file was fragmented"
)


def ingest_both(ctx: Context, tmp_path: Path) -> None:
    assert run_ingest(ctx, make_fragmented_fat(tmp_path / "guessed.dd")).exit_code == 0
    plain = make_fat(tmp_path / "plain.dd", {"A.TXT": NOTES * 10, "B.TXT": NOTES}, ["B.TXT"])
    assert run_ingest(ctx, plain).exit_code == 0


def test_status_counts_entries_read_on_a_contiguity_guess(db_ctx: Context, tmp_path: Path) -> None:
    ingest_both(db_ctx, tmp_path)
    # THREE.BIN, TWO.BIN, ARCHIVE.ZIP and its member; B.TXT fits in one cluster.
    assert {s.label: s.assumed_contiguous for s in case_status(db_ctx, CASE)} == {
        "guessed.dd": 4,
        "plain.dd": 0,
    }


def test_the_status_command_says_which_digests_are_guesses(
    ctx: Context, tmp_path: Path, run_cli: RunCli
) -> None:
    ingest_both(ctx, tmp_path)
    code, out, err = run_cli("status", "--case", CASE)
    assert code == 0, err
    assert [line for line in out.splitlines() if "assumed-contiguous" in line] == [NOTE]
    code, out, err = run_cli("status", "--case", CASE, "--json")
    assert code == 0, err
    assert [item["assumed_contiguous"] for item in json.loads(out)] == [4, 0]
