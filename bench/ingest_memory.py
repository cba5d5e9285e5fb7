"""Memory of `cairn ingest` as the file count grows: peak RSS at 100k files minus at 10k.

Ingest holds no per-file state beyond bounded batches, so memory should not grow with the
tree: target < 50 MB between 10k and 100k tiny files. The peak is the sum, over every process
of the run (the CLI parent, the fork server, the resource tracker, the workers), of that
process's own peak RSS (VmHWM), polled from /proc: an upper bound of the simultaneous peak.

`--quick` uses 2k and 20k files (same ratio of ten).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASE = "BENCH"
FILES_PER_FOLDER = 100


def generate_tree(root: Path, files: int) -> None:
    """`files` tiny distinct files (1 to 64 bytes), 100 per folder."""
    for i in range(files):
        folder = root / f"folder{i // FILES_PER_FOLDER:05d}"
        if i % FILES_PER_FOLDER == 0:
            folder.mkdir(parents=True)
        (folder / f"file{i:06d}.txt").write_bytes(f"{i}\n".encode() * (1 + i % 16))


def _session_peaks(session: int, peaks: dict[int, int]) -> None:
    """Record VmHWM (kB) of every live process in `session`, keeping each pid's largest."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) != session:  # field 6 of stat: the session id
                continue
            with open(f"/proc/{entry.name}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmHWM:"):
                        pid = int(entry.name)
                        peaks[pid] = max(peaks.get(pid, 0), int(line.split()[1]))
        except (OSError, IndexError, ValueError):  # the process ended meanwhile
            continue


def peak_rss(tree: Path, scratch: Path) -> tuple[float, int, float]:
    """(sum of per-process peak RSS in MB, processes seen, seconds) of one ingest of `tree`."""
    workspace = Path(tempfile.mkdtemp(dir=scratch))
    env = {**os.environ, "CAIRN_WORKSPACE": str(workspace)}
    script = Path(sys.executable).with_name("cairn")
    cairn = [str(script)] if script.exists() else [sys.executable, "-m", "cairn"]
    subprocess.run([*cairn, "case", "create", CASE], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    process = subprocess.Popen(
        [*cairn, "ingest", "--case", CASE, str(tree)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its session id is its pid: finds workers and fork server
    )
    peaks: dict[int, int] = {}
    while process.poll() is None:
        _session_peaks(process.pid, peaks)
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"cairn ingest failed with exit code {process.returncode}")
    shutil.rmtree(workspace)
    return sum(peaks.values()) / 1024, len(peaks), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2k and 20k files")
    args = parser.parse_args()
    small, large = (2_000, 20_000) if args.quick else (10_000, 100_000)
    scratch = Path(tempfile.mkdtemp(prefix="cairn-bench-"))
    try:
        results = {}
        for files in (small, large):
            tree = scratch / f"tree-{files}"
            generate_tree(tree, files)
            results[files] = peak_rss(tree, scratch)
            mb, processes, elapsed = results[files]
            print(
                f"{files:>7,} files: peak RSS {mb:7.1f} MB over {processes} processes "
                f"({elapsed:.1f} s, {files / elapsed:,.0f} files/s)"
            )
        growth = results[large][0] - results[small][0]
        print(f"growth {small:,} -> {large:,} files: {growth:.1f} MB (target < 50 MB)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
