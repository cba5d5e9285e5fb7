"""Telegram Desktop's "Export chat history" in its machine-readable form: `result.json`.

The export is a folder: `result.json` and the media it names by paths relative to that folder
(`photos/…`, `files/…`, `chats/chat_001/photos/…` in a full-account export). The document is
one chat (`name`, `type`, `id`, `messages`) or a whole account (`personal_information`,
`contacts.list`, `chats.list`, `left_chats.list`, each chat as above); docs/formats.md lists
the fields read. It is streamed (`cairn.core.json_stream`), twice: a first pass learns who is
who (user ids, their names and, where the export has them, numbers; the account's own id), the
second yields records, so that a member named in a notice before ever writing is still known.

People are keyed by their number when the export gives one (the account's own profile, its
contacts list), else by Telegram's id (`tg:user123`), which a number-keyed account keeps as
its address (`jid`) so that a later export without the number finds it. Forwards carry only
the original sender's name, so they count as forwards without linking to an account. HTML
exports are not read: `html_problem` says what to export instead.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, ClassVar

from cairn.core.json_stream import Damaged, JsonStream
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
    evidence_zone,
    place,
    plural,
)
from cairn.messaging.owner import OwnerClues

# Chat types (the writer's `TypeString`): one-to-one chats, and the rest, read as groups.
ONE_TO_ONE = frozenset({"personal_chat", "bot_chat", "saved_messages"})
GROUP_TYPES = frozenset(
    {
        "private_group",
        "private_supergroup",
        "public_supergroup",
        "private_channel",
        "public_channel",
        "replies",
    }
)
# Message ids are the channel's own in supergroups and channels, the same in every member's
# export; elsewhere each account numbers its messages itself.
SHARED_IDS = frozenset(
    {"private_supergroup", "public_supergroup", "private_channel", "public_channel"}
)
# `media_type` of a document; a document without one is a plain file.
FILE_KINDS = {
    "sticker": "sticker",
    "video_message": "video",
    "voice_message": "audio",
    "animation": "gif",
    "video_file": "video",
    "audio_file": "audio",
}
# Service actions that change who is in a group; every other action is a notice only.
ACTIONS = {
    "create_group": GroupAction.CREATED,
    "create_channel": GroupAction.CREATED,
    "invite_members": GroupAction.ADDED,
    "remove_members": GroupAction.REMOVED,
    "join_group_by_link": GroupAction.JOINED_BY_LINK,
    "join_group_by_request": GroupAction.JOINED_BY_REQUEST,
    "edit_group_title": GroupAction.SUBJECT_CHANGED,
}
# What a result.json starts with: one chat's `"type"`, or a whole account's `"about"` and parts.
_DIALOG_TYPE = re.compile(
    rb'\n\s*"type":\s*"(' + "|".join(sorted(ONE_TO_ONE | GROUP_TYPES)).encode() + rb')"'
)
_ACCOUNT_EXPORT = re.compile(rb'^\{\s*"about":\s*"')
_ACCOUNT_PARTS = re.compile(
    rb'\n\s*"(personal_information|profile_pictures|contacts|frequent_contacts|sessions|'
    rb'web_sessions|other_data|chats|left_chats)":'
)
# Telegram Desktop's HTML pages: `messages.html` (one chat) or `export_results.html`.
_HTML_MARKS = (b"<title>Exported Data</title>", b"CheckLocation()")
HTML_NAMES = ("messages.html", "export_results.html")


def html_problem(name: str, head: bytes) -> str | None:
    """Why a Telegram Desktop HTML export cannot be read, if the file is one."""
    if name not in HTML_NAMES or not all(mark in head for mark in _HTML_MARKS):
        return None
    return (
        f"{name} is a Telegram Desktop HTML export, which Cairn does not read: export the "
        "chat again in Telegram Desktop (Export chat history, Format: Machine-readable JSON, "
        "or HTML and JSON) and import the folder holding its result.json"
    )


@dataclass
class _Scan:
    """What the first pass learns."""

    owner_id: str | None = None  # the exporting account's from_id (`user123`)
    owner: Account | None = None
    phones: dict[str, str] = field(default_factory=dict)  # from_id -> E.164
    names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    chats: int = 0
    messages: int = 0
    kind: str = "one chat"
    damage: str | None = None  # why reading stopped early


@dataclass
class _Chat:
    key: str
    is_group: bool
    type: str
    name: str | None
    id: str
    shared_ids: bool


class _Export:
    def __init__(self, artefact: Artefact) -> None:
        self.artefact = artefact
        self.scope = artefact.scope
        self.seen = Seen()
        self.scan = _Scan()
        self.zone: tzinfo | None = None
        self.local_times = 0  # messages without date_unixtime, read in the evidence's zone
        self.unknown: Counter[str] = Counter()  # message and chat types Cairn does not know
        self.excluded = 0  # media left out of the export by its settings
        self.excluded_first = ""
        self.malformed: list[Issue] = []
        self.owner_source = ""
        self.second_pass = False  # damage found in the first pass is reported in the second

    # --- the two passes ------------------------------------------------------------------

    def read(self) -> Iterator[Record]:
        self._first_pass()
        scan = self.scan
        if scan.damage is not None:
            yield Issue(
                Severity.ERROR,
                "truncated" if scan.chats else "unreadable",
                self.artefact.path,
                f"{scan.damage}: "
                + (
                    f"the {plural(scan.messages, 'message')} before it are read"
                    if scan.chats
                    else "not a readable Telegram export"
                ),
            )
            if not scan.chats:
                return
        yield Issue(
            Severity.INFO,
            "schema",
            self.artefact.path,
            f"Telegram Desktop JSON export ({scan.kind}): {plural(scan.chats, 'chat')}, "
            f"{plural(scan.messages, 'message')}",
        )
        owner = self._owner()
        if owner is not None:
            yield owner
        chat: _Chat | None = None
        self.second_pass = True
        try:
            for what, value in self._walk():
                if what == "contact":
                    yield from self._contact(value)
                elif what == "chat":
                    chat = self._chat(value)
                    yield from self._chat_records(chat, value)
                elif what == "message" and chat is not None:
                    yield from self._message(chat, value)
        except (Damaged, json.JSONDecodeError, UnicodeDecodeError):
            pass  # reported above, from the first pass
        yield from self.malformed
        yield from self._notes()

    def _first_pass(self) -> None:
        scan = self.scan
        personal: dict[str, Any] | None = None
        peer: str | None = None
        chat_name = ""
        clues: dict[str, Counter[str]] = defaultdict(Counter)
        try:
            for what, value in self._walk():
                if what == "personal":
                    personal = value
                    scan.kind = "full account"
                elif what == "contact":
                    user = _user_id(value.get("user_id"))
                    phone = _phone(value.get("phone_number"))
                    if user and phone:
                        scan.phones[user] = phone
                    full = _full_name(value)
                    if user and full:
                        scan.names[full].add(user)
                elif what == "chat":
                    scan.chats += 1
                    kind = value.get("type")
                    peer = f"user{value.get('id')}" if kind == "personal_chat" else None
                    if kind == "saved_messages":
                        peer = ""  # every message in it is the account's own
                    chat_name = str(value.get("name") or f"chat {value.get('id')}")
                elif what == "message":
                    scan.messages += 1
                    for label in ("from", "actor"):
                        sender = value.get(f"{label}_id")
                        shown = value.get(label)
                        if isinstance(sender, str) and sender.startswith("user"):
                            if isinstance(shown, str) and shown:
                                scan.names[shown].add(sender)
                            if peer is not None and sender != peer:
                                clues[sender][chat_name if peer else "Saved Messages"] += 1
        except Damaged as exc:
            scan.damage = str(exc)
        except json.JSONDecodeError as exc:
            scan.damage = f"not JSON ({exc.msg} at line {exc.lineno})"
        except UnicodeDecodeError as exc:
            scan.damage = f"not UTF-8 text (byte {exc.start})"
        owner_clues = OwnerClues()
        if personal is not None:
            user = _user_id(personal.get("user_id"))
            if user:
                phone = _phone(personal.get("phone_number"))
                if phone:
                    scan.phones[user] = phone
                username = personal.get("username")
                account = Account(
                    phone or f"tg:{user}",
                    phone,
                    f"tg:{user}" if phone else None,
                    display_name=_full_name(personal),
                    push_name=username if isinstance(username, str) and username else None,
                )
                owner_clues.add(account, 1, "the export's own profile (personal_information)")
        for sender, chats in sorted(clues.items()):
            where = ", ".join(f"{n} in {c!r}" for c, n in sorted(chats.items()))
            owner_clues.add(
                Account(scan.phones.get(sender) or f"tg:{sender}"),
                sum(chats.values()),
                f"{sender} wrote the other side of one-to-one chats ({where})",
            )
        stated = owner_clues.owner()
        if stated is not None:
            scan.owner = stated.account
            self.owner_source = stated.source
            scan.owner_id = next(
                (u for u, p in scan.phones.items() if p == stated.account.key),
                stated.account.key.removeprefix("tg:"),
            )

    def _owner(self) -> Owner | None:
        if self.scan.owner is None:
            return None
        return Owner(self.scan.owner, self.owner_source)

    def _walk(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(what, value) in document order: "personal", "contact", "chat" (its name, type
        and id), "message"."""
        with open(self.artefact.copy, encoding="utf-8-sig") as file:
            stream = JsonStream(file)
            if stream.peek() != "{":
                raise Damaged("the file does not start with a JSON object")
            yield from self._object(stream, top=True)

    def _object(self, stream: JsonStream, *, top: bool) -> Iterator[tuple[str, dict[str, Any]]]:
        header: dict[str, Any] = {}
        for key in stream.members():
            if key in ("name", "type", "id"):
                header[key] = stream.value()
            elif key == "messages":
                yield "chat", dict(header)
                for _ in stream.items():
                    message = self._value(stream)
                    if isinstance(message, dict):
                        yield "message", message
            elif top and key == "personal_information":
                value = self._value(stream)
                if isinstance(value, dict):
                    yield "personal", value
            elif top and key in ("contacts", "chats", "left_chats"):
                for inner in stream.members():
                    if inner != "list":
                        stream.skip_value()
                        continue
                    for _ in stream.items():
                        if key != "contacts":
                            yield from self._object(stream, top=False)
                            continue
                        contact = self._value(stream)
                        if isinstance(contact, dict):
                            yield "contact", contact
            else:
                stream.skip_value()

    def _value(self, stream: JsonStream) -> Any:
        """One record; a malformed one is noted (once, in the second pass) and skipped."""
        line = stream.line()
        try:
            return stream.value()
        except json.JSONDecodeError as exc:
            stream.skip_value()
            if self.second_pass and len(self.malformed) < 1000:
                self.malformed.append(
                    Issue(Severity.ERROR, "malformed", f"line {line}", f"not JSON: {exc.msg}")
                )
            return None

    # --- records ----------------------------------------------------------------------------

    def _key(self, from_id: str) -> str:
        """The account key of a `from_id` (`user123`, `channel456`)."""
        if from_id == self.scan.owner_id and self.scan.owner is not None:
            return self.scan.owner.key
        return self.scan.phones.get(from_id) or f"tg:{from_id}"

    def _account(self, from_id: str, name: Any) -> Iterator[Account]:
        key = self._key(from_id)
        shown = name if isinstance(name, str) and name else None
        phone = key if key.startswith("+") else None
        # The app's address: what links a number-keyed person to an export that lacks it.
        account = Account(key, phone, f"tg:{from_id}" if phone else None, display_name=shown)
        if self.seen.new(account):
            yield account

    def _named(self, name: Any) -> Iterator[Account | str]:
        """The account a name in a notice stands for: the one user the export shows under that
        name, else the name itself (scoped to the evidence, like a chat export's names)."""
        if not isinstance(name, str) or not name:
            return
        users = self.scan.names.get(name, set())
        if len(users) == 1:
            from_id = next(iter(users))
            yield from self._account(from_id, name)
            yield self._key(from_id)
            return
        account = jids.account_for_name(self.scope, name)
        if self.seen.new(account):
            yield account
        yield account.key

    def _contact(self, contact: dict[str, Any]) -> Iterator[Record]:
        phone = _phone(contact.get("phone_number"))
        if phone is not None:
            user = _user_id(contact.get("user_id"))
            address = f"tg:{user}" if user else None
            account = Account(phone, phone, address, display_name=_full_name(contact))
            if self.seen.new(account):
                yield account

    def _chat(self, header: dict[str, Any]) -> _Chat:
        kind = str(header.get("type") or "")
        chat_id = str(header.get("id", ""))
        name = header.get("name") if isinstance(header.get("name"), str) else None
        if kind in ONE_TO_ONE:
            if kind == "saved_messages":
                key = self.scan.owner.key if self.scan.owner else jids.owner_key(self.scope)
            else:
                key = self._key(f"user{chat_id}")
            return _Chat(key, False, kind, name, chat_id, False)
        if kind not in GROUP_TYPES:
            self.unknown[f"chat type {kind!r}"] += 1
        return _Chat(f"tg-group:{chat_id}", True, kind, name, chat_id, kind in SHARED_IDS)

    def _chat_records(self, chat: _Chat, header: dict[str, Any]) -> Iterator[Record]:
        if chat.is_group:
            yield Group(chat.key, chat.name)
        elif chat.type != "saved_messages":
            yield from self._account(f"user{chat.id}", chat.name)

    def _message(self, chat: _Chat, m: dict[str, Any]) -> Iterator[Record]:
        number = m.get("id")
        row = number if isinstance(number, int) else 0
        where = f"chat {chat.id} message {number}"
        kind_of_record = m.get("type")
        service = kind_of_record == "service"
        label = "actor" if service else "from"
        from_id = m.get(f"{label}_id")
        sender: str | None = None
        from_me = False
        if isinstance(from_id, str) and from_id:
            if from_id == self.scan.owner_id:
                from_me = True
            else:
                yield from self._account(from_id, m.get(label))
                sender = self._key(from_id)
        at = self._time(m, where)
        text = _text(m.get("text"))
        media: MediaRef | None = None
        located = None
        if service:
            kind = "system"
            text = yield from self._notice(chat, m, at, sender, from_me)
        elif kind_of_record != "message":
            kind = "unknown"
            self.unknown[f"message type {kind_of_record!r}"] += 1
        else:
            kind, media, located, extra = self._content(m, where)
            if extra is not None:
                text = f"{extra}\n{text}" if text else extra
            if kind == "contact":
                yield from self._contact(m.get("contact_information") or {})
        forwarded = bool(m.get("forwarded_from") or m.get("saved_from"))
        key_id = f"tg:{chat.id}:{number}" if chat.shared_ids and row else None
        yield Message(
            row,
            chat.key,
            chat.is_group,
            sender,
            from_me,
            at,
            kind,
            key_id,
            text,
            forwarded,
            None,
            media,
            None,
            located,
        )

    def _notice(
        self,
        chat: _Chat,
        m: dict[str, Any],
        at: datetime | None,
        sender: str | None,
        from_me: bool,
    ) -> Generator[Record, None, str]:
        """A service message's events; returns its text, naming the action."""
        action = m.get("action")
        listed = m.get("members")
        members: list[Any] = listed if isinstance(listed, list) else []
        title = m.get("title")
        if not isinstance(action, str):
            info = m.get("information_text")
            return info if isinstance(info, str) and info else "notice"
        shown = action.replace("_", " ")
        if members:
            shown += ": " + ", ".join(str(n) for n in members if n)
        if isinstance(title, str) and title:
            shown += f" ({title!r})"
        event = ACTIONS.get(action)
        if event is None or not chat.is_group:
            return shown
        actor = self.scan.owner.key if from_me and self.scan.owner else sender
        if from_me and actor is None:
            actor = jids.owner_key(self.scope)
        named = event in (GroupAction.SUBJECT_CHANGED, GroupAction.CREATED)
        if named and isinstance(title, str) and title:
            yield Group(chat.key, title)
        if event in (GroupAction.ADDED, GroupAction.REMOVED) or (
            event is GroupAction.CREATED and members
        ):
            if event is GroupAction.CREATED:
                yield GroupEvent(chat.key, event, actor, at, actor)
                event = GroupAction.ADDED
            for name in members:
                whom = None
                for found in self._named(name):
                    if isinstance(found, str):
                        whom = found
                    else:
                        yield found
                done = event
                if event is GroupAction.REMOVED and whom == actor:
                    done = GroupAction.LEFT  # Telegram writes leaving as removing oneself
                yield GroupEvent(chat.key, done, whom, at, actor)
            return shown
        yield GroupEvent(chat.key, event, actor, at, actor)
        return shown

    def _content(
        self, m: dict[str, Any], where: str
    ) -> tuple[str, MediaRef | None, Any, str | None]:
        """(kind, media, place, text the message shows besides its own) of a message."""
        if "photo" in m:
            return "image", self._media(m.get("photo"), None, m, where), None, None
        if "file" in m:
            kind = FILE_KINDS.get(str(m.get("media_type")), "document")
            mime = m.get("mime_type") if isinstance(m.get("mime_type"), str) else None
            return kind, self._media(m.get("file"), mime, m, where), None, None
        if "location_information" in m:
            point = m.get("location_information") or {}
            name = m.get("place_name") if isinstance(m.get("place_name"), str) else None
            located = place(_number(point.get("latitude")), _number(point.get("longitude")), name)
            address = m.get("address") if isinstance(m.get("address"), str) else None
            return "location", None, located, address or None
        if "contact_information" in m:
            contact = m.get("contact_information") or {}
            shown = " ".join(
                p for p in (_full_name(contact), str(contact.get("phone_number") or "")) if p
            )
            return "contact", None, None, shown or None
        if "poll" in m:
            poll = m.get("poll") or {}
            question = poll.get("question") if isinstance(poll, dict) else None
            return "poll", None, None, question if isinstance(question, str) else None
        if "game_title" in m:
            return "game", None, None, str(m.get("game_title") or "") or None
        if "invoice_information" in m:
            return "invoice", None, None, None
        return "text", None, None, None

    def _media(self, raw: Any, mime: str | None, m: dict[str, Any], where: str) -> MediaRef | None:
        if not isinstance(raw, str) or not raw:
            return None
        width = m.get("width") if isinstance(m.get("width"), int) else None
        height = m.get("height") if isinstance(m.get("height"), int) else None
        if raw.startswith("(") and raw.endswith(")"):
            # "(File not included. Change data exporting settings to download.)", "(File
            # exceeds maximum size. …)", "(File unavailable, please try again later)"
            self.excluded += 1
            self.excluded_first = self.excluded_first or f"{where}: {raw}"
            return MediaRef(None, None, None, mime, None, width, height)
        found = self.artefact.attachment(raw) if self.artefact.attachment else None
        if found is None:
            self.malformed.append(
                Issue(
                    Severity.WARNING,
                    "attachment-missing",
                    where,
                    f"{raw} is not in the export folder: no hash",
                )
            )
            return MediaRef(None, raw, None, mime, None, width, height)
        return replace(found, mime=found.mime or mime, width=width, height=height)

    def _time(self, m: dict[str, Any], where: str) -> datetime | None:
        raw = m.get("date_unixtime")
        if isinstance(raw, (str, int)) and str(raw).isdigit():
            return datetime.fromtimestamp(int(raw), UTC)
        local = m.get("date")
        if not isinstance(local, str):
            return None
        try:
            naive = datetime.fromisoformat(local)
        except ValueError:
            self.malformed.append(
                Issue(Severity.ERROR, "malformed", where, f"date {local[:40]!r} is not a date")
            )
            return None
        # Exports before `date_unixtime` (2021) give only the exporting computer's local time.
        self.local_times += 1
        return naive.replace(tzinfo=self._zone()).astimezone(UTC)

    def _zone(self) -> tzinfo:
        if self.zone is None:
            self.zone, problem = evidence_zone(self.artefact)
            if problem is not None:
                self.malformed.append(problem)
        return self.zone

    def _notes(self) -> Iterator[Issue]:
        for what, count in sorted(self.unknown.items()):
            yield Issue(
                Severity.WARNING,
                "unknown-kind",
                self.artefact.path,
                f"{plural(count, 'record')} of {what}, which Cairn does not know: "
                "kept, named 'unknown'",
            )
        if self.excluded:
            yield Issue(
                Severity.WARNING,
                "not-exported",
                self.artefact.path,
                f"{plural(self.excluded, 'media file')} left out of the export by its "
                f"settings (first: {self.excluded_first}): no hash",
            )
        if self.local_times:
            zone = self.artefact.timezone or "UTC"
            yield Issue(
                Severity.WARNING,
                "timezone",
                self.artefact.path,
                f"{plural(self.local_times, 'message')} without date_unixtime: their local "
                f"time was read in {zone}"
                + ("" if self.artefact.timezone else "; register the evidence with --timezone"),
            )


def _user_id(value: Any) -> str | None:
    return f"user{value}" if isinstance(value, int) or str(value).isdigit() else None


def _phone(value: Any) -> str | None:
    return jids.e164(value) if isinstance(value, str) and value.strip() else None


def _full_name(value: dict[str, Any]) -> str | None:
    parts = [value.get("first_name"), value.get("last_name")]
    name = " ".join(p for p in parts if isinstance(p, str) and p)
    return name or None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _text(value: Any) -> str | None:
    """A message's text: a string, or a list of strings and entities (`{"type", "text"}`)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, list):
        parts = [
            p if isinstance(p, str) else str(p.get("text", ""))
            for p in value
            if isinstance(p, (str, dict))
        ]
        return "".join(parts) or None
    return None


class TelegramExport(MessagingFormat):
    name = "telegram-export"
    title = 'Telegram Desktop "Export chat history": result.json (one chat or the whole account)'
    sqlite: ClassVar[bool] = False

    @classmethod
    def probe(cls, name: str, head: bytes, tables: frozenset[str]) -> bool:
        if not name.lower().endswith(".json"):
            return False
        start = head.removeprefix(b"\xef\xbb\xbf").lstrip()
        if not start.startswith(b"{"):
            return False
        if _ACCOUNT_EXPORT.match(start):
            return bool(_ACCOUNT_PARTS.search(start))
        return bool(_DIALOG_TYPE.search(start[:4096]))

    @classmethod
    def read(cls, artefact: Artefact) -> Iterator[Record]:
        yield from _Export(artefact).read()

    @classmethod
    def example(cls, folder: Path) -> Path:
        from cairn.messaging.samples import (
            EXAMPLE_SHA256,
            example_device,
            write_telegram_export,
        )

        folder.mkdir(parents=True, exist_ok=True)
        return write_telegram_export(folder, example_device(), {EXAMPLE_SHA256: b"test"})

    @classmethod
    def example_counts(cls) -> dict[str, int]:
        # The schema note and two photos not found (read without the export's folder); the
        # owner (its profile); Bob and Carol (contacts); the group (as a chat, then from its
        # creation notice); Alice created it and added Bob, Carol joined by link; 5 messages.
        return {"Issue": 3, "Owner": 1, "Account": 2, "Group": 2, "GroupEvent": 3, "Message": 5}
