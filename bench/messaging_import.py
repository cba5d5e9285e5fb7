"""WhatsApp import: messages/s and peak RSS of `cairn messaging import` against a plain scan.

Generates an Android msgstore.db (current schema) with 1M messages in 50 groups of 2,000
contacts, 200k of them with media (150k distinct items, so some are shared again), a tenth of
those forwarded, and 2,000 WhatsApp thumbnails (pinned seed; `--quick`: 50k messages, 10k
media). Each measurement runs in a fresh child process, which reports CPU and wall seconds and
its own peak RSS (ru_maxrss); the database is read once beforehand, so that every mode reads
it from the page cache and the ratios compare work, not disk; each mode runs once untimed, then
best of `--runs` interleaved, and every mode must count every message:
- floor: Python's sqlite3 reading every row of the tables the import reads (message,
  message_media, message_forwarded, message_system, jid, chat, group_participant_user,
  media_hash_thumbnail), building nothing: the I/O floor;
- read: Cairn's reader alone (`AndroidMsgstore.read` over a copy): rows to typed records;
- import: the whole `import_path` into a fresh SQLite workspace: private copy of the database
  and its digest, reading, accounts and groups merged, every message stored, thumbnails sealed,
  WAL states inspected.

    .venv/bin/python bench/messaging_import.py [--quick] [--messages N] [--runs R] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing
from functools import partial
from pathlib import Path

from _harness import Report, Stopwatch, best_reports, check, machine, ratio, read_report
from cairn.messaging.samples import (
    SampleDevice,
    SampleGroup,
    SampleMedia,
    SampleMember,
    SampleMessage,
    SamplePerson,
    tiny_jpeg,
    write_msgstore,
)

SEED = 20261130
GROUPS = 50
CONTACTS = 2000
T0 = 1714550400000
FLOOR_TABLES = (
    "message",
    "message_media",
    "message_forwarded",
    "message_system",
    "jid",
    "chat",
    "group_participant_user",
    "media_hash_thumbnail",
)


def device(messages: int, media: int) -> SampleDevice:
    """A busy phone: `messages` group messages, `media` of them with media."""
    rng = random.Random(SEED)
    owner = SamplePerson("+447700900000", "Owner")
    contacts = tuple(
        SamplePerson(fictional(i), f"Contact {i}", lid=f"19{i:013d}" if i % 5 == 0 else None)
        for i in range(1, CONTACTS + 1)
    )
    groups = tuple(
        SampleGroup(
            f"1203630000{g:08d}",
            f"Group {g}",
            T0 - 86_400_000,
            contacts[g].phone,
            tuple(
                SampleMember(c.phone, 1 if j == 0 else 0)
                for j, c in enumerate(rng.sample(contacts, 40))
            ),
        )
        for g in range(GROUPS)
    )
    distinct = max(1, media * 3 // 4)
    every = max(1, messages // media)

    def stream() -> Iterator[SampleMessage]:
        local = random.Random(SEED + 1)
        for i in range(messages):
            group = groups[local.randrange(GROUPS)]
            sender = None if i % 7 == 0 else group.members[local.randrange(40)].phone
            ref = None
            forwarded = False
            if i % every == 0 and i // every < media:
                item = local.randrange(distinct)
                ref = SampleMedia(
                    f"{item:064x}",
                    f"Media/WhatsApp Images/IMG-{item:08d}.jpg",
                    50_000,
                    thumbnail=THUMBNAIL if item < 2000 else None,
                )
                forwarded = local.random() < 0.1
            yield SampleMessage(
                f"{i:016X}",
                group.gid,
                sender,
                T0 + i * 1000,
                1 if ref else 0,
                None if ref else f"message number {i} with some ordinary text",
                ref,
                forwarded,
                local.randrange(1, 6) if forwarded else None,
                via_lid=sender is not None and int(sender[-5:]) % 5 == 0,
            )

    return SampleDevice(owner, contacts, groups, stream())


THUMBNAIL = tiny_jpeg((120, 140, 160))
# North American area codes whose 555-0100..0199 lines are reserved for fiction.
AREAS = ("202", "212", "213", "305", "312", "415", "617", "702", "713", "206", "303")


def fictional(i: int) -> str:
    """The i-th number of the ranges reserved for fiction: Ofcom's +44 7700 900000-900999
    first, then 555-01xx in one North American area code after another."""
    if i < 1000:
        return f"+447700900{i:03d}"
    area, line = divmod(i - 1000, 100)
    return f"+1{AREAS[area]}55501{line:02d}"


def child(mode: str, path: Path, work: Path) -> None:
    """Runs in a fresh process, so that ru_maxrss is this mode's own peak. The clock starts
    after the imports and the workspace's creation: it times the reading alone."""
    from cairn.messaging.android import AndroidMsgstore
    from cairn.messaging.base import Artefact, Message
    from cairn.services.cases import create_case
    from cairn.services.context import Context
    from cairn.services.messaging.importing import import_path

    ctx = None
    if mode == "import":
        ctx = Context.open(work / "workspace")
        create_case(ctx, "BENCH")
    stopwatch = Stopwatch()
    messages = 0
    if mode == "floor":
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            for table in FLOOR_TABLES:
                cursor = connection.execute(f"SELECT * FROM {table}")
                while rows := cursor.fetchmany(10_000):
                    if table == "message":
                        messages += len(rows)
    elif mode == "read":
        copy = work / "copy" / path.name
        copy.parent.mkdir()
        shutil.copyfile(path, copy)
        for record in AndroidMsgstore.read(Artefact(path.name, copy, "bench")):
            messages += isinstance(record, Message)
    else:
        assert ctx is not None
        (summary,) = import_path(ctx, path, "BENCH", "phone")
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
    parser.add_argument("--quick", action="store_true", help="50k messages instead of 1M")
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
    messages = args.messages or (50_000 if args.quick else 1_000_000)
    media = messages // 5
    print(machine())
    scratch = Path(tempfile.mkdtemp(prefix="cairn-messaging-bench-"))
    try:
        folder = args.keep or scratch
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"msgstore-{messages}.db"
        if not path.exists():
            started = time.perf_counter()
            write_msgstore(path, device(messages, media))
            print(
                f"generated {messages:,} messages ({media:,} with media), "
                f"{path.stat().st_size / 2**20:,.0f} MiB in "
                f"{time.perf_counter() - started:.0f} s (seed {SEED})"
            )
        with closing(sqlite3.connect(path)) as connection:
            assert connection.execute("SELECT count(*) FROM message").fetchone() == (messages,)
        with path.open("rb") as warm:  # every mode then reads from the page cache
            while warm.read(1 << 24):
                pass
        results = best_reports(
            {mode: partial(run_child, mode, path, scratch) for mode in ("floor", "read", "import")},
            args.runs,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    floor = results["floor"]
    counts = {r.count for r in results.values()}
    print(check(f"messages counted by every mode ({messages:,} made)", counts == {messages}))
    print(f"{'':<44}{'messages/s (cpu)':>17}{'messages/s (wall)':>19}{'peak RSS MB':>13}")
    for mode, name in (
        ("floor", "floor: sqlite3 scan of the same tables"),
        ("read", "cairn reader only (AndroidMsgstore.read)"),
        ("import", "cairn messaging import (copy, read, store)"),
    ):
        r = results[mode]
        print(
            f"{name:<44}{r.count / r.timing.cpu:>17,.0f}{r.count / r.timing.wall:>19,.0f}"
            f"{r.rss_mb:>13,.0f}"
        )
    for mode in ("read", "import"):
        r = results[mode]
        print(ratio(f"{mode} (below 1: slower)", r.timing, floor.timing, "sqlite3 scan floor"))
        print(f"  peak RSS {r.rss_mb / floor.rss_mb:.2f}x the floor's")


if __name__ == "__main__":
    main()
