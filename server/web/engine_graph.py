"""Traversal and exports read from the engine (``serve --backend``), without a local copy.

A neighbourhood, an ego network, a shortest path or an export around one entity is made
from a *slice* of the engine's graphs, read in bounded hops through the
:class:`~karabakh_kg.graph.GraphStore` interface:

1. hop by hop from the start (or both ends of a path), every quad with a node of the
   frontier as subject or object, in the asserted and inferred graphs and the evidence
   graphs (one ``SELECT`` per :data:`FRONTIER_PER_QUERY` nodes); the next frontier is the
   resources those quads link to. A ball of radius ``r`` reads the quads of every node within
   ``r`` hops, so every edge between them, and so every path of length at most ``r`` from
   the start, is in the slice;
2. the supports (``graph/support``) of the derived triples read, and the evidence units
   they rest on, with their triples: the premises of each derivation, so the events a
   derived relation rests on are found as over the whole graph;
3. the descriptions of the evidence units and the labels of every IRI named
   (:func:`karabakh_kg.server.web.resource_engine.complete_page`), and the ontology graph
   (read once per data version with the ontology page).

In a perspective (:class:`Scope`), the slice reads the perspective's own asserted and
inferred graphs in place of the graphs of every source, and its evidence units alone, as
the perspective's view of the whole graph holds them; the perspectives (who each unit is
attributed to) are read from the provenance graph once per data version.

The event views (the event table, the timeline, the map) read one page of events
(:meth:`EngineGraph.events`): the events a perspective's evidence units speak of are
listed by name (:meth:`EngineGraph.event_index`), and of the page's events the quads the
graph-layer code reads of them (their facts and the claims about them in every unit,
the types and names of what those name, the places' containers and points, the units'
descriptions and who each unit is attributed to), so their rows are those over the whole
graph at any size. The whole-graph traversals and exports, and reconciliation by
properties, read the whole graph within a bound instead (:meth:`EngineGraph.whole`).

The slice is a small :class:`~karabakh_kg.graph.KnowledgeGraph` whose reasoner is built
over it (without writing anything), and the one projection and traversal code runs on it,
so an answer from the engine is the answer over the whole graph. Every query has the
server's query time limit and the slice its bound (:data:`SLICE_QUADS`): a neighbourhood
larger than that answers 400 ``too-large`` naming the bound, instead of a partial answer.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
from fastapi import Request

from karabakh_kg.graph import (
    ASSERTED,
    INFERRED,
    ONTOLOGY,
    PERSPECTIVE_GRAPHS,
    PROVENANCE,
    PUBLICATION,
    SUPPORT,
    WIKIDATA,
    KnowledgeGraph,
    build_reasoner,
    expand,
    is_evidence_graph,
    lookup,
    perspectives,
    reasoning,
)
from karabakh_kg.ontology import vocab
from karabakh_kg.server.problems import Problem
from karabakh_kg.server.settings import Settings

if TYPE_CHECKING:
    from karabakh_kg.server.sparql.backend import EngineOutline

from karabakh_kg.server.web.resource_engine import (
    PageStore,
    chunks,
    complete_page,
    descriptions,
    labels,
    named_like,
    quads_of,
)

SLICE_QUADS = 50_000
"""Most quads one traversal reads from the engine (the whole curated graph's asserted,
inferred and evidence graphs hold about 4 600)."""
FRONTIER_PER_QUERY = 500
"""Nodes one hop query asks about (a ``VALUES`` list; a larger frontier takes more
queries, each within the slice's bound)."""
NAME_CANDIDATES = 200
"""Names one look-up reads from the engine, to resolve the name among them."""
WHOLE_GRAPH_QUADS = Settings.backend_whole_max_quads
"""Most quads a view of the whole graph reads from the engine by default (the whole-graph
traversals and exports, reconciliation by properties; the server's is
``KARABAKH_KG_BACKEND_WHOLE_MAX_QUADS``; the event views read pages of events instead):
the curated graph's asserted, inferred, evidence, provenance, ontology and Wikidata graphs
hold about 7 300. More answers 400 ``too-large`` naming the bound."""
READ_WAIT = Settings.max_query_timeout
"""Seconds a request waits, by default, for another request's read of the part of the
graph it needs (the server's: ``KARABAKH_KG_MAX_QUERY_TIMEOUT``, as long as a query may
run); then 503 ``busy``."""
PAST_THE_BOUND = (
    " Over an engine without a local copy (`serve --backend`), also a graph larger than"
    " the bound it is read within (`too-large`, naming the bound)."
)
"""What the OpenAPI document adds to the 400 of a route reading the graph from an engine."""
UNITS_PER_QUERY = 500
"""Evidence units one query of a whole-graph read asks for (a ``VALUES`` list of graphs)."""
KEPT_WHOLE = 2
"""Whole-graph reads kept per data version (every source's and one perspective's: each is
at most :data:`WHOLE_GRAPH_QUADS` quads, with its reasoner)."""

EVENTS_INDEXED = 200_000
"""Most events the event views list the pages of (the events a perspective's evidence
units speak of, read by name alone; more answers 400 ``too-large``)."""
EVENT_PAGE_QUADS = 200_000
"""Most quads one page of the event views reads from the engine (more answers 400
``too-large``, naming ``limit=``: ask for fewer events a page)."""
PLACE_LAYER_QUADS = 200_000
"""Most quads the map's layer of every place reads from the engine (every place and state,
their names and points, and the descriptions of the gazetteer units those come from), read
once per data version beside each page of events; more answers 400 ``too-large``, whatever
the page."""
KEPT_EVENT_PAGES = 4
"""Pages of the event views kept per data version, with their reasoners."""
CAUSE_DEPTH = 8
"""Most links of ``kgo:causedBy`` chains followed back from a page's events (the deaths
an event caused count as its fatalities)."""

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
KGO = str(vocab.KGO)
_OUTER_PLACES = (KGO + "locatedIn", KGO + "country")
"""What a page's places are named through: the places they lie in, their countries."""
_TERMS = (
    KGO,
    str(vocab.WD),
    RDF,
    "http://www.w3.org/2000/01/rdf-schema#",
    "http://www.w3.org/2002/07/owl#",
    "http://www.w3.org/2001/XMLSchema#",
    "http://www.w3.org/2004/02/skos/core#",
)
"""Namespaces of vocabulary terms and external ids, never traversed (thousands of
resources are of type ``kgo:Person``)."""

_HOP = """SELECT ?g ?s ?p ?o WHERE {{
  {{ VALUES ?s {{ {nodes} }} GRAPH ?g {{ ?s ?p ?o }} }}
  UNION
  {{ VALUES ?o {{ {nodes} }} GRAPH ?g {{ ?s ?p ?o }} }}
  FILTER({graphs})
}} LIMIT {limit}"""
_SUPPORTS = """SELECT ?g ?s ?p ?o WHERE {{
  GRAPH <{support}> {{ {{ {triples} }} ?s ?p ?o }}
  BIND(<{support}> AS ?g)
}} LIMIT {limit}"""
_SUPPORTED = "{{ ?s <{rdf}subject> {s} ; <{rdf}predicate> {p} ; <{rdf}object> {o} }}"
SUPPORTS_PER_QUERY = 100
"""Triples one query asks the supports of: a ``UNION`` of one pattern per triple. As a
``VALUES`` table of triples, Virtuoso 7.2 answered the same 100 triples around
kg:armenia in 0.9 s one time and 7.8 to 9 s (412 triples: 49 to 55 s) others, as its
plan varied from run to run; the union took 0.65 s (2026-12-01). A union of 200 took
2.5-3 s where two of 100 took 2-2.6, and one of 412 Virtuoso refuses (SP031: the SQL it
generates passes 10 000 lines)."""
_UNITS = """SELECT ?g ?s ?p ?o WHERE {{
  VALUES ?g {{ {units} }} GRAPH ?g {{ ?s ?p ?o }}
}} LIMIT {limit}"""
_ABOUT_NAME = """SELECT ?g ?s ?p ?o WHERE {{
  VALUES ?g {{ <{asserted}> <{inferred}> }}
  {{ VALUES ?s {{ {node} }} GRAPH ?g {{ ?s ?p ?o }} }}
  UNION {{ VALUES ?o {{ {node} }} GRAPH ?g {{ ?s ?p ?o }} }}
}} LIMIT {limit}"""
_TYPES = """SELECT ?g ?s ?p ?o WHERE {{
  VALUES ?g {{ <{asserted}> <{inferred}> }} VALUES ?s {{ {nodes} }} VALUES ?p {{ <{type}> }}
  GRAPH ?g {{ ?s ?p ?o }}
}} LIMIT {limit}"""
_PAGE = """SELECT ?g ?s ?p ?o WHERE {{
  {{ VALUES ?s {{ {node} }} GRAPH ?g {{ ?s ?p ?o }} }}
  UNION
  {{ VALUES ?o {{ {node} }} GRAPH ?g {{ ?s ?p ?o }} }}
  FILTER(({graphs}) || ?g = <{wikidata}>)
}} LIMIT {limit}"""
_DISPUTES = """SELECT ?g ?s ?p ?o WHERE {{
  GRAPH <{provenance}> {{ ?s a <https://w3id.org/karabakh-kg/ontology#Dispute> }}
  VALUES ?g {{ {graphs} }} GRAPH ?g {{ ?s ?p ?o }}
}} LIMIT {limit}"""
_DESCRIBED = """SELECT ?g ?s ?p ?o WHERE {{
  VALUES ?s {{ {nodes} }} VALUES ?g {{ {graphs} }} GRAPH ?g {{ ?s ?p ?o }}
}} LIMIT {limit}"""
_CLAIMED = """SELECT ?g ?s ?p ?o WHERE {{
  VALUES ?s {{ {nodes} }} VALUES ?p {{ <{type}> }} VALUES ?o {{ <{claim}> }}
  GRAPH ?g {{ ?s ?p ?o }}
}} LIMIT {limit}"""
_GRAPHS = """SELECT ?g ?s ?p ?o WHERE {{
  VALUES ?g {{ {graphs} }} GRAPH ?g {{ ?s ?p ?o }}
}} LIMIT {limit}"""
_SUBJECTS = """SELECT ?g ?s ?p ?o WHERE {{
  VALUES ?g {{ {graphs} }} VALUES ?s {{ {nodes} }} GRAPH ?g {{ ?s ?p ?o }}
}} LIMIT {limit}"""
_GRAPH_NAMES = "SELECT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g LIMIT {limit}"
"""The graph names (GROUP BY, not DISTINCT: Virtuoso 7.2 plans DISTINCT ?g over GRAPH ?g
as a scan that took minutes over the curated publication, docs/deployment.md)."""
_EVENTS_OF = """SELECT DISTINCT ?event WHERE {{
  VALUES ?g {{ {units} }}
  {{ GRAPH ?g {{ ?event ?p ?o }} }}
  UNION
  {{ GRAPH ?g {{ ?claim ?p ?event }} FILTER(?p IN (<{kgo}about>, <{kgo}denies>)) }}
  GRAPH ?t {{ ?event a <{kgo}Event> }} FILTER(?t IN ({defaults}))
  GRAPH ?d {{ ?g a <{kgo}Evidence> }} FILTER(?d IN ({defaults}))
}} LIMIT {limit}"""
# (one VALUES list a query and the rest as FILTERs: with three VALUES lists, the Oxigraph
# server took 14 s over 500 units of a 250 000-quad publication, 0.13 s so; 2026-12-02)
_NAMING = """SELECT ?g ?s ?p ?o WHERE {{
  VALUES ?s {{ {nodes} }} GRAPH ?g {{ ?s ?p ?o }}
  FILTER(?p IN ({predicates}) && ?g IN ({graphs}))
}} LIMIT {limit}"""
_GEOMETRIES = """SELECT ?g ?s ?p ?o WHERE {{
  {places}
  {{ GRAPH ?g {{ ?place <{geo}hasGeometry> ?s . ?s ?p ?o }} }}
  UNION
  {{ GRAPH ?g {{ ?place <{geo}hasGeometry> ?geometry . ?place ?p ?o }}
     FILTER(?p IN (<{geo}hasGeometry>, <{wgs}lat>, <{wgs}long>)) BIND(?place AS ?s) }}
  FILTER({graphs})
}} LIMIT {limit}"""
_ANY_LABEL = """SELECT ?g ?s ?p ?o WHERE {{
  VALUES ?s {{ {nodes} }} GRAPH ?g {{ ?s <{label}> ?o }} BIND(<{label}> AS ?p)
}} LIMIT {limit}"""
_TYPED = """SELECT ?g ?s ?p ?o WHERE {{
  {{ GRAPH ?g {{ ?s <{type}> <{kgo}Place> }} BIND(<{kgo}Place> AS ?o) }}
  UNION
  {{ GRAPH ?g {{ ?s <{type}> <{kgo}State> }} BIND(<{kgo}State> AS ?o) }}
  FILTER(?g IN ({defaults})) BIND(<{type}> AS ?p)
}} LIMIT {limit}"""
_CLAIM = ox.NamedNode(KGO + "Claim")
_PLACE = ox.NamedNode(KGO + "Place")
_WIKIDATA_ID = re.compile(r"^(?:wd:)?(Q[1-9][0-9]*)$", re.IGNORECASE)
_WIKIDATA_URL = re.compile(r"^https?://(?:www\.)?wikidata\.org/(?:wiki|entity)/(Q[1-9][0-9]*)$")


def _named_iri(text: str) -> str | None:
    """The IRI ``text`` gives (an IRI, a CURIE, or a Wikidata id as the Wikidata entity
    whose ``skos:exactMatch`` names it), or None for a name; an IRI that is not one is
    None too (then looked up as a name, and unknown)."""
    text = text.strip()
    iri = text[1:-1] if text.startswith("<") and text.endswith(">") else text
    wikidata = _WIKIDATA_ID.match(iri) or _WIKIDATA_URL.match(iri)
    if wikidata:
        iri = f"{vocab.WD}{wikidata.group(1).upper()}"
    elif not (re.match(r"^[a-z][a-z0-9+.-]*://", iri, re.IGNORECASE) or iri.startswith("urn:")):
        iri = expand(iri) or ""
    return _checked(iri) if iri else None


def _checked(iri: str) -> str | None:
    """``iri`` when it is one a query can name, else None."""
    try:
        ox.NamedNode(iri)
    except ValueError:
        return None
    return None if any(c in iri for c in '<>"{}|^`\\ ') else iri


@dataclass(frozen=True)
class Scope:
    """The graphs a slice reads: by default every source's (``all``); for a perspective,
    its own asserted and inferred graphs, read as the asserted and inferred graphs, and
    its evidence units alone (``units``), as the perspective's view of the whole graph
    holds them (:func:`karabakh_kg.graph.perspectives.view`)."""

    asserted: str = ASSERTED.value
    inferred: str = INFERRED.value
    units: frozenset[str] | None = None
    name: str = perspectives.ALL
    """The perspective's name (a whole-graph read names its data version after it, as
    :func:`karabakh_kg.graph.perspectives.view` does)."""

    def hop_filter(self) -> str:
        """The ``FILTER`` of a hop query: the scope's graphs and the evidence graphs."""
        skipped = [PROVENANCE.value, SUPPORT.value, ONTOLOGY.value, WIKIDATA.value]
        own = ""
        if self.asserted != ASSERTED.value:
            skipped += [ASSERTED.value, INFERRED.value]
            own = f" || ?g IN (<{self.asserted}>, <{self.inferred}>)"
        names = ", ".join(f"<{g}>" for g in skipped)
        return (
            f'?g NOT IN ({names}) && (!STRSTARTS(STR(?g), "{PERSPECTIVE_GRAPHS}"){own})'
            f' && !STRSTARTS(STR(?g), "{INFERRED.value}/")'
        )

    def read(self, quads: Iterable[ox.Quad]) -> list[ox.Quad]:
        """``quads`` as the scope's view holds them: its graphs renamed, other units out."""
        rename = {self.asserted: ASSERTED, self.inferred: INFERRED}
        found = []
        for q in quads:
            graph = q.graph_name
            if isinstance(graph, ox.NamedNode) and graph.value in rename:
                found.append(ox.Quad(q.subject, q.predicate, q.object, rename[graph.value]))
            elif (
                self.units is None
                or not is_evidence_graph(graph)
                or (isinstance(graph, ox.NamedNode) and graph.value in self.units)
            ):
                found.append(q)
        return found


EVERY_SOURCE = Scope()


def _resources(quads: Iterable[ox.Quad]) -> set[str]:
    """The resources ``quads`` of the asserted and inferred graphs relate (the next hop):
    subjects and objects of links between IRIs, not types nor vocabulary terms."""
    return {
        term.value
        for q in quads
        if q.graph_name in (ASSERTED, INFERRED)
        and q.predicate.value != RDF_TYPE
        and isinstance(q.object, ox.NamedNode)
        for term in (q.subject, q.object)
        if isinstance(term, ox.NamedNode) and not term.value.startswith(_TERMS)
    }


def too_many_events(what: str, limit: int) -> Problem:
    """The 400 of an event view whose perspective speaks of more than ``limit`` events
    (the most ``offset`` reaches), on every server alike."""
    return Problem(
        400,
        "too-large",
        f"{what} speaks of more than {limit} events, past what its pages reach; query /sparql",
        limit=limit,
    )


def too_large(
    what: str,
    limit: int,
    advice: str = "ask for fewer hops or follow fewer predicates (predicate=)",
) -> Problem:
    """The answer to a traversal whose slice would pass ``limit`` quads."""
    return Problem(
        400,
        "too-large",
        f"{what} reaches more than {limit} quads on the engine; {advice}, or query /sparql",
        limit=limit,
    )


_DEFAULT_GRAPHS = ", ".join(f"<{g.value}>" for g in (ASSERTED, PROVENANCE, ONTOLOGY, INFERRED))
"""The graphs of the default graph the graph-layer code queries (``KnowledgeGraph.query``)."""
_NAMING_PREDICATES = ", ".join(
    f"<{p}>"
    for p in (
        RDF_TYPE,
        "http://www.w3.org/2000/01/rdf-schema#label",
        "http://www.w3.org/2004/02/skos/core#prefLabel",
        "http://www.w3.org/2004/02/skos/core#altLabel",
        KGO + "locatedIn",
        KGO + "country",
    )
)
"""What the event views read of the resources they name: their types and names (the
look-up index's labels), and of places what they lie in and their country."""
_GEO = "http://www.opengis.net/ont/geosparql#"
_WGS = "http://www.w3.org/2003/01/geo/wgs84_pos#"
_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
_PROV_ATTRIBUTED = "http://www.w3.org/ns/prov#wasAttributedTo"


def _named(quads: Iterable[ox.Quad]) -> set[str]:
    """The resources ``quads`` name as subject or object (not vocabulary terms)."""
    return {
        term.value
        for q in quads
        for term in (q.subject, q.object)
        if isinstance(term, ox.NamedNode) and not term.value.startswith(_TERMS)
    }


_REFUSED = object()
"""What is kept of a read found past its bound: it is answered 400 again, not read again."""


def _places_too_large(what: str) -> Problem:
    return Problem(
        400,
        "too-large",
        f"{what} shows every place, and the places on the engine reach more than "
        f"{PLACE_LAYER_QUADS} quads; list them with /sparql",
        limit=PLACE_LAYER_QUADS,
    )


def _page_too_large(what: str) -> Problem:
    return too_large(what, EVENT_PAGE_QUADS, "ask for fewer events (limit=)")


class EngineGraph:
    """Slices of what ``engine`` holds, for one data version (``outline``: its version,
    ``ontology``: its ontology graph's quads)."""

    def __init__(
        self,
        engine: PageStore,
        version: str,
        ontology: Iterable[ox.Quad],
        limit: int = SLICE_QUADS,
        outline: EngineOutline | None = None,
        whole_limit: int = WHOLE_GRAPH_QUADS,
        wait: float = READ_WAIT,
    ) -> None:
        self.engine = engine
        self.wait = wait
        """Seconds a request waits for another's read of what it needs (:meth:`_reading`)."""
        self.version = version
        self.ontology = list(ontology)
        self.limit = limit
        self.outline = outline
        self.whole_limit = whole_limit
        self._wholes: list[tuple[Scope, KnowledgeGraph]] = []
        self._too_large: list[Scope] = []
        """Scopes whose read passed ``whole_limit``: answered 400 without reading again."""
        self._whole_lock = threading.Lock()
        self._whole_reading = threading.Lock()
        self._perspectives: tuple[perspectives.Perspectives, KnowledgeGraph] | None = None
        self._event_indexes: dict[Scope, list[str]] = {}
        self._event_pages: list[tuple[tuple[tuple[str, ...], bool], KnowledgeGraph]] = []
        self._refused_pages: list[tuple[tuple[str, ...], bool]] = []
        self._place_layer: list[ox.Quad] | object | None = None
        """Every place, read once (:meth:`_places`), or ``_REFUSED`` past its bound."""
        self._pages_reading = threading.Lock()
        self._perspectives_reading = threading.Lock()
        self._disputes: KnowledgeGraph | None = None

    @contextmanager
    def _reading(self, lock: threading.Lock, what: str) -> Iterator[None]:
        """Hold ``lock``, under which one request at a time reads a part of the graph that
        the others then find kept, waiting for it at most :attr:`wait` seconds: past that,
        503 ``busy``. A read that fails is not kept, so without the bound every request
        waiting behind a failing read would read again in turn, the last answering after
        as many reads as there were requests."""
        if not lock.acquire(timeout=self.wait):
            raise Problem(
                503,
                "busy",
                f"{what}: another request has been reading it from {self.engine.location} "
                f"for more than {self.wait:g} s; try again",
                {"Retry-After": "1"},
            )
        try:
            yield
        finally:
            lock.release()

    def needs_copy(self, what: str) -> Problem:
        """The 503 of a feature that still needs the whole graph at hand."""
        from karabakh_kg.server.sparql.backend import EngineOutline, needs_copy

        outline = self.outline or EngineOutline(store=ox.Store(), version=self.version)
        return needs_copy(what, self.engine.location, outline)

    def _select(
        self, query: str, budget: int, what: str, limit: int | None = None
    ) -> list[ox.Quad]:
        budget = max(budget, 0)
        found = quads_of(self.engine.select(query.replace("@LIMIT@", str(budget + 1))))
        if len(found) > budget:
            raise too_large(what, self.limit if limit is None else limit)
        return found

    def whole(self, what: str, scope: Scope = EVERY_SOURCE) -> KnowledgeGraph:
        """The graph as the views of the whole graph read it, in the perspective of
        ``scope``, as :func:`karabakh_kg.graph.perspectives.view` holds it: the scope's
        asserted and inferred graphs (as the asserted and inferred graphs), the provenance,
        ontology and Wikidata graphs, and the scope's evidence units, in bounded queries
        (one per :data:`UNITS_PER_QUERY` units), at most ``whole_limit`` quads in all
        (more: 400 ``too-large``), with a reasoner built over it (writing nothing). The
        last :data:`KEPT_WHOLE` reads are kept for the data version; one read runs at a
        time (requests arriving meanwhile wait for it, then find it kept), so the server
        never holds more than :data:`KEPT_WHOLE` and one being read."""
        found = self._kept(scope, what)
        if found is not None:
            return found
        with self._reading(self._whole_reading, what):
            found = self._kept(scope, what)
            if found is not None:
                return found
            try:
                kg = self._read_whole(what, scope)
            except Problem as problem:
                if problem.code == "too-large":  # the same for this version: not read again
                    with self._whole_lock:
                        self._too_large.append(scope)
                raise
            with self._whole_lock:
                # Every source's read stays; the other kept one is the latest perspective's.
                kept = [(scope, kg), *(pair for pair in self._wholes if pair[0] != scope)]
                while len(kept) > KEPT_WHOLE:
                    oldest = max(i for i, pair in enumerate(kept) if pair[0] != EVERY_SOURCE)
                    del kept[oldest]
                self._wholes = kept
        return kg

    def _kept(self, scope: Scope, what: str) -> KnowledgeGraph | None:
        """The read of ``scope`` kept, if any; a scope found too large raises at once."""
        with self._whole_lock:
            if scope in self._too_large:
                raise too_large(what, self.whole_limit)
            return next((kg for kept, kg in self._wholes if kept == scope), None)

    def _read_whole(self, what: str, scope: Scope) -> KnowledgeGraph:
        limit = self.whole_limit
        quads: list[ox.Quad] = []

        def read(graphs: Iterable[str]) -> None:
            query = _GRAPHS.format(graphs=" ".join(f"<{g}>" for g in graphs), limit="@LIMIT@")
            quads.extend(scope.read(self._select(query, limit - len(quads), what, limit)))

        read([scope.asserted, scope.inferred, PROVENANCE.value, WIKIDATA.value])
        units = sorted(
            name
            for name in self._graph_names(what)
            if is_evidence_graph(ox.NamedNode(name))
            and name != PUBLICATION
            and (scope.units is None or name in scope.units)
        )
        for start in range(0, len(units), UNITS_PER_QUERY):
            read(units[start : start + UNITS_PER_QUERY])
        store = ox.Store()
        store.extend(quads)
        store.extend(self.ontology)
        version = self.version if scope.name == perspectives.ALL else f"{self.version}:{scope.name}"
        kg = KnowledgeGraph(store=store, version=version)
        reasoning.attach(kg)  # over what was read, with its perspectives, writing nothing
        return kg

    def _graph_names(self, what: str) -> list[str]:
        """The publication's named graphs: the outline's, or asked of the engine."""
        if self.outline is not None:
            held = self.outline.store.named_graphs()
            return [g.value for g in held if isinstance(g, ox.NamedNode)]
        rows = self.engine.select(_GRAPH_NAMES.format(limit=self.whole_limit + 1))
        if len(rows) > self.whole_limit:
            raise too_large(what, self.whole_limit)
        return [r["g"].value for r in rows if isinstance(r.get("g"), ox.NamedNode)]

    def event_index(self, scope: Scope, what: str) -> list[str]:
        """The events the evidence units of ``scope`` speak of, as
        :func:`karabakh_kg.graph.events.event_records` finds them (a ``kgo:Event`` with a
        fact in a unit, or a claim of a unit about or denying it), by IRI in order: one
        query per :data:`UNITS_PER_QUERY` units, at most :data:`EVENTS_INDEXED` events
        (more: 400 ``too-large``), kept per scope for the data version."""
        with self._whole_lock:
            found = self._event_indexes.get(scope)
        if found is not None:
            return found
        with self._reading(self._pages_reading, what):  # requests meanwhile find it kept
            with self._whole_lock:
                found = self._event_indexes.get(scope)
            if found is not None:
                return found
            return self._read_event_index(scope, what)

    def _read_event_index(self, scope: Scope, what: str) -> list[str]:
        views, _ = self.perspective_list()
        every = views.units(perspectives.ALL_PERSPECTIVE) if scope.units is None else scope.units
        events: set[str] = set()
        for units in chunks(sorted(every), UNITS_PER_QUERY):
            query = _EVENTS_OF.format(
                units=units, kgo=KGO, defaults=_DEFAULT_GRAPHS, limit=EVENTS_INDEXED + 1
            )
            rows = self.engine.select(query)
            events.update(r["event"].value for r in rows if isinstance(r["event"], ox.NamedNode))
            if len(rows) > EVENTS_INDEXED or len(events) > EVENTS_INDEXED:
                raise too_many_events(what, EVENTS_INDEXED)
        index = sorted(events)
        with self._whole_lock:
            if len(self._event_indexes) >= KEPT_EVENT_PAGES:
                self._event_indexes.pop(next(iter(self._event_indexes)))
            self._event_indexes[scope] = index
        return index

    def events(self, page: list[str], what: str, places: bool = False) -> KnowledgeGraph:
        """What the graph-layer code of the event views reads of the events ``page``
        (:meth:`_read_events`; with ``places``, also every place, as the map lists them,
        read once per data version: :meth:`_places`),
        with a reasoner built over it (writing nothing, for its perspectives). The last
        :data:`KEPT_EVENT_PAGES` are kept for the data version, and as many found past
        their bound are answered 400 without reading them again; one is read at a time."""
        key = (tuple(page), places)
        found = self._kept_page(key, what)
        if found is not None:
            return found
        with self._reading(self._pages_reading, what):
            found = self._kept_page(key, what)
            if found is not None:
                return found
            layer = self._places(what) if places else []  # its own bound and answer
            try:
                kg = self._read_events(page, what, layer)
            except Problem as refused:
                if refused.code != "too-large":
                    raise
                with self._whole_lock:
                    self._refused_pages = [key, *self._refused_pages][:KEPT_EVENT_PAGES]
                raise _page_too_large(what) from None
            with self._whole_lock:
                self._event_pages = [(key, kg), *self._event_pages][:KEPT_EVENT_PAGES]
        return kg

    def _kept_page(self, key: tuple[tuple[str, ...], bool], what: str) -> KnowledgeGraph | None:
        """The page kept for ``key``, if any; a page found past its bound raises at once."""
        with self._whole_lock:
            if key in self._refused_pages:
                raise _page_too_large(what)
            return next((kg for kept, kg in self._event_pages if kept == key), None)

    def _places(self, what: str) -> list[ox.Quad]:
        """The map's layer: every place and state in the default graphs, with their names
        and every point of the gazetteer's evidence and the descriptions of its units, at
        most :data:`PLACE_LAYER_QUADS` quads, read once per data version (the same for every
        page of events); past the bound, every map page answers the same 400."""
        with self._whole_lock:
            kept = self._place_layer
        if kept is _REFUSED:
            raise _places_too_large(what)
        if isinstance(kept, list):
            return kept
        quads: list[ox.Quad] = []

        def budget() -> int:
            return PLACE_LAYER_QUADS - len(quads)

        try:
            layer = self._select(
                _TYPED.format(defaults=_DEFAULT_GRAPHS, type=RDF_TYPE, kgo=KGO, limit="@LIMIT@"),
                budget(),
                what,
            )
            quads.extend(layer)
            drawn = self._geometries(None, budget(), what)
            quads.extend(drawn)
            every = _named(layer) | {
                q.subject.value
                for q in drawn
                if q.predicate.value == _GEO + "hasGeometry" and isinstance(q.subject, ox.NamedNode)
            }
            quads.extend(self._naming(every, budget(), what))
            units = {
                q.graph_name.value
                for q in quads
                if isinstance(q.graph_name, ox.NamedNode) and is_evidence_graph(q.graph_name)
            }
            quads.extend(descriptions(self.engine, units, budget()))
            if len(quads) > PLACE_LAYER_QUADS:
                raise too_large(what, PLACE_LAYER_QUADS)
        except Problem as refused:
            if refused.code != "too-large":
                raise
            with self._whole_lock:
                self._place_layer = _REFUSED
            raise _places_too_large(what) from None
        with self._whole_lock:
            self._place_layer = quads
        return quads

    def _naming(
        self, nodes: Iterable[str], budget: int, what: str, graphs: str | None = None
    ) -> list[ox.Quad]:
        """What the event views read of ``nodes``: their types and names, the places they
        lie in and their countries (:data:`_NAMING_PREDICATES`), at most ``budget`` quads."""
        found: list[ox.Quad] = []
        for chunk in chunks(sorted(set(nodes)), FRONTIER_PER_QUERY):
            query = _NAMING.format(
                nodes=chunk,
                predicates=_NAMING_PREDICATES,
                graphs=graphs or _DEFAULT_GRAPHS,
                limit="@LIMIT@",
            )
            found += self._select(query, budget - len(found), what)
        return found

    def _geometries(self, nodes: Iterable[str] | None, budget: int, what: str) -> list[ox.Quad]:
        """The points of ``nodes`` (None: of every place) in the gazetteer's evidence, at
        most ``budget`` quads."""
        found: list[ox.Quad] = []
        lists = [""] if nodes is None else list(chunks(sorted(set(nodes)), FRONTIER_PER_QUERY))
        for chunk in lists:
            query = _GEOMETRIES.format(
                places=f"VALUES ?place {{ {chunk} }}" if chunk else "",
                geo=_GEO,
                wgs=_WGS,
                graphs=EVERY_SOURCE.hop_filter(),
                limit="@LIMIT@",
            )
            found += self._select(query, budget - len(found), what)
        return found

    def _read_events(self, page: list[str], what: str, layer: list[ox.Quad]) -> KnowledgeGraph:
        """In bounded queries, at most :data:`EVENT_PAGE_QUADS` quads: every quad of the
        events in the asserted, inferred and evidence graphs (every source's: the views
        choose their perspective in what was read, as over the whole graph), and of the
        events that were caused by them (:data:`CAUSE_DEPTH` links back: their deaths
        are the events' fatalities), and of the claims about them; the types, names,
        containing places and countries of every resource those name, of the places
        they lie in and of the claimants; the places' points (their geometries in the
        gazetteer's evidence); the descriptions of every evidence unit read and who each
        unit of the publication is attributed to (the perspectives); the ontology; and
        ``layer``, the map's places (:meth:`_places`, bounded on its own)."""
        quads: list[ox.Quad] = []

        def budget() -> int:
            return EVENT_PAGE_QUADS - len(quads)

        def hop(nodes: Iterable[str]) -> list[ox.Quad]:
            found = self._hop(nodes, budget(), what)
            quads.extend(found)
            return found

        def naming(nodes: Iterable[str]) -> list[ox.Quad]:
            found = self._naming(nodes, budget(), what)
            quads.extend(found)
            return found

        events = set(page)
        frontier = sorted(events)
        for depth in range(CAUSE_DEPTH + 1):
            found = hop(frontier)
            if depth == CAUSE_DEPTH:
                break
            reached = set(frontier)
            caused = {
                q.subject.value
                for q in found
                if q.predicate.value == KGO + "causedBy"
                and isinstance(q.subject, ox.NamedNode)
                and isinstance(q.object, ox.NamedNode)
                and q.object.value in reached
            }
            frontier = sorted(caused - events)
            events |= caused
            if not frontier:
                break
        claims = {
            q.subject.value
            for q in quads
            if q.predicate.value in (KGO + "about", KGO + "denies")
            and isinstance(q.subject, ox.NamedNode)
            and isinstance(q.object, ox.NamedNode)
            and q.object.value in events
        }
        hop(claims - events)
        named = _named(quads) | events
        found = naming(named)
        # the places they lie in (transitive: the inferred graph) and their countries (the
        # table's country column names them), and what those lie in and belong to
        for _ in range(CAUSE_DEPTH):
            outer = {
                q.object.value
                for q in found
                if q.predicate.value in _OUTER_PLACES and isinstance(q.object, ox.NamedNode)
            } - named
            if not outer:
                break
            named |= outer
            found = naming(outer)
        typed_places = {
            q.subject.value
            for q in quads
            if q.predicate.value == RDF_TYPE
            and q.object == _PLACE
            and isinstance(q.subject, ox.NamedNode)
        }
        quads.extend(self._geometries(typed_places, budget(), what))
        units = {
            q.graph_name.value
            for q in quads
            if isinstance(q.graph_name, ox.NamedNode) and is_evidence_graph(q.graph_name)
        }
        described = descriptions(self.engine, units, budget())
        quads.extend(described)
        # who each unit is attributed to, and the claimants' names (the perspectives)
        names = self.perspective_list()[1]
        attributions = list(
            names.store.quads_for_pattern(None, ox.NamedNode(_PROV_ATTRIBUTED), None, PROVENANCE)
        )
        quads.extend(attributions)
        claimants = {
            q.object.value
            for q in [*described, *attributions]
            if q.predicate.value == _PROV_ATTRIBUTED and isinstance(q.object, ox.NamedNode)
        }
        naming(claimants - named)
        for chunk in chunks(sorted(claimants), FRONTIER_PER_QUERY):  # (in every graph)
            query = _ANY_LABEL.format(nodes=chunk, label=_LABEL, limit="@LIMIT@")
            quads.extend(self._select(query, budget(), what))
        if len(quads) > EVENT_PAGE_QUADS:
            raise too_large(what, EVENT_PAGE_QUADS)
        store = ox.Store()
        store.extend(quads)
        store.extend(layer)
        store.extend(self.ontology)
        kg = KnowledgeGraph(store=store, version=self.version)
        reasoning.attach(kg)  # over what was read, with its perspectives, writing nothing
        return kg

    def reconciling(self, texts: Iterable[str], iris: Iterable[str] = ()) -> KnowledgeGraph:
        """What reconciling ``texts`` and describing ``iris`` reads
        (:class:`karabakh_kg.graph.reconcile.Reconciler`), at most ``limit`` quads (more:
        400 ``too-large``): for each text, the names of the asserted and inferred graphs
        that contain the first letters of one of its words, or whose IRI does
        (:data:`NAME_CANDIDATES` at most a text), or, for an IRI, a CURIE or a Wikidata id,
        what names it; then everything the asserted and inferred graphs say of the
        resources found and of ``iris`` (their types, names, Wikidata ids and property
        values), and of the values (their names and types, which properties are matched
        by); with the ontology."""
        what = "reconciliation"
        graphs = [ASSERTED.value, INFERRED.value]
        quads: list[ox.Quad] = []
        named = {iri for iri in iris if _checked(iri)}  # (the others name nothing)
        for text in texts:
            node = _named_iri(text)
            if node is None:
                found = named_like(self.engine, text, graphs, NAME_CANDIDATES)
            else:
                query = _ABOUT_NAME.format(
                    asserted=ASSERTED.value,
                    inferred=INFERRED.value,
                    node=f"<{node}>",
                    limit="@LIMIT@",
                )
                found = self._select(query, self.limit - len(quads), what)
                named.add(node)
            quads += found
            named |= {q.subject.value for q in found if isinstance(q.subject, ox.NamedNode)}
        about = self._subjects(named, graphs, self.limit - len(quads), what)
        values = {
            q.object.value
            for q in about
            if isinstance(q.object, ox.NamedNode) and q.predicate.value.startswith(KGO)
        }
        quads += about
        quads += self._subjects(values - named, graphs, self.limit - len(quads), what)
        store = ox.Store()
        store.extend(quads)
        store.extend(self.ontology)
        return KnowledgeGraph(store=store, version=self.version)

    def _subjects(
        self, iris: Iterable[str], graphs: list[str], budget: int, what: str
    ) -> list[ox.Quad]:
        """Every quad of ``graphs`` with one of ``iris`` as subject, at most ``budget``."""
        found: list[ox.Quad] = []
        names = " ".join(f"<{g}>" for g in graphs)
        for nodes in chunks(sorted(iris), FRONTIER_PER_QUERY):
            query = _SUBJECTS.format(graphs=names, nodes=nodes, limit="@LIMIT@")
            found += self._select(query, budget - len(found), what)
        return found

    def ontology_graph(self) -> KnowledgeGraph:
        """The ontology alone (what type and property suggestions read)."""
        store = ox.Store()
        store.extend(self.ontology)
        return KnowledgeGraph(store=store, version=self.version)

    def marks(self, graph: Any, what: str) -> KnowledgeGraph:
        """What marks the derived edges of ``graph`` (a projection) resting on one
        claimant alone (:func:`karabakh_kg.graph.perspectives.recorded_single_claimants`):
        their ``kgo:Support`` nodes and the labels of their voices, read from the engine
        (the supports a whole-graph read leaves out)."""
        triples = [
            (ox.NamedNode(s), ox.NamedNode(data["predicate"]), ox.NamedNode(o))
            for s, o, data in graph.edges(data=True)
            if data.get("kind") == "derived" and "predicate" in data
        ]
        found = self.supports((ox.Triple(*t) for t in triples), self.whole_limit, what)
        voices = {
            q.object.value
            for q in found
            if q.predicate.value == KGO + "voice" and isinstance(q.object, ox.NamedNode)
        }
        store = ox.Store()
        store.extend(found)
        store.extend(labels(self.engine, voices, self.limit))
        return KnowledgeGraph(store=store, version=self.version)

    def ball(
        self, starts: Iterable[str], radius: int, what: str, scope: Scope = EVERY_SOURCE
    ) -> KnowledgeGraph:
        """The slice holding every quad of every node within ``radius`` hops of ``starts``
        (either direction), with what a projection of it needs (see the module)."""
        quads: set[ox.Quad] = set()
        seen: set[str] = set()
        frontier = sorted(set(starts))
        for _ in range(radius + 1):
            seen.update(frontier)
            found = self._hop(frontier, self.limit - len(quads), what, scope)
            quads.update(found)
            frontier = sorted(_resources(found) - seen)
        premises = self._premises(quads, what, scope)
        quads.update(premises)
        # what the premises are about (the events a relation rests on), described whole:
        # their types and dates, not only what the supporting units say of them
        about = _resources(premises) - seen
        quads.update(self._hop(about, self.limit - len(quads), what, scope))
        return self._slice(quads)

    def _hop(
        self, nodes: Iterable[str], budget: int, what: str, scope: Scope = EVERY_SOURCE
    ) -> list[ox.Quad]:
        """Every quad with one of ``nodes`` as subject or object (see the module)."""
        found: list[ox.Quad] = []
        for chunk in chunks(sorted(nodes), FRONTIER_PER_QUERY):
            query = _HOP.format(nodes=chunk, graphs=scope.hop_filter(), limit="@LIMIT@")
            found += scope.read(self._select(query, budget - len(found), what))
        return found

    def _premises(self, quads: set[ox.Quad], what: str, scope: Scope) -> list[ox.Quad]:
        """The supports of the derived triples among ``quads`` (their ``kgo:Support``
        nodes) and the triples of the evidence units they rest on, in their unit graphs and
        in the asserted graph (where the whole graph has them)."""
        supports = self.supports(
            (
                q.triple
                for q in quads
                if q.graph_name == INFERRED
                and isinstance(q.subject, ox.NamedNode)
                and isinstance(q.object, ox.NamedNode)
                and q.predicate.value != RDF_TYPE
            ),
            self.limit - len(quads),
            what,
        )
        units = sorted(
            {
                q.object.value
                for q in supports
                if q.predicate.value == KGO + "restsOn"
                and isinstance(q.object, ox.NamedNode)
                and (scope.units is None or q.object.value in scope.units)
            }
        )
        budget = self.limit - len(quads) - len(supports)
        found: list[ox.Quad] = []
        for names in chunks(units, FRONTIER_PER_QUERY):
            query = _UNITS.format(units=names, limit="@LIMIT@")
            found += self._select(query, budget - len(found), what)
        asserted = [ox.Quad(q.subject, q.predicate, q.object, ASSERTED) for q in found]
        return supports + found + asserted

    def supports(self, triples: Iterable[ox.Triple], budget: int, what: str) -> list[ox.Quad]:
        """The ``kgo:Support`` nodes of ``triples`` (those without a blank node), in
        queries of :data:`SUPPORTS_PER_QUERY` triples, at most ``budget`` quads."""
        derived = sorted(
            {
                _SUPPORTED.format(rdf=RDF, s=t.subject, p=t.predicate, o=t.object)
                for t in triples
                if not isinstance(t.subject, ox.BlankNode)
                and not isinstance(t.object, ox.BlankNode)
            }
        )
        found: list[ox.Quad] = []
        for start in range(0, len(derived), SUPPORTS_PER_QUERY):
            query = _SUPPORTS.format(
                triples=" UNION ".join(derived[start : start + SUPPORTS_PER_QUERY]),
                support=SUPPORT.value,
                limit="@LIMIT@",
            )
            found += self._select(query, budget - len(found), what)
        return found

    def inferred_about(self, iri: str) -> list[ox.Triple]:
        """The triples of the inferred graph (every source's) with ``iri`` as subject or
        object."""
        query = _ABOUT_NAME.format(
            asserted=INFERRED.value, inferred=INFERRED.value, node=f"<{iri}>", limit="@LIMIT@"
        )
        return [q.triple for q in self._select(query, self.limit, f"the derived facts of <{iri}>")]

    def page(self, iri: str, scope: Scope) -> KnowledgeGraph:
        """What a resource page shows of ``iri`` in the perspective of ``scope``, as its
        view of the whole graph holds it: the quads with ``iri`` in the perspective's
        asserted and inferred graphs, its evidence units and the Wikidata graph; the
        descriptions of those units; the labels in the perspective's graphs."""
        query = _PAGE.format(
            node=f"<{iri}>", graphs=scope.hop_filter(), wikidata=WIKIDATA.value, limit="@LIMIT@"
        )
        store = ox.Store()
        store.extend(scope.read(self._select(query, self.limit, f"the page of <{iri}>")))
        units = {
            q.graph_name.value
            for q in store
            if isinstance(q.graph_name, ox.NamedNode) and is_evidence_graph(q.graph_name)
        }
        store.extend(descriptions(self.engine, units, self.limit))
        named = {
            term.value
            for q in store
            for term in (q.subject, q.predicate, q.object)
            if isinstance(term, ox.NamedNode)
        }
        graphs = (scope.asserted, ONTOLOGY.value, scope.inferred, PROVENANCE.value)
        store.extend(scope.read(labels(self.engine, named, self.limit, graphs)))
        return KnowledgeGraph(store=store, version=self.version)

    def disputes(self) -> KnowledgeGraph:
        """The ``kgo:Dispute`` records as :func:`karabakh_kg.graph.disputes` reads them
        (the default graph's statements of the disputes, their positions, kinds and
        concerns; the claims' evidence units and their descriptions; the labels), read
        once per data version in bounded queries: the disputes of every page and of
        ``/disputes`` (more than the slice's bound answers 503 ``needs-local-copy``)."""
        if self._disputes is None:
            self._disputes = self._read_disputes()
        return self._disputes

    def _read_disputes(self) -> KnowledgeGraph:
        what = "the disputes"
        default = f"<{ASSERTED.value}> <{PROVENANCE.value}> <{ONTOLOGY.value}>"
        try:
            quads = self._select(
                _DISPUTES.format(graphs=default, provenance=PROVENANCE.value, limit="@LIMIT@"),
                self.limit,
                what,
            )
            named = {
                q.object.value
                for q in quads
                if q.predicate.value in (KGO + "position", KGO + "concerns", KGO + "disputeKind")
                and isinstance(q.object, ox.NamedNode)
            }
            found: list[ox.Quad] = []
            for nodes in chunks(sorted(named), FRONTIER_PER_QUERY):
                found += self._select(
                    _DESCRIBED.format(nodes=nodes, graphs=default, limit="@LIMIT@"),
                    self.limit - len(quads) - len(found),
                    what,
                )
                found += self._select(
                    _CLAIMED.format(
                        nodes=nodes, type=RDF_TYPE, claim=KGO + "Claim", limit="@LIMIT@"
                    ),
                    self.limit - len(quads) - len(found),
                    what,
                )
        except Problem as refused:
            if refused.code != "too-large":
                raise
            raise self.needs_copy(f"disputes of more than {self.limit} quads") from None
        quads += found
        positions = {
            q.object.value
            for q in quads
            if q.predicate.value == KGO + "position" and isinstance(q.object, ox.NamedNode)
        }
        claims = {
            q.subject.value
            for q in found
            if q.object == _CLAIM and isinstance(q.subject, ox.NamedNode)
        }
        units = {
            q.graph_name.value
            for q in found
            if isinstance(q.graph_name, ox.NamedNode) and is_evidence_graph(q.graph_name)
        } | (positions - claims)  # (a position that is no claim is an evidence unit)
        quads += descriptions(self.engine, units, self.limit)
        iris = {
            term.value
            for q in quads
            for term in (q.subject, q.object)
            if isinstance(term, ox.NamedNode)
        }
        quads += labels(self.engine, iris, self.limit)
        store = ox.Store()
        store.extend(quads)
        return KnowledgeGraph(store=store, version=self.version)

    def _slice(self, quads: Iterable[ox.Quad]) -> KnowledgeGraph:
        store = ox.Store()
        store.extend(quads)
        complete_page(self.engine, store, self.limit)
        store.extend(self.ontology)
        kg = KnowledgeGraph(store=store, version=self.version)
        kg.views.reasoner = build_reasoner(kg)  # over the slice, writing nothing
        return kg

    def described(self, iris: Iterable[str], scope: Scope = EVERY_SOURCE) -> KnowledgeGraph:
        """A slice with what the engine's asserted and inferred graphs say about ``iris``
        (as subject, or as object), with the ontology: enough to describe them."""
        store = ox.Store()
        store.extend(self.ontology)
        for nodes in chunks(sorted(set(iris)), FRONTIER_PER_QUERY):
            query = _ABOUT_NAME.format(
                asserted=scope.asserted,
                inferred=scope.inferred,
                node=nodes,
                limit=NAME_CANDIDATES * 5,
            )
            store.extend(scope.read(quads_of(self.engine.select(query))))
        return KnowledgeGraph(store=store, version=self.version)

    def names(self, text: str, scope: Scope = EVERY_SOURCE) -> KnowledgeGraph:
        """A slice for resolving or searching ``text`` as
        :func:`karabakh_kg.graph.lookup.resolve` does: for an IRI, a CURIE or a Wikidata id,
        what the engine says about it (:meth:`described`); for a name, the names of the
        engine's asserted and inferred graphs that contain the first letters of one of its
        words, or whose IRI does (:data:`NAME_CANDIDATES` at most); with the ontology."""
        node = _named_iri(text)
        if node is not None:
            return self.described([node], scope)
        store = ox.Store()
        store.extend(self.ontology)
        graphs = [scope.asserted, scope.inferred]
        named = scope.read(named_like(self.engine, text, graphs, NAME_CANDIDATES))
        store.extend(named)
        # and their types, which rank them (a secondary kind of entity comes later)
        candidates = sorted({q.subject.value for q in named if isinstance(q.subject, ox.NamedNode)})
        for nodes in chunks(candidates, FRONTIER_PER_QUERY):
            query = _TYPES.format(
                asserted=scope.asserted,
                inferred=scope.inferred,
                nodes=nodes,
                type=RDF_TYPE,
                limit=NAME_CANDIDATES * 20,
            )
            store.extend(scope.read(quads_of(self.engine.select(query))))
        return KnowledgeGraph(store=store, version=self.version)

    def resolve(self, text: str, scope: Scope = EVERY_SOURCE) -> str:
        """The IRI ``text`` names (:func:`karabakh_kg.graph.lookup.resolve` over
        :meth:`names`: the same errors, with suggestions)."""
        return lookup.resolve(self.names(text, scope), text)

    def perspective_list(self) -> tuple[perspectives.Perspectives, KnowledgeGraph]:
        """The publication's perspectives as the reasoner names them
        (:func:`karabakh_kg.graph.perspectives.recorded`), read from the engine once: who
        each evidence unit is attributed to, the claimants' labels, and the evidence units
        among the outline's graph names
        (:func:`karabakh_kg.server.sparql.backend.read_perspectives`)."""
        kept = self._perspectives
        if kept is not None:  # once read, no request waits for another's read
            return kept
        with self._reading(self._perspectives_reading, "the perspectives"):  # read once
            if self._perspectives is None:
                from karabakh_kg.server.sparql.backend import read_perspectives

                held = self.outline.store.named_graphs() if self.outline is not None else []
                self._perspectives = read_perspectives(self.engine, held)
            return self._perspectives

    def scope(self, name: str | None) -> tuple[perspectives.Perspective, Scope]:
        """The perspective ``name`` (as :func:`karabakh_kg.graph.perspectives.resolve`
        takes it; :class:`~karabakh_kg.graph.perspectives.UnknownPerspective` otherwise)
        and the graphs a slice of it reads."""
        views, names = self.perspective_list()
        chosen = perspectives.resolve_among(views, names, name)
        if chosen.name == perspectives.ALL:
            return chosen, EVERY_SOURCE
        units = frozenset(views.units(chosen))
        return chosen, Scope(
            chosen.asserted_graph.value, chosen.inferred_graph.value, units, chosen.name
        )


def engine_graph(request: Request) -> EngineGraph | None:
    """Over an engine without a local copy (``serve --backend`` above the copy's bound),
    what reads its slices for the current data version (its queries within the pages'
    slots and time limit); else None (the graph is at hand)."""
    from karabakh_kg.server.sparql.backend import EngineOutline
    from karabakh_kg.server.web.resource import _describer, _engine

    state = request.app.state
    kg = state.kg
    if not isinstance(kg, EngineOutline):
        return None
    engine = _engine(request)
    if engine is None:
        return None
    cached = getattr(state, "_engine_graph", None)
    if cached is None or cached.outline is not kg:
        with _making:  # one per data version, so its reads run one at a time (``whole``)
            cached = getattr(state, "_engine_graph", None)
            if cached is None or cached.outline is not kg:
                ontology = _describer(request).ontology_source().store
                quads = ontology.quads_for_pattern(None, None, None, ONTOLOGY)
                cached = state._engine_graph = EngineGraph(
                    engine,
                    kg.version,
                    quads,
                    outline=kg,
                    whole_limit=state.settings.backend_whole_max_quads,
                    wait=state.settings.max_query_timeout,
                )
    found: EngineGraph = cached
    return found


_making = threading.Lock()
"""Held while an application's :class:`EngineGraph` for a new data version is made."""


def whole_graph(request: Request, what: str) -> KnowledgeGraph:
    """The graph a view of the whole graph reads (reconciliation among every entity): the
    application's, or over an engine without a local copy, what
    :meth:`EngineGraph.whole` reads of it (every source's; the views choose their
    perspective in it, as over the application's graph)."""
    reader = engine_graph(request)
    if reader is None:
        found: KnowledgeGraph = request.app.state.kg
        return found
    return reader.whole(what)


__all__ = [
    "FRONTIER_PER_QUERY",
    "PAST_THE_BOUND",
    "SLICE_QUADS",
    "WHOLE_GRAPH_QUADS",
    "EngineGraph",
    "engine_graph",
    "too_large",
    "whole_graph",
]
