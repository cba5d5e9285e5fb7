"""Two instances: a partner (SQLite, its own workspace) that exports, and this test's store
(SQLite, then PostgreSQL) that imports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.core.config import Actor, Workspace
from cairn.services.context import Context
from cairn.services.hashsets import import_hashset
from cairn.services.sharing.trust import export_public_key, trust
from cairn.store.database import open_database

SHA = [f"{n:064x}" for n in range(1, 6)]
PDQ = ["f" * 64, "0f" * 32]


def set_file(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("sha256,pdq,category,series\n" + "".join(f"{r}\n" for r in rows))
    return path


@pytest.fixture
def partner(tmp_path: Path) -> Iterator[Context]:
    """The exporting instance, with a set "national" of three digests and two PDQs."""
    root = tmp_path / "partner"
    workspace = Workspace(root, f"sqlite:///{root / 'cairn.db'}")
    workspace.create()
    ctx = Context(workspace, open_database(workspace.database_url), Actor.current())
    rows = [
        f"{SHA[0]},,vics:1,Bridge",
        f"{SHA[1]},,vics:2,",
        f"{SHA[2]},{PDQ[0]},,Desk",
        f",{PDQ[1]},vics:1,",
    ]
    import_hashset(ctx, set_file(tmp_path, "national.csv", rows), "national")
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def trusted(partner: Context, db_ctx: Context, tmp_path: Path) -> Context:
    """This store, trusting the partner as "NL"."""
    key = tmp_path / "nl.key"
    export_public_key(partner, key)
    trust(db_ctx, "NL", key)
    return db_ctx
