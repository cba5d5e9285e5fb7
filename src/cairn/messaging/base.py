"""The messaging-format plugin interface and the records every reader yields.

Readers describe, the messaging service stores (plaso's parser/mediator split): a reader gets a
private copy of an artefact (never the evidence itself) and streams typed records in an order
the writer can rely on: every account and group before the first message or event that names
it. Identities travel as *keys* (`+447700900123`, `lid:…`, `g:…@g.us`, see `identity`) so
that the same person seen on two phones is one account of the case.

Nothing read is dropped silently: what a reader cannot use becomes an `Issue` with the place
it came from, and a missing table or column becomes an `Issue` saying which feature is lost.
"""

from __future__ import annotations

import base64
import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Severity(enum.StrEnum):
    ERROR = "error"  # something read could not be used (a malformed line, an unreadable file)
    WARNING = "warning"  # a feature is unavailable, a locale unknown, an attachment missing
    INFO = "info"  # facts about the reading itself: schema version, recovery outcome


@dataclass(frozen=True, slots=True)
class Issue:
    severity: Severity
    code: str  # unavailable, malformed-line, unknown-locale, bad-hash, unreadable, ...
    where: str  # "table message_forwarded", "line 12", "message 55"
    message: str

    def __str__(self) -> str:
        return f"{self.severity.value} {self.code} ({self.where}): {self.message}"


@dataclass(frozen=True, slots=True)
class Account:
    """A person as one artefact knows them. Fields left None are filled from other artefacts."""

    key: str
    phone: str | None = None  # E.164
    jid: str | None = None
    lid: str | None = None  # WhatsApp's privacy id, when the artefact maps it to this account
    display_name: str | None = None  # the device owner's contact name for them
    push_name: str | None = None  # the name they gave themselves


@dataclass(frozen=True, slots=True)
class Owner:
    """The phone's own account, as the artefact itself states it (whose its "from me"
    messages are), and where it says so: shown beside every inference in court."""

    account: Account
    source: str  # "ZTOJID of 12 received messages; creator of 2 groups (ZCREATORJID)"


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    name: str | None = None
    creator: str | None = None  # account key
    created_at: datetime | None = None


class GroupAction(enum.StrEnum):
    """What a group event says. The first four describe membership as of the extraction
    (no time); the others are dated events from system messages."""

    MEMBER = "member"
    ADMIN = "admin"
    SUPERADMIN = "superadmin"  # WhatsApp's rank 2: the group's creator or owner
    PENDING = "pending"  # asked to join, not admitted
    CREATED = "created"
    ADDED = "added"
    JOINED_BY_LINK = "joined-by-link"
    JOINED_BY_REQUEST = "joined-by-request"  # Telegram: admitted after asking to join
    LEFT = "left"
    REMOVED = "removed"
    LINK_RESET = "link-reset"
    SUBJECT_CHANGED = "subject-changed"


@dataclass(frozen=True, slots=True)
class GroupEvent:
    group: str  # group key
    action: GroupAction
    account: str | None  # whom it concerns (account key)
    at: datetime | None = None
    actor: str | None = None  # who did it (the admin who added or removed)


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A message's media. `sha256` is the hex SHA-256 of the plaintext file (WhatsApp's
    `file_hash`): it links the message to seized files and hash sets even when the file is
    gone. None when the artefact does not say (exports whose attachment is missing)."""

    sha256: str | None
    path: str | None = None
    size: int | None = None
    mime: str | None = None
    caption: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class Place:
    """Where a location message points: WGS 84 degrees, and the place's name when shared."""

    latitude: float
    longitude: float
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    source_row: int  # _id, Z_PK, or the line number of an export
    chat: str  # a group key, or the peer's account key for a one-to-one chat
    is_group: bool
    sender: str | None  # account key; None when sent from the device (its owner)
    from_me: bool
    at: datetime | None  # UTC, as the device recorded it (clock offsets are applied later)
    kind: str  # text, image, video, audio, document, gif, sticker, system, ...
    key_id: str | None = None  # WhatsApp's message id, the same on every device
    text: str | None = None
    forwarded: bool | None = None  # None: the artefact cannot say (exports)
    forward_score: int | None = None
    media: MediaRef | None = None
    recovered: str | None = None  # how a deleted record was recovered, None if live
    place: Place | None = None  # a location message's place


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """A thumbnail the app kept for a media file (JPEG bytes): the reviewer's only view of
    media whose file is gone."""

    sha256: str
    jpeg: bytes


def place(latitude: float | None, longitude: float | None, name: str | None) -> Place | None:
    """A place from an app's columns; None when unset or off the globe (apps write 0, 0 or
    NULL for "no location")."""
    if latitude is None or longitude is None or (latitude == 0 and longitude == 0):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return Place(float(latitude), float(longitude), name or None)


Record = Account | Owner | Group | GroupEvent | Message | Thumbnail | Issue


@dataclass(frozen=True)
class Artefact:
    """What a reader reads: a private copy of the artefact, and facts about where it was.

    SQLite databases are copied with their `-wal`, `-shm` and `-journal` companions into the
    same private folder, so `copy` opens exactly as the app left it.
    """

    path: str  # where it was found: relative to the evidence root, or as given
    copy: Path
    scope: str = ""  # the evidence label: the namespace of names that are local to a phone
    timezone: str | None = None  # the evidence's zone, for exports' local times
    # Exports: hashes an attachment lying beside the export; None when it is not there.
    attachment: Callable[[str], MediaRef | None] | None = None


class MessagingFormat(ABC):
    """One messaging artefact format. Subclasses are listed in `cairn.messaging.registry`.

    Class methods only (python-threatexchange's SignalType pattern): a format has no state, and
    each carries a tiny benign example so the shared tests exercise every registered format.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    sqlite: ClassVar[bool] = True  # copied with its companions and opened with SQLite

    @classmethod
    @abstractmethod
    def probe(cls, name: str, head: bytes, tables: frozenset[str]) -> bool:
        """Whether a file is in this format: its name, first bytes and (SQLite) table names."""

    @classmethod
    @abstractmethod
    def read(cls, artefact: Artefact) -> Iterator[Record]:
        """Stream the artefact's records: accounts and groups before anything naming them,
        and the phone's `Owner`, when the artefact states it, before its first message."""

    @classmethod
    @abstractmethod
    def example(cls, folder: Path) -> Path:
        """Write a tiny benign sample into `folder` and return the file to import."""

    @classmethod
    @abstractmethod
    def example_counts(cls) -> dict[str, int]:
        """How many records of each kind (`Record` class names) the example reads back as."""


def count_records(records: Iterator[Record]) -> dict[str, int]:
    """Records per class name: what `example_counts` is compared with."""
    counts: dict[str, int] = {}
    for record in records:
        name = type(record).__name__
        counts[name] = counts.get(name, 0) + 1
    return counts


COCOA_EPOCH = 978307200  # 2001-01-01T00:00:00Z in Unix seconds: Core Data's time origin


def from_unix_ms(ms: int | float | None) -> datetime | None:
    """Android's times (Unix milliseconds); 0 means "not set" there."""
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC)


def from_cocoa(seconds: int | float | None) -> datetime | None:
    """iOS Core Data times: seconds since 2001-01-01 UTC."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds + COCOA_EPOCH, UTC)


def evidence_zone(artefact: Artefact) -> tuple[tzinfo, Issue | None]:
    """The zone an export's local times are read in: the evidence's, else UTC; an error
    when the evidence names a zone that does not exist."""
    name = artefact.timezone
    if not name:
        return UTC, None
    try:
        return ZoneInfo(name), None
    except (ZoneInfoNotFoundError, ValueError):
        return UTC, Issue(
            Severity.ERROR,
            "timezone",
            artefact.path,
            f"unknown time zone {name!r}: times read as UTC",
        )


def sha256_from_base64(text: str | bytes | None) -> str | None:
    """WhatsApp's `file_hash` (base64 of the raw SHA-256) as hex; ValueError if it is not one."""
    if text is None or text == "":
        return None
    raw = base64.b64decode(text, validate=True)
    if len(raw) != 32:
        raise ValueError(f"{len(raw)} bytes, not the 32 of a SHA-256")
    return raw.hex()


class Seen:
    """Accounts and groups a reader already yielded: each goes to the writer once."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    def new(self, record: Account | Group) -> bool:
        if record.key in self.keys:
            return False
        self.keys.add(record.key)
        return True


def plural(count: int, word: str) -> str:
    """`1 message`, `2 messages`: summaries are read aloud in court."""
    return f"{count} {word}{'' if count == 1 else 's'}"
