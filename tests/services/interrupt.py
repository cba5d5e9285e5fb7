"""Killing an ingest between two commits, synchronised on the store's rows, not on sleeps."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import closing, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import RunCli


def committed(database: Path) -> int:
    """Occurrences committed so far, read through a separate read-only connection."""
    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as db:
            return int(db.execute("SELECT count(*) FROM occurrences").fetchone()[0])
    except sqlite3.OperationalError:  # not created or not migrated yet
        return 0


def kill_after_first_commit(command: Sequence[str], env: Mapping[str, str], database: Path) -> int:
    """Run `command`, SIGKILL it (its whole process group: workers and fork server too) as soon
    as `database` holds committed occurrences, or once it ended; the occurrences committed."""
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    while process.poll() is None and committed(database) == 0:
        time.sleep(0.002)
    with suppress(ProcessLookupError):  # it may have finished already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return committed(database)


def killed_ingest(
    tmp_path: Path, run_cli: RunCli, tree: Path, env: Mapping[str, str], below: int
) -> tuple[Path, int]:
    """A workspace whose case C-1 had its ingest of `tree` SIGKILLed after its first commit,
    with fewer than `below` occurrences stored (three tries, each in a new workspace): the
    workspace and the occurrences stored."""
    stored = 0
    for attempt in range(3):
        workspace = tmp_path / f"killed-{attempt}"
        assert run_cli("case", "create", "C-1", workspace=workspace)[0] == 0
        stored = kill_after_first_commit(
            [sys.executable, "-m", "cairn", "ingest", "--case", "C-1", str(tree)],
            {**os.environ, "CAIRN_WORKSPACE": str(workspace), **env},
            workspace / "cairn.db",
        )
        if 0 < stored < below:
            return workspace, stored
    pytest.fail(f"could not kill the ingest between two commits ({stored} stored of < {below})")
