"""The cluster of the cluster tests: a real `distributed` LocalCluster on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator

import dask
import pytest
from distributed import LocalCluster
from tests.services.crash_source import HERE as CRASH_SOURCE


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A LocalCluster of two one-thread worker processes, one per test module: its address.

    One failure allowed per task (the default is 3): a batch that kills a second worker is
    hostile input, and the tests need not wait for four workers to restart. The scheduler
    unpickles each task's function and arguments, the workers too: both import the test
    sources of crash_source.py.
    """
    with pytest.MonkeyPatch.context() as env:
        env.syspath_prepend(str(CRASH_SOURCE))
        env.setenv("PYTHONPATH", f"{CRASH_SOURCE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
            cluster = LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
        try:
            yield cluster.scheduler_address
        finally:
            cluster.close()
