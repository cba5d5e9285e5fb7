"""`cairn series …`: series of media, their members, statuses and history."""

from __future__ import annotations

from typing import Annotated

import typer

from cairn.cli.options import AgencyCode, AsJson, CaseRef
from cairn.cli.workspace import context

series_app = typer.Typer(no_args_is_help=True, help="Series: the media of one event or victim.")

Name = Annotated[str, typer.Argument(help="The series' name.")]
Reason = Annotated[str, typer.Option(help="Why (recorded in the series' history).")]


@series_app.command("create")
def series_create(
    name: Name,
    case: CaseRef,
    share: Annotated[bool, typer.Option("--share", help="Visible to every agency.")] = False,
    contact: Annotated[str, typer.Option(help="Whom other agencies ask about it.")] = "",
    notes: Annotated[str, typer.Option(help="Free text.")] = "",
) -> None:
    """Create a series owned by the case's agency."""
    from cairn.services.series import create_series

    info = create_series(
        context(), None, name, shared=share, notes=notes, contact=contact, case_ref=case
    )
    typer.echo(f"created series {info.name} ({info.agency}{', shared' if share else ''})")


@series_app.command("add")
def series_add(
    name: Name,
    items: Annotated[list[str], typer.Argument(help="SHA-256s or evidence:path items.")],
    case: CaseRef,
    agency: AgencyCode = None,
) -> None:
    """File media items of a case in a series."""
    from cairn.services.series import add_media, series_id

    ctx = context()
    info = add_media(ctx, None, series_id(ctx, name, agency), case, items)
    typer.echo(f"series {info.name} holds {info.media} items")


@series_app.command("remove")
def series_remove(
    name: Name,
    shas: Annotated[list[str], typer.Argument(help="SHA-256s of members.")],
    reason: Reason = "",
    agency: AgencyCode = None,
) -> None:
    """Take members out of a series."""
    from cairn.services.series import remove_media, series_id

    ctx = context()
    info = remove_media(ctx, None, series_id(ctx, name, agency), shas, reason)
    typer.echo(f"series {info.name} holds {info.media} items")


@series_app.command("merge")
def series_merge(
    into: Annotated[str, typer.Argument(help="The series that stays.")],
    other: Annotated[str, typer.Argument(help="The series merged into it.")],
    reason: Reason = "",
    agency: AgencyCode = None,
) -> None:
    """Merge series B into series A (same agency only)."""
    from cairn.services.series import merge_series, series_id

    ctx = context()
    info = merge_series(
        ctx, None, series_id(ctx, into, agency), series_id(ctx, other, agency), reason
    )
    typer.echo(f"merged {other} into {info.name}: {info.media} items")


@series_app.command("split")
def series_split(
    name: Name,
    new: Annotated[str, typer.Argument(help="The new series' name.")],
    shas: Annotated[list[str], typer.Argument(help="SHA-256s of the members that move.")],
    reason: Reason = "",
    agency: AgencyCode = None,
) -> None:
    """Move some members of a series into a new series."""
    from cairn.services.series import series_id, split_series

    ctx = context()
    info = split_series(ctx, None, series_id(ctx, name, agency), new, shas, reason)
    typer.echo(f"split {info.media} items off {name} into {info.name}")


@series_app.command("status")
def series_status(
    name: Name,
    status: Annotated[
        str,
        typer.Argument(
            help="unidentified, country-determined, disseminated, identified, safeguarded "
            "or eliminated."
        ),
    ],
    reason: Reason = "",
    agency: AgencyCode = None,
) -> None:
    """Set a series' status (going back needs --reason)."""
    from cairn.services.series import series_id, set_status

    ctx = context()
    info = set_status(ctx, None, series_id(ctx, name, agency), status, reason)
    typer.echo(f"series {info.name}: {info.status}")


@series_app.command("update")
def series_update(
    name: Name,
    share: Annotated[
        bool | None, typer.Option("--share/--private", help="Visible to every agency, or not.")
    ] = None,
    contact: Annotated[str | None, typer.Option(help="Whom other agencies ask.")] = None,
    notes: Annotated[str | None, typer.Option(help="Free text.")] = None,
    agency: AgencyCode = None,
) -> None:
    """Share a series or stop sharing it; change its contact point or notes."""
    from cairn.services.series import series_id, update_series

    ctx = context()
    info = update_series(
        ctx, None, series_id(ctx, name, agency), shared=share, contact=contact, notes=notes
    )
    typer.echo(f"series {info.name}: {'shared' if info.shared else 'private'}")


@series_app.command("list")
def series_list(json_: AsJson = False) -> None:
    """Every series (merged ones are left out)."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.series import list_series

    found = list_series(context(), None)
    if json_:
        print_json(found)
        return
    print_table(
        "Series",
        ["name", "agency", "status", "shared", "items", "contact"],
        [
            (s.name, s.agency, s.status, "yes" if s.shared else "", s.media, s.contact)
            for s in found
        ],
    )


@series_app.command("show")
def series_show(name: Name, agency: AgencyCode = None, json_: AsJson = False) -> None:
    """A series with its members and history."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.series import series_id, show_series

    ctx = context()
    detail = show_series(ctx, None, series_id(ctx, name, agency))
    if json_:
        print_json(detail)
        return
    s = detail.series
    typer.echo(
        f"{s.name} ({s.agency}): {s.status}, {s.media} items{', shared' if s.shared else ''}"
    )
    print_table(
        "Members",
        ["sha256", "case", "added", "by"],
        [(m.sha256, m.case or "", m.added_at or "", m.added_by or "") for m in detail.media],
    )
    print_table(
        "History",
        ["at", "by", "action", "reason"],
        [(h.at, h.by, h.action, h.reason) for h in detail.history],
    )


@series_app.command("suggest")
def series_suggest(case: CaseRef, json_: AsJson = False) -> None:
    """Proposals: existing series the case's media belong to, and clusters of its new media,
    each with the links behind it. Nothing is filed until a specialist does it."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.series_suggest import suggest

    found = suggest(context(), None, case)
    if json_:
        print_json(found)
        return
    for s in found:
        if s.series is None:
            title = f"New cluster of {len(s.media)} items"
        else:
            where = "identified elsewhere: " if s.identified_elsewhere else ""
            contact = f", contact {s.contact}" if s.contact else ""
            title = f"{where}series {s.series} ({s.agency}, {s.status}{contact})"
        print_table(
            title,
            ["sha256", "method", "score", "linked to"],
            [(m.sha256, m.method, f"{m.score:.2f}", m.linked_to) for m in s.media],
        )
