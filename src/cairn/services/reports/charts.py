"""The report's charts, drawn here as inline SVG: no script, no font or file fetched, the same
picture in the HTML and in the PDF (WeasyPrint draws SVG itself)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

from cairn.services.reports.model import CountTable

# Okabe–Ito colours: told apart with the common colour-vision deficiencies, and in greyscale
# print by their lightness.
BUCKET_COLOURS = {
    "known": "#D55E00",
    "near-known": "#E69F00",
    "known-ignorable": "#999999",
    "possible": "#56B4E9",
    "new": "#0072B2",
}
WIDTH = 640
FONT = 'font-family="DejaVu Sans, sans-serif" font-size="11"'
MAX_BINS = 62  # a day per bin up to two months, a month per bin up to about five years


def _svg(height: int, body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label={quoteattr(label)}>'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", colour: str = "#222") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" {FONT} fill="{colour}" text-anchor="{anchor}">'
        f"{escape(text)}</text>"
    )


def bucket_chart(table: CountTable) -> str:
    """One bar per evidence item, split by triage bucket, on one scale for every device."""
    label_width, bar_height, gap, legend = 170, 18, 8, 26
    area = WIDTH - label_width - 50
    largest = max((sum(counts) for _label, counts in table.rows), default=0) or 1
    body = []
    x = 0.0
    for bucket in table.columns:
        body.append(
            f'<rect x="{x:.1f}" y="4" width="12" height="12" '
            f'fill="{BUCKET_COLOURS.get(bucket, "#666")}"/>'
        )
        body.append(_text(x + 16, 14, bucket))
        x += 28 + 7 * len(bucket)
    for row, (label, counts) in enumerate(table.rows):
        y = legend + row * (bar_height + gap)
        shown = label if len(label) <= 26 else label[:25] + "…"
        body.append(_text(label_width - 6, y + 13, shown, "end"))
        x = float(label_width)
        for bucket, count in zip(table.columns, counts, strict=True):
            if not count:
                continue
            width = area * count / largest
            body.append(
                f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{bar_height}" '
                f'fill="{BUCKET_COLOURS.get(bucket, "#666")}">'
                f"<title>{escape(f'{label}: {bucket} {count}')}</title></rect>"
            )
            x += width
        body.append(_text(x + 4, y + 13, str(sum(counts))))
    height = legend + len(table.rows) * (bar_height + gap) + 4
    return _svg(height, body, "items per triage bucket per evidence item")


def _bin(at: datetime, unit: str) -> str:
    return {"day": at.strftime("%Y-%m-%d"), "month": at.strftime("%Y-%m")}.get(unit, str(at.year))


def _bins(first: datetime, last: datetime, unit: str) -> list[str]:
    """Every bin from the first time's to the last's, empty ones included (gaps show)."""
    if unit == "day":
        days = (last.date() - first.date()).days
        return [(first + timedelta(days=n)).strftime("%Y-%m-%d") for n in range(days + 1)]
    if unit == "month":
        months = (last.year - first.year) * 12 + last.month - first.month
        return [
            f"{first.year + (first.month - 1 + n) // 12}-{(first.month - 1 + n) % 12 + 1:02d}"
            for n in range(months + 1)
        ]
    return [str(year) for year in range(first.year, last.year + 1)]


def timeline_unit(times: Sequence[datetime]) -> str:
    """The finest of day, month and year that keeps the chart within MAX_BINS bars."""
    first, last = times[0], times[-1]
    if (last.date() - first.date()).days < MAX_BINS:
        return "day"
    if (last.year - first.year) * 12 + last.month - first.month < MAX_BINS:
        return "month"
    return "year"


def timeline_chart(times: Sequence[datetime]) -> str:
    """Items per day (or month, or year) of capture, from the first capture time to the last;
    "" without any. `times` sorted."""
    if not times:
        return ""
    unit = timeline_unit(times)
    counts = Counter(_bin(at, unit) for at in times)
    bins = _bins(times[0], times[-1], unit)
    top, plot_height, left = 16, 120, 40
    area = WIDTH - left - 10
    step = area / len(bins)
    tallest = max(counts.values())
    body = [
        f'<line x1="{left}" y1="{top + plot_height}" x2="{WIDTH - 10}" '
        f'y2="{top + plot_height}" stroke="#444"/>',
        _text(left - 6, top + 8, str(tallest), "end"),
        _text(left - 6, top + plot_height, "0", "end"),
    ]
    for i, name in enumerate(bins):
        count = counts.get(name, 0)
        if not count:
            continue
        height = plot_height * count / tallest
        body.append(
            f'<rect x="{left + i * step + 1:.1f}" y="{top + plot_height - height:.1f}" '
            f'width="{max(1.0, step - 2):.1f}" height="{height:.1f}" fill="#0072B2">'
            f"<title>{escape(f'{name}: {count}')}</title></rect>"
        )
    baseline = top + plot_height + 16
    body.append(_text(left, baseline, bins[0]))
    if len(bins) > 1:
        body.append(_text(WIDTH - 10, baseline, bins[-1], "end"))
    body.append(_text(WIDTH / 2, baseline, f"items per {unit}", "middle", "#555"))
    return _svg(baseline + 6, body, f"capture times: items per {unit}")
