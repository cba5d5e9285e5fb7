"""`cairn hashset import|import-vpdq|list|share|remove`: the known material matched against."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cairn.cli.options import AgencyCode, AsJson
from cairn.cli.workspace import context
from cairn.core.thresholds import PDQ_MATCH_DISTANCE

hashset_app = typer.Typer(no_args_is_help=True, help="Import, list and remove hash sets.")


@hashset_app.command("import")
def hashset_import(
    file: Path,
    name: Annotated[str, typer.Option("--name", help="A name for the set.")],
    format_: Annotated[
        str, typer.Option("--format", help="auto, vics, icse-csv, plain or nsrl.")
    ] = "auto",
    kind: Annotated[str, typer.Option(help="illegal, ignorable or alert.")] = "illegal",
    category_scheme: Annotated[
        str | None,
        typer.Option(help="vics, dhs, caid or custom: the numbering of bare category codes."),
    ] = None,
    hash_type: Annotated[str | None, typer.Option(help="pdq: bare 64-hex hashes are PDQ.")] = None,
    pdq_threshold: Annotated[
        int, typer.Option(help="PDQ match distance for this set.")
    ] = PDQ_MATCH_DISTANCE,
    agency: AgencyCode = None,
    share: Annotated[bool, typer.Option(help="Let every agency match against this set.")] = False,
    append: Annotated[
        bool, typer.Option(help="Add the file's entries to the existing set NAME.")
    ] = False,
    json_: AsJson = False,
) -> None:
    """Import a hash set (VICS JSON, ICSE CSV, plain lists, NSRL)."""
    from cairn.cli.output import print_json
    from cairn.cli.summary import print_import_summary
    from cairn.core.errors import UsageError
    from cairn.core.types import CategoryScheme
    from cairn.hashsets.base import ReadOptions
    from cairn.services.hashsets import import_hashset

    if hash_type not in (None, "pdq"):
        raise UsageError("--hash-type takes only pdq")
    try:
        scheme = CategoryScheme(category_scheme) if category_scheme else None
    except ValueError:
        choices = ", ".join(s.value for s in CategoryScheme)
        raise UsageError(f"--category-scheme must be one of {choices}") from None
    options = ReadOptions(category_scheme=scheme, hash_type="pdq" if hash_type else None)
    from cairn.services.identity import owner_for_new

    ctx = context()
    summary = import_hashset(
        ctx,
        file,
        name,
        fmt=format_,
        kind=kind,
        options=options,
        pdq_threshold=pdq_threshold,
        agency_id=owner_for_new(ctx, agency),
        shared=share,
        append=append,
    )
    if json_:
        print_json(summary)
    else:
        print_import_summary(summary)
    raise typer.Exit(1 if summary.bad_records else 0)


@hashset_app.command("import-vpdq")
def hashset_import_vpdq(
    files: Annotated[list[Path], typer.Argument(help="vPDQ files, or folders of them.")],
    name: Annotated[str, typer.Option("--name", help="A name for the set.")],
    kind: Annotated[str, typer.Option(help="illegal, ignorable or alert.")] = "illegal",
    category: Annotated[str | None, typer.Option(help="SCHEME:CODE for every video.")] = None,
    series: Annotated[list[str] | None, typer.Option(help="Series name (repeatable).")] = None,
    pdq_threshold: Annotated[int, typer.Option(help="Frame match distance.")] = PDQ_MATCH_DISTANCE,
    json_: AsJson = False,
) -> None:
    """Import known videos as vPDQ files (frame_number,quality,pdq_hex,timestamp_sec)."""
    from cairn.cli.output import console, print_json
    from cairn.core.errors import UsageError
    from cairn.core.types import Category
    from cairn.services.video_matching.importing import import_vpdq_hashset

    try:
        parsed = Category.parse(category) if category else None
    except ValueError:
        raise UsageError(f"--category must be SCHEME:CODE, not {category!r}") from None
    summary = import_vpdq_hashset(
        context(),
        files,
        name,
        kind=kind,
        category=parsed,
        series=series or (),
        pdq_threshold=pdq_threshold,
    )
    if json_:
        print_json(summary)
    else:
        console.print(
            f"{summary.name} ({summary.kind}): {summary.videos} videos, "
            f"{summary.frames} frames, {summary.bad_records} bad records"
        )
        for error in summary.errors:
            console.print(f"  bad {error}", markup=False)
    raise typer.Exit(1 if summary.bad_records else 0)


@hashset_app.command("list")
def hashset_list(
    json_: AsJson = False,
    removed: Annotated[bool, typer.Option("--removed", help="Include removed sets.")] = False,
) -> None:
    """List hash sets."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.hashsets import list_hashsets

    sets = list_hashsets(context(), include_removed=removed)
    if json_:
        print_json(sets)
        return
    print_table(
        "Hash sets",
        ["name", "kind", "format", "entries", "bad", "PDQ ≤", "sha256", "imported", "shared"],
        [
            (
                h.name,
                h.kind,
                h.format,
                h.entries,
                h.bad_records,
                h.pdq_threshold,
                h.source_sha256[:16] + "…",
                h.imported_at,
                "yes" if h.shared else "no",
            )
            for h in sets
        ],
    )


@hashset_app.command("share")
def hashset_share(
    name: Annotated[str, typer.Argument(help="The set's name.")],
    unshare: Annotated[bool, typer.Option(help="Stop sharing it.")] = False,
) -> None:
    """Share a hash set with every agency (hashes only, never media), or stop sharing it."""
    from cairn.services.hashsets import set_shared

    info = set_shared(context(), None, name, not unshare)
    typer.echo(f"hash set {info.name} is {'shared' if info.shared else 'not shared'}")


@hashset_app.command("remove")
def hashset_remove(name: Annotated[str, typer.Argument(help="The set's name.")]) -> None:
    """Stop matching against a set. Matches it already produced stay on record."""
    from cairn.services.hashsets import remove_hashset

    remove_hashset(context(), name)
    typer.echo(f"removed hash set {name}")
