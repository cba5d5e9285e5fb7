"""WhatsApp "Export chat" text files, Android and iOS, English and Spanish, 12 and 24 hours.

The layout depends on platform, locale and clock (docs/formats.md):

    11/01/2023, 16:26 - Name: text                          Android, day first, 24 h
    1/5/24, 4:33 PM - Name: text                            Android en-US (U+202F before PM)
    [3/27/22, 21:41:55] Name: <attached: 0035-PHOTO-….jpg>  iOS (lines may start with U+200E)

A line without a timestamp continues the previous message; system lines have no `Name:`
(Android) or carry the group's name and start with U+200E (iOS). Whether dates are day- or
month-first is read from the file: a first field above 12 settles it, else the order under
which the messages run forward in time, else the locale's habit (month first only for 12-hour
English). Exports carry no hashes, ids or forwarded flags: attachments lying beside the export
are hashed themselves, and times are local, read in the evidence's time zone.

Markers in other languages are kept as text and reported as an unknown locale.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from itertools import pairwise
from pathlib import Path, PurePosixPath

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
    Record,
    Severity,
    evidence_zone,
    plural,
)

_TIME = r"(?P<time>\d{1,2}[:.]\d{2}(?:[:.]\d{2})?)(?:[\s\u202f](?P<ampm>[AaPp]\.?\s?[Mm]\.?))?"
_DATE = r"(?P<date>\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4})"
ANDROID_LINE = re.compile(rf"^{_DATE},? {_TIME} - (?P<rest>.*)$")
IOS_LINE = re.compile(rf"^\u200e?\[{_DATE},? {_TIME}\] (?P<rest>.*)$")
_SPLIT_DATE = re.compile(r"[/.-]")

# Attachment markers and "media omitted" texts per language.
ATTACHED = {
    "en": (
        re.compile(r"^(?P<file>\S.*?) \(file attached\)$"),
        re.compile(r"^<attached: (?P<file>[^>]+)>$"),
    ),
    "es": (
        re.compile(r"^(?P<file>\S.*?) \(archivo adjunto\)$"),
        re.compile(r"^<adjunto: (?P<file>[^>]+)>$"),
    ),
}
OMITTED = {
    "en": {
        "<Media omitted>": "media",
        "image omitted": "image",
        "video omitted": "video",
        "audio omitted": "audio",
        "sticker omitted": "sticker",
        "GIF omitted": "gif",
        "document omitted": "document",
    },
    "es": {
        "<Multimedia omitido>": "media",
        "imagen omitida": "image",
        "video omitido": "video",
        "audio omitido": "audio",
        "sticker omitido": "sticker",
        "GIF omitido": "gif",
        "documento omitido": "document",
    },
}
# Shapes of a marker in a language Cairn does not know: "x.jpg (Datei angehängt)",
# "<angehängt: x.jpg>", "<Medien ausgeschlossen>".
_FOREIGN_MARKERS = (
    re.compile(r"^\S+\.[A-Za-z0-9]{2,5} \((?P<word>[^()]+)\)$"),
    re.compile(r"^<(?P<word>[^:<>]+): \S+\.[A-Za-z0-9]{2,5}>$"),
    re.compile(r"^<(?P<word>[^<>:]+)>$"),
)
_Q = '["“«]'  # opening quotes: plain, typographic, Spanish guillemets
_QE = '["”»]'
SYSTEM = {
    "en": (
        (
            re.compile(rf"^(?P<actor>.+?) created group {_Q}(?P<subject>.*){_QE}$"),
            GroupAction.CREATED,
        ),
        (
            re.compile(r"^(?P<who>.+?) joined using this group's invite link$"),
            GroupAction.JOINED_BY_LINK,
        ),
        (re.compile(r"^(?P<actor>.+?) added (?P<who>.+)$"), GroupAction.ADDED),
        (re.compile(r"^(?P<actor>.+?) removed (?P<who>.+)$"), GroupAction.REMOVED),
        (re.compile(r"^(?P<who>.+?) left$"), GroupAction.LEFT),
        (re.compile(r"^(?P<actor>.+?) reset this group's invite link$"), GroupAction.LINK_RESET),
        (
            re.compile(
                rf"^(?P<actor>.+?) changed the subject (?:from {_Q}.*{_QE} )?to "
                rf"{_Q}(?P<subject>.*){_QE}$"
            ),
            GroupAction.SUBJECT_CHANGED,
        ),
    ),
    "es": (
        (
            re.compile(rf"^(?P<actor>.+?) creó el grupo {_Q}(?P<subject>.*){_QE}$"),
            GroupAction.CREATED,
        ),
        (
            re.compile(r"^(?P<who>.+?) se unió usando el enlace de invitación de este grupo$"),
            GroupAction.JOINED_BY_LINK,
        ),
        (re.compile(r"^(?P<actor>.+?) añadió a (?P<who>.+)$"), GroupAction.ADDED),
        (re.compile(r"^(?P<actor>.+?) eliminó a (?P<who>.+)$"), GroupAction.REMOVED),
        (re.compile(r"^(?P<who>.+?) salió del grupo$"), GroupAction.LEFT),
        (
            re.compile(r"^(?P<actor>.+?) restableció el enlace de invitación de este grupo$"),
            GroupAction.LINK_RESET,
        ),
        (
            re.compile(
                rf"^(?P<actor>.+?) cambió el asunto (?:de {_Q}.*{_QE} )?a "
                rf"{_Q}(?P<subject>.*){_QE}$"
            ),
            GroupAction.SUBJECT_CHANGED,
        ),
    ),
}
ENCRYPTION_NOTICE = {
    "en": "Messages and calls are end-to-end encrypted",
    "es": "Los mensajes y las llamadas están cifrados de extremo a extremo",
}
YOU = {"en": ("You", "you"), "es": ("Tú", "tú", "Usted", "usted")}
_AND = re.compile(r", | and | y ")
# How the app names an export, per language: the file (Android) or the zip's folder (iOS).
_TITLES = (
    ("en", re.compile(r"^WhatsApp Chat with (?P<title>.+)\.txt$")),
    ("es", re.compile(r"^Chat de WhatsApp con (?P<title>.+)\.txt$")),
)
_FOLDER_TITLES = (
    ("en", re.compile(r"^WhatsApp Chat - (?P<title>.+)$")),
    ("es", re.compile(r"^Chat de WhatsApp - (?P<title>.+)$")),
)
# File-name parts that say what an attachment is (Android `IMG-…`, iOS `…-PHOTO-…`).
_KIND_BY_NAME = (
    ("IMG-", "image"),
    ("-PHOTO-", "image"),
    ("VID-", "video"),
    ("-VIDEO-", "video"),
    ("AUD-", "audio"),
    ("PTT-", "audio"),
    ("-AUDIO-", "audio"),
    ("STK-", "sticker"),
    ("-STICKER-", "sticker"),
    ("DOC-", "document"),
    ("-GIF-", "gif"),
)
_KIND_BY_EXTENSION = {
    ".jpg": "image",
    ".jpeg": "image",
    ".png": "image",
    ".heic": "image",
    ".webp": "sticker",
    ".mp4": "video",
    ".3gp": "video",
    ".mov": "video",
    ".opus": "audio",
    ".m4a": "audio",
    ".gif": "gif",
    ".pdf": "document",
}
HEADER_LINES_PROBED = 5


@dataclass
class _Entry:
    line: int
    stamp: tuple[int, int, int, int, int, int]  # two date fields, year, hour, minute, second
    rest: str
    ios: bool
    twelve_hour: bool
    continuation: list[str] = field(default_factory=list)


def _parse_time(match: re.Match[str]) -> tuple[int, int, int] | None:
    parts = [int(p) for p in re.split(r"[:.]", match["time"])]
    hour, minute = parts[0], parts[1]
    second = parts[2] if len(parts) > 2 else 0
    ampm = match["ampm"]
    if ampm:
        if not 1 <= hour <= 12:
            return None
        pm = ampm.strip().lower().startswith("p")
        hour = hour % 12 + (12 if pm else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return hour, minute, second


def _header(line: str) -> tuple[re.Match[str], bool] | None:
    match = IOS_LINE.match(line)
    if match:
        return match, True
    match = ANDROID_LINE.match(line)
    return (match, False) if match else None


def _date_fields(text: str) -> tuple[int, int, int] | None:
    """(first, second, year) of a date, year-first dates turned round; None if not a date."""
    parts = [int(p) for p in _SPLIT_DATE.split(text)]
    if len(parts) != 3:
        return None
    if parts[0] > 31:  # 2023-01-11: year first, then month and day
        return parts[2], parts[1], parts[0]
    year = parts[2] + 2000 if parts[2] < 100 else parts[2]
    return parts[0], parts[1], year


class _Export:
    def __init__(self, artefact: Artefact) -> None:
        self.artefact = artefact
        self.scope = artefact.scope
        self.issues: list[Issue] = []
        self.locales: dict[str, int] = {}
        self.foreign: dict[str, tuple[int, int]] = {}  # marker word -> (first line, count)
        self.zone: tzinfo = UTC
        self.order_reason = ""  # how the date order was settled, for the summary
        self.title, named = _title(artefact.path)
        self.titled = named is not None
        if named is not None:  # the file's name is a marker of the language too
            self.locales[named] = 1

    def read(self) -> Iterator[Record]:
        lines = self._lines()
        entries = self._entries(lines)
        if not entries:
            yield Issue(
                Severity.ERROR,
                "unreadable",
                self.artefact.path,
                "no line with a WhatsApp export timestamp: not a chat export",
            )
            yield from self.issues
            return
        day_first = self._date_order(entries)
        self._zone()
        parsed = [p for e in entries if (p := self._parse(e, day_first)) is not None]
        senders = {p.sender for p in parsed if p.sender is not None}
        # A one-to-one export holds its partner (named in the file name) and its exporter.
        partner = self.title if self.title in senders or self.titled else None
        if partner is None and len(senders) == 1:
            partner = next(iter(senders))  # a renamed export: its one voice is the partner
        is_group = (
            partner is None
            or len(senders - {partner}) > 1
            or any(p.action is not None for p in parsed)
        )
        owner = jids.owner_key(self.scope)
        accounts: dict[str, Account] = {}

        def key_of(name: str) -> str:
            if any(name in you for you in YOU.values()):  # the exporter, in system lines
                return owner
            account = jids.account_for_name(self.scope, name)
            accounts.setdefault(account.key, account)
            return account.key

        if is_group:
            chat = f"chat:{self.scope}:{self.title}"
            group: Group | None = Group(chat, self.title)
        else:
            chat = key_of(partner or self.title)
            group = None
        records: list[Record] = []
        for p in parsed:
            if p.action is not None and group is not None:
                for who in p.who or [p.actor or ""]:
                    account = key_of(who) if who else None
                    actor = key_of(p.actor) if p.actor else account
                    records.append(GroupEvent(chat, p.action, account, p.at, actor))
            if p.sender is None:
                sender, from_me = None, False
            elif is_group:
                sender, from_me = key_of(p.sender), False
            else:  # a one-to-one export: whoever is not the chat's partner is its exporter
                from_me = p.sender != partner
                sender = None if from_me else key_of(p.sender)
            if from_me or sender == owner:
                sender, from_me = None, True
            records.append(
                Message(
                    p.line,
                    chat,
                    is_group,
                    sender,
                    from_me,
                    p.at,
                    p.kind,
                    None,
                    p.text,
                    None,
                    None,
                    p.media,
                )
            )
        yield Issue(Severity.INFO, "schema", self.artefact.path, self._describe(day_first))
        yield from accounts.values()
        if group is not None:
            yield group
        yield from self.issues
        yield from records
        for word, (line, count) in self.foreign.items():
            yield Issue(
                Severity.WARNING,
                "unknown-locale",
                f"line {line}",
                f"marker {word!r} ({plural(count, 'line')}) is in a language Cairn does not read: "
                "kept as message text, attachments not linked",
            )

    def _lines(self) -> list[str]:
        data = self.artefact.copy.read_bytes()
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.issues.append(
                Issue(
                    Severity.ERROR,
                    "encoding",
                    f"byte {exc.start}",
                    "not UTF-8: undecodable bytes replaced by U+FFFD",
                )
            )
            text = data.decode("utf-8", errors="replace")
        return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")

    def _entries(self, lines: list[str]) -> list[_Entry]:
        entries: list[_Entry] = []
        for number, line in enumerate(lines, 1):
            found = _header(line)
            stamp = None
            if found is not None:
                match, ios = found
                date, clock = _date_fields(match["date"]), _parse_time(match)
                if date is not None and clock is not None:
                    stamp = (*date, *clock)
                    entries.append(_Entry(number, stamp, match["rest"], ios, bool(match["ampm"])))
                    continue
                self.issues.append(
                    Issue(
                        Severity.ERROR,
                        "malformed-line",
                        f"line {number}",
                        f"timestamp {match['date']} {match['time']} is not a "
                        f"valid date and time: line kept as text",
                    )
                )
            if entries:
                entries[-1].continuation.append(line)
            elif line.strip():
                self.issues.append(
                    Issue(
                        Severity.ERROR,
                        "malformed-line",
                        f"line {number}",
                        f"text before the first message: {line[:200]!r}",
                    )
                )
        for entry in entries:  # trailing blank lines end a file, not a message
            while entry.continuation and not entry.continuation[-1].strip():
                entry.continuation.pop()
        return entries

    def _date_order(self, entries: list[_Entry]) -> bool:
        """True when dates are day first."""
        firsts = [e.stamp[0] for e in entries]
        seconds = [e.stamp[1] for e in entries]
        if any(f > 12 for f in firsts) and not any(s > 12 for s in seconds):
            self.order_reason = "a first field above 12"
            return True
        if any(s > 12 for s in seconds) and not any(f > 12 for f in firsts):
            self.order_reason = "a second field above 12"
            return False

        def forward(day_first: bool) -> int:
            stamps = [self._sortable(e.stamp, day_first) for e in entries]
            return sum(a <= b for a, b in pairwise(stamps))

        by_day, by_month = forward(True), forward(False)
        if by_day != by_month:
            self.order_reason = "the order in which messages run forward in time"
            return by_day > by_month
        self.order_reason = "the locale's habit (dates do not settle it)"
        twelve_hour = any(e.twelve_hour for e in entries)
        return not (twelve_hour and self._locale() == "en") and not entries[0].ios

    @staticmethod
    def _sortable(stamp: tuple[int, ...], day_first: bool) -> tuple[int, ...]:
        first, second, year, *clock = stamp
        day, month = (first, second) if day_first else (second, first)
        return (year, month, day, *clock)

    def _locale(self) -> str:
        return max(self.locales, key=lambda k: self.locales[k]) if self.locales else "en"

    def _zone(self) -> None:
        self.zone, problem = evidence_zone(self.artefact)
        if problem is not None:
            self.issues.append(problem)
            return
        if self.artefact.timezone:
            return
        self.issues.append(
            Issue(
                Severity.WARNING,
                "timezone",
                self.artefact.path,
                "exports give local times without a zone: read as UTC; "
                "register the evidence with --timezone to correct them",
            )
        )

    def _describe(self, day_first: bool) -> str:
        order = "day first" if day_first else "month first"
        locales = ", ".join(f"{k} ({plural(n, 'marker')})" for k, n in sorted(self.locales.items()))
        return (
            f"chat export {self.title!r}; dates {order} (from {self.order_reason}); "
            f"locale {locales or 'not recognised'}"
        )

    def _parse(self, entry: _Entry, day_first: bool) -> _Parsed | None:
        first, second, year, hour, minute, sec = entry.stamp
        day, month = (first, second) if day_first else (second, first)
        try:
            at = datetime(year, month, day, hour, minute, sec, tzinfo=self.zone).astimezone(UTC)
        except ValueError as exc:
            self.issues.append(
                Issue(
                    Severity.ERROR,
                    "malformed-line",
                    f"line {entry.line}",
                    f"not a date ({exc}): {entry.rest[:200]!r} kept as text",
                )
            )
            return _Parsed(
                entry.line, None, None, "text", "\n".join([entry.rest, *entry.continuation])
            )
        rest = entry.rest
        text_lines = entry.continuation
        name, text = self._split(rest, entry.ios)
        if name is None:
            event = self._system(text)
            body = "\n".join([text, *text_lines])
            if event is None:
                return _Parsed(entry.line, at, None, "system", body)
            action, actor, who = event
            return _Parsed(
                entry.line, at, None, "system", body, action=action, actor=actor, who=who
            )
        body = jids.clean(text) if text.startswith("\u200e") else text
        kind, media = self._media(body, entry.line)
        if media is None:
            return _Parsed(entry.line, at, name, kind, "\n".join([body, *text_lines]))
        # An attachment's own lines are its caption; the marker line is not message text.
        caption = "\n".join(text_lines) or None
        return _Parsed(entry.line, at, name, kind, None, media=replace(media, caption=caption))

    def _split(self, rest: str, ios: bool) -> tuple[str | None, str]:
        """(sender, text), or (None, text) for a system line."""
        name, colon, text = rest.partition(": ")
        if not colon or any(q in name for q in '"“«'):
            return None, jids.clean(rest)
        if ios and text.startswith("\u200e") and self._system(jids.clean(text), count=False):
            return None, jids.clean(text)  # iOS: the group's name, then the event
        return jids.clean(name), text

    def _system(
        self, text: str, count: bool = True
    ) -> tuple[GroupAction, str | None, list[str]] | None:
        """The group event a system line states; `count`: tally its language."""
        for locale, patterns in SYSTEM.items():
            for pattern, action in patterns:
                match = pattern.match(text)
                if match is None:
                    continue
                if count:
                    self.locales[locale] = self.locales.get(locale, 0) + 1
                groups = match.groupdict()
                who = [w for w in _AND.split(groups["who"]) if w] if groups.get("who") else []
                return action, groups.get("actor"), who
        for locale, notice in ENCRYPTION_NOTICE.items():
            if count and text.startswith(notice):
                self.locales[locale] = self.locales.get(locale, 0) + 1
        return None

    def _media(self, text: str, line: int) -> tuple[str, MediaRef | None]:
        for locale, patterns in ATTACHED.items():
            for pattern in patterns:
                match = pattern.match(text)
                if match is None:
                    continue
                self.locales[locale] = self.locales.get(locale, 0) + 1
                name = match["file"]
                found = self.artefact.attachment(name) if self.artefact.attachment else None
                if found is None:
                    self.issues.append(
                        Issue(
                            Severity.WARNING,
                            "attachment-missing",
                            f"line {line}",
                            f"{name} is not beside the export: no hash",
                        )
                    )
                    found = MediaRef(None, name)
                return _kind_of_file(name), found
        for locale, omitted in OMITTED.items():
            if text in omitted:
                self.locales[locale] = self.locales.get(locale, 0) + 1
                return omitted[text], None
        for pattern in _FOREIGN_MARKERS:
            match = pattern.match(text)
            if match is not None and not text.startswith("<http"):
                word = match["word"]
                first, count = self.foreign.get(word, (line, 0))
                self.foreign[word] = (first, count + 1)
                break
        return "text", None


@dataclass
class _Parsed:
    line: int
    at: datetime | None
    sender: str | None
    kind: str
    text: str | None
    media: MediaRef | None = None
    action: GroupAction | None = None
    actor: str | None = None
    who: list[str] = field(default_factory=list)


def _kind_of_file(name: str) -> str:
    for part, kind in _KIND_BY_NAME:
        if part in name:
            return kind
    return _KIND_BY_EXTENSION.get(PurePosixPath(name).suffix.lower(), "document")


def _title(path: str) -> tuple[str, str | None]:
    """The chat's title, and the language of WhatsApp's naming of the export if it has one."""
    pure = PurePosixPath(path.replace("!", "/"))
    for names, part in ((_TITLES, pure.name), (_FOLDER_TITLES, pure.parent.name)):
        for locale, pattern in names:
            match = pattern.match(part)
            if match:
                return match["title"], locale
    return pure.stem, None


def is_export_head(head: bytes) -> bool:
    """Whether one of the first lines of a text file is an export's message line."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = text.splitlines()[:HEADER_LINES_PROBED]
    return any(_header(line) is not None for line in lines)


class ChatExport(MessagingFormat):
    name = "whatsapp-export"
    title = 'WhatsApp "Export chat" text (Android, iOS; en, es; 12 h, 24 h)'
    sqlite = False

    @classmethod
    def probe(cls, name: str, head: bytes, tables: frozenset[str]) -> bool:
        return name.lower().endswith(".txt") and is_export_head(head)

    @classmethod
    def read(cls, artefact: Artefact) -> Iterator[Record]:
        yield from _Export(artefact).read()

    @classmethod
    def example(cls, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "WhatsApp Chat with Example Group.txt"
        path.write_text(EXAMPLE_EXPORT, encoding="utf-8")
        return path

    @classmethod
    def example_counts(cls) -> dict[str, int]:
        # Alice, Bob; the group; created + joined-by-link; the attachment is missing; 4 lines.
        return {"Issue": 3, "Account": 2, "Group": 1, "GroupEvent": 2, "Message": 4}


EXAMPLE_EXPORT = (
    '01/05/2024, 09:00 - Alice Example created group "Example Group"\n'
    "01/05/2024, 09:01 - Bob Example joined using this group's invite link\n"
    "01/05/2024, 09:02 - Bob Example: IMG-20240501-WA0001.jpg (file attached)\n"
    "01/05/2024, 09:03 - Alice Example: see you\n"
    "at the harbour\n"
)
