"""Case reports as HTML or PDF: `create_report` is the one call for the CLI and the web UI.

The UI's report route calls `create_report(ctx, principal, ref, "pdf" | "html", internal_review=…,
destination="download")` and sends `Rendered.data` with `Rendered.media_type` and
`Rendered.filename`; access (another agency's case is not found, roles), the audit event and
the protection of thumbnails are all done here.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from markupsafe import Markup

from cairn.core.errors import UsageError
from cairn.services.context import Context
from cairn.services.reports.charts import bucket_chart, timeline_chart
from cairn.services.reports.model import CaseReport, build_report
from cairn.store import audit

if TYPE_CHECKING:
    import jinja2

    from cairn.services.identity import Principal

MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


@dataclass(frozen=True)
class Rendered:
    data: bytes
    media_type: str
    filename: str  # a suggested name: cairn-report-REF[-internal-review].EXT
    sha256: str
    thumbnails: int  # protected thumbnails embedded (internal review only)


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cairn.services.reports", "templates"),
        autoescape=True,  # seized names and messages are text, never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )
    env.filters["b64"] = lambda data: base64.b64encode(data).decode("ascii")
    return env


def render_html(report: CaseReport) -> str:
    """The report as one self-contained HTML page: inline style and SVG charts, no script,
    nothing to fetch; images only in a report for internal review (protected, as data URIs)."""
    css = resources.files("cairn.services.reports").joinpath("templates/report.css")
    return (
        _environment()
        .get_template("report.html")
        .render(
            r=report,
            css=Markup(css.read_text(encoding="utf-8")),
            bucket_chart=Markup(bucket_chart(report.buckets)),
            timeline_chart=Markup(timeline_chart(report.capture_times)),
        )
    )


def render_pdf(report: CaseReport) -> bytes:
    """The same page printed by WeasyPrint (A4, page numbers, the internal-review marking on
    every page of such a report)."""
    from PIL import ImageFile

    # Importing WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES, after which a
    # truncated evidence image would decode without its error: put the flag back.
    truncated_allowed = ImageFile.LOAD_TRUNCATED_IMAGES
    import weasyprint
    from weasyprint.urls import URLFetcher

    ImageFile.LOAD_TRUNCATED_IMAGES = truncated_allowed

    # Data URIs only: the page references nothing else, and a link that slipped in must fail
    # the report rather than reach the network or the file system.
    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    document = weasyprint.HTML(string=render_html(report), url_fetcher=fetcher)
    pdf: bytes = document.write_pdf()
    return pdf


RENDERERS = {"html": lambda r: render_html(r).encode("utf-8"), "pdf": render_pdf}


def create_report(
    ctx: Context,
    principal: Principal | None,
    case_ref: str,
    fmt: str,
    *,
    internal_review: bool = False,
    destination: str = "",
) -> Rendered:
    """Build and render a case's report, and record `report.create` (format, destination,
    the output's SHA-256, the thumbnails embedded). `principal`: the server's user, None for
    the local operator. Needs `case.export`, and `thumbnail.read` for internal review."""
    if fmt not in RENDERERS:
        raise UsageError(f"report format {fmt!r}: choose {' or '.join(RENDERERS)}")
    report = build_report(ctx, principal, case_ref, internal_review=internal_review)
    data = RENDERERS[fmt](report)
    shown = [item.sha256 for item in report.review if item.thumbnail]
    rendered = Rendered(
        data,
        MEDIA_TYPES[fmt],
        f"cairn-report-{case_ref.replace(':', '_')}"
        f"{'-internal-review' if internal_review else ''}.{fmt}",
        hashlib.sha256(data).hexdigest(),
        len(shown),
    )
    with ctx.db.session() as session:
        audit.record(
            session,
            ctx.actor,
            "report.create",
            case_ref,
            format=fmt,
            internal_review=internal_review,
            destination=destination,
            sha256=rendered.sha256,
            bytes=len(data),
            thumbnails=shown,
        )
    return rendered
