"""What the resource pages show: the facts about one IRI, each with its evidence.

Everything here reads the store directly by quad pattern (no SPARQL parsing), so a page
costs a few index look-ups. The HTTP layer is in :mod:`karabakh_kg.server.web.resource`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pyoxigraph as ox

from karabakh_kg.graph import (
    ASSERTED,
    INFERRED,
    ONTOLOGY,
    PROVENANCE,
    WIKIDATA,
    derived_view,
    entity_count,
    is_evidence_graph,
)
from karabakh_kg.graph import compact as curie
from karabakh_kg.ontology import vocab

if TYPE_CHECKING:
    from karabakh_kg.graph import GraphStore, KnowledgeGraph

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
PROV = str(vocab.PROV)
KGO = str(vocab.KGO)
KG = str(vocab.KG)
KGE = str(vocab.KGE)
WD = str(vocab.WD)
DCTERMS = "http://purl.org/dc/terms/"

RDF_TYPE = ox.NamedNode(RDF + "type")
RDFS_LABEL = ox.NamedNode(RDFS + "label")
RDFS_COMMENT = ox.NamedNode(RDFS + "comment")
SKOS_ALT = ox.NamedNode(SKOS + "altLabel")
SKOS_PREF = ox.NamedNode(SKOS + "prefLabel")
SKOS_DEFINITION = ox.NamedNode(SKOS + "definition")
SKOS_EXACT = ox.NamedNode(SKOS + "exactMatch")

# Types every resource has under OWL 2 RL: true, and noise on a page.
TRIVIAL_TYPES = {OWL + "Thing", RDFS + "Resource"}


def local_path(iri: str) -> str | None:
    """The path on this server that describes ``iri``, or None for an outside IRI."""
    if iri.startswith(KG):
        return "/resource/" + iri[len(KG) :]
    if iri.startswith(KGE):
        return "/evidence/" + iri[len(KGE) :]
    if iri.startswith(KGO):
        return "/ontology#" + iri[len(KGO) :]
    if iri == KGO.rstrip("#") or iri == vocab.BASE + "ontology":
        return "/ontology"
    return None


@dataclass
class Term:
    """An RDF term ready for display: its text, and a link when it names something."""

    value: str
    kind: str  # "iri", "literal" or "blank"
    label: str
    href: str | None = None
    datatype: str | None = None
    language: str | None = None
    external: bool = False

    @property
    def n3(self) -> str:
        """The term in N-Triples syntax (how ``/explain`` takes an object)."""
        if self.kind == "iri":
            return f"<{self.value}>"
        if self.kind == "blank":
            return f"_:{self.value}"
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        if self.language:
            return f'"{escaped}"@{self.language}'
        if self.datatype and self.datatype != "http://www.w3.org/2001/XMLSchema#string":
            return f'"{escaped}"^^<{self.datatype}>'
        return f'"{escaped}"'


@dataclass
class EvidenceInfo:
    """One evidence unit: the quote that supports a fact and who says it."""

    iri: str
    href: str
    quote: str | None = None
    line: int | None = None
    attributed_to: list[Term] = field(default_factory=list)
    stance: Term | None = None
    reported_on: str | None = None
    comments: list[str] = field(default_factory=list)
    sources: list[Term] = field(default_factory=list)


@dataclass
class Fact:
    """One triple about the resource, asserted (with evidence) or derived (with a link)."""

    subject: Term
    predicate: Term
    obj: Term
    derived: bool
    evidence: list[EvidenceInfo] = field(default_factory=list)
    explain_href: str | None = None


@dataclass
class ResourceView:
    """Everything the page of one resource shows."""

    iri: str
    curie: str
    label: str
    alt_labels: list[str]
    types: list[tuple[Term, bool]]  # (class, derived)
    outgoing: list[Fact]
    incoming: list[Fact]
    wikidata: list[Term]
    external: list[Fact]
    definition: str | None = None
    truncated: bool = False
    """Read from an engine holding more quads about it than one page reads
    (:data:`karabakh_kg.server.web.resource_engine.PAGE_QUADS`): the facts are the first of them."""

    @property
    def neighbours(self) -> list[Term]:
        """The local resources linked to this one, each once, in label order."""
        seen: dict[str, Term] = {}
        for fact in self.outgoing:
            if fact.obj.kind == "iri" and fact.obj.href and fact.predicate.value != RDF_TYPE.value:
                seen.setdefault(fact.obj.value, fact.obj)
        for fact in self.incoming:
            if fact.subject.href:
                seen.setdefault(fact.subject.value, fact.subject)
        seen.pop(self.iri, None)
        return sorted(seen.values(), key=lambda term: term.label.casefold())


class Describer:
    """Reads the store of one knowledge graph to build resource and evidence views."""

    def __init__(self, kg: KnowledgeGraph) -> None:
        self.kg = kg
        self.store = kg.store
        self.version = kg.version
        self._labels: dict[str, str] = {}

    # -- terms and labels ---------------------------------------------------------------

    def label_of(self, iri: str) -> str:
        """The English ``rdfs:label`` (or ``skos:prefLabel``) of ``iri``, else a CURIE."""
        if iri in self._labels:
            return self._labels[iri]
        node = ox.NamedNode(iri)
        found: str | None = None
        for predicate in (RDFS_LABEL, SKOS_PREF):
            candidates = [
                q.object
                for graph in (ASSERTED, ONTOLOGY, INFERRED, PROVENANCE)
                for q in self.store.quads_for_pattern(node, predicate, None, graph)
                if isinstance(q.object, ox.Literal)
            ]
            english = [c for c in candidates if (c.language or "").startswith("en")]
            pick = english or [c for c in candidates if not c.language] or candidates
            if pick:
                found = sorted(c.value for c in pick)[0]
                break
        result = found or curie(iri)
        self._labels[iri] = result
        return result

    def term(self, node: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> Term:
        """A display term for an RDF node."""
        if isinstance(node, ox.NamedNode):
            iri = node.value
            href = local_path(iri)
            external = href is None
            if href is None and iri.startswith(("http://", "https://")):
                href = iri
            return Term(iri, "iri", self.label_of(iri), href=href, external=external)
        if isinstance(node, ox.BlankNode):
            return Term(node.value, "blank", f"_:{node.value}")
        if isinstance(node, ox.Literal):
            datatype = node.datatype.value if node.datatype else None
            return Term(
                node.value, "literal", node.value, datatype=datatype, language=node.language
            )
        return Term(str(node), "literal", str(node))

    # -- evidence -------------------------------------------------------------------------

    def evidence_info(self, graph: ox.NamedNode | ox.BlankNode) -> EvidenceInfo:
        """The provenance of one evidence graph: quote, line, attribution, stance."""
        iri = graph.value
        info = EvidenceInfo(iri=iri, href=local_path(iri) or iri)
        for quad in self.store.quads_for_pattern(graph, None, None, PROVENANCE):
            predicate, obj = quad.predicate.value, quad.object
            if predicate == PROV + "value" and isinstance(obj, ox.Literal):
                info.quote = obj.value
            elif predicate == KGO + "line" and isinstance(obj, ox.Literal):
                try:
                    info.line = int(obj.value)
                except ValueError:
                    info.line = None
            elif predicate == PROV + "wasAttributedTo":
                info.attributed_to.append(self.term(obj))
            elif predicate == KGO + "stance" and isinstance(obj, ox.NamedNode):
                info.stance = self.term(obj)
            elif predicate == KGO + "reportedOn" and isinstance(obj, ox.Literal):
                info.reported_on = obj.value
            elif predicate == RDFS_COMMENT.value and isinstance(obj, ox.Literal):
                info.comments.append(obj.value)
            elif predicate == DCTERMS + "source":
                info.sources.append(self.term(obj))
        info.attributed_to.sort(key=lambda t: t.label.casefold())
        return info

    def evidence_for(
        self,
        subject: ox.NamedNode | ox.BlankNode,
        predicate: ox.NamedNode,
        obj: ox.NamedNode | ox.BlankNode | ox.Literal,
    ) -> list[EvidenceInfo]:
        """Every evidence unit whose named graph holds the triple."""
        graphs = {
            q.graph_name.value: q.graph_name
            for q in self.store.quads_for_pattern(subject, predicate, obj, None)
            if isinstance(q.graph_name, ox.BlankNode) or is_evidence_graph(q.graph_name)
        }
        return [self.evidence_info(graphs[key]) for key in sorted(graphs)]

    # -- facts ------------------------------------------------------------------------------

    def _facts(self, quads: Iterable[ox.Quad], *, derived: bool) -> list[Fact]:
        facts = []
        for quad in quads:
            subject, predicate, obj = quad.subject, quad.predicate, quad.object
            if isinstance(subject, ox.Triple) or isinstance(obj, ox.Triple):
                continue
            fact = Fact(self.term(subject), self.term(predicate), self.term(obj), derived=derived)
            if derived:
                fact.explain_href = "/explain?" + urlencode(
                    {"s": subject.value, "p": predicate.value, "o": fact.obj.n3}
                )
            else:
                fact.evidence = self.evidence_for(subject, predicate, obj)
            facts.append(fact)
        return facts

    def _pattern(
        self,
        subject: ox.NamedNode | None,
        obj: ox.NamedNode | None,
    ) -> tuple[list[Fact], list[Fact]]:
        asserted = list(self.store.quads_for_pattern(subject, None, obj, ASSERTED))
        asserted_triples = {(q.subject, q.predicate, q.object) for q in asserted}
        inferred = [
            q
            for q in self.store.quads_for_pattern(subject, None, obj, INFERRED)
            if (q.subject, q.predicate, q.object) not in asserted_triples
        ]
        return self._facts(asserted, derived=False), self._facts(inferred, derived=True)

    def exists(self, iri: str) -> bool:
        """Whether any graph says anything about or with ``iri``."""
        node = ox.NamedNode(iri)
        for pattern in ((node, None, None), (None, None, node), (None, node, None)):
            for _ in self.store.quads_for_pattern(*pattern, None):
                return True
        return False

    def describe(self, iri: str) -> ResourceView:
        """The view of one resource: types, labels, facts in and out, links."""
        node = ox.NamedNode(iri)
        out_asserted, out_derived = self._pattern(node, None)
        in_asserted, in_derived = self._pattern(None, node)
        outgoing = out_asserted + out_derived
        incoming = in_asserted + in_derived
        types: list[tuple[Term, bool]] = []
        alt_labels: list[str] = []
        wikidata: list[Term] = []
        definition: str | None = None
        for fact in outgoing:
            predicate = fact.predicate.value
            if predicate == RDF_TYPE.value and fact.obj.value not in TRIVIAL_TYPES:
                types.append((fact.obj, fact.derived))
            elif predicate == SKOS_ALT.value:
                alt_labels.append(fact.obj.value)
            elif predicate == SKOS_EXACT.value and fact.obj.value.startswith(WD):
                fact.obj.external = True
                wikidata.append(fact.obj)
            elif predicate == SKOS_DEFINITION.value and definition is None:
                definition = fact.obj.value
        # Trivial types stay in the RDF, not on the page.
        outgoing = [
            f
            for f in outgoing
            if not (f.predicate.value == RDF_TYPE.value and f.obj.value in TRIVIAL_TYPES)
        ]
        external = self._facts(
            self.store.quads_for_pattern(node, None, None, WIKIDATA), derived=False
        )
        sort_key = _fact_order
        return ResourceView(
            iri=iri,
            curie=curie(iri),
            label=self.label_of(iri),
            alt_labels=sorted(set(alt_labels)),
            types=sorted(types, key=lambda t: (t[1], t[0].label.casefold())),
            outgoing=sorted(outgoing, key=sort_key),
            incoming=sorted(incoming, key=sort_key),
            wikidata=wikidata,
            external=external,
            definition=definition,
        )

    def evidence_view(self, iri: str) -> tuple[EvidenceInfo, list[Fact]] | None:
        """The evidence unit ``iri`` and the triples of its named graph, or None."""
        graph = ox.NamedNode(iri)
        quads = list(self.store.quads_for_pattern(None, None, None, graph))
        info = self.evidence_info(graph)
        if not quads and info.quote is None and not info.sources:
            return None
        facts = self._facts(quads, derived=False)
        for fact in facts:
            fact.evidence = []
        return info, sorted(facts, key=lambda f: (f.subject.label.casefold(), *_fact_order(f)))

    # -- data for RDF documents -----------------------------------------------------------

    def resource_triples(self, iri: str, *, include_inferred: bool = True) -> list[ox.Triple]:
        """The triples with ``iri`` as subject or object, plus the labels of those it links."""
        node = ox.NamedNode(iri)
        graphs = [ASSERTED, INFERRED] if include_inferred else [ASSERTED]
        triples: dict[ox.Triple, None] = {}
        linked: set[ox.NamedNode] = set()
        for graph in graphs:
            for quad in self.store.quads_for_pattern(node, None, None, graph):
                triples[quad.triple] = None
                if isinstance(quad.object, ox.NamedNode):
                    linked.add(quad.object)
            for quad in self.store.quads_for_pattern(None, None, node, graph):
                triples[quad.triple] = None
                if isinstance(quad.subject, ox.NamedNode):
                    linked.add(quad.subject)
        linked.discard(node)
        for other in sorted(linked, key=lambda n: n.value):
            for quad in self.store.quads_for_pattern(other, RDFS_LABEL, None, ASSERTED):
                triples[quad.triple] = None
        return list(triples)

    def evidence_quads(self, iri: str) -> list[ox.Quad]:
        """The evidence graph ``iri`` (as a named graph) and its description (default graph)."""
        graph = ox.NamedNode(iri)
        quads = [
            ox.Quad(q.subject, q.predicate, q.object, graph)
            for q in self.store.quads_for_pattern(None, None, None, graph)
        ]
        quads += [
            ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph())
            for q in self.store.quads_for_pattern(graph, None, None, PROVENANCE)
        ]
        return quads

    def ontology_source(self) -> Describer:
        """What the ontology page reads (:func:`ontology_terms`): this store, or, over an
        engine, the ontology graph read from it."""
        return self

    # -- suggestions ----------------------------------------------------------------------

    def suggest(self, text: str, limit: int = 8) -> list[tuple[str, str]]:
        """Close matches for a name nobody knows: (IRI, label) pairs
        (:func:`karabakh_kg.graph.lookup.suggest`, the one "did you mean")."""
        from karabakh_kg.graph import lookup

        return list(lookup.suggest(self.kg, text, limit))


def _fact_order(fact: Fact) -> tuple[bool, str, str, str, str, str, str]:
    # Types first, then by property label; asserted before derived within a property; ties
    # by the terms themselves, so every store gives the same order (incoming facts share
    # their object).
    is_type = fact.predicate.value != RDF_TYPE.value
    return (
        is_type,
        fact.predicate.label.casefold(),
        str(fact.derived),
        fact.obj.label.casefold(),
        fact.subject.label.casefold(),
        fact.subject.value,
        fact.obj.value,
    )


@dataclass
class OntologyTerm:
    """A class or property of the ontology, for the ``/ontology`` page."""

    iri: str
    name: str
    label: str
    kinds: list[str]
    definition: str | None
    parents: list[Term]
    domain: list[Term]
    range: list[Term]
    inverse: list[Term]


_CLASS_KINDS = {OWL + "Class": "class", RDFS + "Class": "class"}
_PROPERTY_KINDS = {
    OWL + "ObjectProperty": "object property",
    OWL + "DatatypeProperty": "datatype property",
    OWL + "AnnotationProperty": "annotation property",
    OWL + "SymmetricProperty": "symmetric",
    OWL + "TransitiveProperty": "transitive",
    OWL + "FunctionalProperty": "functional",
    OWL + "IrreflexiveProperty": "irreflexive",
    OWL + "InverseFunctionalProperty": "inverse functional",
    RDF + "Property": "property",
}


def ontology_terms(
    describer: Describer,
) -> tuple[list[OntologyTerm], list[OntologyTerm], list[OntologyTerm]]:
    """The ontology's classes, properties and named individuals, in label order."""
    store = describer.store
    kinds: dict[str, list[str]] = {}
    for quad in store.quads_for_pattern(None, RDF_TYPE, None, ONTOLOGY):
        subject, kind = quad.subject, quad.object
        if (
            isinstance(subject, ox.NamedNode)
            and subject.value.startswith(KGO)
            and isinstance(kind, ox.NamedNode)
        ):
            kinds.setdefault(subject.value, []).append(kind.value)

    def objects(iri: str, predicate: str) -> list[Term]:
        found = [
            describer.term(q.object)
            for q in store.quads_for_pattern(
                ox.NamedNode(iri), ox.NamedNode(predicate), None, ONTOLOGY
            )
            if isinstance(q.object, ox.NamedNode)
        ]  # in label order, whatever order the store keeps
        return sorted(found, key=lambda term: (term.label.casefold(), term.value))

    def literal(iri: str, predicate: ox.NamedNode) -> str | None:
        values = [
            q.object.value
            for q in store.quads_for_pattern(ox.NamedNode(iri), predicate, None, ONTOLOGY)
            if isinstance(q.object, ox.Literal)
        ]
        return sorted(values)[0] if values else None

    classes, properties, individuals = [], [], []
    for iri, types in kinds.items():
        is_class = any(t in _CLASS_KINDS for t in types)
        is_property = any(t in _PROPERTY_KINDS for t in types)
        labels = sorted({_PROPERTY_KINDS[t] for t in types if t in _PROPERTY_KINDS})
        term = OntologyTerm(
            iri=iri,
            name=iri[len(KGO) :],
            label=describer.label_of(iri),
            kinds=["class"] if is_class else labels,
            definition=literal(iri, SKOS_DEFINITION) or literal(iri, RDFS_COMMENT),
            parents=objects(iri, RDFS + ("subClassOf" if is_class else "subPropertyOf")),
            domain=objects(iri, RDFS + "domain"),
            range=objects(iri, RDFS + "range"),
            inverse=objects(iri, OWL + "inverseOf"),
        )
        if is_class:
            classes.append(term)
        elif is_property:
            properties.append(term)
        else:
            term.kinds = sorted(describer.label_of(t) for t in types)
            individuals.append(term)

    def order(term: OntologyTerm) -> str:
        return term.name.casefold()

    return sorted(classes, key=order), sorted(properties, key=order), sorted(individuals, key=order)


def graph_stats(kg: KnowledgeGraph, engine: GraphStore | None = None) -> dict[str, int]:
    """Counts shown on the home page, once per data version (counting is linear in the
    store): by ``kg``'s store, or by the ``engine`` that holds the data."""
    return derived_view(kg, "home-page-counts", lambda: _graph_stats(kg, engine))


def _graph_stats(kg: KnowledgeGraph, engine: GraphStore | None) -> dict[str, int]:
    if engine is not None:
        from karabakh_kg.graph import StoreTimeout
        from karabakh_kg.server.web.resource_engine import engine_counts

        try:
            sizes, entities = engine_counts(engine)
        except StoreTimeout:  # a large engine: no counts (kept so, for this data version)
            return {}
    else:
        sizes = kg.triples_per_graph()
        entities = entity_count(kg)  # what ``karabakh-kg stats`` counts
    return {
        "asserted triples": sizes.get(ASSERTED.value, 0),
        "derived triples": sizes.get(INFERRED.value, 0),
        "ontology triples": sizes.get(ONTOLOGY.value, 0),
        "entities": entities,
        "evidence units": sum(1 for graph in sizes if graph.startswith(KGE)),
    }
