"""The options that many `cairn` commands share, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Workspace = Annotated[
    Path | None,
    typer.Option(
        "--workspace", envvar="CAIRN_WORKSPACE", help="Workspace folder (default ./cairn-data)."
    ),
]
CaseRef = Annotated[str, typer.Option("--case", help="Case reference.")]
EvidenceLabel = Annotated[str, typer.Option("--evidence", help="Label of the evidence item.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
AgencyCode = Annotated[
    str | None,
    typer.Option("--agency", help="The owning agency's code (default: the only one, if any)."),
]
Output = Annotated[Path, typer.Option("-o", "--output", help="File to write.")]
OutputOrStdout = Annotated[
    Path, typer.Option("-o", "--output", help="File to write ('-' for stdout).")
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        envvar="CAIRN_SCHEDULER",
        help="Dask scheduler (tcp://HOST:PORT) whose workers do the work; default: this machine.",
    ),
]
