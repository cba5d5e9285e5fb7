"""Series: the agency's own and every agency's shared ones; the owning agency changes them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from cairn.api.deps import Caller, RequestContext, RowId
from cairn.api.permissions import V1
from cairn.api.schemas import SeriesCreate, SeriesOut, SeriesUpdate
from cairn.services import series

router = APIRouter(prefix=f"{V1}/series", tags=["series"])


def _out(info: series.SeriesInfo) -> SeriesOut:
    return SeriesOut.model_validate(info, from_attributes=True)


@router.get("")
def list_series(ctx: RequestContext, principal: Caller) -> list[SeriesOut]:
    return [_out(s) for s in series.list_series(ctx, principal)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_series(body: SeriesCreate, ctx: RequestContext, principal: Caller) -> SeriesOut:
    return _out(
        series.create_series(ctx, principal, body.name, shared=body.shared, notes=body.notes)
    )


@router.patch("/{series_id}")
def update_series(
    series_id: RowId, body: SeriesUpdate, ctx: RequestContext, principal: Caller
) -> SeriesOut:
    """Change the fields given (null identified flags mean "unknown"); others keep their value."""
    changes: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    return _out(series.update_series(ctx, principal, series_id, **changes))
