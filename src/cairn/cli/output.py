"""Printing: rich tables for people, JSON for scripts, progress on stderr."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

console = Console()
err_console = Console(stderr=True)
UNBOUNDED_WIDTH = 10_000  # wider than any table


def print_json(data: Any) -> None:
    def default(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return dataclasses.asdict(value)
        if isinstance(value, bytes):
            return value.decode("utf-8", "backslashreplace")
        return str(value)

    sys.stdout.write(json.dumps(data, default=default, indent=2) + "\n")


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table when it fits the terminal, else each row stacked as "column  value" lines: no
    header or value is ever cut short, even at 80 columns."""
    # Seized text may contain rich markup such as "[/x]": cells are shown literally.
    cells = [["" if v is None else escape(str(v)) for v in row] for row in rows]
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in cells:
        table.add_row(*row)
    # The narrowest the table can be without breaking a word, whatever the terminal's width.
    unbounded = console.options.update_width(UNBOUNDED_WIDTH)
    if Measurement.get(console, unbounded, table).minimum <= console.width:
        console.print(table)
    elif cells:
        console.print(_stacked(title, columns, cells))
    else:
        console.print(f"{escape(title)}: none")


def _stacked(title: str, columns: Sequence[str], cells: list[list[str]]) -> Table:
    table = Table(title=title, show_header=False, box=box.HORIZONTALS)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for row in cells:
        for n, (column, value) in enumerate(zip(columns, row, strict=True), 1):
            table.add_row(column, value, end_section=n == len(columns))
    return table


class _RateColumn(ProgressColumn):
    """Files/s and MB/s since the start (the byte total rides in the task's fields)."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        if elapsed <= 0:
            return Text("")
        files = task.completed / elapsed
        mbytes = task.fields.get("bytes", 0) / elapsed / 1e6
        return Text(f"{files:,.0f} files/s  {mbytes:,.1f} MB/s", style="cyan")


class IngestProgress:
    """The Progress protocol of services.ingest, drawn with rich on stderr."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("[bold]ingest"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,}"),
            _RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err_console,
        )
        self._task = self._progress.add_task("ingest", total=0, bytes=0)
        self._bytes = 0
        self._total_bytes = 0
        self._started = time.monotonic()

    def __enter__(self) -> IngestProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, units: int, total_bytes: int) -> None:
        self._total_bytes = total_bytes
        self._progress.update(self._task, total=units)

    def advance(self, units: int, nbytes: int) -> None:
        self._bytes += nbytes
        self._progress.update(self._task, advance=units, bytes=self._bytes)
