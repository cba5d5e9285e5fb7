"""A small benign two-agency world served in-process, on SQLite and on PostgreSQL.

Agency AA-1 holds case A-1, BB-2 holds case B-1; each has one user per role and its own
evidence root (evidence/AA-1, evidence/BB-2), which holds its device. Both cases hold
one common photo (so media reach is tested where content addressing could leak) and photos of
their own. AA-1 has a private and a shared hash set and series, BB-2 a private one of each.
All images are generated here: gradients and rectangles, nothing else.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from PIL import Image

from cairn.api.app import create_app
from cairn.api.deps import ServerSettings
from cairn.core.config import Actor
from cairn.core.settings import AnalysisSettings
from cairn.core.types import Role
from cairn.hashing.digests import digest_bytes
from cairn.hashing.pdq import pdq_from_image
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.media.thumbnail import load_or_create_key
from cairn.services import identity, jobs, series
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.hashsets import import_hashset, list_hashsets
from cairn.services.identity import Principal
from cairn.services.ingest import ingest
from cairn.services.jobs import JobKind, RunnerSettings
from cairn.services.records.clues import add_clue
from cairn.services.records.leads import add_lead
from cairn.services.records.persons import add_person
from cairn.services.records.trace import confirm_crop, crop_object, publication_package
from cairn.services.records.victims import add_victim

PASSWORD = "benign test password"
AGENCIES = {"AA-1": "A-1", "BB-2": "B-1"}  # agency code -> its case
OTHER = {"AA-1": "BB-2", "BB-2": "AA-1"}
ROLES = tuple(Role)


def username(role: Role, agency: str) -> str:
    return f"{role.value}.{agency.lower()}"


@dataclass(frozen=True)
class Photo:
    data: bytes
    sha256: str
    md5: str
    pdq: str


def photo(seed: int) -> Photo:
    image = synthetic_image(seed, 320, 240)
    data = jpeg_bytes(image)
    digests = digest_bytes(data)
    with Image.open(io.BytesIO(data)) as decoded:  # the PDQ of the file, as ingest sees it
        pdq = pdq_from_image(decoded).hex
    return Photo(data, digests.sha256, digests.md5, pdq)


@dataclass
class World:
    """The served app, its context, and what each agency owns."""

    client: TestClient
    ctx: Context
    root: Path  # holds the workspace, evidence roots and sources
    evidence_root: Path  # the folder of the agencies' roots
    roots: dict[str, Path]  # agency -> its evidence root (`--evidence-root AGENCY=PATH`)
    common: Photo
    own_photo: dict[str, Photo]  # agency -> a photo only its case holds
    private_set: dict[str, int]  # agency -> id of its unshared hash set
    shared_set: int  # AA-1's shared set
    shared_photo: Photo  # the photo AA-1's shared set lists (held by no case)
    private_series: dict[str, int]  # agency -> id of its unshared series
    shared_series: int  # AA-1's shared series
    records: dict[str, dict[str, int]]  # agency -> kind -> id of a record in its private series
    shared_records: dict[str, int]  # kind -> id of a record in AA-1's shared series
    principals: dict[tuple[Role, str], Principal] = field(default_factory=dict)
    _tokens: dict[tuple[Role, str], str] = field(default_factory=dict)
    _counter: Iterator[int] = field(default_factory=itertools.count)

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self._counter)}"

    def token(self, role: Role, agency: str) -> str:
        key = (role, agency)
        if key not in self._tokens:
            answer = self.client.post(
                "/api/v1/auth/token",
                data={"username": username(role, agency), "password": PASSWORD},
            )
            assert answer.status_code == 200, answer.text
            self._tokens[key] = answer.json()["access_token"]
        return self._tokens[key]

    def headers(self, role: Role = Role.EXAMINER, agency: str = "AA-1") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, agency)}"}

    def queued_job(self, agency: str) -> int:
        """A fresh queued match job of `agency` (the runner is not started in these tests)."""
        principal = self.principals[(Role.EXAMINER, agency)]
        ctx = Context(self.ctx.workspace, self.ctx.db, identity.actor_for(principal, "test"))
        return jobs.submit(ctx, principal, JobKind.MATCH, {"case_ref": AGENCIES[agency]}).id

    def api_token(self, role: Role, agency: str) -> int:
        """A fresh API token of that user; returns its id."""
        principal = self.principals[(role, agency)]
        identity.create_api_token(self.ctx, principal, self.unique("token"))
        return identity.list_api_tokens(self.ctx, principal)[-1].id


def _hash_list(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def build_world(root: Path, database_url: str) -> World:
    evidence_root = root / "evidence"
    roots = {code: evidence_root / code for code in AGENCIES}
    # Agencies exist before a server binds roots to them: seed through a first app's store.
    setup = create_app(root / "workspace", database_url, run_jobs=False)
    ctx: Context = setup.state.cairn.ctx
    operator = Context(ctx.workspace, ctx.db, Actor("operator", "test-host"))
    common, own = photo(1), {"AA-1": photo(2), "BB-2": photo(3)}
    shared_photo = photo(4)
    settings = AnalysisSettings(thumbnail_key=load_or_create_key(ctx.workspace.key_file))
    principals: dict[tuple[Role, str], Principal] = {}
    agency_ids: dict[str, int] = {}
    for code, case_ref in AGENCIES.items():
        agency_ids[code] = identity.create_agency(operator, code, f"Agency {code}", "NL").id
        for role in ROLES:
            identity.create_user(operator, username(role, code), code, role, PASSWORD)
            principal = identity.authenticate(operator, username(role, code), PASSWORD, "test")
            assert principal is not None
            principals[(role, code)] = principal
        create_case(operator, case_ref, f"case of {code}", agency_id=agency_ids[code])
        source = roots[code] / f"{code}-device"
        source.mkdir(parents=True)
        (source / "common.jpg").write_bytes(common.data)
        (source / "own.jpg").write_bytes(own[code].data)
        ingest(operator, case_ref, source, workers=0, settings=settings)
    sets = root / "sets"
    sets.mkdir()
    for code in AGENCIES:
        listed = _hash_list(
            sets / f"{code}.csv", "md5,category,series", [f"{own[code].md5},vics:1,"]
        )
        summary = import_hashset(operator, listed, f"private {code}", agency_id=agency_ids[code])
        assert summary.records == 1
    shared = _hash_list(
        sets / "shared.csv",
        "md5,pdq,category,series",
        [f"{shared_photo.md5},{shared_photo.pdq},vics:1,Series S"],
    )
    import_hashset(operator, shared, "shared AA-1", agency_id=agency_ids["AA-1"], shared=True)
    ids = {h.name: h.id for h in list_hashsets(operator)}
    private_series = {
        code: series.create_series(operator, principals[(Role.EXAMINER, code)], f"{code} own").id
        for code in AGENCIES
    }
    shared_series = series.create_series(
        operator, principals[(Role.VICTIM_ID, "AA-1")], "AA-1 shared", shared=True
    ).id
    private_set = {code: ids[f"private {code}"] for code in AGENCIES}
    records = {
        code: _records(
            operator, principals[(Role.VICTIM_ID, code)], private_series[code], own[code]
        )
        for code in AGENCIES
    }
    shared_records = _records(
        operator, principals[(Role.VICTIM_ID, "AA-1")], shared_series, own["AA-1"]
    )
    ctx.close()
    app = create_app(
        root / "workspace",
        database_url,
        settings=ServerSettings(evidence_roots=tuple(f"{c}={p}" for c, p in roots.items())),
        runner_settings=RunnerSettings(ingest_workers=0),
        run_jobs=False,
    )
    return World(
        client=TestClient(app),
        ctx=app.state.cairn.ctx,
        root=root,
        evidence_root=evidence_root,
        roots=roots,
        common=common,
        own_photo=own,
        private_set=private_set,
        shared_set=ids["shared AA-1"],
        shared_photo=shared_photo,
        private_series=private_series,
        shared_series=shared_series,
        records=records,
        shared_records=shared_records,
        principals=principals,
    )


def _records(ctx: Context, principal: Principal, series_id: int, seen: Photo) -> dict[str, int]:
    """One record of each kind in the series; its crop (of `seen`) confirmed and published."""
    ref = str(series_id)
    clue = add_clue(
        ctx,
        principal,
        ref,
        kind="object",
        description="a mug",
        sha256=seen.sha256,
        region_xywh="0,0,32,32",
    )
    crop = crop_object(ctx, principal, clue.id, seen.data)
    confirm_crop(ctx, principal, crop.id)
    publication_package(ctx, principal, crop.id, io.BytesIO())
    return {
        "victim": add_victim(ctx, principal, ref).id,
        "person": add_person(ctx, principal, ref, role="other").id,
        "clue": clue.id,
        "lead": add_lead(ctx, principal, ref, "DE").id,
        "crop": crop.id,
    }


# Argon2id at its cheapest: the default costs (0.4 s a hash here) would make the world's
# sixteen users and every login the bulk of these tests' time. Still Argon2id, still verified.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def world(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setattr(identity, "_hasher", FAST_HASHER)
    built = build_world(tmp_path, database_url)
    with built.client:
        yield built
