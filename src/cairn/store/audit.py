"""The audit trail: who did what to case data, when, and from where. Append-only, hash-chained.

Each event's hash is SHA-256 over the previous event's hash and this event's canonical JSON,
so editing, deleting or reordering any event breaks every link after it. Appends are
serialised (an advisory lock on PostgreSQL, the write lock on SQLite) so that concurrent
writers never fork the chain. Cutting events off the end leaves a whole chain behind; a head
anchor kept outside the database (`keep_head`) records the newest event, so that `check`
reports the truncation too.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, func, select, text
from sqlalchemy.orm import Session

from cairn.core.config import Actor
from cairn.core.errors import CairnError
from cairn.store.models import AuditEvent

GENESIS = "0" * 64
# Key of the PostgreSQL advisory lock that serialises appends ("cair" in ASCII).
CHAIN_LOCK_KEY = 0x63616972
_PENDING_HEAD = "cairn_audit_head"  # connection.info key: the newest event of the transaction
# Engines whose commits write an anchor, and where (one anchor per engine and process).
_anchored: weakref.WeakKeyDictionary[Engine, Path] = weakref.WeakKeyDictionary()


def event_hash(
    prev_hash: str,
    at: datetime,
    user: str,
    host: str,
    action: str,
    case_ref: str | None,
    details: dict[str, Any],
    origin: str | None = None,
    agency: str | None = None,
) -> str:
    body: dict[str, Any] = {
        "at": at.astimezone(UTC).isoformat(),
        "user": user,
        "host": host,
        "action": action,
        "case": case_ref,
        "details": details,
    }
    # Only set fields join the body, so events written before they existed still verify.
    if origin is not None:
        body["origin"] = origin
    if agency is not None:
        body["agency"] = agency
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(prev_hash.encode() + canonical.encode()).hexdigest()


def _stored_hash(prev_hash: str, e: AuditEvent) -> str:
    at = e.at if e.at.tzinfo else e.at.replace(tzinfo=UTC)  # SQLite returns naive UTC
    return event_hash(
        prev_hash, at, e.user, e.host, e.action, e.case_ref, e.details, e.origin, e.agency
    )


def _lock_chain(session: Session) -> None:
    """Hold the chain's append lock until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    else:
        # pysqlite opens a transaction only at the first write, so a plain SELECT of the last
        # hash could race another writer; a no-op UPDATE takes SQLite's write lock first.
        session.execute(text("UPDATE audit_events SET id = id WHERE 0 = 1"))


def record(
    session: Session, actor: Actor, action: str, case_ref: str | None = None, **details: Any
) -> AuditEvent:
    _lock_chain(session)
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    prev_hash = prev or GENESIS
    at = datetime.now(UTC)
    details = json.loads(json.dumps(details, default=str))  # what is stored is what was hashed
    event = AuditEvent(
        at=at,
        user=actor.user,
        host=actor.host,
        origin=actor.origin,
        agency=actor.agency,
        action=action,
        case_ref=case_ref,
        details=details,
        prev_hash=prev_hash,
        hash=event_hash(
            prev_hash,
            at,
            actor.user,
            actor.host,
            action,
            case_ref,
            details,
            actor.origin,
            actor.agency,
        ),
    )
    session.add(event)
    session.flush()
    path = _anchored.get(session.get_bind().engine)
    if path is not None:  # the anchor to write at commit (keep_head)
        info = session.connection().info
        pending = info.get(_PENDING_HEAD)
        lost = pending[1].lost if pending else _lost_since(session, read_head(path), prev_hash)
        info[_PENDING_HEAD] = (path, Head(event.id, event.hash, lost))
    return event


# The head anchor ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """The newest event as last committed; `lost`: an anchored event that a later append did
    not follow (the tail after it was cut off), kept so the next append cannot hide it."""

    id: int
    hash: str
    lost: Head | None = None


def head_file(folder: Path, engine: Engine) -> Path:
    """The anchor of one database's chain in a workspace (a workspace may point at several)."""
    url = engine.url.render_as_string(hide_password=True)
    return folder / f"audit-{hashlib.sha256(url.encode()).hexdigest()[:16]}.head"


def read_head(path: Path) -> Head | None:
    """The anchor, None when there is none; an unreadable one stops appends and checks alike
    (CairnError naming the file) rather than silently disabling truncation checks."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        lost = data["lost"] and Head(int(data["lost"]["id"]), str(data["lost"]["hash"]))
        return Head(int(data["id"]), str(data["hash"]), lost)
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        raise CairnError(f"{path}: the audit head anchor is unreadable") from None


def _write_head(path: Path, head: Head) -> None:
    """Replace the anchor atomically (old or new, never half). Not fsynced: it is written
    under the chain's lock on every append, and a crash can only leave an older anchor,
    which is less strict, never a false alarm."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit-head-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            lost = head.lost and {"id": head.lost.id, "hash": head.lost.hash}
            json.dump({"id": head.id, "hash": head.hash, "lost": lost}, out)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _lost_since(session: Session, old: Head | None, prev_hash: str) -> Head | None:
    """The anchored event if it is gone: the tail was cut off and this append would hide it.
    (Not followed but still there means another workspace's process appended: no loss.)"""
    if old is None or old.lost is not None:
        return old and old.lost
    if old.hash == prev_hash:
        return None
    still = session.scalar(select(AuditEvent.hash).where(AuditEvent.id == old.id))
    return None if still == old.hash else Head(old.id, old.hash)


def keep_head(engine: Engine, folder: Path) -> None:
    """Anchor the chain of `engine`'s database in `folder` at every commit that appended.

    The anchor is written while the transaction still holds the append lock (just before the
    database commits), so anchors are written in chain order.
    """
    if engine in _anchored:
        return
    _anchored[engine] = head_file(folder, engine)

    def on_commit(connection: Connection) -> None:
        pending = connection.info.pop(_PENDING_HEAD, None)
        if pending is not None:
            _write_head(*pending)

    def on_rollback(connection: Connection) -> None:
        connection.info.pop(_PENDING_HEAD, None)

    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)


# Verification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    """The result of checking the chain: whole, or where and how it first breaks."""

    events: int
    head_id: int | None  # newest event in the table
    anchored: bool  # whether a head anchor was there to check truncation against
    broken_id: int | None = None  # the first event whose link is broken
    reason: str | None = None  # edited, deleted, reordered, truncated
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def _events(session: Session) -> Iterator[AuditEvent]:
    yield from session.scalars(
        select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=1000)
    )


def _broken_link(session: Session, e: AuditEvent, expected_prev: str) -> tuple[str, str]:
    """Why event `e` does not follow the event before it."""
    if e.hash != _stored_hash(e.prev_hash, e):
        return "edited", f"event {e.id}'s content no longer matches its hash"
    elsewhere = session.scalar(select(AuditEvent.id).where(AuditEvent.hash == e.prev_hash))
    if elsewhere is not None:
        return (
            "reordered",
            f"event {e.id} follows event {elsewhere} in the chain, not the one before",
        )
    if expected_prev == GENESIS and e.prev_hash != GENESIS:
        return "deleted", f"the events before event {e.id} are missing"
    return "deleted", f"the event that event {e.id} follows is missing (deleted or rewritten)"


def check(session: Session, head: Head | None = None) -> ChainReport:
    """Walk the chain in id order; with an anchor, also check that nothing was cut off."""
    prev_hash = GENESIS
    count = 0
    last: AuditEvent | None = None
    for e in _events(session):
        if e.prev_hash != prev_hash or e.hash != _stored_hash(prev_hash, e):
            reason, detail = _broken_link(session, e, prev_hash)
            return ChainReport(count, _last_id(session), head is not None, e.id, reason, detail)
        prev_hash = e.hash
        count += 1
        last = e
    last_id = last.id if last else None
    if head is not None and head.lost is not None:
        kept = session.get(AuditEvent, head.lost.id)
        if kept is None or kept.hash != head.lost.hash:
            return ChainReport(
                count,
                last_id,
                True,
                head.lost.id,
                "truncated",
                f"event {head.lost.id}, once the newest, is gone: events were cut off the end "
                "before later ones were appended",
            )
    if head is not None:
        anchored = session.get(AuditEvent, head.id)
        if anchored is None and (last_id is None or last_id < head.id):
            return ChainReport(
                count,
                last_id,
                True,
                head.id,
                "truncated",
                f"the chain ends at event {last_id} but the anchor records event {head.id}",
            )
        if anchored is None or anchored.hash != head.hash:
            return ChainReport(
                count,
                last_id,
                True,
                head.id,
                "edited",
                f"event {head.id} is not the event the anchor records (chain rewritten)",
            )
    return ChainReport(count, last_id, head is not None)


def _last_id(session: Session) -> int | None:
    return session.scalar(select(func.max(AuditEvent.id)))


def verify(session: Session) -> int | None:
    """The id of the first event whose link is broken, or None when the chain is whole."""
    return check(session).broken_id
