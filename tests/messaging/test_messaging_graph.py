"""The person–group–media graph: centrality, communities, and files Gephi and Neo4j read."""

from __future__ import annotations

import io
import json
from pathlib import Path

import networkx as nx
import pytest

from cairn.messaging.graph import Edge, Node, build, write


def sample() -> nx.Graph[str]:
    return build(
        [
            Node("+447700900001", "person", "Alice", {"producer_score": 4}),
            Node("+447700900002", "person", "Bob"),
            Node("group:1", "group", "Harbour Club"),
            Node("media:aa", "media", "aa", {"known": True}),
        ],
        [
            Edge("+447700900001", "group:1", "member", attributes={"roles": "admin"}),
            Edge("+447700900002", "group:1", "member", attributes={"roles": "member"}),
            Edge("+447700900001", "media:aa", "posted", 2, {"first": True}),
            Edge("media:aa", "group:1", "shared-in", 2),
            Edge("media:aa", "group:1", "shared-in", 1),  # a second link adds its weight
        ],
    )


def test_nodes_carry_centrality_and_communities() -> None:
    graph = sample()
    assert graph.edges["media:aa", "group:1"] == {"kind": "shared-in", "weight": 3}
    alice = graph.nodes["+447700900001"]
    assert (alice["degree_centrality"], alice["betweenness_centrality"]) == (0.666667, 0.0)
    assert graph.nodes["group:1"]["betweenness_centrality"] == 0.666667
    assert {graph.nodes[n]["community"] for n in graph} <= {0, 1}
    assert build([], []).number_of_nodes() == 0


@pytest.mark.parametrize("fmt", ["graphml", "gexf", "json"])
def test_written_graphs_read_back(fmt: str, tmp_path: Path) -> None:
    out = io.StringIO()
    write(sample(), fmt, out)
    path = tmp_path / f"g.{fmt}"
    path.write_text(out.getvalue())
    if fmt == "json":
        back = nx.node_link_graph(json.loads(out.getvalue()), edges="links")
    else:
        back = nx.read_graphml(path) if fmt == "graphml" else nx.read_gexf(path)
    assert sorted(back.nodes) == ["+447700900001", "+447700900002", "group:1", "media:aa"]
    assert back.nodes["+447700900001"]["producer_score"] == 4
    assert back.number_of_edges() == 4


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown graph format 'dot'"):
        write(sample(), "dot", io.StringIO())
