"""VICS import: records/s and peak RSS of Cairn's streaming reader against `json.load`.

Generates a VICS 2.0 `#Media` hash set of 1M benign random records (pinned seed; `--quick`:
100k) with Cairn's writer, then reads it in fresh child processes:
- cairn: `VicsFormat.read`, which validates and builds every record;
- peer: `json.load` of the same file, parse only (it builds no records and validates nothing,
  so the speed ratio flatters the peer).
Each child reports CPU seconds, wall seconds and its own peak RSS (ru_maxrss); each mode runs
once untimed, then best of `--runs` interleaved; both must count every record. Target (issue 3):
a 1M-record file imports in under 300 MB peak RSS.

    .venv/bin/python bench/vics_import.py [--quick] [--records N] [--runs R] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from _harness import Report, Stopwatch, best_reports, check, machine, ratio, read_report, timed
from cairn.core.types import Category, CategoryScheme
from cairn.hashsets.base import KnownHashRecord, ReadOptions, RecordError
from cairn.hashsets.vics.reader import VicsFormat
from cairn.hashsets.vics.writer import write_media_set

SEED = 20261129
RSS_TARGET_MB = 300
CATEGORIES = [Category(CategoryScheme.VICS, c) for c in (None, "0", "1", "2", "3", "4")]
SERIES = ["Bridge", "Desk", "Street", "Harbour", "Park"]


def records(count: int) -> Iterator[KnownHashRecord]:
    """Benign random hashes shaped like a national set: most have SHA-1 and SHA-256, a third
    PhotoDNA (192 base64 characters), a tenth a series."""
    rng = random.Random(SEED)
    for _ in range(count):
        has_series = rng.random() < 0.1
        yield KnownHashRecord(
            md5=rng.randbytes(16).hex(),
            sha1=rng.randbytes(20).hex(),
            sha256=rng.randbytes(32).hex() if rng.random() < 0.9 else None,
            photodna="A" * 190 + "==" if rng.random() < 0.33 else None,
            size=rng.randrange(1 << 24),
            category=rng.choice(CATEGORIES),
            series=(rng.choice(SERIES),) if has_series else (),
            victim_identified=rng.random() < 0.2,
            offender_identified=rng.random() < 0.1,
            distributed=rng.random() < 0.5,
        )


def child(mode: str, path: Path) -> None:
    """Runs in a fresh process so that ru_maxrss is this reader's own peak."""
    stopwatch = Stopwatch()
    count = 0
    if mode == "cairn":
        for item in VicsFormat.read(path, ReadOptions()):
            assert not isinstance(item, RecordError), item
            count += 1
    elif mode == "json":
        with path.open(encoding="utf-8-sig") as file:
            count = len(json.load(file)["value"])
    # "idle": the interpreter with Cairn imported, the RSS floor of any reader
    print(stopwatch.report(count))


def run_child(mode: str, path: Path) -> Report:
    command = [sys.executable, __file__, "--child", mode, str(path)]
    return read_report(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k records instead of 1M")
    parser.add_argument("--records", type=int, help="number of records to generate")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each reader")
    parser.add_argument("--keep", type=Path, help="generate into (and keep) this folder")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    count = args.records or (100_000 if args.quick else 1_000_000)
    print(machine())
    with tempfile.TemporaryDirectory(prefix="cairn-vics-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"vics-{count}.json"
        with path.open("w", encoding="utf-8") as out:
            summary, made = timed(lambda: write_media_set(records(count), out))
        print(
            f"generated {summary.written:,} records, {path.stat().st_size / 2**20:,.0f} MiB "
            f"in {made.wall:.1f} s (seed {SEED})"
        )
        results = best_reports(
            {mode: partial(run_child, mode, path) for mode in ("idle", "cairn", "json")}, args.runs
        )
    cairn, peer = results["cairn"], results["json"]
    print(check("records read by Cairn and json.load", cairn.count == peer.count == count))
    print(f"{'reader':<28}{'records/s (cpu)':>16}{'records/s (wall)':>18}{'peak RSS MB':>13}")
    for name, result in (("cairn VicsFormat.read", cairn), ("peer json.load (parse only)", peer)):
        print(
            f"{name:<28}{result.count / result.timing.cpu:>16,.0f}"
            f"{result.count / result.timing.wall:>18,.0f}{result.rss_mb:>13,.0f}"
        )
    print(ratio("VicsFormat.read", cairn.timing, peer.timing, "json.load (parse only)"))
    print(f"peak RSS ratio cairn/json.load: {cairn.rss_mb / peer.rss_mb:.3f}x")
    print(f"RSS of an idle interpreter with cairn imported: {results['idle'].rss_mb:.0f} MB")
    verdict = "PASS" if cairn.rss_mb < RSS_TARGET_MB else "FAIL"
    print(f"target: peak RSS < {RSS_TARGET_MB} MB for {count:,} records: {verdict}")


if __name__ == "__main__":
    main()
