"""Storing one import's records: the rows an artefact's reader yields, written in batches.

Accounts and groups are merged into the case's (the first phone to name someone keeps its
name for them); messages, group events and issues are inserted in batches; thumbnails
WhatsApp kept are re-encoded and sealed like review thumbnails.
"""

from __future__ import annotations

import io
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, insert, select, update

from cairn.messaging import jids
from cairn.messaging.base import (
    Account,
    Group,
    GroupEvent,
    Issue,
    Message,
    Owner,
    Record,
    Severity,
    Thumbnail,
)
from cairn.services.messaging.sql import chunks
from cairn.store.messaging_models import (
    MsgAccount,
    MsgGroup,
    MsgGroupEvent,
    MsgImportIssue,
    MsgMessage,
    MsgThumbnail,
)
from cairn.store.models import Media
from cairn.store.models import Thumbnail as ReviewThumbnail
from cairn.store.writer import insert_ignoring_duplicates

MESSAGE_BATCH = 10_000  # rows per INSERT: large enough to amortise, small enough for memory
THUMBNAIL_BATCH = 1000  # sealed thumbnails (a few kB each) held before they are stored
ISSUES_SHOWN = 100  # per import summary; every issue is stored
NO_PLACE = (None, None, None)
_ACCOUNT_FIELDS = ("phone", "jid", "lid", "display_name", "push_name")
_MESSAGE_COLUMNS = (  # of MsgMessage, in the order of RecordWriter.messages' tuples
    "import_id",
    "source_row",
    "key_id",
    "group_id",
    "peer_account_id",
    "sender_account_id",
    "from_me",
    "at",
    "kind",
    "text",
    "forwarded",
    "forward_score",
    "media_sha256",
    "media_path",
    "media_size",
    "media_mime",
    "media_caption",
    "recovered",
    "latitude",
    "longitude",
    "place_name",
)


class RecordWriter:
    """Turns one import's records into rows: accounts and groups merged into the case's,
    messages and events inserted in batches, thumbnails re-encoded and sealed."""

    def __init__(
        self,
        connection: Connection,
        case_id: int,
        scope: str,
        owner_key: str | None,
        thumbnail_key: bytes,
    ) -> None:
        self.connection = connection
        self.case_id = case_id
        self.import_id = 0
        self.thumbnail_key = thumbnail_key
        # The phone's own messages and acts are its owner's: the number given, else the one
        # the artefact states (an `Owner` record, before the first message).
        self.scope = scope
        self.placeholder = jids.owner_key(scope)
        self.remap = {self.placeholder: owner_key} if owner_key else {}
        self.owner: tuple[str, str] | None = (owner_key, "given at import") if owner_key else None
        self.accounts: dict[str, tuple[int, dict[str, Any]]] = {}
        self.groups: dict[str, tuple[int, dict[str, Any]]] = {}
        fields = [getattr(MsgAccount, c) for c in _ACCOUNT_FIELDS]
        # Telegram ids of people keyed by their number (`tg:user123` -> `+44…`): an export
        # that lacks the number names them by id.
        self.aliases: dict[str, str] = {}
        for key, row_id, *values in connection.execute(
            select(MsgAccount.key, MsgAccount.id, *fields).where(MsgAccount.case_id == case_id)
        ):
            self.accounts[key] = (row_id, dict(zip(_ACCOUNT_FIELDS, values, strict=True)))
            self._alias(key, values[_ACCOUNT_FIELDS.index("jid")])
        for key, row_id, name, creator, created in connection.execute(
            select(
                MsgGroup.key,
                MsgGroup.id,
                MsgGroup.name,
                MsgGroup.creator_account_id,
                MsgGroup.created_at,
            ).where(MsgGroup.case_id == case_id)
        ):
            self.groups[key] = (
                row_id,
                {"name": name, "creator_account_id": creator, "created_at": created},
            )
        self.messages: list[tuple[Any, ...]] = []  # in _MESSAGE_COLUMNS order
        self.message_rows = _RowInserter(connection, MsgMessage, _MESSAGE_COLUMNS)
        self.events: list[dict[str, Any]] = []
        self.issues: list[dict[str, Any]] = []
        self.thumbnails: set[str] = set()  # SHA-256 of every thumbnail seen
        self.sealed: dict[str, bytes] = {}  # sealed, not yet stored
        self.counts: dict[str, int] = defaultdict(int)
        self.severities: dict[str, int] = defaultdict(int)
        self.shown: list[str] = []
        self.recovery: list[str] = []
        self.unavailable: list[str] = []

    def account_id(self, key: str | None, record: Account | None = None) -> int | None:
        if key is None:
            return None
        key = self.remap.get(key, key)
        if key not in self.accounts:
            key = self.aliases.get(key, key)
        if record is not None and record.jid:
            self._alias(key, record.jid)
        known = self.accounts.get(key)
        if record is None and known is not None:  # the common case: a message's sender
            return known[0]
        values = {c: getattr(record, c) if record else None for c in _ACCOUNT_FIELDS}
        if key.startswith("+") and not values["phone"]:
            values["phone"] = key
        return self._upsert(MsgAccount, self.accounts, key, values, "accounts")

    def _alias(self, key: str, address: str | None) -> None:
        if address and address.startswith("tg:") and address != key:
            self.aliases.setdefault(address, key)

    def group_id(self, key: str, record: Group | None = None) -> int:
        known = self.groups.get(key)
        if record is None and known is not None:
            return known[0]
        values: dict[str, Any] = {"name": None, "creator_account_id": None, "created_at": None}
        if record is not None:
            values = {
                "name": record.name,
                "created_at": record.created_at,
                "creator_account_id": self.account_id(record.creator),
            }
        return self._upsert(MsgGroup, self.groups, key, values, "groups")

    def _upsert(
        self,
        table: type[MsgAccount] | type[MsgGroup],
        known: dict[str, tuple[int, dict[str, Any]]],
        key: str,
        values: dict[str, Any],
        counter: str,
    ) -> int:
        """The row of `key`, inserted if new; fields it lacks are filled from `values`
        (the first phone to name someone keeps its name for them)."""
        found = known.get(key)
        if found is None:
            row_id = int(
                self.connection.execute(
                    insert(table).returning(table.id),
                    {"case_id": self.case_id, "key": key, **values},
                ).scalar_one()
            )
            known[key] = (row_id, values)
            self.counts[counter] += 1
            return row_id
        row_id, stored = found
        fill = {c: v for c, v in values.items() if v is not None and stored.get(c) is None}
        if fill:
            self.connection.execute(update(table).where(table.id == row_id).values(**fill))
            stored.update(fill)
        return row_id

    def add(self, record: Record) -> None:
        if isinstance(record, Message):
            self._message(record)
        elif isinstance(record, Account):
            self.account_id(record.key, record)
        elif isinstance(record, Group):
            self.group_id(record.key, record)
        elif isinstance(record, GroupEvent):
            self.events.append(
                {
                    "import_id": self.import_id,
                    "group_id": self.group_id(record.group),
                    "account_id": self.account_id(record.account),
                    "action": record.action.value,
                    "at": record.at,
                    "actor_account_id": self.account_id(record.actor),
                }
            )
            self.counts["group_events"] += 1
        elif isinstance(record, Thumbnail):
            self._thumbnail(record)
        elif isinstance(record, Owner):
            self._owner(record)
        else:
            self._issue(record)
        if len(self.messages) >= MESSAGE_BATCH or len(self.sealed) >= THUMBNAIL_BATCH:
            self.flush()

    def _owner(self, owner: Owner) -> None:
        """The number the artefact states as its phone's own; a number given at import
        stands, and a different one stated is reported."""
        stated = owner.account.key
        self.account_id(stated, owner.account)
        if self.owner is None:
            self.owner = (stated, f"stated by the phone: {owner.source}")
            self.remap[self.placeholder] = stated
        elif self.owner[0] != stated:
            self._issue(
                Issue(
                    Severity.WARNING,
                    "owner-differs",
                    "owner",
                    f"{self.owner[0]} was given at import, but the artefact names {stated} "
                    f"({owner.source})",
                )
            )

    def owner_row(self) -> tuple[int, str | None]:
        """The owner's account and how it is known: given, stated, else a stand-in."""
        if self.owner is None:
            account = Account(self.placeholder, display_name=f"owner of {self.scope}")
            return self.account_id(self.placeholder, account) or 0, None
        return self.account_id(self.owner[0]) or 0, self.owner[1]

    def _message(self, m: Message) -> None:
        media = m.media
        self.messages.append(
            (
                self.import_id,
                m.source_row,
                m.key_id,
                self.group_id(m.chat) if m.is_group else None,
                None if m.is_group else self.account_id(m.chat),
                self.account_id(m.sender),
                m.from_me,
                m.at,
                m.kind,
                m.text,
                m.forwarded,
                m.forward_score,
                media.sha256 if media else None,
                media.path if media else None,
                media.size if media else None,
                media.mime if media else None,
                media.caption if media else None,
                m.recovered,
                *((m.place.latitude, m.place.longitude, m.place.name) if m.place else NO_PLACE),
            )
        )
        counts = self.counts
        # People's messages apart from the app's notices (group created, member added, …).
        counts["system_messages" if m.kind == "system" else "messages"] += 1
        if media is not None:
            counts["media" if media.sha256 else "media_without_hash"] += 1
        if m.recovered:
            counts["recovered_messages"] += 1
        if m.place is not None:
            counts["locations"] += 1
        if m.kind == "unknown":  # kept, and counted so that a reader's gap shows
            counts["unknown_messages"] += 1

    def _issue(self, issue: Issue) -> None:
        if issue.code == "recovery" and issue.severity is Severity.INFO:
            self.recovery.append(issue.message)
        if issue.code == "unavailable":
            self.unavailable.append(issue.message)
        self.severities[issue.severity.value] += 1
        if len(self.shown) < ISSUES_SHOWN:
            self.shown.append(str(issue))
        self.issues.append(
            {
                "import_id": self.import_id,
                "severity": issue.severity.value,
                "code": issue.code,
                "location": issue.where,
                "message": issue.message,
            }
        )

    def _thumbnail(self, thumbnail: Thumbnail) -> None:
        """Re-encode (no metadata carried over) and seal, like review thumbnails."""
        from PIL import Image, UnidentifiedImageError

        from cairn.media.thumbnail import make_thumbnail

        if thumbnail.sha256 in self.thumbnails:
            return
        self.thumbnails.add(thumbnail.sha256)
        try:
            with Image.open(io.BytesIO(thumbnail.jpeg)) as image:
                image.load()
                sealed = make_thumbnail(image, self.thumbnail_key, sha256=thumbnail.sha256)
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            self._issue(
                Issue(
                    Severity.ERROR,
                    "bad-thumbnail",
                    f"media {thumbnail.sha256}",
                    f"the thumbnail WhatsApp kept does not decode: {exc}",
                )
            )
            return
        self.sealed[thumbnail.sha256] = sealed

    def _store_thumbnails(self) -> None:
        """New thumbnails in one batch; also the review's thumbnail of an ingested file that
        has none (its own could not be made, or its file is a video)."""
        shas = list(self.sealed)
        for chunk in chunks(shas):
            stored = set(
                self.connection.scalars(
                    select(MsgThumbnail.sha256).where(MsgThumbnail.sha256.in_(chunk))
                )
            )
            fresh = [
                {"sha256": sha, "blob": self.sealed[sha], "import_id": self.import_id}
                for sha in chunk
                if sha not in stored
            ]
            if fresh:
                self.connection.execute(insert(MsgThumbnail), fresh)
                self.counts["thumbnails"] += len(fresh)
            ingested = list(
                self.connection.scalars(select(Media.sha256).where(Media.sha256.in_(chunk)))
            )
            if ingested:
                self.connection.execute(
                    insert_ignoring_duplicates(self.connection.engine, ReviewThumbnail, "sha256"),
                    [{"sha256": sha, "blob": self.sealed[sha]} for sha in ingested],
                )
        self.sealed.clear()

    def flush(self) -> None:
        self.message_rows.insert(self.messages)
        self.messages.clear()
        self._store_thumbnails()
        for table, rows in ((MsgGroupEvent, self.events), (MsgImportIssue, self.issues)):
            if rows:
                self.connection.execute(insert(table), rows)
                rows.clear()


class _RowInserter:
    """Plain-tuple batch INSERTs through the driver, for the one table that takes millions
    of rows: SQLAlchemy's per-row parameter handling cost as much as SQLite's own insert.
    Column types still convert values (SQLite's datetime text) with their bind processors.
    """

    def __init__(self, connection: Connection, table: type[MsgMessage], columns: tuple[str, ...]):
        self.connection = connection
        dialect = connection.dialect
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        self.sql = (
            f"INSERT INTO {table.__tablename__} ({', '.join(columns)}) "
            f"VALUES ({', '.join([marker] * len(columns))})"
        )
        types = [table.__table__.c[name].type for name in columns]
        self.processors = [
            (i, p) for i, t in enumerate(types) if (p := t.bind_processor(dialect)) is not None
        ]

    def insert(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.processors:
            converted = []
            for row in rows:
                values = list(row)
                for index, process in self.processors:
                    if values[index] is not None:
                        values[index] = process(values[index])
                converted.append(tuple(values))
            rows = converted
        self.connection.exec_driver_sql(self.sql, rows)
