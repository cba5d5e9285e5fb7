"""Tables at 80 columns: a table when it fits, else each row stacked; no header or value cut."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from cairn.cli import output
from cairn.media.synthetic import jpeg_bytes, synthetic_image

RunCli = Callable[..., tuple[int, str, str]]  # the fixtures of tests/conftest.py
STATUS = [
    "evidence",
    "kind",
    "enumerated",
    "hashed",
    "errored",
    "non-regular",
    "with errors",
    "unique media",
    "bytes",
    "last run",
]
ROWS = [
    ("device", "directory", 80, 80, 0, 0, 0, 40, "1,234,567", "2026-12-06 09:10:11.123+00:00"),
    ("[/x] phone", "zip", 1, 1, 0, 0, 0, 1, "12", None),
]


def _printed(monkeypatch: pytest.MonkeyPatch, width: int, rows: list[tuple[object, ...]]) -> str:
    monkeypatch.setattr(output, "console", Console(width=width, file=io.StringIO()))
    output.print_table("Status of C-1", STATUS, rows)
    file = output.console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def _lines_fit(text: str, width: int) -> bool:
    return all(len(line) <= width for line in text.splitlines())


def test_a_wide_table_is_stacked_at_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _printed(monkeypatch, 80, ROWS)
    assert _lines_fit(out, 80) and "…" not in out
    lines = [line.strip() for line in out.splitlines()]
    assert "enumerated     80" in lines and "last run       2026-12-06 09:10:11.123+00:00" in lines
    assert "evidence       [/x] phone" in lines  # seized text shown literally, never as markup
    assert [line.split("  ")[0] for line in lines if line.startswith("with")] == ["with errors"] * 2


def test_a_table_that_fits_stays_a_table(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _printed(monkeypatch, 200, ROWS)
    assert _lines_fit(out, 200) and "…" not in out
    header = next(line for line in out.splitlines() if "evidence" in line)
    assert [cell.strip() for cell in header.strip("┃").split("┃")] == STATUS
    assert "[/x] phone" in out


def test_an_empty_listing_too_wide_for_the_terminal_says_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _printed(monkeypatch, 80, []) == "Status of C-1: none\n"


@pytest.fixture
def scene(tmp_path: Path, run_cli: RunCli) -> RunCli:
    """A case with a folder ingested and matched against a hash set holding one of its files."""
    folder = tmp_path / "device"
    folder.mkdir()
    photo = jpeg_bytes(synthetic_image(5, 320, 240))
    (folder / "photo.jpg").write_bytes(photo)
    (folder / "notes.txt").write_text("benign\n")
    known = tmp_path / "known.txt"
    known.write_text(hashlib.md5(photo).hexdigest() + "\n")
    for args in (
        ("case", "create", "C-1", "--title", "A case"),
        ("hashset", "import", known, "--name", "known", "--format", "plain"),
        ("ingest", "--case", "C-1", folder, "--workers", "0"),
    ):
        code, _, err = run_cli(*args)
        assert code == 0, err
    return run_cli


@pytest.mark.parametrize(
    ("command", "headers", "values"),
    [
        (("status", "--case", "C-1"), STATUS, ["device", "directory"]),
        (("case", "list"), ["ref", "title", "created", "by", "evidence", "entries"], ["A case"]),
        (
            ("evidence", "list", "--case", "C-1"),
            ["label", "kind", "source", "custodian", "seized", "hash"],
            ["device", "directory"],
        ),
        (
            ("hashset", "list"),
            ["name", "kind", "format", "entries", "bad", "PDQ ≤", "sha256", "imported", "shared"],
            ["known", "illegal", "plain"],
        ),
        (("triage", "--case", "C-1"), ["evidence", "bucket", "items"], ["device", "known"]),
        (
            ("audit", "list"),
            ["id", "at", "user", "agency", "origin", "action", "case", "details"],
            ["case.create", "hashset.import"],
        ),
    ],
)
def test_listings_are_whole_at_80_columns(
    scene: RunCli, command: tuple[str, ...], headers: list[str], values: list[str]
) -> None:
    code, out, err = scene(*command, env={"COLUMNS": "80"})
    assert code == 0, err
    assert _lines_fit(out, 80)
    words = out.split()
    for text in [*headers, *values]:  # a header may wrap at its space in a table
        assert all(word in words for word in text.split()), (text, out)
    # Nothing is cut short; only the hash-set list abridges its digests on purpose.
    assert all(re.fullmatch(r"[0-9a-f]{16}…", cut) for cut in re.findall(r"\S*…", out)), out


@pytest.mark.parametrize(
    "command",
    [
        ("status", "--case", "C-1"),
        ("case", "list"),
        ("hashset", "list"),
        ("triage", "--case", "C-1"),
    ],
)
def test_json_is_the_same_at_any_width(scene: RunCli, command: tuple[str, ...]) -> None:
    narrow = scene(*command, "--json", env={"COLUMNS": "80"})
    wide = scene(*command, "--json", env={"COLUMNS": "200"})
    assert narrow[0] == wide[0] == 0 and json.loads(narrow[1]) == json.loads(wide[1])
