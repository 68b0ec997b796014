"""Resource and evidence pages read from the store that holds the data (``serve --backend``).

A page is built from the quads it shows, fetched by a few bounded SPARQL queries through
the :class:`~karabakh_kg.graph.GraphStore` interface, one per section of the page, never one
per quad pattern:

1. every quad with the resource as subject or object, in the asserted, inferred and
   Wikidata graphs and the evidence graphs (for an evidence page: its named graph and its
   description in the provenance graph);
2. the description, in the provenance graph, of each evidence graph found (quote, line, who
   says it, stance);
3. the labels of every IRI the page names, in the graphs :meth:`Describer.label_of` reads.

They go into a small in-memory store, and the one :class:`Describer` renders the page from
it, so a page from the engine is the page the embedded store gives. Each query has the
server's query time limit and a row limit (:data:`PAGE_QUADS`); a resource linked to more
quads than that is shown with the first :data:`PAGE_QUADS` of them (``ResourceView``'s
``truncated``). The engine does the work: the server holds one page's quads at a time,
whatever the size of the graph.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

import pyoxigraph as ox

from karabakh_kg.graph import (
    ASSERTED,
    ENTITY_COUNT_QUERY,
    INFERRED,
    ONTOLOGY,
    PERSPECTIVE_GRAPHS,
    PROVENANCE,
    SUPPORT,
    KnowledgeGraph,
    is_evidence_graph,
)
from karabakh_kg.server.problems import Problem
from karabakh_kg.server.web.resource_data import (
    RDFS_LABEL,
    SKOS_ALT,
    SKOS_PREF,
    Describer,
    EvidenceInfo,
    Fact,
    ResourceView,
)

T = TypeVar("T")
Row = dict[str, ox.NamedNode | ox.BlankNode | ox.Literal]

PAGE_QUADS = 10_000
"""Most quads one section of a page reads from the engine (the largest resource of the
curated graph has 172)."""
LABELS_PER_QUERY = 500
"""IRIs whose labels one query asks for (a ``VALUES`` list; more go in further queries)."""
KEPT_PAGES = 64
"""Pages' quads kept per data version, so that the HTML and RDF of one resource, or a
reload, do not ask the engine again (the least recently used go first)."""

_LABEL_GRAPHS = (ASSERTED, ONTOLOGY, INFERRED, PROVENANCE)
_LABEL_GRAPH_NAMES = tuple(graph.value for graph in _LABEL_GRAPHS)
# Graphs a resource page never reads its facts from (the descriptions of evidence graphs
# are read by their names, in the second query).
_NOT_PAGE_GRAPHS = f"<{PROVENANCE.value}>, <{SUPPORT.value}>, <{ONTOLOGY.value}>"

_ABOUT = """SELECT ?g ?s ?p ?o WHERE {{
  {{ VALUES ?s {{ {node} }} GRAPH ?g {{ ?s ?p ?o }} }}
  UNION
  {{ VALUES ?o {{ {node} }} GRAPH ?g {{ ?s ?p ?o }} }}
  FILTER(?g NOT IN ({left_out}) && !STRSTARTS(STR(?g), "{perspectives}"))
}} LIMIT {limit}"""
_EVIDENCE = """SELECT ?g ?s ?p ?o WHERE {{
  {{ VALUES ?g {{ {node} }} GRAPH ?g {{ ?s ?p ?o }} }}
  UNION
  {{ VALUES ?s {{ {node} }} GRAPH <{provenance}> {{ ?s ?p ?o }} BIND(<{provenance}> AS ?g) }}
}} LIMIT {limit}"""
_DESCRIPTIONS = """SELECT ?g ?s ?p ?o WHERE {{
  VALUES ?s {{ {nodes} }} GRAPH <{provenance}> {{ ?s ?p ?o }} BIND(<{provenance}> AS ?g)
}} LIMIT {limit}"""
_LABELS = """SELECT ?g ?s ?p ?o WHERE {{
  VALUES ?s {{ {nodes} }} VALUES ?p {{ <{label}> <{pref}> }} VALUES ?g {{ {graphs} }}
  GRAPH ?g {{ ?s ?p ?o }}
}} LIMIT {limit}"""
_ONTOLOGY = """SELECT ?g ?s ?p ?o WHERE {{
  VALUES ?g {{ <{ontology}> }} GRAPH ?g {{ ?s ?p ?o }}
}} LIMIT @LIMIT@"""
_GRAPH_SIZES = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
_NAMED_LIKE = """SELECT ?g ?s ?p ?o WHERE {{
  VALUES ?g {{ {graphs} }} VALUES ?p {{ <{label}> <{pref}> <{alt}> }}
  GRAPH ?g {{ ?s ?p ?o }} FILTER({matches})
}} LIMIT {limit}"""
SUGGESTION_CANDIDATES = 200
"""Names one "did you mean" reads from the engine, to be ranked here."""
_USED = (
    "ASK {{ GRAPH ?g {{ {{ {node} ?p ?o }} UNION {{ ?s ?p {node} }} UNION {{ ?s {node} ?o }} }} }}"
)


class PageStore(Protocol):
    """What pages need of the store they read: its address and SELECT and ASK queries."""

    location: str

    def select(self, sparql: str) -> list[Row]: ...

    def ask(self, sparql: str) -> bool: ...


class Slotted:
    """``engine`` with at most as many page queries at once as ``slots`` allows (one
    semaphore per server, so pages never load the engine with more queries than the
    server has query slots, whatever the number of requests); a query that cannot get a
    slot within ``wait`` seconds is refused, 503 ``busy``."""

    def __init__(self, engine: PageStore, slots: threading.Semaphore, wait: float) -> None:
        self.engine = engine
        self.location = engine.location
        self.slots = slots
        self.wait = wait

    def _run(self, call: Callable[[], T]) -> T:
        if not self.slots.acquire(timeout=self.wait):
            raise Problem(
                503,
                "busy",
                f"every slot for queries to {self.location} stayed taken for {self.wait:g} s",
                {"Retry-After": "1"},
            )
        try:
            return call()
        finally:
            self.slots.release()

    def select(self, sparql: str) -> list[Row]:
        return self._run(lambda: self.engine.select(sparql))

    def ask(self, sparql: str) -> bool:
        return self._run(lambda: self.engine.ask(sparql))


class PageQuads:
    """The quads of one page, read from the engine into a store of their own."""

    def __init__(self, store: ox.Store, truncated: bool) -> None:
        self.store = store
        self.truncated = truncated


def quads_of(rows: Iterable[Row]) -> list[ox.Quad]:
    """The ``?g ?s ?p ?o`` solutions as quads (others left out)."""
    quads = []
    for row in rows:
        g, s, p, o = row.get("g"), row.get("s"), row.get("p"), row.get("o")
        if (
            isinstance(g, ox.NamedNode)
            and isinstance(s, ox.NamedNode | ox.BlankNode)
            and isinstance(p, ox.NamedNode)
            and o is not None
        ):
            quads.append(ox.Quad(s, p, o, g))
    return quads


def read_page(engine: PageStore, first_query: str, limit: int = PAGE_QUADS) -> PageQuads:
    """The quads ``first_query`` selects (``?g ?s ?p ?o``, at most ``limit``), the
    descriptions of the evidence graphs among them and the labels of every IRI they name."""
    found = quads_of(engine.select(first_query.replace("@LIMIT@", str(limit + 1))))
    truncated = len(found) > limit
    store = ox.Store()
    store.extend(found[:limit])
    complete_page(engine, store, limit)
    return PageQuads(store, truncated)


def complete_page(engine: PageStore, store: ox.Store, limit: int = PAGE_QUADS) -> None:
    """Add to ``store`` the descriptions of the evidence graphs it holds and the labels of
    every IRI its quads name (queries of at most ``limit`` rows each)."""
    found = list(store)
    evidence = sorted(
        {
            q.graph_name.value
            for q in found
            if isinstance(q.graph_name, ox.NamedNode) and is_evidence_graph(q.graph_name)
        }
    )
    described = descriptions(engine, evidence, limit)
    store.extend(described)
    found += described
    named = {
        term.value
        for quad in found
        for term in (quad.subject, quad.predicate, quad.object)
        if isinstance(term, ox.NamedNode)
    }
    store.extend(labels(engine, named, limit))


def descriptions(engine: PageStore, units: Iterable[str], limit: int = PAGE_QUADS) -> list[ox.Quad]:
    """What the provenance graph says of the evidence units ``units`` (IRIs): quote,
    line, who says it, stance (queries of at most ``limit`` rows each)."""
    found: list[ox.Quad] = []
    for nodes in chunks(sorted(set(units))):
        query = _DESCRIPTIONS.format(nodes=nodes, provenance=PROVENANCE.value, limit=limit)
        found += quads_of(engine.select(query))
    return found


def labels(
    engine: PageStore,
    iris: Iterable[str],
    limit: int = PAGE_QUADS,
    graphs_read: Iterable[str] = _LABEL_GRAPH_NAMES,
) -> list[ox.Quad]:
    """The labels of ``iris`` in the graphs :meth:`Describer.label_of` reads (or in
    ``graphs_read``: a perspective's own asserted and inferred graphs in their place)."""
    found: list[ox.Quad] = []
    graphs = " ".join(f"<{g}>" for g in graphs_read)
    for nodes in chunks(sorted(set(iris))):
        query = _LABELS.format(
            nodes=nodes,
            label=RDFS_LABEL.value,
            pref=SKOS_PREF.value,
            graphs=graphs,
            limit=limit,
        )
        found += quads_of(engine.select(query))
    return found


def chunks(iris: list[str], size: int = LABELS_PER_QUERY) -> Iterable[str]:
    """``iris`` as ``VALUES`` lists of at most ``size`` IRIs."""
    for start in range(0, len(iris), size):
        yield " ".join(f"<{iri}>" for iri in iris[start : start + size])


def resource_query(iri: str) -> str:
    """The first query of a resource page (``@LIMIT@`` stands for its row limit)."""
    return _ABOUT.format(
        node=f"<{iri}>",
        left_out=_NOT_PAGE_GRAPHS,
        perspectives=PERSPECTIVE_GRAPHS,
        limit="@LIMIT@",
    )


def evidence_query(iri: str) -> str:
    """The first query of an evidence page: its named graph and its description."""
    return _EVIDENCE.format(node=f"<{iri}>", provenance=PROVENANCE.value, limit="@LIMIT@")


class EngineDescriber(Describer):
    """A :class:`Describer` whose resource and evidence pages read ``engine``: see the
    module. What it does not override (labels of explanations, the ontology page) reads
    ``kg``, the local copy."""

    def __init__(self, kg: KnowledgeGraph, engine: PageStore, limit: int = PAGE_QUADS) -> None:
        super().__init__(kg)
        self.engine = engine
        self.limit = limit
        self._pages: OrderedDict[str, tuple[Describer, bool]] = OrderedDict()
        self._lock = threading.Lock()

    def _page(self, key: str, query: Callable[[str], str], iri: str) -> tuple[Describer, bool]:
        with self._lock:
            if key in self._pages:
                self._pages.move_to_end(key)
                return self._pages[key]
        quads = read_page(self.engine, query(iri), self.limit)
        page = KnowledgeGraph(store=quads.store, version=self.version)
        found = (Describer(page), quads.truncated)
        with self._lock:
            self._pages[key] = found
            while len(self._pages) > KEPT_PAGES:
                self._pages.popitem(last=False)
        return found

    def _resource(self, iri: str) -> tuple[Describer, bool]:
        return self._page("resource " + iri, resource_query, iri)

    def exists(self, iri: str) -> bool:
        page, _ = self._resource(iri)
        if len(page.store):
            return True
        return self.engine.ask(_USED.format(node=f"<{iri}>"))

    def describe(self, iri: str) -> ResourceView:
        page, truncated = self._resource(iri)
        view = page.describe(iri)
        view.truncated = truncated
        return view

    def resource_triples(self, iri: str, *, include_inferred: bool = True) -> list[ox.Triple]:
        page, _ = self._resource(iri)
        return page.resource_triples(iri, include_inferred=include_inferred)

    def evidence_view(self, iri: str) -> tuple[EvidenceInfo, list[Fact]] | None:
        page, _ = self._page("evidence " + iri, evidence_query, iri)
        return page.evidence_view(iri)

    def evidence_quads(self, iri: str) -> list[ox.Quad]:
        page, _ = self._page("evidence " + iri, evidence_query, iri)
        return page.evidence_quads(iri)

    def ontology_source(self) -> Describer:
        page, _ = self._page("ontology", lambda _: _ONTOLOGY.format(ontology=ONTOLOGY.value), "")
        return page

    def suggest(self, text: str, limit: int = 8) -> list[tuple[str, str]]:
        """Close matches for a name nobody knows. With a local copy, its index of every
        name; without, the names of the engine's asserted graph that contain the first
        letters of one of the words (:data:`SUGGESTION_CANDIDATES` at most), ranked by
        :func:`karabakh_kg.graph.lookup.suggest` over them and the ontology."""
        if holds_copy(self.kg):
            return super().suggest(text, limit)
        from karabakh_kg.graph import lookup

        if not any(len(word) > 2 for word in lookup.normalize(text).split()):
            return []
        names = ox.Store()
        names.extend(named_like(self.engine, text, [ASSERTED.value]))
        names.extend(self.ontology_source().store.quads_for_pattern(None, None, None, None))
        return list(lookup.suggest(KnowledgeGraph(store=names, version=self.version), text, limit))


def named_like(
    engine: PageStore, text: str, graphs: list[str], limit: int = SUGGESTION_CANDIDATES
) -> list[ox.Quad]:
    """The names (``rdfs:label``, ``skos:prefLabel``, ``skos:altLabel``) in ``graphs``
    that contain the first four letters of a word of ``text``, or whose resource's IRI
    does: at most ``limit`` candidates, for :mod:`karabakh_kg.graph.lookup` to rank (it
    folds accents, which the engine's ``LCASE`` does not: ``text`` is tried both ways)."""
    from karabakh_kg.graph import lookup

    words = lookup.normalize(text).split() + text.lower().split()
    stems = sorted({w[:4] for w in words if len(w) > 2} or set(words))
    stems = [s for s in stems if s and '"' not in s and "\\" not in s]
    if not stems:
        return []
    matches = " || ".join(
        f'CONTAINS(LCASE(STR(?o)), "{s}") || CONTAINS(LCASE(STR(?s)), "{s}")' for s in stems
    )
    query = _NAMED_LIKE.format(
        graphs=" ".join(f"<{g}>" for g in graphs),
        label=RDFS_LABEL.value,
        pref=SKOS_PREF.value,
        alt=SKOS_ALT.value,
        matches=matches,
        limit=limit,
    )
    return quads_of(engine.select(query))


def holds_copy(kg: KnowledgeGraph) -> bool:
    """Whether ``kg`` is a local copy of the publication, not only its outline
    (:class:`karabakh_kg.server.sparql.backend.EngineOutline`)."""
    from karabakh_kg.server.sparql.backend import EngineOutline

    return not isinstance(kg, EngineOutline)


def engine_counts(engine: PageStore) -> tuple[dict[str, int], int]:
    """Triples per named graph and the number of entities (``graph.entities``), counted
    by the engine (two queries; the home page keeps them per data version)."""
    sizes = {
        row["g"].value: int(row["n"].value)
        for row in engine.select(_GRAPH_SIZES)
        if isinstance(row.get("g"), ox.NamedNode) and "n" in row
    }
    rows = engine.select(ENTITY_COUNT_QUERY)  # the definition ``karabakh-kg stats`` counts by
    entities = int(rows[0]["n"].value) if rows and "n" in rows[0] else 0
    return sizes, entities


__all__ = [
    "PAGE_QUADS",
    "EngineDescriber",
    "PageStore",
    "Slotted",
    "chunks",
    "complete_page",
    "descriptions",
    "engine_counts",
    "evidence_query",
    "holds_copy",
    "labels",
    "named_like",
    "quads_of",
    "read_page",
    "resource_query",
]
