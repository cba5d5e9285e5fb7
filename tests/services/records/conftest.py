"""Two agencies and their series, a case of each with benign media, and a location message.

NL-NP's case NL-1 holds a phone: a synthetic photo with GPS and a WhatsApp store whose Carol
sends a location. BE-FP's case BE-1 holds a photo of its own. NL-NP owns the series "tulip"
(private) and "iris" (shared); BE-FP owns "fern" (private). Built per test, on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from cairn.core.types import Role
from cairn.hashing.digests import digest_bytes
from cairn.media.synthetic import CameraExif, jpeg_bytes, synthetic_image
from cairn.messaging.samples import located_device, write_msgstore
from cairn.services import identity
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.identity import Principal, actor_for
from cairn.services.ingest import ingest
from cairn.services.messaging.discovery import import_from_evidence
from cairn.services.series import create_series
from cairn.store.messaging_models import MsgMessage

PASSWORD = "benign test password"
PHOTO = jpeg_bytes(synthetic_image(501, 320, 240), CameraExif(gps=(52.3702, 4.8952)))
BE_PHOTO = jpeg_bytes(synthetic_image(502, 320, 240))


@dataclass
class Agencies:
    ctx: Context  # the local operator
    people: dict[str, Principal]  # "victim-id@NL-NP", "auditor@BE-FP", …
    series: dict[str, int]  # tulip, iris, fern
    photo: str  # SHA-256 of NL's photo
    photo_bytes: bytes
    be_photo: str  # SHA-256 of BE's photo
    message_id: int  # Carol's location message, in NL-1

    def as_(self, who: str) -> tuple[Context, Principal]:
        """The context and principal of one user ("victim-id@NL-NP")."""
        principal = self.people[who]
        return Context(self.ctx.workspace, self.ctx.db, actor_for(principal, "test")), principal


@pytest.fixture
def agencies(db_ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Agencies:
    from argon2 import PasswordHasher

    monkeypatch.setattr(
        identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    people: dict[str, Principal] = {}
    agency_ids = {}
    for code, country in (("NL-NP", "NL"), ("BE-FP", "BE")):
        agency_ids[code] = identity.create_agency(db_ctx, code, f"Agency {code}", country).id
        for role in (Role.VICTIM_ID, Role.AUDITOR):
            name = f"{role.value}.{code.lower()}"
            identity.create_user(db_ctx, name, code, role, PASSWORD)
            principal = identity.authenticate(db_ctx, name, PASSWORD, "test")
            assert principal is not None
            people[f"{role.value}@{code}"] = principal
    phone = tmp_path / "phone"
    (phone / "DCIM").mkdir(parents=True)
    (phone / "DCIM" / "IMG_0001.jpg").write_bytes(PHOTO)
    write_msgstore(phone / "msgstore.db", located_device())
    create_case(db_ctx, "NL-1", agency_id=agency_ids["NL-NP"])
    assert ingest(db_ctx, "NL-1", phone, workers=0).exit_code == 0
    import_from_evidence(db_ctx, "NL-1", "phone")
    be = tmp_path / "be"
    be.mkdir()
    (be / "photo.jpg").write_bytes(BE_PHOTO)
    create_case(db_ctx, "BE-1", agency_id=agency_ids["BE-FP"])
    assert ingest(db_ctx, "BE-1", be, workers=0).exit_code == 0
    with db_ctx.db.session() as session:
        message_id = session.scalar(select(MsgMessage.id).where(MsgMessage.latitude.is_not(None)))
    assert message_id is not None
    nl, be_principal = people["victim-id@NL-NP"], people["victim-id@BE-FP"]
    series = {
        "tulip": create_series(db_ctx, nl, "tulip").id,
        "iris": create_series(db_ctx, nl, "iris", shared=True).id,
        "fern": create_series(db_ctx, be_principal, "fern").id,
    }
    return Agencies(
        db_ctx,
        people,
        series,
        digest_bytes(PHOTO).sha256,
        PHOTO,
        digest_bytes(BE_PHOTO).sha256,
        message_id,
    )
