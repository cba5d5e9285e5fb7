"""Health: the one route that answers without a token, and so says nothing but "ok" (no
version or kind of store: nothing that helps an anonymous caller pick an attack)."""

from __future__ import annotations

from fastapi import APIRouter

from cairn.api.permissions import V1
from cairn.api.schemas import Health

router = APIRouter(prefix=V1, tags=["health"])


@router.get("/health")
def health() -> Health:
    return Health()
