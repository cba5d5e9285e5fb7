"""The review keys: one per category of the agency's scheme, and the keys that move, reveal,
flag and undo. One table, shown on the queue page and read by the page's script, so what is
on screen is what the keys do; `check` refuses a table where two actions share a key.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Hotkey:
    key: str  # KeyboardEvent.key
    label: str  # as shown
    action: str  # grade, grade-page, undo, next, previous, reveal, flag, open, next-page
    text: str
    category: str = ""  # for grade and grade-page: "vics:1", "ignorable"


# VICS (Project VIC): 0 non-pertinent … 4 comparison; "ignorable" is the reviewer's "nothing
# of concern" without a scheme's code (services.grading).
VICS = (
    ("vics:1", "category 1 (child abuse material)"),
    ("vics:2", "category 2 (child exploitative, age difficult)"),
    ("vics:3", "category 3 (CGI, animation)"),
    ("vics:4", "category 4 (comparison)"),
    ("vics:0", "category 0 (non-pertinent)"),
)
SCHEMES = {"vics": VICS}

MOVES = (
    Hotkey("i", "I", "grade", "grade as ignorable", "ignorable"),
    Hotkey("I", "Shift+I", "grade-page", "grade the whole page as ignorable", "ignorable"),
    Hotkey("u", "U", "undo", "undo the last grading"),
    Hotkey("j", "J or →", "next", "next item"),
    Hotkey("ArrowRight", "→", "next", "next item"),
    Hotkey("k", "K or ←", "previous", "previous item"),
    Hotkey("ArrowLeft", "←", "previous", "previous item"),
    Hotkey("r", "R", "reveal", "reveal this item (again: hide it)"),
    Hotkey("v", "V", "flag", "flag as violent (warns the other reviewers)"),
    Hotkey("Enter", "Enter", "open", "open the item's page"),
    Hotkey("n", "N", "next-page", "next page"),
)


def for_scheme(scheme: str = "vics") -> tuple[Hotkey, ...]:
    """The keys of a scheme: its categories on the digits, in its order, then the moves."""
    grades = tuple(
        Hotkey(category.split(":")[1], category.split(":")[1], "grade", f"grade {text}", category)
        for category, text in SCHEMES[scheme]
    )
    keys = grades + MOVES
    check(keys)
    return keys


def check(keys: tuple[Hotkey, ...]) -> None:
    """Two actions on one key would grade by surprise: refuse such a table."""
    seen: dict[str, Hotkey] = {}
    for key in keys:
        other = seen.setdefault(key.key, key)
        if other is not key:
            raise ValueError(f"key {key.key!r} is both {other.text!r} and {key.text!r}")


def shown(keys: tuple[Hotkey, ...]) -> list[Hotkey]:
    """The legend: one line per key, leaving out the arrows listed with their letters."""
    return [k for k in keys if k.key not in ("ArrowRight", "ArrowLeft")]


def as_json(keys: tuple[Hotkey, ...]) -> str:
    """The table for the page's script, safe inside a <script> element."""
    return json.dumps([asdict(k) for k in keys]).replace("<", "\\u003c")
