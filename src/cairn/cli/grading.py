"""`cairn grade|grades|grading`: reviewers' categories for a case's media, their votes and
agreement."""

from __future__ import annotations

from typing import Annotated

import typer

from cairn.cli.options import AgencyCode, AsJson, CaseRef
from cairn.cli.workspace import context

grading_app = typer.Typer(no_args_is_help=True, help="Agreement between graders, and its rule.")

Items = Annotated[list[str], typer.Argument(help="SHA-256s or evidence:path items.")]
Stack = Annotated[
    bool, typer.Option("--stack", help="Each item with its near-duplicates in the case.")
]


def grade(
    case: CaseRef,
    items: Items,
    category: Annotated[
        str | None,
        typer.Option(help="scheme:code (vics:1, caid:A, …) or 'ignorable'."),
    ] = None,
    stack: Stack = False,
    retract: Annotated[bool, typer.Option(help="Withdraw your votes on the items.")] = False,
) -> None:
    """Grade media items of a case (one vote each, yours replacing your earlier one)."""
    from cairn.core.errors import UsageError
    from cairn.services import grading

    ctx = context()
    if retract:
        if category is not None:
            raise UsageError("--retract takes no --category")
        count = grading.retract(ctx, None, case, items, stack=stack)
        typer.echo(f"retracted {count} votes")
        return
    if category is None:
        raise UsageError("give --category SCHEME:CODE (or 'ignorable'), or --retract")
    votes = grading.grade(ctx, None, case, category, items, stack=stack)
    typer.echo(f"graded {len(votes)} items {votes[0].category}")


def grades(case: CaseRef, json_: AsJson = False) -> None:
    """Every vote on the case's items: who graded what, when."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.grading import list_grades

    votes = list_grades(context(), None, case)
    if json_:
        print_json(votes)
        return
    print_table(
        f"Grades of {case}",
        ["sha256", "category", "by", "at", "via stack of"],
        [(v.sha256, v.category, v.by, v.at, v.via or "") for v in votes],
    )


@grading_app.command("agreement")
def grading_agreement(case: CaseRef, json_: AsJson = False) -> None:
    """Items graded and settled, the agreement rate, and every disagreement."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.grading import agreement

    found = agreement(context(), None, case)
    if json_:
        print_json(found)
        return
    rate = "-" if found.agreement_rate is None else f"{found.agreement_rate:.0%}"
    typer.echo(
        f"{found.graded} items graded, {found.standing} settled "
        f"({found.votes_required} agreeing votes needed); agreement {rate} "
        f"of {found.voted_twice} items with several votes"
    )
    if found.disagreements:
        print_table(
            "Disagreements",
            ["sha256", "votes"],
            [
                (d.sha256, ", ".join(f"{c} ×{n}" for c, n in d.votes.items()))
                for d in found.disagreements
            ],
        )


@grading_app.command("policy")
def grading_policy(
    votes: Annotated[int, typer.Option(help="Agreeing votes that make a grade stand.")],
    agency: AgencyCode = None,
) -> None:
    """Set the agency's k-of-n rule (UK CAID asks for three agreeing votes)."""
    from cairn.services.grading import set_votes_required

    set_votes_required(context(), None, votes, agency=agency)
    typer.echo(f"grades stand with {votes} agreeing votes")
