"""Helpers of the reasoning tests: knowledge graphs built from given files, owlrl closures."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import owlrl
import pyoxigraph as ox
import rdflib

from karabakh_kg.graph.dataset import ASSERTED, INFERRED, ONTOLOGY, PROVENANCE, KnowledgeGraph
from karabakh_kg.ontology import vocab

HERE = Path(__file__).parent / "reasoning_data"
MINI_ONTOLOGY = HERE / "ontology.ttl"
MINI_DATA_DIR = HERE / "data"
MINI_DATA = MINI_DATA_DIR / "mini.trig"
BUILTIN = (
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://www.w3.org/2000/01/rdf-schema#",
    "http://www.w3.org/2002/07/owl#",
    "http://www.w3.org/2001/XMLSchema#",
)
NOISE_TYPES = {
    "http://www.w3.org/2002/07/owl#Thing",
    "http://www.w3.org/2000/01/rdf-schema#Resource",
}
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SAME_AS = "http://www.w3.org/2002/07/owl#sameAs"


def make_kg(
    ontology: Path = MINI_ONTOLOGY,
    data: Iterable[ox.Quad] | Path = MINI_DATA,
    rules: Path | None = None,
) -> KnowledgeGraph:
    """A knowledge graph of ``ontology`` (+ ``rules``) and curated ``data``, not reasoned."""
    store = ox.Store()
    kg = KnowledgeGraph(store=store, version="test")
    sources = [ontology] + ([rules] if rules else [])
    for path in sources:
        store.extend(
            ox.Quad(q.subject, q.predicate, q.object, ONTOLOGY) for q in ox.parse(path=path)
        )
    quads = ox.parse(path=data) if isinstance(data, Path) else data
    for q in quads:
        if isinstance(q.graph_name, ox.DefaultGraph):
            store.add(ox.Quad(q.subject, q.predicate, q.object, PROVENANCE))
        else:
            store.add(q)
            store.add(ox.Quad(q.subject, q.predicate, q.object, ASSERTED))
    return kg


def supports_of(kg: KnowledgeGraph) -> dict[tuple[str, str, str], set[frozenset[str]]]:
    """Each fact's supports (as N-Triples terms), as sets of unit IRIs, from the reasoner."""
    from karabakh_kg.graph import reasoning
    from karabakh_kg.graph.reasoning.support import bits

    r = reasoning.reasoner(kg)
    units = r.support.units
    return {
        tuple(str(x) for x in r.decode(t)): {  # type: ignore[misc]
            frozenset(units[b] for b in bits(m)) for m in masks
        }
        for t, masks in r.support.of.items()
    }


def graph_triples(kg: KnowledgeGraph, graph: ox.NamedNode) -> set[tuple[str, str, str]]:
    """The triples of one graph as N-Triples term strings."""
    return {
        (str(q.subject), str(q.predicate), str(q.object))
        for q in kg.store.quads_for_pattern(None, None, None, graph)
    }


def inferred(kg: KnowledgeGraph) -> set[tuple[str, str, str]]:
    """The inferred graph as N-Triples term strings."""
    return graph_triples(kg, INFERRED)


def instance_level(
    triples: Iterable[tuple[str, str, str]], ontology_subjects: set[str]
) -> set[tuple[str, str, str]]:
    """Triples about individuals over our vocabulary, with the OWL RL noise removed."""
    out = set()
    for s, p, o in triples:
        if s.startswith(('"', "_:")) or s in ontology_subjects:
            continue
        if s.strip("<>").startswith(BUILTIN):
            continue
        pred = p.strip("<>")
        if pred.startswith(BUILTIN) and pred not in (RDF_TYPE, SAME_AS):
            continue
        if pred == RDF_TYPE and (o.strip("<>") in NOISE_TYPES or o.startswith("_:")):
            continue
        if pred == RDF_TYPE and o.strip("<>").startswith(BUILTIN):
            continue
        if pred == SAME_AS and s == o:
            continue
        out.add((s, p, o))
    return out


def owlrl_closure(kg: KnowledgeGraph) -> set[tuple[str, str, str]]:
    """owlrl's OWL 2 RL closure of ontology ∪ asserted, as N-Triples term strings.

    rdflib gives parsed blank nodes labels of its own, so blank nodes travel to owlrl as
    ``urn:x-bnode:`` IRIs and come back with the store's labels (OWL 2 RL makes no new ones).
    """

    def skolem(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> object:
        return ox.NamedNode(SKOLEM + term.value) if isinstance(term, ox.BlankNode) else term

    data = ox.serialize(
        [
            ox.Triple(skolem(q.subject), q.predicate, skolem(q.object))  # type: ignore[arg-type]
            for g in (ONTOLOGY, ASSERTED)
            for q in kg.store.quads_for_pattern(None, None, None, g)
        ],
        format=ox.RdfFormat.N_TRIPLES,
    )
    graph = rdflib.Graph()
    graph.parse(data=data, format="nt")
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)

    def unskolem(term: rdflib.term.Node) -> str:
        text = term.n3()
        return "_:" + text[len(SKOLEM) + 1 : -1] if text.startswith("<" + SKOLEM) else text

    return {
        (unskolem(s), unskolem(p), unskolem(o))
        for s, p, o in graph
        if not isinstance(s, rdflib.BNode)
    }


SKOLEM = "urn:x-bnode:"


def ontology_subjects(kg: KnowledgeGraph) -> set[str]:
    """Subjects of the ontology graph (the schema, not individuals)."""
    return {s for s, _, _ in graph_triples(kg, ONTOLOGY)}


RULES = vocab.rules_file()
