"""Messaging fixtures: three seized phones and their WhatsApp artefacts, imported and analysed.

The phones come from `cairn.messaging.scenario` ("Operation Harbour"); its docstring tells the
story the tests of this folder check. All media are benign synthetic pictures; "known" X is one
placed in a test hash set. The case is built once per session: building it ingests three
phones, and every test here only reads it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cairn.media.synthetic import CameraExif, jpeg_bytes, synthetic_image
from cairn.messaging.scenario import HarbourMedia, harbour_case
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.hashsets import import_hashset
from cairn.services.ingest import ingest
from cairn.services.matching import match_case
from cairn.services.messaging.discovery import import_from_evidence
from cairn.services.messaging.importing import ImportSummary, import_path
from cairn.services.messaging.reports import CaseAnalysis, analyse_case

CASE = "OP-HARBOUR"
MEDIA = HarbourMedia(
    x=jpeg_bytes(synthetic_image(301, 320, 240)),
    p=jpeg_bytes(synthetic_image(302, 320, 240), CameraExif()),
    z=jpeg_bytes(synthetic_image(303, 320, 240)),
    w=jpeg_bytes(synthetic_image(304, 320, 240)),
    d=jpeg_bytes(synthetic_image(305, 320, 240)),
)


@dataclass
class Harbour:
    ctx: Context
    phones: dict[str, Path]
    imports: list[ImportSummary]
    analysis: CaseAnalysis
    root: Path
    case: str = CASE
    media: HarbourMedia = MEDIA

    @property
    def sha(self) -> dict[str, str]:
        """SHA-256 of items x, p, z, w and d."""
        return {k: hashlib.sha256(getattr(self.media, k)).hexdigest() for k in "xpzwd"}

    @property
    def short(self) -> dict[str, str]:
        """The SHA-256 prefixes the reports show."""
        return {k: v[:12] for k, v in self.sha.items()}


def fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(folder)): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def harbour(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harbour]:
    root = tmp_path_factory.mktemp("harbour")
    phones = harbour_case(root / "phones", MEDIA)
    ctx = Context.open(root / "workspace")
    create_case(ctx, CASE)
    known = root / "known.txt"
    known.write_text(f"{hashlib.sha256(MEDIA.x).hexdigest()}  x.jpg\n")
    import_hashset(ctx, known, "test-known")
    for folder in phones.values():
        assert ingest(ctx, CASE, folder, workers=0).exit_code == 0
    match_case(ctx, CASE)
    before = {label: fingerprint(folder) for label, folder in phones.items()}
    imports = import_path(ctx, phones["phone-A"], CASE, "phone-A", owner="+44 7700 900001")
    imports += import_from_evidence(ctx, CASE, "phone-B")
    imports += import_from_evidence(ctx, CASE, "phone-C")
    # Evidence is never written to: same bytes, same modification times.
    assert {label: fingerprint(folder) for label, folder in phones.items()} == before
    try:
        yield Harbour(ctx, phones, imports, analyse_case(ctx, CASE), root)
    finally:
        ctx.close()


@pytest.fixture
def case(ctx: Context) -> Context:
    """An open context with an empty case "C"."""
    create_case(ctx, "C")
    return ctx
