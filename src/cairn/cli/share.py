"""`cairn share key|trust|export|import|requests|series`: federation with other Cairn instances
(docs/federation.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from cairn.cli.options import AgencyCode, AsJson, Output
from cairn.cli.workspace import context

share_app = typer.Typer(
    no_args_is_help=True, help="Share hash sets, filters and series with other Cairn instances."
)
key_app = typer.Typer(no_args_is_help=True, help="This instance's identity key.")
share_app.add_typer(key_app, name="key")


@key_app.command("export")
def key_export(output: Output) -> None:
    """Write this instance's public key (never the private one) for partners to trust."""
    from cairn.services.sharing.trust import export_public_key

    public = export_public_key(context(), output)
    typer.echo(f"public key {public} written to {output}")


@share_app.command("trust")
def trust(
    name: Annotated[str | None, typer.Argument(help="A name for the partner instance.")] = None,
    key_file: Annotated[Path | None, typer.Argument(help="Its exported public key.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List trusted instances.")] = False,
    revoke: Annotated[str | None, typer.Option("--revoke", help="Stop trusting NAME.")] = None,
    expires: Annotated[
        str | None, typer.Option(help="Trust until this time (ISO 8601 with UTC offset).")
    ] = None,
    json_: AsJson = False,
) -> None:
    """Trust another instance's key under NAME; --list; --revoke NAME."""
    from cairn.cli.output import print_json, print_table
    from cairn.core.errors import UsageError
    from cairn.services.sharing import trust as trusting

    ctx = context()
    if list_:
        rows = trusting.list_trust(ctx)
        if json_:
            print_json(rows)
            return
        print_table(
            "Trusted instances",
            ["name", "public key", "added", "expires", "revoked"],
            [
                (t.name, t.public_key[:16] + "…", t.added_at, t.expires_at, t.revoked_at)
                for t in rows
            ],
        )
        return
    if revoke is not None:
        trusting.revoke_trust(ctx, revoke)
        typer.echo(f"no longer trusting {revoke}")
        return
    if name is None or key_file is None:
        raise UsageError("give NAME KEYFILE, --list or --revoke NAME")
    try:
        until = datetime.fromisoformat(expires) if expires else None
    except ValueError:
        raise UsageError(f"--expires: not an ISO 8601 time: {expires!r}") from None
    info = trusting.trust(ctx, name, key_file, expires_at=until)
    typer.echo(f"trusting {info.name} (key {info.public_key[:16]}…)")


@share_app.command("export")
def share_export(
    output: Output,
    hashset: Annotated[str | None, typer.Option("--hashset", help="The set to share.")] = None,
    notices: Annotated[bool, typer.Option("--notices", help="This workspace's notices.")] = False,
    series: Annotated[
        bool, typer.Option("--series", help="The shared series' statuses (no media).")
    ] = False,
    notice_hits: Annotated[
        str | None, typer.Option("--notice-hits", help="Hits on partner NAME's notices.")
    ] = None,
    filter_: Annotated[
        bool, typer.Option("--filter", help="A non-invertible match filter, not the hashes.")
    ] = False,
    since: Annotated[
        int | None, typer.Option(help="Only what was added after this exported version.")
    ] = None,
    fpr: Annotated[float, typer.Option(help="A filter's false-positive rate per lookup.")] = 1e-6,
    json_: AsJson = False,
) -> None:
    """Export a signed bundle (hashes and labels only) or match filter of a hash set, the
    notices, or the hits on a partner's notices."""
    from cairn.cli.output import print_json
    from cairn.core.errors import UsageError
    from cairn.services.sharing.bundles import export_bundle
    from cairn.services.sharing.filters import export_filter
    from cairn.services.sharing.notices import export_notice_hits, export_notices
    from cairn.services.sharing.series_status import export_series

    if [hashset is not None, notices, series, notice_hits is not None].count(True) != 1:
        raise UsageError("give one of --hashset NAME, --notices, --series, --notice-hits NAME")
    if filter_ and since is not None:
        raise UsageError("a filter is exported whole: --since applies to bundles")
    ctx = context()
    if hashset is None:
        if notices:
            done = export_notices(ctx, output)
        elif series:
            done = export_series(ctx, output)
        else:
            done = export_notice_hits(ctx, notice_hits or "", output)
        if json_:
            print_json(done)
        else:
            typer.echo(f"{done.kind}: {done.entries} entries -> {done.file}")
        return
    if filter_:
        summary = export_filter(ctx, hashset, output, fpr=fpr)
    else:
        summary = export_bundle(ctx, hashset, output, since=since)
    if json_:
        print_json(summary)
        return
    delta = "" if summary.since is None else f" (delta since {summary.since})"
    stated = "" if summary.stated_fpr is None else f", stated FPR {summary.stated_fpr:.2g}"
    typer.echo(
        f"{summary.kind} of {summary.name} version {summary.version}{delta}: "
        f"{summary.entries} entries{stated} -> {summary.file}"
    )


@share_app.command("import")
def share_import(
    file: Path,
    name: Annotated[str | None, typer.Option("--name", help="Name of the new hash set.")] = None,
    agency: AgencyCode = None,
    json_: AsJson = False,
) -> None:
    """Verify a partner's signed bundle or filter and import it as a hash set (all or nothing)."""
    from cairn.cli.output import print_json
    from cairn.services.identity import owner_for_new
    from cairn.services.sharing.bundles import import_share

    ctx = context()
    summary = import_share(ctx, file, name, agency_id=owner_for_new(ctx, agency))
    if json_:
        print_json(summary)
        return
    delta = "" if summary.since is None else f" (delta since {summary.since})"
    lists = ("notices", "notice-hits", "series")
    into = "" if summary.kind in lists else f" into hash set {summary.name}"
    typer.echo(
        f"imported {summary.kind} from {summary.owner}, version {summary.version}{delta}: "
        f"{summary.entries} entries{into}"
    )


@share_app.command("requests")
def share_requests(json_: AsJson = False) -> None:
    """Items found through a partner's filter: whose set, and that its owner is to be asked."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.sharing.filters import list_requests

    rows = list_requests(context())
    if json_:
        print_json(rows)
        return
    print_table(
        "Requests for details",
        ["case", "sha256", "set", "method", "at", "what to do"],
        [(r.case, r.sha256, r.hashset, r.method, r.requested_at, r.message) for r in rows],
    )


@share_app.command("series")
def share_series(json_: AsJson = False) -> None:
    """Partners' series statuses, and which cases here hold their members (deconfliction)."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.sharing.series_status import list_partner_series

    rows = list_partner_series(context())
    if json_:
        print_json(rows)
        return
    print_table(
        "Partners' series",
        ["from", "series", "status", "country", "contact", "members", "in your cases"],
        [
            (r.owner, r.name, r.status, r.country, r.contact, r.media, ", ".join(r.in_cases))
            for r in rows
        ],
    )
