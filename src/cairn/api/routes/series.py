"""Series: the agency's own and every agency's shared ones; the owning agency changes them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from cairn.api.deps import Caller, RequestContext, RowId
from cairn.api.permissions import V1
from cairn.api.schemas import (
    SeriesAdd,
    SeriesCreate,
    SeriesDetailOut,
    SeriesMerge,
    SeriesOut,
    SeriesRemove,
    SeriesSplit,
    SeriesStatusIn,
    SeriesUpdate,
    SuggestionOut,
)
from cairn.services import series, series_suggest

router = APIRouter(prefix=V1, tags=["series"])


def _out(info: series.SeriesInfo) -> SeriesOut:
    return SeriesOut.model_validate(info, from_attributes=True)


@router.get("/series")
def list_series(ctx: RequestContext, principal: Caller) -> list[SeriesOut]:
    return [_out(s) for s in series.list_series(ctx, principal)]


@router.post("/series", status_code=status.HTTP_201_CREATED)
def create_series(body: SeriesCreate, ctx: RequestContext, principal: Caller) -> SeriesOut:
    return _out(
        series.create_series(
            ctx, principal, body.name, shared=body.shared, notes=body.notes, contact=body.contact
        )
    )


@router.get("/series/{series_id}")
def show_series(series_id: RowId, ctx: RequestContext, principal: Caller) -> SeriesDetailOut:
    """A series with its members and history; of another agency's shared series, the member
    hashes only (no cases, no history)."""
    return SeriesDetailOut.model_validate(
        series.show_series(ctx, principal, series_id), from_attributes=True
    )


@router.patch("/series/{series_id}")
def update_series(
    series_id: RowId, body: SeriesUpdate, ctx: RequestContext, principal: Caller
) -> SeriesOut:
    """Change the fields given (null identified flags mean "unknown"); others keep their value."""
    changes: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    return _out(series.update_series(ctx, principal, series_id, **changes))


@router.post("/series/{series_id}/media")
def add_media(
    series_id: RowId, body: SeriesAdd, ctx: RequestContext, principal: Caller
) -> SeriesOut:
    """File items of one of the agency's cases (SHA-256 or evidence:path) in the series."""
    return _out(series.add_media(ctx, principal, series_id, body.case, body.items))


@router.post("/series/{series_id}/media/remove")
def remove_media(
    series_id: RowId, body: SeriesRemove, ctx: RequestContext, principal: Caller
) -> SeriesOut:
    """Take members out (a SHA-256 that is not a member changes nothing)."""
    return _out(series.remove_media(ctx, principal, series_id, body.items, body.reason))


@router.put("/series/{series_id}/status")
def set_status(
    series_id: RowId, body: SeriesStatusIn, ctx: RequestContext, principal: Caller
) -> SeriesOut:
    """Move the series to a status; going back needs a reason (recorded)."""
    return _out(series.set_status(ctx, principal, series_id, body.status, body.reason))


@router.post("/series/{series_id}/merge")
def merge(series_id: RowId, body: SeriesMerge, ctx: RequestContext, principal: Caller) -> SeriesOut:
    """Merge series `other` into this one; both must be the agency's own."""
    return _out(series.merge_series(ctx, principal, series_id, body.other, body.reason))


@router.post("/series/{series_id}/split", status_code=status.HTTP_201_CREATED)
def split(series_id: RowId, body: SeriesSplit, ctx: RequestContext, principal: Caller) -> SeriesOut:
    """Move members into a new series of the same agency; returns the new series."""
    return _out(series.split_series(ctx, principal, series_id, body.name, body.items, body.reason))


@router.get("/cases/{ref}/series-suggestions")
def suggest(ref: str, ctx: RequestContext, principal: Caller) -> list[SuggestionOut]:
    """Existing series the case's media belong to (the agency's own and shared ones), then
    clusters of its new media, each with the links behind it."""
    return [
        SuggestionOut.model_validate(s, from_attributes=True)
        for s in series_suggest.suggest(ctx, principal, ref)
    ]
