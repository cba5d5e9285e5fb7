"""What every use case needs: the workspace, its store, and who is acting."""

from __future__ import annotations

import os
from dataclasses import dataclass

from cairn.core.config import Actor, Workspace
from cairn.store import audit
from cairn.store.database import Database, open_database


@dataclass
class Context:
    workspace: Workspace
    db: Database
    actor: Actor

    def __post_init__(self) -> None:
        # The workspace anchors the audit chain's head, so that `audit verify` sees truncation.
        audit.keep_head(self.db.engine, self.workspace.root)

    @classmethod
    def open(cls, workspace: str | os.PathLike[str] | None = None) -> Context:
        ws = Workspace.resolve(workspace)
        ws.create()
        return cls(workspace=ws, db=open_database(ws.database_url), actor=Actor.current())

    def close(self) -> None:
        self.db.dispose()
