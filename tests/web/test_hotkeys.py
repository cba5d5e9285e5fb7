"""The review keys: every action on its own key, the scheme's categories on the digits."""

from __future__ import annotations

import json

import pytest

from cairn.web import hotkeys


def test_the_vics_keys_collide_nowhere_and_grade_every_category() -> None:
    keys = hotkeys.for_scheme("vics")
    assert len({k.key for k in keys}) == len(keys)
    grades = {k.key: k.category for k in keys if k.action == "grade"}
    assert grades == {
        "0": "vics:0",
        "1": "vics:1",
        "2": "vics:2",
        "3": "vics:3",
        "4": "vics:4",
        "i": "ignorable",
    }
    assert {k.action for k in keys} >= {"grade-page", "undo", "next", "reveal", "flag"}


def test_a_table_with_a_shared_key_is_refused() -> None:
    keys = hotkeys.for_scheme("vics")
    with pytest.raises(ValueError, match="'u'"):
        hotkeys.check((*keys, hotkeys.Hotkey("u", "U", "grade", "grade by surprise", "vics:1")))


def test_the_table_is_safe_inside_a_script_element() -> None:
    text = hotkeys.as_json((hotkeys.Hotkey("<", "</script>", "next", "<b>"),))
    assert "<" not in text
    assert json.loads(text)[0]["label"] == "</script>"
