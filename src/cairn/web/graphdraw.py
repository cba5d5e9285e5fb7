"""The messaging graph drawn as SVG on the server: people, groups and media placed by a
seeded spring layout (the same case draws the same picture), the busiest nodes first when the
graph is larger than a page can show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import networkx as nx

WIDTH = 900
HEIGHT = 600
MARGIN = 30
LABEL_ROOM = 120  # on the right, for the names drawn beside the nodes
MAX_NODES = 150  # a readable drawing; the table under it lists every node
SEED = 6  # as messaging.graph: a fixed layout


@dataclass(frozen=True)
class DrawnNode:
    id: str
    kind: str  # person, group, media
    label: str
    degree: int
    x: float
    y: float
    href: str | None  # a media node's item page


@dataclass(frozen=True)
class DrawnEdge:
    x1: float
    y1: float
    x2: float
    y2: float
    kind: str


@dataclass(frozen=True)
class Drawing:
    nodes: list[DrawnNode]
    edges: list[DrawnEdge]
    total_nodes: int  # before keeping the MAX_NODES busiest


def draw(graph: nx.Graph[str], item_href: str) -> Drawing:
    """`item_href` is the item page's URL prefix; a media node links to it + its SHA-256."""
    import networkx as nx

    kept = sorted(graph.nodes, key=lambda n: (-graph.degree[n], n))[:MAX_NODES]
    sub = graph.subgraph(kept)
    positions = nx.spring_layout(sub, seed=SEED) if len(sub) else {}
    xs = [p[0] for p in positions.values()] or [0.0]
    ys = [p[1] for p in positions.values()] or [0.0]
    span_x = (max(xs) - min(xs)) or 1.0
    span_y = (max(ys) - min(ys)) or 1.0

    def place(node: str) -> tuple[float, float]:
        px, py = positions[node]
        x = MARGIN + (px - min(xs)) / span_x * (WIDTH - 2 * MARGIN - LABEL_ROOM)
        y = MARGIN + (py - min(ys)) / span_y * (HEIGHT - 2 * MARGIN)
        return round(float(x), 1), round(float(y), 1)

    nodes = []
    for node in sorted(sub.nodes):
        data = sub.nodes[node]
        kind = str(data.get("kind", "person"))
        x, y = place(node)
        href = item_href + node.removeprefix("media:") if kind == "media" else None
        nodes.append(
            DrawnNode(node, kind, str(data.get("label", node)), graph.degree[node], x, y, href)
        )
    edges = []
    for a, b, data in sorted(sub.edges(data=True)):
        (x1, y1), (x2, y2) = place(a), place(b)
        edges.append(DrawnEdge(x1, y1, x2, y2, str(data.get("kind", ""))))
    return Drawing(nodes, edges, graph.number_of_nodes())
