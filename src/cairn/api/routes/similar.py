"""Similarity search by local features over the cases the caller's agency may see (audited)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from cairn.api.deps import Caller, RequestContext, Server
from cairn.api.permissions import V1
from cairn.api.schemas import NO_NUL, SimilarHitOut
from cairn.core.errors import UsageError
from cairn.services import similarity

router = APIRouter(prefix=V1, tags=["similarity"])


@router.post(
    "/similar",
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    },
)
async def search_similar(
    request: Request,
    state: Server,
    ctx: RequestContext,
    principal: Caller,
    sha256: str | None = Query(
        None, pattern="^[0-9a-f]{64}$", description="A media item of the agency's cases."
    ),
    region: str | None = Query(
        None, pattern=NO_NUL, description="X,Y,W,H: search with this part of the image only."
    ),
    case: str | None = Query(
        None, pattern=NO_NUL, description="Search this case only (default: every case)."
    ),
    top: int = Query(similarity.DEFAULT_TOP, ge=1, le=1000),
) -> list[SimilarHitOut]:
    """Places in the agency's cases of images and videos showing the query picture (cropped,
    framed, mirrored, captioned) or its scene, verified by local features, best score first
    (`time`: the seconds into a video of the keyframe that matched). The
    query is an image as the request body (kept in memory only, never stored), or `sha256`
    with an empty body. Over the size cap: 413."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > state.settings.upload_max_bytes:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "image larger than the cap")
    if bool(body) == (sha256 is not None):
        raise UsageError("send an image as the body, or give sha256 with an empty body")
    result = await run_in_threadpool(
        similarity.similar,
        ctx,
        principal,
        image=bytes(body) if body else None,
        sha256=sha256,
        region=similarity.parse_region(region),
        case_ref=case,
        top=top,
    )
    return [SimilarHitOut.model_validate(h, from_attributes=True) for h in result.hits]
