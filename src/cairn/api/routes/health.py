"""Health: the one route that answers without a token (and says nothing about any case)."""

from __future__ import annotations

from fastapi import APIRouter

from cairn import __version__
from cairn.api.deps import Server
from cairn.api.permissions import V1
from cairn.api.schemas import Health

router = APIRouter(prefix=V1, tags=["health"])


@router.get("/health")
def health(state: Server) -> Health:
    return Health(version=__version__, database=state.ctx.db.engine.dialect.name)
