"""WhatsApp for Android: `msgstore.db`, current (2022 on) and pre-2022 (`messages`) schemas.

Current schema (docs/formats.md): message → chat → jid gives the conversation (a group when the
chat's jid is on `g.us`); a group message's sender is `sender_jid_row_id` → jid, and an
`@lid` sender is resolved to a number through `jid_map`; media hangs off
`message_media.message_row_id`, and its `file_hash` (base64 SHA-256 of the file) is what links
a message to seized files and hash sets. Forwarding: `origination_flags` bit 0, and
`message_forwarded.forward_score`. Locations: `message_location` (`latitude`, `longitude`,
`place_name`); before 2022, the `latitude` and `longitude` of `messages`. Group life:
`group_participant_user` (members as of the extraction, `rank` 1 admin, 2 creator),
`message_system` actions with the members they concern.

The phone's own number (`cairn.messaging.owner`): the member its own group notices (joined by
invite link, left) name — the phone's user did those themselves. `cairn.messaging.android_prefs`
reads it from the app's settings when the extraction holds them.

App versions differ in what they have. Only message, chat and jid are required; every other
table or column feeds one feature, and when it is missing the reader says which feature is
unavailable and reads the rest.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

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
    Thumbnail,
    from_unix_ms,
    place,
    plural,
    sha256_from_base64,
)
from cairn.messaging.owner import OwnerClues
from cairn.messaging.recovery import recover_deleted
from cairn.messaging.sqlitedb import MAGIC, Schema, connect, features, required, rows_by_id

# message_type (current) and media_wa_type (legacy) share one numbering.
KINDS = {
    0: "text",
    1: "image",
    2: "audio",
    3: "video",
    4: "contact",
    5: "location",
    7: "system",
    9: "document",
    13: "gif",
    15: "revoked",
    16: "live-location",
    20: "sticker",
    42: "view-once-image",
    43: "view-once-video",
}
# message_system.action_type (docs/formats.md); other codes stay system messages without an event.
ACTIONS = {
    1: GroupAction.SUBJECT_CHANGED,
    4: GroupAction.ADDED,
    12: GroupAction.ADDED,
    5: GroupAction.LEFT,
    13: GroupAction.LEFT,
    7: GroupAction.REMOVED,
    14: GroupAction.REMOVED,
    11: GroupAction.CREATED,
    20: GroupAction.JOINED_BY_LINK,
    21: GroupAction.LINK_RESET,
}
# Actions done by someone to the participants listed; the others are the actor's own.
_DONE_TO_OTHERS = (GroupAction.ADDED, GroupAction.REMOVED)
# The actor's own acts: on the phone's own notices of these, the member named is its owner.
SELF_ACTIONS = tuple(code for code, action in ACTIONS.items() if action not in _DONE_TO_OTHERS)
RANKS = {0: GroupAction.MEMBER, 1: GroupAction.ADMIN, 2: GroupAction.SUPERADMIN}
LEGACY_SYSTEM_STATUS = 6  # messages.status of a system message before 2022


def kind_of(code: int | str | None) -> str:
    """The kind a code names; "unknown" for a code Cairn does not know (counted and
    reported by the writer)."""
    try:
        return KINDS.get(int(code if code is not None else ""), "unknown")
    except ValueError:
        return "unknown"


def media_ref(
    issues: list[Issue],
    where: str,
    file_hash: Any,
    path: Any,
    size: Any,
    mime: Any,
    caption: Any = None,
    width: Any = None,
    height: Any = None,
) -> MediaRef | None:
    """The media of a row, or None when it has none; a bad hash is an issue, not a loss."""
    if file_hash is None and path is None:
        return None
    try:
        sha256 = sha256_from_base64(file_hash)
    except ValueError as exc:
        issues.append(
            Issue(
                Severity.ERROR,
                "bad-hash",
                where,
                f"media hash {str(file_hash)[:60]!r} unreadable ({exc}); kept without it",
            )
        )
        sha256 = None
    return MediaRef(sha256, path, size, mime, caption, width, height)


class _Current:
    REQUIRED: ClassVar[dict[str, tuple[str, ...]]] = {
        "message": ("_id", "chat_row_id", "from_me", "timestamp"),
        "chat": ("_id", "jid_row_id"),
        "jid": ("_id", "user", "server"),
    }
    FEATURES: ClassVar[tuple[tuple[str, str, tuple[str, ...]], ...]] = (
        ("message ids (cross-device links and clock offsets)", "message", ("key_id",)),
        ("group senders", "message", ("sender_jid_row_id",)),
        ("forwarded flags", "message", ("origination_flags",)),
        ("message kinds", "message", ("message_type",)),
        ("message text", "message", ("text_data",)),
        ("group names", "chat", ("subject",)),
        ("group creation times", "chat", ("created_timestamp",)),
        ("@lid senders resolved to numbers", "jid_map", ("lid_row_id", "jid_row_id")),
        (
            "media references",
            "message_media",
            ("message_row_id", "file_path", "file_size", "mime_type", "file_hash"),
        ),
        (
            "media captions and sizes in pixels",
            "message_media",
            ("media_caption", "width", "height"),
        ),
        ("forward scores", "message_forwarded", ("message_row_id", "forward_score")),
        ("locations", "message_location", ("message_row_id", "latitude", "longitude")),
        ("WhatsApp thumbnails", "media_hash_thumbnail", ("media_hash", "thumbnail")),
        (
            "group members and admins",
            "group_participant_user",
            ("group_jid_row_id", "user_jid_row_id", "rank", "pending"),
        ),
        ("group events", "message_system", ("message_row_id", "action_type")),
        (
            "members named in group events",
            "message_system_chat_participant",
            ("message_row_id", "user_jid_row_id"),
        ),
    )

    def __init__(self, connection: sqlite3.Connection, schema: Schema, artefact: Artefact):
        self.connection = connection
        self.schema = schema
        self.artefact = artefact
        self.owner = jids.owner_key(artefact.scope)
        self.available, self.feature_issues = features(schema, self.FEATURES)
        self.seen = Seen()
        self.issues: list[Issue] = []
        self.unresolved_lids = 0

    def read(self) -> Iterator[Record]:
        problem = required(self.schema, self.REQUIRED)
        if problem is not None:
            yield problem
            return
        yield Issue(Severity.INFO, "schema", "table message", "current schema (2022 on)")
        yield from self.feature_issues
        people, chats, records = self._directory(self.connection)
        yield from records
        owner = self._owner(people)
        if owner is not None:
            self.owner = owner.account.key  # the actor of the phone's own group acts
            yield owner
        yield from self._group_events(people, chats)
        live = array("q")
        for message in self._messages(self.connection, people, chats, None, None):
            if isinstance(message, Message):
                live.append(message.source_row)
            yield message
        yield from self._drain()
        yield from self._thumbnails()
        yield from recover_deleted(self.artefact.copy, "message", "_id", live, self._recovered)
        if self.unresolved_lids:
            yield Issue(
                Severity.INFO,
                "unresolved-lid",
                "table jid",
                f"{self.unresolved_lids} @lid ids are not mapped to phone numbers "
                "(kept as lid accounts)",
            )

    def _drain(self) -> Iterator[Issue]:
        yield from self.issues
        self.issues.clear()

    def _directory(
        self, connection: sqlite3.Connection
    ) -> tuple[dict[int, str], dict[int, tuple[str, bool]], list[Record]]:
        """Accounts and groups, new ones as records, and the row → key maps messages use."""
        rows = {
            r[0]: (r[1] or "", r[2] or "")
            for r in connection.execute("SELECT _id, user, server FROM jid ORDER BY _id")
        }
        lid_map: dict[int, int] = {}
        if "@lid senders resolved to numbers" in self.available:
            lid_map = dict(connection.execute("SELECT lid_row_id, jid_row_id FROM jid_map"))
        records: list[Record] = []
        people: dict[int, str] = {}
        self.unresolved_lids = 0
        for row_id, (user, server) in rows.items():
            if server == jids.GROUP_SERVER:
                continue
            account = jids.account_for(user, server)
            if server == jids.LID_SERVER:
                mapped = rows.get(lid_map.get(row_id, -1))
                if mapped is not None:
                    account = replace(jids.account_for(*mapped), lid=f"{user}@{server}")
                else:
                    self.unresolved_lids += 1
            people[row_id] = account.key
            if self.seen.new(account) or account.lid:
                records.append(account)
        subject = self.schema.column("c", "chat", "subject")
        created = self.schema.column("c", "chat", "created_timestamp")
        chats: dict[int, tuple[str, bool]] = {}
        for chat_id, jid_row, name, created_ms in connection.execute(
            f"SELECT c._id, c.jid_row_id, {subject}, {created} FROM chat c ORDER BY c._id"
        ):
            user, server = rows.get(jid_row, ("", ""))
            if server == jids.GROUP_SERVER:
                group = Group(jids.group_key(user), name, None, from_unix_ms(created_ms))
                chats[chat_id] = (group.key, True)
                if self.seen.new(group):
                    records.append(group)
            elif jid_row in people:
                chats[chat_id] = (people[jid_row], False)
            else:
                self.issues.append(
                    Issue(
                        Severity.ERROR,
                        "dangling",
                        f"chat {chat_id}",
                        f"its jid row {jid_row} is not in the jid table",
                    )
                )
        records.extend(self.issues)
        self.issues.clear()
        return people, chats, records

    def _owner(self, people: dict[int, str]) -> Owner | None:
        if not {"group events", "members named in group events"} <= self.available:
            return None
        clues = OwnerClues()
        codes = ", ".join(map(str, SELF_ACTIONS))
        for user_row, count in self.connection.execute(
            "SELECT p.user_jid_row_id, COUNT(*) FROM message_system s"
            " JOIN message m ON m._id = s.message_row_id"
            " JOIN message_system_chat_participant p ON p.message_row_id = s.message_row_id"
            f" WHERE m.from_me = 1 AND s.action_type IN ({codes})"
            " GROUP BY p.user_jid_row_id ORDER BY p.user_jid_row_id"
        ):
            key = people.get(user_row)
            if key is not None:
                clues.add(
                    Account(key, key if key.startswith("+") else None),
                    count,
                    f"the member named in {plural(count, 'group notice')} of the phone's own "
                    "acts (message_system_chat_participant)",
                )
        return clues.owner()

    def _group_events(
        self, people: dict[int, str], chats: dict[int, tuple[str, bool]]
    ) -> Iterator[Record]:
        if "group members and admins" in self.available:
            groups = dict(self._group_rows())
            for group_row, user_row, rank, pending in self.connection.execute(
                "SELECT group_jid_row_id, user_jid_row_id, rank, pending"
                " FROM group_participant_user ORDER BY _id"
            ):
                group, account = groups.get(group_row), people.get(user_row)
                if group is None or account is None:
                    yield Issue(
                        Severity.ERROR,
                        "dangling",
                        "table group_participant_user",
                        f"group row {group_row} / member row {user_row} not in jid",
                    )
                    continue
                action = GroupAction.PENDING if pending else RANKS.get(rank, GroupAction.MEMBER)
                yield GroupEvent(group, action, account)
        if "group events" not in self.available:
            return
        participants: dict[int, list[str]] = {}
        if "members named in group events" in self.available:
            for message_row, user_row in self.connection.execute(
                "SELECT message_row_id, user_jid_row_id FROM message_system_chat_participant"
                " ORDER BY rowid"
            ):
                participants.setdefault(message_row, []).append(
                    people.get(user_row, f"jid-row:{user_row}")
                )
        sender = self.schema.column("m", "message", "sender_jid_row_id")
        for message_row, action_type, chat_row, from_me, sender_row, ms in self.connection.execute(
            f"SELECT s.message_row_id, s.action_type, m.chat_row_id, m.from_me, {sender},"
            " m.timestamp FROM message_system s JOIN message m ON m._id = s.message_row_id"
            " ORDER BY s.message_row_id"
        ):
            event = ACTIONS.get(action_type)
            chat = chats.get(chat_row)
            if event is None or chat is None or not chat[1]:
                continue  # the message itself is kept as a system message
            actor = self.owner if from_me else people.get(sender_row)
            concerned: list[str | None] = list(participants.get(message_row, ())) or [actor]
            for account in concerned:
                yield GroupEvent(
                    chat[0],
                    event,
                    account,
                    from_unix_ms(ms),
                    actor if event in _DONE_TO_OTHERS else account,
                )

    def _group_rows(self) -> Iterator[tuple[int, str]]:
        for row_id, user in self.connection.execute(
            "SELECT _id, user FROM jid WHERE server = ? ORDER BY _id", (jids.GROUP_SERVER,)
        ):
            yield row_id, jids.group_key(user)

    def _select(self) -> str:
        s = self.schema
        media = "media references" in self.available
        pixels = media and "media captions and sizes in pixels" in self.available
        scores = "forward scores" in self.available
        system = "group events" in self.available
        located = "locations" in self.available
        columns = [
            "m._id",
            "m.chat_row_id",
            "m.from_me",
            s.column("m", "message", "key_id"),
            s.column("m", "message", "sender_jid_row_id"),
            s.column("m", "message", "origination_flags"),
            "m.timestamp",
            s.column("m", "message", "message_type"),
            s.column("m", "message", "text_data"),
            *(
                ("mm.file_hash", "mm.file_path", "mm.file_size", "mm.mime_type")
                if media
                else ("NULL",) * 4
            ),
            *(("mm.media_caption", "mm.width", "mm.height") if pixels else ("NULL",) * 3),
            "f.forward_score" if scores else "NULL",
            "sy.action_type" if system else "NULL",
            *(
                ("ml.latitude", "ml.longitude", s.column("ml", "message_location", "place_name"))
                if located
                else ("NULL",) * 3
            ),
        ]
        joins = [
            "LEFT JOIN message_media mm ON mm.message_row_id = m._id" if media else "",
            "LEFT JOIN message_forwarded f ON f.message_row_id = m._id" if scores else "",
            "LEFT JOIN message_system sy ON sy.message_row_id = m._id" if system else "",
            "LEFT JOIN message_location ml ON ml.message_row_id = m._id" if located else "",
        ]
        return f"SELECT {', '.join(columns)} FROM message m {' '.join(joins)}"

    def _messages(
        self,
        connection: sqlite3.Connection,
        people: dict[int, str],
        chats: dict[int, tuple[str, bool]],
        ids: list[int] | None,
        recovered: str | None,
    ) -> Iterator[Message | Issue]:
        sql = self._select()
        has_flags = "forwarded flags" in self.available
        issues = self.issues
        for (
            row_id,
            chat_row,
            from_me,
            key_id,
            sender_row,
            flags,
            ms,
            message_type,
            text,
            file_hash,
            path,
            size,
            mime,
            caption,
            width,
            height,
            score,
            action,
            latitude,
            longitude,
            place_name,
        ) in rows_by_id(connection, sql, "m._id", ids):
            chat = chats.get(chat_row)
            if chat is None:
                issues.append(
                    Issue(
                        Severity.ERROR,
                        "dangling",
                        f"message {row_id}",
                        f"chat row {chat_row} is not in the chat table",
                    )
                )
                chat = (f"chat-row:{chat_row}", False)
            chat_key, is_group = chat
            if from_me:
                sender = None
            elif is_group:
                sender = people.get(sender_row) if sender_row is not None else None
            else:
                sender = chat_key
            if has_flags:
                forwarded: bool | None = bool((flags or 0) & 1)
            else:
                forwarded = None if score is None else score > 0
            media = (
                media_ref(
                    issues,
                    f"message {row_id}",
                    file_hash,
                    path,
                    size,
                    mime,
                    caption,
                    width,
                    height,
                )
                if file_hash is not None or path is not None
                else None
            )
            kind = kind_of(message_type)
            if action is not None and text is None:  # the notice, named: "joined by link"
                known = ACTIONS.get(action)
                text = known.value.replace("-", " ") if known else f"system action {action}"
            yield Message(
                row_id,
                chat_key,
                is_group,
                sender,
                bool(from_me),
                from_unix_ms(ms),
                kind,
                key_id,
                text,
                forwarded,
                score,
                media,
                recovered,
                place(latitude, longitude, place_name),
            )
            if issues:
                yield from self._drain()

    def _thumbnails(self) -> Iterator[Record]:
        if "WhatsApp thumbnails" not in self.available:
            return
        for file_hash, jpeg in self.connection.execute(
            "SELECT media_hash, thumbnail FROM media_hash_thumbnail ORDER BY rowid"
        ):
            if not jpeg:
                continue
            try:
                sha256 = sha256_from_base64(file_hash)
            except ValueError as exc:
                yield Issue(
                    Severity.ERROR,
                    "bad-hash",
                    "table media_hash_thumbnail",
                    f"thumbnail key {str(file_hash)[:60]!r} unreadable ({exc})",
                )
                continue
            if sha256 is not None:
                yield Thumbnail(sha256, bytes(jpeg))

    def _recovered(
        self, connection: sqlite3.Connection, ids: list[int], label: str
    ) -> Iterator[Record]:
        people, chats, records = self._directory(connection)
        yield from records
        yield from self._messages(connection, people, chats, ids, label)


class _Legacy:
    """The pre-2022 schema: one wide `messages` table keyed by JID strings."""

    REQUIRED: ClassVar[dict[str, tuple[str, ...]]] = {
        "messages": ("_id", "key_remote_jid", "key_from_me", "timestamp"),
    }
    FEATURES: ClassVar[tuple[tuple[str, str, tuple[str, ...]], ...]] = (
        ("message ids (cross-device links and clock offsets)", "messages", ("key_id",)),
        ("group senders", "messages", ("remote_resource",)),
        ("forwarded flags", "messages", ("forwarded",)),
        ("message kinds", "messages", ("media_wa_type", "status")),
        ("message text", "messages", ("data",)),
        (
            "media references",
            "messages",
            ("media_hash", "media_name", "media_size", "media_mime_type"),
        ),
        ("media captions", "messages", ("media_caption",)),
        ("locations", "messages", ("latitude", "longitude")),
        ("group names and creation times", "chat_list", ("key_remote_jid", "subject", "creation")),
        ("group members and admins", "group_participants", ("gjid", "jid", "admin", "pending")),
        ("WhatsApp thumbnails", "message_thumbnails", ("thumbnail", "key_id")),
    )

    def __init__(self, connection: sqlite3.Connection, schema: Schema, artefact: Artefact):
        self.connection = connection
        self.schema = schema
        self.artefact = artefact
        self.available, self.feature_issues = features(schema, self.FEATURES)
        self.seen = Seen()
        self.issues: list[Issue] = []

    def read(self) -> Iterator[Record]:
        problem = required(self.schema, self.REQUIRED)
        if problem is not None:
            yield problem
            return
        yield Issue(Severity.INFO, "schema", "table messages", "pre-2022 schema (messages)")
        yield from self.feature_issues
        yield Issue(
            Severity.WARNING,
            "unavailable",
            "table messages",
            "group events unavailable: pre-2022 system messages are kept as messages "
            "but not decoded; @lid ids and forward scores did not exist yet",
        )
        yield from self._directory(self.connection)
        yield from self._members()
        live = array("q")
        for record in self._messages(self.connection, None, None):
            if isinstance(record, Message):
                live.append(record.source_row)
            yield record
        yield from self._thumbnails()
        yield from recover_deleted(self.artefact.copy, "messages", "_id", live, self._recovered)

    def _account(self, raw: str) -> Iterator[Account]:
        account = jids.account_for_jid(raw)
        if self.seen.new(account):
            yield account

    def _directory(self, connection: sqlite3.Connection) -> Iterator[Record]:
        if "group names and creation times" in self.available:
            for raw, subject, creation in connection.execute(
                "SELECT key_remote_jid, subject, creation FROM chat_list"
            ):
                if raw and jids.is_group_jid(raw):
                    group = Group(
                        jids.group_key(jids.split_jid(raw)[0]),
                        subject,
                        None,
                        from_unix_ms(creation),
                    )
                    if self.seen.new(group):
                        yield group
        sender = self.schema.column("m", "messages", "remote_resource")
        for raw, member in connection.execute(
            f"SELECT DISTINCT m.key_remote_jid, {sender} FROM messages m"
        ):
            if raw and jids.is_group_jid(raw):
                group = Group(jids.group_key(jids.split_jid(raw)[0]))
                if self.seen.new(group):
                    yield group
            elif raw:
                yield from self._account(raw)
            if member:
                yield from self._account(member)

    def _members(self) -> Iterator[Record]:
        if "group members and admins" not in self.available:
            return
        for gjid, raw, admin, pending in self.connection.execute(
            "SELECT gjid, jid, admin, pending FROM group_participants ORDER BY _id"
        ):
            if not gjid or not raw:
                yield Issue(
                    Severity.ERROR,
                    "dangling",
                    "table group_participants",
                    f"member row without a group or member jid ({gjid!r}, {raw!r})",
                )
                continue
            yield from self._account(raw)
            group = jids.group_key(jids.split_jid(gjid)[0])
            action = GroupAction.PENDING if pending else RANKS.get(admin or 0, GroupAction.ADMIN)
            yield GroupEvent(group, action, jids.account_for_jid(raw).key)

    def _messages(
        self, connection: sqlite3.Connection, ids: list[int] | None, recovered: str | None
    ) -> Iterator[Record]:
        s = self.schema
        columns = ", ".join(
            [
                "m._id",
                "m.key_remote_jid",
                "m.key_from_me",
                s.column("m", "messages", "key_id"),
                s.column("m", "messages", "remote_resource"),
                "m.timestamp",
                s.column("m", "messages", "media_wa_type"),
                s.column("m", "messages", "status"),
                s.column("m", "messages", "data"),
                s.column("m", "messages", "media_hash"),
                s.column("m", "messages", "media_name"),
                s.column("m", "messages", "media_size"),
                s.column("m", "messages", "media_mime_type"),
                s.column("m", "messages", "media_caption"),
                s.column("m", "messages", "forwarded"),
                s.column("m", "messages", "latitude"),
                s.column("m", "messages", "longitude"),
            ]
        )
        sql = f"SELECT {columns} FROM messages m"
        has_flag = "forwarded flags" in self.available
        for (
            row_id,
            raw,
            from_me,
            key_id,
            member,
            ms,
            wa_type,
            status,
            text,
            file_hash,
            name,
            size,
            mime,
            caption,
            forwarded,
            latitude,
            longitude,
        ) in rows_by_id(connection, sql, "m._id", ids):
            is_group = bool(raw) and jids.is_group_jid(raw)
            if is_group:
                chat = jids.group_key(jids.split_jid(raw)[0])
                sender = jids.account_for_jid(member).key if member else None
            else:
                chat = jids.account_for_jid(raw or "").key
                sender = chat
            system = status == LEGACY_SYSTEM_STATUS
            kind = "system" if system else kind_of(wa_type)
            where = place(latitude, longitude, None) if kind == "location" else None
            media = (
                None
                if system or where is not None
                else media_ref(
                    self.issues,
                    f"message {row_id}",
                    file_hash or None,
                    name,
                    size,
                    mime,
                    caption,
                )
            )
            yield Message(
                row_id,
                chat,
                is_group,
                None if from_me else sender,
                bool(from_me),
                from_unix_ms(ms),
                kind,
                key_id,
                text,
                bool(forwarded) if has_flag else None,
                None,
                media,
                recovered,
                where,
            )
            yield from self.issues
            self.issues.clear()

    def _thumbnails(self) -> Iterator[Record]:
        if "WhatsApp thumbnails" not in self.available or "media references" not in self.available:
            return
        for file_hash, jpeg in self.connection.execute(
            "SELECT m.media_hash, t.thumbnail FROM message_thumbnails t"
            " JOIN messages m ON m.key_id = t.key_id AND m.key_remote_jid = t.key_remote_jid"
            " WHERE m.media_hash IS NOT NULL ORDER BY t.rowid"
        ):
            if not jpeg:
                continue
            try:
                sha256 = sha256_from_base64(file_hash)
            except ValueError:
                continue  # the message itself already reported its bad hash
            if sha256 is not None:
                yield Thumbnail(sha256, bytes(jpeg))

    def _recovered(
        self, connection: sqlite3.Connection, ids: list[int], label: str
    ) -> Iterator[Record]:
        yield from self._directory(connection)
        yield from self._messages(connection, ids, label)


class AndroidMsgstore(MessagingFormat):
    name = "whatsapp-android"
    title = "WhatsApp for Android: msgstore.db (current and pre-2022 schemas)"

    @classmethod
    def probe(cls, name: str, head: bytes, tables: frozenset[str]) -> bool:
        if not head.startswith(MAGIC):
            return False
        current = {"message", "chat", "jid"} <= tables
        legacy = "messages" in tables and ("chat_list" in tables or name.startswith("msgstore"))
        return current or legacy

    @classmethod
    def read(cls, artefact: Artefact) -> Iterator[Record]:
        with closing(connect(artefact.copy)) as connection:
            schema = Schema(connection)
            reader: _Current | _Legacy
            if "message" in schema.tables:
                reader = _Current(connection, schema, artefact)
            elif "messages" in schema.tables:
                reader = _Legacy(connection, schema, artefact)
            else:
                yield Issue(
                    Severity.ERROR,
                    "unreadable",
                    "tables",
                    "neither a message nor a messages table: not a msgstore.db",
                )
                return
            yield from reader.read()

    @classmethod
    def example(cls, folder: Path) -> Path:
        from cairn.messaging.samples import example_device, write_msgstore

        folder.mkdir(parents=True, exist_ok=True)
        return write_msgstore(folder / "msgstore.db", example_device())

    @classmethod
    def example_counts(cls) -> dict[str, int]:
        # 4 accounts: Alice, Bob, Carol, and Bob's @lid resolved to him (with the lid set);
        # 3 member rows + created + joined-by-link; 2 info issues (schema, recovery); the owner
        # (named by the notice of the group's creation, done on the phone).
        return {
            "Issue": 2,
            "Account": 4,
            "Owner": 1,
            "Group": 1,
            "GroupEvent": 5,
            "Message": 5,
            "Thumbnail": 1,
        }


def legacy_example(folder: Path) -> Path:
    """The example device in the pre-2022 schema (the shared format tests read it too)."""
    from cairn.messaging.samples import example_device, write_legacy_msgstore

    folder.mkdir(parents=True, exist_ok=True)
    return write_legacy_msgstore(folder / "msgstore.db", example_device())
