"""Binding `--evidence-root` options to agencies, and locating a source beneath them."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.core.errors import UsageError
from cairn.services.evidence_roots import (
    SOURCE_REFUSED,
    EvidenceRoot,
    EvidenceRoots,
    SourceRefused,
    bind,
    locate,
)


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    made = {name: tmp_path / name for name in ("aa", "bb", "aa/inner")}
    for folder in made.values():
        folder.mkdir(parents=True, exist_ok=True)
    return made


def test_roots_are_bound_per_agency_and_described(folders: dict[str, Path]) -> None:
    roots = bind([f"AA-1={folders['aa']}", f"BB-2={folders['bb']}"], ["AA-1", "BB-2"])
    assert roots.of("AA-1") == (folders["aa"],)
    assert roots.of("BB-2") == (folders["bb"],)
    assert roots.of("CC-3") == ()
    assert roots.describe() == f"evidence roots: AA-1={folders['aa']}, BB-2={folders['bb']}"
    assert EvidenceRoots().describe().startswith("no evidence roots")


def test_a_bare_path_is_the_only_agencys(folders: dict[str, Path]) -> None:
    roots = bind([str(folders["aa"])], ["AA-1"])
    assert roots.roots == (EvidenceRoot("AA-1", folders["aa"]),)


@pytest.mark.parametrize(
    ("specs", "agencies", "message"),
    [
        (["{aa}"], ["AA-1", "BB-2"], "name its agency (AGENCY=PATH); the workspace has 2"),
        (["{aa}"], [], "the workspace has 0 agencies"),
        (["ZZ-9={aa}"], ["AA-1"], "no agency 'ZZ-9'"),
        (["AA-1={aa}/missing"], ["AA-1"], "no such folder"),
        (["AA-1={aa}", "BB-2={aa}/inner"], ["AA-1", "BB-2"], "nests with AA-1="),
        (["AA-1={aa}/inner", "BB-2={aa}"], ["AA-1", "BB-2"], "nests with AA-1="),
    ],
)
def test_bad_roots_are_refused_at_start(
    folders: dict[str, Path], specs: list[str], agencies: list[str], message: str
) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        bind([s.format(aa=folders["aa"]) for s in specs], agencies)


def test_one_agency_may_have_nested_roots(folders: dict[str, Path]) -> None:
    roots = bind([f"AA-1={folders['aa']}", f"AA-1={folders['aa/inner']}"], ["AA-1"])
    assert roots.of("AA-1") == (folders["aa"], folders["aa/inner"])


def test_a_root_given_through_a_symlink_is_resolved(
    tmp_path: Path, folders: dict[str, Path]
) -> None:
    (tmp_path / "via").symlink_to(folders["aa"])
    assert bind([f"AA-1={tmp_path / 'via'}"], ["AA-1"]).of("AA-1") == (folders["aa"],)


def test_locate(tmp_path: Path, folders: dict[str, Path]) -> None:
    (folders["aa"] / "device").mkdir()
    (folders["aa"] / "link").symlink_to(folders["aa"] / "device")
    roots = (folders["aa"],)
    assert locate(roots, f"{folders['aa']}/./device/") == folders["aa"] / "device"
    assert locate(roots, str(folders["aa"])) == folders["aa"]
    for refused in (
        str(folders["aa"] / "link"),  # even to a folder inside: a symlink is never followed
        str(folders["aa"] / "missing"),
        str(folders["bb"]),
        f"{folders['aa']}/../bb",
        "device",
        f"{folders['aa']}/device\0",
    ):
        with pytest.raises(SourceRefused) as raised:
            locate(roots, refused)
        assert str(raised.value) == SOURCE_REFUSED
