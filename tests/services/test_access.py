"""Roles and agency scoping: what each role may do, and which rows each agency sees."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from cairn.core.errors import NotFoundError, PermissionDeniedError, UsageError
from cairn.core.types import Role
from cairn.hashing.digests import digest_bytes
from cairn.services.access import (
    PERMISSIONS,
    allowed,
    case_for,
    hashset_for,
    owned_hashset,
    owning_agency,
    require,
    usable_hashset_ids,
    visible_case_ids,
    visible_series,
)
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.hashsets import import_hashset, list_hashsets, remove_hashset, set_shared
from cairn.services.identity import Principal, create_agency
from cairn.services.matching import match_case
from cairn.services.triage import case_matches
from cairn.store.identity_models import Agency
from cairn.store.models import Case
from cairn.store.series_models import Series

READS = {
    "case.read",
    "job.read",
    "media.read",
    "hashset.read",
    "triage.read",
    "messages.read",
    "search.hash",
    "series.read",
    "audit.read",
    "audit.verify",
    "grade.read",
    "search.similar",
    "camera.read",
    "alert.read",
}


def test_the_permission_table_gives_each_role_its_actions() -> None:
    def actions(role: Role) -> set[str]:
        return {a for a, roles in PERMISSIONS.items() if role in roles}

    assert actions(Role.ADMIN) == set(PERMISSIONS)
    # Read-only, and no images; the server's evidence roots, to audit the configuration.
    assert actions(Role.AUDITOR) == READS | {"evidence.roots"}
    assert actions(Role.VICTIM_ID) == (READS - {"audit.read", "audit.verify"}) | {
        "thumbnail.read",
        "series.write",
        "series.export",
        "grade.write",
        "alert.write",
    }
    # Grading policy (k of n votes) is the agency administrator's.
    assert actions(Role.EXAMINER) == set(PERMISSIONS) - {
        "user.manage",
        "grade.policy",
        "audit.read",
        "audit.verify",
    }


def _principal(role: Role, agency_id: int = 1, code: str = "NL-NP") -> Principal:
    return Principal(7, "someone", agency_id, code, role)


def test_require_denies_by_role_and_fails_closed_on_unknown_actions() -> None:
    require(_principal(Role.EXAMINER), "ingest.start")
    require(None, "user.manage")  # the local operator
    with pytest.raises(PermissionDeniedError, match=r"role auditor may not ingest\.start"):
        require(_principal(Role.AUDITOR), "ingest.start")
    with pytest.raises(KeyError):
        allowed(_principal(Role.ADMIN), "case.delete")


def _agencies(ctx: Context) -> tuple[Principal, Principal]:
    create_agency(ctx, "NL-NP", "Politie", "NL")
    create_agency(ctx, "BE-FP", "Federale Politie", "BE")
    with ctx.db.session() as session:
        nl, be = (
            session.scalar(select(Agency.id).where(Agency.code == c)) for c in ("NL-NP", "BE-FP")
        )
    assert nl is not None and be is not None
    return _principal(Role.EXAMINER, nl, "NL-NP"), _principal(Role.EXAMINER, be, "BE-FP")


def test_another_agencys_case_is_reported_exactly_like_a_missing_one(db_ctx: Context) -> None:
    nl, be = _agencies(db_ctx)
    create_case(db_ctx, "NL-1", agency_id=nl.agency_id)
    create_case(db_ctx, "BE-1", agency_id=be.agency_id)
    with db_ctx.db.session() as session:
        assert case_for(session, nl, "NL-1").ref == "NL-1"
        assert case_for(session, None, "BE-1").ref == "BE-1"  # the local operator sees all
        messages = []
        for ref in ("BE-1", "NOPE-1"):
            with pytest.raises(NotFoundError) as caught:
                case_for(session, nl, ref)
            messages.append(str(caught.value).replace(ref, "REF"))
        assert messages[0] == messages[1] == "no case 'REF'"
        visible = session.scalars(
            select(Case.ref).where(Case.id.in_(visible_case_ids(session, be)))
        )
        assert list(visible) == ["BE-1"]


def _plain_set(tmp_path: Path, name: str, *contents: bytes) -> Path:
    path = tmp_path / f"{name}.txt"
    path.write_text("".join(digest_bytes(c).sha256 + "\n" for c in contents))
    return path


def test_hash_sets_are_usable_by_their_agency_and_by_all_once_shared(
    db_ctx: Context, tmp_path: Path
) -> None:
    nl, be = _agencies(db_ctx)
    import_hashset(db_ctx, _plain_set(tmp_path, "nl", b"1"), "nl-private", agency_id=nl.agency_id)
    import_hashset(
        db_ctx, _plain_set(tmp_path, "be", b"2"), "be-shared", agency_id=be.agency_id, shared=True
    )
    import_hashset(db_ctx, _plain_set(tmp_path, "be2", b"3"), "be-private", agency_id=be.agency_id)
    import_hashset(db_ctx, _plain_set(tmp_path, "gone", b"4"), "nl-gone", agency_id=nl.agency_id)
    remove_hashset(db_ctx, "nl-gone")
    assert [h.name for h in list_hashsets(db_ctx, principal=nl)] == ["nl-private", "be-shared"]
    assert [h.name for h in list_hashsets(db_ctx, principal=be)] == ["be-shared", "be-private"]
    infos = {h.name: h for h in list_hashsets(db_ctx)}
    with db_ctx.db.session() as session:
        assert hashset_for(session, nl, infos["be-shared"].id).name == "be-shared"
        with pytest.raises(NotFoundError, match=f"no hash set {infos['be-private'].id}"):
            hashset_for(session, nl, infos["be-private"].id)
        with pytest.raises(NotFoundError):  # visible, but not nl's to share or unshare
            owned_hashset(session, nl, infos["be-shared"].id)
        assert len(session.scalars(usable_hashset_ids(session, None)).all()) == 3
    with pytest.raises(NotFoundError):
        set_shared(db_ctx, nl, infos["be-private"].id, True)
    assert set_shared(db_ctx, nl, "nl-private", True).shared
    assert [h.name for h in list_hashsets(db_ctx, principal=be)] == [
        "nl-private",
        "be-shared",
        "be-private",
    ]


def test_matching_uses_only_the_cases_agency_sets_and_shared_ones(
    db_ctx: Context, tmp_path: Path
) -> None:
    from cairn.services.ingest import ingest

    nl, be = _agencies(db_ctx)
    device = tmp_path / "device"
    device.mkdir()
    files = {"own.txt": b"nl knows me\n", "shared.txt": b"all know me\n", "be.txt": b"be only\n"}
    for name, data in files.items():
        (device / name).write_bytes(data)
    import_hashset(
        db_ctx, _plain_set(tmp_path, "a", files["own.txt"]), "nl", agency_id=nl.agency_id
    )
    import_hashset(
        db_ctx,
        _plain_set(tmp_path, "b", files["shared.txt"]),
        "be-shared",
        agency_id=be.agency_id,
        shared=True,
    )
    import_hashset(
        db_ctx, _plain_set(tmp_path, "c", files["be.txt"]), "be-private", agency_id=be.agency_id
    )
    create_case(db_ctx, "NL-1", agency_id=nl.agency_id)
    create_case(db_ctx, "BE-1", agency_id=be.agency_id)
    ingest(db_ctx, "NL-1", device, workers=0)
    ingest(db_ctx, "BE-1", device, workers=0)  # the same media in both agencies' cases
    assert match_case(db_ctx, "BE-1").hash_sets == 2
    assert match_case(db_ctx, "NL-1").hash_sets == 2
    sha = {digest_bytes(data).sha256: name for name, data in files.items()}
    nl_hits = {sha[m.media_sha256]: m.hashset for m in case_matches(db_ctx, "NL-1")}
    be_hits = {sha[m.media_sha256]: m.hashset for m in case_matches(db_ctx, "BE-1")}
    # BE's private set matched be.txt in BE's case; NL's triage must not show that match.
    assert nl_hits == {"own.txt": "nl", "shared.txt": "be-shared"}
    assert be_hits == {"shared.txt": "be-shared", "be.txt": "be-private"}


def test_series_are_visible_to_their_agency_and_to_all_once_shared(db_ctx: Context) -> None:
    from datetime import UTC, datetime

    nl, be = _agencies(db_ctx)
    with db_ctx.db.session() as session:
        for agency, name, shared in ((nl, "tulip", False), (be, "iris", True), (be, "fern", False)):
            session.add(
                Series(
                    agency_id=agency.agency_id,
                    name=name,
                    shared=shared,
                    created_at=datetime.now(UTC),
                    created_by="test",
                )
            )
    with db_ctx.db.session() as session:

        def names(principal: Principal | None) -> list[str]:
            return sorted(s.name for s in session.scalars(visible_series(session, principal)))

        assert names(nl) == ["iris", "tulip"]
        assert names(be) == ["fern", "iris"]
        assert names(None) == ["fern", "iris", "tulip"]


def test_the_owner_of_new_objects_is_the_named_the_only_or_no_agency(ctx: Context) -> None:
    with ctx.db.session() as session:
        assert owning_agency(session, None) is None  # a local workspace
    create_agency(ctx, "NL-NP", "Politie", "NL")
    with ctx.db.session() as session:
        only = owning_agency(session, None)
        assert only is not None and owning_agency(session, "NL-NP") == only
        with pytest.raises(UsageError, match="no agency 'XX'"):
            owning_agency(session, "XX")
    create_agency(ctx, "BE-FP", "Federale Politie", "BE")
    with ctx.db.session() as session, pytest.raises(UsageError, match="several agencies"):
        owning_agency(session, None)
