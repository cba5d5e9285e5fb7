"""Joining the operator's Dask scheduler, and checking its workers can see the evidence."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.core.errors import UsageError

if TYPE_CHECKING:
    from distributed import Client

# Long enough for a scheduler on another machine to answer, short enough that a wrong address
# is reported before the examiner wonders whether the command hung.
CONNECT_TIMEOUT_S = 20


def connect(address: str) -> Client:
    """A client of the scheduler at `address`, with at least one worker attached.

    Raises UsageError (exit 2, nothing done) when the scheduler cannot be reached or has no
    workers: waiting silently for workers that never come would look like a hung ingest.
    """
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except TimeoutError as exc:
        client.close()
        raise UsageError(f"the Dask scheduler at {address} has no workers") from exc
    return client


def require_visible(client: Client, path: Path) -> None:
    """Fail unless every worker can read `path` at the same path (a shared file system).

    Workers read the evidence themselves, so one that cannot see it would record every file
    as unreadable; better to say so once, before anything is stored.
    """
    seen: dict[str, bool] = client.run(os.access, str(path), os.R_OK)
    blind = sorted(worker for worker, visible in seen.items() if not visible)
    if blind:
        raise UsageError(
            f"{len(blind)} of {len(seen)} Dask workers cannot read {path} "
            f"(workers read the evidence at the same path, e.g. on a shared file system): "
            + ", ".join(blind)
        )


def join(address: str, evidence: Path) -> Client:
    """A client of the scheduler at `address` whose workers can all read `evidence`."""
    client = connect(address)
    try:
        require_visible(client, evidence)
    except BaseException:
        client.close()
        raise
    return client
