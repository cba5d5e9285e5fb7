"""The audit chain on SQLite and PostgreSQL: tampering of every kind is found and named,
concurrent appends never fork the chain, and the head anchor exposes a truncated tail."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from cairn.core.config import Actor
from cairn.core.errors import CairnError, UsageError
from cairn.store import audit
from cairn.store.database import Database, open_database
from cairn.store.models import AuditEvent

ACTOR = Actor(user="examiner", host="lab-1", origin="10.1.2.3", agency="NL-NP")
KEY = b"k" * 32  # the audit key of the tests' workspace


@pytest.fixture
def db(database_url: str, tmp_path: Path) -> Iterator[Database]:
    database = open_database(database_url)
    audit.keep_chain(database.engine, tmp_path, KEY)
    yield database
    database.dispose()


def _append(db: Database, n: int, start: int = 0) -> list[int]:
    ids = []
    for i in range(start, start + n):
        with db.session() as session:
            ids.append(audit.record(session, ACTOR, f"action.{i}", "C-1", n=i).id)
    return ids


def _check(db: Database, tmp_path: Path) -> audit.ChainReport:
    with db.session() as session:
        return audit.check(session, audit.read_head(audit.anchor_file(tmp_path, db.engine), KEY))


def test_a_whole_chain_verifies_and_stores_origin_and_agency(db: Database, tmp_path: Path) -> None:
    ids = _append(db, 3)
    report = _check(db, tmp_path)
    assert report.ok and report.events == 3 and report.head_id == ids[-1] and report.anchored
    with db.session() as session:
        event = session.get(AuditEvent, ids[0])
        assert event is not None and (event.origin, event.agency) == ("10.1.2.3", "NL-NP")


def test_an_edited_event_is_named(db: Database, tmp_path: Path) -> None:
    ids = _append(db, 5)
    with db.session() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == ids[2]).values(origin="1.1.1.1"))
    report = _check(db, tmp_path)
    assert (report.broken_id, report.reason) == (ids[2], "edited")
    assert report.events == 2  # the events before it are whole


def test_a_deleted_event_is_named_by_the_one_after_the_hole(db: Database, tmp_path: Path) -> None:
    ids = _append(db, 5)
    with db.session() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id == ids[1]))
    report = _check(db, tmp_path)
    assert (report.broken_id, report.reason) == (ids[2], "deleted")


def test_deleting_the_first_events_is_found(db: Database, tmp_path: Path) -> None:
    ids = _append(db, 3)
    with db.session() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id == ids[0]))
    report = _check(db, tmp_path)
    assert (report.broken_id, report.reason) == (ids[1], "deleted")


def test_reordered_events_are_named(db: Database, tmp_path: Path) -> None:
    ids = _append(db, 5)
    # Swap the contents of two rows: each stays internally consistent, the order does not.
    columns = ("at", "user", "host", "origin", "agency", "action", "case_ref", "details")
    with db.session() as session:
        first, second = (session.get(AuditEvent, i) for i in (ids[1], ids[2]))
        assert first is not None and second is not None
        a = {c: getattr(first, c) for c in (*columns, "prev_hash", "hash")}
        b = {c: getattr(second, c) for c in (*columns, "prev_hash", "hash")}
        session.execute(update(AuditEvent).where(AuditEvent.id == ids[1]).values(hash="x" * 64))
        session.execute(update(AuditEvent).where(AuditEvent.id == ids[2]).values(**a))
        session.execute(update(AuditEvent).where(AuditEvent.id == ids[1]).values(**b))
    report = _check(db, tmp_path)
    assert (report.broken_id, report.reason) == (ids[1], "reordered")


def test_a_truncated_tail_is_found_through_the_anchor(db: Database, tmp_path: Path) -> None:
    ids = _append(db, 5)
    with db.session() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id >= ids[3]))
        assert audit.check(session).ok  # without the anchor the shorter chain looks whole
    report = _check(db, tmp_path)
    assert (report.broken_id, report.reason, report.head_id) == (ids[4], "truncated", ids[2])
    assert f"ends at event {ids[2]}" in report.detail


def test_a_truncation_stays_found_after_later_appends(db: Database, tmp_path: Path) -> None:
    ids = _append(db, 4)
    with db.session() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id >= ids[2]))
    later = _append(db, 2, start=10)  # the chain goes on from the cut, whole again
    with db.session() as session:
        assert audit.check(session).ok
    report = _check(db, tmp_path)
    assert (report.broken_id, report.reason, report.head_id) == (ids[3], "truncated", later[-1])


def test_appends_from_another_workspace_are_no_truncation(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    _append(db, 2)
    other = open_database(database_url)  # a process whose workspace keeps no anchor here
    audit.keep_chain(other.engine, tmp_path / "elsewhere", KEY)  # one database, one audit key
    try:
        with other.session() as session:
            audit.record(session, ACTOR, "elsewhere")
    finally:
        other.dispose()
    assert _check(db, tmp_path).ok  # the anchored event is still there, followed
    _append(db, 1, start=10)
    report = _check(db, tmp_path)
    assert report.ok and report.events == 4


def test_emptying_the_table_is_a_truncation(db: Database, tmp_path: Path) -> None:
    ids = _append(db, 2)
    with db.session() as session:
        session.execute(delete(AuditEvent))
    report = _check(db, tmp_path)
    assert (report.broken_id, report.reason, report.events) == (ids[1], "truncated", 0)


def _rewrite_unkeyed(db: Database, delete_id: int) -> None:
    """What someone who can write the database but lacks the key can do: delete an event
    and recompute every link, unkeyed."""
    with db.session() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id == delete_id))
    with db.session() as session:
        prev = audit.GENESIS
        for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
            event.prev_hash = prev
            event.hash = audit._stored_hash(prev, event, None)
            prev = event.hash


def test_a_chain_recomputed_without_the_key_is_found(db: Database, tmp_path: Path) -> None:
    ids = _append(db, 3)
    _rewrite_unkeyed(db, ids[1])
    report = _check(db, tmp_path)
    assert (report.broken_id, report.reason) == (ids[0], "unkeyed")
    with db.session() as session:  # without the anchor it would look like an unkeyed release's
        assert audit.check(session).ok


@pytest.mark.parametrize("forged", ["unsigned", "missing"])
def test_a_recomputed_chain_with_a_rewritten_anchor_fails(
    db: Database, tmp_path: Path, forged: str
) -> None:
    # The attack of issue 13: delete the event of a thumbnail read, recompute the chain and
    # rewrite (or delete) the anchor, all without the audit key.
    ids = _append(db, 3)
    _rewrite_unkeyed(db, ids[1])
    anchor = audit.anchor_file(tmp_path, db.engine)
    with db.session() as session:
        newest = session.get(AuditEvent, ids[2])
        assert newest is not None
        body = {"id": newest.id, "hash": newest.hash, "lost": None, "keyed_from": None}
    if forged == "unsigned":
        anchor.write_text(json.dumps(body))  # as the unkeyed release wrote them: no anchor
        with db.session() as session:
            report = audit.check(session, None, require_anchor=True)
        assert (report.broken_id, report.reason) == (ids[2], "unanchored")
        anchor.write_text(json.dumps({**body, "mac": "0" * 64}))
        with pytest.raises(CairnError, match="not signed with this audit key"):
            _check(db, tmp_path)
    else:
        anchor.unlink()
        with db.session() as session:
            report = audit.check(session, None, require_anchor=True)
        assert (report.broken_id, report.reason) == (ids[2], "unanchored")


def test_a_truncation_with_the_anchor_deleted_fails(db: Database, tmp_path: Path) -> None:
    ids = _append(db, 4)
    with db.session() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id >= ids[2]))
    audit.anchor_file(tmp_path, db.engine).unlink()
    with db.session() as session:
        report = audit.check(session, None, require_anchor=True)
    assert (report.broken_id, report.reason, report.anchored) == (ids[1], "unanchored", False)
    _append(db, 1, start=10)  # appends go on, but never make up an anchor
    assert not audit.anchor_file(tmp_path, db.engine).exists()
    with db.session() as session:
        assert audit.check(session, None, require_anchor=True).reason == "unanchored"


def test_an_empty_chain_needs_no_anchor(db: Database) -> None:
    with db.session() as session:
        report = audit.check(session, None, require_anchor=True)
    assert report.ok and report.events == 0


def test_init_anchors_a_chain_explicitly_and_says_so(db: Database, tmp_path: Path) -> None:
    ids = _append(db, 2)
    anchor = audit.anchor_file(tmp_path, db.engine)
    anchor.unlink()
    with db.session() as session:
        event = audit.init_anchor(session, ACTOR)
    assert event.action == "audit.anchor"
    assert event.details == {"previous": "none", "events_before": 2, "unkeyed_anchor": "none"}
    report = _check(db, tmp_path)
    assert report.ok and report.head_id == event.id and report.anchored
    head = audit.read_head(anchor, KEY)
    assert head is not None and head.keyed_from == ids[0]
    with pytest.raises(UsageError, match="anchor is there already"), db.session() as session:
        audit.init_anchor(session, ACTOR)
    anchor.write_text("{not json")
    with db.session() as session:
        assert audit.init_anchor(session, ACTOR, replace=True).details["previous"] == "unreadable"
    assert _check(db, tmp_path).ok


def test_another_key_breaks_every_link(db: Database, tmp_path: Path) -> None:
    ids = _append(db, 2)
    with db.session() as session:  # the same rows seen by a process holding another key
        session.execute(update(AuditEvent).where(AuditEvent.id == ids[1]).values(action="x"))
    report = _check(db, tmp_path)
    assert (report.broken_id, report.reason) == (ids[1], "edited")


def test_a_checkpoint_holds_the_chain_to_its_head(db: Database, tmp_path: Path) -> None:
    ids = _append(db, 3)
    with db.session() as session:
        newest = session.get(AuditEvent, ids[2])
        assert newest is not None
        made = audit.Checkpoint(newest.id, newest.hash, 3, "2026-12-06T09:00:00+00:00")
    text = audit.checkpoint_text(made, KEY)
    assert audit.read_checkpoint(text, KEY) == made
    with pytest.raises(CairnError, match="not signed with this audit key"):
        audit.read_checkpoint(text, b"o" * 32)
    with pytest.raises(CairnError, match="not signed with this audit key"):
        audit.read_checkpoint(text.replace(newest.hash, "0" * 64), KEY)
    with pytest.raises(CairnError, match="not an audit checkpoint"):
        audit.read_checkpoint("{}", KEY)
    # Someone with the database, the workspace AND the key rewrites the chain from scratch:
    # every link and the anchor are right again, but the checkpoint kept off the host is not.
    with db.session() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id >= ids[1]))
    audit.anchor_file(tmp_path, db.engine).unlink()
    with db.session() as session:
        audit.init_anchor(session, ACTOR)
    assert _check(db, tmp_path).ok
    with db.session() as session:
        report = audit.check(session, checkpoint=made)
    assert (report.broken_id, report.reason) == (ids[2], "checkpoint")
    assert "is gone" in report.detail


def test_a_rolled_back_append_does_not_move_the_anchor(db: Database, tmp_path: Path) -> None:
    ids = _append(db, 2)
    with pytest.raises(RuntimeError), db.session() as session:
        audit.record(session, ACTOR, "never")
        raise RuntimeError("the use case failed")
    with db.session() as session:  # a later transaction without events
        session.execute(select(func.count(AuditEvent.id)))
    head = audit.read_head(audit.anchor_file(tmp_path, db.engine), KEY)
    assert head is not None and head.id == ids[-1]
    assert _check(db, tmp_path).ok


def test_an_unkeyed_chain_is_rekeyed_from_a_recorded_event(db: Database, tmp_path: Path) -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    old = audit.event_hash(audit.GENESIS, at, "old", "lab-0", "case.create", "C-0", {})
    with db.session() as session:  # as release 0.1 wrote them: unkeyed, no origin nor agency
        session.add(
            AuditEvent(
                at=at,
                user="old",
                host="lab-0",
                action="case.create",
                case_ref="C-0",
                details={},
                prev_hash=audit.GENESIS,
                hash=old,
            )
        )
    anchor = audit.anchor_file(tmp_path, db.engine)
    legacy = audit._url_anchor(tmp_path, db.engine)  # the unkeyed release's anchor
    with db.session() as session:
        first = session.scalar(select(AuditEvent.id))
    legacy.write_text(json.dumps({"id": first, "hash": old, "lost": None}))
    ids = _append(db, 2)  # keyed from a recorded event on, but no anchor is made up
    with db.session() as session:
        rekey = session.get(AuditEvent, ids[0] - 1)
        assert rekey is not None and rekey.action == "audit.rekey"
        assert rekey.details == {"unkeyed_through": first}
    assert audit.read_head(anchor, KEY) is None
    with db.session() as session:
        assert audit.check(session, None, require_anchor=True).reason == "unanchored"
        init = audit.init_anchor(session, ACTOR)  # the operator's step, after the upgrade
    assert init.details == {"previous": "none", "events_before": 4, "unkeyed_anchor": "held"}
    head = audit.read_head(anchor, KEY)
    assert head is not None and (head.id, head.keyed_from) == (init.id, rekey.id)
    report = _check(db, tmp_path)
    assert report.ok and report.events == 5
    # The unkeyed prefix is protected by the keyed links after it: an edit there breaks the
    # rekey event's link, which nobody without the key can recompute.
    with db.session() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == first).values(host="lab-9"))
    assert _check(db, tmp_path).reason == "edited"


def test_concurrent_appends_never_fork_the_chain(db: Database, tmp_path: Path) -> None:
    threads, per_thread = 8, 25
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            _append(db, per_thread, start=n * 1000)
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    with db.session() as session:
        links = Counter(session.scalars(select(AuditEvent.prev_hash)))
    assert max(links.values()) == 1  # no two events follow the same one
    report = _check(db, tmp_path)
    assert report.ok and report.events == threads * per_thread


def test_the_anchor_file_is_replaced_whole(db: Database, tmp_path: Path) -> None:
    ids = _append(db, 2)
    path = audit.anchor_file(tmp_path, db.engine)
    body = json.loads(path.read_text())
    assert body == {
        "id": ids[-1],
        "hash": _hash_of(db, ids[-1]),
        "lost": None,
        "keyed_from": ids[0],
        "mac": body["mac"],
    }
    assert path.name == "audit-" + path.name[6:22] + ".head" or path.name == "audit.head"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".audit-head-")] == []


def _hash_of(db: Database, event_id: int) -> str:
    with db.session() as session:
        value = session.scalar(select(AuditEvent.hash).where(AuditEvent.id == event_id))
    assert value is not None
    return value


def test_an_unreadable_anchor_stops_appends_and_checks(db: Database, tmp_path: Path) -> None:
    _append(db, 1)
    audit.anchor_file(tmp_path, db.engine).write_text("{not json")
    with pytest.raises(CairnError, match="audit head anchor is unreadable"):
        _check(db, tmp_path)
    with pytest.raises(CairnError, match="audit head anchor is unreadable"):
        _append(db, 1)
    with db.session() as session:  # the failed append left nothing behind
        assert session.scalar(select(func.count(AuditEvent.id))) == 1
