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
from dataclasses import dataclass
from pathlib import Path

from _harness import load, machine
from ingest_digests import cairn_command, cairn_env  # this folder is on sys.path as a script

CASE = "BENCH"
FILES_PER_FOLDER = 100


def generate_tree(root: Path, files: int) -> None:
    """`files` tiny distinct files (1 to 64 bytes), 100 per folder."""
    for i in range(files):
        folder = root / f"folder{i // FILES_PER_FOLDER:05d}"
        if i % FILES_PER_FOLDER == 0:
            folder.mkdir(parents=True)
        (folder / f"file{i:06d}.txt").write_bytes(f"{i}\n".encode() * (1 + i % 16))


@dataclass
class _Process:
    role: str
    peak_kb: int = 0
    samples: int = 0


def _role(pid: int, session: int, ppid: int, cmdline: bytes) -> str:
    if pid == session:
        return "parent"
    if b"resource_tracker" in cmdline:
        return "resource tracker"
    if b"forkserver" in cmdline:  # workers are forked from the server: same command line
        return "fork server" if ppid == session else "worker"
    return cmdline.split(b"\0", 1)[0].decode(errors="replace") or "?"


def _sample(session: int, processes: dict[int, _Process]) -> None:
    """Record VmHWM (kB) of every live process in `session`."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) != session:  # field 6 of stat: the session id
                continue
            if pid not in processes:
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    processes[pid] = _Process(_role(pid, session, int(fields[1]), cmdline.read()))
            with open(f"/proc/{pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmHWM:"):
                        process = processes[pid]
                        process.peak_kb = max(process.peak_kb, int(line.split()[1]))
                        process.samples += 1
        except (OSError, IndexError, ValueError):  # the process ended meanwhile
            continue


def peak_rss(tree: Path, scratch: Path) -> tuple[float, dict[str, float], float]:
    """(sum of per-process peak RSS, MB by role, seconds) of one `cairn ingest` of `tree`."""
    workspace = Path(tempfile.mkdtemp(dir=scratch))
    env = cairn_env(workspace, scratch)
    cairn = cairn_command()
    subprocess.run([*cairn, "case", "create", CASE], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    ingest = subprocess.Popen(
        [*cairn, "ingest", "--case", CASE, str(tree)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its session id is its pid: finds workers and fork server
    )
    processes: dict[int, _Process] = {}
    while ingest.poll() is None:
        _sample(ingest.pid, processes)
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    if ingest.returncode != 0:
        sys.exit(f"cairn ingest failed with exit code {ingest.returncode}")
    shutil.rmtree(workspace)
    # A child forked only to exec a helper (ctypes runs `ldconfig -p`) briefly shows its
    # parent's pages as its own; it lives a few milliseconds, so count processes seen twice.
    by_role: dict[str, float] = {}
    for process in processes.values():
        if process.samples > 1:
            by_role[process.role] = by_role.get(process.role, 0) + process.peak_kb / 1024
    return sum(by_role.values()), by_role, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2k and 20k files")
    args = parser.parse_args()
    small, large = (2_000, 20_000) if args.quick else (10_000, 100_000)
    print(machine())
    scratch = Path(tempfile.mkdtemp(prefix="cairn-bench-"))
    try:
        warm_up = scratch / "tree-warm-up"
        generate_tree(warm_up, 10)
        peak_rss(warm_up, scratch)  # untimed: compiles and caches bytecode for both runs
        results = {}
        for files in (small, large):
            tree = scratch / f"tree-{files}"
            generate_tree(tree, files)
            results[files] = peak_rss(tree, scratch)
            mb, by_role, elapsed = results[files]
            roles = ", ".join(f"{role} {role_mb:.1f}" for role, role_mb in sorted(by_role.items()))
            print(
                f"{files:>7,} files: peak RSS {mb:7.1f} MB ({roles}) "
                f"in {elapsed:.1f} s, {files / elapsed:,.0f} files/s"
            )
        growth = results[large][0] - results[small][0]
        print(f"growth {small:,} -> {large:,} files: {growth:.1f} MB (target < 50 MB); {load()}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
