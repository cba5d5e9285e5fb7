"""`cairn export hashes|vics|hashset|vpdq|geojson|lead`: case and series data written to files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cairn.cli.options import CaseRef, Output, OutputOrStdout
from cairn.cli.workspace import context

export_app = typer.Typer(no_args_is_help=True, help="Export case data.")


@export_app.command("hashes")
def export_hashes(
    case: CaseRef,
    format_: Annotated[str, typer.Option("--format", help="csv or dfxml")] = "csv",
    output: OutputOrStdout = Path("-"),
) -> None:
    """One row per occurrence: digests, PDQ, times, triage, errors."""
    from cairn.services.export import export_hashes as run_export

    ctx = context()
    if str(output) == "-":
        with open(
            sys.stdout.fileno(),
            "w",
            encoding="utf-8",
            errors="surrogateescape",
            newline="",
            closefd=False,
        ) as out:
            run_export(ctx, case, format_, out, "stdout")
        return
    with open(output, "w", encoding="utf-8", errors="surrogateescape", newline="") as out:
        count = run_export(ctx, case, format_, out, str(output.resolve()))
    typer.echo(f"wrote {count} rows to {output}", err=True)


@export_app.command("vics")
def export_vics(
    case: CaseRef,
    output: Output,
) -> None:
    """The case as a VICS 2.0 #Cases document (Media with MediaFiles, categories, series)."""
    from cairn.services.export import export_vics as run_export

    with open(output, "w", encoding="utf-8") as out:
        count = run_export(context(), case, out, str(output.resolve()))
    typer.echo(f"wrote {count} media items to {output}", err=True)


@export_app.command("hashset")
def export_hashset(
    output: Output,
    name: Annotated[str | None, typer.Option("--name", help="Hash set to export.")] = None,
    grades: Annotated[
        str | None, typer.Option("--grades", help="Export this case's grades instead.")
    ] = None,
) -> None:
    """A hash set, or a case's standing grades, as a VICS 2.0 #Media set: hashes and
    categories only, no paths (for sharing)."""
    from cairn.core.errors import UsageError
    from cairn.services.grading import export_grades
    from cairn.services.hashsets import export_hashset as run_export

    if (name is None) == (grades is None):
        raise UsageError("give --name SET or --grades CASE")
    with open(output, "w", encoding="utf-8") as out:
        if grades is not None:
            count = export_grades(context(), None, grades, out)
        else:
            assert name is not None
            count = run_export(context(), name, out)
    typer.echo(f"wrote {count} records to {output}", err=True)


@export_app.command("vpdq")
def export_vpdq(
    sha256: Annotated[str, typer.Option("--sha256", help="The video's SHA-256.")],
    output: Output,
) -> None:
    """One video's vPDQ file (frame hashes only, for sharing)."""
    from cairn.services.video_matching.export import export_vpdq as run_export

    with open(output, "w", encoding="utf-8") as out:
        count = run_export(context(), sha256, out)
    typer.echo(f"wrote {count} frames to {output}", err=True)


@export_app.command("geojson")
def export_geojson(
    output: Output,
    case: Annotated[str | None, typer.Option("--case", help="Case reference.")] = None,
    series: Annotated[str | None, typer.Option("--series", help="Series name or id.")] = None,
) -> None:
    """A case's places (location messages, media GPS) and location clues, or a series' clues
    and media GPS, as GeoJSON for a map or a GIS."""
    if (case is None) == (series is None):
        raise typer.BadParameter("name one of --case and --series")
    if case is not None:
        from cairn.services.messaging.places import export_geojson as run_export

        with open(output, "w", encoding="utf-8") as out:
            count = run_export(context(), case, out)
    else:
        from cairn.services.records.geo import export_series_geojson

        with open(output, "w", encoding="utf-8") as out:
            count = export_series_geojson(context(), None, series or "", out)
    typer.echo(f"wrote {count} features to {output}", err=True)


@export_app.command("lead")
def export_lead(
    series: Annotated[str, typer.Option("--series", help="Series name or id.")],
    country: Annotated[str, typer.Option("--country", help="The receiving country (CC).")],
    output: Output,
) -> None:
    """A lead package for another country (zip): the series' summary, clues, country evidence
    and hashes, and its published object crops; no other imagery."""
    from cairn.services.records.lead_package import export_lead_package

    with open(output, "wb") as out:
        count = export_lead_package(context(), None, series, country, out)
    typer.echo(f"wrote the lead package ({count} object crops) to {output}", err=True)
