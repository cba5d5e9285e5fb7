"""Cases of the caller's agency: list, create, read (audited), export, report."""

from __future__ import annotations

from typing import Literal, TextIO

from fastapi import APIRouter, Query, status
from fastapi.responses import Response, StreamingResponse

from cairn.api.deps import Caller, RequestContext, check_case
from cairn.api.permissions import V1
from cairn.api.schemas import MAX_ID, CaseCreate, CaseMediaItem, CaseOut
from cairn.api.streaming import stream_text
from cairn.services import cases, export, media
from cairn.services.access import in_namespace

router = APIRouter(prefix=f"{V1}/cases", tags=["cases"])


@router.get("")
def list_cases(ctx: RequestContext, principal: Caller) -> list[CaseOut]:
    return [
        CaseOut.model_validate(c, from_attributes=True) for c in cases.list_cases(ctx, principal)
    ]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_case(body: CaseCreate, ctx: RequestContext, principal: Caller) -> CaseOut:
    cases.check_case_ref(body.ref)  # the ref as given, then as namespaced (create_case)
    ref = in_namespace(principal, body.ref)
    cases.create_case(ctx, ref, body.title, agency_id=principal.agency_id)
    return CaseOut.model_validate(cases.read_case(ctx, principal, ref), from_attributes=True)


@router.get("/{ref}")
def read_case(ref: str, ctx: RequestContext, principal: Caller) -> CaseOut:
    return CaseOut.model_validate(cases.read_case(ctx, principal, ref), from_attributes=True)


@router.get("/{ref}/media")
def case_media(
    ref: str,
    ctx: RequestContext,
    principal: Caller,
    offset: int = Query(0, ge=0, le=MAX_ID),
    limit: int = Query(100, ge=1, le=1000),
) -> list[CaseMediaItem]:
    """The case's distinct media items (hashes and counts), a page at a time."""
    items = media.case_media(ctx, principal, ref, offset=offset, limit=limit)
    return [CaseMediaItem.model_validate(item, from_attributes=True) for item in items]


@router.get("/{ref}/export/hashes", response_class=StreamingResponse)
def export_hashes(ref: str, ctx: RequestContext, principal: Caller) -> StreamingResponse:
    """The hash export (CSV, one row per occurrence; docs/architecture.md), streamed; audited."""
    check_case(ctx, principal, ref)  # 404 before the stream starts
    name = ref if cases.is_case_ref(ref) else "case"

    def write(out: TextIO) -> None:
        export.export_hashes(ctx, ref, "csv", out, destination=f"api:{ctx.actor.origin}")

    return StreamingResponse(
        stream_text(write),
        media_type="text/csv",
        headers={
            # A ref made before refs were checked may hold anything: then a plain name.
            "Content-Disposition": f'attachment; filename="{name}-hashes.csv"',
            "Cache-Control": "no-store, private",
        },
    )


@router.get("/{ref}/report", response_class=Response)
def case_report(
    ref: str,
    ctx: RequestContext,
    principal: Caller,
    format: Literal["pdf", "html"] = "pdf",
    internal_review: bool = False,
) -> Response:
    """The case's report (docs/architecture.md, "Case reports"), made now and audited; with
    `internal_review`, the review queue with protected thumbnails (needs thumbnail.read)."""
    from cairn.services.reports.render import create_report

    rendered = create_report(
        ctx,
        principal,
        ref,
        format,
        internal_review=internal_review,
        destination=f"api:{ctx.actor.origin}",
    )
    name = rendered.filename if cases.is_case_ref(ref) else f"case-report.{format}"
    return Response(
        rendered.data,
        media_type=rendered.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store, private",
        },
    )
