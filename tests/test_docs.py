"""The documentation lives with the code: every document the code or the docs point at is in
the repository, and every link between documents lands on a file and heading that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# A document named in code: `docs/formats.md`, `README.md`, `CONTRIBUTING.md`, ...
MENTION = re.compile(r"(?<![\w/.-])((?:docs/)?[A-Za-z_][\w-]*\.md)\b")
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)


def _code_files() -> list[Path]:
    files = [p for d in ("src", "tests", "bench") for p in (REPO / d).rglob("*.py")]
    return sorted([*files, REPO / "scripts" / "setup"])


def _documents() -> list[Path]:
    return sorted([REPO / "README.md", REPO / "CONTRIBUTING.md", *(REPO / "docs").glob("*.md")])


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(document: Path) -> set[str]:
    return {_anchor(heading) for heading in HEADING.findall(document.read_text(encoding="utf-8"))}


def test_documents_named_in_code_exist() -> None:
    missing = [
        f"{path.relative_to(REPO)}: {name}"
        for path in _code_files()
        for name in MENTION.findall(path.read_text(encoding="utf-8"))
        if not (REPO / name).is_file()
    ]
    assert missing == []


@pytest.mark.parametrize("document", _documents(), ids=lambda p: str(p.relative_to(REPO)))
def test_links_between_documents_resolve(document: Path) -> None:
    broken = []
    for target in LINK.findall(document.read_text(encoding="utf-8")):
        if "://" in target:
            continue
        file, _, anchor = target.partition("#")
        path = (document.parent / file).resolve() if file else document
        if not path.is_file() or (anchor and anchor not in _anchors(path)):
            broken.append(target)
    assert broken == []


def test_anchor_follows_github() -> None:
    assert _anchor("The hash export (CSV)") == "the-hash-export-csv"
    assert _anchor("One file, from source to bucket") == "one-file-from-source-to-bucket"
    assert _anchor("Sampling — `media/video.py`") == "sampling--mediavideopy"
