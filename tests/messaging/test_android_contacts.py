"""WhatsApp for Android wa.db: contact and push names, group subjects and creators."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from cairn.messaging.android_contacts import AndroidContacts
from cairn.messaging.base import Account, Artefact, Group, Issue, Record, Severity
from cairn.messaging.samples import ALICE, BOB, CAROL

GROUP = "group:120363000000000001"


def read(path: Path) -> list[Record]:
    return list(AndroidContacts.read(Artefact("wa.db", path, "phone-A")))


def account(phone: str, name: str | None = None, push: str | None = None) -> Account:
    return Account(phone, phone, f"{phone[1:]}@s.whatsapp.net", None, name, push)


def test_example(tmp_path: Path) -> None:
    assert read(AndroidContacts.example(tmp_path)) == [
        account(BOB.phone, "Bob Example", "Bob"),
        account(CAROL.phone, "Carol Example", "Carol"),
        Group(GROUP, "Example Group"),
        account(ALICE.phone),
        Group(GROUP, creator=ALICE.phone),
    ]


def test_older_versions_without_admin_settings(tmp_path: Path) -> None:
    path = AndroidContacts.example(tmp_path)
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("DROP TABLE wa_group_admin_settings")
        connection.execute("ALTER TABLE wa_contacts DROP COLUMN wa_name")
        connection.execute("INSERT INTO wa_contacts (jid, is_whatsapp_user) VALUES ('', 1)")
        connection.commit()
    assert read(path) == [
        Issue(
            Severity.WARNING,
            "unavailable",
            "wa_contacts.wa_name",
            "push names unavailable: the database has no wa_contacts.wa_name",
        ),
        Issue(
            Severity.WARNING,
            "unavailable",
            "wa_group_admin_settings",
            "group creators unavailable: the database has no wa_group_admin_settings",
        ),
        account(BOB.phone, "Bob Example"),
        account(CAROL.phone, "Carol Example"),
        Group(GROUP, "Example Group"),
        Issue(Severity.ERROR, "dangling", "table wa_contacts", "a contact row without a jid"),
    ]
