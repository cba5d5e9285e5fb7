"""Hash sets: list the usable ones (own and shared), upload one to import, share it."""

from __future__ import annotations

from typing import Literal, TextIO

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from cairn.api.deps import Caller, RequestContext, RowId, Server
from cairn.api.permissions import V1
from cairn.api.routes.jobs import job_out
from cairn.api.schemas import NO_NUL, HashSetOut, JobOut, ShareRequest
from cairn.api.streaming import stream_text
from cairn.api.uploads import receive_hashset, upload_folder
from cairn.core.errors import NotFoundError
from cairn.core.thresholds import PDQ_MATCH_DISTANCE
from cairn.services import hashsets, jobs
from cairn.services.access import hashset_for, in_namespace, require
from cairn.services.hashsets import KINDS, HashSetInfo

router = APIRouter(prefix=f"{V1}/hashsets", tags=["hash sets"])


def _out(info: HashSetInfo) -> HashSetOut:
    return HashSetOut.model_validate(info, from_attributes=True)


@router.get("")
def list_hashsets(ctx: RequestContext, principal: Caller) -> list[HashSetOut]:
    """The agency's own sets and every agency's shared ones."""
    return [_out(h) for h in hashsets.list_hashsets(ctx, principal=principal)]


@router.get("/{hashset_id}")
def get_hashset(hashset_id: RowId, ctx: RequestContext, principal: Caller) -> HashSetOut:
    found = [h for h in hashsets.list_hashsets(ctx, principal=principal) if h.id == hashset_id]
    if not found:
        raise NotFoundError(f"no hash set {hashset_id}")
    return _out(found[0])


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    },
)
async def upload_hashset(
    request: Request,
    state: Server,
    ctx: RequestContext,
    principal: Caller,
    name: str = Query(min_length=1, max_length=200, pattern=NO_NUL),
    kind: Literal["illegal", "ignorable", "alert"] = Query("illegal"),
    format: str = Query(
        "auto", description="auto, or a format name (vics, icse-csv, …).", pattern=NO_NUL
    ),
    filename: str = Query(
        "hashset", description="The file's name (some formats probe it).", pattern=NO_NUL
    ),
    shared: bool = Query(False, description="Usable by every agency."),
    pdq_threshold: int = Query(PDQ_MATCH_DISTANCE, ge=0, le=128),
) -> JobOut:
    """Upload a hash-set file as the request body; it is stored in the workspace, checked to
    be a supported format, and imported by a background job. Over the size cap: 413; not a
    hash set: 415."""
    assert kind in KINDS
    if shared:
        require(principal, "hashset.share")
    path, fmt = await receive_hashset(
        request,
        upload_folder(ctx.workspace.root),
        filename,
        format,
        state.settings.upload_max_bytes,
    )
    params = {
        "upload": str(path),
        "name": in_namespace(principal, name),
        "kind": kind,
        "format": fmt,
        "shared": shared,
        "pdq_threshold": pdq_threshold,
        "agency_id": principal.agency_id,
    }
    kind_ = jobs.JobKind.HASHSET_IMPORT
    job = await run_in_threadpool(jobs.submit, ctx, principal, kind_, params)
    state.runner.wake()
    return job_out(job, principal)


@router.get("/{hashset_id}/export", response_class=StreamingResponse)
def export_hashset(hashset_id: RowId, ctx: RequestContext, principal: Caller) -> StreamingResponse:
    """The set as VICS 2.0 JSON (hashes and labels, never paths), streamed; audited."""
    with ctx.db.session() as session:
        name = hashset_for(session, principal, hashset_id).name

    def write(out: TextIO) -> None:
        hashsets.export_hashset(ctx, name, out)

    return StreamingResponse(
        stream_text(write),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="hashset-{hashset_id}.json"'},
    )


@router.put("/{hashset_id}/shared")
def share_hashset(
    hashset_id: RowId, body: ShareRequest, ctx: RequestContext, principal: Caller
) -> HashSetOut:
    """Share the set with every agency (or stop); only the owning agency may."""
    return _out(hashsets.set_shared(ctx, principal, hashset_id, body.shared))
