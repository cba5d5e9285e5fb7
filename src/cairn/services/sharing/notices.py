"""Person notices between instances, and the hits on them reported back (docs/federation.md).

`cairn share export --notices` signs this workspace's notices (each file is the whole current
list: importing it replaces what the same partner sent before). A partner that sees one of
them in a case records the hit as any alert's; `--notice-hits NAME` signs, for partner NAME,
only which of its notices were seen and when: no case, no item, nothing else of the case.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from cairn.core.errors import UsageError
from cairn.hashsets.share_file import ShareFile, ShareFileError, ShareWriter
from cairn.services.alerts import KINDS, normalise
from cairn.services.context import Context
from cairn.services.sharing.trust import instance_key
from cairn.store import audit
from cairn.store.alert_models import Alert, AlertHit
from cairn.store.share_models import ShareImport

MAX_NOTE = 2000


@dataclass(frozen=True)
class NoticeExport:
    kind: str  # notices, notice-hits
    version: int
    entries: int
    file: str


def version_now() -> int:
    """Notice and series lists are whole each time: a clock in microseconds orders them."""
    return int(datetime.now(UTC).timestamp() * 1_000_000)


def write_list(ctx: Context, out: Path, kind: str, entries: list[dict[str, Any]]) -> NoticeExport:
    """A signed list (notices, notice hits, series statuses), versioned by the clock."""
    writer = ShareWriter(out)
    version = version_now()
    try:
        for entry in entries:
            writer.write(json.dumps(entry, sort_keys=True).encode() + b"\n")
        writer.finish(
            {"kind": kind, "version": version, "entries": len(entries)}, instance_key(ctx)
        )
    except BaseException:
        writer.discard()
        raise
    with ctx.db.session() as session:
        audit.record(
            session, ctx.actor, f"share.export.{kind}", None, entries=len(entries), file=str(out)
        )
    return NoticeExport(kind, version, len(entries), str(out))


def export_notices(ctx: Context, out: Path, agency_id: int | None = None) -> NoticeExport:
    """This workspace's own notices (of `agency_id`), signed."""
    with ctx.db.session() as session:
        rows = session.scalars(
            select(Alert)
            .where(
                Alert.notice.is_(True),
                Alert.origin.is_(None),
                Alert.removed_at.is_(None),
                Alert.agency_id.is_(None) if agency_id is None else Alert.agency_id == agency_id,
            )
            .order_by(Alert.id)
        )
        entries = [{"id": a.id, "kind": a.kind, "value": a.value, "note": a.note} for a in rows]
    return write_list(ctx, out, "notices", entries)


def export_notice_hits(
    ctx: Context, partner: str, out: Path, agency_id: int | None = None
) -> NoticeExport:
    """Which of `partner`'s notices (imported by `agency_id`, or by any agency for None) were
    seen here, and when: nothing else. An unknown partner has no hits."""
    with ctx.db.session() as session:
        imported_by = () if agency_id is None else (Alert.agency_id == agency_id,)
        rows = session.execute(
            select(Alert.origin_id, AlertHit.source, func.min(AlertHit.at))
            .join(Alert, Alert.id == AlertHit.alert_id)
            .where(Alert.origin == partner, AlertHit.case_id.is_not(None), *imported_by)
            .group_by(Alert.origin_id, AlertHit.source)
            .order_by(Alert.origin_id, AlertHit.source)
        )
        entries = [
            {"notice": notice, "source": source, "at": _utc(at).isoformat()}
            for notice, source, at in rows
        ]
    return write_list(ctx, out, "notice-hits", entries)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def entries_of(share: ShareFile) -> list[dict[str, Any]]:
    declared = int(share.manifest["entries"])
    entries = []
    for number, line in enumerate(share.lines(), 1):
        if number > declared:
            break
        try:
            entry = json.loads(line)
        except ValueError:
            raise ShareFileError(f"entry {number} is not JSON") from None
        if not isinstance(entry, dict):
            raise ShareFileError(f"entry {number} is not an object")
        entries.append(entry)
    if len(entries) != declared:
        raise ShareFileError(f"holds {len(entries)} entries where its manifest declares {declared}")
    return entries


def _notice(entry: dict[str, Any], number: int) -> dict[str, Any]:
    try:
        if set(entry) != {"id", "kind", "value", "note"} or entry["kind"] not in KINDS:
            raise ValueError
        if not isinstance(entry["id"], int) or not isinstance(entry["note"], str):
            raise ValueError
        if len(entry["note"]) > MAX_NOTE:
            raise ValueError
        value = normalise(entry["kind"], str(entry["value"]))
    except (ValueError, UsageError):
        raise ShareFileError(f"entry {number} is not a notice") from None
    return {"origin_id": entry["id"], "kind": entry["kind"], "value": value, "note": entry["note"]}


def _hit(entry: dict[str, Any], number: int) -> tuple[int, str, datetime]:
    try:
        if set(entry) != {"notice", "source", "at"} or not isinstance(entry["notice"], int):
            raise ValueError
        at = datetime.fromisoformat(entry["at"])
        if at.tzinfo is None or entry["source"] not in ("match", "messaging"):
            raise ValueError
    except (ValueError, TypeError):
        raise ShareFileError(f"entry {number} is not a notice hit") from None
    return entry["notice"], entry["source"], at


def import_notice_file(
    ctx: Context, share: ShareFile, owner: str, agency_id: int | None
) -> tuple[str, int, int]:
    """Import a verified notices or notice-hits file in one transaction: (kind, version,
    entries). Replays (a version not newer than the last imported) are refused."""
    version = share.manifest.get("version")
    if not isinstance(version, int) or version < 1:
        raise ShareFileError(f"{share.path}: no version")
    uid = hashlib.sha256(f"{share.signer}:{share.kind}".encode()).hexdigest()[:32]
    entries = entries_of(share)
    with ctx.db.engine.begin() as connection:
        last = connection.scalar(
            select(func.max(ShareImport.version)).where(
                ShareImport.signer == share.signer, ShareImport.set_uid == uid
            )
        )
        if last is not None and version <= last:
            raise ShareFileError(
                f"{share.path}: not newer than the {share.kind} imported: a replay"
            )
        if share.kind == "notices":
            _replace_notices(connection, ctx, owner, agency_id, entries)
        else:
            _add_hits(connection, owner, entries)
        connection.execute(
            insert(ShareImport),
            {
                "signer": share.signer,
                "trust_name": owner,
                "set_uid": uid,
                "version": version,
                "since": None,
                "kind": share.kind,
                "hashset_id": None,
                "entries": len(entries),
                "manifest_sha256": share.file_sha256_prefix,
                "imported_at": datetime.now(UTC),
                "imported_by": ctx.actor.user,
            },
        )
        with Session(bind=connection) as session:
            audit.record(
                session,
                ctx.actor,
                "share.import",
                None,
                kind=share.kind,
                owner=owner,
                version=version,
                entries=len(entries),
            )
    return share.kind, version, len(entries)


def _replace_notices(
    connection: Connection,
    ctx: Context,
    owner: str,
    agency_id: int | None,
    entries: list[dict[str, Any]],
) -> None:
    notices = [_notice(entry, number) for number, entry in enumerate(entries, 1)]
    now = datetime.now(UTC)
    connection.execute(
        update(Alert)
        .where(Alert.origin == owner, Alert.removed_at.is_(None))
        .values(removed_at=now)
    )
    if notices:
        connection.execute(
            insert(Alert),
            [
                {
                    **notice,
                    "agency_id": agency_id,
                    "notice": True,
                    "origin": owner,
                    "created_at": now,
                    "created_by": ctx.actor.user,
                }
                for notice in notices
            ],
        )


def _add_hits(connection: Connection, owner: str, entries: list[dict[str, Any]]) -> None:
    hits = [_hit(entry, number) for number, entry in enumerate(entries, 1)]
    for notice, source, at in hits:
        alert_id = connection.scalar(
            select(Alert.id).where(
                Alert.id == notice, Alert.notice.is_(True), Alert.origin.is_(None)
            )
        )
        if alert_id is None:
            continue  # a notice removed here since, or never ours: nothing to tell
        exists = connection.scalar(
            select(AlertHit.id).where(
                AlertHit.alert_id == alert_id,
                AlertHit.remote == owner,
                AlertHit.source == source,
            )
        )
        if exists is None:
            connection.execute(
                insert(AlertHit),
                {
                    "alert_id": alert_id,
                    "case_id": None,
                    "item": "",
                    "source": source,
                    "remote": owner,
                    "at": at,
                },
            )
