"""``/graph/...``: JSON endpoints for lookup, neighbours, paths, ego networks, components,
centrality, communities and the negotiation network.

Errors are problem documents (:mod:`karabakh_kg.server.problems`) with ``suggestions``: 404
for an unknown entity (with close matches), 409 for an ambiguous name (with every candidate),
400 for a bad parameter, 414 for a name too long to look up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

import networkx as nx
import pyoxigraph as ox
from fastapi import APIRouter, Depends, Query, Request

from karabakh_kg.graph import GraphFilter, KnowledgeGraph, lookup, perspectives, traversal
from karabakh_kg.graph import export as exports
from karabakh_kg.server.problems import Problem
from karabakh_kg.server.web.common import MAX_NAME_LENGTH, check_name, get_and_head

if TYPE_CHECKING:
    from karabakh_kg.server.web.engine_graph import EngineGraph, Scope

router = APIRouter(prefix="/graph", tags=["graph"])

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "A bad parameter; `detail` names it."},
    404: {"description": "No entity has this name; `suggestions` lists close matches."},
    409: {"description": "Several entities have this name; `suggestions` lists them."},
    414: {"description": f"A name longer than {MAX_NAME_LENGTH} characters."},
}


NAME_LIMIT = {"maxLength": MAX_NAME_LENGTH}
"""Stated in the OpenAPI document; enforced by :func:`check_name` (414, not 422)."""
VALUE_LIMIT = {"maxLength": GraphFilter.MAX_LENGTH}
NAMES_LIMIT = {"maxItems": GraphFilter.MAX_NAMES, "items": {"type": "string", **VALUE_LIMIT}}
"""The filters' limits, stated in the OpenAPI document; enforced by :class:`GraphFilter`
(400 naming the limit, as the commands say it)."""


def suggestion_list(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """(IRI, label) pairs as the ``suggestions`` member of a problem document."""
    return [{"iri": iri, "label": label} for iri, label in pairs]


def answer(call: Callable[[], Any]) -> Any:
    """Run ``call``, raising lookup and parameter errors as problem documents."""
    try:
        return call()
    except lookup.AmbiguousEntityError as error:
        raise Problem(
            409, "ambiguous-name", error.message, suggestions=suggestion_list(error.suggestions)
        ) from None
    except lookup.EntityLookupError as error:
        raise Problem(
            404, "unknown-entity", error.message, suggestions=suggestion_list(error.suggestions)
        ) from None
    except (ValueError, exports.ExportError) as error:
        raise Problem(400, "bad-parameter", str(error)) from None


def resolve(kg: KnowledgeGraph, name: str) -> str:
    """The IRI of the entity ``name`` designates (a name too long to look up: 414)."""
    return lookup.resolve(kg, check_name(name, "entity name"))


@dataclass(frozen=True)
class View:
    """The knowledge graph as the request sees it: ``kg`` from ``perspective`` (a view of
    the application's ``whole`` graph; ``whole`` itself for ``all``). Over an engine
    without a local copy (``serve --backend``), ``engine`` reads the parts of the graph a
    request needs (:mod:`karabakh_kg.server.web.engine_graph`)."""

    kg: KnowledgeGraph
    whole: KnowledgeGraph
    perspective: perspectives.Perspective
    engine: EngineGraph | None = None
    scope: Scope | None = None
    """Over an engine, the graphs of ``perspective`` its slices read."""

    def resolve(self, name: str) -> str:
        """The IRI of the entity ``name`` designates (a name too long to look up: 414)."""
        if self.engine is None:
            return resolve(self.kg, name)
        return self.engine.resolve(check_name(name, "entity name"), self.reading)

    @property
    def reading(self) -> Scope:
        from karabakh_kg.server.web.engine_graph import EVERY_SOURCE

        return self.scope or EVERY_SOURCE

    def around(self, starts: Iterable[str], radius: int) -> KnowledgeGraph:
        """What a traversal within ``radius`` hops of ``starts`` reads: the graph itself,
        or, over an engine, the slice of it holding every node within ``radius`` hops."""
        if self.engine is None:
            return self.kg
        what = f"the graph within {radius} hop{'' if radius == 1 else 's'}" if radius else "it"
        return self.engine.ball(starts, radius, what, self.reading)

    def whole_graph(self, what: str) -> KnowledgeGraph:
        """What a whole-graph traversal or export reads: the graph itself, or, over an
        engine, the graph read from it in this perspective, in bounded queries
        (:meth:`~karabakh_kg.server.web.engine_graph.EngineGraph.whole`; past its bound,
        400 ``too-large`` naming ``what``)."""
        return self.kg if self.engine is None else self.engine.whole(what, self.reading)

    def described(self, iris: Iterable[str]) -> KnowledgeGraph:
        """What describing ``iris`` reads (the graph, or the engine's slice about them)."""
        return self.kg if self.engine is None else self.engine.described(iris, self.reading)

    def elements(self, graph: nx.MultiDiGraph, read: KnowledgeGraph | None = None) -> Any:
        """Cytoscape.js elements of ``graph`` (what the explorer draws), each derived edge
        resting on one claimant alone in this perspective marked (``single_claimant``,
        ``single_claimant_label``, the class ``single-claimant``). ``read``: the graph
        ``graph`` was projected from (over an engine, its slice, whose support nodes say
        who each derived triple rests on)."""
        found = exports.cytoscape_elements(graph)
        derived = [
            (edge, tuple(ox.NamedNode(edge["data"][k]) for k in ("source", "predicate", "target")))
            for edge in found.get("edges", [])
            if edge["data"].get("kind") == "derived" and "predicate" in edge["data"]
        ]
        triples = [t for _, t in derived]
        if self.engine is not None and read is not None:
            marks = perspectives.recorded_single_claimants(read, triples, self.reading.units)
        else:
            ones = perspectives.single_claimants(self.whole, triples, self.perspective)
            labels = {p.iri: p.label for p in perspectives.perspectives(self.whole).claimants}
            marks = {t: (who, labels.get(who, who)) for t, who in ones.items()}
        for edge, triple in derived:
            mark = marks.get(triple)
            if mark is not None:
                edge["data"]["single_claimant"], edge["data"]["single_claimant_label"] = mark
                edge["classes"] = f"{edge.get('classes', '')} single-claimant".strip()
        return found


def view_of(
    request: Request,
    perspective: Annotated[
        str | None,
        Query(
            description="Whose statements to reason from: all (default), article, or a "
            "claimant (CURIE, IRI or label); see `karabakh-kg perspectives`.",
            json_schema_extra=NAME_LIMIT,
        ),
    ] = None,
) -> View:
    """The application's knowledge graph, seen from the request's ``perspective=``
    (``all`` by default; an unknown one answers 400 naming it). A dependency, so every
    route that takes it declares ``perspective`` in the OpenAPI document."""
    whole: KnowledgeGraph = request.app.state.kg
    if getattr(request.app.state, "engine", None) is not None:
        from karabakh_kg.server.web.engine_graph import engine_graph

        engine = engine_graph(request)
        if engine is not None:  # no local copy: slices of the engine's graphs
            try:
                chosen, scope = engine.scope(
                    check_name(perspective, "perspective") if perspective else None
                )
            except perspectives.UnknownPerspective as error:
                raise Problem(400, "unknown-perspective", str(error)) from None
            return View(whole, whole, chosen, engine, scope)
    try:
        chosen = perspectives.resolve(
            whole, check_name(perspective, "perspective") if perspective else None
        )
    except perspectives.UnknownPerspective as error:
        raise Problem(400, "unknown-perspective", str(error)) from None
    return View(perspectives.view(whole, chosen), whole, chosen)


Seen = Annotated[View, Depends(view_of)]
"""A route parameter: the knowledge graph from the request's perspective."""


Inferred = Annotated[bool, Query(description="Include derived edges and types.")]
Predicates = Annotated[
    list[str] | None,
    Query(
        alias="predicate",
        description="Keep only these predicates (CURIE, IRI or kgo: name; repeatable).",
        json_schema_extra=NAMES_LIMIT,
    ),
]
Classes = Annotated[
    list[str] | None,
    Query(
        alias="class",
        description="Keep only nodes of these classes (kgo:Person, Event…; repeatable).",
        json_schema_extra=NAMES_LIMIT,
    ),
]


def graph_filter(
    inferred: Inferred = True,
    predicates: Predicates = None,
    classes: Classes = None,
    start: Annotated[
        str | None,
        Query(
            alias="from",
            description="Window start: ISO date or year.",
            json_schema_extra=VALUE_LIMIT,
        ),
    ] = None,
    end: Annotated[
        str | None,
        Query(
            alias="to", description="Window end: ISO date or year.", json_schema_extra=VALUE_LIMIT
        ),
    ] = None,
) -> GraphFilter:
    """The projection filters of a graph route (a dependency, so each route declares them
    in the OpenAPI document); a filter over its limits answers 400 naming the limit, and
    an unknown name or bad date answers 400 when the projection is made (:func:`answer`)."""
    try:
        return GraphFilter(inferred, tuple(predicates or ()), tuple(classes or ()), start, end)
    except ValueError as error:
        raise Problem(400, "bad-parameter", str(error)) from None


def path_filter(
    inferred: Inferred = True, predicates: Predicates = None, classes: Classes = None
) -> GraphFilter:
    """:func:`graph_filter` without the window, whose ``from`` and ``to`` name the path's
    ends on ``/graph/path``."""
    return graph_filter(inferred, predicates, classes, None, None)


Filters = Annotated[GraphFilter, Depends(graph_filter)]
"""A route parameter: the request's projection filters."""


def traverse(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a traversal function; its :class:`~traversal.TraversalError` answers 400."""
    try:
        return call(*args, **kwargs)
    except traversal.TraversalError as error:
        raise Problem(400, "bad-parameter", str(error)) from None


def _subgraph(
    graph: nx.MultiDiGraph, nodes: Iterable[str], edges: Iterable[dict[str, Any]]
) -> nx.MultiDiGraph:
    """The nodes and the edges (as traversal results give them) with ``graph``'s data."""
    sub = nx.MultiDiGraph()
    sub.add_nodes_from((n, graph.nodes[n]) for n in nodes)
    for e in edges:
        key = (e["source"], e["target"], e["key"])
        sub.add_edge(*key, **graph.edges[key])
    return sub


def _shortest(
    seen: View, filters: GraphFilter, a: str, b: str
) -> tuple[KnowledgeGraph, nx.MultiDiGraph, dict[str, Any] | None]:
    """The shortest path between ``a`` and ``b``, with the graph and projection it was
    found in. Over an engine, balls of growing radius ``r`` around both ends (1 to
    ``traversal.MAX_K``): one holds every path of at most ``2r + 1`` edges, so a path
    found that short is a shortest one; longer paths are not looked for."""
    if seen.engine is None:
        graph = filters.project(seen.kg)
        return seen.kg, graph, traverse(traversal.shortest_path, graph, a, b)
    for radius in range(1, traversal.MAX_K + 1):
        kg = seen.around([a, b], radius)
        graph = filters.project(kg)
        found = traverse(traversal.shortest_path, graph, a, b)
        if found is not None and found["length"] <= 2 * radius + 1:
            return kg, graph, found
    return kg, graph, None


@get_and_head(router, "/lookup", responses=ERROR_RESPONSES, summary="Resolve a name to one entity")
def graph_lookup(
    seen: Seen,
    name: Annotated[
        str,
        Query(
            description="Label, alt label, CURIE, IRI or Wikidata id.", json_schema_extra=NAME_LIMIT
        ),
    ],
) -> Any:
    """The entity a name designates, with its IRI, CURIE, label, types and Wikidata ids."""

    def run() -> Any:
        iri = seen.resolve(name)
        return lookup.describe(seen.described([iri]), iri)

    return answer(run)


MAX_SEARCH = 50
"""Most results of ``/graph/search``."""


@get_and_head(router, "/search", responses=ERROR_RESPONSES, summary="Entities whose names match")
def graph_search(
    seen: Seen,
    q: Annotated[
        str,
        Query(
            description="Part of a name; case and accents do not matter.",
            json_schema_extra=NAME_LIMIT,
        ),
    ],
    limit: Annotated[int, Query(description=f"Most results, 1 to {MAX_SEARCH}.")] = 10,
) -> Any:
    """Entities ranked by how well a name matches: exact, prefix, words, then close spellings."""
    traverse(traversal.check_range, "limit", limit, 1, MAX_SEARCH)  # 400, as the others
    text = check_name(q, "search text")
    names = seen.kg if seen.engine is None else seen.engine.names(text, seen.reading)
    found = lookup.search(names, text, limit)
    about = seen.described(e.iri for e in found)
    return {"query": q, "results": [lookup.describe(about, e.iri) for e in found]}


@get_and_head(router, "/neighbours", responses=ERROR_RESPONSES, summary="Neighbours within k hops")
def graph_neighbours(
    seen: Seen,
    filters: Filters,
    node: Annotated[
        str, Query(description="Entity name (as for /graph/lookup).", json_schema_extra=NAME_LIMIT)
    ],
    k: Annotated[int, Query(description=f"Hops, 1 to {traversal.MAX_K}.")] = 1,
    direction: Annotated[Literal["both", "out", "in"], Query()] = "both",
) -> Any:
    """Nodes within ``k`` hops, each with its distance, and the edges followed (with quotes;
    ``predicate`` chooses the edges followed). Also gives ``elements`` for Cytoscape.js.
    """

    def run() -> Any:
        iri = seen.resolve(node)
        traverse(traversal.check_range, "k", k, 1, traversal.MAX_K)
        kg = seen.around([iri], k)
        graph = filters.project(kg, predicates=False)
        result = traverse(
            traversal.neighbours,
            graph,
            iri,
            k=k,
            direction=direction,
            predicates=filters.predicate_iris(kg),
        )
        keep = {iri} | {n["iri"] for n in result["neighbours"]}
        result["elements"] = seen.elements(_subgraph(graph, keep, result["edges"]), kg)
        return result

    return answer(run)


@get_and_head(router, "/path", responses=ERROR_RESPONSES, summary="Paths between two entities")
def graph_path(
    seen: Seen,
    filters: Annotated[GraphFilter, Depends(path_filter)],
    source: Annotated[
        str, Query(alias="from", description="Start entity name.", json_schema_extra=NAME_LIMIT)
    ],
    target: Annotated[
        str, Query(alias="to", description="End entity name.", json_schema_extra=NAME_LIMIT)
    ],
    all_paths: Annotated[bool, Query(alias="all", description="All simple paths.")] = False,
    max_length: Annotated[
        int, Query(description=f"Longest path with all=true, 1 to {traversal.MAX_PATH_LENGTH}.")
    ] = 4,
    limit: Annotated[int, Query(description=f"Most paths, 1 to {traversal.MAX_PATHS}.")] = 20,
) -> Any:
    """The shortest path (or all simple paths up to ``max_length``), each step with its edge,
    direction and quote. ``paths`` is empty when the entities are not connected."""

    def run() -> Any:
        # both bounds checked with or without all=true: a value out of range is never ignored
        traverse(traversal.check_range, "max_length", max_length, 1, traversal.MAX_PATH_LENGTH)
        traverse(traversal.check_range, "limit", limit, 1, traversal.MAX_PATHS)
        a, b = seen.resolve(source), seen.resolve(target)
        if all_paths:
            # every path of at most max_length edges lies within max_length // 2 hops of an end
            kg = seen.around([a, b], max_length // 2)
            graph = filters.project(kg)
            result = traverse(traversal.all_paths, graph, a, b, max_length=max_length, limit=limit)
        else:
            kg, graph, found = _shortest(seen, filters, a, b)
            result = {"paths": [found] if found else [], "truncated": False}
            if seen.engine is not None:
                result["max_length"] = 2 * traversal.MAX_K + 1
        paths = result["paths"]
        nodes = {info["iri"]: None for p in paths for info in p["nodes"]}
        edges = [step["edge"] for p in paths for step in p["steps"]]
        result["elements"] = seen.elements(_subgraph(graph, nodes, edges), kg)
        return result

    return answer(run)


@get_and_head(router, "/ego", responses=ERROR_RESPONSES, summary="Ego network of an entity")
def graph_ego(
    seen: Seen,
    filters: Filters,
    node: Annotated[str, Query(description="Entity name.", json_schema_extra=NAME_LIMIT)],
    radius: Annotated[int, Query(description=f"Hops, 1 to {traversal.MAX_K}.")] = 1,
) -> Any:
    """Every node within ``radius`` hops and every edge among them, as Cytoscape.js elements."""

    def run() -> Any:
        iri = seen.resolve(node)
        traverse(traversal.check_range, "radius", radius, 1, traversal.MAX_K)
        kg = seen.around([iri], radius)
        ego = traverse(traversal.ego_network, filters.project(kg), iri, radius=radius)
        return {"node": iri, "radius": radius, "elements": seen.elements(ego, kg)}

    return answer(run)


@get_and_head(router, "/components", responses=ERROR_RESPONSES, summary="Connected components")
def graph_components(seen: Seen, filters: Filters) -> Any:
    """Weakly connected components, largest first."""
    return answer(
        lambda: {
            "components": traversal.components(
                filters.project(seen.whole_graph("the connected components"))
            )
        }
    )


@get_and_head(router, "/centrality", responses=ERROR_RESPONSES, summary="Most central entities")
def graph_centrality(
    seen: Seen,
    filters: Filters,
    measure: Annotated[Literal["degree", "betweenness", "pagerank"], Query()] = "degree",
    top: Annotated[int, Query(description=f"How many, 1 to {traversal.MAX_TOP}.")] = 20,
) -> Any:
    """The ``top`` entities by degree, betweenness or PageRank."""

    def run() -> Any:
        graph = filters.project(seen.whole_graph("the centrality of every entity"))
        ranked = traverse(traversal.centrality, graph, measure=measure, top=top)
        return {"measure": measure, "results": ranked}

    return answer(run)


@get_and_head(router, "/communities", responses=ERROR_RESPONSES, summary="Communities")
def graph_communities(
    seen: Seen,
    filters: Filters,
    method: Annotated[Literal["louvain", "greedy"], Query()] = "louvain",
) -> Any:
    """Communities by Louvain (fixed seed) or greedy modularity, largest first."""

    def run() -> Any:
        graph = filters.project(seen.whole_graph("the communities"))
        return {"method": method, "communities": traversal.communities(graph, method=method)}

    return answer(run)


@get_and_head(router, "/network", responses=ERROR_RESPONSES, summary="The negotiation network")
def graph_network(
    seen: Seen,
    filters: Filters,
    level: Annotated[Literal["person", "state"], Query()] = "person",
    unrealised: Annotated[
        bool,
        Query(description="Also show planned, expected and cancelled meetings, talks, calls."),
    ] = False,
) -> Any:
    """Who met, spoke, negotiated with or mediated for whom: the relations the graph holds,
    with the dates, events and quotes that support them; as rows and Cytoscape.js elements.
    Planned or cancelled meetings are never shown as ``metWith``; with ``unrealised`` they
    are added as their own edges ("planned meeting")."""

    def run() -> Any:
        what = "the negotiation network"
        graph = filters.project(seen.whole_graph(what))
        network = traversal.negotiation_network(graph, level=level, unrealised=unrealised)
        # over an engine, the supports that mark derived edges resting on one claimant
        marks = None if seen.engine is None else seen.engine.marks(network, what)
        return {
            "level": level,
            "unrealised": unrealised,
            "rows": traversal.network_rows(network),
            "elements": seen.elements(network, marks),
        }

    return answer(run)
