"""The audit trail: who did what to case data, when, and from where. Append-only, keyed,
hash-chained.

Each event's hash is HMAC-SHA256, under the audit key, over the previous event's hash and this
event's canonical JSON: editing, deleting or reordering any event breaks every link after it,
and nobody without the key can recompute the links. The key is not in the database (a file in
the workspace or where CAIRN_AUDIT_KEY_FILE says, services/context.py). Appends are serialised
(an advisory lock on PostgreSQL, the write lock on SQLite) so that concurrent writers never fork
the chain.

Cutting events off the end leaves a whole chain behind; a head anchor kept outside the database
(a file beside the workspace, MACed with the key) records the newest event, so that `check`
reports the truncation too, and a missing anchor under a non-empty chain is itself a failure.
A checkpoint is the same head, MACed, in a file that leaves the host: a later check holds the
chain to it even if the workspace and the database were rewritten together.

Chains written before they were keyed (plain SHA-256 links) stay valid up to the event where
the first keyed append recorded `audit.rekey`; from there on an unkeyed link is a break. Such
a chain has no keyed anchor until the operator makes one with `cairn audit init`.
"""

from __future__ import annotations

import hashlib
import hmac
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
from cairn.core.errors import CairnError, UsageError
from cairn.store.models import AuditEvent

GENESIS = "0" * 64
# Key of the PostgreSQL advisory lock that serialises appends ("cair" in ASCII).
CHAIN_LOCK_KEY = 0x63616972
ANCHOR_FILE = "audit.head"  # the anchor of the workspace's own SQLite database
CHECKPOINT_FORMAT = "cairn-audit-checkpoint/1"
# MAC domains: an anchor's MAC can never pass for a checkpoint's, nor either for a link
# (links start with 64 hex digits).
_ANCHOR_DOMAIN = b"cairn audit anchor v1\n"
_CHECKPOINT_DOMAIN = b"cairn audit checkpoint v1\n"
_PENDING = "cairn_audit_pending"  # connection.info key: the transaction's anchor to write


@dataclass(frozen=True)
class Chain:
    """How one database's chain is kept by this process: the key its links are made with and
    the anchor file; `legacy_anchor`: the unkeyed release's anchor, which `init_anchor` checks
    once (it carries no MAC, so nothing else trusts it)."""

    key: bytes
    anchor: Path
    legacy_anchor: Path


_chains: weakref.WeakKeyDictionary[Engine, Chain] = weakref.WeakKeyDictionary()


def _canonical(
    at: datetime,
    user: str,
    host: str,
    action: str,
    case_ref: str | None,
    details: dict[str, Any],
    origin: str | None,
    agency: str | None,
) -> bytes:
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
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


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
    *,
    key: bytes | None = None,
) -> str:
    """The link of one event: HMAC-SHA256 under `key`; plain SHA-256 (key None) is how links
    were made before the chain was keyed."""
    data = prev_hash.encode() + _canonical(
        at, user, host, action, case_ref, details, origin, agency
    )
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def _stored_hash(prev_hash: str, e: AuditEvent, key: bytes | None) -> str:
    at = e.at if e.at.tzinfo else e.at.replace(tzinfo=UTC)  # SQLite returns naive UTC
    return event_hash(
        prev_hash,
        at,
        e.user,
        e.host,
        e.action,
        e.case_ref,
        e.details,
        e.origin,
        e.agency,
        key=key,
    )


def _mac(key: bytes, domain: bytes, body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, domain + canonical, hashlib.sha256).hexdigest()


# Keeping a database's chain ----------------------------------------------------------------


def anchor_file(folder: Path, engine: Engine) -> Path:
    """The anchor of one database's chain in a workspace (a workspace may point at several).

    The workspace's own SQLite database has a fixed name, so a workspace moved or copied as a
    whole (database, anchor, key) still finds its anchor; another database's anchor is named
    by its URL (password hidden)."""
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database and Path(database).parent == folder:
        return folder / ANCHOR_FILE
    return _url_anchor(folder, engine)


def _url_anchor(folder: Path, engine: Engine) -> Path:
    url = engine.url.render_as_string(hide_password=True)
    return folder / f"audit-{hashlib.sha256(url.encode()).hexdigest()[:16]}.head"


def keep_chain(engine: Engine, folder: Path, key: bytes) -> None:
    """Make appends to `engine`'s database keyed with `key` and anchored in `folder`.

    The anchor is written while the transaction still holds the append lock (just before the
    database commits), so anchors are written in chain order.
    """
    if engine in _chains:
        return
    _chains[engine] = Chain(key, anchor_file(folder, engine), _url_anchor(folder, engine))

    def on_commit(connection: Connection) -> None:
        pending: _Pending | None = connection.info.pop(_PENDING, None)
        if pending is not None and pending.anchor is not None and pending.head is not None:
            _write_head(pending.anchor, pending.head, key)

    def on_rollback(connection: Connection) -> None:
        connection.info.pop(_PENDING, None)

    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)


def is_kept(engine: Engine) -> bool:
    return engine in _chains


def chain_of(session: Session) -> Chain:
    chain = _chains.get(session.get_bind().engine)
    if chain is None:  # an append nobody could verify is worse than none
        raise CairnError("this database has no audit key: open it through a workspace")
    return chain


# The head anchor ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """The newest event as last committed; `lost`: an anchored event that a later append did
    not follow (the tail after it was cut off), kept so the next append cannot hide it;
    `keyed_from`: the first keyed event, before which links may be plain SHA-256."""

    id: int
    hash: str
    lost: Head | None = None
    keyed_from: int | None = None


def _head_body(head: Head) -> dict[str, Any]:
    lost = head.lost and {"id": head.lost.id, "hash": head.lost.hash}
    return {"id": head.id, "hash": head.hash, "lost": lost, "keyed_from": head.keyed_from}


def _parse_head(data: Any) -> Head:
    lost = data["lost"] and Head(int(data["lost"]["id"]), str(data["lost"]["hash"]))
    keyed_from = data.get("keyed_from")
    return Head(
        int(data["id"]), str(data["hash"]), lost, None if keyed_from is None else int(keyed_from)
    )


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        raise CairnError(f"{path}: the audit head anchor is unreadable") from None


def read_head(path: Path, key: bytes) -> Head | None:
    """The anchor, None when there is none (or only the unkeyed release's, without a MAC). An
    unreadable one, or one not MACed with this key, stops appends and checks alike
    (CairnError naming the file)."""
    data = _load(path)
    if data is None or (isinstance(data, dict) and "mac" not in data):
        return None  # none, or the unkeyed release's (which `init_anchor` alone reads)
    try:
        head = _parse_head(data)
        mac = str(data["mac"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise CairnError(f"{path}: the audit head anchor is unreadable") from None
    if not hmac.compare_digest(mac, _mac(key, _ANCHOR_DOMAIN, _head_body(head))):
        raise CairnError(f"{path}: the audit head anchor is not signed with this audit key")
    return head


def _read_legacy_head(path: Path) -> Head | None:
    """The unkeyed release's anchor (no MAC), None when there is none or it is unreadable."""
    try:
        data = _load(path)
        return None if data is None or "mac" in data else _parse_head(data)
    except (CairnError, KeyError, TypeError, ValueError, AttributeError):
        return None


def _write_head(path: Path, head: Head, key: bytes) -> None:
    """Replace the anchor atomically (old or new, never half). Not fsynced: it is written
    under the chain's lock on every append, and a crash can only leave an older anchor,
    which is less strict, never a false alarm."""
    body = _head_body(head)
    body["mac"] = _mac(key, _ANCHOR_DOMAIN, body)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit-head-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(body, out)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# Appending ---------------------------------------------------------------------------------


@dataclass
class _Pending:
    """A transaction's appends: the anchor they move (None: this workspace has no anchor for
    a chain that has events, so none is made up), and the state it carries."""

    anchor: Path | None
    lost: Head | None
    keyed_from: int | None
    head: Head | None = None


def _lock_chain(session: Session) -> None:
    """Hold the chain's append lock until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    else:
        # pysqlite opens a transaction only at the first write, so a plain SELECT of the last
        # hash could race another writer; a no-op UPDATE takes SQLite's write lock first.
        session.execute(text("UPDATE audit_events SET id = id WHERE 0 = 1"))


def _last(session: Session) -> AuditEvent | None:
    return session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).first()


def _append(
    session: Session,
    key: bytes,
    actor: Actor,
    action: str,
    case_ref: str | None,
    details: dict[str, Any],
) -> AuditEvent:
    last = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    prev_hash = last or GENESIS
    at = datetime.now(UTC)
    details = json.loads(json.dumps(details, default=str))  # what is stored is what was hashed
    row = AuditEvent(
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
            key=key,
        ),
    )
    session.add(row)
    session.flush()
    return row


def _rekey_if_unkeyed(session: Session, chain: Chain, actor: Actor) -> AuditEvent | None:
    """The `audit.rekey` event, recorded when the chain's newest event was written unkeyed."""
    last = _last(session)
    if last is None or last.hash == _stored_hash(last.prev_hash, last, chain.key):
        return None
    return _append(session, chain.key, actor, "audit.rekey", None, {"unkeyed_through": last.id})


def _begin(session: Session, chain: Chain, actor: Actor) -> _Pending:
    """How this transaction's appends are anchored."""
    head = read_head(chain.anchor, chain.key)
    last = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    if head is not None:
        return _Pending(chain.anchor, _lost_since(session, head, last or GENESIS), head.keyed_from)
    if last is None:
        return _Pending(chain.anchor, None, None)  # a new chain: anchored from its first event
    # Events but no anchor: deleted, or a database this workspace never anchored. Appends go
    # on (keyed) but make up no anchor: only `cairn audit init`, explicitly, does.
    _rekey_if_unkeyed(session, chain, actor)
    return _Pending(None, None, None)


def record(
    session: Session, actor: Actor, action: str, case_ref: str | None = None, **details: Any
) -> AuditEvent:
    chain = chain_of(session)
    _lock_chain(session)
    info = session.connection().info
    pending: _Pending | None = info.get(_PENDING)
    if pending is None:
        pending = info[_PENDING] = _begin(session, chain, actor)
    row = _append(session, chain.key, actor, action, case_ref, details)
    if pending.keyed_from is None:
        pending.keyed_from = row.id
    pending.head = Head(row.id, row.hash, pending.lost, pending.keyed_from)
    return row


def init_anchor(session: Session, actor: Actor, *, replace: bool = False) -> AuditEvent:
    """Anchor the chain at its present end for this workspace (`cairn audit init`): a chain
    written before it was keyed, a database whose chain this workspace did not anchor, or,
    with `replace`, after a failure was looked into. Recorded as `audit.anchor`, saying what
    anchor there was before and whether the unkeyed release's anchor still held."""
    chain = chain_of(session)
    _lock_chain(session)
    try:
        before = "none" if read_head(chain.anchor, chain.key) is None else "present"
    except CairnError:
        before = "unreadable"
    if before != "none" and not replace:
        raise UsageError(f"{chain.anchor}: an audit head anchor is there already")
    events = session.scalar(select(func.count(AuditEvent.id))) or 0
    legacy = _read_legacy_head(chain.legacy_anchor)
    held = legacy is not None and _check_head(session, legacy, events, _last_id(session)).ok
    rekey = _rekey_if_unkeyed(session, chain, actor)
    details = {
        "previous": before,
        "events_before": events,
        "unkeyed_anchor": "none" if legacy is None else "held" if held else "broken",
    }
    row = _append(session, chain.key, actor, "audit.anchor", None, details)
    keyed_from = rekey.id if rekey is not None else _first_keyed(session, chain.key) or row.id
    head = Head(row.id, row.hash, None, keyed_from)
    session.connection().info[_PENDING] = _Pending(chain.anchor, None, keyed_from, head)
    return row


def _first_keyed(session: Session, key: bytes) -> int | None:
    for e in _events(session):
        if e.hash == _stored_hash(e.prev_hash, e, key):
            return e.id
    return None


def _lost_since(session: Session, old: Head, prev_hash: str) -> Head | None:
    """The anchored event if it is gone: the tail was cut off and this append would hide it.
    (Not followed but still there means another workspace's process appended: no loss.)"""
    if old.lost is not None:
        return old.lost
    if old.hash == prev_hash:
        return None
    still = session.scalar(select(AuditEvent.hash).where(AuditEvent.id == old.id))
    return None if still == old.hash else Head(old.id, old.hash)


# Checkpoints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at one moment, to be kept off the host."""

    event_id: int
    hash: str
    events: int
    made_at: str


def _checkpoint_body(c: Checkpoint) -> dict[str, Any]:
    return {
        "format": CHECKPOINT_FORMAT,
        "event_id": c.event_id,
        "hash": c.hash,
        "events": c.events,
        "made_at": c.made_at,
    }


def checkpoint_text(checkpoint: Checkpoint, key: bytes) -> str:
    body = _checkpoint_body(checkpoint)
    body["mac"] = _mac(key, _CHECKPOINT_DOMAIN, body)
    return json.dumps(body, indent=1) + "\n"


def read_checkpoint(data: str, key: bytes) -> Checkpoint:
    """A checkpoint file's head; CairnError when it is malformed or not MACed with this key."""
    try:
        body = json.loads(data)
        checkpoint = Checkpoint(
            int(body["event_id"]), str(body["hash"]), int(body["events"]), str(body["made_at"])
        )
        mac = str(body["mac"])
        if body["format"] != CHECKPOINT_FORMAT:
            raise ValueError(body["format"])
    except (ValueError, KeyError, TypeError):
        raise CairnError("not an audit checkpoint") from None
    if not hmac.compare_digest(mac, _mac(key, _CHECKPOINT_DOMAIN, _checkpoint_body(checkpoint))):
        raise CairnError("the audit checkpoint is not signed with this audit key")
    return checkpoint


# Verification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    """The result of checking the chain: whole, or where and how it first breaks."""

    events: int
    head_id: int | None  # newest event in the table
    anchored: bool  # whether a head anchor was there to check truncation against
    broken_id: int | None = None  # the first event whose link is broken
    # edited, deleted, reordered, unkeyed, truncated, unanchored, checkpoint
    reason: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None


def _events(session: Session) -> Iterator[AuditEvent]:
    yield from session.scalars(
        select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=1000)
    )


def _broken_link(
    session: Session, e: AuditEvent, expected_prev: str, key: bytes
) -> tuple[str, str]:
    """Why event `e` does not follow the event before it."""
    if e.hash not in (_stored_hash(e.prev_hash, e, key), _stored_hash(e.prev_hash, e, None)):
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


def check(
    session: Session,
    head: Head | None = None,
    *,
    require_anchor: bool = False,
    checkpoint: Checkpoint | None = None,
) -> ChainReport:
    """Walk the chain in id order; with an anchor, also check that nothing was cut off (with
    `require_anchor`, no anchor under a non-empty chain is a failure); with a checkpoint, that
    the event it names is still there, the same."""
    key = chain_of(session).key
    prev_hash = GENESIS
    count = 0
    keyed = False
    last: AuditEvent | None = None
    for e in _events(session):
        if e.prev_hash == prev_hash and e.hash == _stored_hash(prev_hash, e, key):
            keyed = True
        elif e.prev_hash == prev_hash and e.hash == _stored_hash(prev_hash, e, None):
            if keyed or (
                head is not None and head.keyed_from is not None and e.id >= head.keyed_from
            ):
                return ChainReport(
                    count,
                    _last_id(session),
                    head is not None,
                    e.id,
                    "unkeyed",
                    f"event {e.id} is not keyed although the chain is keyed before it "
                    "(recomputed by someone without the audit key)",
                )
        else:
            reason, detail = _broken_link(session, e, prev_hash, key)
            return ChainReport(count, _last_id(session), head is not None, e.id, reason, detail)
        prev_hash = e.hash
        count += 1
        last = e
    last_id = last.id if last else None
    if checkpoint is not None:
        kept = session.get(AuditEvent, checkpoint.event_id)
        if kept is None or kept.hash != checkpoint.hash:
            return ChainReport(
                count,
                last_id,
                head is not None,
                checkpoint.event_id,
                "checkpoint",
                f"event {checkpoint.event_id}, the head of the checkpoint of "
                f"{checkpoint.made_at}, is {'gone' if kept is None else 'not the same event'}",
            )
    if head is None:
        if require_anchor and last_id is not None:
            return ChainReport(
                count,
                last_id,
                False,
                last_id,
                "unanchored",
                "no head anchor for this chain in the workspace (deleted, or never made here: "
                "`cairn audit init` makes one)",
            )
        return ChainReport(count, last_id, False)
    return _check_head(session, head, count, last_id)


def _check_head(session: Session, head: Head, count: int, last_id: int | None) -> ChainReport:
    if head.lost is not None:
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
    return ChainReport(count, last_id, True)


def _last_id(session: Session) -> int | None:
    return session.scalar(select(func.max(AuditEvent.id)))


def verify(session: Session) -> int | None:
    """The id of the first event whose link is broken, or None when the chain is whole."""
    return check(session).broken_id
