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
from cairn.core.errors import CairnError
from cairn.store import audit
from cairn.store.database import Database, open_database
from cairn.store.models import AuditEvent

ACTOR = Actor(user="examiner", host="lab-1", origin="10.1.2.3", agency="NL-NP")


@pytest.fixture
def db(database_url: str, tmp_path: Path) -> Iterator[Database]:
    database = open_database(database_url)
    audit.keep_head(database.engine, tmp_path)
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
        return audit.check(session, audit.read_head(audit.head_file(tmp_path, db.engine)))


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


def test_a_rewritten_chain_does_not_match_the_anchor(db: Database, tmp_path: Path) -> None:
    ids = _append(db, 3)
    with db.session() as session:  # recompute every hash after editing an event
        prev = audit.GENESIS
        for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
            if event.id == ids[1]:
                event.details = {"n": 99}
            event.prev_hash = prev
            event.hash = audit._stored_hash(prev, event)
            prev = event.hash
    with db.session() as session:
        assert audit.check(session).ok
    report = _check(db, tmp_path)
    assert (report.broken_id, report.reason) == (ids[2], "edited")


def test_a_rolled_back_append_does_not_move_the_anchor(db: Database, tmp_path: Path) -> None:
    ids = _append(db, 2)
    with pytest.raises(RuntimeError), db.session() as session:
        audit.record(session, ACTOR, "never")
        raise RuntimeError("the use case failed")
    with db.session() as session:  # a later transaction without events
        session.execute(select(func.count(AuditEvent.id)))
    head = audit.read_head(audit.head_file(tmp_path, db.engine))
    assert head is not None and head.id == ids[-1]
    assert _check(db, tmp_path).ok


def test_events_written_before_origin_existed_still_verify(db: Database, tmp_path: Path) -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with db.session() as session:  # as release 0.1 wrote them: no origin nor agency
        session.add(
            AuditEvent(
                at=at,
                user="old",
                host="lab-0",
                action="case.create",
                case_ref="C-0",
                details={},
                prev_hash=audit.GENESIS,
                hash=audit.event_hash(audit.GENESIS, at, "old", "lab-0", "case.create", "C-0", {}),
            )
        )
    _append(db, 2)
    report = _check(db, tmp_path)
    assert report.ok and report.events == 3


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
    path = audit.head_file(tmp_path, db.engine)
    assert json.loads(path.read_text()) == {
        "id": ids[-1],
        "hash": _hash_of(db, ids[-1]),
        "lost": None,
    }
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".audit-head-")] == []


def _hash_of(db: Database, event_id: int) -> str:
    with db.session() as session:
        value = session.scalar(select(AuditEvent.hash).where(AuditEvent.id == event_id))
    assert value is not None
    return value


def test_an_unreadable_anchor_stops_appends_and_checks(db: Database, tmp_path: Path) -> None:
    _append(db, 1)
    audit.head_file(tmp_path, db.engine).write_text("{not json")
    with pytest.raises(CairnError, match="audit head anchor is unreadable"):
        _check(db, tmp_path)
    with pytest.raises(CairnError, match="audit head anchor is unreadable"):
        _append(db, 1)
    with db.session() as session:  # the failed append left nothing behind
        assert session.scalar(select(func.count(AuditEvent.id))) == 1
