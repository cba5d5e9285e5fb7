"""`cairn match|triage|queue`: a case against the hash sets, its triage buckets and the review
queue."""

from __future__ import annotations

from typing import Annotated

import typer

from cairn.cli.options import AsJson, CaseRef, Scheduler
from cairn.cli.workspace import context


def match(case: CaseRef, json_: AsJson = False, scheduler: Scheduler = None) -> None:
    """Match a case against every active hash set (idempotent)."""
    from cairn.cli.output import print_json
    from cairn.cli.summary import print_match_summary
    from cairn.services.matching import match_case

    summary = match_case(context(), case, scheduler)
    if json_:
        print_json(summary)
    else:
        print_match_summary(summary)


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
