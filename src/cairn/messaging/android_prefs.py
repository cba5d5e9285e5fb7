"""WhatsApp for Android: the app's settings (`shared_prefs/*.xml`), which name the phone's owner.

Android keeps an app's settings as `<map>` XML files of typed entries. WhatsApp's name the
number it was registered with — `registration_jid` (the number's digits, or its JID), or the
country code and national number apart (`cc` and `ph`; `RegisterPhone.xml` spells them
`com.whatsapp.RegisterPhone.country_code` and `…phone_number`) — and the user's own push name
(`push_name`). Each file read yields the owner it names, with the file and key as the source.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from cairn.messaging import jids
from cairn.messaging.base import Account, Artefact, Issue, MessagingFormat, Owner, Record, Severity

NAMES: Final = (
    "com.whatsapp_preferences_light.xml",
    "com.whatsapp_preferences.xml",
    "RegisterPhone.xml",
)
_REGISTER = "com.whatsapp.RegisterPhone."
# (country code key, national number key) pairs, in the order they are tried.
_SPLIT_NUMBERS = (("cc", "ph"), (f"{_REGISTER}country_code", f"{_REGISTER}phone_number"))
MAX_BYTES = 4 << 20  # settings files are kilobytes: anything larger is not one


class AndroidPrefs(MessagingFormat):
    name = "whatsapp-android-prefs"
    title = "WhatsApp for Android: the app's settings (shared_prefs), naming the owner"
    sqlite = False

    @classmethod
    def probe(cls, name: str, head: bytes, tables: frozenset[str]) -> bool:
        return name in NAMES and b"<map" in head[:512]

    @classmethod
    def read(cls, artefact: Artefact) -> Iterator[Record]:
        where = f"file {artefact.path}"
        data = artefact.copy.read_bytes()
        try:
            if len(data) > MAX_BYTES:
                raise ElementTree.ParseError(f"{len(data):,} bytes: not a settings file")
            root = ElementTree.fromstring(data)
        except ElementTree.ParseError as exc:
            yield Issue(Severity.ERROR, "unreadable", where, f"not readable settings XML: {exc}")
            return
        values = {e.get("name", ""): (e.text or "").strip() for e in root if e.tag == "string"}
        phone, key = _number(values)
        if phone is None:
            yield Issue(
                Severity.INFO,
                "no-owner",
                where,
                "these settings name no registered number",
            )
            return
        jid = f"{phone.lstrip('+')}@{jids.USER_SERVER}"
        account = Account(phone, phone, jid, push_name=values.get("push_name") or None)
        yield Owner(account, f"the app's settings ({artefact.path}: {key})")

    @classmethod
    def example(cls, folder: Path) -> Path:
        from cairn.messaging.samples import example_device, write_preferences

        folder.mkdir(parents=True, exist_ok=True)
        return write_preferences(folder / NAMES[0], example_device().owner)

    @classmethod
    def example_counts(cls) -> dict[str, int]:
        return {"Owner": 1}


def _number(values: dict[str, str]) -> tuple[str | None, str]:
    """The registered number in E.164 and the key(s) that gave it."""
    registered = values.get("registration_jid", "")
    if registered:
        phone = jids.e164(jids.split_jid(registered)[0])
        if phone is not None:
            return phone, "registration_jid"
    for country, national in _SPLIT_NUMBERS:
        if values.get(country) and values.get(national):
            phone = jids.e164(values[country] + values[national])
            if phone is not None:
                return phone, f"{country} + {national}"
    return None, ""
