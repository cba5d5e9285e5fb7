"""End-of-run summaries for people (and JSON for scripts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.markup import escape

from cairn.cli.output import console, print_json

if TYPE_CHECKING:
    from cairn.services.demo import DemoResult
    from cairn.services.hashsets import ImportSummary
    from cairn.services.ingest import IngestSummary
    from cairn.services.matching import MatchSummary
    from cairn.services.messaging.importing import ImportSummary as MessagingImport
    from cairn.services.triage import QueueGroup, TriageReport

MAX_ERRORS_SHOWN = 20


def print_ingest_summary(
    summary: IngestSummary,
    as_json: bool = False,
    messaging: Sequence[MessagingImport] = (),
) -> None:
    """The ingest's figures, and the messaging artefacts it held, as read."""
    counts = summary.counts
    if as_json:
        print_json(
            {
                "case": summary.case_ref,
                "evidence": summary.evidence,
                "run": summary.run_id,
                "skipped_units": summary.skipped_units,
                "counts": counts,
                "seconds": round(summary.seconds, 3),
                "errors": [
                    {"path": e.path, "stage": e.stage, "message": e.message} for e in summary.errors
                ],
                "messaging": [{**vars(s), "exit_code": s.exit_code} for s in messaging],
            }
        )
        return
    mb = counts.get("bytes", 0) / 1e6
    console.print(
        f"[bold]{summary.evidence}[/] in case {summary.case_ref} (run {summary.run_id}): "
        f"{counts.get('enumerated', 0):,} entries this run, {counts.get('hashed', 0):,} hashed "
        f"({mb:,.1f} MB), {counts.get('errored', 0):,} unreadable, "
        f"{counts.get('non_regular', 0):,} non-regular, in {summary.seconds:.1f} s"
    )
    if summary.skipped_units:
        console.print(f"resumed: {summary.skipped_units:,} entries were already stored")
    if summary.errors:
        console.print(f"[yellow]{len(summary.errors):,} recorded errors[/] (this evidence item):")
        for error in summary.errors[:MAX_ERRORS_SHOWN]:
            path = error.path.decode("utf-8", "backslashreplace")
            console.print(f"  {escape(path)}: [red]{error.stage}[/] {escape(error.message)}")
        if len(summary.errors) > MAX_ERRORS_SHOWN:
            console.print(
                f"  … and {len(summary.errors) - MAX_ERRORS_SHOWN:,} more "
                "(cairn export hashes lists them all)"
            )
    if messaging:
        from cairn.cli.messaging import print_imports

        print_imports(list(messaging))


def print_demo(result: DemoResult) -> None:
    console.rule("[bold]Cairn demo")
    console.print(f"Generated a benign synthetic device at {result.device}")
    print_ingest_summary(result.ingest)
    for more in result.more_ingests:
        print_ingest_summary(more)
    print_match_summary(result.matched)
    for line in result.findings:
        console.print(f"• {line}")


def print_import_summary(summary: ImportSummary) -> None:
    console.print(
        f"[bold]{escape(summary.name)}[/] ({summary.format}, {summary.kind}): "
        f"{summary.records:,} records imported, {summary.bad_records:,} bad records, "
        f"in {summary.seconds:.1f} s; file SHA-256 {summary.source_sha256}"
    )
    for error in summary.errors[:MAX_ERRORS_SHOWN]:
        console.print(f"  [red]bad[/] {escape(error)}")
    if summary.bad_records > MAX_ERRORS_SHOWN:
        console.print(f"  … and {summary.bad_records - MAX_ERRORS_SHOWN:,} more")
    if summary.conflicts:
        console.print(
            f"[yellow]{summary.conflicts:,} hashes carry a different category in "
            "another set[/] (both kept):"
        )
        for line in summary.conflict_examples:
            console.print(f"  {escape(line)}")


def print_match_summary(summary: MatchSummary) -> None:
    methods = ", ".join(f"{k} {v:,}" for k, v in sorted(summary.by_method.items())) or "none"
    console.print(
        f"matched {summary.media:,} media of {summary.case_ref} against {summary.hash_sets} "
        f"hash sets: {summary.new_matches:,} new matches ({methods}) in {summary.seconds:.1f} s"
    )


def print_triage(report: TriageReport) -> None:
    from cairn.cli.output import print_table

    print_table(
        f"Triage of {report.case_ref}",
        ["evidence", "bucket", "items"],
        [(r.evidence, r.bucket, r.items) for r in report.rows],
    )
    totals = ", ".join(f"{bucket} {n:,}" for bucket, n in report.totals.items())
    console.print(f"whole case (unique items): {totals}")
    console.print(f"[bold]{report.no_view_share:.1%}[/] of items need no human view")


def print_queue(groups: list[QueueGroup]) -> None:
    if not groups:
        console.print("nothing to review")
        return
    for number, group in enumerate(groups, 1):
        lead = group.lead
        console.print(
            f"{number:>4}. [bold]{lead.triage}[/] {lead.sha256[:16]}… "
            f"({group.size} item{'s' if group.size > 1 else ''}) "
            f"{escape(lead.paths[0])}"
        )
        for path in lead.paths[1:]:
            console.print(f"        also at {escape(path)}")
        for duplicate in group.duplicates:
            console.print(
                f"        ↳ {duplicate.sha256[:16]}… PDQ distance {duplicate.distance} "
                f"{escape(duplicate.paths[0])}"
            )
