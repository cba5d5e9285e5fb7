"""Hash-set import speed end to end: `cairn hashset import --format nsrl` of an RDSv3 set.

Generates an RDSv3-shaped database (bench/nsrl_read.py's generator, pinned seed), then runs
the command as a user does (`.venv/bin/cairn`, a fresh SQLite workspace each round: start-up,
migrations, reading, known-file set, digest indexes, commit), best of `--rounds`, against the
peer: a plain `sqlite3` scan of the same FILE view, in-process (the floor any reader of the
view pays). Rates are wall rows/s and rows per CPU second (the command's user + system time;
the machine is shared, so the load average is printed too). Target (issue 3): >= 200k rows/s
end to end; lookups at <= 40 bytes per entry.

    .venv/bin/python bench/hashset_import.py [--rows N] [--rounds R] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cairn.hashsets.nsrl import write_rds3
from nsrl_read import rows, sqlite_floor

TARGET = 200_000
CAIRN = Path(sys.executable).with_name("cairn")
IMPORT_OPTIONS = ("--name", "nsrl", "--format", "nsrl", "--kind", "ignorable", "--json")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_import(source: Path, workspace: Path, count: int) -> tuple[float, float, float]:
    """(wall, CPU, the import's own seconds) of one `cairn hashset import` process."""
    cpu, wall = children_cpu(), time.perf_counter()
    done = subprocess.run(
        [CAIRN, "--workspace", workspace, "hashset", "import", source, *IMPORT_OPTIONS],
        capture_output=True,
        check=True,
        env={**os.environ, "CAIRN_DATABASE_URL": ""},  # the workspace's own SQLite
    )
    wall, cpu = time.perf_counter() - wall, children_cpu() - cpu
    summary = json.loads(done.stdout)
    assert (summary["records"], summary["bad_records"]) == (count, 0), summary
    return wall, cpu, float(summary["seconds"])


def measure_peer(source: Path) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    sqlite_floor(source)
    return time.perf_counter() - wall, time.process_time() - cpu


def folder_bytes(folder: Path, pattern: str) -> int:
    return sum(f.stat().st_size for f in folder.glob(pattern) if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate into (and reuse from) this folder")
    args = parser.parse_args()
    count = args.rows
    with tempfile.TemporaryDirectory(prefix="cairn-import-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        source = folder / f"rds3-{count}.db"
        if not source.exists():
            write_rds3(source, rows(count))
        peer: list[tuple[float, float]] = []
        cairn: list[tuple[float, float, float]] = []
        for attempt in range(args.rounds):  # alternating, so that both see the same load
            peer.append(measure_peer(source))
            cairn.append(run_import(source, Path(tmp) / f"ws{attempt}", count))
        workspace = Path(tmp) / f"ws{args.rounds - 1}"
        sets = workspace / "indexes" / "sets"
        index_bytes = folder_bytes(sets, "*/*/seg-*/*.npy")
        entry_bytes = folder_bytes(sets, "*/*.bin")
        database_bytes = folder_bytes(workspace, "cairn.db")
    load = os.getloadavg()
    peer_wall, peer_cpu = min(w for w, _ in peer), min(c for _, c in peer)
    wall, cpu = min(w for w, _, _ in cairn), min(c for _, c, _ in cairn)
    inside = min(s for _, _, s in cairn)
    print(f"rows: {count:,}, best of {args.rounds}; load average {load[0]:.2f} {load[1]:.2f}")
    print(f"{'':44}{'rows/s wall':>14}{'rows/CPU-s':>14}")
    print(f"{'peer: sqlite3 scan of FILE (in-process)':44}{count / peer_wall:>14,.0f}", end="")
    print(f"{count / peer_cpu:>14,.0f}")
    print(f"{'cairn hashset import (whole process)':44}{count / wall:>14,.0f}{count / cpu:>14,.0f}")
    print(f"{'  of which the import itself':44}{count / inside:>14,.0f}")
    print(f"ratio cairn / peer: {peer_wall / wall:.2f} (wall), {peer_cpu / cpu:.2f} (CPU)")
    print(f"cairn: {wall:.2f} s wall, {cpu:.2f} s CPU, start-up and commit {wall - inside:.2f} s")
    verdict = "PASS" if count / wall >= TARGET else "FAIL"
    print(f"target {TARGET:,} rows/s end to end (wall): {verdict}")
    print(
        f"lookup indexes: {index_bytes / count:.1f} bytes per entry (md5+sha1+sha256); "
        f"entries: {entry_bytes / count:.1f} bytes; database {database_bytes / 2**10:,.0f} KiB"
    )


if __name__ == "__main__":
    main()
