"""`cairn messaging …`: WhatsApp and Telegram artefacts → people, groups, media (issues 6, 17)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cairn.cli.options import AsJson, CaseRef, OutputOrStdout
from cairn.cli.workspace import context

if TYPE_CHECKING:
    from cairn.services.messaging.conversation import MessageView
    from cairn.services.messaging.importing import ImportSummary
    from cairn.services.messaging.reports import CaseAnalysis

messaging_app = typer.Typer(no_args_is_help=True, help="Messaging artefacts: import and analyse.")

ISSUES_SHOWN = 20


@messaging_app.command("import")
def import_(
    case: CaseRef,
    evidence: Annotated[str, typer.Option("--evidence", help="The phone's evidence label.")],
    path: Annotated[
        Path | None,
        typer.Argument(
            help="A database, chat export, Telegram export folder, zip or folder; omitted: "
            "search the ingested evidence item for messaging artefacts."
        ),
    ] = None,
    owner: Annotated[
        str | None, typer.Option(help="The phone owner's number (+44…), if known.")
    ] = None,
    format_: Annotated[
        str | None, typer.Option("--format", help="Skip detection: the artefact's format.")
    ] = None,
    json_: AsJson = False,
) -> None:
    """Import WhatsApp databases (Android, iOS), chat exports and Telegram Desktop exports.

    The evidence is never opened for writing: databases are copied with their -wal, -shm and
    -journal files into the workspace and read there; the originals' SHA-256 are recorded.
    """
    from cairn.cli.output import print_json
    from cairn.services.messaging.discovery import import_from_evidence
    from cairn.services.messaging.importing import import_path

    ctx = context()
    if path is None:
        if format_ is not None:
            raise typer.BadParameter("--format needs a PATH")
        summaries = import_from_evidence(ctx, case, evidence, owner=owner)
    else:
        summaries = import_path(ctx, path, case, evidence, owner=owner, format_name=format_)
    if json_:
        print_json([{**vars(s), "exit_code": s.exit_code} for s in summaries])
    else:
        print_imports(summaries)
    raise typer.Exit(max((s.exit_code for s in summaries), default=0))


def print_imports(summaries: list[ImportSummary]) -> None:
    from rich.markup import escape

    from cairn.cli.output import console

    if not summaries:
        console.print("no messaging artefacts found")
    for s in summaries:
        if s.status == "already-imported":
            console.print(
                f"[bold]{escape(s.path)}[/] ({s.format}): already imported (the same file, "
                "by SHA-256): nothing added"
            )
            continue
        counts = ", ".join(f"{k} {v:,}" for k, v in sorted(s.counts.items())) or "nothing read"
        console.print(
            f"[bold]{escape(s.path)}[/] ({s.format or 'unrecognised'}) → "
            f"{s.status}: {counts} in {s.seconds:.1f} s"
        )
        if s.owner:
            console.print(f"  phone owner: {escape(s.owner)}")
        for original in s.originals:
            console.print(
                f"  original {escape(original['name'])}: {original['size']:,} bytes, "
                f"SHA-256 {original['sha256']}"
            )
        if s.recovery:
            console.print(f"  deleted records: {escape(s.recovery)}")
        for line in s.unavailable:
            console.print(f"  [yellow]{escape(line)}[/]")
        shown = [i for i in s.issues if not i.startswith(("warning unavailable", "info"))]
        for issue in shown[:ISSUES_SHOWN]:
            console.print(f"  {escape(issue)}")
        if len(shown) > ISSUES_SHOWN:
            console.print(
                f"  … {len(shown) - ISSUES_SHOWN} more (--json lists the first 100; all are stored)"
            )


def _table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    from cairn.cli.output import print_table  # shows seized text literally, never as markup

    print_table(title, columns, [list(r) for r in rows])


def _analysis(case: str) -> CaseAnalysis:
    from cairn.services.messaging.reports import analyse_case

    return analyse_case(context(), case)


@messaging_app.command("people")
def people(case: CaseRef, json_: AsJson = False) -> None:
    """People: numbers, phones owned, groups, producer and distributor ranks with evidence."""
    from rich.markup import escape

    from cairn.cli.output import console, print_json
    from cairn.messaging.base import plural

    analysis = _analysis(case)
    if json_:
        print_json(
            {
                "owners": analysis.owners,
                "clocks": analysis.clocks,
                "producers": analysis.producers,
                "distributors": analysis.distributors,
                "people": analysis.people,
            }
        )
        return
    _table(
        f"People of {case}",
        [
            "person",
            "names",
            "phones owned",
            "groups",
            "media sent",
            "first posted",
            "forwarded",
            "producer",
            "distributor",
        ],
        [
            (
                p.shown,
                ", ".join(p.names),
                "\n".join(p.phones_owned),
                "\n".join(p.groups),
                p.media_sent,
                len(p.first_posted),
                len(p.forwarded),
                p.producer,
                p.distributor,
            )
            for p in analysis.people
        ],
    )
    for title, scores in (
        ("Producer candidates", analysis.producers),
        ("Distributors", analysis.distributors),
    ):
        console.print(f"[bold]{title}[/]")
        for score in scores:
            console.print(
                f"  #{score.rank} {escape(score.person)}: {plural(score.points, 'point')}"
            )
            for line in score.evidence:
                console.print(f"      {escape(line)}")
    console.print("[bold]Clocks[/]")
    for clock in analysis.clocks:
        console.print(f"  {escape(clock.describe())}")


@messaging_app.command("groups")
def groups(case: CaseRef, json_: AsJson = False) -> None:
    """Groups: creator, members and admins, invite-link joins, membership events."""
    from cairn.cli.output import print_json

    analysis = _analysis(case)
    if json_:
        print_json(analysis.groups)
        return
    _table(
        f"Groups of {case}",
        [
            "group",
            "creator",
            "created",
            "seen on",
            "members",
            "invite-link joins",
            "events",
            "messages",
            "notices",
            "media",
        ],
        [
            (
                g.name or g.key,
                g.creator,
                g.created_at,
                ", ".join(g.seen_on),
                "\n".join(g.members),
                "\n".join(g.invite_link_joins),
                "\n".join(g.events),
                g.messages,
                g.notices,
                g.media_items,
            )
            for g in analysis.groups
        ],
    )


@messaging_app.command("media")
def media(case: CaseRef, json_: AsJson = False) -> None:
    """Media: first poster (clock-corrected), later sharings, forwards, files, hash sets."""
    from cairn.cli.output import print_json

    analysis = _analysis(case)
    if json_:
        print_json(analysis.media)
        return
    _table(
        f"Media shared in {case}",
        ["sha256", "first posting", "later", "forwards", "files", "hash sets", "thumbnail"],
        [
            (
                m.sha256[:16] + "…",
                m.claim,
                "\n".join(f"{s.sender} in {s.chat!r} at {s.at}" for s in m.later),
                m.forwards,
                "\n".join(m.files) or "gone",
                "\n".join(m.hash_sets),
                "yes" if m.thumbnail else "",
            )
            for m in analysis.media
        ],
    )


@messaging_app.command("messages")
def messages(
    case: CaseRef,
    chat: Annotated[
        str | None, typer.Option(help="One chat: a group key (group:…) or a person's number.")
    ] = None,
    person: Annotated[
        str | None,
        typer.Option(help="A person's number: their one-to-one chats and what they sent."),
    ] = None,
    group: Annotated[str | None, typer.Option(help="A group, by name.")] = None,
    around: Annotated[
        str | None,
        typer.Option(help="A message id or media SHA-256: its chat, --context either side."),
    ] = None,
    context_: Annotated[
        int, typer.Option("--context", help="Messages either side of --around.")
    ] = 10,
    json_: AsJson = False,
) -> None:
    """Read the conversations: each phone's copy, deleted-but-recovered messages marked."""
    from cairn.cli.output import print_json
    from cairn.services.messaging.conversation import conversation

    views = conversation(
        context(),
        case,
        chat=chat,
        person=person,
        group=group,
        around=around,
        context=context_,
    )
    if json_:
        print_json(views)
        return
    _table(
        f"Messages of {case}",
        ["id", "phone", "chat", "time (phone's clock)", "sender", "kind", "text / media", "notes"],
        [
            (
                v.id,
                v.device,
                v.chat_name,
                v.at or "",
                v.sender,
                v.kind,
                "\n".join(x for x in (v.text, v.media_path) if x),
                ", ".join(_notes(v)),
            )
            for v in views
        ],
    )


def _notes(view: MessageView) -> list[str]:
    notes = []
    if view.forwarded:
        score = f", score {view.forward_score}" if view.forward_score else ""
        notes.append(f"forwarded{score}")
    if view.media_sha256:
        notes.append(f"SHA-256 {view.media_sha256[:16]}…")
    if view.recovered:
        notes.append(f"DELETED, recovered ({view.recovered})")
    return notes


@messaging_app.command("places")
def places(case: CaseRef, json_: AsJson = False) -> None:
    """Places: location messages (where, when, who) and the GPS of the case's media."""
    from cairn.cli.output import print_json
    from cairn.services.messaging.places import case_places

    found = list(case_places(context(), case))
    if json_:
        print_json(found)
        return
    _table(
        f"Places of {case}",
        ["source", "latitude", "longitude", "time", "who", "phone", "chat", "name", "item"],
        [
            (
                p.source,
                f"{p.latitude:.6f}",
                f"{p.longitude:.6f}",
                p.at or "",
                p.who or "",
                p.device,
                p.chat or "",
                p.name or "",
                f"message {p.message_id}" if p.message_id else f"{(p.sha256 or '')[:16]}…",
            )
            for p in found
        ],
    )


@messaging_app.command("graph")
def graph(
    case: CaseRef,
    format_: Annotated[str, typer.Option("--format", help="graphml, gexf or json")] = "graphml",
    output: OutputOrStdout = Path("-"),
) -> None:
    """The person–group–media graph with centrality and communities (Gephi, Neo4j)."""
    from cairn.core.errors import UsageError
    from cairn.messaging.graph import FORMATS, write
    from cairn.services.messaging.graph import case_graph

    if format_ not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
    built = case_graph(_analysis(case))
    if str(output) == "-":
        write(built, format_, sys.stdout)
        return
    with open(output, "w", encoding="utf-8") as out:
        write(built, format_, out)
    typer.echo(
        f"wrote {built.number_of_nodes()} nodes and {built.number_of_edges()} edges to {output}",
        err=True,
    )
