"""Finding messaging artefacts: among an ingested evidence item's files, or under a folder.

An artefact is found by its file name (a database, an encrypted backup, a chat export, a
Telegram export's `result.json`) and described as a `Candidate`: where it is, and how to open
its files read-only — from a plain folder or from a zip at the top level of the evidence.
Databases inside disk images or nested containers are candidates with a `problem`, reported
rather than read. Names any program may use (`result.json`, `messages.html`) are taken only
when the file's first bytes say it is the app's; a Telegram HTML export is reported with what
to export instead, unless the JSON export lies beside it.

`cairn ingest` calls `import_from_evidence` after every ingest, and most evidence holds no
WhatsApp artefact: so this module imports only the store, and the readers are loaded when
there is something for them to read.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.core.errors import UsageError
from cairn.services.cases import find_evidence, get_case
from cairn.services.context import Context
from cairn.store.models import Evidence, Occurrence

if TYPE_CHECKING:
    from cairn.messaging.sqlitedb import Opener
    from cairn.services.messaging.importing import ImportSummary

_DATABASE = re.compile(r"^(msgstore(-\d{4}-\d{2}-\d{2}\.\d+)?\.db|wa\.db|ChatStorage\.sqlite)$")
_BACKUP = re.compile(r"\.crypt\d+$")
# The app's settings, which name its owner (cairn.messaging.android_prefs).
_SETTINGS = re.compile(
    r"^(com\.whatsapp_preferences_light|com\.whatsapp_preferences|RegisterPhone)\.xml$"
)
_EXPORT = re.compile(r"^(WhatsApp Chat with .+|Chat de WhatsApp con .+|_chat)\.txt$")
_EXPORT_FOLDERS = ("WhatsApp Chat - ", "Chat de WhatsApp - ")  # iOS exports, unzipped
# Telegram Desktop: the JSON export's main file; an HTML export's main page (`messages.html`
# of one chat, `export_results.html` of an account, whose chats' pages are not wanted).
_TELEGRAM = "result.json"
_TELEGRAM_HTML = ("messages.html", "export_results.html")
_TELEGRAM_CHAT_FOLDER = re.compile(r"^chat_\d+$")


@dataclass(frozen=True)
class Candidate:
    """An artefact to import: where it is and how to open its files read-only."""

    path: str  # relative to the evidence root, or as given
    name: str
    openers: tuple[tuple[str, Opener], ...] = ()  # "" (main file), then companions
    sibling: Callable[[str], Opener | None] | None = None  # exports: a file beside or below it
    problem: str | None = None  # why it cannot be read from where it is
    tentative: bool = False  # a name any program may use: the file's head decides


def owner_key(owner: str | None) -> str | None:
    """The phone owner's number as given (`--owner`) in E.164; UsageError if it is not one."""
    if owner is None:
        return None
    from cairn.messaging import jids

    key = jids.e164(owner)
    if key is None:
        raise UsageError(f"--owner {owner!r} is not an international phone number")
    return key


def import_from_evidence(
    ctx: Context, case_ref: str, evidence_label: str, *, owner: str | None = None
) -> list[ImportSummary]:
    """Find the WhatsApp artefacts an ingested evidence item holds, and import each; `owner`
    is the phone owner's number, when known."""
    with ctx.db.session() as session:
        evidence = find_evidence(session, get_case(session, case_ref), evidence_label)
        candidates = evidence_candidates(session, evidence)
    if not candidates:
        return []
    from cairn.services.messaging.importing import import_candidate

    key = owner_key(owner)
    return [import_candidate(ctx, case_ref, evidence, c, key) for c in settle(candidates)]


def evidence_candidates(session: Session, evidence: Evidence) -> list[Candidate]:
    """The artefacts among an evidence item's occurrences, by name (streamed: a phone has
    hundreds of thousands of files, and byte paths cannot be filtered by LIKE portably)."""
    rows = session.execute(
        select(Occurrence.path)
        .where(Occurrence.evidence_id == evidence.id)
        .order_by(Occurrence.path)
        .execution_options(yield_per=20_000)
    ).scalars()
    found = []
    for path in dict.fromkeys(rows):
        parts = re.split(rb"[/!]", path)
        name = os.fsdecode(parts[-1])
        parent = os.fsdecode(parts[-2]) if len(parts) > 1 else ""
        if _wanted(name, parent) or (name.endswith(".txt") and parent.startswith(_EXPORT_FOLDERS)):
            found.append(_evidence_candidate(evidence, path))
    return found


def folder_candidates(folder: Path, prefix: str) -> list[Candidate]:
    """Artefacts under a plain folder, enumerated as the folder source does (read-only)."""
    from cairn.evidence.base import Unit
    from cairn.evidence.directory import DirectorySource

    found = []
    for unit in DirectorySource(folder).units():
        if not isinstance(unit, Unit) or not isinstance(unit.locator, bytes):
            continue
        parts = unit.path.rsplit(b"/", 2)
        name = os.fsdecode(parts[-1])
        if _wanted(name, os.fsdecode(parts[-2]) if len(parts) > 1 else ""):
            found.append(plain_candidate(unit.locator, prefix + os.fsdecode(unit.path)))
    return sorted(found, key=lambda c: c.path)


def zip_candidates(container: Path, shown: str) -> list[Candidate]:
    """Artefacts inside a zip given as it is (an extraction not yet ingested), read in place."""
    with open(container, "rb") as stream, zipfile.ZipFile(stream) as archive:
        members = sorted(_stored_name(info) for info in archive.infolist() if not info.is_dir())
    return [
        _zip_candidate(os.fsencode(container), member, f"{shown}!{os.fsdecode(member)}")
        for member in members
        if _wanted(*reversed([os.fsdecode(p) for p in member.rsplit(b"/", 2)[-2:]]))
    ]


def plain_candidate(absolute: bytes, shown: str) -> Candidate:
    """A file in a plain folder, with the companions lying beside it."""
    from cairn.messaging.sqlitedb import COMPANIONS

    name = os.fsdecode(os.path.basename(absolute))
    openers = [("", _plain(absolute))]
    openers += [
        (s, _plain(absolute + s.encode()))
        for s in COMPANIONS
        if os.path.lexists(absolute + s.encode())
    ]
    folder = os.path.dirname(absolute)

    def sibling(file_name: str) -> Opener | None:
        relative = _relative(file_name)
        if relative is None:
            return None
        target = os.path.join(folder, relative)
        return _plain(target) if os.path.isfile(target) else None

    return Candidate(shown, name, tuple(openers), sibling, tentative=_tentative(name))


def settle(candidates: list[Candidate]) -> list[Candidate]:
    """The candidates that are artefacts: a file under a name any program may use is kept
    when its first bytes say it is one; a Telegram HTML export becomes a problem to report,
    unless a JSON export lies beside it (Telegram Desktop can write both)."""
    folders = {_folder(c.path) for c in candidates if c.name == _TELEGRAM}
    settled = []
    for candidate in candidates:
        if not candidate.tentative:
            settled.append(candidate)
            continue
        if candidate.problem is not None:
            continue  # in a disk image or nested container: whose file it is cannot be told
        if candidate.name in _TELEGRAM_HTML and _folder(candidate.path) in folders:
            continue
        from cairn.messaging.registry import HEAD_BYTES, detect
        from cairn.messaging.telegram import html_problem

        try:
            with candidate.openers[0][1]() as stream:
                head = stream.read(HEAD_BYTES)
        except OSError:
            settled.append(candidate)  # the import reports why it cannot be read
            continue
        problem = html_problem(candidate.name, head)
        if problem is not None:
            settled.append(replace(candidate, problem=problem))
        elif detect(candidate.name, head, frozenset()) is not None:
            settled.append(candidate)
    return settled


def _wanted(name: str, parent: str = "") -> bool:
    if name in _TELEGRAM_HTML:  # one chat's page of an account's HTML export is not wanted
        return name == "export_results.html" or not _TELEGRAM_CHAT_FOLDER.match(parent)
    return bool(
        _DATABASE.match(name)
        or _BACKUP.search(name)
        or _EXPORT.match(name)
        or _SETTINGS.match(name)
        or name == _TELEGRAM
    )


def _folder(path: str) -> str:
    """The folder of a shown path (`a/b`, `x.zip!a/b`): up to its last `/` or `!`."""
    return path[: max(path.rfind("/"), path.rfind("!"), 0)]


def _tentative(name: str) -> bool:
    return name == _TELEGRAM or name in _TELEGRAM_HTML


def _relative(file_name: str) -> bytes | None:
    """A path an export names, relative to its folder (Telegram: `photos/photo_1@….jpg`);
    None when it would leave the folder. Symlinks are refused when the file is opened."""
    parts = file_name.split("/")
    if any(p in ("", ".", "..") for p in parts) or "\\" in file_name or "\0" in file_name:
        return None
    return os.fsencode(file_name)


def _evidence_candidate(evidence: Evidence, path: bytes) -> Candidate:
    """Where an occurrence's bytes can be read: the folder, or a zip at the top level."""
    shown = os.fsdecode(path)
    name = os.fsdecode(path.rsplit(b"/", 1)[-1].rsplit(b"!", 1)[-1])
    root = os.fsencode(evidence.source_path)
    if evidence.source_kind == "diskimage":
        return Candidate(
            shown,
            name,
            tentative=_tentative(name),
            problem=(
                "inside a disk image: not read (Cairn reads databases from folders and zips); "
                "extract it and run `cairn messaging import FILE --evidence LABEL`"
            ),
        )
    is_folder = os.path.isdir(root)
    if b"!" not in path:
        absolute = root + b"/" + path if is_folder else root
        return plain_candidate(absolute, shown)
    container, member = path.split(b"!", 1)
    if b"!" in member:
        return Candidate(
            shown,
            name,
            tentative=_tentative(name),
            problem=(
                "inside a nested container: not read; extract it and run "
                "`cairn messaging import FILE --evidence LABEL`"
            ),
        )
    return _zip_candidate(root + b"/" + container if is_folder else root, member, shown)


def _plain(absolute: bytes) -> Opener:
    from cairn.evidence.analysis import open_readonly

    return lambda: open(open_readonly(absolute), "rb")


def _zip_candidate(container: bytes, member: bytes, shown: str) -> Candidate:
    from cairn.evidence.analysis import open_readonly
    from cairn.messaging.sqlitedb import COMPANIONS

    name = os.fsdecode(member.rsplit(b"/", 1)[-1])
    try:
        with open(open_readonly(container), "rb") as stream, zipfile.ZipFile(stream) as archive:
            names = {_stored_name(info) for info in archive.infolist()}
    except (OSError, zipfile.BadZipFile) as exc:
        return Candidate(
            shown,
            name,
            problem=f"{shown.split('!', 1)[0]} is not a readable zip ({exc}): "
            "extract it and import the file",
        )
    openers = [("", _open_member(container, member))]
    openers += [
        (s, _open_member(container, member + s.encode()))
        for s in COMPANIONS
        if member + s.encode() in names
    ]
    folder = member.rsplit(b"/", 1)[0] + b"/" if b"/" in member else b""

    def sibling(file_name: str) -> Opener | None:
        relative = _relative(file_name)
        if relative is None or folder + relative not in names:
            return None
        return _open_member(container, folder + relative)

    return Candidate(shown, name, tuple(openers), sibling, tentative=_tentative(name))


def _open_member(container: bytes, member: bytes) -> Opener:
    return lambda: _zip_member(container, member)


@contextmanager
def _zip_member(container: bytes, member: bytes) -> Iterator[IO[bytes]]:
    from cairn.evidence.analysis import open_readonly

    with open(open_readonly(container), "rb") as stream, zipfile.ZipFile(stream) as archive:
        info = _zip_info(archive, member)
        if info is None:
            raise FileNotFoundError(f"{os.fsdecode(member)} is not in the zip")
        with archive.open(info) as inner:
            yield inner


def _zip_info(archive: zipfile.ZipFile, member: bytes) -> zipfile.ZipInfo | None:
    return next((i for i in archive.infolist() if _stored_name(i) == member), None)


def _stored_name(info: zipfile.ZipInfo) -> bytes:
    """A member's name as the ingest records it (cairn.evidence.phone): the stored bytes."""
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    return info.orig_filename.encode(encoding, "surrogateescape")
