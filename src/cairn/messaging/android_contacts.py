"""WhatsApp for Android: `wa.db`, the owner's contacts and the groups' creators.

`wa_contacts` gives each address the owner's contact name for it (`display_name`) and the
name its holder chose (`wa_name`, the push name); group rows carry the group's subject.
`wa_group_admin_settings.creator_jid` names who created each group.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path

from cairn.messaging import jids
from cairn.messaging.base import (
    Artefact,
    Group,
    Issue,
    MessagingFormat,
    Record,
    Severity,
)
from cairn.messaging.sqlitedb import MAGIC, Schema, connect, features, required

_FEATURES = (
    ("contact names", "wa_contacts", ("display_name",)),
    ("push names", "wa_contacts", ("wa_name",)),
    ("group creators", "wa_group_admin_settings", ("jid", "creator_jid")),
)


class AndroidContacts(MessagingFormat):
    name = "whatsapp-android-contacts"
    title = "WhatsApp for Android: wa.db (contacts, group creators)"

    @classmethod
    def probe(cls, name: str, head: bytes, tables: frozenset[str]) -> bool:
        return head.startswith(MAGIC) and "wa_contacts" in tables

    @classmethod
    def read(cls, artefact: Artefact) -> Iterator[Record]:
        with closing(connect(artefact.copy)) as connection:
            schema = Schema(connection)
            problem = required(schema, {"wa_contacts": ("jid",)})
            if problem is not None:
                yield problem
                return
            available, issues = features(schema, _FEATURES)
            yield from issues
            display = schema.column("c", "wa_contacts", "display_name")
            push = schema.column("c", "wa_contacts", "wa_name")
            for raw, name, push_name in connection.execute(
                f"SELECT c.jid, {display}, {push} FROM wa_contacts c ORDER BY c._id"
            ):
                if not raw:
                    yield Issue(
                        Severity.ERROR,
                        "dangling",
                        "table wa_contacts",
                        "a contact row without a jid",
                    )
                    continue
                user, server = jids.split_jid(raw)
                if server == jids.GROUP_SERVER:
                    yield Group(jids.group_key(user), name or None)
                else:
                    account = jids.account_for(user, server)
                    yield replace(account, display_name=name or None, push_name=push_name or None)
            if "group creators" not in available:
                return
            for raw, creator in connection.execute(
                "SELECT jid, creator_jid FROM wa_group_admin_settings ORDER BY _id"
            ):
                if not raw or not creator:
                    continue  # a group whose creator the phone never learnt
                account = jids.account_for_jid(creator)
                yield account
                yield Group(jids.group_key(jids.split_jid(raw)[0]), creator=account.key)

    @classmethod
    def example(cls, folder: Path) -> Path:
        from cairn.messaging.samples import example_device, write_wa_db

        folder.mkdir(parents=True, exist_ok=True)
        return write_wa_db(folder / "wa.db", example_device())

    @classmethod
    def example_counts(cls) -> dict[str, int]:
        # Bob and Carol as contacts, the group, then its creator (Alice) and the group again.
        return {"Account": 3, "Group": 2}
