"""Search by hash across what the caller's agency may see (audited)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from cairn.api.deps import Caller, RequestContext
from cairn.api.permissions import V1
from cairn.api.schemas import SearchResult
from cairn.core.errors import UsageError
from cairn.core.hash_kinds import KNOWN_HASH_NAMES, MD5, PDQ, SHA1, SHA256
from cairn.core.thresholds import PDQ_MATCH_DISTANCE
from cairn.services import search

router = APIRouter(prefix=V1, tags=["search"])


@router.get("/search")
def search_by_hash(
    ctx: RequestContext,
    principal: Caller,
    md5: str | None = Query(None, description=f"{MD5.hex_length} hex digits."),
    sha1: str | None = Query(None, description=f"{SHA1.hex_length} hex digits."),
    sha256: str | None = Query(None, description=f"{SHA256.hex_length} hex digits."),
    pdq: str | None = Query(None, description=f"{PDQ.hex_length} hex digits (256-bit PDQ)."),
    distance: int | None = Query(
        None,
        description=f"PDQ only: the largest Hamming distance (default {PDQ_MATCH_DISTANCE}).",
    ),
) -> SearchResult:
    """Where one hash occurs: media of the agency's cases, and entries of the hash sets the
    agency may use (its own and the shared ones). Give exactly one of md5, sha1, sha256, pdq."""
    given = dict(zip(KNOWN_HASH_NAMES, (md5, sha1, sha256, pdq), strict=True))
    chosen = [(k, v) for k, v in given.items() if v is not None]
    if len(chosen) != 1:
        raise UsageError(f"give exactly one of {', '.join(KNOWN_HASH_NAMES)}")
    ((kind, value),) = chosen
    result = search.search_hash(ctx, principal, kind, value, distance)
    return SearchResult.model_validate(result, from_attributes=True)
