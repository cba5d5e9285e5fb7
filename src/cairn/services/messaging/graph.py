"""The case's person–group–media graph, for Gephi and Neo4j (`cairn messaging graph`)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import networkx as nx

    from cairn.services.messaging.reports import CaseAnalysis


def case_graph(analysis: CaseAnalysis) -> nx.Graph[str]:
    """The case's person–group–media graph, with centrality and communities.

    Node ids are the stored keys (`+447700900123`, `group:…`) and `media:<sha256>`.
    """
    from cairn.messaging.graph import Edge, Node, build

    nodes: dict[str, Node] = {}
    for person in analysis.people:
        nodes[person.key] = Node(
            person.key,
            "person",
            analysis.names.get(person.key, person.key),
            {
                "phone": person.phone or "",
                "names": "; ".join(person.names),
                "producer_score": person.producer_score,
                "producer_rank": person.producer_rank or 0,
                "distributor_score": person.distributor_score,
                "distributor_rank": person.distributor_rank or 0,
                "phones_owned": "; ".join(person.phones_owned),
            },
        )
    groups = {group.key for group in analysis.groups}
    for group in analysis.groups:
        nodes[group.key] = Node(
            group.key,
            "group",
            group.name or group.key,
            {
                "messages": group.messages,
                "media_items": group.media_items,
                "creator": group.creator or "",
            },
        )
    for item in analysis.media:
        nodes[f"media:{item.sha256}"] = Node(
            f"media:{item.sha256}",
            "media",
            item.sha256[:12],
            {
                "sha256": item.sha256,
                "mime": item.mime or "",
                "known": bool(item.hash_sets),
                "hash_sets": "; ".join(item.hash_sets),
                "forwards": item.forwards,
                "file_present": bool(item.files),
                "first_posted_by": item.first.sender,
            },
        )
    edges = [
        Edge(person, group, "member", attributes={"roles": ", ".join(sorted(roles))})
        for (person, group), roles in sorted(analysis.memberships.items())
    ]
    posted: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    shared: dict[tuple[str, str], int] = defaultdict(int)
    for attribution in analysis.attributions:
        media = f"media:{attribution.sha256}"
        for position, sharing in enumerate(attribution.sharings):
            if sharing.chat in groups:
                shared[(media, sharing.chat)] += 1
            if sharing.sender is not None:
                tally = posted[(sharing.sender, media)]
                tally[0] += 1
                tally[1] += position == 0
                tally[2] += bool(sharing.forwarded)
    edges += [
        Edge(person, media, "posted", n, {"first": bool(first), "forwarded": forwards})
        for (person, media), (n, first, forwards) in sorted(posted.items())
    ]
    edges += [Edge(media, group, "shared-in", n) for (media, group), n in sorted(shared.items())]
    edges += [Edge(a, b, "chatted", n) for (a, b), n in sorted(analysis.chats.items())]
    for edge in edges:  # someone known only from one side of a link
        for end in (edge.source, edge.target):
            if end not in nodes:
                nodes[end] = Node(end, "person", analysis.names.get(end, end))
    return build(nodes.values(), edges)
