"""Who may do what, and which rows a user may see.

Two questions, answered differently on purpose:

- the role: may this kind of user do this action at all? (`require`, PERMISSIONS) — a "no"
  is PermissionDeniedError, which the API answers with 403;
- the agency: is this case, hash set or series the user's to see? Another agency's objects
  are reported exactly like missing ones (NotFoundError, 404), so that nobody learns that a
  case exists elsewhere. Shared hash sets and series are visible to every agency; case media
  and occurrences never are.

A principal of None is the local operator at the command line: full access, as before Cairn
had users.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Select, and_, or_, select, true
from sqlalchemy.orm import Session

from cairn.core.errors import NotFoundError, PermissionDeniedError, UsageError
from cairn.core.types import Role
from cairn.store.identity_models import Agency
from cairn.store.models import Case, Evidence, HashSet, Occurrence
from cairn.store.series_models import Series

if TYPE_CHECKING:
    from cairn.services.identity import Principal

_ALL = frozenset(Role) - {Role.PARTNER}  # a partner instance's account reads cases never
_STAFF = frozenset({Role.ADMIN, Role.EXAMINER})  # work cases: ingest, match, import
_REVIEW = frozenset({Role.ADMIN, Role.EXAMINER, Role.VICTIM_ID})  # look at the material
_OVERSIGHT = frozenset({Role.ADMIN, Role.AUDITOR})

# The one table of who may do what. Auditors read everything except the images themselves
# (thumbnails): reviewing the trail needs no exposure to the material.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "case.read": _ALL,
    "case.create": _STAFF,
    "case.export": _STAFF,
    "evidence.add": _STAFF,
    # Server paths: for who puts exhibits there, and who audits the configuration.
    "evidence.roots": _STAFF | {Role.AUDITOR},
    "ingest.start": _STAFF,
    "ingest.cancel": _STAFF,
    "job.read": _ALL,
    "media.read": _ALL,
    "thumbnail.read": _REVIEW,
    "hashset.read": _ALL,
    "hashset.import": _STAFF,
    "hashset.share": _STAFF,
    "match.run": _STAFF,
    "triage.read": _ALL,
    "messages.read": _ALL,  # the conversations' text and hashes, never their media
    "search.hash": _ALL,
    "grade.read": _ALL,
    "grade.write": _REVIEW,
    "grade.policy": frozenset({Role.ADMIN}),
    "search.similar": _ALL,  # places of similar images, never the images themselves
    "series.read": _ALL,
    # Camera forensics: fingerprints and scores are read by all; making them reads pixels.
    "camera.read": _ALL,
    "camera.write": _STAFF,
    "camera.match": _STAFF,
    "series.write": _REVIEW,
    "series.export": _REVIEW,  # GeoJSON of a series, lead packages for another country
    "user.manage": frozenset({Role.ADMIN}),
    "audit.read": _OVERSIGHT,
    "audit.verify": _OVERSIGHT,
    "alert.read": _ALL,
    "alert.write": _REVIEW,
    # Federation: what a partner instance fetches (signed bundles, filters, notices, hits on
    # its notices), and importing what a partner sent.
    "share.read": _STAFF | {Role.PARTNER},
    "share.import": _STAFF,
}


MAX_ROW_ID = 2**31 - 1  # ids are INTEGER columns: 32-bit on PostgreSQL


def is_row_id(value: int) -> bool:
    """Whether `value` can be a row id at all. A client's 2**63 would overflow SQLite's
    parameter binding (a 500); it must be a 404 like any other missing id."""
    return 0 < value <= MAX_ROW_ID


def allowed(principal: Principal | None, action: str) -> bool:
    if action not in PERMISSIONS:
        raise KeyError(f"unknown action {action!r}")  # a typo must not fail open
    return principal is None or principal.role in PERMISSIONS[action]


def require(principal: Principal | None, action: str) -> None:
    if not allowed(principal, action):
        assert principal is not None
        raise PermissionDeniedError(f"role {principal.role.value} may not {action}")


# Cases ---------------------------------------------------------------------------------------


def visible_case_ids(session: Session, principal: Principal | None) -> Select[int]:
    """The ids of the cases the principal sees, as a subquery for `Column.in_`."""
    query = select(Case.id)
    if principal is not None:
        query = query.where(Case.agency_id == principal.agency_id)
    return query


def agency_media(agency_id: int) -> Select[str | None]:
    """The SHA-256s of the media found in the agency's cases, as a subquery: what a comparison
    between case media may show it (media and occurrences are never shared)."""
    return (
        select(Occurrence.media_sha256)
        .join(Evidence, Evidence.id == Occurrence.evidence_id)
        .join(Case, Case.id == Evidence.case_id)
        .where(Case.agency_id == agency_id)
    )


def case_for(session: Session, principal: Principal | None, ref: str) -> Case:
    """The case `ref` if the principal may see it; otherwise NotFoundError, worded the same
    whether it is missing or another agency's."""
    case = session.scalar(
        select(Case).where(Case.ref == ref, Case.id.in_(visible_case_ids(session, principal)))
    )
    if case is None:
        raise NotFoundError(f"no case {ref!r}")
    return case


def in_namespace(principal: Principal, name: str) -> str:
    """The name an agency's user gives a new case or hash set, in the agency's namespace
    ("NL-NP:2026-17"). Case refs and set names are unique in the store, so without it a name
    refused as taken would tell one agency that another holds a case or set of that name.
    Agency codes have no ':', so two agencies' namespaces never meet."""
    prefix = f"{principal.agency_code}:"
    return name if name.startswith(prefix) else prefix + name


# Hash sets and series --------------------------------------------------------------------------


def usable_by_agency(agency_id: int | None) -> ColumnElement[bool]:
    """Hash sets whose entries may be matched against a case of `agency_id`: its own and the
    shared ones. A local case (None) uses every set of the workspace."""
    if agency_id is None:
        return true()
    return or_(HashSet.agency_id == agency_id, HashSet.shared.is_(True))


def usable_hashset_ids(session: Session, principal: Principal | None) -> Select[int]:
    """Active hash sets the principal may search and see: its agency's and the shared ones."""
    agency_id = None if principal is None else principal.agency_id
    return select(HashSet.id).where(HashSet.removed_at.is_(None), usable_by_agency(agency_id))


def hashset_for(session: Session, principal: Principal | None, hashset_id: int) -> HashSet:
    if not is_row_id(hashset_id):
        raise NotFoundError(f"no hash set {hashset_id}")
    hashset = session.scalar(
        select(HashSet).where(
            HashSet.id == hashset_id, HashSet.id.in_(usable_hashset_ids(session, principal))
        )
    )
    if hashset is None:
        raise NotFoundError(f"no hash set {hashset_id}")
    return hashset


def owned_hashset(session: Session, principal: Principal | None, hashset_id: int) -> HashSet:
    """A set the principal's agency owns (to share or unshare): a shared set of another
    agency is visible but not theirs to change, and answers as not found."""
    hashset = hashset_for(session, principal, hashset_id)
    if principal is not None and hashset.agency_id != principal.agency_id:
        raise NotFoundError(f"no hash set {hashset_id}")
    return hashset


def visible_series(session: Session, principal: Principal | None) -> Select[Series]:
    """Series of the principal's agency and the shared series of others."""
    query = select(Series)
    if principal is not None:
        query = query.where(or_(Series.agency_id == principal.agency_id, Series.shared))
    return query


def series_seen_by(agency_id: int | None) -> ColumnElement[bool]:
    """A live series (not merged away) that the agency sees: its own or a shared one; None is
    the local operator's."""
    own = Series.agency_id.is_(None) if agency_id is None else Series.agency_id == agency_id
    return and_(or_(own, Series.shared.is_(True)), Series.merged_into.is_(None))


# Ownership of new objects ----------------------------------------------------------------------


def owning_agency(session: Session, code: str | None) -> int | None:
    """The agency that a case or hash set created at the command line belongs to: the one
    named, else the workspace's only agency, else none (a local, single-user workspace)."""
    if code is not None:
        agency_id = session.scalar(select(Agency.id).where(Agency.code == code))
        if agency_id is None:
            raise UsageError(f"no agency {code!r} (see `cairn agency list`)")
        return agency_id
    ids = session.scalars(select(Agency.id).limit(2)).all()
    if len(ids) > 1:
        raise UsageError("this workspace has several agencies: choose one with --agency CODE")
    return ids[0] if ids else None
