"""Cases and their evidence items."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cairn.core.errors import NotFoundError, UsageError
from cairn.evidence.registry import by_kind, detect
from cairn.services.access import case_for, visible_case_ids
from cairn.services.context import Context
from cairn.services.evidence_roots import locate
from cairn.store import audit
from cairn.store.models import Case, Evidence, Occurrence

if TYPE_CHECKING:
    from cairn.services.identity import Principal


@dataclass(frozen=True)
class CaseSummary:
    ref: str
    title: str
    created_at: str
    created_by: str
    evidence: int
    occurrences: int


@dataclass(frozen=True)
class EvidenceSummary:
    label: str
    source_kind: str
    source_path: str
    custodian: str | None
    seized_at: str | None
    timezone: str | None
    acquisition_hash: str | None

    @classmethod
    def of(cls, evidence: Evidence) -> EvidenceSummary:
        seized_at = evidence.seized_at.isoformat() if evidence.seized_at else None
        return cls(
            evidence.label,
            evidence.source_kind,
            evidence.source_path,
            evidence.custodian,
            seized_at,
            evidence.timezone,
            evidence.acquisition_hash,
        )


def get_case(session: Session, ref: str) -> Case:
    case = session.scalar(select(Case).where(Case.ref == ref))
    if case is None:
        raise NotFoundError(f"no case {ref!r}")
    return case


# Refs end up in URLs, file names and Content-Disposition headers: no blanks, quotes, slashes
# or control characters; ':' is the agency namespace's separator (access.in_namespace).
CASE_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")


def is_case_ref(ref: str) -> bool:
    return CASE_REF.fullmatch(ref) is not None


def check_case_ref(ref: str) -> None:
    if not is_case_ref(ref):
        raise UsageError(
            f"case reference {ref!r}: up to 200 letters, digits or . _ : - (starting with a "
            "letter or digit)"
        )


def create_case(
    ctx: Context, ref: str, title: str = "", *, agency_id: int | None = None
) -> CaseSummary:
    """A new case, owned by `agency_id` (None: the local operator's workspace)."""
    check_case_ref(ref)
    try:
        with ctx.db.session() as session:
            case = Case(
                ref=ref,
                title=title,
                created_at=datetime.now(UTC),
                created_by=ctx.actor.user,
                agency_id=agency_id,
            )
            session.add(case)
            session.flush()
            audit.record(session, ctx.actor, "case.create", ref, title=title)
            (summary,) = _summaries(session, Case.id == case.id)
    except IntegrityError as exc:
        raise UsageError(f"case {ref!r} already exists") from exc
    return summary


def _summaries(session: Session, where: ColumnElement[bool]) -> list[CaseSummary]:
    evidence_count = (
        select(func.count(Evidence.id)).where(Evidence.case_id == Case.id).scalar_subquery()
    )
    occurrence_count = (
        select(func.count(Occurrence.id))
        .join(Evidence, Evidence.id == Occurrence.evidence_id)
        .where(Evidence.case_id == Case.id)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Case, evidence_count, occurrence_count).where(where).order_by(Case.ref)
    )
    return [
        CaseSummary(c.ref, c.title, c.created_at.isoformat(), c.created_by, n_ev, n_occ)
        for c, n_ev, n_occ in rows
    ]


def list_cases(ctx: Context, principal: Principal | None = None) -> list[CaseSummary]:
    """The cases the principal's agency holds (all of them for the local operator, None)."""
    with ctx.db.session() as session:
        return _summaries(session, Case.id.in_(visible_case_ids(session, principal)))


def read_case(ctx: Context, principal: Principal | None, ref: str) -> CaseSummary:
    """One case the principal may see, audited as a read (NotFoundError otherwise)."""
    with ctx.db.session() as session:
        case = case_for(session, principal, ref)
        (summary,) = _summaries(session, Case.id == case.id)
        audit.record(session, ctx.actor, "case.read", ref)
        return summary


def open_case(ctx: Context, principal: Principal | None, ref: str, view: str) -> None:
    """Check that the principal may see the case and audit the read of one of its views
    (evidence, triage, matches): NotFoundError, as for a missing case, otherwise."""
    with ctx.db.session() as session:
        case_for(session, principal, ref)
        audit.record(session, ctx.actor, "case.read", ref, view=view)


def find_evidence(session: Session, case: Case, label: str) -> Evidence:
    evidence = session.scalar(
        select(Evidence).where(Evidence.case_id == case.id, Evidence.label == label)
    )
    if evidence is None:
        raise NotFoundError(f"no evidence {label!r} in case {case.ref!r}")
    return evidence


def source_path(source: Path, roots: Sequence[Path] | None) -> Path:
    """The path a source is recorded and read at: beneath `roots` when given (the server;
    never resolved, so a symlink is refused rather than followed), else resolved."""
    if roots is not None:
        return locate(roots, str(source))
    resolved = source.expanduser().resolve()
    if not resolved.exists():
        raise UsageError(f"{source}: no such file or folder")
    return resolved


def add_evidence(
    ctx: Context,
    case_ref: str,
    source: Path,
    *,
    label: str | None = None,
    custodian: str | None = None,
    seized_at: datetime | None = None,
    timezone: str | None = None,
    acquisition_hash: str | None = None,
    source_kind: str | None = None,
    roots: Sequence[Path] | None = None,
) -> tuple[EvidenceSummary, bool]:
    """Register a source as an evidence item; the same source again returns the existing one.

    `roots`: the folders the source must lie beneath (the server's evidence roots of the
    caller's agency), checked without following symlinks; None: any path (the command line).
    Returns the evidence and whether it was created now.
    """
    resolved = source_path(source, roots)
    kind = by_kind(source_kind).kind if source_kind else detect(resolved).kind
    name = label or resolved.name
    with ctx.db.session() as session:
        case = get_case(session, case_ref)
        existing = session.scalar(
            select(Evidence).where(
                Evidence.case_id == case.id, Evidence.source_path == str(resolved)
            )
        )
        if existing is not None:
            if label and label != existing.label:
                raise UsageError(
                    f"{resolved} is already evidence {existing.label!r} in case {case_ref!r}"
                )
            return EvidenceSummary.of(existing), False
        clash = session.scalar(
            select(Evidence).where(Evidence.case_id == case.id, Evidence.label == name)
        )
        if clash is not None:
            raise UsageError(
                f"evidence {name!r} already names {clash.source_path}; choose --evidence LABEL"
            )
        source_info = by_kind(kind)(resolved).describe()
        evidence = Evidence(
            case_id=case.id,
            label=name,
            source_path=str(resolved),
            source_kind=kind,
            custodian=custodian,
            # In UTC: the stores keep no offset (SQLite would drop "+14:00" and keep the rest).
            seized_at=seized_at.astimezone(UTC) if seized_at and seized_at.tzinfo else seized_at,
            timezone=timezone,
            acquisition_hash=acquisition_hash,
            source_info=source_info or None,
            added_at=datetime.now(UTC),
            added_by=ctx.actor.user,
        )
        session.add(evidence)
        session.flush()
        audit.record(
            session,
            ctx.actor,
            "evidence.add",
            case_ref,
            label=name,
            source=str(resolved),
            kind=kind,
            custodian=custodian,
            acquisition_hash=acquisition_hash,
        )
        return EvidenceSummary.of(evidence), True


def list_evidence(ctx: Context, case_ref: str) -> list[EvidenceSummary]:
    with ctx.db.session() as session:
        case = get_case(session, case_ref)
        items = session.scalars(
            select(Evidence).where(Evidence.case_id == case.id).order_by(Evidence.id)
        )
        return [EvidenceSummary.of(e) for e in items]
