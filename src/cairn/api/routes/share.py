"""Federation: what partner instances fetch (signed bundles, filters, notices, hits on their
notices) and where a partner's file is imported (docs/federation.md)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from cairn.api.deps import Caller, RequestContext, RowId, Server
from cairn.api.permissions import V1
from cairn.api.schemas import NO_NUL
from cairn.api.uploads import receive_upload, upload_folder
from cairn.core.types import Role
from cairn.hashsets.share_file import public_key_hex
from cairn.services.access import owned_hashset
from cairn.services.context import Context
from cairn.services.identity import Principal
from cairn.services.sharing.bundles import export_bundle, import_share
from cairn.services.sharing.filters import export_filter
from cairn.services.sharing.notices import export_notice_hits, export_notices
from cairn.services.sharing.series_status import export_series
from cairn.services.sharing.trust import instance_key

router = APIRouter(prefix=f"{V1}/share", tags=["federation"])


def _signed_file(ctx: Context, name: str, write: Callable[[Path], object]) -> FileResponse:
    """Write a share file into the workspace's upload folder, send it, then delete it."""
    path = upload_folder(ctx.workspace.root) / f"{secrets.token_hex(8)}.share"
    try:
        write(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=name,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


def _set_name(ctx: Context, principal: Principal, hashset_id: int) -> str:
    """The caller's agency's own set (a set shared with every agency is still its owner's)."""
    with ctx.db.session() as session:
        return owned_hashset(session, principal, hashset_id).name


@router.get("/key")
def instance_public_key(ctx: RequestContext, principal: Caller) -> dict[str, str]:
    """This instance's Ed25519 public key, to trust its files by."""
    return {"public_key": public_key_hex(instance_key(ctx))}


@router.get("/hashsets/{hashset_id}/bundle", response_class=FileResponse)
def bundle(
    hashset_id: RowId,
    ctx: RequestContext,
    principal: Caller,
    since: int | None = Query(None, ge=1, description="A delta since this version."),
) -> FileResponse:
    """A signed bundle of one of the agency's sets (the next version; audited)."""
    name = _set_name(ctx, principal, hashset_id)
    return _signed_file(
        ctx, f"hashset-{hashset_id}.share", lambda out: export_bundle(ctx, name, out, since=since)
    )


@router.get("/hashsets/{hashset_id}/filter", response_class=FileResponse)
def match_filter(hashset_id: RowId, ctx: RequestContext, principal: Caller) -> FileResponse:
    """A signed, non-invertible match filter of one of the agency's sets (audited)."""
    name = _set_name(ctx, principal, hashset_id)
    return _signed_file(
        ctx, f"hashset-{hashset_id}.filter", lambda out: export_filter(ctx, name, out)
    )


@router.get("/notices", response_class=FileResponse)
def notices(ctx: RequestContext, principal: Caller) -> FileResponse:
    """The agency's person notices, signed."""
    return _signed_file(
        ctx, "notices.share", lambda out: export_notices(ctx, out, principal.agency_id)
    )


@router.get("/series", response_class=FileResponse)
def series_statuses(ctx: RequestContext, principal: Caller) -> FileResponse:
    """The agency's shared series: status, country, contact, members' SHA-256s; no media."""
    return _signed_file(
        ctx, "series.share", lambda out: export_series(ctx, out, principal.agency_id)
    )


@router.get("/notice-hits", response_class=FileResponse)
def notice_hits(
    ctx: RequestContext,
    principal: Caller,
    partner: str = Query("", max_length=200, pattern=NO_NUL, description="Whose notices."),
) -> FileResponse:
    """Which of a partner's notices the agency saw, and when; nothing of the cases. A partner
    account is answered about its own notices only (its name is the trusted name)."""
    name = principal.username.split(":")[-1] if principal.role == Role.PARTNER else partner
    return _signed_file(
        ctx,
        "notice-hits.share",
        lambda out: export_notice_hits(ctx, name, out, principal.agency_id),
    )


@router.post(
    "/import",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    },
)
async def import_file(
    request: Request,
    state: Server,
    ctx: RequestContext,
    principal: Caller,
    name: str | None = Query(None, min_length=1, max_length=200, pattern=NO_NUL),
) -> dict[str, Any]:
    """Import a partner's signed file (the request body) for the agency, verified against the
    trusted keys; a refusal is 422 and imports nothing."""
    folder = upload_folder(ctx.workspace.root)
    path = await receive_upload(request, folder, "share", state.settings.upload_max_bytes)
    try:
        summary = await run_in_threadpool(
            import_share, ctx, path, name, agency_id=principal.agency_id
        )
    finally:
        path.unlink(missing_ok=True)
    return asdict(summary)
