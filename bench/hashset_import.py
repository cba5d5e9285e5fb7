"""Hash-set import speed end to end: `cairn hashset import` of an NSRL RDSv3 set.

Generates an RDSv3-shaped database (bench/nsrl_read.py's generator, pinned seed), then imports
it through the import service into a fresh workspace (store rows + digest indexes), best of
`--rounds`, against the floor: a plain `sqlite3` scan of the same FILE view. Prints rows/s,
the ratio, and the bytes per entry of the lookup indexes. Target (issue 3): >= 200k rows/s
import, lookups at <= 40 bytes per entry.

    .venv/bin/python bench/hashset_import.py [--quick] [--rows N] [--rounds R]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cairn.hashsets.nsrl import write_rds3
from cairn.services.context import Context
from cairn.services.hashsets import import_hashset
from nsrl_read import rows, sqlite_floor

TARGET = 200_000


def best(function, rounds: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300k rows, one round")
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    count = 300_000 if args.quick else args.rows
    rounds = 1 if args.quick else args.rounds
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = root / "RDS_modern.db"
        write_rds3(source, rows(count))
        floor = best(lambda: sqlite_floor(source), rounds)
        attempt = 0

        def run_import() -> None:
            nonlocal attempt
            attempt += 1
            ctx = Context.open(root / f"ws{attempt}")
            summary = import_hashset(ctx, source, "nsrl", kind="ignorable")
            assert summary.records == count and summary.bad_records == 0, summary
            ctx.close()

        seconds = best(run_import, rounds)
        index_bytes = sum(
            f.stat().st_size for f in (root / f"ws{attempt}" / "indexes").rglob("*.npy")
        )
    rate = count / seconds
    print(f"rows: {count:,}")
    print(f"floor (sqlite3 scan of FILE): {count / floor:,.0f} rows/s")
    print(f"cairn hashset import:        {rate:,.0f} rows/s  ({seconds:.1f} s)")
    print(f"ratio import / floor: {floor / seconds:.2f}")
    print(f"target {TARGET:,} rows/s: {'PASS' if rate >= TARGET else 'FAIL'}")
    print(f"digest indexes: {index_bytes / count:.1f} bytes per entry (md5+sha1+sha256 together)")


if __name__ == "__main__":
    main()
