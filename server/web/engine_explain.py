"""Explanations read from the engine (``serve --backend``), without a local copy.

``karabakh-kg publish`` writes, beside the graphs, the reasoner's recorded derivation of
every derived triple (the graph ``graph/derivation``:
:func:`karabakh_kg.graph.explanations.derivation_records`), the derivation the embedded
server's explanations follow. ``/explain`` over the engine reads them back level by level
of the tree, in bounded queries through the :class:`~karabakh_kg.graph.GraphStore`
interface:

1. the records of the triples of one level (``VALUES`` of their records' IRIs, which are
   digests of the triples, :data:`RECORDS_PER_QUERY` a query);
2. for the triples without a record, the graphs holding them (asserted or ontology: they
   are premises; else they do not hold), the perspectives' graphs left out;
3. the descriptions of the evidence units found (quote, line, who says it, stance), and
   for a page the labels of every IRI named.

So the explanation over the engine is the embedded server's, rule for rule and quote for
quote, its blank nodes named by the records' stable labels
(:class:`karabakh_kg.graph.reasoning.blank_labels.BlankLabels`) where the embedded server names
them by its store's (``tests/test_backend_graph.py``). Every query has the server's query time limit
and the pages' query slots; an explanation naming more than :data:`EXPLANATION_TRIPLES`
triples answers 400 ``too-large``. A publication without the derivation graph (published
by an earlier version) answers 503 ``needs-local-copy``, saying to publish again.
"""

from __future__ import annotations

import pyoxigraph as ox

from karabakh_kg.graph import PERSPECTIVE_GRAPHS, KnowledgeGraph, explanations
from karabakh_kg.server.problems import Problem
from karabakh_kg.server.terms import TermError, resolve_term
from karabakh_kg.server.web.engine_graph import EngineGraph, too_large
from karabakh_kg.server.web.resource_data import Describer
from karabakh_kg.server.web.resource_engine import PageStore, chunks, descriptions, labels

EXPLANATION_TRIPLES = 10_000
"""Most triples one explanation reads (the largest of the curated graph names about 60;
``all=true`` on a type of a hub a few hundred)."""
RECORDS_PER_QUERY = 500
"""Triples one query asks about (a ``VALUES`` list)."""

_RECORDS = """SELECT ?r ?v WHERE {{
  VALUES ?r {{ {records} }} GRAPH <{graph}> {{ ?r <{value}> ?v }}
}} LIMIT {limit}"""
_GRAPHS = """SELECT ?i ?g WHERE {{
  VALUES (?i ?s ?p ?o) {{ {triples} }} GRAPH ?g {{ ?s ?p ?o }}
  FILTER(!STRSTARTS(STR(?g), "{perspectives}"))
}} LIMIT {limit}"""


class EngineRecords:
    """The :class:`~karabakh_kg.graph.explanations.RecordSource` of an engine: its
    derivation records, the publication's graphs (``published``, their IRIs) holding a
    triple, and the provenance of evidence units; each answer at most ``limit`` rows."""

    def __init__(self, engine: PageStore, published: set[str], limit: int) -> None:
        self.engine = engine
        self.published = published - {explanations.DERIVATIONS.value}
        self.limit = limit

    def _select(self, query: str) -> list[dict[str, ox.NamedNode | ox.BlankNode | ox.Literal]]:
        rows = self.engine.select(query.replace("@LIMIT@", str(self.limit + 1)))
        if len(rows) > self.limit:
            raise explanations.TooLarge(f"more than {self.limit} rows")
        return rows

    def records(self, triples: list[explanations.TextTriple]) -> dict[str, explanations.Recorded]:
        wanted = {explanations.record_iri(t): t for t in triples}
        found: dict[str, explanations.Recorded] = {}
        for names in chunks(sorted(wanted), RECORDS_PER_QUERY):
            query = _RECORDS.format(
                records=names,
                graph=explanations.DERIVATIONS.value,
                value=explanations.RECORD_VALUE.value,
                limit="@LIMIT@",
            )
            for row in self._select(query):
                iri, value = row.get("r"), row.get("v")
                if not isinstance(iri, ox.NamedNode) or not isinstance(value, ox.Literal):
                    continue
                record = explanations.Recorded.from_json(value.value)
                if record.triple == wanted.get(iri.value):  # (not a digest's collision)
                    found[explanations.triple_text(record.triple)] = record
        return found

    def graphs(self, triples: list[explanations.TextTriple]) -> dict[str, list[str]]:
        found: dict[str, set[str]] = {explanations.triple_text(t): set() for t in triples}
        for start in range(0, len(triples), RECORDS_PER_QUERY):
            part = triples[start : start + RECORDS_PER_QUERY]
            rows = " ".join(f"({start + i} {' '.join(t)})" for i, t in enumerate(part))
            query = _GRAPHS.format(triples=rows, perspectives=PERSPECTIVE_GRAPHS, limit="@LIMIT@")
            for row in self._select(query):
                index, graph = row.get("i"), row.get("g")
                known = isinstance(graph, ox.NamedNode) and graph.value in self.published
                if isinstance(index, ox.Literal) and known:
                    text = explanations.triple_text(triples[int(index.value)])
                    found[text].add(str(graph))
        return {text: sorted(names) for text, names in found.items()}

    def described(self, units: list[str]) -> ox.Store:
        store = ox.Store()
        iris = [u[1:-1] for u in units if u.startswith("<")]
        store.extend(descriptions(self.engine, iris, self.limit))
        return store


def _term(graph: EngineGraph, text: str, *, predicate: bool = False) -> explanations.Term:
    """The term ``text`` names, as :func:`karabakh_kg.server.terms.resolve_term` reads it
    over the whole graph: an IRI, a CURIE or a literal as written; a name among the
    engine's names (:meth:`EngineGraph.names`)."""
    try:
        return resolve_term(KnowledgeGraph(store=ox.Store(), version=""), text, predicate=predicate)
    except TermError:
        return resolve_term(graph.names(text), text, predicate=predicate)


def explain_over_engine(
    graph: EngineGraph, s: str, p: str, o: str, *, all_derivations: bool, page: bool
) -> tuple[explanations.Explanation, Describer | None]:
    """The explanation of the triple ``s p o`` (as ``/explain`` takes them; ``TermError``
    for text that names no term) read from the engine, and, for a ``page``, the
    describer of its terms and evidence units."""
    published = (
        {g.value for g in graph.outline.store.named_graphs() if isinstance(g, ox.NamedNode)}
        if graph.outline is not None
        else set()
    )
    if explanations.DERIVATIONS.value not in published:
        raise Problem(
            503,
            "needs-local-copy",
            f"explanations need the derivation records, which the publication on "
            f"{graph.engine.location} lacks (published by an earlier version of "
            "karabakh-kg): run 'karabakh-kg publish' again",
        )
    triple = (_term(graph, s), _term(graph, p, predicate=True), _term(graph, o))
    source = EngineRecords(graph.engine, published, graph.limit)
    kept: list[ox.Store] = []
    try:
        result = explanations.explain_recorded(
            source,
            *triple,
            all_derivations=all_derivations,
            limit=EXPLANATION_TRIPLES,
            described=kept.append,
        )
    except explanations.TooLarge:
        raise too_large("this explanation", graph.limit) from None
    if not page:
        return result, None
    store = kept[0]
    store.extend(graph.ontology)  # (its labels, as the whole graph has them)
    named = {
        term.value
        for q in store
        for term in (q.subject, q.predicate, q.object)
        if isinstance(term, ox.NamedNode)
    }
    named |= {text[1:-1] for text in _texts(result) if text.startswith("<")}
    store.extend(labels(graph.engine, named, graph.limit))
    return result, Describer(KnowledgeGraph(store=store, version=graph.version))


def _texts(ex: explanations.Explanation) -> set[str]:
    """The terms' texts of an explanation tree."""
    found = {ex.subject, ex.predicate, ex.object}
    for child in [*ex.premises, *ex.derivations]:
        found |= _texts(child)
    return found


__all__ = ["EXPLANATION_TRIPLES", "EngineRecords", "explain_over_engine"]
