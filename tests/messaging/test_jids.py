"""Keys that merge one person across phones: E.164 numbers, JIDs, export names."""

from __future__ import annotations

import pytest

from cairn.messaging.base import Account
from cairn.messaging.jids import (
    account_for,
    account_for_jid,
    account_for_name,
    clean,
    e164,
    is_group_jid,
    split_jid,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+44 7700 900123", "+447700900123"),
        ("447700900123", "+447700900123"),  # a JID's user part: digits without the plus
        ("\u202a+1 202-555-0142\u202c", "+12025550142"),  # directional marks from exports
        ("+1 (202) 555-0199", "+12025550199"),
        ("+44 12", None),  # too short to be a number anywhere
        ("Alice", None),
        ("", None),
    ],
)
def test_e164(text: str, expected: str | None) -> None:
    assert e164(text) == expected


def test_jids() -> None:
    assert split_jid("447700900123:12@s.whatsapp.net") == ("447700900123", "s.whatsapp.net")
    assert account_for_jid("447700900123@s.whatsapp.net") == Account(
        "+447700900123", "+447700900123", jid="447700900123@s.whatsapp.net"
    )
    assert account_for_jid("12025550142@c.us").key == "+12025550142"  # the old server name
    assert account_for("190000000000004", "lid") == Account(
        "lid:190000000000004", lid="190000000000004@lid"
    )
    assert account_for_jid("status@broadcast") == Account(
        "jid:status@broadcast", jid="status@broadcast"
    )
    assert is_group_jid("120363000000000011@g.us")
    assert not is_group_jid("447700900123@s.whatsapp.net")


def test_names_from_exports_are_scoped_to_the_phone_unless_they_are_numbers() -> None:
    assert account_for_name("phone-A", "Ana") == Account("name:phone-A:Ana", display_name="Ana")
    assert account_for_name("phone-A", "\u202a+44 7700 900123\u202c") == Account(
        "+447700900123", "+447700900123"
    )
    assert clean("\u200e\u202aAna\u202c ") == "Ana"
