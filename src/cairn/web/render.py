"""Pages from the package's Jinja templates, with what every page shows: the viewer, their
CSRF token, and the break prompt when their exposure calls for one."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from cairn import __version__
from cairn.services.review import exposure_summary
from cairn.web.guard import Viewer, web_state
from cairn.web.sessions import CSRF_FIELD

# Pages hold case data: only the server's own scripts and styles, images from the server (or
# a revealed thumbnail's blob), no frames, forms posting only here.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("cairn.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a missing value is a bug, not an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page(
    request: Request,
    template: str,
    viewer: Viewer | None = None,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    exposure = None
    if viewer is not None and viewer.may("thumbnail.read"):
        settings = web_state(request).settings
        exposure = exposure_summary(viewer.ctx, viewer.principal, settings.break_after_seconds)
    html = (
        environment()
        .get_template(template)
        .render(
            viewer=viewer,
            csrf=viewer.session.csrf if viewer else None,
            csrf_field=CSRF_FIELD,
            exposure=exposure,
            version=__version__,
            **values,
        )
    )
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
