"""`case_media`: the one query for "the media of a case", on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from cairn.store.case_media import case_media
from cairn.store.database import Database, open_database
from cairn.store.models import Case, Evidence, Media, Occurrence

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def _sha(n: int) -> str:
    return f"{n:064x}"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """Case A: evidence a1 holds media 1 twice and 2, a2 holds 2 again (in a container) and an
    entry without content; case B holds 2 and 3. Media 4 occurs nowhere."""
    database = open_database(database_url)
    with database.session() as session:
        for n in (1, 2, 3, 4):
            session.add(Media(sha256=_sha(n), md5=f"{n:032x}", sha1=f"{n:040x}", size=n))
        cases = {ref: Case(ref=ref, created_at=NOW, created_by="t") for ref in ("A", "B")}
        session.add_all(cases.values())
        session.flush()
        holdings = {
            ("A", "a1"): [(b"x.jpg", 1), (b"copy/x.jpg", 1), (b"y.png", 2)],
            ("A", "a2"): [(b"z.zip!y.png", 2), (b"fifo", None)],
            ("B", "b1"): [(b"y.png", 2), (b"w.gif", 3)],
        }
        for (ref, label), entries in holdings.items():
            evidence = Evidence(
                case_id=cases[ref].id,
                label=label,
                source_path=f"/evidence/{label}",
                source_kind="directory",
                added_at=NOW,
                added_by="t",
            )
            session.add(evidence)
            session.flush()
            for path, n in entries:
                session.add(
                    Occurrence(
                        evidence_id=evidence.id,
                        path=path,
                        kind="fifo" if n is None else "file",
                        media_sha256=None if n is None else _sha(n),
                    )
                )
    try:
        yield database
    finally:
        database.dispose()


def _case_id(database: Database, ref: str) -> int:
    with database.session() as session:
        case_id = session.scalar(select(Case.id).where(Case.ref == ref))
    assert case_id is not None
    return case_id


def test_each_item_of_the_case_once_and_nothing_else(db: Database) -> None:
    with db.engine.connect() as connection:
        for ref, expected in (("A", [_sha(1), _sha(2)]), ("B", [_sha(2), _sha(3)])):
            found = connection.scalars(case_media(_case_id(db, ref))).all()
            assert sorted(found) == expected


def test_as_a_subquery_of_media(db: Database) -> None:
    with db.engine.connect() as connection:
        rows = connection.scalars(
            select(Media.size)
            .where(Media.sha256.in_(case_media(_case_id(db, "A"))))
            .order_by(Media.size)
        ).all()
    assert rows == [1, 2]


def test_per_evidence_item(db: Database) -> None:
    with db.engine.connect() as connection:
        rows = connection.execute(
            case_media(_case_id(db, "A"), Evidence.label).order_by(
                Evidence.label, Occurrence.media_sha256
            )
        ).all()
    assert [tuple(row) for row in rows] == [("a1", _sha(1)), ("a1", _sha(2)), ("a2", _sha(2))]


def test_a_case_without_media_and_an_unknown_case_give_nothing(db: Database) -> None:
    with db.session() as session:
        session.add(Case(ref="empty", created_at=NOW, created_by="t"))
    with db.engine.connect() as connection:
        assert connection.scalars(case_media(_case_id(db, "empty"))).all() == []
        assert connection.scalars(case_media(10_000)).all() == []
