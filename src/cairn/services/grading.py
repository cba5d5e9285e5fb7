"""Grading: reviewers give media items a category in a scheme (or mark them ignorable).

Every vote is a record (who, when, what); a new vote of one reviewer on one item replaces
that reviewer's earlier vote, and a retracted vote stays on record. One vote may grade a whole
stack: the item and its near-duplicates in the case, as the review queue stacks them. What
the votes settle, and where that counts as known, is services.graded.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cairn.core.errors import UsageError
from cairn.hashsets.base import BadRecord, parse_category
from cairn.services.access import case_for, owning_agency, require
from cairn.services.context import Context
from cairn.services.graded import (
    IGNORABLE,
    as_category,
    case_standing,
    category_text,
    of_agency,
    standing,
    votes_required,
)
from cairn.services.items import resolve_items
from cairn.services.triage import pdq_variants, stack_groups
from cairn.store import audit
from cairn.store.case_media import case_media
from cairn.store.grade_models import Grade, GradePolicy
from cairn.store.models import Case, Media

if TYPE_CHECKING:
    from cairn.services.identity import Principal

MAX_VOTES_REQUIRED = 9


@dataclass(frozen=True)
class Vote:
    sha256: str
    category: str  # "scheme:code", or "ignorable"
    by: str
    at: str  # ISO 8601, UTC
    via: str | None = None  # the stack's lead when the vote graded a whole stack


@dataclass(frozen=True)
class Disagreement:
    sha256: str
    votes: dict[str, int]  # category -> votes for it


@dataclass(frozen=True)
class Agreement:
    case_ref: str
    votes_required: int
    graded: int  # items with at least one vote
    standing: int  # items whose grade stands (enough agreeing votes)
    voted_twice: int  # items with two votes or more
    agreement_rate: float | None  # share of those whose votes all agree (None: no such item)
    disagreements: list[Disagreement]


def parse_grade(text: str) -> tuple[str, str]:
    """(scheme, code) of `scheme:code` or `ignorable`. A bare number has no meaning (VICS 1
    is not DHS 1), and an uncategorised code grades nothing."""
    if text.strip().lower() == IGNORABLE:
        return IGNORABLE, ""
    if ":" not in text:
        raise UsageError(f"category {text!r}: write scheme:code (vics:1, caid:A) or 'ignorable'")
    try:
        category = parse_category(text, None)
    except (BadRecord, UsageError) as exc:
        raise UsageError(f"category {text!r}: {exc}") from None
    if category is None or category.code is None:
        raise UsageError(f"category {text!r} names no code: a grade needs one")
    return category.scheme.value, category.code


def _vote(grade: Grade) -> Vote:
    at = grade.at if grade.at.tzinfo else grade.at.replace(tzinfo=UTC)
    return Vote(
        grade.media_sha256,
        category_text(grade.scheme, grade.code),
        grade.by,
        at.astimezone(UTC).isoformat(),
        grade.via,
    )


def _stacks(session: Session, case: Case, shas: list[str]) -> dict[str, list[str]]:
    """Each named item's stack in the case: itself and its near-duplicates."""
    rows = session.execute(
        select(Media.sha256, Media.pdq, Media.pdq_quality, Media.mime).where(
            Media.sha256.in_(case_media(case.id))
        )
    ).all()
    pdqs = {
        sha: (pdq, quality)
        for sha, pdq, quality, mime in rows
        if mime and mime.startswith(("image/", "video/"))
    }
    groups = stack_groups(pdqs, pdq_variants(session.connection(), sorted(pdqs)))
    group_of = {sha: group for group in groups for sha in group}
    return {sha: group_of.get(sha, [sha]) for sha in shas}


def _targets(session: Session, case: Case, items: Sequence[str], stack: bool) -> dict[str, str]:
    """item SHA-256 -> the named item it was reached through (itself unless stacked)."""
    named = resolve_items(session, case, items)
    if not stack:
        return {sha: sha for sha in named}
    targets: dict[str, str] = {}
    for lead, group in _stacks(session, case, named).items():
        for sha in group:
            targets.setdefault(sha, lead)
    return targets


def _grader(ctx: Context, principal: Principal | None) -> str:
    return ctx.actor.user if principal is None else principal.username


def grade(
    ctx: Context,
    principal: Principal | None,
    case_ref: str,
    category: str,
    items: Sequence[str],
    *,
    stack: bool = False,
) -> list[Vote]:
    """Vote `category` for the items (with their near-duplicate stacks when `stack`)."""
    require(principal, "grade.write")
    scheme, code = parse_grade(category)
    by = _grader(ctx, principal)
    now = datetime.now(UTC)
    with ctx.db.session() as session:
        case = case_for(session, principal, case_ref)
        targets = _targets(session, case, items, stack)
        _retract(session, case, list(targets), by, now)
        grades = [
            Grade(
                case_id=case.id,
                media_sha256=sha,
                scheme=scheme,
                code=code,
                by=by,
                agency_id=case.agency_id,
                at=now,
                via=lead if stack else None,
            )
            for sha, lead in sorted(targets.items())
        ]
        session.add_all(grades)
        session.flush()
        audit.record(
            session,
            ctx.actor,
            "grade",
            case_ref,
            category=category_text(scheme, code),
            items=sorted(targets),
            stack=stack,
        )
        return [_vote(g) for g in grades]


def _retract(session: Session, case: Case, shas: list[str], by: str, now: datetime) -> int:
    result = session.execute(
        update(Grade)
        .where(
            Grade.case_id == case.id,
            Grade.media_sha256.in_(shas),
            Grade.by == by,
            Grade.retracted_at.is_(None),
        )
        .values(retracted_at=now, retracted_by=by)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def retract(
    ctx: Context,
    principal: Principal | None,
    case_ref: str,
    items: Sequence[str],
    *,
    stack: bool = False,
) -> int:
    """Withdraw the acting reviewer's votes on the items (the undo of `grade`); the votes stay
    on record as retracted. Returns how many were withdrawn."""
    require(principal, "grade.write")
    by = _grader(ctx, principal)
    with ctx.db.session() as session:
        case = case_for(session, principal, case_ref)
        shas = sorted(_targets(session, case, items, stack))
        count = _retract(session, case, shas, by, datetime.now(UTC))
        audit.record(session, ctx.actor, "grade.retract", case_ref, items=shas, votes=count)
        return count


def _active(session: Session, case: Case) -> list[Grade]:
    return list(
        session.scalars(
            select(Grade)
            .where(Grade.case_id == case.id, Grade.retracted_at.is_(None))
            .order_by(Grade.media_sha256, Grade.at, Grade.id)
        )
    )


def list_grades(ctx: Context, principal: Principal | None, case_ref: str) -> list[Vote]:
    """Every standing vote of the case, by item, oldest first."""
    require(principal, "grade.read")
    with ctx.db.session() as session:
        case = case_for(session, principal, case_ref)
        votes = [_vote(g) for g in _active(session, case)]
        audit.record(session, ctx.actor, "case.read", case_ref, view="grades")
        return votes


def agreement(ctx: Context, principal: Principal | None, case_ref: str) -> Agreement:
    """How the case's reviewers agree: items graded and settled, the agreement rate among
    items with several votes, and every item whose votes disagree."""
    require(principal, "grade.read")
    with ctx.db.session() as session:
        case = case_for(session, principal, case_ref)
        required = votes_required(session.connection(), case.agency_id)
        votes: dict[str, list[str]] = defaultdict(list)
        for g in _active(session, case):
            votes[g.media_sha256].append(category_text(g.scheme, g.code))
        audit.record(session, ctx.actor, "case.read", case_ref, view="grade agreement")
    several = [sha for sha, v in votes.items() if len(v) > 1]
    agreeing = [sha for sha in several if len(set(votes[sha])) == 1]
    return Agreement(
        case_ref,
        required,
        len(votes),
        sum(1 for v in votes.values() if standing(v, required) is not None),
        len(several),
        len(agreeing) / len(several) if several else None,
        [
            Disagreement(sha, dict(sorted(Counter(v).items())))
            for sha, v in sorted(votes.items())
            if len(set(v)) > 1
        ],
    )


def set_votes_required(
    ctx: Context, principal: Principal | None, votes: int, *, agency: str | None = None
) -> int:
    """The agency's k-of-n rule: how many agreeing votes make a grade stand. A principal sets
    its own agency's; the operator names one (`agency`), or the workspace's only one."""
    require(principal, "grade.policy")
    if not 1 <= votes <= MAX_VOTES_REQUIRED:
        raise UsageError(f"votes required: 1 to {MAX_VOTES_REQUIRED}, not {votes}")
    with ctx.db.session() as session:
        agency_id = principal.agency_id if principal else owning_agency(session, agency)
        policy = session.scalar(
            select(GradePolicy).where(of_agency(GradePolicy.agency_id, agency_id))
        )
        now = datetime.now(UTC)
        if policy is None:
            session.add(
                GradePolicy(
                    agency_id=agency_id,
                    votes_required=votes,
                    set_at=now,
                    set_by=_grader(ctx, principal),
                )
            )
        else:
            policy.votes_required, policy.set_at = votes, now
            policy.set_by = _grader(ctx, principal)
        audit.record(session, ctx.actor, "grade.policy", None, votes_required=votes)
    return votes


def export_grades(ctx: Context, principal: Principal | None, case_ref: str, out: TextIO) -> int:
    """The case's standing grades as a VICS 2.0 #Media set: hashes and categories only, never
    paths (to share, or to import as a hash set elsewhere). Returns the records written."""
    from cairn.hashsets.base import KnownHashRecord
    from cairn.hashsets.vics.writer import write_media_set

    require(principal, "case.export")
    with ctx.db.session() as session:
        case = case_for(session, principal, case_ref)
        graded = case_standing(session.connection(), case.id)
        media = session.scalars(
            select(Media).where(Media.sha256.in_(sorted(graded))).order_by(Media.sha256)
        )
        records = (
            KnownHashRecord(
                md5=m.md5,
                sha1=m.sha1,
                sha256=m.sha256,
                pdq=m.pdq,
                pdq_quality=m.pdq_quality,
                size=m.size,
                category=as_category(graded[m.sha256]),
                mime_type=m.mime,
            )
            for m in media
        )
        written = write_media_set(records, out)
        audit.record(session, ctx.actor, "export.grades", case_ref, records=written.written)
    return written.written
