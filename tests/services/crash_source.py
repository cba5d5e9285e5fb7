"""A folder source that kills its worker process on chosen files: a stand-in for a native
decoder dying on hostile input. Test support only, never registered in Cairn itself.

The ingest pool pickles the source class by reference, so worker processes import this module
by name: the test runs `main` in a subprocess with this folder on PYTHONPATH.

- `crash*` kills the worker while analysing, but hashing-only settings pass (a decoder crash);
- `always-crash*` kills the worker even when only hashing;
- `DeadWorkerSource` kills every worker before it reads anything (a broken environment);
- `DyingOnceSource` kills the worker the first time it reads `die-once*` (a worker lost mid-unit);
- `VanishedFileSource` lists a file the folder does not hold (a worker cannot read it);
- `submit_after_crash` drives the pool directly to submit to a pool a crash has broken.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from cairn.core.records import EntryRecord, UnitResult
from cairn.core.settings import AnalysisSettings
from cairn.core.types import EntryKind
from cairn.evidence.base import Unit
from cairn.evidence.directory import DirectorySource
from cairn.evidence.worker import hash_only

CRASH_EXIT = 70
HERE = Path(__file__).resolve().parent


def run_python(code: str, timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
    """Run `code` in a new Python process, after `import crash_source` (its output captured)."""
    return subprocess.run(
        [sys.executable, "-c", f"import crash_source; {code}"],
        env={**os.environ, "PYTHONPATH": str(HERE)},
        capture_output=True,
        timeout=timeout,
        check=False,
    )


class CrashingSource(DirectorySource):
    kind = "crashing-directory"

    def process(self, unit: Unit, settings: AnalysisSettings) -> UnitResult:
        name = unit.path.rsplit(b"/", 1)[-1]
        hashing_only = settings == hash_only(settings)
        if name.startswith(b"always-crash") or (name.startswith(b"crash") and not hashing_only):
            os._exit(CRASH_EXIT)
        return super().process(unit, settings)


class DeadWorkerSource(DirectorySource):
    kind = "dead-worker-directory"

    def __init__(self, root: Path) -> None:
        if multiprocessing.parent_process() is not None:  # in a worker, not in the parent
            os._exit(CRASH_EXIT)
        super().__init__(root)


class DyingOnceSource(DirectorySource):
    """Kills its worker on the first attempt at each `die-once*` file, and only then: a marker
    beside the evidence (never inside it) says the attempt was made."""

    kind = "dying-once-directory"

    def process(self, unit: Unit, settings: AnalysisSettings) -> UnitResult:
        name = unit.path.rsplit(b"/", 1)[-1]
        if name.startswith(b"die-once"):
            marker = self.root.parent / f"{self.root.name}.{os.fsdecode(name)}.died"
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass
            else:
                os._exit(CRASH_EXIT)
        return super().process(unit, settings)


class VanishedFileSource(DirectorySource):
    """Lists one file more than the folder holds, `vanished.txt`, as if it was deleted between
    the listing and the read."""

    kind = "vanished-file-directory"

    def units(self) -> Iterator[Unit | EntryRecord]:
        yield from super().units()
        entry = EntryRecord(path=b"vanished.txt", kind=EntryKind.FILE, size=5)
        yield Unit(entry, os.fsencode(self.root / "vanished.txt"))


def main(
    workspace: str,
    source: str,
    workers: int | None,
    kind: str = CrashingSource.kind,
    scheduler: str | None = None,
) -> None:
    """Ingest `source` with the test sources registered (on the cluster of `scheduler` if one is
    named); print the summary as JSON."""
    from cairn.evidence import registry
    from cairn.services.cases import create_case
    from cairn.services.context import Context
    from cairn.services.ingest import ingest

    registry.SOURCES = (
        CrashingSource,
        DeadWorkerSource,
        DyingOnceSource,
        VanishedFileSource,
        *registry.SOURCES,
    )
    ctx = Context.open(workspace)
    create_case(ctx, "C-1")
    summary = ingest(
        ctx, "C-1", Path(source), workers=workers, source_kind=kind, scheduler=scheduler
    )
    json.dump({"counts": summary.counts, "exit_code": summary.exit_code}, sys.stdout)
    ctx.close()


def submit_after_crash(source: str) -> None:
    """Submit a batch to a pool already broken by a crash; print both batches' records.

    Deterministic version of what a real run meets when a worker dies between two submits.
    """
    from concurrent.futures import wait

    from cairn.evidence.pool import WorkerPool

    units = [item for item in CrashingSource(Path(source)).units() if isinstance(item, Unit)]
    crashing = [unit for unit in units if unit.path.startswith(b"crash")]
    others = [unit for unit in units if not unit.path.startswith(b"crash")]
    pool = WorkerPool(2, CrashingSource, source, AnalysisSettings())
    first = pool.submit(crashing)
    wait([first.future])  # the pool is broken once this returns
    second = pool.submit(others)
    results = [*pool.result(first), *pool.result(second)]
    pool.close()
    records = [
        [entry.path.decode(), entry.content is not None, [e.stage for e in entry.errors]]
        for result in results
        for entry in result.entries
    ]
    json.dump({"generation": pool.generation, "records": records}, sys.stdout)
