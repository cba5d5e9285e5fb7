"""Reading the conversations themselves: `cairn messaging messages` and its API route.

Each phone's copy of a chat is shown as that phone holds it (times on its own clock, its own
deleted-but-recovered rows marked): a conversation view is what one device recorded, and two
phones disagreeing is itself evidence. Messages are ordered by phone, chat, then time.

Filters (at most one): one chat (`group:…` or a person's key for a one-to-one chat), a person (their
one-to-one chats and everything they sent, also as a phone's owner), or a group by name; and
`around` an item (a stored message id or a media SHA-256, the first posting among the
filtered messages): that message's chat on its phone, `context` messages either side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from cairn.core.errors import NotFoundError, UsageError
from cairn.messaging import jids
from cairn.messaging.analysis import iso
from cairn.services.access import is_row_id
from cairn.services.cases import get_case
from cairn.services.context import Context
from cairn.services.messaging.case_rows import CaseRows, utc
from cairn.store.messaging_models import MsgImport, MsgMessage
from cairn.store.models import Evidence

CONTEXT = 10  # messages either side of `around`
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class MessageView:
    id: int  # the stored message: an ITEM for `around`
    device: str  # evidence label of the phone holding this copy
    chat: str  # group key, or the other party's key in a one-to-one chat
    chat_name: str
    at: str | None  # as the phone recorded it, ISO 8601 UTC
    sender: str  # number, else name, else key; the phone's owner for its own messages
    from_me: bool
    kind: str
    text: str | None
    forwarded: bool | None
    forward_score: int | None
    media_sha256: str | None
    media_path: str | None
    media_mime: str | None
    deleted: bool  # deleted on the phone, recovered (see `recovered`)
    recovered: str | None  # how the deleted record came back


def conversation(
    ctx: Context,
    case_ref: str,
    *,
    chat: str | None = None,
    person: str | None = None,
    group: str | None = None,
    around: str | None = None,
    context: int = CONTEXT,
) -> list[MessageView]:
    """The case's messages, filtered; UsageError for conflicting filters, NotFoundError for
    a chat, person, group or item the case does not hold."""
    if sum(x is not None for x in (chat, person, group)) > 1:
        raise UsageError("give at most one of --chat, --person and --group")
    if context < 0:
        raise UsageError("the context must be 0 or more messages")
    with ctx.db.engine.connect() as connection, Session(bind=connection) as session:
        case = CaseRows(connection, session, get_case(session, case_ref))
        where: list[ColumnElement[bool]] = [MsgMessage.import_id.in_(list(case.imports) or [-1])]
        if chat is not None:
            where.append(_chat(case, chat))
        elif person is not None:
            where.append(_person(case, person))
        elif group is not None:
            where.append(_group(case, group))
        if around is not None:  # the filters find the item; its chat is shown whole
            where = [_around(session, around, context, where)]
        rows = session.execute(
            select(MsgMessage, Evidence.label)
            .join(MsgImport, MsgImport.id == MsgMessage.import_id)
            .join(Evidence, Evidence.id == MsgImport.evidence_id)
            .where(*where)
            .order_by(
                Evidence.label,
                MsgMessage.import_id,
                MsgMessage.group_id,
                MsgMessage.peer_account_id,
                MsgMessage.at,
                MsgMessage.source_row,
            )
        )
        return [_view(case, device, m) for m, device in rows]


def _accounts(case: CaseRows, key: str) -> list[int]:
    return [a.id for a in case.accounts.values() if a.key == key]


def _key(text: str) -> str:
    """A person as typed: a number in any spelling, else a stored key (`lid:…`, `name:…`)."""
    if text.lstrip("+").replace(" ", "").isdigit():
        phone = jids.e164(text)
        if phone is None:
            raise UsageError(f"{text!r} is not an international phone number")
        return phone
    return text


def _chat(case: CaseRows, chat: str) -> ColumnElement[bool]:
    groups = [g.id for g in case.groups.values() if g.key == chat]
    if groups:
        return MsgMessage.group_id.in_(groups)
    peers = _accounts(case, _key(chat))
    if not peers:
        raise NotFoundError(f"no chat {chat!r} in the case")
    return and_(MsgMessage.group_id.is_(None), MsgMessage.peer_account_id.in_(peers))


def _person(case: CaseRows, person: str) -> ColumnElement[bool]:
    key = _key(person)
    ids = _accounts(case, key)
    owned = [i for i, (device, _o) in case.imports.items() if case.owners.get(device) == key]
    if not ids and not owned:
        raise NotFoundError(f"no person {person!r} in the case")
    return or_(
        and_(MsgMessage.group_id.is_(None), MsgMessage.peer_account_id.in_(ids)),
        MsgMessage.sender_account_id.in_(ids),
        and_(MsgMessage.from_me, MsgMessage.import_id.in_(owned)) if owned else false(),
    )


def _group(case: CaseRows, name: str) -> ColumnElement[bool]:
    wanted = name.casefold()
    groups = [
        g.id
        for g in case.groups.values()
        if g.key == name or (g.name is not None and g.name.casefold() == wanted)
    ]
    if not groups:
        raise NotFoundError(f"no group named {name!r} in the case")
    return MsgMessage.group_id.in_(groups)


def _around(
    session: Session, item: str, context: int, where: list[ColumnElement[bool]]
) -> ColumnElement[bool]:
    """The messages of the item's chat on its phone, `context` either side of it."""
    if item.isdigit():
        if not is_row_id(int(item)):  # beyond what an id can be: absent, not an overflow
            raise NotFoundError(f"no message {item!r} among the messages asked for")
        found = select(MsgMessage).where(*where, MsgMessage.id == int(item))
    elif _SHA256.match(item):
        found = (
            select(MsgMessage)
            .where(*where, MsgMessage.media_sha256 == item.lower())
            .order_by(MsgMessage.at, MsgMessage.id)
            .limit(1)
        )
    else:
        raise UsageError(f"--around {item!r}: give a message id or a media SHA-256")
    target = session.scalars(found).first()
    if target is None:
        raise NotFoundError(f"no message {item!r} among the messages asked for")
    ids = list(
        session.scalars(
            select(MsgMessage.id)
            .where(
                MsgMessage.import_id == target.import_id,
                MsgMessage.group_id.is_(None)
                if target.group_id is None
                else MsgMessage.group_id == target.group_id,
                MsgMessage.peer_account_id.is_(None)
                if target.peer_account_id is None
                else MsgMessage.peer_account_id == target.peer_account_id,
            )
            .order_by(MsgMessage.at, MsgMessage.source_row)
        )
    )
    position = ids.index(target.id)
    return MsgMessage.id.in_(ids[max(0, position - context) : position + context + 1])


def _view(case: CaseRows, device: str, m: MsgMessage) -> MessageView:
    if m.group_id is not None:
        group = case.groups[m.group_id]
        chat, chat_name = group.key, group.name or group.key
    else:
        peer = case.person(device, False, m.peer_account_id)
        chat = peer or "unknown"
        chat_name = f"{case.shown(peer)} with {device}"
    return MessageView(
        m.id,
        device,
        chat,
        chat_name,
        iso(utc(m.at)) if m.at is not None else None,
        case.shown(case.person(device, m.from_me, m.sender_account_id)),
        m.from_me,
        m.kind,
        m.text,
        m.forwarded,
        m.forward_score,
        m.media_sha256,
        m.media_path,
        m.media_mime,
        m.recovered is not None,
        m.recovered,
    )
