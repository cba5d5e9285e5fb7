"""The hash-set formats Cairn reads: adding one is adding a module and a line in FORMATS."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from cairn.core.errors import UsageError
from cairn.hashsets.base import HashSetFormat
from cairn.hashsets.icse import IcseCsvFormat
from cairn.hashsets.nsrl import NsrlFormat
from cairn.hashsets.plain import PlainFormat
from cairn.hashsets.vics.reader import VicsFormat

FORMATS: Final[tuple[type[HashSetFormat], ...]] = (
    VicsFormat,
    IcseCsvFormat,
    NsrlFormat,
    PlainFormat,
)
HEAD_BYTES: Final = 64 * 1024  # what probes see: enough for any header line


def by_name(name: str) -> type[HashSetFormat]:
    """The format a `--format` value names."""
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    known = ", ".join(fmt.name for fmt in FORMATS)
    raise UsageError(f"unknown hash-set format {name!r}: expected auto or one of {known}")


def detect(path: Path) -> type[HashSetFormat]:
    """`--format auto`: the one format whose probe claims the file.

    Specific formats are asked first; a generic one (plain lists) only when none of them claims
    the file. Two claims at the same level are ambiguous, and Cairn asks rather than guesses.
    """
    try:
        with path.open("rb") as file:
            head = file.read(HEAD_BYTES)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    for generic in (False, True):
        claims = [f for f in FORMATS if f.generic is generic and f.probe(head, path.name)]
        if len(claims) > 1:
            names = " or ".join(fmt.name for fmt in claims)
            raise UsageError(f"{path.name} could be {names}: pass --format")
        if claims:
            return claims[0]
    known = ", ".join(fmt.name for fmt in FORMATS)
    raise UsageError(f"cannot tell the hash-set format of {path.name}: pass --format ({known})")
