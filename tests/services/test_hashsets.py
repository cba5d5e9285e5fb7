"""Hash-set imports abandoned between batches (a job's cancel) store nothing, on both stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from cairn.hashsets.base import example_hashes
from cairn.hashsets.nsrl import write_rds3
from cairn.services import hashsets
from cairn.services.context import Context
from cairn.services.hashsets import import_hashset, list_hashsets
from cairn.store.models import KnownHash

ROWS = 3000


class Stop(Exception):
    pass


def _plain(tmp_path: Path) -> Path:
    path = tmp_path / "list.txt"
    path.write_text("".join(f"{n:032x}\n" for n in range(1, ROWS + 1)))
    return path


def _nsrl(tmp_path: Path) -> Path:
    path = tmp_path / "RDS.db"
    rows = [example_hashes(n) for n in range(ROWS)]
    write_rds3(path, [(s256, s1, md5, "f", "", 1, 1) for md5, s1, s256, *_ in rows])
    return path


@pytest.mark.parametrize("make", [_plain, _nsrl], ids=["records", "known-files"])
def test_an_import_stopped_between_batches_stores_nothing(
    db_ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: object
) -> None:
    monkeypatch.setattr(hashsets, "_CHECK_RECORDS", 1000)
    assert callable(make)
    path = make(tmp_path)
    calls: list[int] = []

    def between_batches() -> None:
        calls.append(len(calls))
        if len(calls) == 2:  # after the first batch was stored
            raise Stop

    with pytest.raises(Stop):
        import_hashset(db_ctx, path, "set", kind="ignorable", between_batches=between_batches)
    assert calls == [0, 1]
    assert list_hashsets(db_ctx, include_removed=True) == []
    with db_ctx.db.session() as session:
        assert session.scalar(select(func.count(KnownHash.id))) == 0
    sets = db_ctx.workspace.root / "indexes" / "sets"  # no known-file set staged or published
    assert not sets.exists() or list(sets.iterdir()) == []
    # And left alone, the same import runs to the end.
    summary = import_hashset(db_ctx, path, "set", kind="ignorable", between_batches=lambda: None)
    assert summary.records == ROWS
