"""The workspace's pages: login and logout, the cases, a case's queue with its protected
thumbnails, reveals, violent flags, the reviewer's exposure log, and the agency's alert hits."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from cairn.api.deps import client_address
from cairn.api.login import LoginRefused, password_login
from cairn.core.errors import UsageError
from cairn.services import alerts, grading, review
from cairn.services.access import case_for
from cairn.services.cases import list_cases
from cairn.services.graded import category_text
from cairn.services.review_queue import (
    BUCKET_FILTERS,
    Cursor,
    QueueFilter,
    queue_page,
    stack_members,
)
from cairn.store.grade_models import Grade
from cairn.store.models import Evidence
from cairn.web import hotkeys
from cairn.web.guard import Csrf, Viewer, needs, server_state, web_state
from cairn.web.render import page
from cairn.web.sessions import COOKIE, CSRF_FIELD, LOGIN_COOKIE, same_token

router = APIRouter(include_in_schema=False)

# Images are case material: never cached, never sniffed as anything but JPEG.
IMAGE_HEADERS = {
    "Cache-Control": "no-store, private",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
}


def _cookie(response: Response, request: Request, name: str, value: str, path: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=path,
    )


def _safe_next(target: str) -> str:
    """Only a path of this site: a login link must not send anyone elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") else "/cases"


def _login_page(
    request: Request, message: str = "", status: int = 200, username: str = "", next: str = ""
) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html",
        status=status,
        message=message,
        login_field=CSRF_FIELD,
        login_token=token,
        username=username,
        next=_safe_next(next),
    )
    _cookie(response, request, LOGIN_COOKIE, token, "/login")
    return response


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/cases", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str = "/cases") -> Response:
    return _login_page(request, next=next)


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/cases",
) -> Response:
    # The login form's own token (double-submit cookie): no other site can log a browser in.
    if not same_token(request.cookies.get(LOGIN_COOKIE), csrf_token):
        return _login_page(request, "The form expired: please log in again.", 400, username, next)
    state = server_state(request)
    try:
        principal = password_login(state, client_address(request), username, password)
    except LoginRefused as refused:
        response = _login_page(request, refused.detail, refused.status, username, next)
        if refused.retry_after is not None:
            response.headers["Retry-After"] = str(refused.retry_after)
        return response
    token, _session = web_state(request).sessions.start(principal.user_id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    _cookie(response, request, COOKIE, token, "/")
    response.delete_cookie(LOGIN_COOKIE, path="/login", httponly=True, samesite="strict")
    return response


@router.post("/logout")
def logout(
    request: Request, _viewer: Annotated[Viewer, Depends(needs(None))], _csrf: Csrf
) -> Response:
    web_state(request).sessions.end(request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/cases")
def cases(request: Request, viewer: Annotated[Viewer, Depends(needs("case.read"))]) -> Response:
    return page(request, "cases.html", viewer, cases=list_cases(viewer.ctx, viewer.principal))


@router.get("/cases/{ref}")
def case_home(ref: str, viewer: Annotated[Viewer, Depends(needs("case.read"))]) -> Response:
    with viewer.ctx.db.session() as session:
        case = case_for(session, viewer.principal, ref)
    return RedirectResponse(f"/cases/{case.ref}/queue", status_code=303)


def _flag(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


@router.get("/cases/{ref}/queue")
def queue(
    request: Request,
    ref: str,
    viewer: Annotated[Viewer, Depends(needs("triage.read"))],
    bucket: str = "to-review",
    evidence: str = "",
    category: str | None = None,
    gps: str = "",
    series: str = "",
    after: str = "",
) -> Response:
    chosen = QueueFilter(bucket, evidence or None, category or None, _flag(gps), _flag(series))
    result = queue_page(
        viewer.ctx, viewer.principal, ref, chosen, Cursor.parse(after) if after else None
    )
    with viewer.ctx.db.session() as session:
        case = case_for(session, viewer.principal, ref)
        labels = list(
            session.scalars(
                select(Evidence.label).where(Evidence.case_id == case.id).order_by(Evidence.label)
            )
        )
        shas = [card.sha256 for card in result.cards]
        violent = review.flagged_violent(session, case.id, shas, viewer.principal.user_id)
        graded = {
            sha: category_text(scheme, code)
            for sha, scheme, code in session.execute(
                select(Grade.media_sha256, Grade.scheme, Grade.code).where(
                    Grade.case_id == case.id,
                    Grade.media_sha256.in_(shas),
                    Grade.by == viewer.principal.username,
                    Grade.retracted_at.is_(None),
                )
            )
        }
    query = {
        k: v
        for k, v in (
            ("bucket", bucket),
            ("evidence", evidence),
            ("category", category or ""),
            ("gps", gps),
            ("series", series),
        )
        if v
    }
    next_url = None
    if result.next is not None:
        next_url = f"/cases/{result.case_ref}/queue?" + urlencode(
            {**query, "after": result.next.text()}
        )
    keys = hotkeys.for_scheme("vics")
    return page(
        request,
        "queue.html",
        viewer,
        case_ref=result.case_ref,
        here="queue",
        page=result,
        chosen=chosen,
        gps=gps,
        series=series,
        buckets=BUCKET_FILTERS,
        evidence_labels=labels,
        # The scheme's categories (a DISTINCT over a million-item queue would cost every page).
        categories=[category for category, _text in hotkeys.SCHEMES["vics"]],
        hotkeys=hotkeys.shown(keys),
        hotkeys_json=hotkeys.as_json(keys),
        can_see=viewer.may("thumbnail.read"),
        violent=violent,
        graded=graded,
        current=next((c.sha256 for c in result.cards if c.sha256 not in graded), None),
        next_url=next_url,
        first_query=urlencode(query),
    )


@router.get("/cases/{ref}/items/{sha256}/protected.jpg")
def protected_thumbnail(
    ref: str, sha256: str, viewer: Annotated[Viewer, Depends(needs("thumbnail.read"))]
) -> Response:
    jpeg = review.protected_image(viewer.ctx, viewer.principal, ref, sha256_of(sha256))
    return Response(jpeg, media_type="image/jpeg", headers=IMAGE_HEADERS)


def sha256_of(value: str) -> str:
    """A SHA-256 from a URL, lower case; a usage error (400 page) for anything else."""
    if len(value) != 64 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise UsageError("not a SHA-256")
    return value.lower()


@router.post("/cases/{ref}/items/{sha256}/reveal")
def reveal(
    ref: str,
    sha256: str,
    viewer: Annotated[Viewer, Depends(needs("thumbnail.read"))],
    _csrf: Csrf,
    violent_ok: bool = False,
) -> Response:
    """The clear thumbnail, by POST only (no link, prefetch or history can reveal an item);
    the exposure id comes back in a header for the page to end the reveal."""
    try:
        revealed = review.reveal(
            viewer.ctx, viewer.principal, ref, sha256_of(sha256), violent_ok=violent_ok
        )
    except review.ViolentGate as gate:
        return Response(str(gate), status_code=409, media_type="text/plain")
    headers = {**IMAGE_HEADERS, "X-Exposure-Id": str(revealed.exposure_id)}
    return Response(revealed.jpeg, media_type="image/jpeg", headers=headers)


@router.post("/exposure/{exposure_id}/end")
def conceal(
    exposure_id: int, viewer: Annotated[Viewer, Depends(needs("thumbnail.read"))], _csrf: Csrf
) -> Response:
    review.conceal(viewer.ctx, viewer.principal, exposure_id)
    return Response(status_code=204)


@router.post("/cases/{ref}/items/{sha256}/flag")
def flag(
    ref: str,
    sha256: str,
    viewer: Annotated[Viewer, Depends(needs("thumbnail.read"))],
    _csrf: Csrf,
) -> Response:
    review.flag_violent(viewer.ctx, viewer.principal, ref, sha256_of(sha256))
    return Response(status_code=204)


@router.get("/alerts")
def alerts_page(
    request: Request, viewer: Annotated[Viewer, Depends(needs("alert.read"))]
) -> Response:
    """The agency's alerts and notices, and where and when they were seen."""
    return page(
        request,
        "alerts.html",
        viewer,
        alerts=alerts.list_alerts(viewer.ctx, viewer.principal.agency_id),
        hits=alerts.list_hits(viewer.ctx, viewer.principal),
    )


@router.get("/exposure")
def exposure(
    request: Request, viewer: Annotated[Viewer, Depends(needs("thumbnail.read"))]
) -> Response:
    settings = web_state(request).settings
    log = review.exposure_summary(
        viewer.ctx, viewer.principal, settings.break_after_seconds, recent=100
    )
    return page(request, "exposure.html", viewer, log=log)


@router.post("/exposure/break")
def take_break(
    viewer: Annotated[Viewer, Depends(needs("thumbnail.read"))], _csrf: Csrf
) -> Response:
    review.take_break(viewer.ctx, viewer.principal)
    return RedirectResponse("/exposure", status_code=303)


class Grading(BaseModel):
    """What a grading key sends: the stacks (by their leads) and the category."""

    items: list[str] = Field(min_length=1, max_length=500)
    category: str = Field("", max_length=40)


def _stacks(viewer: Viewer, ref: str, leads: list[str]) -> list[str]:
    """Each lead with the near-duplicates stacked under it in the case's queue."""
    with viewer.ctx.db.session() as session:
        case_id = case_for(session, viewer.principal, ref).id
    members: list[str] = []
    for lead in leads:
        for sha in stack_members(viewer.ctx, case_id, sha256_of(lead)) or [sha256_of(lead)]:
            if sha not in members:
                members.append(sha)
    return members


@router.post("/cases/{ref}/grade")
def grade(
    ref: str,
    body: Grading,
    viewer: Annotated[Viewer, Depends(needs("grade.write"))],
    _csrf: Csrf,
) -> JSONResponse:
    """One key: the category for each stack named (its lead and its near-duplicates), through
    the grading service `cairn grade` uses."""
    votes = grading.grade(
        viewer.ctx, viewer.principal, ref, body.category, _stacks(viewer, ref, body.items)
    )
    return JSONResponse({"votes": len(votes), "category": body.category})


@router.post("/cases/{ref}/grade/undo")
def undo_grade(
    ref: str,
    body: Grading,
    viewer: Annotated[Viewer, Depends(needs("grade.write"))],
    _csrf: Csrf,
) -> JSONResponse:
    """Withdraw the viewer's votes on the stacks named (they stay on record, retracted)."""
    count = grading.retract(viewer.ctx, viewer.principal, ref, _stacks(viewer, ref, body.items))
    return JSONResponse({"retracted": count})
