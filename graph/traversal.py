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
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import networkx as nx
import pyoxigraph as ox

from karabakh_kg.graph.lookup import local_name
from karabakh_kg.graph.prefixes import compact, expand
from karabakh_kg.graph.projection import values
from karabakh_kg.ontology import vocab

KGO = str(vocab.KGO)
MAX_K = 4
MAX_PATHS = 100
MAX_PATH_LENGTH = 8
MAX_TOP = 1000

Direction = Literal["out", "in", "both"]
Measure = Literal["degree", "betweenness", "pagerank"]


class TraversalError(ValueError):
    """A bad parameter (out of range, unknown node); the message names it."""


def _check_node(graph: nx.MultiDiGraph, node: str) -> None:
    if node not in graph:
        raise TraversalError(f"{compact(node)} is not in the projected graph (check the filters)")


def check_range(name: str, value: int, low: int, high: int) -> None:
    """A parameter within its bounds, or :class:`TraversalError` naming them."""
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
    check_range("k", k, 1, MAX_K)
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
    check_range("max_length", max_length, 1, MAX_PATH_LENGTH)
    check_range("limit", limit, 1, MAX_PATHS)
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
    check_range("radius", radius, 1, MAX_K)
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
    check_range("top", top, 1, MAX_TOP)
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
    graph: nx.MultiDiGraph,
    *,
    level: Literal["person", "state"] = "person",
    unrealised: bool = False,
) -> nx.MultiDiGraph:
    """Who met, spoke, negotiated with or mediated for whom, with dates, events and quotes.

    Edges are the relations the graph holds (asserted, or derived by the reasoner when the
    projection includes inferences): ``metWith``, ``spokeWith``, ``negotiatedWith``,
    ``communicatedWith`` and ``mediatedFor``. A relation supported by events that took place
    gives one edge per event, with its date; one without gives one undated edge. Nothing is
    re-derived from event participation: a planned meeting never becomes ``metWith``.

    ``unrealised``: also show each planned, expected or cancelled meeting, talks or call as its
    own edges between its participants, labelled with its status ("planned meeting").

    At ``state`` level a node stands for others as the ontology's ``kgo:networkStandsFor``
    says: people for the states or organisations they act for (``kgo:actsFor``), a group of
    people for its members that are political entities (``kgo:hasMember``: the
    representatives of the United States, Russia and France). The parties of an event are
    the objects of its ``kgo:networkParty`` properties, and it took place when one of its
    statuses is ``kgo:networkRealised``. Relations the graph holds between states are kept
    as they are, and a relation of people or groups becomes a "through officials" edge
    (``through`` names them) unless a relation between their states already rests on the
    same event. Two members of one group are never linked to each other by the group's
    relations or events. Symmetric relations appear once per pair; ``communicatedWith``
    only where nothing more specific links a pair.
    """
    if level not in ("person", "state"):
        raise TraversalError(f"level must be person or state, not {level!r}")
    network = nx.MultiDiGraph(
        name=f"negotiation network ({level} level)", level=level, unrealised=unrealised
    )
    vocabulary = ontology_vocabulary()
    stood_for: dict[str, set[str]] = {}
    for s, t, data in graph.edges(data=True):
        for rule in vocabulary.stands_for:
            if rule.applies(data["predicate"], graph.nodes[s], graph.nodes[t]):
                stood_for.setdefault(s, set()).add(t)

    def stands_for_others(node: str) -> bool:
        return level == "state" and (
            node in stood_for or any(r.lifts(graph.nodes[node]) for r in vocabulary.stands_for)
        )

    def parties(node: str) -> list[str]:
        if not stands_for_others(node):
            return [node]
        return sorted(stood_for.get(node, ())) or [node]

    held = _held_relations(graph)
    edges: dict[tuple[str, str, str, str | None], dict[str, Any]] = {}
    for (a, b, relation), record in held.items():
        lifted = stands_for_others(a) or stands_for_others(b)
        for pa, pb in itertools.product(parties(a), parties(b)):
            if pa == pb:
                continue
            for event in record["events"] or [None]:
                edge = _network_edge(graph, record, event)
                if lifted:
                    edge.pop("predicate")  # no such triple between the states
                    edge["label"] = f"{relation} (officials)"
                    edge["through"] = [graph.nodes[a]["label"], graph.nodes[b]["label"]]
                pair = _ordered(pa, pb, edge["symmetric"])
                key = (*pair, edge["label"], edge.get("event"))
                if key in edges and "through" in edges[key] and "through" in edge:
                    names = edges[key]["through"]
                    edges[key]["through"] = names + [n for n in edge["through"] if n not in names]
                    continue
                edges.setdefault(key, edge)
    if unrealised:
        for event, attrs in graph.nodes(data=True):
            kind = _communication_kind(attrs)
            if kind is None or _realised(attrs):
                continue
            # (party, the participant it stands for): a group's members are not paired.
            sides = sorted(
                {
                    (p, target)
                    for _, target, d in graph.out_edges(event, data=True)
                    if d["predicate"] in vocabulary.parties
                    for p in parties(target)
                }
            )
            for (pa, ta), (pb, tb) in itertools.combinations(sides, 2):
                if pa == pb or ta == tb:
                    continue
                edge = _unrealised_edge(graph, event, attrs, kind)
                edges.setdefault((*sorted((pa, pb)), edge["label"], edge["event"]), edge)
    _drop_restated(edges)
    for (a, b, _, _), edge in sorted(edges.items(), key=lambda item: _edge_order(item[1])):
        for n in (a, b):
            if n not in network:
                network.add_node(n, **graph.nodes[n])
        edge_key = f"{edge['label']}:{edge.get('event') or 'undated'}"
        network.add_edge(a, b, key=edge_key, **edge)
    return network


_NETWORK_RELATION = KGO + "networkRelation"
_NETWORK_EVENT_RANK = KGO + "networkEventRank"
_NETWORK_PARTY = KGO + "networkParty"
_NETWORK_REALISED = KGO + "networkRealised"
_NETWORK_STANDS_FOR = KGO + "networkStandsFor"
_NETWORK_STANDS_FOR_ONLY = KGO + "networkStandsForOnly"
_SUBPROPERTY = "http://www.w3.org/2000/01/rdf-schema#subPropertyOf"
_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_EVENT_STATUS = KGO + "EventStatus"


def _is_a(attrs: dict[str, Any], cls: str) -> bool:
    """Whether a node (its projection attributes) is of class ``cls`` (a CURIE): among its
    types, or its broad category."""
    return cls in attrs.get("types", ()) or attrs.get("category") == local_name(cls)


@dataclass(frozen=True)
class StandsFor:
    """At the state level, a subject of ``predicate`` of class ``subject`` stands for the
    property's objects (of class ``only``, if given): ``kgo:networkStandsFor``."""

    predicate: str
    subject: str
    only: str | None = None

    def lifts(self, attrs: dict[str, Any]) -> bool:
        """Whether a node of these attributes stands for others even with no object: a
        person's relations are its state's, whether the graph names the state or not."""
        return self.only is None and _is_a(attrs, self.subject)

    def applies(self, predicate: str, subject: dict[str, Any], obj: dict[str, Any]) -> bool:
        """Whether an edge of ``predicate`` between these nodes makes its subject stand
        for its object."""
        return (
            predicate == self.predicate
            and _is_a(subject, self.subject)
            and (self.only is None or _is_a(obj, self.only))
        )


@dataclass(frozen=True)
class NetworkVocabulary:
    """What the negotiation network draws, as the ontology says (the "negotiation network"
    annotations of ``karabakh.ttl``), so an edit of the ontology changes the network."""

    relations: frozenset[str]
    """The properties drawn (IRIs): those annotated ``kgo:networkRelation true``."""
    general: frozenset[str]
    """The local names of the relations that other relations specialise
    (``rdfs:subPropertyOf``): drawn only where nothing more specific links a pair."""
    event_kinds: tuple[tuple[str, str], ...]
    """(class CURIE, its label) of the events shown when they did not take place
    (``kgo:networkEventRank``), by rank."""
    status_words: dict[str, str]
    """Each ``kgo:EventStatus`` (CURIE) -> its label."""
    parties: frozenset[str] = frozenset()
    """The properties linking an event to its parties (IRIs): ``kgo:networkParty true``."""
    realised: frozenset[str] = frozenset()
    """The statuses (CURIEs) of events that took place: ``kgo:networkRealised true``."""
    stands_for: tuple[StandsFor, ...] = ()
    """Who stands for whom at the state level (``kgo:networkStandsFor``)."""


def network_vocabulary(triples: Iterable[ox.Triple | ox.Quad]) -> NetworkVocabulary:
    """The :class:`NetworkVocabulary` of an ontology's triples."""
    relations: set[str] = set()
    parents: list[tuple[str, str]] = []
    ranks: list[tuple[int, str]] = []
    labels: dict[str, str] = {}
    statuses: set[str] = set()
    parties: set[str] = set()
    realised: set[str] = set()
    stands: dict[str, dict[str, str]] = {}
    for t in triples:
        if not isinstance(t.subject, ox.NamedNode) or isinstance(t.object, ox.Triple):
            continue
        subject, predicate, obj = t.subject.value, t.predicate.value, t.object
        if predicate == _NETWORK_RELATION and obj.value == "true":
            relations.add(subject)
        elif predicate == _NETWORK_PARTY and obj.value == "true":
            parties.add(subject)
        elif predicate == _NETWORK_REALISED and obj.value == "true":
            realised.add(compact(subject))
        elif predicate == _NETWORK_STANDS_FOR and isinstance(obj, ox.NamedNode):
            stands.setdefault(subject, {})["subject"] = compact(obj.value)
        elif predicate == _NETWORK_STANDS_FOR_ONLY and isinstance(obj, ox.NamedNode):
            stands.setdefault(subject, {})["only"] = compact(obj.value)
        elif predicate == _NETWORK_EVENT_RANK:
            ranks.append((int(obj.value), subject))
        elif predicate == _SUBPROPERTY and isinstance(obj, ox.NamedNode):
            parents.append((subject, obj.value))
        elif predicate == _LABEL and isinstance(obj, ox.Literal):
            if obj.language in (None, "en"):
                labels.setdefault(subject, obj.value)
        elif predicate == _TYPE and obj.value == _EVENT_STATUS:
            statuses.add(subject)
    return NetworkVocabulary(
        relations=frozenset(relations),
        general=frozenset(
            local_name(parent)
            for child, parent in parents
            if child in relations and parent in relations
        ),
        event_kinds=tuple(
            (compact(iri), labels.get(iri, local_name(iri))) for _, iri in sorted(ranks)
        ),
        status_words={compact(iri): labels.get(iri, local_name(iri)) for iri in statuses},
        parties=frozenset(parties),
        realised=frozenset(realised),
        stands_for=tuple(
            StandsFor(iri, rule["subject"], rule.get("only"))
            for iri, rule in sorted(stands.items())
            if "subject" in rule
        ),
    )


@cache
def ontology_vocabulary() -> NetworkVocabulary:
    """The :class:`NetworkVocabulary` of the project's ontology file (the graph the network
    is drawn from is a projection, without its knowledge graph at hand)."""
    return network_vocabulary(ox.parse(path=vocab.ontology_file(), format=ox.RdfFormat.TURTLE))


def _ordered(a: str, b: str, symmetric: bool) -> tuple[str, str]:
    return (b, a) if symmetric and b < a else (a, b)


def _held_relations(graph: nx.MultiDiGraph) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The graph's relations between agents, one record per pair (both directions merged for
    symmetric relations) with the kinds, quotes and supporting events of its triples."""
    held: dict[tuple[str, str, str], dict[str, Any]] = {}
    for s, t, data in graph.edges(data=True):
        if data["predicate"] not in ontology_vocabulary().relations or s == t:
            continue
        relation = local_name(data["predicate"])
        symmetric = bool(data.get("symmetric"))  # owl:SymmetricProperty, by the projection
        a, b = _ordered(s, t, symmetric)
        record = held.setdefault(
            (a, b, relation),
            {
                "predicate": data["predicate"],
                "relation": relation,
                "symmetric": symmetric,
                "kind": "derived",
                "events": [],
                "quotes": [],
                "evidence": [],
                "lines": [],
            },
        )
        if data["kind"] == "asserted":
            record["kind"] = "asserted"
        for name in ("quotes", "evidence", "lines"):
            record[name] += [x for x in data.get(name, []) if x not in record[name]]
        for event in data.get("events", []):
            if (expand(event) or event) in graph and event not in record["events"]:
                record["events"].append(event)
    for record in held.values():
        record["events"].sort(key=lambda e: (_event_date(graph, e) or "9999", e))
    return held


def _event_date(graph: nx.MultiDiGraph, curie: str) -> str | None:
    date = graph.nodes[(expand(curie) or curie)].get("date")
    return str(date) if date else None


def _realised(attrs: dict[str, Any]) -> bool:
    """Whether an event node is reported as having happened (one reading suffices)."""
    return any(s in ontology_vocabulary().realised for s in values(attrs, "eventStatus"))


def _participation_quote(graph: nx.MultiDiGraph, event: str) -> dict[str, Any] | None:
    parties = ontology_vocabulary().parties
    for _, _, data in graph.out_edges(event, data=True):
        if data["predicate"] in parties and data.get("quote"):
            return data
    return None


def _network_edge(graph: nx.MultiDiGraph, record: dict[str, Any], event: str | None) -> Any:
    edge: dict[str, Any] = {
        "predicate": record["predicate"],
        "relation": record["relation"],
        "label": record["relation"],
        "symmetric": record["symmetric"],
        "kind": record["kind"],
        "quotes": list(record["quotes"]),
        "evidence": list(record["evidence"]),
        "lines": list(record["lines"]),
    }
    if event is not None:
        iri = expand(event) or event
        attrs = graph.nodes[iri]
        took_place = [
            s for s in values(attrs, "eventStatus") if s in ontology_vocabulary().realised
        ]
        status = took_place[0] if len(took_place) == 1 else (took_place or None)
        edge.update(event=event, eventLabel=attrs["label"], status=status)
        if attrs.get("date"):
            edge["date"] = str(attrs["date"])
        own = _participation_quote(graph, iri)
        if own and (record["kind"] != "asserted" or not edge["quotes"]):
            # A derived relation's first quote is the event's: it says when and where.
            edge["quotes"] = [q for q in own["quotes"] if q not in edge["quotes"]] + edge["quotes"]
            edge["evidence"] = [e for e in own["evidence"] if e not in edge["evidence"]] + edge[
                "evidence"
            ]
    if edge["quotes"]:
        edge["quote"] = edge["quotes"][0]
    return edge


def _communication_kind(attrs: dict[str, Any]) -> str | None:
    types = set(attrs.get("types", []))
    kinds = ontology_vocabulary().event_kinds
    return next((word for cls, word in kinds if cls in types), None)


def _unrealised_edge(
    graph: nx.MultiDiGraph, event: str, attrs: dict[str, Any], kind: str
) -> dict[str, Any]:
    statuses = values(attrs, "eventStatus")
    known = ontology_vocabulary().status_words
    words = [known.get(s, compact(s)) for s in statuses] or ["unconfirmed"]
    edge: dict[str, Any] = {
        "relation": f"{'/'.join(words)} {kind}",
        "label": f"{'/'.join(words)} {kind}",
        "symmetric": True,
        "kind": "asserted",
        "unrealised": True,
        "event": compact(event),
        "eventLabel": attrs["label"],
        "status": statuses[0] if len(statuses) == 1 else (statuses or None),
    }
    if attrs.get("date"):
        edge["date"] = str(attrs["date"])
    own = _participation_quote(graph, event)
    if own:
        edge.update(quotes=list(own["quotes"]), evidence=list(own["evidence"]))
        edge["quote"] = own["quotes"][0]
    return edge


def _drop_restated(edges: dict[tuple[str, str, str, str | None], dict[str, Any]]) -> None:
    """Leave out edges that another edge of the same pair already says.

    A general relation (``communicatedWith``) goes where a more specific relation links the
    pair; an edge through officials goes where a relation between the states rests on the
    same event.
    """
    general_names = ontology_vocabulary().general
    specific = {
        (a, b, e.get("event"))
        for (a, b, _, _), e in edges.items()
        if e["relation"] not in general_names and not e.get("unrealised")
    }
    specific_pairs = {(a, b) for a, b, _ in specific}
    held_events = {
        (a, b, e.get("event"))
        for (a, b, _, _), e in edges.items()
        if "through" not in e and e.get("event")
    }
    for key in list(edges):
        a, b, _, event = key
        edge = edges[key]
        general = edge["relation"] in general_names and (a, b) in specific_pairs
        restated = "through" in edge and event is not None and (a, b, event) in held_events
        if general or restated:
            del edges[key]


def _edge_order(edge: dict[str, Any]) -> tuple[str, str, str]:
    return (edge.get("date") or "9999", edge["label"], edge.get("event") or "")


def network_rows(network: nx.MultiDiGraph) -> list[dict[str, Any]]:
    """The negotiation network as rows: who, relation, whom, date, event, status, quote."""
    rows = []
    for a, b, data in network.edges(data=True):
        rows.append(
            {
                "source": a,
                "sourceLabel": network.nodes[a]["label"],
                "relation": data["relation"],
                "label": data["label"],
                "target": b,
                "targetLabel": network.nodes[b]["label"],
                "date": data.get("date"),
                "event": data.get("event"),
                "eventLabel": data.get("eventLabel"),
                "status": data.get("status"),
                "through": data.get("through"),
                "kind": data["kind"],
                "quote": data.get("quote"),
            }
        )
    return sorted(rows, key=lambda r: (r["date"] or "9999", r["sourceLabel"], r["targetLabel"]))
