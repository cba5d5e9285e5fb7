"""The person–group–media graph, and the CLI's reports and graph exports."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx

from cairn.messaging.scenario import PEOPLE
from cairn.services.context import Context
from cairn.services.messaging.graph import case_graph

if TYPE_CHECKING:
    from conftest import Harbour  # tests/services/messaging/conftest.py

ALICE, CAROL = PEOPLE[0].phone, PEOPLE[2].phone
RunCli = Callable[..., tuple[int, str, str]]  # the run_cli fixture of tests/conftest.py


def test_graph(harbour: Harbour) -> None:
    sha = harbour.sha
    graph = case_graph(harbour.analysis)
    kinds = nx.get_node_attributes(graph, "kind")
    assert sorted(kinds.values()).count("media") == 5
    assert sorted(kinds.values()).count("group") == 4
    assert graph.edges[ALICE, f"media:{sha['p']}"] == {
        "kind": "posted",
        "weight": 1,
        "first": True,
        "forwarded": 0,
    }
    assert graph.edges[CAROL, "group:120363000000000013"]["roles"] == (
        "admin, created, creator, superadmin"
    )
    alice = graph.nodes[ALICE]
    assert (alice["producer_rank"], alice["distributor_rank"]) == (1, 4)
    # Alice: two groups and one item of 15 other nodes.
    assert alice["degree_centrality"] == 0.2
    for _node, data in graph.nodes(data=True):
        assert {"community", "degree_centrality", "betweenness_centrality"} <= set(data)
    # Night Owls, where all five items pass, sits on the most shortest paths.
    betweenness = nx.get_node_attributes(graph, "betweenness_centrality")
    assert max(betweenness, key=betweenness.__getitem__) == "group:120363000000000012"


def test_cli_reports_and_graph_exports(harbour: Harbour, run_cli: RunCli) -> None:
    run, case, sha = run_cli, harbour.case, harbour.sha
    workspace = harbour.root / "workspace"
    code, out, err = run("messaging", "people", "--case", case, "--json", workspace=workspace)
    assert code == 0, err
    people = json.loads(out)
    assert people["people"][0]["key"] == ALICE
    assert people["clocks"][1]["offset"] == 90.0
    code, out, _ = run("messaging", "media", "--case", case, "--json", workspace=workspace)
    assert {m["sha256"] for m in json.loads(out)} == set(sha.values())
    code, out, _ = run("messaging", "groups", "--case", case, workspace=workspace)
    assert code == 0 and "Harbour Club" in out
    for fmt, reader in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
        target = harbour.root / f"graph.{fmt}"
        code, _out, err = run(
            "messaging", "graph", "--case", case, "--format", fmt, "-o", target, workspace=workspace
        )
        assert code == 0, err
        assert err.startswith("wrote 16 nodes and ")
        assert reader(target).number_of_nodes() == 16
    code, out, _ = run(
        "messaging", "graph", "--case", case, "--format", "json", workspace=workspace
    )
    assert len(json.loads(out)["nodes"]) == 16
    code, _out, err = run(
        "messaging", "graph", "--case", case, "--format", "dot", workspace=workspace
    )
    assert code == 2 and "--format must be one of graphml, gexf, json" in err


def test_a_one_to_one_chat_links_two_people(case: Context, tmp_path: Path) -> None:
    """The phone's owner (stated by its own notices) and Carol wrote to each other."""
    from cairn.messaging.samples import ALICE, CAROL, example_device, write_msgstore
    from cairn.services.messaging.importing import import_path
    from cairn.services.messaging.reports import analyse_case

    store = write_msgstore(tmp_path / "phone" / "msgstore.db", example_device())
    import_path(case, store, "C", "phone")
    analysis = analyse_case(case, "C")
    assert analysis.chats == {(CAROL.phone, ALICE.phone): 1}
    edge = case_graph(analysis).edges[ALICE.phone, CAROL.phone]
    assert (edge["kind"], edge["weight"]) == ("chatted", 1)
