"""The authorisation matrix, generated from the route table: every route × role × object.

For each route of `ROUTE_PERMISSIONS`, each role of each agency calls it on its own agency's
object, on the other agency's, and on one that does not exist (and, for hash sets and series,
on a shared one). The expected answer follows from `PERMISSIONS` and ownership alone: a role
without the action gets 403 whatever the object; with it, its own object succeeds and another
agency's is 404 with exactly the bytes of a missing one.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cairn.api.permissions import AUTHENTICATED, PUBLIC, ROUTE_PERMISSIONS
from cairn.core.config import Actor, Workspace
from cairn.core.types import Role
from cairn.services.access import PERMISSIONS
from cairn.services.alerts import add_alert
from cairn.services.context import Context
from cairn.services.sharing.notices import export_notices
from cairn.services.sharing.trust import export_public_key, trust
from cairn.store.database import open_database

if TYPE_CHECKING:
    from conftest import World

MISSING_ID = 10**6


@dataclass(frozen=True)
class Call:
    """One request of the matrix (without its token) and the status it gives on success."""

    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    data: dict[str, str] | None = None
    content: bytes | None = None
    success: int = 200


# What each route needs besides its path: the body and query of a call that succeeds.
# (world, role, agency, path object) -> Call. A route without an entry fails the test.
Spec = Callable[["World", Role, str, Any], Call]
SPECS: dict[tuple[str, str], Spec] = {
    ("GET", "/api/v1/health"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/auth/token"): lambda w, r, a, o: Call(
        data={"username": f"{r.value}.{a.lower()}", "password": "benign test password"}
    ),
    ("GET", "/api/v1/auth/me"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/auth/api-tokens"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/auth/api-tokens"): lambda w, r, a, o: Call(
        json={"name": w.unique("t")}, success=201
    ),
    ("DELETE", "/api/v1/auth/api-tokens/{token_id}"): lambda w, r, a, o: Call(success=204),
    ("GET", "/api/v1/cases"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/cases"): lambda w, r, a, o: Call(
        json={"ref": w.unique(f"NEW-{a}"), "title": "t"}, success=201
    ),
    ("GET", "/api/v1/cases/{ref}"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/cases/{ref}/evidence"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/cases/{ref}/evidence"): lambda w, r, a, o: Call(
        json={"source": str(w.roots[a] / f"{a}-device")}, success=201
    ),
    ("GET", "/api/v1/evidence-roots"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/cases/{ref}/ingest"): lambda w, r, a, o: Call(
        json={"source": str(w.roots[a] / f"{a}-device")}, success=202
    ),
    ("POST", "/api/v1/cases/{ref}/match"): lambda w, r, a, o: Call(success=202),
    ("GET", "/api/v1/cases/{ref}/media"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/cases/{ref}/triage"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/cases/{ref}/matches"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/cases/{ref}/export/hashes"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/cases/{ref}/report"): lambda w, r, a, o: Call(params={"format": "html"}),
    ("GET", "/api/v1/cases/{ref}/messages"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/cases/{ref}/series-suggestions"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/cases/{ref}/grades"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/cases/{ref}/grades"): lambda w, r, a, o: Call(
        json={"category": "vics:2", "items": [w.own_photo[a].sha256]}, success=201
    ),
    ("POST", "/api/v1/cases/{ref}/grades/retract"): lambda w, r, a, o: Call(
        json={"items": [w.own_photo[a].sha256]}
    ),
    ("GET", "/api/v1/cases/{ref}/grades/agreement"): lambda w, r, a, o: Call(),
    ("PUT", "/api/v1/grading/policy"): lambda w, r, a, o: Call(json={"votes_required": 1}),
    ("GET", "/api/v1/media/{sha256}"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/media/{sha256}/thumbnail"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/jobs"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/jobs/{job_id}"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/jobs/{job_id}/cancel"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/hashsets"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/hashsets"): lambda w, r, a, o: Call(
        params={"name": w.unique("upload"), "filename": "list.txt"},
        content=f"{'ab' * 16}\n".encode(),
        success=202,
    ),
    ("GET", "/api/v1/hashsets/{hashset_id}"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/hashsets/{hashset_id}/export"): lambda w, r, a, o: Call(),
    ("PUT", "/api/v1/hashsets/{hashset_id}/shared"): lambda w, r, a, o: Call(
        json={"shared": o == w.shared_set}  # as it is: the matrix changes no sharing
    ),
    ("GET", "/api/v1/search"): lambda w, r, a, o: Call(params={"md5": w.own_photo[a].md5}),
    ("POST", "/api/v1/similar"): lambda w, r, a, o: Call(content=w.common.data),
    ("GET", "/api/v1/cases/{ref}/cameras"): lambda w, r, a, o: Call(),
    # One reference is refused (at least 20 are needed): the answer after the checks.
    ("POST", "/api/v1/cases/{ref}/cameras"): lambda w, r, a, o: Call(
        json={"name": "phone", "items": [w.own_photo[a].sha256]}, success=422
    ),
    ("GET", "/api/v1/cases/{ref}/camera-matches"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/cases/{ref}/camera-matches"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/cases/{ref}/camera-signatures"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/series"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/series"): lambda w, r, a, o: Call(
        json={"name": w.unique("series")}, success=201
    ),
    ("GET", "/api/v1/series/{series_id}"): lambda w, r, a, o: Call(),
    ("PATCH", "/api/v1/series/{series_id}"): lambda w, r, a, o: Call(json={"notes": "seen"}),
    ("GET", "/api/v1/series/{series_id}/victims"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/series/{series_id}/victims"): lambda w, r, a, o: Call(json={}, success=201),
    ("GET", "/api/v1/victims/{victim_id}"): lambda w, r, a, o: Call(),
    ("PATCH", "/api/v1/victims/{victim_id}"): lambda w, r, a, o: Call(json={"notes": "seen"}),
    ("GET", "/api/v1/series/{series_id}/persons"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/series/{series_id}/persons"): lambda w, r, a, o: Call(
        json={"role": "other"}, success=201
    ),
    ("GET", "/api/v1/persons/{person_id}"): lambda w, r, a, o: Call(),
    ("PATCH", "/api/v1/persons/{person_id}"): lambda w, r, a, o: Call(json={"notes": "seen"}),
    ("GET", "/api/v1/series/{series_id}/clues"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/series/{series_id}/clues"): lambda w, r, a, o: Call(
        json={"kind": "object", "description": "a lamp", "sha256": w.own_photo[a].sha256},
        success=201,
    ),
    ("GET", "/api/v1/clues/{clue_id}"): lambda w, r, a, o: Call(),
    ("PATCH", "/api/v1/clues/{clue_id}"): lambda w, r, a, o: Call(json={"description": "seen"}),
    ("GET", "/api/v1/series/{series_id}/countries"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/series/{series_id}/leads"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/series/{series_id}/leads"): lambda w, r, a, o: Call(
        json={"country": "DE"}, success=201
    ),
    ("GET", "/api/v1/leads/{lead_id}"): lambda w, r, a, o: Call(),
    ("PATCH", "/api/v1/leads/{lead_id}"): lambda w, r, a, o: Call(json={"notes": "seen"}),
    # A clue's crop is cut from its media item's bytes: the caller's own photo where it succeeds.
    ("POST", "/api/v1/clues/{clue_id}/crops"): lambda w, r, a, o: Call(
        content=w.own_photo[a].data, success=201
    ),
    ("GET", "/api/v1/crops/{crop_id}"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/crops/{crop_id}/confirm"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/crops/{crop_id}/publish"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/crops/{crop_id}/tips"): lambda w, r, a, o: Call(
        json={"text": "seen in a shop"}, success=201
    ),
    ("GET", "/api/v1/series/{series_id}/export/geojson"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/series/{series_id}/export/lead"): lambda w, r, a, o: Call(
        json={"country": "DE"}
    ),
    ("GET", "/api/v1/inbox"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/series/{series_id}/media"): lambda w, r, a, o: Call(
        json={"case": AGENCY_CASE[a], "items": [w.own_photo[a].sha256]}
    ),
    ("POST", "/api/v1/series/{series_id}/media/remove"): lambda w, r, a, o: Call(
        json={"items": [w.own_photo[a].sha256]}
    ),
    ("PUT", "/api/v1/series/{series_id}/status"): lambda w, r, a, o: Call(
        json={"status": "unidentified", "reason": "as it is"}
    ),
    ("POST", "/api/v1/series/{series_id}/merge"): lambda w, r, a, o: Call(
        json={"other": _fresh_series(w, a)}
    ),
    ("POST", "/api/v1/series/{series_id}/split"): lambda w, r, a, o: Call(
        json={"name": w.unique("split"), "items": [_member(w, o)]}, success=201
    ),
    ("GET", "/api/v1/users"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/users"): lambda w, r, a, o: Call(
        json={"username": w.unique("user"), "role": "auditor", "password": "x" * 12},
        success=201,
    ),
    ("PUT", "/api/v1/users/{username}/active"): lambda w, r, a, o: Call(json={"active": True}),
    ("GET", "/api/v1/audit"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/audit/verify"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/alerts"): lambda w, r, a, o: Call(),
    ("POST", "/api/v1/alerts"): lambda w, r, a, o: Call(
        json={"kind": "sha256", "value": w.own_photo[a].sha256}, success=201
    ),
    ("GET", "/api/v1/alerts/hits"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/share/key"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/share/hashsets/{hashset_id}/bundle"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/share/hashsets/{hashset_id}/filter"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/share/notices"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/share/series"): lambda w, r, a, o: Call(),
    ("GET", "/api/v1/share/notice-hits"): lambda w, r, a, o: Call(params={"partner": "NL"}),
    ("POST", "/api/v1/share/import"): lambda w, r, a, o: Call(content=_partner_notices(w)),
}

_PARTNERS: dict[int, Context] = {}


def _partner_notices(world: World) -> bytes:
    """A fresh signed notice list from a partner instance the world's server trusts."""
    partner = _PARTNERS.get(id(world))
    if partner is None:
        root = world.root / "partner"
        workspace = Workspace(root, f"sqlite:///{root / 'cairn.db'}")
        workspace.create()
        partner = Context(workspace, open_database(workspace.database_url), Actor.current())
        add_alert(partner, "phone", "+447700900001", notice=True)
        export_public_key(partner, root / "key.json")
        trust(world.ctx, "NL", root / "key.json")
        _PARTNERS[id(world)] = partner
    out = world.root / "partner" / "notices.share"
    export_notices(partner, out)
    return out.read_bytes()


AGENCY_CASE = {"AA-1": "A-1", "BB-2": "B-1"}


def _fresh_series(world: World, agency: str) -> int:
    """A new series of `agency`, to be merged into the path's series."""
    from cairn.services.series import create_series

    principal = world.principals[(Role.VICTIM_ID, agency)]
    return create_series(world.ctx, principal, world.unique("merged")).id


def _member(world: World, series_id: int) -> str:
    """A member of the series (filed now, by its owner), to be split off it."""
    from cairn.core.errors import NotFoundError
    from cairn.services.series import add_media

    for agency, case in AGENCY_CASE.items():
        try:
            add_media(
                world.ctx,
                world.principals[(Role.VICTIM_ID, agency)],
                series_id,
                case,
                [world.own_photo[agency].sha256],
            )
        except NotFoundError:
            continue
        return world.own_photo[agency].sha256
    return world.own_photo["AA-1"].sha256  # a missing series: any item


def _targets(world: World, param: str, role: Role, agency: str) -> dict[str, Any]:
    """The path object per ownership: own, other (another agency's), missing, [shared]."""
    other = "BB-2" if agency == "AA-1" else "AA-1"
    cases = {"AA-1": "A-1", "BB-2": "B-1"}
    if param == "ref":
        return {"own": cases[agency], "other": cases[other], "missing": "ZZ-404"}
    if param == "sha256":
        return {
            "own": world.own_photo[agency].sha256,
            "other": world.own_photo[other].sha256,
            "missing": "f" * 64,
        }
    if param == "job_id":
        return {
            "own": world.queued_job(agency),
            "other": world.queued_job(other),
            "missing": MISSING_ID,
        }
    if param == "hashset_id":
        return {
            "own": world.private_set[agency],
            "other": world.private_set[other],
            "missing": MISSING_ID,
            "shared": world.shared_set,
        }
    if param == "series_id":
        return {
            "own": world.private_series[agency],
            "other": world.private_series[other],
            "missing": MISSING_ID,
            "shared": world.shared_series,
        }
    if param in ("victim_id", "person_id", "clue_id", "lead_id", "crop_id"):
        kind = param.removesuffix("_id")
        return {
            "own": world.records[agency][kind],
            "other": world.records[other][kind],
            "missing": MISSING_ID,
            "shared": world.shared_records[kind],
        }
    if param == "username":
        return {
            "own": f"auditor.{agency.lower()}",
            "other": f"auditor.{other.lower()}",
            "missing": "nobody",
        }
    if param == "token_id":
        return {
            "own": world.api_token(role, agency),
            "other": world.api_token(role, other),
            "missing": MISSING_ID,
        }
    raise AssertionError(f"no targets for path parameter {param!r}: add them here")


def _expected(action: str, role: Role, ownership: str, method: str, agency: str) -> str:
    """'ok', 'forbidden' or 'not found'."""
    if action not in (PUBLIC, AUTHENTICATED) and role not in PERMISSIONS[action]:
        return "forbidden"
    if ownership == "own":
        return "ok"
    if ownership == "shared":  # AA-1's shared set or series: anyone reads, only AA-1 changes
        # or shares onwards to partner instances
        reads = method == "GET" and not action.startswith("share.")
        return "ok" if reads or agency == "AA-1" else "not found"
    return "not found"


def _path_params(path: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(path) if name]


def test_every_route_has_a_matrix_spec() -> None:
    assert set(SPECS) == set(ROUTE_PERMISSIONS)


def test_authorisation_matrix(world: World) -> None:
    failures: list[str] = []
    calls = 0
    for (method, path), action in ROUTE_PERMISSIONS.items():
        params = _path_params(path)
        assert len(params) <= 1, path
        for agency in ("AA-1", "BB-2"):
            for role in Role:
                targets = _targets(world, params[0], role, agency) if params else {"own": None}
                not_found: dict[str, bytes] = {}
                for ownership, target in targets.items():
                    url = path.format(**{params[0]: target}) if params else path
                    call = SPECS[(method, path)](world, role, agency, target)
                    headers = {} if action == PUBLIC else world.headers(role, agency)
                    answer = world.client.request(
                        method,
                        url,
                        params=call.params,
                        json=call.json,
                        data=call.data,
                        content=call.content,
                        headers=headers,
                    )
                    calls += 1
                    expected = _expected(action, role, ownership, method, agency)
                    status = {"ok": call.success, "forbidden": 403, "not found": 404}[expected]
                    if answer.status_code != status:
                        failures.append(
                            f"{method} {path} as {role.value} of {agency} on {ownership}: "
                            f"{answer.status_code} (expected {status}) {answer.text[:200]}"
                        )
                    if expected == "not found":
                        not_found[ownership] = answer.content
                if len(set(not_found.values())) > 1:
                    failures.append(f"{method} {path} as {role.value}: 404 bodies differ")
    assert not failures, "\n".join(failures)
    assert calls > 500  # every route × 8 users × every ownership


def _sources(world: World, agency: str) -> dict[str, str]:
    """Sources by where they are, for the caller of `agency`: its own device, and every path
    that must be answered exactly as a missing one."""
    other = "BB-2" if agency == "AA-1" else "AA-1"
    own, theirs = world.roots[agency], world.roots[other]
    outside = world.root / "elsewhere"
    outside.mkdir(exist_ok=True)
    (outside / "photo.jpg").write_bytes(world.common.data)
    link = own / f"link-to-{other}"
    if not link.is_symlink():
        link.symlink_to(theirs / f"{other}-device")
    return {
        "own": str(own / f"{agency}-device"),
        "missing": str(own / "no-such-device"),
        "other agency's": str(theirs / f"{other}-device"),
        "other agency's missing": str(theirs / "no-such-device"),
        "outside the roots": str(outside),
        "outside, a file": str(outside / "photo.jpg"),
        "through `..`": f"{own}/../{other}/{other}-device",
        "through a symlink": str(link),
        "beneath a symlink": str(link / "own.jpg"),
        "the roots' parent": str(world.evidence_root),
        "relative": f"{agency}-device",
        "server file": "/etc/passwd",
        "a NUL byte": f"{own}/{agency}-device\0x",
    }


def test_evidence_root_matrix(world: World) -> None:
    """Registering and ingesting, per role, agency and source: only a source beneath the
    caller's agency's own roots is accepted; every other path gets the bytes a missing one
    gets, so that no answer tells which exhibits exist (of any agency)."""
    failures: list[str] = []
    routes = (("/api/v1/cases/{}/evidence", 201), ("/api/v1/cases/{}/ingest", 202))
    for agency, case in (("AA-1", "A-1"), ("BB-2", "B-1")):
        for role in Role:
            for url, success in routes:
                action = ROUTE_PERMISSIONS[("POST", url.format("{ref}"))]
                refused: dict[str, bytes] = {}
                for where, source in _sources(world, agency).items():
                    answer = world.client.post(
                        url.format(case),
                        json={"source": source},
                        headers=world.headers(role, agency),
                    )
                    if role not in PERMISSIONS[action]:
                        expected = 403
                    elif where == "own":
                        expected = success
                    else:
                        expected = 422
                        refused[where] = answer.content
                    if answer.status_code != expected:
                        failures.append(
                            f"{url} as {role.value} of {agency}, {where}: "
                            f"{answer.status_code} (expected {expected}) {answer.text[:200]}"
                        )
                if len(set(refused.values())) > 1:
                    failures.append(f"{url} as {role.value} of {agency}: refusals differ {refused}")
    assert not failures, "\n".join(failures)
    refusal = {"detail": "no such file or folder under your agency's evidence roots"}
    answer = world.client.post(
        "/api/v1/cases/A-1/ingest", json={"source": "/etc"}, headers=world.headers()
    )
    assert answer.json() == refusal


def test_evidence_roots_are_shown_to_each_agency_its_own(world: World) -> None:
    for agency in ("AA-1", "BB-2"):
        answer = world.client.get("/api/v1/evidence-roots", headers=world.headers(agency=agency))
        assert answer.json() == [str(world.roots[agency])]
