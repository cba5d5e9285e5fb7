"""The victim-identification records of a series (docs/records.md): victims, persons, location
clues, leads, the country ranking, Trace an Object crops and tips, and the caller's inbox.

Records follow their series: read where the series is visible (a shared one without personal
data), changed by its own agency only; anything else answers like a missing record.
"""

from __future__ import annotations

from typing import Annotated, Any, BinaryIO, TextIO

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from cairn.api.deps import Caller, RequestContext, RowId
from cairn.api.permissions import V1
from cairn.api.schemas import MAX_ID, SHA256, Text
from cairn.api.streaming import stream_bytes, stream_text
from cairn.services.access import require
from cairn.services.records import geo, lead_package, trace
from cairn.services.records.clues import CLUES, ClueView, add_clue
from cairn.services.records.common import (
    Kind,
    Row,
    View,
    check_series,
    country,
    country_evidence,
    list_records,
    show_record,
    update_record,
)
from cairn.services.records.countries import CountryRank, rank_countries
from cairn.services.records.inbox import InboxItem, inbox
from cairn.services.records.leads import LEADS, LeadView, add_lead
from cairn.services.records.persons import PERSONS, PersonView, add_person
from cairn.services.records.victims import VICTIMS, VictimView, add_victim

router = APIRouter(prefix=V1, tags=["records"])

Short = Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")]
Shorts = Annotated[list[Short], Field(max_length=300)]
# The media item a crop is cut from: one picture, so a modest cap.
CROP_IMAGE_MAX_BYTES = 64 * 1024 * 1024


class Changes(BaseModel):
    """Only the fields present change; `reason` is kept in the history (needed when a status
    goes back)."""

    reason: Text | None = None

    def changes(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.model_fields_set if k != "reason"}


class VictimCreate(BaseModel):
    age_band: Short = "unknown"
    sex: Short = "unknown"
    status: Short = "unidentified"
    name: Text | None = None
    notes: Text = ""


class VictimUpdate(Changes):
    age_band: Short | None = None
    sex: Short | None = None
    status: Short | None = None
    name: Text | None = None
    notes: Text | None = None


class PersonCreate(BaseModel):
    role: Short
    status: Short = "unidentified"
    name: Text | None = None
    phones: Shorts = []
    accounts: Shorts = []
    notes: Text = ""


class PersonUpdate(Changes):
    role: Short | None = None
    status: Short | None = None
    name: Text | None = None
    phones: Shorts | None = None
    accounts: Shorts | None = None
    notes: Text | None = None


class ClueCreate(BaseModel):
    kind: Short
    description: Text
    sha256: Annotated[str, Field(pattern=SHA256)] | None = None
    region: Short | None = Field(None, description="X,Y,W,H in the media item's pixels.")
    message_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None
    text: Text | None = None
    language: Short | None = None
    socket_type: Short | None = None
    supports: Shorts = Field([], description="CC or CC:CONFIDENCE per country.")
    eliminates: Shorts = []


class ClueUpdate(Changes):
    description: Text | None = None
    text: Text | None = None
    language: Short | None = None
    socket_type: Short | None = None
    supports: Shorts | None = Field(None, description="With `eliminates`: replaces both.")
    eliminates: Shorts | None = None

    def changes(self) -> dict[str, Any]:
        changes = super().changes()
        if "supports" in changes or "eliminates" in changes:
            changes.pop("supports", None)
            changes.pop("eliminates", None)
            changes["countries"] = country_evidence(self.supports or [], self.eliminates or [])
        return changes


class LeadCreate(BaseModel):
    country: Short
    sent_at: Short | None = Field(None, description="ISO 8601; default now.")
    sent_by: Short | None = None
    outcome: Short = "pending"
    reference: Text = ""
    notes: Text = ""


class LeadUpdate(Changes):
    outcome: Short | None = None
    reference: Text | None = None
    notes: Text | None = None


class TipCreate(BaseModel):
    text: Text
    source: Text = ""
    supports: Shorts = []
    eliminates: Shorts = []


def _series(series_id: int) -> str:
    return str(series_id)


# Victims -------------------------------------------------------------------------------------


@router.get("/series/{series_id}/victims")
def list_victims(series_id: RowId, ctx: RequestContext, principal: Caller) -> list[VictimView]:
    return list_records(ctx, principal, VICTIMS, _series(series_id))


@router.post("/series/{series_id}/victims", status_code=status.HTTP_201_CREATED)
def create_victim(
    series_id: RowId, body: VictimCreate, ctx: RequestContext, principal: Caller
) -> VictimView:
    return add_victim(ctx, principal, _series(series_id), **body.model_dump())


@router.get("/victims/{victim_id}")
def get_victim(victim_id: RowId, ctx: RequestContext, principal: Caller) -> VictimView:
    return show_record(ctx, principal, VICTIMS, victim_id)


@router.patch("/victims/{victim_id}")
def update_victim(
    victim_id: RowId, body: VictimUpdate, ctx: RequestContext, principal: Caller
) -> VictimView:
    return _update(ctx, principal, VICTIMS, victim_id, body)


def _update(
    ctx: RequestContext, principal: Caller, kind: Kind[Row, View], record_id: int, body: Changes
) -> View:
    return update_record(ctx, principal, kind, record_id, body.changes(), body.reason)


# Persons -------------------------------------------------------------------------------------


@router.get("/series/{series_id}/persons")
def list_persons(series_id: RowId, ctx: RequestContext, principal: Caller) -> list[PersonView]:
    return list_records(ctx, principal, PERSONS, _series(series_id))


@router.post("/series/{series_id}/persons", status_code=status.HTTP_201_CREATED)
def create_person(
    series_id: RowId, body: PersonCreate, ctx: RequestContext, principal: Caller
) -> PersonView:
    return add_person(ctx, principal, _series(series_id), **body.model_dump())


@router.get("/persons/{person_id}")
def get_person(person_id: RowId, ctx: RequestContext, principal: Caller) -> PersonView:
    return show_record(ctx, principal, PERSONS, person_id)


@router.patch("/persons/{person_id}")
def update_person(
    person_id: RowId, body: PersonUpdate, ctx: RequestContext, principal: Caller
) -> PersonView:
    return _update(ctx, principal, PERSONS, person_id, body)


# Clues ---------------------------------------------------------------------------------------


@router.get("/series/{series_id}/clues")
def list_clues(series_id: RowId, ctx: RequestContext, principal: Caller) -> list[ClueView]:
    return list_records(ctx, principal, CLUES, _series(series_id))


@router.post("/series/{series_id}/clues", status_code=status.HTTP_201_CREATED)
def create_clue(
    series_id: RowId, body: ClueCreate, ctx: RequestContext, principal: Caller
) -> ClueView:
    fields = body.model_dump()
    fields["region_xywh"] = fields.pop("region")
    return add_clue(ctx, principal, _series(series_id), **fields)


@router.get("/clues/{clue_id}")
def get_clue(clue_id: RowId, ctx: RequestContext, principal: Caller) -> ClueView:
    return show_record(ctx, principal, CLUES, clue_id)


@router.patch("/clues/{clue_id}")
def update_clue(
    clue_id: RowId, body: ClueUpdate, ctx: RequestContext, principal: Caller
) -> ClueView:
    return _update(ctx, principal, CLUES, clue_id, body)


@router.get("/series/{series_id}/countries")
def series_countries(series_id: RowId, ctx: RequestContext, principal: Caller) -> list[CountryRank]:
    """The series' countries ranked by its clues and tips, best first, with the evidence."""
    return rank_countries(ctx, principal, _series(series_id))


# Leads ---------------------------------------------------------------------------------------


@router.get("/series/{series_id}/leads")
def list_leads(series_id: RowId, ctx: RequestContext, principal: Caller) -> list[LeadView]:
    return list_records(ctx, principal, LEADS, _series(series_id))


@router.post("/series/{series_id}/leads", status_code=status.HTTP_201_CREATED)
def create_lead(
    series_id: RowId, body: LeadCreate, ctx: RequestContext, principal: Caller
) -> LeadView:
    fields = body.model_dump()
    return add_lead(ctx, principal, _series(series_id), fields.pop("country"), **fields)


@router.get("/leads/{lead_id}")
def get_lead(lead_id: RowId, ctx: RequestContext, principal: Caller) -> LeadView:
    return show_record(ctx, principal, LEADS, lead_id)


@router.patch("/leads/{lead_id}")
def update_lead(
    lead_id: RowId, body: LeadUpdate, ctx: RequestContext, principal: Caller
) -> LeadView:
    return _update(ctx, principal, LEADS, lead_id, body)


# Trace an Object -----------------------------------------------------------------------------


async def _image(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > CROP_IMAGE_MAX_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "image larger than the cap")
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > CROP_IMAGE_MAX_BYTES:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "image larger than the cap")
    return bytes(received)


@router.post(
    "/clues/{clue_id}/crops",
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    },
)
async def create_crop(
    clue_id: RowId, request: Request, ctx: RequestContext, principal: Caller
) -> trace.CropView:
    """Cut the clue's region from the body: the bytes of the clue's media item."""
    data = await _image(request)
    return await run_in_threadpool(trace.crop_object, ctx, principal, clue_id, data)


@router.get("/crops/{crop_id}")
def get_crop(crop_id: RowId, ctx: RequestContext, principal: Caller) -> trace.CropView:
    return trace.show_crop(ctx, principal, crop_id)


@router.post("/crops/{crop_id}/confirm")
def confirm_crop(crop_id: RowId, ctx: RequestContext, principal: Caller) -> trace.CropView:
    """The specialist's word that the crop shows an object and no person."""
    return trace.confirm_crop(ctx, principal, crop_id)


@router.post(
    "/crops/{crop_id}/publish",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
def publish_crop(crop_id: RowId, ctx: RequestContext, principal: Caller) -> Response:
    """The publication package (zip: the crop and its manifest); audited."""
    import io

    out = io.BytesIO()  # a crop and a manifest: small
    trace.publication_package(ctx, principal, crop_id, out)
    return Response(
        out.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="object-{crop_id}.zip"'},
    )


@router.post("/crops/{crop_id}/tips", status_code=status.HTTP_201_CREATED)
def create_tip(
    crop_id: RowId, body: TipCreate, ctx: RequestContext, principal: Caller
) -> trace.TipView:
    return trace.add_tip(ctx, principal, crop_id, **body.model_dump())


# Exports -------------------------------------------------------------------------------------


@router.get("/series/{series_id}/export/geojson", response_class=StreamingResponse)
def export_series_geojson(
    series_id: RowId, ctx: RequestContext, principal: Caller
) -> StreamingResponse:
    """The series' clues and the GPS of their media the agency holds, as GeoJSON; audited."""
    require(principal, "series.export")
    check_series(ctx, principal, _series(series_id))  # 404 before the stream starts

    def write(out: TextIO) -> None:
        geo.export_series_geojson(ctx, principal, _series(series_id), out)

    return StreamingResponse(
        stream_text(write),
        media_type="application/geo+json",
        headers={"Content-Disposition": f'attachment; filename="series-{series_id}.geojson"'},
    )


class LeadPackageRequest(BaseModel):
    country: Short = Field(description="The receiving country (ISO 3166-1 alpha-2).")


@router.post("/series/{series_id}/export/lead", response_class=StreamingResponse)
def export_lead_package(
    series_id: RowId, body: LeadPackageRequest, ctx: RequestContext, principal: Caller
) -> StreamingResponse:
    """The lead package of the agency's own series for another country (zip); audited."""
    require(principal, "series.export")
    check_series(ctx, principal, _series(series_id), write=True)
    code = country(body.country)

    def write(out: BinaryIO) -> None:
        lead_package.export_lead_package(ctx, principal, _series(series_id), code, out)

    return StreamingResponse(
        stream_bytes(write),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="lead-{series_id}-{code}.zip"'},
    )


# Outcome feedback ----------------------------------------------------------------------------


@router.get("/inbox")
def get_inbox(ctx: RequestContext, principal: Caller) -> list[InboxItem]:
    """Series the caller worked on that were identified or safeguarded, newest first."""
    return inbox(ctx, principal)
