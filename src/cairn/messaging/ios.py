"""WhatsApp for iOS: `ChatStorage.sqlite` (Core Data; docs/formats.md).

`ZWACHATSESSION` rows are conversations (`ZSESSIONTYPE` 1 for groups, `ZPARTNERNAME` the
partner's name or the group's subject); `ZWAMESSAGE` rows are messages, their sender in a group
`ZGROUPMEMBER` → `ZWAGROUPMEMBER.ZMEMBERJID`, their time `ZMESSAGEDATE` in seconds since
2001-01-01 UTC, forwarded when `ZFLAGS & 0x180 == 0x180`; `ZWAMEDIAITEM` holds the media, whose
`ZVCARDNAME` is the base64 SHA-256 of the file (for media; a contact card's name otherwise).
A location message's place is its `ZWAMEDIAITEM` (`ZLATITUDE`, `ZLONGITUDE`, `ZTITLE`); a
reply, link preview or contact card also has an item, without a file: that is not media.
`ZWAGROUPINFO` names each group's creator and creation time. iOS keeps no forward score and
keeps thumbnails as files beside the database, not in it.

The phone's own number (`cairn.messaging.owner`): the addressee (`ZTOJID`) of the messages it
received; failing that, the creator (`ZCREATORJID`) or subject owner (`ZSUBJECTOWNERJID`) of
groups who never sent the phone a message — the owner's own messages are "from me".
`ZWAPROFILEPUSHNAME` holds the names people gave themselves (push names); received messages
carry their sender's (`ZWAMESSAGE.ZPUSHNAME`), and sent ones the owner's own.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from cairn.messaging import jids
from cairn.messaging.base import (
    Account,
    Artefact,
    Group,
    GroupAction,
    GroupEvent,
    Issue,
    MediaRef,
    Message,
    MessagingFormat,
    Owner,
    Record,
    Seen,
    Severity,
    from_cocoa,
    place,
    plural,
    sha256_from_base64,
)
from cairn.messaging.owner import OwnerClues
from cairn.messaging.recovery import recover_deleted
from cairn.messaging.sqlitedb import MAGIC, Schema, connect, features, required, rows_by_id

FORWARDED = 0x180
GROUP_SESSION = 1
KINDS = {
    0: "text",
    1: "image",
    2: "video",
    3: "audio",
    4: "contact",
    5: "location",
    6: "system",
    7: "link",
    8: "document",
    10: "system",  # notices outside group life: security code changed, encryption
    11: "gif",
    14: "revoked",
    15: "sticker",
}
# Kinds whose ZVCARDNAME is a file digest (for the others it is a name, or nothing).
MEDIA_KINDS = frozenset({"image", "video", "audio", "document", "gif", "sticker"})
GROUP_NOTICE = 6  # ZMESSAGETYPE of a group's notices
# ZGROUPEVENTTYPE of a group notice, as the open-source wabtools viewer reads it; WhatsApp does
# not document these codes (docs/formats.md). ZGROUPMEMBER is the member concerned; on
# additions and removals ZTEXT is the JID of who did it (code 50: `actor;jid,jid,…`).
GROUP_EVENTS = {
    1: GroupAction.SUBJECT_CHANGED,
    2: GroupAction.ADDED,
    4: GroupAction.LEFT,
    7: GroupAction.REMOVED,
    12: GroupAction.CREATED,
    15: GroupAction.JOINED_BY_LINK,
    50: GroupAction.ADDED,
}
_DONE_BY_OTHERS = frozenset({2, 7, 50})


class _Reader:
    REQUIRED: ClassVar[dict[str, tuple[str, ...]]] = {
        "ZWAMESSAGE": ("Z_PK", "ZCHATSESSION", "ZISFROMME", "ZMESSAGEDATE"),
        "ZWACHATSESSION": ("Z_PK", "ZCONTACTJID"),
    }
    FEATURES: ClassVar[tuple[tuple[str, str, tuple[str, ...]], ...]] = (
        ("message ids (cross-device links and clock offsets)", "ZWAMESSAGE", ("ZSTANZAID",)),
        ("forwarded flags", "ZWAMESSAGE", ("ZFLAGS",)),
        ("message kinds", "ZWAMESSAGE", ("ZMESSAGETYPE",)),
        ("message text", "ZWAMESSAGE", ("ZTEXT",)),
        ("one-to-one senders", "ZWAMESSAGE", ("ZFROMJID",)),
        ("group senders", "ZWAMESSAGE", ("ZGROUPMEMBER",)),
        (
            "group members and admins",
            "ZWAGROUPMEMBER",
            ("Z_PK", "ZCHATSESSION", "ZMEMBERJID", "ZISADMIN"),
        ),
        (
            "media references",
            "ZWAMEDIAITEM",
            ("Z_PK", "ZMEDIALOCALPATH", "ZFILESIZE", "ZVCARDNAME", "ZVCARDSTRING"),
        ),
        ("media links from messages", "ZWAMESSAGE", ("ZMEDIAITEM",)),
        (
            "group creators and creation times",
            "ZWAGROUPINFO",
            ("ZCHATSESSION", "ZCREATORJID", "ZCREATIONDATE"),
        ),
        ("chat names", "ZWACHATSESSION", ("ZPARTNERNAME",)),
        ("group flags", "ZWACHATSESSION", ("ZSESSIONTYPE",)),
        ("the owner as addressee", "ZWAMESSAGE", ("ZTOJID",)),
        ("push names", "ZWAPROFILEPUSHNAME", ("ZJID", "ZPUSHNAME")),
        ("push names on messages", "ZWAMESSAGE", ("ZPUSHNAME",)),
        ("group notices as membership events", "ZWAMESSAGE", ("ZGROUPEVENTTYPE", "ZTEXT")),
    )

    def __init__(self, connection: sqlite3.Connection, artefact: Artefact) -> None:
        self.connection = connection
        self.schema = Schema(connection)
        self.artefact = artefact
        self.available, self.feature_issues = features(self.schema, self.FEATURES)
        self.seen = Seen()
        self.issues: list[Issue] = []

    def read(self) -> Iterator[Record]:
        problem = required(self.schema, self.REQUIRED)
        if problem is not None:
            yield problem
            return
        yield from self.feature_issues
        sessions, members, records = self._directory(self.connection)
        yield from records
        yield from self._push_names()
        owner = self._owner()
        if owner is not None:
            name = self._own_push_name()
            yield replace(owner, account=replace(owner.account, push_name=name)) if name else owner
        yield from self._group_events(sessions)
        live = array("q")
        for record in self._messages(self.connection, sessions, members, None, None):
            if isinstance(record, Message):
                live.append(record.source_row)
            yield record
        yield from recover_deleted(self.artefact.copy, "ZWAMESSAGE", "Z_PK", live, self._recovered)

    def _directory(
        self, connection: sqlite3.Connection
    ) -> tuple[dict[int, tuple[str, bool]], dict[int, str], list[Record]]:
        records: list[Record] = []
        s = self.schema
        sessions: dict[int, tuple[str, bool]] = {}
        for pk, raw, name, session_type in connection.execute(
            f"SELECT Z_PK, ZCONTACTJID, {s.column('s', 'ZWACHATSESSION', 'ZPARTNERNAME')},"
            f" {s.column('s', 'ZWACHATSESSION', 'ZSESSIONTYPE')} FROM ZWACHATSESSION s"
            " ORDER BY Z_PK"
        ):
            if not raw:
                records.append(
                    Issue(
                        Severity.ERROR,
                        "dangling",
                        f"chat session {pk}",
                        "a chat session without a JID",
                    )
                )
                continue
            user, server = jids.split_jid(raw)
            if server == jids.GROUP_SERVER or session_type == GROUP_SESSION:
                group = Group(jids.group_key(user), name or None)
                sessions[pk] = (group.key, True)
                if self.seen.new(group):
                    records.append(group)
            else:
                account = jids.account_for(user, server)
                account = Account(
                    account.key, account.phone, account.jid, account.lid, name or None
                )
                sessions[pk] = (account.key, False)
                if self.seen.new(account):
                    records.append(account)
        if "group creators and creation times" in self.available:
            for session, creator, created in connection.execute(
                "SELECT ZCHATSESSION, ZCREATORJID, ZCREATIONDATE FROM ZWAGROUPINFO ORDER BY Z_PK"
            ):
                group_key = sessions.get(session, ("", False))
                if not group_key[1]:
                    continue
                creator_key = None
                if creator:
                    account = jids.account_for_jid(creator)
                    creator_key = account.key
                    if self.seen.new(account):
                        records.append(account)
                records.append(Group(group_key[0], None, creator_key, from_cocoa(created)))
        members: dict[int, str] = {}
        if "group members and admins" in self.available:
            name = s.column("g", "ZWAGROUPMEMBER", "ZCONTACTNAME")
            active = s.column("g", "ZWAGROUPMEMBER", "ZISACTIVE")
            for pk, session, raw, contact, admin, is_active in connection.execute(
                f"SELECT g.Z_PK, g.ZCHATSESSION, g.ZMEMBERJID, {name}, g.ZISADMIN, {active}"
                " FROM ZWAGROUPMEMBER g ORDER BY g.Z_PK"
            ):
                if not raw:
                    records.append(
                        Issue(
                            Severity.ERROR,
                            "dangling",
                            f"group member {pk}",
                            "a group member without a JID",
                        )
                    )
                    continue
                account = jids.account_for_jid(raw)
                if contact:
                    account = Account(account.key, account.phone, account.jid, account.lid, contact)
                members[pk] = account.key
                if self.seen.new(account) or contact:
                    records.append(account)
                chat = sessions.get(session)
                if chat is None or not chat[1]:
                    records.append(
                        Issue(
                            Severity.ERROR,
                            "dangling",
                            f"group member {pk}",
                            f"its chat session {session} is not a group",
                        )
                    )
                    continue
                if is_active == 0:
                    action = GroupAction.LEFT  # no longer a member when the phone was seized
                else:
                    action = GroupAction.ADMIN if admin else GroupAction.MEMBER
                records.append(GroupEvent(chat[0], action, account.key))
        return sessions, members, records

    def _push_names(self) -> Iterator[Account]:
        """The names people gave themselves: ZWAPROFILEPUSHNAME, then the name each received
        message carried (ZWAMESSAGE.ZPUSHNAME), the most used per sender."""
        seen: set[str] = set()  # JIDs named already
        if "push names" in self.available:
            for raw, name in self.connection.execute(
                "SELECT ZJID, ZPUSHNAME FROM ZWAPROFILEPUSHNAME ORDER BY Z_PK"
            ):
                if raw and name and not jids.is_group_jid(raw):
                    seen.add(raw)
                    yield replace(jids.account_for_jid(raw), push_name=name)
        if "push names on messages" not in self.available:
            return
        sender = self._sender_jid()
        for raw, name, _count in self.connection.execute(
            f"SELECT {sender[0]} AS who, m.ZPUSHNAME, COUNT(*) AS n FROM ZWAMESSAGE m {sender[1]}"
            " WHERE m.ZISFROMME = 0 AND m.ZPUSHNAME IS NOT NULL AND m.ZPUSHNAME != ''"
            " GROUP BY who, m.ZPUSHNAME ORDER BY who, n DESC, m.ZPUSHNAME"
        ):
            if raw and raw not in seen and not jids.is_group_jid(raw):
                seen.add(raw)
                yield replace(jids.account_for_jid(raw), push_name=name)

    def _own_push_name(self) -> str | None:
        """The name the phone's owner gave themself, as its sent messages carry it."""
        if "push names on messages" not in self.available:
            return None
        row = self.connection.execute(
            "SELECT ZPUSHNAME, COUNT(*) AS n FROM ZWAMESSAGE WHERE ZISFROMME = 1"
            " AND ZPUSHNAME IS NOT NULL AND ZPUSHNAME != '' GROUP BY ZPUSHNAME"
            " ORDER BY n DESC, ZPUSHNAME LIMIT 1"
        ).fetchone()
        return str(row[0]) if row else None

    def _owner(self) -> Owner | None:
        clues = OwnerClues()
        if "the owner as addressee" in self.available:
            for raw, count in self.connection.execute(
                "SELECT ZTOJID, COUNT(*) FROM ZWAMESSAGE WHERE ZISFROMME = 0"
                " AND ZTOJID IS NOT NULL AND ZTOJID != '' GROUP BY ZTOJID ORDER BY ZTOJID"
            ):
                if not jids.is_group_jid(raw):
                    clues.add(
                        jids.account_for_jid(raw),
                        count,
                        f"addressee of {plural(count, 'received message')} (ZTOJID)",
                    )
        if "group creators and creation times" not in self.available:
            return clues.owner()
        senders = {jids.account_for_jid(raw).key for raw in self._received_from() if raw}
        s = self.schema
        subject_owner = s.column("i", "ZWAGROUPINFO", "ZSUBJECTOWNERJID")
        for column, raw, count in self.connection.execute(
            "SELECT 'ZCREATORJID', ZCREATORJID, COUNT(*) FROM ZWAGROUPINFO"
            " WHERE ZCREATORJID IS NOT NULL GROUP BY ZCREATORJID"
            f" UNION ALL SELECT 'ZSUBJECTOWNERJID', {subject_owner}, COUNT(*) FROM ZWAGROUPINFO i"
            f" WHERE {subject_owner} IS NOT NULL GROUP BY {subject_owner} ORDER BY 1, 2"
        ):
            account = jids.account_for_jid(raw)
            if account.key in senders or jids.is_group_jid(raw):
                continue
            role = "creator" if column == "ZCREATORJID" else "subject owner"
            clues.add(
                account,
                count,
                f"{role} of {plural(count, 'group')} ({column}) who never wrote to the phone",
                direct=False,
            )
        return clues.owner()

    def _group_events(self, sessions: dict[int, tuple[str, bool]]) -> Iterator[Record]:
        """Who added, removed or admitted whom, and when, from the groups' notices."""
        if "group notices as membership events" not in self.available:
            return
        linked = {"group members and admins", "group senders"} <= self.available
        member = "g.ZMEMBERJID" if linked else "NULL"
        join = "LEFT JOIN ZWAGROUPMEMBER g ON g.Z_PK = m.ZGROUPMEMBER" if linked else ""
        owner = jids.owner_key(self.artefact.scope)
        codes = ", ".join(map(str, GROUP_EVENTS))
        for session, from_me, code, raw_member, text, date in self.connection.execute(
            f"SELECT m.ZCHATSESSION, m.ZISFROMME, m.ZGROUPEVENTTYPE, {member}, m.ZTEXT,"
            f" m.ZMESSAGEDATE FROM ZWAMESSAGE m {join}"
            f" WHERE m.ZMESSAGETYPE = {GROUP_NOTICE} AND m.ZGROUPEVENTTYPE IN ({codes})"
            " ORDER BY m.Z_PK"
        ):
            chat = sessions.get(session)
            if chat is None or not chat[1]:
                continue  # the notice itself is kept as a system message
            found: list[Account] = []
            concerned = _jid_key(raw_member, found)
            targets: list[str | None] = [concerned]
            if code in _DONE_BY_OTHERS:
                actor_raw, _, listed = (text or "").partition(";") if code == 50 else (text, "", "")
                actor = owner if from_me else _jid_key(actor_raw, found)
                if code == 50:
                    targets = [_jid_key(j, found) for j in listed.split(",")]
                elif concerned is None:
                    # No member row: the phone's own act names its target in ZTEXT, and a
                    # notice the phone received without one concerns the phone itself.
                    targets = [_jid_key(text, found) if from_me else owner]
            else:
                actor = concerned or (owner if from_me else None)
                targets = [actor]
            yield from (a for a in found if self.seen.new(a))
            at = from_cocoa(date)
            for target in targets:
                if target is not None:
                    yield GroupEvent(chat[0], GROUP_EVENTS[code], target, at, actor)

    def _sender_jid(self) -> tuple[str, str]:
        """(expression, join) of a received message's sender JID over `ZWAMESSAGE m`."""
        linked = {"group members and admins", "group senders"} <= self.available
        join = "LEFT JOIN ZWAGROUPMEMBER g ON g.Z_PK = m.ZGROUPMEMBER" if linked else ""
        from_jid = self.schema.column("m", "ZWAMESSAGE", "ZFROMJID")
        return f"COALESCE({'g.ZMEMBERJID' if linked else 'NULL'}, {from_jid})", join

    def _received_from(self) -> Iterator[str]:
        """The JIDs of everyone who sent the phone a message."""
        sender, join = self._sender_jid()
        for (raw,) in self.connection.execute(
            f"SELECT DISTINCT {sender} FROM ZWAMESSAGE m {join} WHERE m.ZISFROMME = 0"
        ):
            yield raw

    def _messages(
        self,
        connection: sqlite3.Connection,
        sessions: dict[int, tuple[str, bool]],
        members: dict[int, str],
        ids: list[int] | None,
        recovered: str | None,
    ) -> Iterator[Record]:
        s = self.schema
        media = {"media references", "media links from messages"} <= self.available
        columns = [
            "m.Z_PK",
            "m.ZCHATSESSION",
            "m.ZISFROMME",
            s.column("m", "ZWAMESSAGE", "ZSTANZAID"),
            s.column("m", "ZWAMESSAGE", "ZFROMJID"),
            s.column("m", "ZWAMESSAGE", "ZGROUPMEMBER"),
            "m.ZMESSAGEDATE",
            s.column("m", "ZWAMESSAGE", "ZFLAGS"),
            s.column("m", "ZWAMESSAGE", "ZMESSAGETYPE"),
            s.column("m", "ZWAMESSAGE", "ZTEXT"),
            *(
                (
                    "i.ZVCARDNAME",
                    "i.ZMEDIALOCALPATH",
                    "i.ZFILESIZE",
                    "i.ZVCARDSTRING",
                    s.column("i", "ZWAMEDIAITEM", "ZTITLE"),
                    "i.Z_PK",
                    s.column("i", "ZWAMEDIAITEM", "ZLATITUDE"),
                    s.column("i", "ZWAMEDIAITEM", "ZLONGITUDE"),
                )
                if media
                else ("NULL",) * 8
            ),
        ]
        join = "LEFT JOIN ZWAMEDIAITEM i ON i.Z_PK = m.ZMEDIAITEM" if media else ""
        sql = f"SELECT {', '.join(columns)} FROM ZWAMESSAGE m {join}"
        has_flags = "forwarded flags" in self.available
        for (
            pk,
            session,
            from_me,
            stanza,
            from_jid,
            member,
            date,
            flags,
            message_type,
            text,
            vcard,
            path,
            size,
            mime,
            title,
            item,
            latitude,
            longitude,
        ) in rows_by_id(connection, sql, "m.Z_PK", ids):
            chat = sessions.get(session)
            if chat is None:
                yield Issue(
                    Severity.ERROR,
                    "dangling",
                    f"message {pk}",
                    f"chat session {session} is not in ZWACHATSESSION",
                )
                chat = (f"chat-session:{session}", False)
            chat_key, is_group = chat
            if from_me:
                sender = None
            elif is_group:
                sender = members.get(member) if member is not None else None
                if sender is None and from_jid and not jids.is_group_jid(from_jid):
                    sender = jids.account_for_jid(from_jid).key
            else:
                sender = jids.account_for_jid(from_jid).key if from_jid else chat_key
            kind = KINDS.get(message_type, "unknown")
            ref, where = None, None
            if kind == "location":
                where = place(latitude, longitude, title)
            elif item is not None and (kind in MEDIA_KINDS or path or kind == "unknown"):
                sha256 = None
                if kind in MEDIA_KINDS or kind == "unknown":
                    try:
                        sha256 = sha256_from_base64(vcard)
                    except ValueError as exc:
                        yield Issue(
                            Severity.ERROR,
                            "bad-hash",
                            f"message {pk}",
                            f"media hash {str(vcard)[:60]!r} unreadable ({exc}); kept without it",
                        )
                ref = MediaRef(
                    sha256, path, size, mime if sha256 or kind in MEDIA_KINDS else None, title
                )
            # Otherwise the item holds what the message shows beside its text (a quoted
            # reply's excerpt, a link preview, a contact card): not media.
            forwarded = (flags or 0) & FORWARDED == FORWARDED if has_flags else None
            yield Message(
                pk,
                chat_key,
                is_group,
                sender,
                bool(from_me),
                from_cocoa(date),
                kind,
                stanza,
                text,
                forwarded,
                None,
                ref,
                recovered,
                where,
            )

    def _recovered(
        self, connection: sqlite3.Connection, ids: list[int], label: str
    ) -> Iterator[Record]:
        sessions, members, records = self._directory(connection)
        yield from (r for r in records if not isinstance(r, GroupEvent))
        yield from self._messages(connection, sessions, members, ids, label)


def _jid_key(raw: str | None, found: list[Account]) -> str | None:
    """The account key of a person's JID in a notice (appended to `found`); None otherwise."""
    if not raw or "@" not in raw or jids.is_group_jid(raw):
        return None
    account = jids.account_for_jid(raw.strip())
    found.append(account)
    return account.key


class IosChatStorage(MessagingFormat):
    name = "whatsapp-ios"
    title = "WhatsApp for iOS: ChatStorage.sqlite"

    @classmethod
    def probe(cls, name: str, head: bytes, tables: frozenset[str]) -> bool:
        return head.startswith(MAGIC) and {"zwamessage", "zwachatsession"} <= tables

    @classmethod
    def read(cls, artefact: Artefact) -> Iterator[Record]:
        with closing(connect(artefact.copy)) as connection:
            yield Issue(
                Severity.INFO,
                "schema",
                "table ZWAMESSAGE",
                "iOS Core Data schema; thumbnails are files on iOS, not read here",
            )
            yield from _Reader(connection, artefact).read()

    @classmethod
    def example(cls, folder: Path) -> Path:
        from cairn.messaging.samples import example_device, write_chatstorage

        folder.mkdir(parents=True, exist_ok=True)
        return write_chatstorage(folder / "ChatStorage.sqlite", example_device())

    @classmethod
    def example_counts(cls) -> dict[str, int]:
        # The group twice (its session, then its creator); Carol as partner and as member,
        # Alice as creator and as member, Bob; Bob's and Carol's push names; three members;
        # five messages; schema and recovery notes; the owner (addressee of what it received);
        # the notices: the phone created the group, Carol joined by link.
        return {"Issue": 2, "Group": 2, "Account": 7, "Owner": 1, "GroupEvent": 5, "Message": 5}
