"""Location clues of a series: what was seen where (a media item's region, or a place a message
gave), and the countries it supports or eliminates, with confidence."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.core.errors import NotFoundError, UsageError
from cairn.services.access import is_row_id, visible_case_ids
from cairn.services.context import Context
from cairn.services.records.common import (
    Change,
    CountryEvidence,
    Kind,
    agency_code,
    choice,
    countries_of,
    country_evidence,
    create_record,
    history,
    now,
    region,
    unknown_fields,
    visible_media,
)
from cairn.store.messaging_models import MsgImport, MsgMessage
from cairn.store.record_models import LocationClue
from cairn.store.series_models import Series

if TYPE_CHECKING:
    from cairn.services.identity import Principal

KINDS = ("object", "text", "socket", "landmark", "vegetation", "scene", "place")
# IEC plug and socket types A to N (the IEC's World Plugs list).
SOCKET_TYPES = tuple("ABCDEFGHIJKLMN")
LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")  # a BCP 47 tag: "nl", "pt-BR"
MAX_LANGUAGE = 35  # the longest tag RFC 5646 asks implementations to accept
CHANGEABLE = ("description", "text", "language", "socket_type", "countries")


@dataclass(frozen=True)
class ClueView:
    id: int
    series: str
    agency: str
    kind: str
    description: str
    text: str | None
    language: str | None
    socket_type: str | None
    sha256: str | None
    region: str | None
    message_id: int | None
    latitude: float | None
    longitude: float | None
    countries: list[CountryEvidence]
    history: list[Change]


def _view(session: Session, row: LocationClue, series: Series, owner: bool) -> ClueView:
    return ClueView(
        row.id,
        series.name,
        agency_code(session, series),
        row.kind,
        row.description,
        row.text,
        row.language,
        row.socket_type,
        row.media_sha256,
        row.region,
        row.message_id if owner else None,  # a row id of the owner's case
        row.latitude,
        row.longitude,
        countries_of(row.countries),
        history(session, "clue", row.id) if owner else [],
    )


def _language(value: str | None) -> str | None:
    if value is not None and not (len(value) <= MAX_LANGUAGE and LANGUAGE.fullmatch(value)):
        raise UsageError(f"language {value!r} is not a BCP 47 tag such as nl or pt-BR")
    return value


def _socket(value: str | None) -> str | None:
    return None if value is None else choice("socket type", value.upper(), SOCKET_TYPES)


def _check(
    session: Session,
    principal: Principal | None,
    row: LocationClue,
    changes: dict[str, Any],
    reason: str | None,
) -> dict[str, Any]:
    unknown_fields(changes, CHANGEABLE)
    checked = dict(changes)
    if "description" in changes and not str(changes["description"]).strip():
        raise UsageError("a clue needs a description")
    if "language" in changes:
        _language(changes["language"])
    if "socket_type" in changes:
        checked["socket_type"] = _socket(changes["socket_type"])
    if "countries" in changes:
        given = countries_of(changes["countries"])
        checked["countries"] = country_evidence(
            [f"{e.country}:{e.confidence}" for e in given if e.stance == "supports"],
            [f"{e.country}:{e.confidence}" for e in given if e.stance == "eliminates"],
        )
        if len(checked["countries"]) != len(given):
            raise UsageError("a country's stance must be supports or eliminates")
    return checked


CLUES: Kind[LocationClue, ClueView] = Kind("clue", LocationClue, _view, _check)


def _location_message(session: Session, principal: Principal | None, message_id: int) -> MsgMessage:
    """A location message of a case the principal sees (`cairn messaging places`)."""
    message = (
        session.scalar(
            select(MsgMessage)
            .join(MsgImport, MsgImport.id == MsgMessage.import_id)
            .where(
                MsgMessage.id == message_id,
                MsgImport.case_id.in_(visible_case_ids(session, principal)),
                MsgMessage.latitude.is_not(None),
            )
        )
        if is_row_id(message_id)
        else None
    )
    if message is None:
        raise NotFoundError(f"no location message {message_id}")
    return message


def add_clue(
    ctx: Context,
    principal: Principal | None,
    series_ref: str,
    *,
    kind: str,
    description: str,
    sha256: str | None = None,
    region_xywh: str | None = None,
    message_id: int | None = None,
    text: str | None = None,
    language: str | None = None,
    socket_type: str | None = None,
    supports: Sequence[str] = (),
    eliminates: Sequence[str] = (),
) -> ClueView:
    """A clue seen in a media item the principal may see (optionally in a region of it), or
    given by a location message; a clue on media the principal cannot see is not found."""
    choice("kind", kind, KINDS)
    if not description.strip():
        raise UsageError("a clue needs a description")
    if sha256 is None and message_id is None:
        raise UsageError("a clue is seen in a media item (--sha256) or a location message")
    if region_xywh is not None and sha256 is None:
        raise UsageError("a region needs the media item it is in (--sha256)")
    if kind == "text" and not text:
        raise UsageError("a text clue needs its --text")
    if kind == "socket" and socket_type is None:
        raise UsageError("a socket clue needs its --socket-type")
    socket = _socket(socket_type)
    countries = country_evidence(supports, eliminates)

    def build(session: Session, series: Series) -> LocationClue:
        media = visible_media(session, principal, sha256) if sha256 is not None else None
        message = (
            _location_message(session, principal, message_id) if message_id is not None else None
        )
        return LocationClue(
            series_id=series.id,
            kind=kind,
            description=description,
            text=text,
            language=_language(language),
            socket_type=socket,
            media_sha256=media.sha256 if media else None,
            region=region(region_xywh, media) if region_xywh is not None else None,
            message_id=message.id if message else None,
            latitude=message.latitude if message else None,
            longitude=message.longitude if message else None,
            countries=countries,
            created_at=now(),
            created_by=ctx.actor.user,
        )

    return create_record(ctx, principal, CLUES, series_ref, build)
