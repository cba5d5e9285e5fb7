"""NSRL read speed: Cairn's RDSv3 and RDSv2 readers against the bare scan they sit on.

Generates an RDSv3-shaped SQLite database (the published METADATA and PACKAGE_OBJECT tables and
FILE view) of 3M benign random rows (pinned seed; `--quick`: 300k), and an RDSv2
`NSRLFile.txt` of the same rows. Then, each reader once untimed (page cache, first calls), and
alternating, best of `--rounds`; every reader must count the same rows:
- RDSv3: `NsrlFormat.read` (validates, lower-cases, builds records) and `read_columns` (the
  same checks, batches of columns: what `cairn hashset import` uses) against a plain `sqlite3`
  `SELECT sha256, sha1, md5, file_name, file_size, package_id FROM FILE` scan, the floor;
- RDSv2: both readers against a plain `csv.reader` pass over the file.
Rates are rows per CPU second (the machine is shared; wall time and the load average are printed
too). Target (issue 3): 200k rows/s or more.

    .venv/bin/python bench/nsrl_read.py [--quick] [--rows N] [--rounds R] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path

from _harness import best_of, check, machine, ratio
from cairn.hashsets.base import ReadOptions, RecordError
from cairn.hashsets.nsrl import RDS2_HEADER, NsrlFormat, Rds3Row, write_rds3

SEED = 20261129
TARGET_ROWS_PER_S = 200_000
EXTENSIONS = ("dll", "exe", "sys", "txt", "")


def rows(count: int) -> Iterator[Rds3Row]:
    rng = random.Random(SEED)
    for n in range(count):
        yield (
            rng.randbytes(32).hex(),
            rng.randbytes(20).hex(),
            rng.randbytes(16).hex(),
            f"file{n}",
            EXTENSIONS[n % len(EXTENSIONS)],
            rng.randrange(1 << 24),
            n % 50_000,
        )


def write_rds2(path: Path, source: Iterable[Rds3Row]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(f'"{name}"' for name in RDS2_HEADER) + "\r\n")
        for _sha256, sha1, md5, name, ext, size, package in source:
            file_name = f"{name}.{ext}" if ext else name
            out.write(
                f'"{sha1.upper()}","{md5.upper()}","00000000","{file_name}",{size},'
                f'{package},"358",""\r\n'
            )


def sqlite_floor(path: Path) -> int:
    connection = sqlite3.connect(path.resolve().as_uri() + "?mode=ro&immutable=1", uri=True)
    query = "SELECT sha256, sha1, md5, file_name, file_size, package_id FROM FILE"
    count = sum(1 for _ in connection.execute(query))
    connection.close()
    return count


def csv_floor(path: Path) -> int:
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as file:
        return sum(1 for _ in csv.reader(file)) - 1  # the header


def cairn_read(path: Path) -> int:
    count = 0
    for item in NsrlFormat.read(path, ReadOptions()):
        assert not isinstance(item, RecordError), item
        count += 1
    return count


def cairn_columns(path: Path) -> int:
    count = 0
    for item in NsrlFormat.read_columns(path):
        assert not isinstance(item, RecordError), item
        count += len(item.names)
    return count


READERS = {"cairn NsrlFormat.read": cairn_read, "cairn NsrlFormat.read_columns": cairn_columns}


def compare(
    title: str, path: Path, floor_name: str, floor: Callable[[Path], int], rounds: int
) -> None:
    readers = {floor_name: floor, **READERS}
    measured = best_of({name: partial(reader, path) for name, reader in readers.items()}, rounds)
    count = measured[floor_name][0]
    print(f"\n{title}: {count:,} rows, best of {rounds}")
    print(check("row counts of every reader", {c for c, _ in measured.values()} == {count}))
    print(f"{'reader':<34}{'rows/s (cpu)':>14}{'rows/s (wall)':>15}")
    for name, (_, timing) in measured.items():
        print(f"{name:<34}{count / timing.cpu:>14,.0f}{count / timing.wall:>15,.0f}")
    for name in READERS:
        cairn = measured[name][1]
        verdict = "PASS" if count / cairn.cpu >= TARGET_ROWS_PER_S else "FAIL"
        print(ratio(name, cairn, measured[floor_name][1], floor_name))
        print(f"  target >= {TARGET_ROWS_PER_S:,} rows/s (cpu): {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="300k rows instead of 3M")
    parser.add_argument("--rows", type=int, help="number of rows to generate")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate into (and reuse from) this folder")
    args = parser.parse_args()
    count = args.rows or (300_000 if args.quick else 3_000_000)
    print(machine())
    with tempfile.TemporaryDirectory(prefix="cairn-nsrl-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        rds3, rds2 = folder / f"rds3-{count}.db", folder / f"NSRLFile-{count}.txt"
        started = time.perf_counter()
        if not rds3.exists():
            write_rds3(rds3, rows(count))
        if not rds2.exists():
            write_rds2(rds2, rows(count))
        print(
            f"generated {count:,} rows (seed {SEED}) in {time.perf_counter() - started:.0f} s: "
            f"{rds3.stat().st_size / 2**20:,.0f} MiB SQLite, {rds2.stat().st_size / 2**20:,.0f} "
            "MiB text"
        )
        compare("RDSv3 SQLite", rds3, "floor: sqlite3 SELECT FILE", sqlite_floor, args.rounds)
        compare("RDSv2 NSRLFile.txt", rds2, "floor: csv.reader", csv_floor, args.rounds)


if __name__ == "__main__":
    main()
