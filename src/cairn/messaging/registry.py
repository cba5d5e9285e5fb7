"""The messaging formats Cairn reads: adding one is adding a module and a line in FORMATS.

Encrypted backups are not a format Cairn reads; `backup_problem` names what they need.
"""

from __future__ import annotations

import re
from typing import Final

from cairn.core.errors import UsageError
from cairn.messaging.android import AndroidMsgstore
from cairn.messaging.android_contacts import AndroidContacts
from cairn.messaging.android_prefs import AndroidPrefs
from cairn.messaging.base import MessagingFormat
from cairn.messaging.chat_export import ChatExport
from cairn.messaging.ios import IosChatStorage
from cairn.messaging.telegram import TelegramExport

FORMATS: Final[tuple[type[MessagingFormat], ...]] = (
    AndroidMsgstore,
    AndroidContacts,
    IosChatStorage,
    ChatExport,
    AndroidPrefs,
    TelegramExport,
)
HEAD_BYTES: Final = 64 * 1024
_CRYPT = re.compile(r"\.crypt(\d+)$")


def by_name(name: str) -> type[MessagingFormat]:
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    known = ", ".join(fmt.name for fmt in FORMATS)
    raise UsageError(f"unknown messaging format {name!r}: expected one of {known}")


def detect(name: str, head: bytes, tables: frozenset[str]) -> type[MessagingFormat] | None:
    """The first format claiming a file (formats do not overlap: each keys on its tables)."""
    for fmt in FORMATS:
        if fmt.probe(name, head, tables):
            return fmt
    return None


def backup_problem(name: str) -> str | None:
    """Why an encrypted WhatsApp backup (`msgstore.db.crypt14`, …) cannot be read, if it is one."""
    match = _CRYPT.search(name)
    if match is None:
        return None
    version = int(match[1])
    if version >= 15:
        key = (
            "the 64-hex-digit end-to-end backup key (shown once to the user when backups "
            "were encrypted) or the 'encrypted_backup.key' file from the app's private "
            "files folder"
        )
    else:
        key = "the app's key file (/data/data/com.whatsapp/files/key, 158 bytes)"
    return (
        f"{name} is an encrypted WhatsApp backup (crypt{version}): reading it needs {key}. "
        "Cairn does not decrypt backups: decrypt it with that key and import the "
        "resulting msgstore.db, or import the live msgstore.db from the extraction"
    )
