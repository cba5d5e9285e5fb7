"""The server's evidence roots of the caller's agency: where its exhibits must be put to be
registered or ingested (an operator sees every agency's in the server's log at start)."""

from __future__ import annotations

from fastapi import APIRouter

from cairn.api.deps import Caller, Server
from cairn.api.permissions import V1

router = APIRouter(prefix=V1, tags=["evidence"])


@router.get("/evidence-roots")
def list_evidence_roots(state: Server, principal: Caller) -> list[str]:
    return [str(path) for path in state.roots.of(principal.agency_code)]
