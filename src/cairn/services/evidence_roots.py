"""Which server folders each agency may name as evidence (`--evidence-root AGENCY=PATH`).

A token must not turn into a way of reading any file the server's account can read, nor into a
way of reading another agency's exhibits: each agency is given its own folders, and a source is
accepted only when it opens beneath one of them without a symlink in any component. Every
refusal (missing, outside the roots, another agency's, through a symlink, unreadable) carries
one fixed message, so that an answer never tells which paths exist.

A bare PATH (no `AGENCY=`) is bound to the workspace's only agency, and refused when there are
several: guessing would give every agency every exhibit. Roots of different agencies may not
nest, or one agency would reach into the other's. The roots are resolved once, at start; a
symlink met in one later was put there since, and is refused.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cairn.core.errors import UsageError
from cairn.evidence.beneath import open_beneath, open_nofollow

SOURCE_REFUSED = "no such file or folder under your agency's evidence roots"


class SourceRefused(UsageError):
    """A source that is not beneath the caller's agency's roots, for whatever reason."""

    def __init__(self) -> None:
        super().__init__(SOURCE_REFUSED)


@dataclass(frozen=True)
class EvidenceRoot:
    agency: str  # the agency's code
    path: Path  # resolved when the server started


@dataclass(frozen=True)
class EvidenceRoots:
    roots: tuple[EvidenceRoot, ...] = ()

    def of(self, agency: str | None) -> tuple[Path, ...]:
        return tuple(root.path for root in self.roots if root.agency == agency)

    def describe(self) -> str:
        """One line for the server's log: who may read from where."""
        if not self.roots:
            return "no evidence roots: the API registers and ingests no evidence"
        return "evidence roots: " + ", ".join(f"{r.agency}={r.path}" for r in self.roots)


def locate(roots: Sequence[Path], source: str) -> Path:
    """`source` as a path beneath one of `roots`, checked by opening it there without following
    symlinks; SourceRefused otherwise. The path is normalised (`..` removed), never resolved:
    resolving would follow the very symlinks that must be refused."""
    if "\0" in source or not source.startswith("/"):
        raise SourceRefused
    path = Path(os.path.normpath(source))
    for root in roots:
        if not path.is_relative_to(root):
            continue
        try:
            top = open_nofollow(os.fsencode(root), os.O_PATH | os.O_DIRECTORY)
            try:
                os.close(open_beneath(top, os.fsencode(path.relative_to(root)), os.O_PATH))
            finally:
                os.close(top)
        except OSError:
            continue
        return path
    raise SourceRefused


def _nested(a: Path, b: Path) -> bool:
    return a.is_relative_to(b) or b.is_relative_to(a)


def bind(specs: Sequence[str], agencies: Sequence[str]) -> EvidenceRoots:
    """The roots of `--evidence-root AGENCY=PATH` options (a bare PATH: the only agency's).

    A path holding '=' before any '/' must be given with its agency."""
    roots: list[EvidenceRoot] = []
    for spec in specs:
        code, sep, path = spec.partition("=")
        if not sep or "/" in code:
            if len(agencies) != 1:
                raise UsageError(
                    f"--evidence-root {spec}: name its agency (AGENCY=PATH); the workspace has "
                    f"{len(agencies)} agencies"
                )
            code, path = agencies[0], spec
        elif code not in agencies:
            raise UsageError(f"--evidence-root {spec}: no agency {code!r}")
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise UsageError(f"--evidence-root {spec}: no such folder")
        root = EvidenceRoot(code, folder.resolve())
        for other in roots:
            if other.agency != code and _nested(other.path, root.path):
                raise UsageError(
                    f"--evidence-root {spec}: nests with {other.agency}={other.path}; "
                    "agencies' roots must be apart"
                )
        roots.append(root)
    return EvidenceRoots(tuple(roots))
