"""Telegram import: messages/s and peak RSS of Cairn's streaming reader against `json.load`.

Generates a Telegram Desktop account export (`result.json`) of 500k messages in 20 groups of
200 people, a fifth of them photos whose files are left out of the export, a tenth of those
forwarded, with joins and departures as service messages (pinned seed; `--quick`: 50k). Each
mode runs in a fresh child process, which reports CPU and wall seconds and its own peak RSS:
- peer: `json.load` of the same file, parse only (it builds no records and validates nothing,
  and holds the whole document: the speed ratio flatters it, the memory ratio does not);
- read: `TelegramExport.read`, two streamed passes building every record;
- import: the whole `import_path` into a fresh SQLite workspace.
Each mode runs once untimed, then best of `--runs` interleaved; every mode must count every
message.

    .venv/bin/python bench/telegram_import.py [--quick] [--messages N] [--runs R] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import TextIO

from _harness import Report, Stopwatch, best_reports, check, machine, ratio, read_report

SEED = 20261206
GROUPS = 20
MEMBERS = 200
START = 1714550400  # 2024-05-01T08:00:00Z
LEFT_OUT = "(File not included. Change data exporting settings to download.)"


def write_export(out: TextIO, messages: int) -> None:
    """A full-account export, written one message per line as it is generated."""
    rng = random.Random(SEED)
    people = [(f"user{1000 + i}", f"Person {i}") for i in range(GROUPS * MEMBERS)]
    out.write('{\n "about": "Here is the data you requested.",\n')
    out.write(' "personal_information": {"user_id": 1000, "first_name": "Person",')
    out.write(' "last_name": "0", "phone_number": "+447700900000"},\n')
    out.write(' "chats": {"about": "", "list": [\n')
    per_group = messages // GROUPS
    for group in range(GROUPS):
        members = people[group * MEMBERS : (group + 1) * MEMBERS]
        header = {"name": f"Group {group}", "type": "private_supergroup", "id": 5000 + group}
        out.write(json.dumps(header)[:-1] + ', "messages": [\n')
        count = per_group + (messages % GROUPS if group == GROUPS - 1 else 0)
        for number in range(1, count + 1):
            from_id, name = rng.choice(members)
            row: dict[str, object] = {
                "id": number,
                "type": "message",
                "date": "2024-05-01T08:00:00",
                "date_unixtime": str(START + group * count + number),
            }
            draw = rng.random()
            if draw < 0.01:
                action = rng.choice(("join_group_by_link", "remove_members"))
                row.update(type="service", actor=name, actor_id=from_id, action=action)
                if action == "remove_members":
                    row["members"] = [name]
                row["text"] = ""
            else:
                row.update({"from": name, "from_id": from_id})
                if draw < 0.2:
                    row.update(photo=LEFT_OUT, width=640, height=480, text="")
                    if draw < 0.03:
                        row["forwarded_from"] = "A Channel"
                else:
                    row["text"] = f"message {number} in group {group}"
            out.write(json.dumps(row, ensure_ascii=False))
            out.write(",\n" if number < count else "\n")
        out.write("]}" + (",\n" if group < GROUPS - 1 else "\n"))
    out.write("]}\n}\n")


def child(mode: str, path: Path, work: Path) -> None:
    """Runs in a fresh process, so that ru_maxrss is this mode's own peak. The clock starts
    after the imports and the workspace's creation."""
    from cairn.messaging.base import Artefact, Message
    from cairn.messaging.telegram import TelegramExport
    from cairn.services.cases import create_case
    from cairn.services.context import Context
    from cairn.services.messaging.importing import import_path

    ctx = None
    if mode == "import":
        ctx = Context.open(work / "workspace")
        create_case(ctx, "BENCH")
    stopwatch = Stopwatch()
    messages = 0
    if mode == "json":
        with path.open(encoding="utf-8") as file:
            document = json.load(file)
        messages = sum(len(chat["messages"]) for chat in document["chats"]["list"])
    elif mode == "read":
        for record in TelegramExport.read(Artefact(path.name, path, "bench")):
            messages += isinstance(record, Message)
    else:
        assert ctx is not None
        (summary,) = import_path(ctx, path, "BENCH", "laptop")
        assert summary.status == "completed", summary.issues
        messages = summary.counts["messages"] + summary.counts.get("system_messages", 0)
    report = stopwatch.report(messages)
    if ctx is not None:
        ctx.close()
    print(report)


def run_child(mode: str, path: Path, scratch: Path) -> Report:
    work = Path(tempfile.mkdtemp(dir=scratch))
    try:
        output = subprocess.run(
            [sys.executable, __file__, "--child", mode, str(path), str(work)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return read_report(output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50k messages instead of 500k")
    parser.add_argument("--messages", type=int, help="number of messages to generate")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each mode")
    parser.add_argument("--keep", type=Path, help="generate into (and keep) this folder")
    parser.add_argument(
        "--child", nargs=3, metavar=("MODE", "PATH", "WORK"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    messages = args.messages or (50_000 if args.quick else 500_000)
    print(machine())
    scratch = Path(tempfile.mkdtemp(prefix="cairn-telegram-bench-"))
    try:
        folder = args.keep or scratch / "export"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "result.json"
        if not path.exists():
            started = time.perf_counter()
            with path.open("w", encoding="utf-8") as out:
                write_export(out, messages)
            print(
                f"generated {messages:,} messages, {path.stat().st_size / 2**20:,.0f} MiB in "
                f"{time.perf_counter() - started:.0f} s (seed {SEED})"
            )
        with path.open("rb") as warm:  # every mode then reads from the page cache
            while warm.read(1 << 24):
                pass
        results = best_reports(
            {mode: partial(run_child, mode, path, scratch) for mode in ("json", "read", "import")},
            args.runs,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    peer = results["json"]
    counts = {r.count for r in results.values()}
    print(check(f"messages counted by every mode ({messages:,} made)", counts == {messages}))
    print(f"{'':<44}{'messages/s (cpu)':>17}{'messages/s (wall)':>19}{'peak RSS MB':>13}")
    for mode, name in (
        ("json", "peer: json.load (parse only)"),
        ("read", "cairn reader only (TelegramExport.read)"),
        ("import", "cairn messaging import (copy, read, store)"),
    ):
        r = results[mode]
        print(
            f"{name:<44}{r.count / r.timing.cpu:>17,.0f}{r.count / r.timing.wall:>19,.0f}"
            f"{r.rss_mb:>13,.0f}"
        )
    for mode in ("read", "import"):
        r = results[mode]
        print(ratio(f"{mode} (below 1: slower)", r.timing, peer.timing, "json.load (parse only)"))
        print(f"  peak RSS {r.rss_mb / peer.rss_mb:.2f}x json.load's")


if __name__ == "__main__":
    main()
