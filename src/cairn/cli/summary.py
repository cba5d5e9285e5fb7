"""End-of-run summaries for people (and JSON for scripts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape

from cairn.cli.output import console, print_json

if TYPE_CHECKING:
    from cairn.services.demo import DemoResult
    from cairn.services.ingest import IngestSummary

MAX_ERRORS_SHOWN = 20


def print_ingest_summary(summary: IngestSummary, as_json: bool = False) -> None:
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


def print_demo(result: DemoResult) -> None:
    console.rule("[bold]Cairn demo")
    console.print(f"Generated a benign synthetic device at {result.device}")
    print_ingest_summary(result.ingest)
    for line in result.findings:
        console.print(f"• {line}")
