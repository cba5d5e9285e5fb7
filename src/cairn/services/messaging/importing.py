"""Importing one WhatsApp artefact: copy its files privately, read them, store what they hold.

The artefact's files (a database with its companions, or a chat export) are copied into a
private folder of the workspace (mode 0700, removed afterwards) and hashed on the way, and the
copy is read by the format's reader (`cairn.messaging.registry`). Everything one artefact
yields lands in one transaction, with the SHA-256 of each original file, a processing record,
and every issue the reader raised; importing the same artefact again does nothing. A failed
import leaves a row saying which file and why.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from cairn.core.errors import UsageError
from cairn.messaging.base import Artefact, Issue, MediaRef, MessagingFormat, Severity
from cairn.messaging.registry import HEAD_BYTES, backup_problem, by_name, detect
from cairn.messaging.sqlitedb import MAGIC, acquire, digest, private_folder, table_names
from cairn.messaging.telegram import html_problem
from cairn.services.alerts import raise_account_hits
from cairn.services.cases import add_evidence, find_evidence, get_case
from cairn.services.context import Context
from cairn.services.messaging.discovery import (
    Candidate,
    folder_candidates,
    plain_candidate,
    settle,
    zip_candidates,
)
from cairn.services.messaging.discovery import (
    owner_key as parse_owner,
)
from cairn.services.messaging.writer import RecordWriter
from cairn.services.provenance import library_versions
from cairn.store import audit
from cairn.store.messaging_models import (
    MsgGroupEvent,
    MsgImport,
    MsgImportIssue,
    MsgMessage,
    MsgThumbnail,
)
from cairn.store.models import Evidence, ProcessingRun


@dataclass
class ImportSummary:
    """What importing one artefact did: printed by the CLI, returned as JSON."""

    case_ref: str
    evidence: str
    path: str
    format: str | None = None
    status: str = "failed"  # completed, incomplete, failed, already-imported
    owner: str | None = None  # the phone owner's number and how it is known
    originals: list[dict[str, Any]] = field(default_factory=list)  # name, sha256, size
    counts: dict[str, int] = field(default_factory=dict)
    recovery: str | None = None
    unavailable: list[str] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)  # the first writer.ISSUES_SHOWN, as text
    issue_counts: dict[str, int] = field(default_factory=dict)  # per severity
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        failed = self.status in ("failed", "incomplete")
        return 1 if failed or self.issue_counts.get(Severity.ERROR.value) else 0


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

    A zip is searched like a folder, its artefacts read from inside it. The evidence item is
    registered from `path` when the case has none of that label. `owner`
    is the phone owner's number, when known: it names who sent the phone's own messages.
    """
    resolved = path.expanduser().resolve()
    if not resolved.exists():
        raise UsageError(f"{path}: no such file or folder")
    owner_key = parse_owner(owner)
    with ctx.db.session() as session:
        case = get_case(session, case_ref)
        evidence = session.scalar(
            select(Evidence).where(Evidence.case_id == case.id, Evidence.label == evidence_label)
        )
    if evidence is None:
        label = add_evidence(ctx, case_ref, resolved, label=evidence_label)[0].label
        with ctx.db.session() as session:
            evidence = find_evidence(session, get_case(session, case_ref), label)
    root = Path(evidence.source_path)
    inside = root.is_dir() and resolved.is_relative_to(root)
    shown = resolved.relative_to(root).as_posix() if inside else str(resolved)
    if resolved.is_dir():
        prefix = "" if resolved == root else f"{shown}/"
        candidates = folder_candidates(resolved, prefix)
    elif zipfile.is_zipfile(resolved):  # an extraction as a zip: its artefacts, read in place
        candidates = zip_candidates(resolved, resolved.name if resolved == root else shown)
    else:
        candidates = [
            plain_candidate(os.fsencode(resolved), resolved.name if resolved == root else shown)
        ]
    if resolved.is_dir() or zipfile.is_zipfile(resolved):
        candidates = settle(candidates)
    return [
        import_candidate(ctx, case_ref, evidence, c, owner_key, format_name) for c in candidates
    ]


class _Unreadable(Exception):
    """An artefact Cairn cannot read: the message says which file and why."""


def import_candidate(
    ctx: Context,
    case_ref: str,
    evidence: Evidence,
    candidate: Candidate,
    owner_key: str | None = None,
    format_name: str | None = None,
) -> ImportSummary:
    """Import one artefact. One Cairn cannot read ends as a failed summary (and, once a file
    was read, as a failed import in the case), not as an exception."""
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
        problem = html_problem(name, head)
        if problem is not None:
            raise _Unreadable(problem)
        if head.startswith(MAGIC):
            shown = f" (SQLite tables: {', '.join(sorted(tables)[:12]) or 'none'})"
        else:  # a tar, 7z or disk image: ingest reads containers and imports what they hold
            shown = (
                "; if it is an archive or disk image, `cairn ingest` it: the artefacts "
                "inside are imported"
            )
        raise _Unreadable(f"not a WhatsApp database or chat export, nor a Telegram export{shown}")
    return fmt


def _attachments(candidate: Candidate) -> Callable[[str], MediaRef | None]:
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
    candidate: Candidate,
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
        writer = RecordWriter(connection, evidence.case_id, artefact.scope, owner_key, key)
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
                    "owner_account_id": None,  # known once read: given, or stated by it
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
        raise_account_hits(ctx, connection, evidence.case_id, case_ref)
        owner_id, owner_source = writer.owner_row()
        if writer.owner is not None:
            summary.owner = f"{writer.owner[0]} ({owner_source})"
        summary.status = status
        summary.counts = dict(writer.counts)
        summary.recovery = "; ".join(writer.recovery) or None
        summary.unavailable = writer.unavailable
        summary.issues = writer.shown
        summary.issue_counts = dict(writer.severities)
        connection.execute(
            update(MsgImport)
            .where(MsgImport.id == import_id)
            .values(
                status=status,
                counts=summary.counts,
                recovery=summary.recovery,
                owner_account_id=owner_id,
                owner_source=owner_source,
            )
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
