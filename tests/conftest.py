"""Fixtures shared by every test package: a workspace, an open context, the CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import pytest

from cairn.services.context import Context

REPO_ROOT = Path(__file__).resolve().parents[1]
# Benign public reference files (see ../shared/data/*/README): never abuse material.
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

# Store tests run on SQLite and on a real PostgreSQL (`database_url`); CAIRN_TEST_PG names the
# server's admin database.
PG_ADMIN_URL = os.environ.get(
    "CAIRN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database's URL, dropped afterwards (skips without a server)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"cairn_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CAIRN_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cairn.db'}"
    else:
        yield from postgres_database()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty workspace folder (Cairn creates it with mode 0700 on first use)."""
    return tmp_path / "workspace"


@pytest.fixture
def ctx(workspace: Path) -> Iterator[Context]:
    context = Context.open(workspace)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def db_ctx(
    database_url: str, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Context]:
    """An open context whose store is SQLite, then PostgreSQL (CAIRN_DATABASE_URL is set)."""
    monkeypatch.setenv("CAIRN_DATABASE_URL", database_url)
    context = Context.open(workspace)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return SHARED_DATA


def cairn_cli(
    workspace: Path,
    *args: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    prefix: Sequence[str] = (),
    timeout: float = 300,
) -> tuple[int, str, str]:
    """Run `python -m cairn ARGS` with CAIRN_WORKSPACE=workspace: (exit code, stdout, stderr).

    Output is decoded with surrogateescape so that non-UTF-8 file names survive; `prefix`
    wraps the command (e.g. `setpriv ...` to drop capabilities), `env` adds variables.
    """
    full_env = {**os.environ, "CAIRN_WORKSPACE": str(workspace), "COLUMNS": "200", **(env or {})}
    done = subprocess.run(
        [*prefix, sys.executable, "-m", "cairn", *map(str, args)],
        env=full_env,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    return (
        done.returncode,
        done.stdout.decode("utf-8", "surrogateescape"),
        done.stderr.decode("utf-8", "surrogateescape"),
    )


class Cli(Protocol):
    def __call__(
        self,
        workspace: Path,
        *args: str | os.PathLike[str],
        env: Mapping[str, str] | None = None,
        prefix: Sequence[str] = (),
        timeout: float = 300,
    ) -> tuple[int, str, str]: ...


class RunCli(Protocol):
    def __call__(
        self,
        *args: str | os.PathLike[str],
        env: Mapping[str, str] | None = None,
        prefix: Sequence[str] = (),
        workspace: Path = ...,
        timeout: float = 300,
    ) -> tuple[int, str, str]: ...


@pytest.fixture(scope="session")
def cli() -> Cli:
    """`cli(workspace, *args)`: the CLI against any workspace (usable by wider-scoped fixtures)."""
    return cairn_cli


@pytest.fixture
def run_cli(workspace: Path) -> RunCli:
    """`run_cli(*args)`: the CLI against this test's `workspace` (or `workspace=` another)."""

    def run(
        *args: str | os.PathLike[str],
        env: Mapping[str, str] | None = None,
        prefix: Sequence[str] = (),
        workspace: Path = workspace,
        timeout: float = 300,
    ) -> tuple[int, str, str]:
        return cairn_cli(workspace, *args, env=env, prefix=prefix, timeout=timeout)

    return run
