"""Stored thumbnails made before they were bound to their media (media.thumbnail), bound once.

Such a blob opens for any row, so a database writer could have moved it onto another item;
binding closes that for every thumbnail stored from now on. It runs when a workspace is
first opened by a version that binds, and leaves a marker file so that it never runs again:
run every time, it would bind a blob an attacker planted from an old copy of the database.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from cairn.core.config import Workspace
from cairn.media.thumbnail import load_or_create_key, rebind_legacy
from cairn.store.database import Database
from cairn.store.messaging_models import MsgThumbnail
from cairn.store.models import Thumbnail

MARKER = "thumbnails-bound"
_BATCH = 1000
log = logging.getLogger(__name__)


def bind_legacy_thumbnails(workspace: Workspace, db: Database) -> int:
    """Bind the workspace's unbound stored thumbnails to their media; how many were bound.
    Does nothing once the marker exists."""
    marker = workspace.root / MARKER
    if marker.exists():
        return 0
    bound = 0
    key: bytes | None = None
    for table in (Thumbnail, MsgThumbnail):
        after = ""
        while True:
            with db.engine.begin() as connection:
                rows = connection.execute(
                    select(table.sha256, table.blob)
                    .where(table.sha256 > after)
                    .order_by(table.sha256)
                    .limit(_BATCH)
                ).all()
                if not rows:
                    break
                key = key or load_or_create_key(workspace.key_file)
                for sha256, blob in rows:
                    rebound = rebind_legacy(blob, key, sha256)
                    if rebound is not None:
                        connection.execute(
                            update(table).where(table.sha256 == sha256).values(blob=rebound)
                        )
                        bound += 1
                after = rows[-1].sha256
    marker.touch(mode=0o600)
    if bound:
        log.info("bound %d stored thumbnails to their media", bound)
    return bound
