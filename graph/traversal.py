"""Operations over the projected graph: neighbours, paths, ego networks, components,
centrality, communities and the negotiation network.

Every function takes the projection of :mod:`karabakh_kg.graph.projection` and node IRIs
(resolve names first with :func:`karabakh_kg.graph.lookup.resolve`) and returns plain,
JSON-ready dictionaries. Paths ignore edge direction (a phone call points at both callers);
each step still says which way its edge points. Limits (:data:`MAX_K`, :data:`MAX_PATHS`,
:data:`MAX_PATH_LENGTH`) keep one call from running away.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any, Literal

import networkx as nx

from karabakh_kg.graph.lookup import compact
from karabakh_kg.ontology import vocab

KGO = str(vocab.KGO)
MAX_K = 4
MAX_PATHS = 100
MAX_PATH_LENGTH = 8
MAX_TOP = 1000

Direction = Literal["out", "in", "both"]
Measure = Literal["degree", "betweenness", "pagerank"]

# Who met, called, negotiated with or mediated for whom.
COMMUNICATION = tuple(
    KGO + name
    for name in ("metWith", "spokeWith", "negotiatedWith", "communicatedWith", "mediatedFor")
)
# Events whose participants communicate with each other.
COMMUNICATION_EVENTS = {
    KGO + name: relation
    for name, relation in (
        ("Meeting", "metWith"),
        ("Talks", "negotiatedWith"),
        ("PhoneCall", "spokeWith"),
        ("Conversation", "spokeWith"),
    )
}
_PARTICIPATION = (KGO + "participant", KGO + "host")


class TraversalError(ValueError):
    """A bad parameter (out of range, unknown node); the message names it."""


def _check_node(graph: nx.MultiDiGraph, node: str) -> None:
    if node not in graph:
        raise TraversalError(f"{compact(node)} is not in the projected graph (check the filters)")


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise TraversalError(f"{name} must be between {low} and {high}, not {value}")


def node_info(graph: nx.MultiDiGraph, node: str) -> dict[str, Any]:
    """The node's attributes (IRI, CURIE, label, types, category, Wikidata id, dates)."""
    return dict(graph.nodes[node])


def edge_info(source: str, target: str, key: str, data: dict[str, Any]) -> dict[str, Any]:
    """One edge as a dictionary: endpoints, relation, kind, date, quote, evidence."""
    info: dict[str, Any] = {"source": source, "target": target, "key": key}
    info.update(data)
    return info


def _edges_between(
    graph: nx.MultiDiGraph, a: str, b: str, predicates: frozenset[str] | None = None
) -> Iterator[dict[str, Any]]:
    for source, target in ((a, b), (b, a)):
        for key, data in (graph.get_edge_data(source, target) or {}).items():
            if predicates is None or data["predicate"] in predicates:
                yield edge_info(source, target, key, data)


def _best_edge(edges: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The edge to show for one step: asserted before derived, quoted before unquoted."""
    return min(edges, key=lambda e: (e["kind"] != "asserted", "quote" not in e, e["key"]))


def restrict(graph: nx.MultiDiGraph, predicates: frozenset[str] | None) -> nx.MultiDiGraph:
    """``graph`` with only the edges whose predicate IRI is in ``predicates`` (all if None)."""
    if predicates is None:
        return graph
    kept = nx.MultiDiGraph(**graph.graph)
    kept.add_nodes_from(graph.nodes(data=True))
    kept.add_edges_from(
        (s, t, k, d)
        for s, t, k, d in graph.edges(keys=True, data=True)
        if d["predicate"] in predicates
    )
    return kept


def _view(graph: nx.MultiDiGraph, direction: Direction, predicates: frozenset[str] | None) -> Any:
    graph = restrict(graph, predicates)
    if direction == "both":
        return graph.to_undirected(as_view=True)
    if direction == "in":
        return graph.reverse(copy=False)
    if direction == "out":
        return graph
    raise TraversalError(f"direction must be out, in or both, not {direction!r}")


def neighbours(
    graph: nx.MultiDiGraph,
    node: str,
    *,
    k: int = 1,
    direction: Direction = "both",
    predicates: frozenset[str] | None = None,
) -> dict[str, Any]:
    """The nodes within ``k`` hops of ``node`` and the edges that reach them.

    Each neighbour has its ``distance``; ``edges`` lists every edge between nodes of the
    neighbourhood that was followed (respecting ``direction`` and ``predicates``).
    """
    _check_node(graph, node)
    _check_range("k", k, 1, MAX_K)
    view = _view(graph, direction, predicates)
    distances = nx.single_source_shortest_path_length(view, node, cutoff=k)
    found = [
        {**node_info(graph, n), "distance": d}
        for n, d in sorted(distances.items(), key=lambda item: (item[1], item[0]))
        if n != node
    ]
    edges = []
    for s, t, key, data in graph.edges(keys=True, data=True):
        if s not in distances or t not in distances:
            continue
        if predicates is not None and data["predicate"] not in predicates:
            continue
        near, far = (s, t) if direction != "in" else (t, s)
        if direction != "both" and distances[far] != distances[near] + 1:
            continue
        if direction == "both" and abs(distances[s] - distances[t]) != 1:
            continue
        edges.append(edge_info(s, t, key, data))
    return {"node": node_info(graph, node), "k": k, "neighbours": found, "edges": edges}


def _steps(graph: nx.MultiDiGraph, nodes: list[str], predicates: frozenset[str] | None) -> Any:
    steps = []
    for a, b in itertools.pairwise(nodes):
        candidates = list(_edges_between(graph, a, b, predicates))
        best = _best_edge(candidates)
        steps.append(
            {
                "from": a,
                "to": b,
                "forward": best["source"] == a,
                "edge": best,
                "alternatives": len(candidates) - 1,
            }
        )
    return {
        "length": len(nodes) - 1,
        "nodes": [node_info(graph, n) for n in nodes],
        "steps": steps,
    }


def shortest_path(
    graph: nx.MultiDiGraph, source: str, target: str, *, predicates: frozenset[str] | None = None
) -> dict[str, Any] | None:
    """The shortest path between two nodes (edges in either direction), or None."""
    _check_node(graph, source)
    _check_node(graph, target)
    view = _view(graph, "both", predicates)
    try:
        nodes = nx.shortest_path(view, source, target)
    except nx.NetworkXNoPath:
        return None
    return _steps(graph, nodes, predicates)


def all_paths(
    graph: nx.MultiDiGraph,
    source: str,
    target: str,
    *,
    max_length: int = 4,
    limit: int = 20,
    predicates: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Simple paths up to ``max_length`` edges, shortest first, at most ``limit`` of them."""
    _check_node(graph, source)
    _check_node(graph, target)
    _check_range("max_length", max_length, 1, MAX_PATH_LENGTH)
    _check_range("limit", limit, 1, MAX_PATHS)
    if source == target:
        raise TraversalError("source and target are the same entity")
    simple = nx.Graph(_view(graph, "both", predicates))
    # shortest_simple_paths yields shortest first and lazily, so the limit bounds the work.
    paths: list[dict[str, Any]] = []
    truncated = False
    try:
        for nodes in nx.shortest_simple_paths(simple, source, target):
            if len(nodes) - 1 > max_length:
                break
            if len(paths) == limit:
                truncated = True
                break
            paths.append(_steps(graph, nodes, predicates))
    except nx.NetworkXNoPath:
        pass
    return {"paths": paths, "truncated": truncated, "max_length": max_length}


def ego_network(
    graph: nx.MultiDiGraph, node: str, *, radius: int = 1, predicates: frozenset[str] | None = None
) -> nx.MultiDiGraph:
    """The subgraph of every node within ``radius`` hops of ``node`` (either direction)."""
    _check_node(graph, node)
    _check_range("radius", radius, 1, MAX_K)
    view = _view(graph, "both", predicates)
    keep = nx.single_source_shortest_path_length(view, node, cutoff=radius)
    sub = graph.subgraph(keep)
    if predicates is not None:
        sub = nx.subgraph_view(
            sub, filter_edge=lambda s, t, k: sub.edges[s, t, k]["predicate"] in predicates
        )
    return nx.MultiDiGraph(sub)


def components(graph: nx.MultiDiGraph) -> list[dict[str, Any]]:
    """Weakly connected components, largest first, each with its nodes' IRIs and labels."""
    parts = sorted(nx.weakly_connected_components(graph), key=lambda c: (-len(c), min(c)))
    return [
        {
            "size": len(part),
            "nodes": [
                {"iri": n, "label": graph.nodes[n]["label"], "category": graph.nodes[n]["category"]}
                for n in sorted(part, key=lambda n: graph.nodes[n]["label"].casefold())
            ],
        }
        for part in parts
    ]


def centrality(
    graph: nx.MultiDiGraph, *, measure: Measure = "degree", top: int = 20
) -> list[dict[str, Any]]:
    """The ``top`` nodes by degree, betweenness or PageRank (undirected, simple graph)."""
    _check_range("top", top, 1, MAX_TOP)
    simple = nx.Graph(graph.to_undirected(as_view=True))
    if measure == "degree":
        scores = nx.degree_centrality(simple) if len(simple) > 1 else dict.fromkeys(simple, 0.0)
    elif measure == "betweenness":
        scores = nx.betweenness_centrality(simple)
    elif measure == "pagerank":
        scores = nx.pagerank(simple) if len(simple) else {}
    else:
        raise TraversalError(f"measure must be degree, betweenness or pagerank, not {measure!r}")
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:top]
    return [
        {
            "iri": n,
            "label": graph.nodes[n]["label"],
            "category": graph.nodes[n]["category"],
            "score": round(score, 6),
            "degree": simple.degree(n),
        }
        for n, score in ranked
    ]


def communities(
    graph: nx.MultiDiGraph, *, method: Literal["louvain", "greedy"] = "louvain", seed: int = 42
) -> list[dict[str, Any]]:
    """Communities of the undirected graph (Louvain with a fixed seed, or greedy modularity)."""
    simple = nx.Graph(graph.to_undirected(as_view=True))
    if method == "louvain":
        parts = nx.community.louvain_communities(simple, seed=seed)
    elif method == "greedy":
        parts = (
            nx.community.greedy_modularity_communities(simple)
            if simple.number_of_edges()
            else [{n} for n in simple]
        )
    else:
        raise TraversalError(f"method must be louvain or greedy, not {method!r}")
    ordered = sorted(parts, key=lambda c: (-len(c), min(c)))
    return [
        {
            "id": i,
            "size": len(part),
            "nodes": [
                {"iri": n, "label": graph.nodes[n]["label"]}
                for n in sorted(part, key=lambda n: graph.nodes[n]["label"].casefold())
            ],
        }
        for i, part in enumerate(ordered)
    ]


def negotiation_network(
    graph: nx.MultiDiGraph, *, level: Literal["person", "state"] = "person"
) -> nx.MultiDiGraph:
    """Who met, called, negotiated with or mediated for whom, with dates and quotes.

    Edges come from direct ``metWith``/``spokeWith``/``negotiatedWith``/``communicatedWith``/
    ``mediatedFor`` triples and from meetings, talks and phone calls (one edge between every
    two participants, keyed by the event). At ``state`` level people are replaced by the
    states or organisations they act for (``kgo:actsFor``); edges inside one state vanish.
    Symmetric relations appear once per pair.
    """
    if level not in ("person", "state"):
        raise TraversalError(f"level must be person or state, not {level!r}")
    network = nx.MultiDiGraph(name=f"negotiation network ({level} level)")
    acts_for: dict[str, list[str]] = {}
    for s, t, data in graph.edges(data=True):
        if data["predicate"] == KGO + "actsFor":
            acts_for.setdefault(s, []).append(t)

    def parties(node: str) -> list[str]:
        if level == "person" or graph.nodes[node]["category"] != "Person":
            return [node]
        return sorted(acts_for.get(node, [])) or [node]

    def add(a: str, b: str, key: str, data: dict[str, Any]) -> None:
        for pa, pb in itertools.product(parties(a), parties(b)):
            if pa == pb:
                continue
            symmetric = data["relation"] != "mediatedFor"
            if symmetric and pb < pa:
                pa, pb = pb, pa
            if network.has_edge(pa, pb, key):
                continue
            for n in (pa, pb):
                if n not in network:
                    network.add_node(n, **graph.nodes[n])
            network.add_edge(pa, pb, key=key, **data)

    for s, t, data in graph.edges(data=True):
        if data["predicate"] in COMMUNICATION:
            relation = data["label"]
            event = data.get("via")
            edge_key = f"direct:{relation}:{event}" if event else f"kgo:{relation}"
            add(s, t, edge_key, {**data, "relation": relation, "event": event})
    for event, attrs in graph.nodes(data=True):
        relation = next(
            (
                rel
                for cls, rel in COMMUNICATION_EVENTS.items()
                if compact(cls) in attrs.get("types", [])
            ),
            None,
        )
        if relation is None:
            continue
        members = sorted(
            {
                target
                for _, target, data in graph.out_edges(event, data=True)
                if data["predicate"] in _PARTICIPATION
            }
        )
        quotes = [
            data
            for _, target, data in graph.out_edges(event, data=True)
            if data["predicate"] in _PARTICIPATION and data.get("quote")
        ]
        for a, b in itertools.combinations(members, 2):
            data = {
                "predicate": KGO + relation,
                "relation": relation,
                "label": relation,
                "kind": "derived",
                "event": compact(event),
                "eventLabel": attrs["label"],
                "fromEvent": True,
                "evidence": quotes[0]["evidence"] if quotes else [],
                "quotes": quotes[0]["quotes"] if quotes else [],
            }
            if quotes:
                data["quote"] = quotes[0]["quote"]
            if attrs.get("date"):
                data["date"] = attrs["date"]
            if attrs.get("eventStatus"):
                data["status"] = attrs["eventStatus"]
            add(a, b, f"{relation}:{compact(event)}", data)
    # The same event reached through a direct triple and through participation is one edge.
    return _dedupe(network)


def _dedupe(network: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """One edge per pair, relation and event, without restating what an event already says.

    A derived direct edge supported by an event (``via``) that already links the pair is
    dropped; ``communicatedWith`` is dropped for a pair linked by a more specific relation.
    Among equals the asserted, quoted edge with a status wins.
    """
    edges = list(network.edges(keys=True, data=True))
    from_events = {(a, b, d.get("event")) for a, b, _, d in edges if d.get("fromEvent")}
    event_edges: dict[tuple[str, str, str], dict[str, Any]] = {}
    for a, b, _, d in edges:
        if d.get("fromEvent"):
            event_edges.setdefault((a, b, d["relation"]), d)
    specific = {(a, b) for a, b, _, d in edges if d["relation"] != "communicatedWith"}
    best: dict[tuple[str, str, str, str | None], tuple[str, dict[str, Any]]] = {}
    for a, b, key, data in edges:
        if data["relation"] == "communicatedWith" and (a, b) in specific:
            continue
        direct = not data.get("fromEvent")
        if direct and data["kind"] == "derived" and (a, b, data.get("event")) in from_events:
            continue
        if direct and (a, b, data["relation"]) in event_edges:
            # The event already links the pair; keep this triple's quotes on that edge.
            target = event_edges[(a, b, data["relation"])]
            for name in ("quotes", "evidence"):
                merged = list(target.get(name, []))
                merged += [x for x in data.get(name, []) if x not in merged]
                target[name] = merged
            continue
        marker = (a, b, data["relation"], data.get("event"))
        rank = (data["kind"] != "asserted", "quote" not in data, "status" not in data)
        current = best.get(marker)
        if current is None or rank < (
            current[1]["kind"] != "asserted",
            "quote" not in current[1],
            "status" not in current[1],
        ):
            best[marker] = (key, data)
    out = nx.MultiDiGraph(**network.graph)
    out.add_nodes_from(network.nodes(data=True))
    for (a, b, _, _), (key, data) in sorted(best.items(), key=lambda item: item[0][:2]):
        out.add_edge(a, b, key=key, **data)
    out.remove_nodes_from([n for n in list(out) if out.degree(n) == 0])
    return out


def network_rows(network: nx.MultiDiGraph) -> list[dict[str, Any]]:
    """The negotiation network as rows: who, relation, whom, date, event, quote."""
    rows = []
    for a, b, data in network.edges(data=True):
        rows.append(
            {
                "source": a,
                "sourceLabel": network.nodes[a]["label"],
                "relation": data["relation"],
                "target": b,
                "targetLabel": network.nodes[b]["label"],
                "date": data.get("date"),
                "event": data.get("event"),
                "status": data.get("status"),
                "kind": data["kind"],
                "quote": data.get("quote"),
            }
        )
    return sorted(rows, key=lambda r: (r["date"] or "9999", r["sourceLabel"], r["targetLabel"]))
