"""The report's SVG charts: bins chosen for the span, gaps kept, labels escaped, no script."""

from __future__ import annotations

import re
from datetime import datetime
from xml.etree import ElementTree

from cairn.services.reports.charts import bucket_chart, timeline_chart, timeline_unit
from cairn.services.reports.model import CountTable

SVG = "{http://www.w3.org/2000/svg}"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_timeline_bins_by_day_month_or_year_and_keeps_gaps() -> None:
    days = [_at("2024-05-12T10:00"), _at("2024-05-12T18:00"), _at("2024-05-15T09:00")]
    assert timeline_unit(days) == "day"
    assert timeline_unit([_at("2024-01-01T00:00"), _at("2024-04-02T00:00")]) == "month"
    assert timeline_unit([_at("2019-01-01T00:00"), _at("2024-03-02T00:00")]) == "year"
    svg = ElementTree.fromstring(timeline_chart(days))
    bars = [r.find(f"{SVG}title").text for r in svg.iter(f"{SVG}rect")]  # type: ignore[union-attr]
    assert bars == ["2024-05-12: 2", "2024-05-15: 1"]
    widths = {float(r.get("width", 0)) for r in svg.iter(f"{SVG}rect")}
    assert len(widths) == 1 and min(widths) * 4 < 640  # four day slots: 12th to 15th
    assert timeline_chart([]) == ""


def test_bucket_chart_draws_one_bar_per_device_and_escapes_names() -> None:
    table = CountTable(
        ("known", "new"),
        (("<script>alert(1)</script>", (2, 3)), ("stick", (0, 1))),
        (2, 4),
    )
    text = bucket_chart(table)
    assert "<script>" not in text and "&lt;script&gt;" in text
    svg = ElementTree.fromstring(text)
    titles = [t.text for t in svg.iter(f"{SVG}title")]
    assert titles == [
        "<script>alert(1)</script>: known 2",
        "<script>alert(1)</script>: new 3",
        "stick: new 1",
    ]
    # One scale for every device: the stick's single item is a fifth of the first bar.
    widths = [
        float(r.get("width", 0))
        for r in svg.iter(f"{SVG}rect")
        if r.find(f"{SVG}title") is not None
    ]
    assert abs(widths[2] * 5 - (widths[0] + widths[1])) < 0.5
    assert not re.search(r"<script|href=|xlink", text)
