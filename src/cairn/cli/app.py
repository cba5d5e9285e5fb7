"""`cairn`: cases, evidence, ingest, status, export, demo.

Exit codes (DESIGN.md): 0 success, 1 finished with per-file errors, 2 usage or configuration.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cairn.cli.admin import agency_app, audit_app, db_app, token_app, user_app
from cairn.cli.messaging import messaging_app
from cairn.cli.serve import serve
from cairn.cli.verify import evidence_verify
from cairn.core.errors import CairnError

if TYPE_CHECKING:  # the store (SQLAlchemy) loads on first use: every worker imports this module
    from cairn.core.settings import AnalysisSettings
    from cairn.evidence.pool import Prefetch
    from cairn.services.context import Context

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
case_app = typer.Typer(no_args_is_help=True, help="Create and list cases.")
evidence_app = typer.Typer(no_args_is_help=True, help="Register and list evidence items.")
export_app = typer.Typer(no_args_is_help=True, help="Export case data.")
hashset_app = typer.Typer(no_args_is_help=True, help="Import, list and remove hash sets.")
app.add_typer(case_app, name="case")
app.add_typer(hashset_app, name="hashset")
app.add_typer(messaging_app, name="messaging")
evidence_app.command("verify")(evidence_verify)
app.add_typer(evidence_app, name="evidence")
app.add_typer(export_app, name="export")
app.command("serve")(serve)
app.add_typer(agency_app, name="agency")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")

_state: dict[str, Any] = {}

Workspace = Annotated[
    Path | None,
    typer.Option(
        "--workspace", envvar="CAIRN_WORKSPACE", help="Workspace folder (default ./cairn-data)."
    ),
]
CaseRef = Annotated[str, typer.Option("--case", help="Case reference.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
AgencyCode = Annotated[
    str | None,
    typer.Option("--agency", help="The owning agency's code (default: the only one, if any)."),
]


@app.callback()
def main_options(workspace: Workspace = None, verbose: bool = False) -> None:
    _state["workspace"] = workspace
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def context() -> Context:
    from cairn.services.context import Context

    return Context.open(_state.get("workspace"))


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


@app.command()
def ingest(
    source: Path,
    case: CaseRef,
    evidence: Annotated[
        str | None, typer.Option(help="Label of a registered evidence item.")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (0: in-process).")] = None,
    exact_pdq: Annotated[
        bool, typer.Option("--exact-pdq", help="Always decode JPEGs fully for PDQ.")
    ] = False,
    max_image_pixels: Annotated[
        int | None, typer.Option(help="Refuse images above this many pixels.")
    ] = None,
    source_kind: Annotated[
        str | None, typer.Option(help="Override the detected source kind.")
    ] = None,
    carve: Annotated[
        bool, typer.Option("--carve", help="Carve JPEG/PNG/GIF from unallocated space.")
    ] = False,
    max_carved_count: Annotated[
        int | None, typer.Option(help="Carve at most this many items per unallocated run.")
    ] = None,
    max_carved_bytes: Annotated[
        int | None, typer.Option(help="Largest carved item, in bytes.")
    ] = None,
    json_: AsJson = False,
) -> None:
    """Hash and analyse a source into a case. Rerunning resumes; nothing is added twice."""
    from cairn.core.config import Workspace
    from cairn.core.settings import AnalysisSettings
    from cairn.media.thumbnail import load_or_create_key

    workspace = Workspace.resolve(_state.get("workspace"))
    workspace.create()
    options: dict[str, Any] = {
        "exact_pdq": exact_pdq,
        "thumbnail_key": load_or_create_key(workspace.key_file),
    }
    if max_image_pixels is not None:
        options["max_image_pixels"] = max_image_pixels
    if carve:
        options["carve"] = True
    if max_carved_count is not None:
        options["max_carved_count"] = max_carved_count
    if max_carved_bytes is not None:
        options["max_carved_bytes"] = max_carved_bytes
    settings = AnalysisSettings(**options)
    ahead = _prefetch(source, source_kind, workers, settings)  # before the store's imports
    try:
        from cairn.cli.output import IngestProgress
        from cairn.services.ingest import ingest as run_ingest

        ctx = context()
        with IngestProgress() as progress:
            summary = run_ingest(
                ctx,
                case,
                source,
                evidence_label=evidence,
                workers=workers,
                settings=settings,
                progress=progress,
                source_kind=source_kind,
                prefetched=ahead,
            )
    finally:
        if ahead is not None:  # closed already when the ingest took it over
            ahead.close()
    from cairn.cli.summary import print_ingest_summary

    print_ingest_summary(summary, json_)
    _import_messaging(ctx, case, summary.evidence, json_)
    _match_after_ingest(ctx, case, json_)
    raise typer.Exit(summary.exit_code)


def _prefetch(
    source: Path, kind: str | None, workers: int | None, settings: AnalysisSettings
) -> Prefetch | None:
    """Workers start on the source's first files while this process opens the store."""
    from cairn.evidence.pool import default_workers, prefetch
    from cairn.evidence.registry import open_source

    if workers is not None and workers <= 0:  # in-process, or a usage error the ingest reports
        return None
    try:
        src = open_source(source.expanduser().resolve(), kind)
    except (CairnError, OSError):
        return None  # the ingest itself reports it, in its words
    return prefetch(src, default_workers() if workers is None else workers, settings)


def _import_messaging(ctx: Context, case: str, evidence: str, quiet: bool) -> None:
    """WhatsApp databases and chat exports found in the evidence are read at once."""
    from cairn.cli.messaging import print_imports
    from cairn.services.messaging.discovery import import_from_evidence

    imported = import_from_evidence(ctx, case, evidence)
    if imported and not quiet:
        print_imports(imported)


def _match_after_ingest(ctx: Context, case: str, quiet: bool) -> None:
    """Ingest ends with matching when there is known material to match against, or videos to
    compare with the other videos of the workspace."""
    from cairn.services.status import matching_due

    if matching_due(ctx, case):
        from cairn.cli.summary import print_match_summary
        from cairn.services.matching import match_case

        summary = match_case(ctx, case)
        if not quiet:
            print_match_summary(summary)


@app.command()
def status(case: CaseRef, json_: AsJson = False) -> None:
    """Per evidence item: enumerated = hashed + errored + non-regular."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.status import case_status

    items = case_status(context(), case)
    if json_:
        print_json(items)
        return
    print_table(
        f"Status of {case}",
        [
            "evidence",
            "kind",
            "enumerated",
            "hashed",
            "errored",
            "non-regular",
            "with errors",
            "unique media",
            "bytes",
            "last run",
        ],
        [
            (
                s.label,
                s.source_kind,
                s.enumerated,
                s.hashed,
                s.errored,
                s.non_regular,
                s.with_errors,
                s.unique_media,
                f"{s.bytes_hashed:,}",
                s.last_run,
            )
            for s in items
        ],
    )
    for s in items:
        if s.assumed_contiguous:
            typer.echo(
                f"{s.label}: {s.assumed_contiguous} entries read on the guess that a deleted "
                f"file's clusters were contiguous (flag assumed-contiguous): their digests "
                f"are wrong if the file was fragmented"
            )


@export_app.command("hashes")
def export_hashes(
    case: CaseRef,
    format_: Annotated[str, typer.Option("--format", help="csv or dfxml")] = "csv",
    output: Annotated[
        Path, typer.Option("-o", "--output", help="File to write ('-' for stdout).")
    ] = Path("-"),
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
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
) -> None:
    """The case as a VICS 2.0 #Cases document (Media with MediaFiles, categories, series)."""
    from cairn.services.export import export_vics as run_export

    with open(output, "w", encoding="utf-8") as out:
        count = run_export(context(), case, out, str(output.resolve()))
    typer.echo(f"wrote {count} media items to {output}", err=True)


@export_app.command("hashset")
def export_hashset(
    name: Annotated[str, typer.Option("--name", help="Hash set to export.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
) -> None:
    """A hash set as a VICS 2.0 #Media set: hashes and labels only, no paths (for sharing)."""
    from cairn.services.hashsets import export_hashset as run_export

    with open(output, "w", encoding="utf-8") as out:
        count = run_export(context(), name, out)
    typer.echo(f"wrote {count} records to {output}", err=True)


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
    pdq_threshold: Annotated[int, typer.Option(help="PDQ match distance for this set.")] = 31,
    agency: AgencyCode = None,
    share: Annotated[bool, typer.Option(help="Let every agency match against this set.")] = False,
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
    pdq_threshold: Annotated[int, typer.Option(help="Frame match distance.")] = 31,
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


@app.command()
def match(case: CaseRef, json_: AsJson = False) -> None:
    """Match a case against every active hash set (idempotent)."""
    from cairn.cli.output import print_json
    from cairn.cli.summary import print_match_summary
    from cairn.services.matching import match_case

    summary = match_case(context(), case)
    if json_:
        print_json(summary)
    else:
        print_match_summary(summary)


@app.command()
def triage(case: CaseRef, json_: AsJson = False) -> None:
    """Unique media per evidence item and triage bucket; the share needing no human view."""
    from cairn.cli.output import print_json
    from cairn.cli.summary import print_triage
    from cairn.services.triage import triage_report

    report = triage_report(context(), case)
    if json_:
        print_json(report)
    else:
        print_triage(report)


@app.command()
def queue(
    case: CaseRef,
    limit: Annotated[int | None, typer.Option(help="Show at most this many groups.")] = None,
    json_: AsJson = False,
) -> None:
    """The review queue: new items first, largest near-duplicate groups first."""
    from cairn.cli.output import print_json
    from cairn.cli.summary import print_queue
    from cairn.services.triage import review_queue

    groups = review_queue(context(), case, limit)
    if json_:
        print_json([{"lead": g.lead, "duplicates": g.duplicates} for g in groups])
    else:
        print_queue(groups)


@app.command()
def videos(case: CaseRef, json_: AsJson = False) -> None:
    """Video comparisons of the case: known videos and clips found, with both frame shares.

    The offset places the video in the one compared: its second 0 is at that second of it.
    """
    from cairn.cli.output import print_json, print_table
    from cairn.services.video_matching.listing import video_matches

    found = video_matches(context(), case)
    if json_:
        print_json(found)
        return
    print_table(
        f"Videos of {case}",
        [
            "video",
            "verdict",
            "compared with",
            "its frames in",
            "compared frames found",
            "distance",
            "offset",
        ],
        [
            (
                f.paths[0] if f.paths else f.media_sha256,
                f.verdict,
                f.compared,
                f"{f.query_share:.0%}",
                f"{f.compared_share:.0%}",
                f.distance,
                "" if f.offset_seconds is None else f"{f.offset_seconds:+.1f}s",
            )
            for f in found
        ],
    )


@export_app.command("vpdq")
def export_vpdq(
    sha256: Annotated[str, typer.Option("--sha256", help="The video's SHA-256.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
) -> None:
    """One video's vPDQ file (frame hashes only, for sharing)."""
    from cairn.services.video_matching.export import export_vpdq as run_export

    with open(output, "w", encoding="utf-8") as out:
        count = run_export(context(), sha256, out)
    typer.echo(f"wrote {count} frames to {output}", err=True)


@app.command()
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


def main() -> None:
    try:
        app()  # standalone: click reports usage errors itself, with exit code 2
    except CairnError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(exc.exit_code)
