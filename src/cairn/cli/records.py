"""`cairn victim|person|clue|lead|crop ...`, `cairn countries`, `cairn inbox`: the
victim-identification records of a series (docs/records.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cairn.cli.options import AsJson, Output
from cairn.cli.workspace import context

if TYPE_CHECKING:
    from cairn.services.records.common import Kind

SeriesRef = Annotated[str, typer.Option("--series", help="Series name or id.")]
RecordId = Annotated[int, typer.Argument(help="The record's id.")]
Reason = Annotated[
    str | None, typer.Option(help="Why (needed when a status goes back); kept in the history.")
]
Supports = Annotated[
    list[str] | None,
    typer.Option("--supports", help="Country it points to: CC or CC:CONFIDENCE (repeatable)."),
]
Eliminates = Annotated[
    list[str] | None,
    typer.Option("--eliminates", help="Country it rules out: CC or CC:CONFIDENCE (repeatable)."),
]

victim_app = typer.Typer(no_args_is_help=True, help="Victims of a series.")
person_app = typer.Typer(no_args_is_help=True, help="Offenders and suspects of a series.")
clue_app = typer.Typer(no_args_is_help=True, help="Location clues of a series.")
lead_app = typer.Typer(no_args_is_help=True, help="Leads sent to other countries.")
crop_app = typer.Typer(no_args_is_help=True, help="Trace an Object: crops, packages, tips.")


def _show(view: Any, json_: bool) -> None:
    """One record: JSON, or its fields then its history."""
    import dataclasses

    from cairn.cli.output import print_json, print_table

    if json_:
        print_json(view)
        return
    fields = {k: v for k, v in dataclasses.asdict(view).items() if k not in ("history",)}
    print_table(
        f"{type(view).__name__.removesuffix('View').lower()} {view.id}",
        ["field", "value"],
        [(k, v) for k, v in fields.items()],
    )
    changes = getattr(view, "history", [])
    if changes:
        print_table(
            "history",
            ["at", "by", "action", "changes", "reason"],
            [(c.at, c.by, c.action, c.changes, c.reason) for c in changes],
        )


def _record_commands(
    app: typer.Typer, kind: Callable[[], Kind[Any, Any]], columns: Sequence[str]
) -> None:
    """`list --series S` and `show ID`, the same for every kind of record."""

    @app.command("list")
    def list_(series: SeriesRef, json_: AsJson = False) -> None:
        """The series' records, oldest first."""
        from cairn.cli.output import print_json, print_table
        from cairn.services.records.common import list_records

        views = list_records(context(), None, kind(), series)
        if json_:
            print_json(views)
            return
        print_table(f"{series}", columns, [[getattr(v, c) for c in columns] for v in views])

    @app.command("show")
    def show(record: RecordId, json_: AsJson = False) -> None:
        """One record with its history."""
        from cairn.services.records.common import show_record

        _show(show_record(context(), None, kind(), record), json_)


def _update(kind: Kind[Any, Any], record: int, changes: dict[str, Any], reason: str | None) -> None:
    from cairn.services.records.common import update_record

    given = {k: v for k, v in changes.items() if v is not None}
    if not given:
        raise typer.BadParameter("nothing to change: name at least one field")
    view = update_record(context(), None, kind, record, given, reason)
    typer.echo(f"updated {kind.name} {view.id}")


# Victims -------------------------------------------------------------------------------------


def _victims() -> Kind[Any, Any]:
    from cairn.services.records.victims import VICTIMS

    return VICTIMS


_record_commands(victim_app, _victims, ("id", "age_band", "sex", "status", "name"))


@victim_app.command("add")
def victim_add(
    series: SeriesRef,
    age_band: Annotated[
        str, typer.Option(help="0-2, 3-5, 6-9, 10-13, 14-17 or unknown.")
    ] = "unknown",
    sex: Annotated[str, typer.Option(help="female, male or unknown.")] = "unknown",
    status: Annotated[
        str, typer.Option(help="unidentified, identified, safeguarded.")
    ] = "unidentified",
    name: Annotated[str | None, typer.Option(help="Only if the agency holds one.")] = None,
    notes: str = "",
) -> None:
    """Record a victim of the series."""
    from cairn.services.records.victims import add_victim

    view = add_victim(
        context(), None, series, age_band=age_band, sex=sex, status=status, name=name, notes=notes
    )
    typer.echo(f"added victim {view.id} to series {view.series}")


@victim_app.command("update")
def victim_update(
    record: RecordId,
    age_band: Annotated[str | None, typer.Option()] = None,
    sex: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option()] = None,
    name: Annotated[str | None, typer.Option(help="'' removes it.")] = None,
    notes: Annotated[str | None, typer.Option()] = None,
    reason: Reason = None,
) -> None:
    """Change a victim's fields (a status going back needs --reason)."""
    changes = {"age_band": age_band, "sex": sex, "status": status, "name": name, "notes": notes}
    _update(_victims(), record, changes, reason)


# Persons -------------------------------------------------------------------------------------


def _persons() -> Kind[Any, Any]:
    from cairn.services.records.persons import PERSONS

    return PERSONS


_record_commands(person_app, _persons, ("id", "role", "status", "name", "phones", "messaging"))

Phones = Annotated[
    list[str] | None, typer.Option("--phone", help="International number, +CC… (repeatable).")
]
Accounts = Annotated[
    list[str] | None, typer.Option("--account", help="Messaging key or account (repeatable).")
]


@person_app.command("add")
def person_add(
    series: SeriesRef,
    role: Annotated[str, typer.Option(help="producer, distributor or other.")],
    status: Annotated[
        str, typer.Option(help="unidentified, identified, located, arrested.")
    ] = "unidentified",
    name: Annotated[str | None, typer.Option()] = None,
    phone: Phones = None,
    account: Accounts = None,
    notes: str = "",
) -> None:
    """Record an offender or suspect of the series."""
    from cairn.services.records.persons import add_person

    view = add_person(
        context(),
        None,
        series,
        role=role,
        status=status,
        name=name,
        phones=phone or (),
        accounts=account or (),
        notes=notes,
    )
    typer.echo(f"added person {view.id} to series {view.series}")


@person_app.command("update")
def person_update(
    record: RecordId,
    role: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option()] = None,
    name: Annotated[str | None, typer.Option(help="'' removes it.")] = None,
    phone: Phones = None,
    account: Accounts = None,
    notes: Annotated[str | None, typer.Option()] = None,
    reason: Reason = None,
) -> None:
    """Change a person's fields; --phone/--account replace the lists."""
    changes = {
        "role": role,
        "status": status,
        "name": name,
        "phones": phone,
        "accounts": account,
        "notes": notes,
    }
    _update(_persons(), record, changes, reason)


# Clues ---------------------------------------------------------------------------------------


def _clues() -> Kind[Any, Any]:
    from cairn.services.records.clues import CLUES

    return CLUES


_record_commands(clue_app, _clues, ("id", "kind", "description", "sha256", "region", "countries"))


@clue_app.command("add")
def clue_add(
    series: SeriesRef,
    kind: Annotated[
        str, typer.Option(help="object, text, socket, landmark, vegetation, scene or place.")
    ],
    description: Annotated[str, typer.Option(help="What is seen.")],
    sha256: Annotated[str | None, typer.Option(help="The media item it is seen in.")] = None,
    region: Annotated[str | None, typer.Option(help="X,Y,W,H in the item's pixels.")] = None,
    message: Annotated[
        int | None, typer.Option(help="A location message's id (`cairn messaging places`).")
    ] = None,
    text: Annotated[str | None, typer.Option(help="The words of a text or sign.")] = None,
    language: Annotated[str | None, typer.Option(help="Their language (BCP 47).")] = None,
    socket_type: Annotated[str | None, typer.Option(help="IEC plug type, A to N.")] = None,
    supports: Supports = None,
    eliminates: Eliminates = None,
) -> None:
    """Record a location clue; media you may not see is refused as not found."""
    from cairn.services.records.clues import add_clue

    view = add_clue(
        context(),
        None,
        series,
        kind=kind,
        description=description,
        sha256=sha256,
        region_xywh=region,
        message_id=message,
        text=text,
        language=language,
        socket_type=socket_type,
        supports=supports or (),
        eliminates=eliminates or (),
    )
    typer.echo(f"added clue {view.id} to series {view.series}")


@clue_app.command("update")
def clue_update(
    record: RecordId,
    description: Annotated[str | None, typer.Option()] = None,
    text: Annotated[str | None, typer.Option()] = None,
    language: Annotated[str | None, typer.Option()] = None,
    socket_type: Annotated[str | None, typer.Option()] = None,
    supports: Supports = None,
    eliminates: Eliminates = None,
    reason: Reason = None,
) -> None:
    """Change a clue; --supports/--eliminates together replace its countries."""
    from cairn.services.records.common import country_evidence

    countries = (
        country_evidence(supports or (), eliminates or ())
        if supports is not None or eliminates is not None
        else None
    )
    changes = {
        "description": description,
        "text": text,
        "language": language,
        "socket_type": socket_type,
        "countries": countries,
    }
    _update(_clues(), record, changes, reason)


@clue_app.command("countries")
def clue_countries(series: SeriesRef, json_: AsJson = False) -> None:
    """The series' countries ranked by its clues and tips, with the evidence for each."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.records.countries import rank_countries

    ranks = rank_countries(context(), None, series)
    if json_:
        print_json(ranks)
        return
    print_table(
        f"countries of {series}",
        ["country", "score", "support", "elimination", "evidence"],
        [
            (
                r.country,
                f"{r.score:.2f}",
                f"{r.support:.2f}",
                f"{r.elimination:.2f}",
                "; ".join(
                    f"{e.source} {e.id} {e.stance} {e.confidence:g}: {e.description}"
                    for e in r.evidence
                ),
            )
            for r in ranks
        ],
    )


# Leads ---------------------------------------------------------------------------------------


def _leads() -> Kind[Any, Any]:
    from cairn.services.records.leads import LEADS

    return LEADS


_record_commands(lead_app, _leads, ("id", "country", "sent_at", "sent_by", "outcome"))


@lead_app.command("add")
def lead_add(
    series: SeriesRef,
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 code of the receiving country.")],
    sent_at: Annotated[str | None, typer.Option(help="ISO 8601 (default: now).")] = None,
    sent_by: Annotated[str | None, typer.Option(help="Default: you.")] = None,
    outcome: Annotated[
        str, typer.Option(help="pending, acknowledged, no-result, identified, declined.")
    ] = "pending",
    reference: Annotated[str, typer.Option(help="The receiving country's reference.")] = "",
    notes: str = "",
) -> None:
    """Record a lead sent to another country."""
    from cairn.services.records.leads import add_lead

    view = add_lead(
        context(),
        None,
        series,
        country,
        sent_at=sent_at,
        sent_by=sent_by,
        outcome=outcome,
        reference=reference,
        notes=notes,
    )
    typer.echo(f"added lead {view.id} to series {view.series}")


@lead_app.command("update")
def lead_update(
    record: RecordId,
    outcome: Annotated[str | None, typer.Option()] = None,
    reference: Annotated[str | None, typer.Option()] = None,
    notes: Annotated[str | None, typer.Option()] = None,
    reason: Reason = None,
) -> None:
    """Record what came of a lead."""
    _update(_leads(), record, {"outcome": outcome, "reference": reference, "notes": notes}, reason)


# Trace an Object -----------------------------------------------------------------------------


@crop_app.command("make")
def crop_make(
    clue: Annotated[int, typer.Option("--clue", help="The clue whose region to cut.")],
    image: Annotated[Path, typer.Argument(help="The clue's media item (its bytes are checked).")],
) -> None:
    """Cut the clue's region from the media item; a face detector runs if one is installed."""
    from cairn.services.records.trace import crop_object

    view = crop_object(context(), None, clue, image.read_bytes())
    detector = view.detector or "no face detector ran"
    typer.echo(f"crop {view.id}: {view.crop_sha256} ({detector}; faces: {view.faces})")


@crop_app.command("confirm")
def crop_confirm(crop: RecordId) -> None:
    """Confirm, as the specialist, that the crop shows an object and no person."""
    from cairn.services.records.trace import confirm_crop

    view = confirm_crop(context(), None, crop)
    typer.echo(f"crop {view.id} confirmed by {view.confirmed_by}")


@crop_app.command("list")
def crop_list(series: SeriesRef, json_: AsJson = False) -> None:
    """The series' crops and their status."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.records.trace import list_crops

    crops = list_crops(context(), None, series)
    if json_:
        print_json(crops)
        return
    print_table(
        f"crops of {series}",
        ["id", "clue", "status", "detector", "faces", "tips"],
        [(c.id, c.clue, c.status, c.detector or "none ran", c.faces, len(c.tips)) for c in crops],
    )


@crop_app.command("show")
def crop_show(crop: RecordId, json_: AsJson = False) -> None:
    """A crop, its tips and its history."""
    from cairn.services.records.trace import show_crop

    _show(show_crop(context(), None, crop), json_)


@crop_app.command("publish")
def crop_publish(crop: RecordId, output: Output) -> None:
    """The publication package (zip): the confirmed crop and its manifest, nothing else."""
    from cairn.services.records.trace import publication_package

    with open(output, "wb") as out:
        sha256 = publication_package(context(), None, crop, out)
    typer.echo(f"wrote the package of crop {crop} ({sha256}) to {output}", err=True)


@crop_app.command("tip")
def crop_tip(
    crop: RecordId,
    text: Annotated[str, typer.Option(help="What the tip says.")],
    source: Annotated[str, typer.Option(help="Who or where it came from.")] = "",
    supports: Supports = None,
    eliminates: Eliminates = None,
) -> None:
    """Record a tip about a published object and the countries it points to or rules out."""
    from cairn.services.records.trace import add_tip

    view = add_tip(
        context(),
        None,
        crop,
        source=source,
        text=text,
        supports=supports or (),
        eliminates=eliminates or (),
    )
    typer.echo(f"recorded tip {view.id} on crop {crop}")


# Outcome feedback ----------------------------------------------------------------------------


def inbox(
    json_: AsJson = False,
    mark_read: Annotated[bool, typer.Option(help="Mark the entries shown as read.")] = False,
) -> None:
    """Series you worked on that were identified or safeguarded, newest first."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.records.inbox import inbox as entries

    items = entries(context(), None, mark_read=mark_read)
    if json_:
        print_json(items)
        return
    print_table(
        "Inbox",
        ["at", "series", "agency", "outcome", "read"],
        [(i.at, i.series, i.agency, i.outcome, "yes" if i.read else "") for i in items],
    )
