"""What runs inside a worker process: open the source once per process, process units.

The source travels as its class (pickled by reference, so by module and name) rather than as a
registry key: a worker then runs exactly the class the parent enumerated with, including one a
caller defined outside the registry.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import sys
import threading
from collections.abc import Sequence
from multiprocessing.context import BaseContext
from pathlib import Path

from cairn.core.records import EntryRecord, ErrorRecord, UnitResult
from cairn.core.settings import AnalysisSettings
from cairn.evidence.base import EvidenceSource, Unit

# Opened sources, per thread: a source keeps open handles (an image's file systems) that are
# not safe to share, and a Dask worker may run several threads.
_opened = threading.local()

CRASH_ERROR = ErrorRecord("crash", "analysis crashed its worker process; retried hashing only")
HASH_CRASH_ERROR = ErrorRecord("crash", "even hashing crashed its worker process; no digests")


# What every worker needs before its first unit: imported once in the fork server, each worker
# forked from it starts with them (the directory source is the common case; another source's
# module is added when the server starts for it).
WORKER_MODULES = (
    "cairn.evidence.worker",
    "cairn.evidence.directory",
    "cairn.media.image",
    "cairn.evidence.archive",
)


def worker_context(extra_modules: Sequence[str] = ()) -> BaseContext:
    """The forkserver context workers come from: children fork from a clean single-threaded
    server, not from the parent with its database connections and progress thread."""
    context = multiprocessing.get_context("forkserver")
    modules = dict.fromkeys([*WORKER_MODULES, *extra_modules, *_main_script_imports()])
    context.set_forkserver_preload(list(modules))
    return context


def start_fork_server(extra_modules: Sequence[str] = ()) -> None:
    """Start the fork server now. Called first thing by `cairn ingest`: the server's imports
    then run on another core while this process imports the store, instead of after it. The
    modules are fixed when the server starts; later calls do nothing."""
    from multiprocessing import forkserver

    worker_context(extra_modules)
    forkserver.ensure_running()


def _main_script_imports() -> list[str]:
    """The modules a main *script* took its names from, such as the `cairn` console script's CLI.

    Every forkserver worker re-runs a main script (not a `python -m` module) before its first
    task; the `cairn` script then imports the whole CLI. Preloaded once in the fork server, the
    CLI is already in each worker's sys.modules.
    """
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None:
        return []
    modules = {getattr(value, "__module__", None) for value in vars(main).values()}
    return sorted(m for m in modules if isinstance(m, str) and m in sys.modules and m != "__main__")


def _source(cls: type[EvidenceSource], root: str) -> EvidenceSource:
    sources: dict[tuple[type[EvidenceSource], str], EvidenceSource]
    sources = _opened.__dict__.setdefault("sources", {})
    key = (cls, root)
    source = sources.get(key)
    if source is None:
        source = sources[key] = cls(Path(root))
    return source


def process_batch(
    cls: type[EvidenceSource], root: str, units: list[Unit], settings: AnalysisSettings
) -> list[UnitResult]:
    source = _source(cls, root)
    return [source.process(unit, settings) for unit in units]


def hash_only(settings: AnalysisSettings) -> AnalysisSettings:
    """Settings for a retry after a unit crashed its worker: digests, no decoding or expanding.

    A native decoder can die on hostile input (and take the process with it); the retry must
    still record the file's digests. Depth 0 stops archive expansion too, which would otherwise
    reopen the file and run the same native reader again.
    """
    return dataclasses.replace(settings, max_buffer_bytes=0, max_archive_depth=0, thumbnails=False)


def crashed(result: UnitResult) -> UnitResult:
    """A hash-only retry's result, marked: its analysis crashed, so only digests are known."""
    head, *rest = result.entries
    head = dataclasses.replace(head, errors=(*head.errors, CRASH_ERROR))
    return UnitResult(result.unit_path, (head, *rest))


def unreadable(unit: Unit) -> UnitResult:
    """The record of a unit whose hash-only retry crashed too: enumerated, never read."""
    entry: EntryRecord = dataclasses.replace(
        unit.entry, errors=(*unit.entry.errors, HASH_CRASH_ERROR)
    )
    return UnitResult(unit.path, (entry,))
