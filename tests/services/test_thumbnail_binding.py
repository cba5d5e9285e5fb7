"""Thumbnails stored before binding are bound to their media once, when the workspace is
first opened by a version that binds; never again after (a planted old blob stays refused)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from cairn.core.settings import AnalysisSettings
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.media.thumbnail import (
    NONCE_BYTES,
    ThumbnailError,
    load_or_create_key,
    open_thumbnail,
)
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.ingest import ingest
from cairn.services.thumbnail_binding import MARKER
from cairn.store.models import Thumbnail


def _legacy(jpeg: bytes, key: bytes) -> bytes:
    """A blob as Cairn stored it before binding: one fixed associated data for every item."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, jpeg, b"cairn review thumbnail v1")


def _blobs(ctx: Context) -> dict[str, bytes]:
    with ctx.db.session() as session:
        return {
            sha: blob for sha, blob in session.execute(select(Thumbnail.sha256, Thumbnail.blob))
        }


def test_unbound_thumbnails_are_bound_once(workspace: Path, tmp_path: Path) -> None:
    device = tmp_path / "device"
    device.mkdir()
    for seed in (1, 2):
        (device / f"{seed}.jpg").write_bytes(jpeg_bytes(synthetic_image(seed, 640, 480)))
    ctx = Context.open(workspace)
    assert (workspace / MARKER).exists()  # a new workspace has nothing to bind
    key = load_or_create_key(ctx.workspace.key_file)
    create_case(ctx, "C-1")
    ingest(ctx, "C-1", device, workers=0, settings=AnalysisSettings(thumbnail_key=key))
    jpegs = {sha: open_thumbnail(blob, key, sha) for sha, blob in _blobs(ctx).items()}
    assert len(jpegs) == 2
    # As an older Cairn left them: unbound, and the marker not yet written.
    with ctx.db.session() as session:
        for row in session.scalars(select(Thumbnail)):
            row.blob = _legacy(jpegs[row.sha256], key)
    (workspace / MARKER).unlink()
    ctx.close()

    ctx = Context.open(workspace)
    assert {sha: open_thumbnail(blob, key, sha) for sha, blob in _blobs(ctx).items()} == jpegs
    first, second = sorted(jpegs)
    # An old blob of the first item, planted on the second after binding, stays refused.
    with ctx.db.session() as session:
        planted = session.get(Thumbnail, second)
        assert planted is not None
        planted.blob = _legacy(jpegs[first], key)
    ctx.close()
    ctx = Context.open(workspace)
    with pytest.raises(ThumbnailError):
        open_thumbnail(_blobs(ctx)[second], key, second)
    ctx.close()
