"""`cairn evidence add|list|verify`: the evidence items of a case."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from cairn.cli.options import AsJson, CaseRef
from cairn.cli.verify import evidence_verify
from cairn.cli.workspace import context

evidence_app = typer.Typer(no_args_is_help=True, help="Register and list evidence items.")
evidence_app.command("verify")(evidence_verify)


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time") from exc


@evidence_app.command("add")
def evidence_add(
    source: Path,
    case: CaseRef,
    label: Annotated[
        str | None, typer.Option(help="Evidence label (default: source name).")
    ] = None,
    custodian: Annotated[str | None, typer.Option()] = None,
    seized_at: Annotated[str | None, typer.Option(help="ISO 8601 seizure time.")] = None,
    timezone: Annotated[str | None, typer.Option(help="Local zone for FAT/EXIF times.")] = None,
    acquisition_hash: Annotated[
        str | None, typer.Option(help="ALGORITHM:HEX given by the examiner.")
    ] = None,
    source_kind: Annotated[
        str | None, typer.Option(help="Override the detected source kind.")
    ] = None,
) -> None:
    """Register a source (folder, archive, image) as an evidence item of a case."""
    from cairn.services.cases import add_evidence

    evidence, created = add_evidence(
        context(),
        case,
        source,
        label=label,
        custodian=custodian,
        seized_at=_parse_time(seized_at),
        timezone=timezone,
        acquisition_hash=acquisition_hash,
        source_kind=source_kind,
    )
    verb = "added" if created else "already registered as"
    typer.echo(f"{verb} evidence {evidence.label} ({evidence.source_kind}: {evidence.source_path})")


@evidence_app.command("list")
def evidence_list(case: CaseRef, json_: AsJson = False) -> None:
    """List a case's evidence items."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.cases import list_evidence

    items = list_evidence(context(), case)
    if json_:
        print_json(items)
        return
    print_table(
        f"Evidence of {case}",
        ["label", "kind", "source", "custodian", "seized", "hash"],
        [
            (e.label, e.source_kind, e.source_path, e.custodian, e.seized_at, e.acquisition_hash)
            for e in items
        ],
    )
