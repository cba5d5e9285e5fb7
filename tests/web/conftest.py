"""A small benign review world for the workspace's tests: two agencies, a case each, users.

Agency AA-1's case A-1 holds a phone with six photos: two near-duplicate pairs (a photo and
its resized copy, so the queue stacks them) and two singles, one with GPS; and the sample
WhatsApp database of cairn.messaging.samples (people, groups, a location message). Agency
BB-2's case B-1 holds a photo of its own. All images are synthetic gradients and shapes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from tests.conftest import postgres_database
from tests.web.helpers import PASSWORD

from cairn.api.app import create_app
from cairn.core.config import Actor
from cairn.core.settings import AnalysisSettings
from cairn.core.types import Role
from cairn.hashing.digests import digest_bytes
from cairn.media.synthetic import CameraExif, jpeg_bytes, synthetic_image
from cairn.media.thumbnail import load_or_create_key
from cairn.messaging.samples import located_device, write_msgstore
from cairn.services import identity
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.ingest import ingest
from cairn.services.messaging.discovery import import_from_evidence
from cairn.web.app import create_server
from cairn.web.guard import WebSettings

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class ReviewWorld:
    root: Path
    workspace: Path
    database_url: str
    files: dict[str, str]  # file name -> SHA-256 in case A-1
    other_sha: str  # the photo of case B-1


def _photos() -> dict[str, bytes]:
    photos: dict[str, bytes] = {}
    for seed in (11, 12):  # a photo and a resized copy of it: near-duplicates
        image = synthetic_image(seed, 320, 240)
        photos[f"pair{seed}-a.jpg"] = jpeg_bytes(image)
        photos[f"pair{seed}-b.jpg"] = jpeg_bytes(image.resize((288, 216)))
    photos["single13.jpg"] = jpeg_bytes(synthetic_image(13, 320, 240))
    photos["gps14.jpg"] = jpeg_bytes(synthetic_image(14, 320, 240), CameraExif(gps=(52.37, 4.89)))
    return photos


def build_review_world(root: Path, database_url: str) -> ReviewWorld:
    workspace = root / "workspace"
    setup = create_app(workspace, database_url, run_jobs=False)
    ctx: Context = setup.state.cairn.ctx
    operator = Context(ctx.workspace, ctx.db, Actor("operator", "test-host"))
    settings = AnalysisSettings(thumbnail_key=load_or_create_key(ctx.workspace.key_file))
    files: dict[str, str] = {}
    other = ""
    for code, case_ref in (("AA-1", "A-1"), ("BB-2", "B-1")):
        agency = identity.create_agency(operator, code, f"Agency {code}", "NL").id
        for role in Role:
            identity.create_user(operator, f"{role.value}.{code.lower()}", code, role, PASSWORD)
        create_case(operator, case_ref, f"case of {code}", agency_id=agency)
        source = root / "evidence" / f"{code}-phone"
        source.mkdir(parents=True)
        if code == "AA-1":
            for name, data in _photos().items():
                (source / name).write_bytes(data)
                files[name] = digest_bytes(data).sha256
            # A WhatsApp database with groups and a location message: the graph and the map.
            databases = source / "data" / "data" / "com.whatsapp" / "databases"
            databases.mkdir(parents=True)
            write_msgstore(databases / "msgstore.db", located_device())
        else:
            data = jpeg_bytes(synthetic_image(21, 320, 240))
            (source / "theirs.jpg").write_bytes(data)
            other = digest_bytes(data).sha256
        summary = ingest(operator, case_ref, source, workers=0, settings=settings)
        import_from_evidence(operator, case_ref, summary.evidence)
    ctx.close()
    return ReviewWorld(root, workspace, database_url, files, other)


def review_app(world: ReviewWorld, web_settings: WebSettings | None = None):  # type: ignore[no-untyped-def]
    return create_server(
        world.workspace, world.database_url, run_jobs=False, web_settings=web_settings
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def review_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReviewWorld]:
    """One world per test module and store: building it (ingest) is most of the time. Tests
    that change it (flags, reveals, grades) use items and users the others do not assert on."""
    root = tmp_path_factory.mktemp("review")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(identity, "_hasher", FAST_HASHER)
        if request.param == "sqlite":
            yield build_review_world(root, f"sqlite:///{root / 'cairn.db'}")
        else:
            for url in postgres_database():
                yield build_review_world(root, url)


@pytest.fixture
def client(review_world: ReviewWorld) -> Iterator[TestClient]:
    with TestClient(review_app(review_world)) as test_client:
        yield test_client
