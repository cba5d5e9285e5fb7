"""WhatsApp for Android's settings (shared_prefs): the phone's registered number."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.messaging.android_prefs import AndroidPrefs
from cairn.messaging.base import Account, Artefact, Issue, Owner, Record, Severity
from cairn.messaging.samples import ALICE

SETTINGS = "shared_prefs/com.whatsapp_preferences_light.xml"


def read(path: Path) -> list[Record]:
    return list(AndroidPrefs.read(Artefact(SETTINGS, path, "phone-A")))


def settings(tmp_path: Path, entries: str, name: str = "RegisterPhone.xml") -> Path:
    path = tmp_path / name
    path.write_text(
        f"<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<map>{entries}</map>"
    )
    return path


def test_registration_jid_and_push_name(tmp_path: Path) -> None:
    assert read(AndroidPrefs.example(tmp_path)) == [
        Owner(
            Account(ALICE.phone, ALICE.phone, "447700900001@s.whatsapp.net", push_name="Alice"),
            f"the app's settings ({SETTINGS}: registration_jid)",
        )
    ]


@pytest.mark.parametrize(
    ("entries", "key"),
    [
        (
            '<string name="registration_jid">447700900001@s.whatsapp.net</string>',
            "registration_jid",
        ),
        ('<string name="cc">44</string><string name="ph">7700900001</string>', "cc + ph"),
        (
            '<string name="com.whatsapp.RegisterPhone.country_code">44</string>'
            '<string name="com.whatsapp.RegisterPhone.phone_number">7700900001</string>',
            "com.whatsapp.RegisterPhone.country_code + com.whatsapp.RegisterPhone.phone_number",
        ),
    ],
)
def test_the_ways_the_number_is_spelt(tmp_path: Path, entries: str, key: str) -> None:
    (owner,) = read(settings(tmp_path, entries))
    assert owner == Owner(
        Account(ALICE.phone, ALICE.phone, "447700900001@s.whatsapp.net"),
        f"the app's settings ({SETTINGS}: {key})",
    )


def test_settings_without_a_number_say_so(tmp_path: Path) -> None:
    assert read(settings(tmp_path, '<string name="cc">44</string>')) == [
        Issue(
            Severity.INFO,
            "no-owner",
            f"file {SETTINGS}",
            "these settings name no registered number",
        )
    ]


def test_broken_xml_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "RegisterPhone.xml"
    path.write_text("<map><string name='cc'>44</map>")
    (issue,) = read(path)
    assert isinstance(issue, Issue)
    assert (issue.severity, issue.code) == (Severity.ERROR, "unreadable")
    assert issue.message.startswith("not readable settings XML: mismatched tag")


def test_only_whatsapp_settings_files_are_claimed() -> None:
    head = b"<?xml version='1.0' ?>\n<map>\n"
    assert AndroidPrefs.probe("com.whatsapp_preferences_light.xml", head, frozenset())
    assert not AndroidPrefs.probe("com.android.chrome_preferences.xml", head, frozenset())
    assert not AndroidPrefs.probe("RegisterPhone.xml", b"PK\x03\x04", frozenset())
