"""A case's conversations as its phones hold them (audited, like every read of a case view)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from cairn.api.deps import Caller, RequestContext
from cairn.api.permissions import V1
from cairn.api.schemas import MessageOut
from cairn.services import cases
from cairn.services.messaging.conversation import CONTEXT, conversation

router = APIRouter(prefix=f"{V1}/cases/{{ref}}", tags=["messaging"])


@router.get("/messages")
def case_messages(
    ref: str,
    ctx: RequestContext,
    principal: Caller,
    chat: str | None = Query(None, description="A group key (group:…) or a person's number."),
    person: str | None = Query(None, description="Their one-to-one chats and what they sent."),
    group: str | None = Query(None, description="A group, by name."),
    around: str | None = Query(
        None, description="A message id or media SHA-256: its chat, `context` either side."
    ),
    context: int = Query(CONTEXT, ge=0, le=1000, description="Messages either side of around."),
) -> list[MessageOut]:
    """Each phone's copy of its chats, by phone, chat and time; deleted-but-recovered
    messages are marked. At most one of chat, person and group."""
    cases.open_case(ctx, principal, ref, "messages")
    views = conversation(
        ctx, ref, chat=chat, person=person, group=group, around=around, context=context
    )
    return [MessageOut.model_validate(v, from_attributes=True) for v in views]
