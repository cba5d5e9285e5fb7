"""The offline map: a coarse outline of the land masses shipped in the package
(`static/world.geojson`, drawn by hand) and points placed on it, in an equirectangular
projection (x from longitude, y from latitude) — no tile server, nothing fetched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

WIDTH = 1000
HEIGHT = 500  # 360° by 180°: two pixels per degree at this width


@dataclass(frozen=True)
class MapPoint:
    x: float
    y: float
    latitude: float
    longitude: float
    kind: str  # media-gps, message, clue
    label: str
    href: str | None  # the item's page, when the point is an item


def project(latitude: float, longitude: float) -> tuple[float, float]:
    x = (max(-180.0, min(180.0, longitude)) + 180.0) / 360.0 * WIDTH
    y = (90.0 - max(-90.0, min(90.0, latitude))) / 180.0 * HEIGHT
    return round(x, 1), round(y, 1)


@cache
def outline_paths() -> tuple[tuple[str, str], ...]:
    """(name, SVG path data) of each land mass of the shipped outline."""
    document = json.loads((files("cairn.web") / "static" / "world.geojson").read_text("utf-8"))
    paths = []
    for feature in document["features"]:
        for ring in feature["geometry"]["coordinates"]:
            points = [project(lat, lon) for lon, lat in ring]
            data = "M" + " L".join(f"{x},{y}" for x, y in points) + " Z"
            paths.append((feature["properties"]["name"], data))
    return tuple(paths)


def point(
    latitude: float, longitude: float, kind: str, label: str, href: str | None = None
) -> MapPoint:
    x, y = project(latitude, longitude)
    return MapPoint(x, y, latitude, longitude, kind, label, href)
