"""Grades of a case's media: votes, their retraction, agreement, and the agency's k-of-n rule."""

from __future__ import annotations

from fastapi import APIRouter, status

from cairn.api.deps import Caller, RequestContext
from cairn.api.permissions import V1
from cairn.api.schemas import AgreementOut, GradeIn, GradePolicy, GradeRetract, RetractOut, VoteOut
from cairn.services import grading

router = APIRouter(prefix=V1, tags=["grading"])


def _votes(votes: list[grading.Vote]) -> list[VoteOut]:
    return [VoteOut.model_validate(v, from_attributes=True) for v in votes]


@router.get("/cases/{ref}/grades")
def list_grades(ref: str, ctx: RequestContext, principal: Caller) -> list[VoteOut]:
    """Every standing vote on the case's items, by item, oldest first."""
    return _votes(grading.list_grades(ctx, principal, ref))


@router.post("/cases/{ref}/grades", status_code=status.HTTP_201_CREATED)
def grade(ref: str, body: GradeIn, ctx: RequestContext, principal: Caller) -> list[VoteOut]:
    """Vote a category for items (each with its near-duplicate stack when `stack`); the
    caller's earlier vote on an item is replaced."""
    return _votes(grading.grade(ctx, principal, ref, body.category, body.items, stack=body.stack))


@router.post("/cases/{ref}/grades/retract")
def retract(ref: str, body: GradeRetract, ctx: RequestContext, principal: Caller) -> RetractOut:
    """Withdraw the caller's votes on the items (kept on record as retracted)."""
    return RetractOut(retracted=grading.retract(ctx, principal, ref, body.items, stack=body.stack))


@router.get("/cases/{ref}/grades/agreement")
def agreement(ref: str, ctx: RequestContext, principal: Caller) -> AgreementOut:
    """Items graded and settled, the agreement rate, and every disagreement."""
    return AgreementOut.model_validate(grading.agreement(ctx, principal, ref), from_attributes=True)


@router.put("/grading/policy")
def set_policy(body: GradePolicy, ctx: RequestContext, principal: Caller) -> GradePolicy:
    """The caller's agency's k-of-n rule: agreeing votes needed before a grade stands."""
    grading.set_votes_required(ctx, principal, body.votes_required)
    return body
