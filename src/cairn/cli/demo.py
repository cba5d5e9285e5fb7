"""`cairn demo`: a benign synthetic seized device, ingested, and what Cairn found in it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cairn.cli.workspace import context


def demo(
    output: Annotated[Path | None, typer.Option(help="Where to generate the demo device.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
) -> None:
    """Generate a benign synthetic seized device, ingest it, and print what Cairn found."""
    from cairn.cli.summary import print_demo
    from cairn.services.demo import run_demo

    ctx = context()
    result = run_demo(ctx, output or ctx.workspace.root / "demo-device", workers=workers)
    print_demo(result)
