"""The person–group–media graph, for Gephi (GEXF, GraphML), Neo4j (GraphML) and scripts (JSON).

Nodes are `person:<key>`, `group:<key>` and `media:<sha256>`; edges say who is in which group
(with roles), who posted which item (first, forwarded), and which item went to which group.
networkx adds, per node, degree and betweenness centrality and a community number (Louvain
with a fixed seed, so the same case draws the same communities every time). Betweenness is
exact up to `EXACT_BETWEENNESS` nodes and sampled from that many sources above it, because
its cost grows with nodes × edges.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

import networkx as nx

FORMATS = ("graphml", "gexf", "json")
EXACT_BETWEENNESS = 2000
SEED = 6  # fixed: communities and sampled betweenness are reproducible

Value = str | int | float | bool


@dataclass(frozen=True)
class Node:
    id: str
    kind: str  # person, group, media
    label: str
    attributes: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str  # member, posted, shared-in, chatted (a one-to-one chat between two people)
    weight: int = 1
    attributes: dict[str, Value] = field(default_factory=dict)


def build(nodes: Iterable[Node], edges: Iterable[Edge]) -> nx.Graph[str]:
    """The graph with centrality and community attributes on every node."""
    graph: nx.Graph[str] = nx.Graph()
    for node in nodes:
        graph.add_node(node.id, kind=node.kind, label=node.label, **node.attributes)
    for edge in edges:
        if graph.has_edge(edge.source, edge.target):  # a second kind of link: keep both
            data = graph.edges[edge.source, edge.target]
            data["weight"] += edge.weight
            data["kind"] = ",".join(sorted({*str(data["kind"]).split(","), edge.kind}))
            continue
        graph.add_edge(
            edge.source, edge.target, kind=edge.kind, weight=edge.weight, **edge.attributes
        )
    if graph.number_of_nodes() == 0:
        return graph
    degree = nx.degree_centrality(graph)
    sample = None if graph.number_of_nodes() <= EXACT_BETWEENNESS else EXACT_BETWEENNESS
    betweenness = nx.betweenness_centrality(graph, k=sample, seed=SEED)
    communities = nx.community.louvain_communities(graph, seed=SEED)
    ordered = sorted(communities, key=lambda c: (-len(c), min(c)))
    for number, members in enumerate(ordered):
        for node_id in members:
            graph.nodes[node_id]["community"] = number
    for node_id in graph.nodes:
        graph.nodes[node_id]["degree_centrality"] = round(degree[node_id], 6)
        graph.nodes[node_id]["betweenness_centrality"] = round(betweenness[node_id], 6)
    return graph


def write(graph: nx.Graph[str], fmt: str, out: IO[str]) -> None:
    """Stream the graph in `fmt` (one of FORMATS) to a text stream."""
    if fmt == "graphml":
        lines: Iterator[str] = nx.generate_graphml(graph)
    elif fmt == "gexf":
        lines = nx.generate_gexf(graph)
    elif fmt == "json":
        json.dump(nx.node_link_data(graph, edges="links"), out, indent=1, sort_keys=True)
        out.write("\n")
        return
    else:
        raise ValueError(f"unknown graph format {fmt!r}: expected one of {', '.join(FORMATS)}")
    for line in lines:
        out.write(line)
        out.write("\n")
