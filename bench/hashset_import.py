"""Hash-set import speed end to end: `cairn hashset import --format nsrl` of an RDSv3 set.

Generates an RDSv3-shaped database (bench/nsrl_read.py's generator, pinned seed), then runs
the command as a user does (`.venv/bin/cairn`, a fresh SQLite workspace each run: start-up,
migrations, reading, known-file set, digest indexes, commit), once untimed and then best of
`--rounds` alternating with the peer: a plain `sqlite3` scan of the same FILE view, in-process
(the floor any reader of the view pays); both must count every row. Rates are wall rows/s and
rows per CPU second (the command's user + system time; the machine is shared, so the load
average is printed too). Target (issue 3): >= 200k rows/s end to end; lookups at <= 40 bytes
per entry.

    .venv/bin/python bench/hashset_import.py [--rows N] [--rounds R] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import check, load, machine, ratio, versus
from cairn.hashsets.nsrl import write_rds3
from nsrl_read import rows, sqlite_floor

TARGET = 200_000
CAIRN = Path(sys.executable).with_name("cairn")
IMPORT_OPTIONS = ("--name", "nsrl", "--format", "nsrl", "--kind", "ignorable", "--json")


def run_import(source: Path, workspace: Path, count: int) -> float:
    """One `cairn hashset import` process; the import's own seconds (start-up excluded)."""
    done = subprocess.run(
        [CAIRN, "--workspace", workspace, "hashset", "import", source, *IMPORT_OPTIONS],
        capture_output=True,
        check=True,
        env={**os.environ, "CAIRN_DATABASE_URL": ""},  # the workspace's own SQLite
    )
    summary = json.loads(done.stdout)
    assert (summary["records"], summary["bad_records"]) == (count, 0), summary
    return float(summary["seconds"])


def folder_bytes(folder: Path, pattern: str) -> int:
    return sum(f.stat().st_size for f in folder.glob(pattern) if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate into (and reuse from) this folder")
    args = parser.parse_args()
    count = args.rows
    print(machine())
    with tempfile.TemporaryDirectory(prefix="cairn-import-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        source = folder / f"rds3-{count}.db"
        if not source.exists():
            write_rds3(source, rows(count))
        workspaces = [Path(tmp) / f"ws{n}" for n in range(args.rounds + 1)]
        inside: list[float] = []  # the import's own seconds, each run
        (_, cairn), (peer_count, peer) = versus(
            lambda: inside.append(run_import(source, workspaces[len(inside)], count)),
            lambda: sqlite_floor(source),
            runs=args.rounds,
        )
        sets = workspaces[-1] / "indexes" / "sets"
        index_bytes = folder_bytes(sets, "*/*/seg-*/*.npy")
        entry_bytes = folder_bytes(sets, "*/*.bin")
        database_bytes = folder_bytes(workspaces[-1], "cairn.db")
    print(f"rows: {count:,}, best of {args.rounds}; {load()}")
    print(check("rows imported by Cairn and scanned by the peer", peer_count == count))
    print(f"{'':44}{'rows/s wall':>14}{'rows/CPU-s':>14}")
    print(f"{'peer: sqlite3 scan of FILE (in-process)':44}{count / peer.wall:>14,.0f}", end="")
    print(f"{count / peer.cpu:>14,.0f}")
    print(
        f"{'cairn hashset import (whole process)':44}{count / cairn.wall:>14,.0f}"
        f"{count / cairn.cpu:>14,.0f}"
    )
    print(f"{'  of which the import itself':44}{count / min(inside[1:]):>14,.0f}")
    print(ratio("cairn hashset import", cairn, peer, "sqlite3 scan of FILE"))
    print(
        f"cairn: {cairn.wall:.2f} s wall, {cairn.cpu:.2f} s CPU, start-up and commit "
        f"{cairn.wall - min(inside[1:]):.2f} s"
    )
    verdict = "PASS" if count / cairn.wall >= TARGET else "FAIL"
    print(f"target {TARGET:,} rows/s end to end (wall): {verdict}")
    print(
        f"lookup indexes: {index_bytes / count:.1f} bytes per entry (md5+sha1+sha256); "
        f"entries: {entry_bytes / count:.1f} bytes; database {database_bytes / 2**10:,.0f} KiB"
    )


if __name__ == "__main__":
    main()
