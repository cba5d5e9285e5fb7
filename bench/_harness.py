"""The habits every bench shares: warm both sides, time both on the same work, best of several
interleaved runs, and print the ratio with the peer's name and the machine's load average.

The machine is shared, so every figure is printed with the load average it was taken under,
and CPU seconds (every thread, plus the CLI subprocesses a bench waits for) beside wall time.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

R = TypeVar("R")
A = TypeVar("A")
B = TypeVar("B")


def cpu_seconds() -> float:
    """CPU seconds of this process (all threads) and of the children it has waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def machine(*versions: str) -> str:
    """The line a bench starts with: cores, load, and the versions that change its figures."""
    return ", ".join((f"cores: {len(os.sched_getaffinity(0))}", load(), *versions))


@dataclass(frozen=True)
class Timing:
    """Seconds for one pass over a bench's work, wall and CPU (each the best of the runs)."""

    wall: float
    cpu: float

    def rates(self, count: int) -> str:
        return f"{count / self.wall:,.0f}/s wall, {count / max(self.cpu, 1e-9):,.0f}/CPU-s"


def timed(function: Callable[[], R]) -> tuple[R, Timing]:
    """One untouched call: for work that runs once (builds, loads, data generation)."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = function()
    return result, Timing(time.perf_counter() - wall, cpu_seconds() - cpu)


def _one_run(function: Callable[[], object], min_seconds: float) -> Timing:
    """Seconds per call, the call repeated until the run lasts `min_seconds`: a short call
    timed once measures the clock and the scheduler more than the work."""
    calls, wall, cpu = 0, time.perf_counter(), cpu_seconds()
    while True:
        function()
        calls += 1
        elapsed = time.perf_counter() - wall
        if elapsed >= min_seconds:
            return Timing(elapsed / calls, (cpu_seconds() - cpu) / calls)


def _interleaved(
    sides: Mapping[str, Callable[[], object]], runs: int, min_seconds: float
) -> dict[str, Timing]:
    """The sides take turns `runs` times, so that whatever else loads the machine falls on all
    of them alike; each keeps its best run."""
    best = dict.fromkeys(sides, Timing(float("inf"), float("inf")))
    for _ in range(runs):
        for name, function in sides.items():
            run = _one_run(function, min_seconds)
            best[name] = Timing(min(best[name].wall, run.wall), min(best[name].cpu, run.cpu))
    return best


def best_of(
    sides: Mapping[str, Callable[[], R]], runs: int = 3, min_seconds: float = 0.0
) -> dict[str, tuple[R, Timing]]:
    """Each side's result and best timing. Every side is called once untimed first (loads
    compiled code, fills caches); that call's result is the one returned, to be checked."""
    results = {name: function() for name, function in sides.items()}
    best = _interleaved(sides, runs, min_seconds)
    return {name: (results[name], best[name]) for name in sides}


def versus(
    ours: Callable[[], A], peer: Callable[[], B], runs: int = 3, min_seconds: float = 0.0
) -> tuple[tuple[A, Timing], tuple[B, Timing]]:
    """Two sides on the same work: best_of, keeping the warm-up calls' results for the caller
    to check against each other."""
    ours_result, peer_result = ours(), peer()
    best = _interleaved({"ours": ours, "peer": peer}, runs, min_seconds)
    return (ours_result, best["ours"]), (peer_result, best["peer"])


def ratio(label: str, ours: Timing, peer: Timing, peer_name: str) -> str:
    """The line a reader looks for: how many times faster than the named peer on the same
    work, wall and CPU, and the load it was measured under."""
    return (
        f"RATIO {label}: {peer.wall / ours.wall:.2f}x {peer_name} (wall), "
        f"{peer.cpu / max(ours.cpu, 1e-9):.2f}x (CPU); {load()}"
    )


def check(label: str, same: bool) -> str:
    """Results that must be equal are checked, never assumed: a mismatch stops the bench."""
    if not same:
        raise SystemExit(f"{label}: results differ")
    return f"{label}: identical"


@dataclass(frozen=True)
class Report:
    """What a measuring child process says of itself: a fresh process per run, so its peak
    RSS (ru_maxrss) is the measured work's own, and its timing leaves out its start-up."""

    count: int
    timing: Timing
    rss_mb: float


class Stopwatch:
    """Started in a child where the measured work begins; `report` is the child's output."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), cpu_seconds()

    def report(self, count: int) -> str:
        wall, cpu = time.perf_counter() - self.wall, cpu_seconds() - self.cpu
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return json.dumps({"count": count, "wall": wall, "cpu": cpu, "rss_mb": rss_mb})


def read_report(output: str) -> Report:
    fields = json.loads(output)
    return Report(fields["count"], Timing(fields["wall"], fields["cpu"]), fields["rss_mb"])


def best_reports(sides: Mapping[str, Callable[[], Report]], runs: int = 3) -> dict[str, Report]:
    """best_of for sides that measure themselves in child processes: one untimed run each,
    then `runs` interleaved; the lowest wall, CPU and peak RSS of each. Every run of a side
    must count the same."""
    for function in sides.values():
        function()
    reports: dict[str, list[Report]] = {name: [] for name in sides}
    for _ in range(runs):
        for name, function in sides.items():
            reports[name].append(function())
    best = {}
    for name, runs_of in reports.items():
        counts = {r.count for r in runs_of}
        if len(counts) != 1:
            raise SystemExit(f"{name}: the runs counted differently: {sorted(counts)}")
        count = counts.pop()
        timing = Timing(min(r.timing.wall for r in runs_of), min(r.timing.cpu for r in runs_of))
        best[name] = Report(count, timing, min(r.rss_mb for r in runs_of))
    return best
