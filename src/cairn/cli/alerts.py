"""`cairn alert add|list|remove|hits`: tell me when this appears (docs/federation.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from cairn.cli.options import AgencyCode, AsJson
from cairn.cli.workspace import context

alert_app = typer.Typer(no_args_is_help=True, help="Alerts and person notices, and their hits.")


@alert_app.command("add")
def alert_add(
    sha256: Annotated[str | None, typer.Option("--sha256", help="A file's SHA-256.")] = None,
    pdq: Annotated[str | None, typer.Option("--pdq", help="An image's PDQ (within 31).")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="An international number.")] = None,
    account: Annotated[str | None, typer.Option("--account", help="An account id.")] = None,
    note: Annotated[str, typer.Option(help="Why, for whoever sees the hit.")] = "",
    notice: Annotated[
        bool, typer.Option(help="A person notice: watched in every agency's cases, exportable.")
    ] = False,
    agency: AgencyCode = None,
) -> None:
    """Watch for a SHA-256, PDQ, phone number or account in the agency's cases."""
    from cairn.core.errors import UsageError
    from cairn.services.alerts import add_alert
    from cairn.services.identity import owner_for_new

    given = {
        k: v
        for k, v in (("sha256", sha256), ("pdq", pdq), ("phone", phone), ("account", account))
        if v is not None
    }
    if len(given) != 1:
        raise UsageError("give exactly one of --sha256, --pdq, --phone, --account")
    ((kind, value),) = given.items()
    ctx = context()
    info = add_alert(
        ctx, kind, value, note=note, notice=notice, agency_id=owner_for_new(ctx, agency)
    )
    typer.echo(f"{'notice' if info.notice else 'alert'} {info.id}: {info.kind} {info.value}")


@alert_app.command("list")
def alert_list(json_: AsJson = False) -> None:
    """The alerts and notices being watched for (yours and partners' notices)."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.alerts import list_alerts

    rows = list_alerts(context())
    if json_:
        print_json(rows)
        return
    print_table(
        "Alerts",
        ["id", "kind", "value", "notice", "from", "note"],
        [(a.id, a.kind, a.value, "yes" if a.notice else "", a.origin or "", a.note) for a in rows],
    )


@alert_app.command("remove")
def alert_remove(alert_id: Annotated[int, typer.Argument(help="The alert's id.")]) -> None:
    """Stop watching; hits already raised stay on record."""
    from cairn.services.alerts import remove_alert

    remove_alert(context(), alert_id)
    typer.echo(f"removed alert {alert_id}")


@alert_app.command("hits")
def alert_hits(json_: AsJson = False) -> None:
    """Where and when watched values appeared: the case and item, or only the agency or
    partner instance when the case is not yours."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.alerts import list_hits

    rows = list_hits(context())
    if json_:
        print_json(rows)
        return
    print_table(
        "Alert hits",
        ["alert", "kind", "value", "case", "item", "elsewhere", "source", "time"],
        [
            (h.alert, h.kind, h.value, h.case, h.item, h.remote or h.agency, h.source, h.at)
            for h in rows
        ],
    )
