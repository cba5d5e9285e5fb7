"""`cairn case create|list`."""

from __future__ import annotations

from typing import Annotated

import typer

from cairn.cli.options import AgencyCode, AsJson
from cairn.cli.workspace import context

case_app = typer.Typer(no_args_is_help=True, help="Create and list cases.")


@case_app.command("create")
def case_create(
    ref: str,
    title: Annotated[str, typer.Option(help="Case title.")] = "",
    agency: AgencyCode = None,
) -> None:
    """Create a case."""
    from cairn.services.cases import create_case
    from cairn.services.identity import owner_for_new

    ctx = context()
    create_case(ctx, ref, title, agency_id=owner_for_new(ctx, agency))
    typer.echo(f"created case {ref}")


@case_app.command("list")
def case_list(json_: AsJson = False) -> None:
    """List cases."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.cases import list_cases

    cases = list_cases(context())
    if json_:
        print_json(cases)
        return
    print_table(
        "Cases",
        ["ref", "title", "created", "by", "evidence", "entries"],
        [(c.ref, c.title, c.created_at, c.created_by, c.evidence, c.occurrences) for c in cases],
    )
