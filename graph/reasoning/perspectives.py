"""Perspectives: what reasoning derives from one side's evidence alone.

A perspective is a set of evidence units: ``all`` (every unit, contributions included),
``curated`` (every unit of the curated files, without what contributors added through
updates), ``article`` (the units in the article's own voice: attributed to the article or
its author) or a claimant (the article's units plus every unit attributed to that
claimant); only ``all`` holds contributions. Its closure is what reasoning derives
from those units and the ontology alone, read off the supports
(:mod:`karabakh_kg.graph.reasoning.support`): a triple holds in a perspective when one of
its minimal supports lies inside it. So a claim of one side never becomes a fact of another.

Each perspective is materialised in the store as two graphs (for the SPARQL endpoint's
worker processes, which only see the store): ``graph/perspective/{slug}/asserted`` (the
union of its units) and ``graph/perspective/{slug}/inferred`` (what it derives beyond
them, under the same noise policy as ``graph/inferred``). The support of every inferred
triple is in ``graph/support`` (see docs/reasoning.md).

This module reads perspectives through the reasoner; their records and the writing of their
graphs, which the reasoner itself needs, are in :mod:`.perspective_graphs`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from karabakh_kg.graph import lookup
from karabakh_kg.graph.dataset import (
    ASSERTED,
    INFERRED,
    ONTOLOGY,
    PROVENANCE,
    WIKIDATA,
    KnowledgeGraph,
)
from karabakh_kg.graph.reasoning import reasoner
from karabakh_kg.graph.reasoning.explain import parse_term
from karabakh_kg.graph.reasoning.perspective_graphs import (
    ALL,
    ALL_PERSPECTIVE,
    ARTICLE,
    ARTICLE_PERSPECTIVE,
    ARTICLE_VOICES,
    CURATED,
    CURATED_PERSPECTIVE,
    KG,
    KGO,
    PERSPECTIVE_GRAPHS,
    RDF,
    SUPPORT,
    UNCURATED,
    Perspective,
    Perspectives,
    UnknownPerspective,
    is_perspective_graph,
)
from karabakh_kg.graph.reasoning.perspective_graphs import _name as claimant_name
from karabakh_kg.graph.reasoning.support import within
from karabakh_kg.graph.views import view as derived

__all__ = [
    "ALL",
    "ALL_PERSPECTIVE",
    "ARTICLE",
    "ARTICLE_PERSPECTIVE",
    "ARTICLE_VOICES",
    "CURATED",
    "CURATED_PERSPECTIVE",
    "PERSPECTIVE_GRAPHS",
    "SUPPORT",
    "UNCURATED",
    "Perspective",
    "Perspectives",
    "UnknownPerspective",
    "dataset",
    "holds",
    "is_perspective_graph",
    "perspectives",
    "recorded",
    "recorded_single_claimants",
    "resolve",
    "resolve_among",
    "single_claimants",
    "view",
]


def perspectives(kg: KnowledgeGraph) -> Perspectives:
    """The perspectives of ``kg`` (reasoning first if needed)."""
    return reasoner(kg).perspectives


def resolve(kg: KnowledgeGraph, text: str | None) -> Perspective:
    """The perspective named ``text``: ``all`` (also for None or ""), ``curated``,
    ``article``, or a claimant by CURIE, IRI or label. Raises :class:`UnknownPerspective`."""
    return resolve_among(perspectives(kg), kg, text)


@dataclass
class _Units:
    units: list[str]


def recorded(
    attributions: Iterable[ox.Quad], labels: Iterable[ox.Quad], units: Iterable[str]
) -> tuple[Perspectives, KnowledgeGraph]:
    """The perspectives of a publication, as the reasoner names them, from what the
    engine holds, without a reasoner: the provenance graph's ``prov:wasAttributedTo``
    quads, the claimants' ``rdfs:label`` quads and the evidence units; and the small graph
    of their names, which :func:`resolve_among` looks claimants up in."""
    store = ox.Store()
    store.extend(ox.Quad(q.subject, q.predicate, q.object, PROVENANCE) for q in attributions)
    store.extend(ox.Quad(q.subject, q.predicate, q.object, ASSERTED) for q in labels)
    names = KnowledgeGraph(store=store, version="perspectives")
    views = Perspectives(names, _Units(sorted(set(units))))
    return views, names


def resolve_among(views: Perspectives, kg: KnowledgeGraph, text: str | None) -> Perspective:
    """:func:`resolve` among ``views`` (claimant labels looked up in ``kg``)."""
    raw = (text or "").strip()
    if not raw or raw.lower() == ALL:
        return ALL_PERSPECTIVE
    if raw.lower() == ARTICLE:
        return ARTICLE_PERSPECTIVE
    if raw.lower() == CURATED:
        return CURATED_PERSPECTIVE
    iri = raw[1:-1] if raw.startswith("<") and raw.endswith(">") else raw
    if iri.startswith("kg:"):
        iri = KG + iri[3:]
    found = views.by_iri.get(iri)
    if found is None:
        try:
            found = views.by_iri.get(lookup.resolve(kg, raw))
        except LookupError:
            found = None
    if found is None:
        raise UnknownPerspective(raw, views.listed())
    return found


def dataset(
    perspective: Perspective, *, include_inferred: bool = True
) -> list[ox.NamedNode] | None:
    """The default graph of a query in ``perspective`` (None: the standard one)."""
    if perspective.name == ALL:
        return None
    graphs = [perspective.asserted_graph, PROVENANCE, ONTOLOGY]
    if include_inferred:
        graphs.append(perspective.inferred_graph)
    return graphs


def holds(kg: KnowledgeGraph, perspective: Perspective, s: Any, p: Any, o: Any) -> bool:
    """Whether the triple (terms, IRIs or N-Triples text) holds in ``perspective``."""
    r = reasoner(kg)
    t = r.lookup(parse_term(s), parse_term(p), parse_term(o))
    if t is None or t not in r.engine.facts:
        return False
    mask = r.perspectives.mask(perspective)
    return within(r.support.of.get(t, ()), mask)


def single_claimants(
    kg: KnowledgeGraph,
    triples: Iterable[tuple[Any, Any, Any]],
    perspective: Perspective = ALL_PERSPECTIVE,
) -> dict[tuple[Any, Any, Any], str]:
    """Each derived triple (pyoxigraph terms) that rests on one claimant's statements alone,
    with that claimant's IRI. Only the supports inside ``perspective`` count: a triple two
    claimants support apart rests on neither alone in ``all``, and on one of them in that
    claimant's perspective."""
    r = reasoner(kg)
    allowed = r.perspectives.mask(perspective)
    found: dict[tuple[Any, Any, Any], str] = {}
    for s, p, o in triples:
        t = r.lookup(s, p, o)
        if t is None:
            continue
        inside = [m for m in r.support.of.get(t, ()) if m | allowed == allowed]
        who = r.perspectives.single_claimant(inside)
        if who is not None:
            found[(s, p, o)] = who
    return found


def recorded_single_claimants(
    kg: KnowledgeGraph,
    triples: Iterable[tuple[Any, Any, Any]],
    units: frozenset[str] | None = None,
) -> dict[tuple[Any, Any, Any], tuple[str, str]]:
    """:func:`single_claimants` in the ``all`` perspective, read from the support graph as
    the reasoner wrote it (each ``kgo:Support`` node of a triple and its ``kgo:voice``s),
    without a reasoner: for a part of the graph read from an engine, holding the support
    nodes of its derived triples. Each triple resting on one claimant alone, with that
    claimant's IRI and label (as :class:`Perspectives` names it). ``units``: those of
    the perspective (None: ``all``), whose supports alone count."""
    store = kg.store
    terms = {name: ox.NamedNode(RDF + name) for name in ("subject", "predicate", "object")}
    voice = ox.NamedNode(KGO + "voice")
    rests = ox.NamedNode(KGO + "restsOn")
    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    found: dict[tuple[Any, Any, Any], tuple[str, str]] = {}
    for s, p, o in triples:
        nodes: set[Any] | None = None
        for name, term in (("subject", s), ("predicate", p), ("object", o)):
            have = {q.subject for q in store.quads_for_pattern(None, terms[name], term, SUPPORT)}
            nodes = have if nodes is None else nodes & have
        inside = [
            n
            for n in sorted(nodes or (), key=str)
            if units is None
            or all(
                q.object.value in units for q in store.quads_for_pattern(n, rests, None, SUPPORT)
            )
        ]
        sides = [
            {q.object.value for q in store.quads_for_pattern(n, voice, None, SUPPORT)}
            - ARTICLE_VOICES
            for n in inside
        ]
        if not sides or any(len(side) != 1 for side in sides) or any(x != sides[0] for x in sides):
            continue
        who = next(iter(sides[0]))
        named = next(iter(store.quads_for_pattern(ox.NamedNode(who), label, None, None)), None)
        found[(s, p, o)] = (who, named.object.value if named else claimant_name(who))
    return found


def view(kg: KnowledgeGraph, perspective: Perspective) -> KnowledgeGraph:
    """A knowledge graph holding only ``perspective``: its evidence graphs, its asserted
    and inferred graphs as ``graph/asserted`` and ``graph/inferred``, the provenance and
    the ontology; so every traversal, projection and export works on it unchanged.
    ``all`` is ``kg`` itself. Views are kept per data version, bounded (``kg.views``)."""

    if perspective.name == ALL:
        return kg
    return derived(kg, ("perspective", perspective.name), lambda: _build_view(kg, perspective))


def _build_view(kg: KnowledgeGraph, perspective: Perspective) -> KnowledgeGraph:
    views = perspectives(kg)
    store = ox.Store()
    quads: list[ox.Quad] = []
    for graph in (PROVENANCE, ONTOLOGY, WIKIDATA):
        quads += kg.store.quads_for_pattern(None, None, None, graph)
    for target, source in (
        (ASSERTED, perspective.asserted_graph),
        (INFERRED, perspective.inferred_graph),
    ):
        quads += [
            ox.Quad(q.subject, q.predicate, q.object, target)
            for q in kg.store.quads_for_pattern(None, None, None, source)
        ]
    for unit in views.units(perspective):
        if unit != UNCURATED:
            quads += kg.store.quads_for_pattern(None, None, None, ox.NamedNode(unit))
    store.extend(quads)
    return KnowledgeGraph(store=store, version=f"{kg.version}:{perspective.name}")
