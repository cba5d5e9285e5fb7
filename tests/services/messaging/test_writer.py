"""Storing records: WhatsApp's own thumbnails are sealed like review thumbnails."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from PIL import Image
from sqlalchemy import select

from cairn.media.thumbnail import load_or_create_key, open_thumbnail
from cairn.store.messaging_models import MsgThumbnail

if TYPE_CHECKING:
    from conftest import Harbour  # tests/services/messaging/conftest.py


def test_whatsapp_thumbnail_of_a_deleted_file_is_sealed(harbour: Harbour) -> None:
    sha = harbour.sha
    key = load_or_create_key(harbour.ctx.workspace.key_file)
    with harbour.ctx.db.session() as session:
        blobs = dict(session.execute(select(MsgThumbnail.sha256, MsgThumbnail.blob)).all())
    assert list(blobs) == [sha["x"]]
    assert b"\xff\xd8" not in blobs[sha["x"]][:16]  # sealed, not a JPEG at rest
    with Image.open(io.BytesIO(open_thumbnail(blobs[sha["x"]], key, sha["x"]))) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("JPEG", (8, 8))
