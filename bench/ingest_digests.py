"""Digest throughput of `cairn ingest` against hashdeep and the CPU ceiling, in one run.

A generated tree of non-image files (default 2 GB, `--quick` 300 MB) is read once so that it
sits in the page cache; then, best of three each:

- `cairn ingest` as a whole process (CLI subprocess, a fresh workspace each time: start-up,
  enumeration, workers, the database writes all count);
- `hashdeep -c md5,sha1,sha256 -r` as a whole process (it hashes several files at once);
- the ceiling: cores x the one-pass MD5+SHA-1+SHA-256 rate of hashlib in one process over
  bytes already in memory.

Prints MB/s (10^6 bytes per second) and the ratios. Target: cairn >= 2x hashdeep.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CASE = "BENCH"
FILES_PER_FOLDER = 200
MiB = 1 << 20


def generate_tree(root: Path, total_bytes: int, seed: int = 7) -> tuple[int, int]:
    """Files with log-uniform sizes from 4 KiB to 8 MiB until `total_bytes`; (files, bytes)."""
    rng = random.Random(seed)
    pool = rng.randbytes(64 * MiB)
    written = count = 0
    while written < total_bytes:
        size = min(
            int(math.exp(rng.uniform(math.log(4096), math.log(8 * MiB)))), total_bytes - written
        )
        start = rng.randrange(0, len(pool) - size)
        folder = root / f"folder{count // FILES_PER_FOLDER:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"file{count:06d}.dat", "wb") as out:
            out.write(count.to_bytes(8, "little"))  # every file distinct
            out.write(pool[start : start + size - 8] if size > 8 else b"")
        written += max(size, 8)
        count += 1
    return count, written


def warm(root: Path) -> None:
    """Read every file once so each timed run reads from the page cache."""
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as stream:
                while stream.read(8 * MiB):
                    pass


def seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _become_subreaper() -> None:
    """Adopt orphaned descendants (cairn's fork server outlives its parent by a moment), so
    that reaping them adds their CPU time, and their workers', to RUSAGE_CHILDREN."""
    pr_set_child_subreaper = 36
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)


def run(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the whole process tree) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{command[0]} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    while True:  # reap adopted orphans before reading the usage
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu


def cairn_env(workspace: Path, scratch: Path) -> dict[str, str]:
    """The environment of a `cairn` run: its workspace, and compiled bytecode kept in scratch.

    An installed Cairn runs from bytecode compiled at install time; a development checkout
    with PYTHONDONTWRITEBYTECODE set would recompile its modules in every process instead.
    """
    env = {**os.environ, "CAIRN_WORKSPACE": str(workspace)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    return env


def cairn_ingest(tree: Path, scratch: Path) -> tuple[float, float]:
    """One `cairn ingest` process into a fresh workspace (the case is created beforehand)."""
    workspace = Path(tempfile.mkdtemp(dir=scratch))
    env = cairn_env(workspace, scratch)
    # The installed `cairn` command, as an examiner runs it (its workers re-import the script).
    script = Path(sys.executable).with_name("cairn")
    cairn = [str(script)] if script.exists() else [sys.executable, "-m", "cairn"]
    subprocess.run([*cairn, "case", "create", CASE], env=env, check=True, capture_output=True)
    timing = run([*cairn, "ingest", "--case", CASE, str(tree)], env)
    shutil.rmtree(workspace)
    return timing


def hashdeep(tree: Path) -> tuple[float, float]:
    return run(["hashdeep", "-c", "md5,sha1,sha256", "-r", str(tree)])


def triple_pass(data: memoryview) -> None:
    """One-pass MD5+SHA-1+SHA-256 over bytes in memory, 1 MiB at a time (as Cairn reads)."""
    md5, sha1, sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
    for offset in range(0, len(data), MiB):
        chunk = data[offset : offset + MiB]
        md5.update(chunk)
        sha1.update(chunk)
        sha256.update(chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 MB instead of 2 GB")
    parser.add_argument("--bytes", type=int, help="tree size in bytes (overrides the default)")
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this folder")
    args = parser.parse_args()
    total = args.bytes or (300_000_000 if args.quick else 2_000_000_000)
    if shutil.which("hashdeep") is None:
        sys.exit("hashdeep is not installed (apt-get install hashdeep)")
    scratch = Path(tempfile.mkdtemp(prefix="cairn-bench-"))
    try:
        tree = args.keep or scratch / "tree"
        if not (args.keep and tree.exists()):
            tree.mkdir(parents=True)
            files, nbytes = generate_tree(tree, total)
        else:
            files = sum(1 for p in tree.rglob("*") if p.is_file())
            nbytes = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
        warm(tree)
        cores = len(os.sched_getaffinity(0))
        print(f"tree: {files:,} files, {nbytes / 1e6:,.0f} MB, page-cached; {cores} cores")

        # Rounds interleave the three measurements, so a busy moment on the machine does not
        # fall on one of them only; each keeps its best of three.
        _become_subreaper()
        cairn_ingest(next(tree.iterdir()), scratch)  # untimed: compiles and caches bytecode
        load = os.getloadavg()[0]
        memory = memoryview(os.urandom(256 * MiB))
        hashdeep_s = cairn_s = core_s = hashdeep_cpu = cairn_cpu = math.inf
        for _ in range(3):
            wall, cpu = hashdeep(tree)
            hashdeep_s, hashdeep_cpu = min(hashdeep_s, wall), min(hashdeep_cpu, cpu)
            wall, cpu = cairn_ingest(tree, scratch)
            cairn_s, cairn_cpu = min(cairn_s, wall), min(cairn_cpu, cpu)
            core_s = min(core_s, seconds(lambda: triple_pass(memory)))
        core_rate = len(memory) / core_s

        gb = nbytes / 1e9
        cairn_mbs, hashdeep_mbs = nbytes / cairn_s / 1e6, nbytes / hashdeep_s / 1e6
        ceiling_mbs = cores * core_rate / 1e6
        print(f"load average: {load:.1f} before, {os.getloadavg()[0]:.1f} after")
        print(
            f"cairn ingest (whole process):    {cairn_mbs:8.1f} MB/s  ({cairn_s:.2f} s; "
            f"CPU {cairn_cpu / gb:.2f} s/GB)"
        )
        print(
            f"hashdeep -c md5,sha1,sha256 -r:  {hashdeep_mbs:8.1f} MB/s  ({hashdeep_s:.2f} s; "
            f"CPU {hashdeep_cpu / gb:.2f} s/GB)"
        )
        print(f"hashlib one-pass triple, 1 core: {core_rate / 1e6:8.1f} MB/s")
        print(f"ceiling = {cores} cores x that:     {ceiling_mbs:8.1f} MB/s")
        print(f"cairn / hashdeep = {cairn_mbs / hashdeep_mbs:.2f}x (target >= 2x)")
        print(f"cairn / ceiling  = {cairn_mbs / ceiling_mbs:.2f}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
