"""Messaging: WhatsApp artefacts into a case, and who posted, forwarded and gathered what.

Import. An artefact (a database with its companions, or a chat export) is found inside an
ingested evidence item or given as a path; its files are copied into a private folder of the
workspace (mode 0700, removed afterwards) and hashed on the way, and the copy is read by the
format's reader (`cairn.messaging.registry`). Everything one artefact yields lands in one
transaction, with the SHA-256 of each original file, a processing record, and every issue the
reader raised; importing the same artefact again does nothing. Databases are read from plain
folders and from zips (an Android extraction delivered zipped); those inside disk images or
nested containers are reported, not read.

Reports. The case's messages are analysed across all its phones (`cairn.messaging.analysis`):
clock offsets, the first poster of each media item, producer and distributor scores. Media are
linked by SHA-256 to the files ingested from any phone of the case and to hash sets, also when
the file itself is gone.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import socket
import sqlite3
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.orm import Session

from cairn.core.errors import UsageError
from cairn.messaging import identity
from cairn.messaging.analysis import (
    MIN_UNCERTAINTY,
    Attribution,
    CameraCopy,
    ClockOffset,
    Score,
    Sharing,
    Sighting,
    Stamp,
    attribute,
    distributor_scores,
    estimate_offsets,
    infer_owners,
    iso,
    producer_scores,
)
from cairn.messaging.base import (
    Account,
    Artefact,
    Group,
    GroupEvent,
    Issue,
    MediaRef,
    Message,
    MessagingFormat,
    Record,
    Severity,
    Thumbnail,
    plural,
)
from cairn.messaging.registry import HEAD_BYTES, backup_problem, by_name, detect
from cairn.messaging.sqlitedb import (
    COMPANIONS,
    MAGIC,
    Opener,
    acquire,
    digest,
    private_folder,
    table_names,
)
from cairn.services.cases import add_evidence, find_evidence, get_case
from cairn.services.context import Context
from cairn.services.provenance import library_versions
from cairn.store import audit
from cairn.store.messaging_models import (
    MsgAccount,
    MsgGroup,
    MsgGroupEvent,
    MsgImport,
    MsgImportIssue,
    MsgMessage,
    MsgThumbnail,
)
from cairn.store.models import Case, Evidence, Media, Occurrence, ProcessingRun
from cairn.store.models import Thumbnail as ReviewThumbnail
from cairn.store.writer import insert_ignoring_duplicates

if TYPE_CHECKING:
    import networkx as nx


MESSAGE_BATCH = 10_000  # rows per INSERT: large enough to amortise, small enough for memory
THUMBNAIL_BATCH = 1000  # sealed thumbnails (a few kB each) held before they are stored
ISSUES_SHOWN = 100  # per import summary; every issue is stored
_DATABASE = re.compile(r"^(msgstore(-\d{4}-\d{2}-\d{2}\.\d+)?\.db|wa\.db|ChatStorage\.sqlite)$")
_BACKUP = re.compile(r"\.crypt\d+$")
_EXPORT = re.compile(r"^(WhatsApp Chat with .+|Chat de WhatsApp con .+|_chat)\.txt$")
_EXPORT_FOLDERS = ("WhatsApp Chat - ", "Chat de WhatsApp - ")  # iOS exports, unzipped


@dataclass
class ImportSummary:
    case_ref: str
    evidence: str
    path: str
    format: str | None = None
    status: str = "failed"  # completed, incomplete, failed, already-imported
    originals: list[dict[str, Any]] = field(default_factory=list)  # name, sha256, size
    counts: dict[str, int] = field(default_factory=dict)
    recovery: str | None = None
    unavailable: list[str] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)  # the first ISSUES_SHOWN, as text
    issue_counts: dict[str, int] = field(default_factory=dict)  # per severity
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        failed = self.status in ("failed", "incomplete")
        return 1 if failed or self.issue_counts.get(Severity.ERROR.value) else 0


# --- finding artefacts ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    """An artefact to import: where it is and how to open its files read-only."""

    path: str  # relative to the evidence root, or as given
    name: str
    openers: tuple[tuple[str, Opener], ...] = ()  # "" (main file), then companions
    sibling: Callable[[str], Opener | None] | None = None  # exports: a file beside it
    problem: str | None = None  # why it cannot be read from where it is


def _plain(absolute: bytes) -> Opener:
    from cairn.evidence.directory import open_path

    return lambda: open(open_path(absolute), "rb")


def _wanted(name: str) -> bool:
    return bool(_DATABASE.match(name) or _BACKUP.search(name) or _EXPORT.match(name))


def _plain_candidate(absolute: bytes, shown: str) -> _Candidate:
    name = os.fsdecode(os.path.basename(absolute))
    openers = [("", _plain(absolute))]
    openers += [
        (s, _plain(absolute + s.encode()))
        for s in COMPANIONS
        if os.path.lexists(absolute + s.encode())
    ]
    folder = os.path.dirname(absolute)

    def sibling(file_name: str) -> Opener | None:
        target = os.path.join(folder, os.fsencode(file_name))
        return _plain(target) if os.path.isfile(target) and "/" not in file_name else None

    return _Candidate(shown, name, tuple(openers), sibling)


def _stored_name(info: zipfile.ZipInfo) -> bytes:
    """A member's name as the ingest records it (cairn.evidence.phone): the stored bytes."""
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    return info.orig_filename.encode(encoding, "surrogateescape")


def _zip_info(archive: zipfile.ZipFile, member: bytes) -> zipfile.ZipInfo | None:
    return next((i for i in archive.infolist() if _stored_name(i) == member), None)


@contextmanager
def _zip_member(container: bytes, member: bytes) -> Iterator[IO[bytes]]:
    from cairn.evidence.directory import open_path

    with open(open_path(container), "rb") as stream, zipfile.ZipFile(stream) as archive:
        info = _zip_info(archive, member)
        if info is None:
            raise FileNotFoundError(f"{os.fsdecode(member)} is not in the zip")
        with archive.open(info) as inner:
            yield inner


def _zip_candidate(container: bytes, member: bytes, shown: str) -> _Candidate:
    from cairn.evidence.directory import open_path

    name = os.fsdecode(member.rsplit(b"/", 1)[-1])
    try:
        with open(open_path(container), "rb") as stream, zipfile.ZipFile(stream) as archive:
            names = {_stored_name(info) for info in archive.infolist()}
    except (OSError, zipfile.BadZipFile) as exc:
        return _Candidate(
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
        target = folder + os.fsencode(file_name)
        return _open_member(container, target) if target in names else None

    return _Candidate(shown, name, tuple(openers), sibling)


def _open_member(container: bytes, member: bytes) -> Opener:
    return lambda: _zip_member(container, member)


def _evidence_candidate(evidence: Evidence, path: bytes) -> _Candidate:
    """Where an occurrence's bytes can be read: the folder, or a zip at the top level."""
    shown = os.fsdecode(path)
    name = os.fsdecode(path.rsplit(b"/", 1)[-1].rsplit(b"!", 1)[-1])
    root = os.fsencode(evidence.source_path)
    if evidence.source_kind == "diskimage":
        return _Candidate(
            shown,
            name,
            problem=(
                "inside a disk image: not read (Cairn reads databases from folders and zips); "
                "extract it and run `cairn messaging import FILE --evidence LABEL`"
            ),
        )
    is_folder = os.path.isdir(root)
    if b"!" not in path:
        absolute = root + b"/" + path if is_folder else root
        return _plain_candidate(absolute, shown)
    container, member = path.split(b"!", 1)
    if b"!" in member:
        return _Candidate(
            shown,
            name,
            problem=(
                "inside a nested container: not read; extract it and run "
                "`cairn messaging import FILE --evidence LABEL`"
            ),
        )
    return _zip_candidate(root + b"/" + container if is_folder else root, member, shown)


def _evidence_candidates(session: Session, evidence: Evidence) -> list[_Candidate]:
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
        if _wanted(name) or (name.endswith(".txt") and parent.startswith(_EXPORT_FOLDERS)):
            found.append(_evidence_candidate(evidence, path))
    return found


def _folder_candidates(folder: Path, prefix: str) -> list[_Candidate]:
    """Artefacts under a plain folder, enumerated as the folder source does (read-only)."""
    from cairn.evidence.base import Unit
    from cairn.evidence.directory import DirectorySource

    found = []
    for unit in DirectorySource(folder).units():
        if not isinstance(unit, Unit) or not isinstance(unit.locator, bytes):
            continue
        name = os.fsdecode(unit.path.rsplit(b"/", 1)[-1])
        if _wanted(name):
            found.append(_plain_candidate(unit.locator, prefix + os.fsdecode(unit.path)))
    return sorted(found, key=lambda c: c.path)


# --- importing -----------------------------------------------------------------------------


def import_from_evidence(ctx: Context, case_ref: str, evidence_label: str) -> list[ImportSummary]:
    """Find the WhatsApp artefacts an ingested evidence item holds, and import each."""
    with ctx.db.session() as session:
        evidence = find_evidence(session, get_case(session, case_ref), evidence_label)
        candidates = _evidence_candidates(session, evidence)
    return [_import(ctx, case_ref, evidence, c) for c in candidates]


def import_path(
    ctx: Context,
    path: Path,
    case_ref: str,
    evidence_label: str,
    *,
    owner: str | None = None,
    format_name: str | None = None,
) -> list[ImportSummary]:
    """Import an artefact file, or every artefact under a folder, as from `evidence_label`.

    The evidence item is registered from `path` when the case has none of that label. `owner`
    is the phone owner's number, when known: it names who sent the phone's own messages.
    """
    resolved = path.expanduser().resolve()
    if not resolved.exists():
        raise UsageError(f"{path}: no such file or folder")
    owner_key = None
    if owner is not None:
        owner_key = identity.e164(owner)
        if owner_key is None:
            raise UsageError(f"--owner {owner!r} is not an international phone number")
    with ctx.db.session() as session:
        case = get_case(session, case_ref)
        evidence = session.scalar(
            select(Evidence).where(Evidence.case_id == case.id, Evidence.label == evidence_label)
        )
    if evidence is None:
        evidence, _ = add_evidence(ctx, case_ref, resolved, label=evidence_label)
    root = Path(evidence.source_path)
    inside = root.is_dir() and resolved.is_relative_to(root)
    shown = resolved.relative_to(root).as_posix() if inside else str(resolved)
    if resolved.is_dir():
        prefix = "" if resolved == root else f"{shown}/"
        candidates = _folder_candidates(resolved, prefix)
    else:
        candidates = [
            _plain_candidate(os.fsencode(resolved), resolved.name if resolved == root else shown)
        ]
    return [_import(ctx, case_ref, evidence, c, owner_key, format_name) for c in candidates]


class _Unreadable(Exception):
    """An artefact Cairn cannot read: the message says which file and why."""


def _import(
    ctx: Context,
    case_ref: str,
    evidence: Evidence,
    candidate: _Candidate,
    owner_key: str | None = None,
    format_name: str | None = None,
) -> ImportSummary:
    started = time.monotonic()
    summary = ImportSummary(case_ref, evidence.label, candidate.path)
    try:
        if candidate.problem is not None:
            raise _Unreadable(candidate.problem)
        with private_folder(ctx.workspace.root / "tmp") as folder:
            problem = backup_problem(candidate.name)
            try:
                if problem is not None:  # hashed for the record, not copied: it is useless
                    copied = [digest(candidate.name, candidate.openers[0][1])]
                else:
                    copy, copied = acquire(folder, candidate.name, candidate.openers)
            except OSError as exc:
                raise _Unreadable(f"cannot read: {exc}") from exc
            summary.originals = [
                {"name": c.name, "sha256": c.sha256, "size": c.size} for c in copied
            ]
            if problem is not None:
                raise _Unreadable(problem)
            fmt = _format(copy, candidate.name, format_name)
            summary.format = fmt.name
            artefact = Artefact(
                candidate.path, copy, evidence.label, evidence.timezone, _attachments(candidate)
            )
            _store(ctx, case_ref, evidence, fmt, artefact, owner_key, summary)
    except _Unreadable as exc:
        summary.issues.append(f"error unreadable ({candidate.path}): {exc}")
        summary.issue_counts = {"error": 1}
        if summary.originals:  # a file was read: its failure is on record in the case
            _record_failure(ctx, case_ref, evidence, candidate, summary, str(exc))
    summary.seconds = time.monotonic() - started
    return summary


def _format(copy: Path, name: str, format_name: str | None) -> type[MessagingFormat]:
    """The artefact's format: as named, else detected from its head and tables."""
    with open(copy, "rb") as stream:
        head = stream.read(HEAD_BYTES)
    tables: frozenset[str] = frozenset()
    if head.startswith(MAGIC):
        try:
            tables = table_names(copy)
        except sqlite3.DatabaseError as exc:
            raise _Unreadable(f"SQLite cannot open it: {exc}") from exc
    fmt = by_name(format_name) if format_name else detect(name, head, tables)
    if fmt is None:
        shown = f" (SQLite tables: {', '.join(sorted(tables)[:12]) or 'none'})"
        raise _Unreadable(
            f"not a WhatsApp database or chat export{shown if head.startswith(MAGIC) else ''}"
        )
    return fmt


def _attachments(candidate: _Candidate) -> Callable[[str], MediaRef | None]:
    """Hash a file lying beside an export (read-only), as the export names it."""
    from cairn.media.sniff import sniff

    def attachment(name: str) -> MediaRef | None:
        opener = candidate.sibling(name) if candidate.sibling else None
        if opener is None:
            return None
        hasher, size, head = hashlib.sha256(), 0, b""
        try:
            with opener() as stream:
                while chunk := stream.read(1 << 20):
                    if not head:
                        head = chunk[:8192]
                    hasher.update(chunk)
                    size += len(chunk)
        except OSError:
            return None
        content = sniff(head)
        return MediaRef(hasher.hexdigest(), name, size, content.mime if content else None)

    return attachment


def _record_failure(
    ctx: Context,
    case_ref: str,
    evidence: Evidence,
    candidate: _Candidate,
    summary: ImportSummary,
    problem: str,
) -> None:
    """A failed import leaves a row (and audit event) saying which file and why."""
    sha256 = summary.originals[0]["sha256"] if summary.originals else ""
    with ctx.db.session() as session:
        _forget_earlier(session, evidence.id, candidate.path, sha256)
        row = MsgImport(
            case_id=evidence.case_id,
            evidence_id=evidence.id,
            format=summary.format or "",
            path=candidate.path,
            sha256=sha256,
            originals=summary.originals,
            status="failed",
            counts={},
            imported_at=datetime.now(UTC),
            imported_by=ctx.actor.user,
        )
        session.add(row)
        session.flush()
        session.add(
            MsgImportIssue(
                import_id=row.id,
                severity="error",
                code="unreadable",
                location=candidate.path,
                message=problem,
            )
        )
        audit.record(
            session,
            ctx.actor,
            "messaging.import",
            case_ref,
            evidence=evidence.label,
            path=candidate.path,
            status="failed",
            problem=problem,
        )


def _forget_earlier(session: Session, evidence_id: int, path: str, sha256: str) -> None:
    """Remove an earlier failed or incomplete import of the same file before retrying."""
    earlier = session.scalar(
        select(MsgImport).where(
            MsgImport.evidence_id == evidence_id, MsgImport.path == path, MsgImport.sha256 == sha256
        )
    )
    if earlier is None:
        return
    for table in (MsgImportIssue, MsgGroupEvent, MsgMessage, MsgThumbnail):
        session.execute(delete(table).where(table.import_id == earlier.id))
    session.execute(delete(MsgImport).where(MsgImport.id == earlier.id))


def _store(
    ctx: Context,
    case_ref: str,
    evidence: Evidence,
    fmt: type[MessagingFormat],
    artefact: Artefact,
    owner_key: str | None,
    summary: ImportSummary,
) -> None:
    sha256 = summary.originals[0]["sha256"]
    with ctx.db.session() as session:
        done = session.scalar(
            select(MsgImport.status).where(
                MsgImport.evidence_id == evidence.id,
                MsgImport.path == artefact.path,
                MsgImport.sha256 == sha256,
            )
        )
        if done == "completed":
            summary.status = "already-imported"
            return
        _forget_earlier(session, evidence.id, artefact.path, sha256)
    from cairn.media.thumbnail import load_or_create_key

    key = load_or_create_key(ctx.workspace.key_file)
    started = datetime.now(UTC)
    with ctx.db.engine.begin() as connection:
        run_id = int(
            connection.execute(
                insert(ProcessingRun).returning(ProcessingRun.id),
                {
                    "case_id": evidence.case_id,
                    "evidence_id": evidence.id,
                    "command": "messaging-import",
                    "cairn_version": library_versions()["cairn"],
                    "libraries": library_versions(),
                    "settings": {"format": fmt.name, "path": artefact.path},
                    "host": socket.gethostname(),
                    "user": ctx.actor.user,
                    "started_at": started,
                    "status": "running",
                },
            ).scalar_one()
        )
        writer = _Writer(connection, evidence.case_id, artefact.scope, owner_key, key)
        import_id = int(
            connection.execute(
                insert(MsgImport).returning(MsgImport.id),
                {
                    "case_id": evidence.case_id,
                    "evidence_id": evidence.id,
                    "format": fmt.name,
                    "path": artefact.path,
                    "sha256": sha256,
                    "originals": summary.originals,
                    "owner_account_id": writer.account_id(*_owner(owner_key, artefact.scope)),
                    "status": "running",
                    "counts": {},
                    "imported_at": started,
                    "imported_by": ctx.actor.user,
                    "run_id": run_id,
                },
            ).scalar_one()
        )
        writer.import_id = import_id
        status = "completed"
        try:
            for record in fmt.read(artefact):
                writer.add(record)
        except (sqlite3.DatabaseError, OSError) as exc:
            status = "incomplete"
            writer.add(
                Issue(
                    Severity.ERROR,
                    "unreadable",
                    artefact.path,
                    f"reading stopped: {exc}; what was read before is kept",
                )
            )
        writer.flush()
        summary.status = status
        summary.counts = dict(writer.counts)
        summary.recovery = "; ".join(writer.recovery) or None
        summary.unavailable = writer.unavailable
        summary.issues = writer.shown
        summary.issue_counts = dict(writer.severities)
        connection.execute(
            update(MsgImport)
            .where(MsgImport.id == import_id)
            .values(status=status, counts=summary.counts, recovery=summary.recovery)
        )
        connection.execute(
            update(ProcessingRun)
            .where(ProcessingRun.id == run_id)
            .values(ended_at=datetime.now(UTC), status=status, counts=summary.counts)
        )
        with Session(bind=connection) as session:
            audit.record(
                session,
                ctx.actor,
                "messaging.import",
                case_ref,
                evidence=evidence.label,
                path=artefact.path,
                format=fmt.name,
                originals=summary.originals,
                status=status,
                counts=summary.counts,
                run=run_id,
            )
            session.flush()


def _owner(owner_key: str | None, scope: str) -> tuple[str, Account]:
    """The phone owner's account: the number given, or a stand-in until one is known."""
    if owner_key is not None:
        return owner_key, Account(owner_key, owner_key)
    placeholder = identity.owner_key(scope)
    return placeholder, Account(placeholder, display_name=f"owner of {scope}")


class _Writer:
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
        # The phone's own messages and acts are its owner's: a number when given.
        self.remap = {identity.owner_key(scope): owner_key} if owner_key else {}
        self.accounts: dict[str, tuple[int, dict[str, Any]]] = {}
        self.groups: dict[str, tuple[int, dict[str, Any]]] = {}
        fields = [getattr(MsgAccount, c) for c in _ACCOUNT_FIELDS]
        for key, row_id, *values in connection.execute(
            select(MsgAccount.key, MsgAccount.id, *fields).where(MsgAccount.case_id == case_id)
        ):
            self.accounts[key] = (row_id, dict(zip(_ACCOUNT_FIELDS, values, strict=True)))
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
        known = self.accounts.get(key)
        if record is None and known is not None:  # the common case: a message's sender
            return known[0]
        values = {c: getattr(record, c) if record else None for c in _ACCOUNT_FIELDS}
        if key.startswith("+") and not values["phone"]:
            values["phone"] = key
        return self._upsert(MsgAccount, self.accounts, key, values, "accounts")

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
        else:
            self._issue(record)
        if len(self.messages) >= MESSAGE_BATCH or len(self.sealed) >= THUMBNAIL_BATCH:
            self.flush()

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
            )
        )
        counts = self.counts
        counts["messages"] += 1
        if media is not None:
            counts["media" if media.sha256 else "media_without_hash"] += 1
        if m.recovered:
            counts["recovered_messages"] += 1

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
                sealed = make_thumbnail(image, self.thumbnail_key)
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
        for chunk in _chunks(shas):
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


_MESSAGE_COLUMNS = (
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
)


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


_ACCOUNT_FIELDS = ("phone", "jid", "lid", "display_name", "push_name")


# --- analysis and reports ------------------------------------------------------------------


@dataclass(frozen=True)
class SharingView:
    sender: str  # phone number, else name, else key
    chat: str
    at: str  # corrected to the reference clock, ISO 8601 UTC
    recorded_at: str  # as the phone below recorded it
    device: str
    seen_on: tuple[str, ...]
    clock: str  # the offset and uncertainty applied
    forwarded: bool | None
    forward_score: int | None
    recovered: str | None


@dataclass(frozen=True)
class MediaReport:
    sha256: str
    mime: str | None
    size: int | None
    claim: str  # the first-poster claim, with the clock correction beside it
    first: SharingView
    later: tuple[SharingView, ...]
    forwards: int
    order_established: bool
    files: tuple[str, ...]  # "evidence:path" of every ingested copy in the case
    hash_sets: tuple[str, ...]
    thumbnail: bool  # a review thumbnail exists (the file's own, or WhatsApp's)


@dataclass(frozen=True)
class PersonReport:
    key: str
    phone: str | None
    names: tuple[str, ...]
    phones_owned: tuple[str, ...]  # "evidence: how the owner is known"
    groups: tuple[str, ...]  # "group name (roles and events)"
    messages_seen: int  # message records sent by them, over every phone
    media_sent: int  # distinct media items they posted
    first_posted: tuple[str, ...]  # SHA-256 of the items they posted first
    first_posted_not_forwarded: tuple[str, ...]
    forwarded: tuple[str, ...]  # SHA-256 of the items they forwarded
    camera_matches: tuple[str, ...]  # their items with camera EXIF on their own phones
    producer_rank: int | None
    producer_score: int
    producer_evidence: tuple[str, ...]
    distributor_rank: int | None
    distributor_score: int
    distributor_evidence: tuple[str, ...]


@dataclass(frozen=True)
class GroupReport:
    key: str
    name: str | None
    creator: str | None
    created_at: str | None
    seen_on: tuple[str, ...]
    members: tuple[str, ...]  # "person (roles)" as the extractions list them
    admins: tuple[str, ...]
    invite_link_joins: tuple[str, ...]  # "person at time (phone)"
    events: tuple[str, ...]  # dated membership events, in time order
    messages: int  # message records, over every phone
    media_items: int


@dataclass(frozen=True)
class CaseAnalysis:
    case_ref: str
    clocks: list[ClockOffset]
    owners: dict[str, str]  # evidence label -> owner and how it is known
    people: list[PersonReport]
    groups: list[GroupReport]
    media: list[MediaReport]
    producers: list[Score]  # people shown by number or name
    distributors: list[Score]
    # What the graph is drawn from, keyed as stored: attributions, (person, group) roles.
    attributions: list[Attribution] = field(default_factory=list)
    memberships: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # person or group key -> shown name


@dataclass(frozen=True)
class _Event:
    group: str  # group key
    person: str | None
    action: str
    at: datetime | None
    actor: str | None
    device: str


class _Case:
    """The case's messaging rows, with each phone's owner resolved: what reports read."""

    def __init__(self, connection: Connection, session: Session, case: Case) -> None:
        self.id = case.id
        self.connection = connection
        self.accounts = {
            a.id: a
            for a in session.scalars(select(MsgAccount).where(MsgAccount.case_id == case.id))
        }
        self.groups = {
            g.id: g for g in session.scalars(select(MsgGroup).where(MsgGroup.case_id == case.id))
        }
        self.imports: dict[int, tuple[str, int | None]] = {
            row.id: (label, row.owner_account_id)
            for row, label in session.execute(
                select(MsgImport, Evidence.label)
                .join(Evidence, Evidence.id == MsgImport.evidence_id)
                .where(MsgImport.case_id == case.id, MsgImport.status != "failed")
            )
        }
        self.devices = sorted({label for label, _ in self.imports.values()})
        self.names = {a.key: _shown(a) for a in self.accounts.values()}
        self.names.update({g.key: g.name or g.key for g in self.groups.values()})
        self.shared = _shared_rows(connection, case.id)
        self.owners, self.owner_notes = self._owners()

    def person(self, device: str, from_me: bool, account_id: int | None) -> str | None:
        """Who acted: the phone's owner for its own messages, else the account named."""
        if from_me:
            return self.owners[device]
        account = self.accounts.get(account_id) if account_id is not None else None
        if account is None:
            return None
        if account.key.startswith("owner:"):  # a phone's own act, or "You" in an export
            return self.owners.get(account.key.removeprefix("owner:"), account.key)
        return account.key

    def shown(self, key: str | None) -> str:
        return "unknown" if key is None else self.names.get(key, key)

    def _owners(self) -> tuple[dict[str, str], dict[str, str]]:
        """Each phone's owner: given at import, else inferred from messages the phone sent
        that another phone holds as received from a number."""
        owners: dict[str, str] = {}
        notes: dict[str, str] = {}
        for label, owner_id in self.imports.values():
            account = self.accounts.get(owner_id) if owner_id else None
            if account is not None and not account.key.startswith("owner:"):
                owners[label] = account.key
                notes[label] = f"{_shown(account)} (given at import)"
        pending = set(self.devices) - set(owners)
        copies: dict[str, list[tuple[str, bool, int | None]]] = defaultdict(list)
        for message, label, from_me, sender_id, _at in self.shared:
            copies[message].append((label, from_me, sender_id))
        pairs = [
            (label, self.accounts[sender].key)
            for held in copies.values()
            for label, mine, _s in held
            if mine and label in pending
            for other, theirs, sender in held
            if other != label
            and not theirs
            and sender in self.accounts
            and not self.accounts[sender].key.startswith("owner:")
        ]
        for label, (key, support, total) in infer_owners(pairs).items():
            owners[label] = key
            notes[label] = (
                f"{self.shown(key)} (inferred: {support} of {plural(total, 'message')} sent "
                f"from {label} are held by other phones as received from that "
                "account)"
            )
        for label in sorted(pending - set(owners)):
            owners[label] = identity.owner_key(label)
            notes[label] = "unknown (no number given at import, none inferred)"
        return owners, notes

    def events(self) -> list[_Event]:
        rows = self.connection.execute(
            select(
                MsgGroupEvent.group_id,
                MsgGroupEvent.account_id,
                MsgGroupEvent.action,
                MsgGroupEvent.at,
                MsgGroupEvent.actor_account_id,
                MsgImport.id,
            )
            .join(MsgImport, MsgImport.id == MsgGroupEvent.import_id)
            .where(MsgImport.case_id == self.id, MsgImport.status != "failed")
            .order_by(MsgGroupEvent.id)
        )
        events = []
        for group_id, account_id, action, at, actor_id, import_id in rows:
            device = self.imports[import_id][0]
            events.append(
                _Event(
                    self.groups[group_id].key,
                    self.person(device, False, account_id),
                    action,
                    _utc(at),
                    self.person(device, False, actor_id),
                    device,
                )
            )
        return events

    def sightings(self) -> Iterator[Sighting]:
        rows = self.connection.execute(
            select(
                MsgMessage.id,
                MsgMessage.key_id,
                MsgMessage.group_id,
                MsgMessage.peer_account_id,
                MsgMessage.import_id,
                MsgMessage.from_me,
                MsgMessage.sender_account_id,
                MsgMessage.at,
                MsgMessage.forwarded,
                MsgMessage.forward_score,
                MsgMessage.media_sha256,
                MsgMessage.recovered,
            )
            .join(MsgImport, MsgImport.id == MsgMessage.import_id)
            .where(
                MsgImport.case_id == self.id,
                MsgMessage.media_sha256.is_not(None),
                MsgImport.status != "failed",
            )
            .order_by(MsgMessage.id)
        )
        for (
            row_id,
            key_id,
            group_id,
            peer_id,
            import_id,
            from_me,
            sender_id,
            at,
            forwarded,
            score,
            sha256,
            recovered,
        ) in rows:
            device = self.imports[import_id][0]
            if group_id is not None:
                group = self.groups[group_id]
                chat, chat_name = group.key, group.name or group.key
            else:
                peer = self.person(device, False, peer_id)
                chat = peer or "unknown"
                chat_name = f"chat of {self.shown(peer)} with {device}"
            message = _identity(key_id, group_id) if key_id else f"row:{row_id}"
            yield Sighting(
                message,
                sha256,
                device,
                self.person(device, bool(from_me), sender_id),
                chat,
                chat_name,
                _utc(at),
                forwarded,
                score,
                recovered,
            )


def _shown(account: MsgAccount) -> str:
    return account.phone or account.display_name or account.push_name or account.key


def _shared_rows(
    connection: Connection, case_id: int
) -> list[tuple[str, str, bool, int | None, datetime | None]]:
    """Messages held by more than one phone: (identity, phone, from me, sender id, time)."""
    live = (MsgImport.case_id == case_id, MsgImport.status != "failed")
    shared = (
        select(MsgMessage.key_id)
        .join(MsgImport, MsgImport.id == MsgMessage.import_id)
        .where(*live, MsgMessage.key_id.is_not(None))
        .group_by(MsgMessage.key_id)
        .having(func.count(func.distinct(MsgImport.evidence_id)) > 1)
    )
    rows = connection.execute(
        select(
            MsgMessage.key_id,
            MsgMessage.group_id,
            Evidence.label,
            MsgMessage.from_me,
            MsgMessage.sender_account_id,
            MsgMessage.at,
        )
        .join(MsgImport, MsgImport.id == MsgMessage.import_id)
        .join(Evidence, Evidence.id == MsgImport.evidence_id)
        .where(*live, MsgMessage.key_id.in_(shared))
        .order_by(MsgMessage.key_id, Evidence.label)
    )
    return [
        (_identity(key_id or "", group_id), label, bool(from_me), sender, _utc(at))
        for key_id, group_id, label, from_me, sender, at in rows
    ]


def _identity(key_id: str, group_id: int | None) -> str:
    """A message's identity on every phone: its id within its group (a one-to-one chat is
    filed under a different peer on each phone, so there the id alone names it)."""
    return f"{key_id}@{group_id}" if group_id is not None else key_id


def _utc(at: datetime | None) -> datetime | None:
    """SQLite hands stored UTC times back without their zone."""
    if at is None or at.tzinfo is not None:
        return at
    return at.replace(tzinfo=UTC)


def analyse_case(ctx: Context, case_ref: str) -> CaseAnalysis:
    """Everything `cairn messaging people|groups|media|clocks|graph` shows, computed once."""
    with ctx.db.engine.connect() as connection, Session(bind=connection) as session:
        case = _Case(connection, session, get_case(session, case_ref))
        offsets = estimate_offsets(
            (
                Stamp(message, device, at)
                for message, device, _m, _s, at in case.shared
                if at is not None
            ),
            case.devices,
        )
        attributions = attribute(case.sightings(), offsets)
        shas = [a.sha256 for a in attributions]
        known = _known(ctx, connection, shas)
        cameras, files = _copies(connection, case.id, shas)
        thumbnails = _thumbnailed(connection, shas)
        facts = _media_facts(connection, shas)
        events = case.events()
        counts = _message_counts(case)
        group_counts = _group_counts(connection, case.id)
    producers = producer_scores(attributions, known, cameras, case.owners)
    distributors = distributor_scores(attributions)
    memberships: dict[tuple[str, str], set[str]] = defaultdict(set)
    for event in events:
        if event.person is not None:
            memberships[(event.person, event.group)].add(event.action)
    for group in case.groups.values():
        creator = case.accounts.get(group.creator_account_id or -1)
        if creator is not None:
            memberships[(creator.key, group.key)].add("creator")
    media = [
        MediaReport(
            item.sha256,
            *facts.get(item.sha256, (None, None)),
            _claim(item, case),
            _view(item.first, case),
            tuple(_view(s, case) for s in item.later),
            item.forwards,
            item.established,
            tuple(files.get(item.sha256, ())),
            tuple(known.get(item.sha256, ())),
            item.sha256 in thumbnails,
        )
        for item in attributions
    ]
    return CaseAnalysis(
        case_ref,
        [offsets[d] for d in sorted(offsets)],
        dict(sorted(case.owner_notes.items())),
        _people(case, attributions, cameras, producers, distributors, memberships, counts),
        _groups(case, events, group_counts, offsets),
        media,
        [replace(s, person=case.shown(s.person)) for s in producers],
        [replace(s, person=case.shown(s.person)) for s in distributors],
        attributions,
        dict(memberships),
        case.names,
    )


def _claim(item: Attribution, case: _Case) -> str:
    first = item.first
    return replace(item, first=replace(first, sender=case.shown(first.sender))).claim()


def _view(sharing: Sharing, case: _Case) -> SharingView:
    return SharingView(
        case.shown(sharing.sender),
        sharing.chat_name,
        iso(sharing.at),
        iso(sharing.recorded_at),
        sharing.device,
        sharing.devices,
        sharing.clock.note(),
        sharing.forwarded,
        sharing.forward_score,
        sharing.recovered,
    )


def _chunks(values: list[str], size: int = 5000) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _known(ctx: Context, connection: Connection, shas: list[str]) -> dict[str, list[str]]:
    """Hash-set entries per item from active sets: exact SHA-256 entries, found even when the
    file is gone, and the matches of ingested copies (MD5, SHA-1, PDQ)."""
    import numpy as np

    from cairn.matching.known import KnownIndexes
    from cairn.store.models import HashSet, KnownHash, Match

    if not shas:
        return {}
    found: dict[str, set[str]] = defaultdict(set)

    def describe(name: str, kind: str, scheme: str | None, code: str | None, how: str) -> str:
        category = f", {scheme}:{code or ''}" if scheme else ""
        return f"{name} ({kind}{category}; {how})"

    queries = np.frombuffer(b"".join(bytes.fromhex(s) for s in shas), np.uint8).reshape(-1, 32)
    rows, known_ids = KnownIndexes(ctx.workspace.root / "indexes").lookup("sha256", queries)
    by_known: dict[int, list[str]] = defaultdict(list)
    for row, known_id in zip(rows.tolist(), known_ids.tolist(), strict=True):
        by_known[int(known_id)].append(shas[row])
    ids = sorted(by_known)
    for start in range(0, len(ids), 5000):
        for known_id, name, kind, scheme, code in connection.execute(
            select(
                KnownHash.id,
                HashSet.name,
                HashSet.kind,
                KnownHash.category_scheme,
                KnownHash.category_code,
            )
            .join(HashSet, HashSet.id == KnownHash.hashset_id)
            .where(KnownHash.id.in_(ids[start : start + 5000]), HashSet.removed_at.is_(None))
        ):
            for sha in by_known[known_id]:
                found[sha].add(describe(name, kind, scheme, code, "sha256"))
    for chunk in _chunks(shas):
        for sha, name, kind, scheme, code, method, distance in connection.execute(
            select(
                Match.media_sha256,
                HashSet.name,
                HashSet.kind,
                KnownHash.category_scheme,
                KnownHash.category_code,
                Match.method,
                Match.distance,
            )
            .join(HashSet, HashSet.id == Match.hashset_id)
            .join(KnownHash, KnownHash.id == Match.known_hash_id)
            .where(
                Match.media_sha256.in_(chunk), Match.band == "match", HashSet.removed_at.is_(None)
            )
        ):
            how = f"pdq distance {distance}" if method == "pdq" else method
            found[sha].add(describe(name, kind, scheme, code, how))
    return {sha: sorted(names) for sha, names in found.items()}


def _copies(
    connection: Connection, case_id: int, shas: list[str]
) -> tuple[dict[str, list[CameraCopy]], dict[str, list[str]]]:
    """Ingested copies of the items on the case's phones, and those carrying camera EXIF."""
    cameras: dict[str, list[CameraCopy]] = defaultdict(list)
    files: dict[str, list[str]] = defaultdict(list)
    for chunk in _chunks(shas):
        for sha, label, path, make, model in connection.execute(
            select(
                Occurrence.media_sha256,
                Evidence.label,
                Occurrence.path,
                Media.exif_make,
                Media.exif_model,
            )
            .join(Evidence, Evidence.id == Occurrence.evidence_id)
            .join(Media, Media.sha256 == Occurrence.media_sha256)
            .where(Evidence.case_id == case_id, Occurrence.media_sha256.in_(chunk))
            .order_by(Evidence.label, Occurrence.path)
        ):
            assert sha is not None  # selected by it
            shown = path.decode("utf-8", "backslashreplace")
            files[sha].append(f"{label}:{shown}")
            if make or model:
                cameras[sha].append(CameraCopy(label, shown, make, model))
    return cameras, files


def _thumbnailed(connection: Connection, shas: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(shas):
        for table in (MsgThumbnail, ReviewThumbnail):
            found.update(connection.scalars(select(table.sha256).where(table.sha256.in_(chunk))))
    return found


def _media_facts(
    connection: Connection, shas: list[str]
) -> dict[str, tuple[str | None, int | None]]:
    """MIME type and size per item: of the ingested file, else as the messages state them."""
    facts: dict[str, tuple[str | None, int | None]] = {}
    for chunk in _chunks(shas):
        for sha, mime, size in connection.execute(
            select(
                MsgMessage.media_sha256,
                func.max(MsgMessage.media_mime),
                func.max(MsgMessage.media_size),
            )
            .where(MsgMessage.media_sha256.in_(chunk))
            .group_by(MsgMessage.media_sha256)
        ):
            assert sha is not None  # selected by it
            facts[sha] = (mime, size)
        for sha, mime, size in connection.execute(
            select(Media.sha256, Media.mime, Media.size).where(Media.sha256.in_(chunk))
        ):
            facts[sha] = (mime or facts.get(sha, (None, None))[0], size)
    return facts


def _message_counts(case: _Case) -> dict[str, int]:
    """Message records per sender, over every phone (a message two phones hold counts twice)."""
    counts: dict[str, int] = defaultdict(int)
    for import_id, from_me, sender_id, count in case.connection.execute(
        select(MsgMessage.import_id, MsgMessage.from_me, MsgMessage.sender_account_id, func.count())
        .join(MsgImport, MsgImport.id == MsgMessage.import_id)
        .where(MsgImport.case_id == case.id, MsgImport.status != "failed")
        .group_by(MsgMessage.import_id, MsgMessage.from_me, MsgMessage.sender_account_id)
    ):
        person = case.person(case.imports[import_id][0], bool(from_me), sender_id)
        if person is not None:
            counts[person] += count
    return counts


def _group_counts(connection: Connection, case_id: int) -> dict[int, tuple[int, int, set[str]]]:
    """Per group: message records, distinct media items, and the phones holding messages."""
    result: dict[int, tuple[int, int, set[str]]] = {}
    for group_id, label, messages, items in connection.execute(
        select(
            MsgMessage.group_id,
            Evidence.label,
            func.count(),
            func.count(func.distinct(MsgMessage.media_sha256)),
        )
        .join(MsgImport, MsgImport.id == MsgMessage.import_id)
        .join(Evidence, Evidence.id == MsgImport.evidence_id)
        .where(
            MsgImport.case_id == case_id,
            MsgMessage.group_id.is_not(None),
            MsgImport.status != "failed",
        )
        .group_by(MsgMessage.group_id, Evidence.label)
    ):
        assert group_id is not None  # selected by it
        total, media, phones = result.get(group_id, (0, 0, set()))
        result[group_id] = (total + messages, max(media, items), phones | {label})
    return result


def _people(
    case: _Case,
    attributions: list[Attribution],
    cameras: dict[str, list[CameraCopy]],
    producers: list[Score],
    distributors: list[Score],
    memberships: dict[tuple[str, str], set[str]],
    counts: dict[str, int],
) -> list[PersonReport]:
    by_key = {a.key: a for a in case.accounts.values()}
    first: dict[str, list[str]] = defaultdict(list)
    originals: dict[str, list[str]] = defaultdict(list)
    forwarded: dict[str, set[str]] = defaultdict(set)
    sent: dict[str, set[str]] = defaultdict(set)
    for item in attributions:
        if item.first.sender:
            first[item.first.sender].append(item.sha256)
            if not item.first.forwarded:
                originals[item.first.sender].append(item.sha256)
        for sharing in item.sharings:
            if sharing.sender:
                sent[sharing.sender].add(item.sha256)
                if sharing.forwarded:
                    forwarded[sharing.sender].add(item.sha256)
    owned: dict[str, list[str]] = defaultdict(list)
    for label, key in case.owners.items():
        owned[key].append(f"{label}: {case.owner_notes[label]}")
    roles: dict[str, list[str]] = defaultdict(list)
    for (person, group), actions in sorted(memberships.items()):
        roles[person].append(f"{case.shown(group)} ({', '.join(sorted(actions))})")
    producer = {s.person: s for s in producers}
    distributor = {s.person: s for s in distributors}
    reports = []
    for key in set(counts) | set(roles) | set(sent) | set(owned):
        account = by_key.get(key)
        names = {n for n in (account.display_name, account.push_name) if n} if account else set()
        matches = tuple(
            f"{sha[:12]} on {c.device}:{c.path} (EXIF {_camera(c)})"
            for sha in sorted(sent[key])
            for c in cameras.get(sha, ())
            if case.owners.get(c.device) == key
        )
        p, d = producer.get(key), distributor.get(key)
        reports.append(
            PersonReport(
                key,
                account.phone if account else None,
                tuple(sorted(names)),
                tuple(owned[key]),
                tuple(sorted(roles[key])),
                counts.get(key, 0),
                len(sent[key]),
                tuple(first[key]),
                tuple(originals[key]),
                tuple(sorted(forwarded[key])),
                matches,
                p.rank if p else None,
                p.points if p else 0,
                p.evidence if p else (),
                d.rank if d else None,
                d.points if d else 0,
                d.evidence if d else (),
            )
        )
    unranked = 1 << 30
    reports.sort(key=lambda r: (r.producer_rank or unranked, r.distributor_rank or unranked, r.key))
    return reports


def _camera(copy: CameraCopy) -> str:
    return " ".join(p for p in (copy.make, copy.model) if p)


@dataclass
class _Dated:
    at: datetime  # corrected to the reference clock
    clock: ClockOffset  # of the phone whose stamp is used
    devices: set[str]


def _groups(
    case: _Case,
    events: list[_Event],
    counts: dict[int, tuple[int, int, set[str]]],
    offsets: dict[str, ClockOffset],
) -> list[GroupReport]:
    roster: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    seen_on: dict[str, set[str]] = defaultdict(set)
    created_by: dict[str, str] = {}
    # A dated event seen on several phones is one event: same group, person, act and actor,
    # at corrected times within the phones' clock uncertainties of each other.
    dated: dict[tuple[str, str | None, str, str | None], list[_Dated]] = defaultdict(list)
    for event in events:
        seen_on[event.group].add(event.device)
        if event.action == "created" and event.person is not None:
            created_by.setdefault(event.group, event.person)
        if event.at is None:
            roster[event.group][case.shown(event.person)].add(event.action)
            continue
        clock = offsets[event.device]
        at = event.at - timedelta(seconds=clock.offset)
        same = dated[(event.group, event.person, event.action, event.actor)]
        for merged in same:
            tolerance = (merged.clock.uncertainty or 0.0) + (clock.uncertainty or 0.0)
            if abs((merged.at - at).total_seconds()) <= tolerance + MIN_UNCERTAINTY:
                merged.devices.add(event.device)
                if (clock.uncertainty or 0.0) < (merged.clock.uncertainty or 0.0):
                    merged.at, merged.clock = at, clock
                break
        else:
            same.append(_Dated(at, clock, {event.device}))
    lines: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    joins: dict[str, list[str]] = defaultdict(list)
    for (group_key, person, action, actor), occurrences in dated.items():
        who = case.shown(person)
        by = f" by {case.shown(actor)}" if actor not in (None, person) else ""
        for merged in occurrences:
            where = f"{merged.clock.note()}; seen on {', '.join(sorted(merged.devices))}"
            lines[group_key].append((merged.at, f"{iso(merged.at)} {who} {action}{by} ({where})"))
            if action == "joined-by-link":
                joins[group_key].append(f"{who} at {iso(merged.at)} ({where})")
    reports = []
    for group in sorted(case.groups.values(), key=lambda g: (g.name or "", g.key)):
        creator = case.accounts.get(group.creator_account_id or -1)
        creator_key = creator.key if creator else created_by.get(group.key)
        messages, items, phones = counts.get(group.id, (0, 0, set()))
        members = roster[group.key]
        reports.append(
            GroupReport(
                group.key,
                group.name,
                case.shown(creator_key) if creator_key else None,
                iso(_utc(group.created_at)) if group.created_at else None,
                tuple(sorted(seen_on[group.key] | phones)),
                tuple(f"{who} ({', '.join(sorted(r))})" for who, r in sorted(members.items())),
                tuple(sorted(w for w, r in members.items() if r & {"admin", "superadmin"})),
                tuple(sorted(joins[group.key])),
                tuple(line for _at, line in sorted(lines[group.key])),
                messages,
                items,
            )
        )
    return reports


def case_graph(analysis: CaseAnalysis) -> nx.Graph[str]:
    """The case's person–group–media graph, with centrality and communities.

    Node ids are the stored keys (`+447700900123`, `group:…`) and `media:<sha256>`.
    """
    from cairn.messaging.graph import Edge, Node, build

    nodes: dict[str, Node] = {}
    for person in analysis.people:
        nodes[person.key] = Node(
            person.key,
            "person",
            analysis.names.get(person.key, person.key),
            {
                "phone": person.phone or "",
                "names": "; ".join(person.names),
                "producer_score": person.producer_score,
                "producer_rank": person.producer_rank or 0,
                "distributor_score": person.distributor_score,
                "distributor_rank": person.distributor_rank or 0,
                "phones_owned": "; ".join(person.phones_owned),
            },
        )
    groups = {group.key for group in analysis.groups}
    for group in analysis.groups:
        nodes[group.key] = Node(
            group.key,
            "group",
            group.name or group.key,
            {
                "messages": group.messages,
                "media_items": group.media_items,
                "creator": group.creator or "",
            },
        )
    for item in analysis.media:
        nodes[f"media:{item.sha256}"] = Node(
            f"media:{item.sha256}",
            "media",
            item.sha256[:12],
            {
                "sha256": item.sha256,
                "mime": item.mime or "",
                "known": bool(item.hash_sets),
                "hash_sets": "; ".join(item.hash_sets),
                "forwards": item.forwards,
                "file_present": bool(item.files),
                "first_posted_by": item.first.sender,
            },
        )
    edges = [
        Edge(person, group, "member", attributes={"roles": ", ".join(sorted(roles))})
        for (person, group), roles in sorted(analysis.memberships.items())
    ]
    posted: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    shared: dict[tuple[str, str], int] = defaultdict(int)
    for attribution in analysis.attributions:
        media = f"media:{attribution.sha256}"
        for position, sharing in enumerate(attribution.sharings):
            if sharing.chat in groups:
                shared[(media, sharing.chat)] += 1
            if sharing.sender is not None:
                tally = posted[(sharing.sender, media)]
                tally[0] += 1
                tally[1] += position == 0
                tally[2] += bool(sharing.forwarded)
    edges += [
        Edge(person, media, "posted", n, {"first": bool(first), "forwarded": forwards})
        for (person, media), (n, first, forwards) in sorted(posted.items())
    ]
    edges += [Edge(media, group, "shared-in", n) for (media, group), n in sorted(shared.items())]
    for edge in edges:  # someone known only from one side of a link
        for end in (edge.source, edge.target):
            if end not in nodes:
                nodes[end] = Node(end, "person", analysis.names.get(end, end))
    return build(nodes.values(), edges)


def summary_lines(analysis: CaseAnalysis) -> list[str]:
    """What a case summary (`cairn demo`) says about messaging: volume, and the top producer
    and distributor candidates with their first piece of evidence."""
    if not analysis.media and not analysis.groups:
        return []
    lines = [
        f"WhatsApp: {len(analysis.media)} media items shared in {len(analysis.groups)} "
        f"groups, {len(analysis.people)} people, {len(analysis.clocks)} phones"
    ]
    for title, scores in (
        ("top producer candidate", analysis.producers),
        ("top distributor", analysis.distributors),
    ):
        if scores:
            best = scores[0]
            lines.append(
                f"{title}: {best.person} ({best.points} points; {best.evidence[0]}); "
                f"`cairn messaging people --case {analysis.case_ref}` explains it"
            )
    return lines
