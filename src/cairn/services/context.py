"""What every use case needs: the workspace, its store, and who is acting."""

from __future__ import annotations

import os
from dataclasses import dataclass

from cairn.core import keys
from cairn.core.config import AUDIT_KEY_ENV, Actor, Workspace
from cairn.core.errors import UsageError
from cairn.services.thumbnail_binding import bind_legacy_thumbnails
from cairn.store import audit
from cairn.store.database import Database, open_database


@dataclass
class Context:
    workspace: Workspace
    db: Database
    actor: Actor

    def __post_init__(self) -> None:
        # The workspace anchors the audit chain's head, so that `audit verify` sees truncation;
        # the key makes the chain's links (asked once per engine: a Context is made per request).
        if not audit.is_kept(self.db.engine):
            audit.keep_chain(self.db.engine, self.workspace.root, audit_key(self.workspace))
        bind_legacy_thumbnails(self.workspace, self.db)

    @classmethod
    def open(cls, workspace: str | os.PathLike[str] | None = None) -> Context:
        ws = Workspace.resolve(workspace)
        ws.create()
        return cls(workspace=ws, db=open_database(ws.database_url), actor=Actor.current())

    def close(self) -> None:
        self.db.dispose()


def audit_key(workspace: Workspace) -> bytes:
    """The audit chain's key: the file CAIRN_AUDIT_KEY_FILE names (never made up: a missing
    file there is a configuration error), else the workspace's audit.key, made on first use."""
    path = workspace.audit_key_file
    if not os.environ.get(AUDIT_KEY_ENV):
        return keys.load_or_create_key(path, "audit key")
    try:
        return keys.read_key(path, "audit key")
    except OSError as exc:
        raise UsageError(f"{AUDIT_KEY_ENV}={path}: {exc.strerror}") from None
