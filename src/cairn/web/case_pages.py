"""A case's other pages: an item's view, the offline map, the messaging graph, the series
board and the case report. Each checks the case like the queue does (another agency's case is
the 404 page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from cairn.core.errors import UsageError
from cairn.services import media, review, similarity
from cairn.services.access import case_for, usable_by_agency, visible_series
from cairn.services.links import linked_cases, stored_links
from cairn.services.messaging.graph import case_graph
from cairn.services.messaging.places import case_places
from cairn.services.messaging.reports import analyse_case
from cairn.services.records.clues import CLUES
from cairn.services.records.common import list_records
from cairn.services.records.leads import LEADS
from cairn.services.records.persons import PERSONS
from cairn.services.records.victims import VICTIMS
from cairn.services.series import add_media, create_series, list_series, show_series
from cairn.store import audit
from cairn.store.case_media import case_media
from cairn.store.models import Case, HashSet, KnownHash, Match
from cairn.store.record_models import LocationClue
from cairn.store.series_models import Series
from cairn.store.video_models import Video
from cairn.web import graphdraw, worldmap
from cairn.web.guard import Csrf, Viewer, needs
from cairn.web.pages import sha256_of
from cairn.web.render import page

router = APIRouter(include_in_schema=False)
MAX_QUERY_BYTES = 50 << 20  # a photo to search with, not an archive


@dataclass(frozen=True)
class MatchRow:
    hashset: str
    hashset_file_sha256: str
    method: str
    distance: int
    variant: str
    band: str
    category: str
    series: str


@dataclass(frozen=True)
class LinkRow:
    case: str
    sha256: str
    method: str
    score: float
    region: tuple[int, int, int, int] | None  # on this item, in its pixels
    time: float | None = None  # this video's keyframe the region is on (seconds into it)


def _case(viewer: Viewer, ref: str) -> Case:
    with viewer.ctx.db.session() as session:
        case = case_for(session, viewer.principal, ref)
        session.expunge(case)
        return case


@router.get("/cases/{ref}/items/{sha256}")
def item(
    request: Request,
    ref: str,
    sha256: str,
    viewer: Annotated[Viewer, Depends(needs("media.read"))],
) -> Response:
    sha = sha256_of(sha256)
    with viewer.ctx.db.session() as session:
        case = review.case_item(session, viewer.principal, ref, sha)
        case_ref, agency_id = case.ref, case.agency_id
        connection = session.connection()
        matches = [
            MatchRow(*row[:6], f"{row[6]}:{row[7] or ''}" if row[6] else "", row[8] or "")
            for row in session.execute(
                select(
                    HashSet.name,
                    Match.hashset_file_sha256,
                    Match.method,
                    Match.distance,
                    Match.variant,
                    Match.band,
                    KnownHash.category_scheme,
                    KnownHash.category_code,
                    KnownHash.series,
                )
                .join(HashSet, HashSet.id == Match.hashset_id)
                .join(KnownHash, KnownHash.id == Match.known_hash_id)
                .where(Match.media_sha256 == sha, usable_by_agency(agency_id))
                .order_by(Match.distance, HashSet.name)
            )
        ]
        stored = stored_links(connection, [sha])
        holders = linked_cases(connection, {s.other for s in stored}, agency_id)
        links = [
            LinkRow(
                other_case,
                s.other,
                s.method,
                s.score,
                s.region,
                s.details.get("keyframes", {}).get(sha),
            )
            for s in stored
            for other_case in holders.get(s.other, ())
        ]
        video = session.get(Video, sha)
        if video is not None:
            session.expunge(video)
        clues = list(
            session.execute(
                select(LocationClue.description, Series.name)
                .join(Series, Series.id == LocationClue.series_id)
                .where(
                    LocationClue.media_sha256 == sha,
                    Series.id.in_(
                        visible_series(session, viewer.principal).with_only_columns(Series.id)
                    ),
                )
                .order_by(Series.name, LocationClue.id)
            )
        )
        violent = bool(review.flagged_violent(session, case.id, [sha], viewer.principal.user_id))
    view = media.media_view(viewer.ctx, viewer.principal, sha)  # audited as media.read
    own_series = (
        [
            s
            for s in list_series(viewer.ctx, viewer.principal)
            if s.agency == viewer.principal.agency_code
        ]
        if viewer.may("series.write")
        else []
    )
    context = [m for m in analyse_case(viewer.ctx, case_ref).media if m.sha256 == sha]
    return page(
        request,
        "item.html",
        viewer,
        case_ref=case_ref,
        here="item",
        item=view,
        video=video,
        matches=matches,
        links=links,
        messaging=context,
        series_names=sorted({m.series for m in matches if m.series} | {name for _, name in clues}),
        clues=clues,
        can_see=viewer.may("thumbnail.read"),
        violent=violent,
        own_series=own_series,
    )


@router.post("/cases/{ref}/items/{sha256}/series")
def file_in_series(
    ref: str,
    sha256: str,
    viewer: Annotated[Viewer, Depends(needs("series.write"))],
    _csrf: Csrf,
    series_id: Annotated[str, Form(max_length=20)] = "",
    new_series: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """File the item in one of the agency's series, or in a new one named here."""
    sha = sha256_of(sha256)
    case = _case(viewer, ref)
    if new_series.strip():
        target = create_series(viewer.ctx, viewer.principal, new_series.strip()).id
    elif series_id.isdigit():
        target = int(series_id)
    else:
        raise UsageError("choose a series or name a new one")
    add_media(viewer.ctx, viewer.principal, target, case.ref, [sha])
    return RedirectResponse(f"/cases/{case.ref}/items/{sha}", status_code=303)


@router.get("/cases/{ref}/map")
def case_map(
    request: Request, ref: str, viewer: Annotated[Viewer, Depends(needs("media.read"))]
) -> Response:
    case = _case(viewer, ref)
    base = f"/cases/{case.ref}/items/"
    points = []
    for place in case_places(viewer.ctx, case.ref):
        if place.source == "media-gps" and place.sha256:
            label = f"{place.device}: item {place.sha256[:12]} ({place.at or 'no time'})"
            points.append(
                worldmap.point(place.latitude, place.longitude, "media", label, base + place.sha256)
            )
        else:
            label = f"{place.device}: {place.who or 'someone'} in {place.chat or 'a chat'}"
            label += f" ({place.name})" if place.name else ""
            points.append(worldmap.point(place.latitude, place.longitude, "message", label))
    with viewer.ctx.db.session() as session:
        for description, series_name, lat, lon in session.execute(
            select(
                LocationClue.description, Series.name, LocationClue.latitude, LocationClue.longitude
            )
            .join(Series, Series.id == LocationClue.series_id)
            .where(
                Series.id.in_(
                    visible_series(session, viewer.principal).with_only_columns(Series.id)
                ),
                LocationClue.media_sha256.in_(case_media(case.id)),
                LocationClue.latitude.is_not(None),
                LocationClue.longitude.is_not(None),
            )
            .order_by(Series.name, LocationClue.id)
        ):
            assert lat is not None and lon is not None  # selected by them
            points.append(worldmap.point(lat, lon, "clue", f"clue of {series_name}: {description}"))
        audit.record(
            session, viewer.ctx.actor, "case.read", case.ref, view="map", points=len(points)
        )
        session.commit()
    return page(
        request,
        "map.html",
        viewer,
        case_ref=case.ref,
        here="map",
        points=points,
        outline=worldmap.outline_paths(),
        width=worldmap.WIDTH,
        height=worldmap.HEIGHT,
    )


@router.get("/cases/{ref}/graph")
def graph(
    request: Request, ref: str, viewer: Annotated[Viewer, Depends(needs("messages.read"))]
) -> Response:
    case = _case(viewer, ref)
    analysis = analyse_case(viewer.ctx, case.ref)
    drawing = graphdraw.draw(case_graph(analysis), f"/cases/{case.ref}/items/")
    with viewer.ctx.db.session() as session:
        audit.record(session, viewer.ctx.actor, "case.read", case.ref, view="graph")
        session.commit()
    return page(
        request,
        "graph.html",
        viewer,
        case_ref=case.ref,
        here="graph",
        drawing=drawing,
        width=graphdraw.WIDTH,
        height=graphdraw.HEIGHT,
    )


@router.get("/cases/{ref}/series")
def series_board(
    request: Request, ref: str, viewer: Annotated[Viewer, Depends(needs("series.read"))]
) -> Response:
    case = _case(viewer, ref)
    board: list[dict[str, Any]] = []
    for series in list_series(viewer.ctx, viewer.principal):
        key = str(series.id)
        board.append(
            {
                "series": series,
                "detail": show_series(viewer.ctx, viewer.principal, series.id),
                "victims": list_records(viewer.ctx, viewer.principal, VICTIMS, key),
                "persons": list_records(viewer.ctx, viewer.principal, PERSONS, key),
                "clues": list_records(viewer.ctx, viewer.principal, CLUES, key),
                "leads": list_records(viewer.ctx, viewer.principal, LEADS, key),
            }
        )
    with viewer.ctx.db.session() as session:
        audit.record(session, viewer.ctx.actor, "series.read", case.ref, view="board")
        session.commit()
    return page(request, "series.html", viewer, case_ref=case.ref, here="series", board=board)


@router.get("/cases/{ref}/report")
def report_form(
    request: Request, ref: str, viewer: Annotated[Viewer, Depends(needs("case.export"))]
) -> Response:
    case = _case(viewer, ref)
    return page(
        request,
        "report.html",
        viewer,
        case_ref=case.ref,
        here="report",
        internal_allowed=viewer.may("thumbnail.read"),
    )


@router.get("/cases/{ref}/report/download")
def report_download(
    ref: str,
    viewer: Annotated[Viewer, Depends(needs("case.export"))],
    format: Literal["pdf", "html"] = "pdf",
    internal_review: bool = False,
) -> Response:
    """The case's report (services.reports), made now and audited as report.create."""
    from cairn.services.reports.render import create_report

    case = _case(viewer, ref)
    rendered = create_report(
        viewer.ctx,
        viewer.principal,
        case.ref,
        format,
        internal_review=internal_review,
        destination=f"web:{viewer.ctx.actor.origin}",
    )
    return Response(
        rendered.data,
        media_type=rendered.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{rendered.filename}"',
            "Cache-Control": "no-store, private",
        },
    )


@router.get("/cases/{ref}/similar")
def similar_form(
    request: Request,
    ref: str,
    viewer: Annotated[Viewer, Depends(needs("search.similar"))],
    sha256: str = "",
    region: str = "",
) -> Response:
    """Similar-image search from an item of the case (and a region of it), every case of the
    agency searched; an uploaded picture is searched by the POST beside it."""
    case = _case(viewer, ref)
    result = None
    if sha256:
        result = similarity.similar(
            viewer.ctx,
            viewer.principal,
            sha256=sha256_of(sha256),
            region=similarity.parse_region(region or None),
        )
    return page(
        request,
        "similar.html",
        viewer,
        case_ref=case.ref,
        here="similar",
        sha256=sha256,
        region=region,
        result=result,
    )


@router.post("/cases/{ref}/similar")
async def similar_upload(
    request: Request,
    ref: str,
    viewer: Annotated[Viewer, Depends(needs("search.similar"))],
    _csrf: Csrf,
) -> Response:
    """Similar-image search with an uploaded picture (kept in memory only, never stored)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.datastructures import UploadFile

    case = _case(viewer, ref)
    form = await request.form()
    upload = form.get("image")
    region = form.get("region")
    if not isinstance(upload, UploadFile):
        raise UsageError("choose a picture to search with")
    data = await upload.read(MAX_QUERY_BYTES + 1)
    if len(data) > MAX_QUERY_BYTES:
        raise UsageError("the picture is larger than the search accepts")
    result = await run_in_threadpool(
        similarity.similar,
        viewer.ctx,
        viewer.principal,
        image=data,
        region=similarity.parse_region(region if isinstance(region, str) and region else None),
    )
    return page(
        request,
        "similar.html",
        viewer,
        case_ref=case.ref,
        here="similar",
        sha256="",
        region=region if isinstance(region, str) else "",
        result=result,
    )
