"""`cairn report`: a case's report as HTML or PDF (services.reports)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from cairn.cli.options import CaseRef, Output
from cairn.cli.workspace import context


def report(
    case: CaseRef,
    output: Output,
    format_: Annotated[str, typer.Option("--format", help="html or pdf")] = "pdf",
    internal_review: Annotated[
        bool,
        typer.Option(
            "--internal-review",
            help="Add the review queue's items with blurred, greyscale thumbnails (never clear "
            "images); for the investigating team, not for disclosure.",
        ),
    ] = False,
) -> None:
    """Evidence and custody, counts and charts, series, persons and messaging findings, the
    processing record and an audit excerpt. Shows no image unless --internal-review."""
    from cairn.services.reports.render import create_report

    rendered = create_report(
        context(),
        None,
        case,
        format_,
        internal_review=internal_review,
        destination=str(output.resolve()),
    )
    # Private like the workspace: a report names people, numbers and paths of the case.
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(rendered.data)
    typer.echo(
        f"wrote {len(rendered.data):,} bytes to {output} (SHA-256 {rendered.sha256})", err=True
    )
