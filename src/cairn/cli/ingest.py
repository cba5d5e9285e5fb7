"""`cairn ingest`: hash and analyse a source into a case, then read its messaging artefacts
and match it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cairn.cli.options import AsJson, CaseRef, Scheduler
from cairn.cli.workspace import chosen, context

if TYPE_CHECKING:  # the store (SQLAlchemy) loads after the prefetch has started the workers
    from cairn.services.context import Context


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
    owner: Annotated[
        str | None,
        typer.Option(help="The phone owner's number (+44…), for its messaging artefacts."),
    ] = None,
    prnu: Annotated[
        bool,
        typer.Option("--prnu", help="Compute sensor-noise residuals now (else on first need)."),
    ] = False,
    scheduler: Scheduler = None,
    json_: AsJson = False,
) -> None:
    """Hash and analyse a source into a case. Rerunning resumes; nothing is added twice."""
    from cairn.services.prefetch import ingest_settings, prefetch_ingest

    options: dict[str, Any] = {"exact_pdq": exact_pdq}
    if max_image_pixels is not None:
        options["max_image_pixels"] = max_image_pixels
    if carve:
        options["carve"] = True
    if prnu:
        options["prnu"] = True
    if max_carved_count is not None:
        options["max_carved_count"] = max_carved_count
    if max_carved_bytes is not None:
        options["max_carved_bytes"] = max_carved_bytes
    settings = ingest_settings(chosen(), **options)
    # Before the store's imports: the workers hash while this process opens the store (a
    # cluster's workers are already running: nothing to gain).
    ahead = None if scheduler else prefetch_ingest(source, source_kind, workers, settings)
    try:
        from cairn.cli.output import IngestProgress
        from cairn.services.ingest import ingest as run_ingest
        from cairn.services.messaging.discovery import owner_key

        owner = owner_key(owner)  # a bad number is a usage error before the long work
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
                scheduler=scheduler,
            )
    finally:
        if ahead is not None:  # closed already when the ingest took it over
            ahead.close()
    from cairn.cli.summary import print_ingest_summary
    from cairn.services.messaging.discovery import import_from_evidence

    # WhatsApp databases and chat exports found in the evidence are read at once.
    imported = import_from_evidence(ctx, case, summary.evidence, owner=owner)
    print_ingest_summary(summary, json_, imported)
    _match_after_ingest(ctx, case, json_, scheduler)
    raise typer.Exit(summary.exit_code)


def _match_after_ingest(ctx: Context, case: str, quiet: bool, scheduler: str | None) -> None:
    """Ingest ends with matching when there is known material to match against, or videos to
    compare with the other videos of the workspace (on the ingest's cluster, if it had one)."""
    from cairn.services.status import matching_due

    if matching_due(ctx, case):
        from cairn.cli.summary import print_match_summary
        from cairn.services.matching import match_case

        summary = match_case(ctx, case, scheduler)
        if not quiet:
            print_match_summary(summary)
