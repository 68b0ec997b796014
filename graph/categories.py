"""Broad categories of resources (Person, Event, Place, …) and their dates, read from the ontology.

The ontology graph holds the class hierarchy; a resource belongs to every class its types
reach through ``rdfs:subClassOf``. It also says how tools show resources (the "Display"
annotations of ``karabakh.ttl``): which classes are broad categories
(``kgo:displayPrecedence``, with ``kgo:displayColour`` and ``kgo:graphvizShape``; the
ontology resource carries those of everything else), which classes lookup ranks last
(``kgo:rankedLast``) and which properties are dates (``kgo:dateRank``). The modules that
group, colour or date resources (lookup ranking, projection, exports, the explorer, Wikidata
kinds) ask this one :class:`Hierarchy`, so a class added to the ontology
(``kgo:Arrival ⊑ kgo:Event``) is categorised with its ancestors, and a colour changed in the
ontology changes everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import pyoxigraph as ox

from karabakh_kg.graph.views import view
from karabakh_kg.ontology import vocab

if TYPE_CHECKING:
    from karabakh_kg.graph.dataset import KnowledgeGraph

KGO = str(vocab.KGO)
RDFS_SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
ONTOLOGY_IRI = vocab.BASE + "ontology"
OTHER = "Other"
"""The category of resources under no display category (drawn as the ontology resource says)."""

_PRECEDENCE = KGO + "displayPrecedence"
_COLOUR = KGO + "displayColour"
_SHAPE = KGO + "graphvizShape"
_RANKED_LAST = KGO + "rankedLast"
_DATE_RANK = KGO + "dateRank"
_WIKIDATA_KIND = KGO + "wikidataKind"
_CLOSE_MATCH = "http://www.w3.org/2004/02/skos/core#closeMatch"
_NARROW_MATCH = "http://www.w3.org/2004/02/skos/core#narrowMatch"
_WD = str(vocab.WD)
_ANNOTATIONS = (
    RDFS_SUBCLASS,
    _PRECEDENCE,
    _COLOUR,
    _SHAPE,
    _RANKED_LAST,
    _DATE_RANK,
    _WIKIDATA_KIND,
    _CLOSE_MATCH,
    _NARROW_MATCH,
)
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
OWL_SYMMETRIC = "http://www.w3.org/2002/07/owl#SymmetricProperty"


@dataclass(frozen=True)
class Category:
    """One broad display category: its name (the class's local name), class, colour, shape."""

    name: str
    iri: str
    colour: str | None = None
    shape: str | None = None


@dataclass(frozen=True)
class Hierarchy:
    """The ontology's classes, each with itself and all its superclasses, and the display."""

    ancestors: dict[str, frozenset[str]]
    categories: tuple[Category, ...] = ()
    """The display categories, by precedence (the first that applies wins)."""
    other: Category = field(default_factory=lambda: Category(OTHER, ONTOLOGY_IRI))
    ranked_last: frozenset[str] = frozenset()
    dates: tuple[str, ...] = ()
    """The date properties (IRIs), by rank: the first a resource has stands for it."""
    symmetric: frozenset[str] = frozenset()
    """The symmetric properties (drawn without arrow heads, one edge per pair)."""
    wikidata_kinds: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    """Kind name -> (our class, the QIDs a linked item may be an instance of: close first)."""

    def wikidata_kind(self, types: Iterable[str]) -> str | None:
        """The kind of the most specific class with a Wikidata kind that ``types`` reach."""
        reached = self.closure(types)
        kinds = [(k, c) for k, (c, _) in self.wikidata_kinds.items() if c in reached]
        # The deepest class wins: a settlement is a place, and is checked as a settlement.
        kinds.sort(key=lambda kc: (-len(self.ancestors.get(kc[1], ())), kc[0]))
        return kinds[0][0] if kinds else None

    def closure(self, types: Iterable[str]) -> set[str]:
        """``types`` and every class they are subclasses of."""
        found: set[str] = set()
        for iri in types:
            found |= self.ancestors.get(iri, frozenset((iri,)))
        return found

    def first(self, types: Iterable[str], candidates: Sequence[str]) -> str | None:
        """The first of ``candidates`` (``kgo:`` local names) that ``types`` fall under."""
        reached = self.closure(types)
        return next((name for name in candidates if KGO + name in reached), None)

    def category(self, types: Iterable[str]) -> str:
        """The broad category of a resource with these class IRIs, or ``Other``."""
        reached = self.closure(types)
        return next((c.name for c in self.categories if c.iri in reached), OTHER)

    def secondary(self, types: Iterable[str]) -> bool:
        """Whether these types make a resource one that lookup ranks last (events, claims)."""
        return not self.ranked_last.isdisjoint(self.closure(types))

    def colours(self) -> dict[str, str]:
        """Colour by category name, ``Other`` included (categories without one left out)."""
        return {c.name: c.colour for c in (*self.categories, self.other) if c.colour}

    def shapes(self) -> dict[str, str]:
        """Graphviz shape by category name, ``Other`` included."""
        return {c.name: c.shape for c in (*self.categories, self.other) if c.shape}

    def category_names(self) -> list[str]:
        """Every category name, ``Other`` last (the explorer's type filter)."""
        return [*(c.name for c in self.categories), OTHER]

    def date_names(self) -> list[str]:
        """The local names of the date properties, by rank."""
        return [iri.rsplit("#", 1)[-1] for iri in self.dates]


def build(
    subclass_pairs: Iterable[tuple[str, str]], annotations: Iterable[ox.Quad | ox.Triple] = ()
) -> Hierarchy:
    """The hierarchy of (subclass, superclass) IRI pairs, closed transitively, with the
    display read from the ontology's ``annotations`` triples."""
    parents: dict[str, set[str]] = {}
    for child, parent in subclass_pairs:
        parents.setdefault(child, set()).add(parent)
        parents.setdefault(parent, set())
    ancestors: dict[str, frozenset[str]] = {}
    for start in parents:
        seen = {start}
        todo = [start]
        while todo:  # cycles (equivalent classes written as two subClassOf) end here
            for parent in parents.get(todo.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        ancestors[start] = frozenset(seen)
    values: dict[str, dict[str, str]] = {}
    symmetric: set[str] = set()
    matches: dict[str, tuple[list[str], list[str]]] = {}  # class -> (close, narrow) QIDs
    for quad in annotations:
        match = quad.predicate.value in (_CLOSE_MATCH, _NARROW_MATCH)
        if match and isinstance(quad.subject, ox.NamedNode):
            qid = quad.object.value if isinstance(quad.object, ox.NamedNode) else ""
            if qid.startswith(_WD):
                close, narrow = matches.setdefault(quad.subject.value, ([], []))
                (close if quad.predicate.value == _CLOSE_MATCH else narrow).append(qid[len(_WD) :])
        subject = quad.subject
        is_type = quad.predicate.value == RDF_TYPE
        if is_type and isinstance(subject, ox.NamedNode) and _describes_display(quad):
            symmetric.add(subject.value)
        if isinstance(quad.subject, ox.NamedNode) and isinstance(quad.object, ox.Literal):
            values.setdefault(quad.subject.value, {})[quad.predicate.value] = quad.object.value
    categories = sorted((int(v[_PRECEDENCE]), iri) for iri, v in values.items() if _PRECEDENCE in v)
    dates = sorted((int(v[_DATE_RANK]), iri) for iri, v in values.items() if _DATE_RANK in v)
    other = values.get(ONTOLOGY_IRI, {})
    return Hierarchy(
        ancestors,
        tuple(_category(iri.rsplit("#", 1)[-1], iri, values[iri]) for _, iri in categories),
        _category(OTHER, ONTOLOGY_IRI, other),
        frozenset(iri for iri, v in values.items() if v.get(_RANKED_LAST) == "true"),
        tuple(iri for _, iri in dates),
        frozenset(symmetric),
        {
            v[_WIKIDATA_KIND]: (
                iri,
                tuple(q for qs in matches.get(iri, ([], [])) for q in sorted(qs)),
            )
            for iri, v in values.items()
            if _WIKIDATA_KIND in v
        },
    )


def _category(name: str, iri: str, values: dict[str, str]) -> Category:
    return Category(name, iri, values.get(_COLOUR), values.get(_SHAPE))


def hierarchy(kg: KnowledgeGraph) -> Hierarchy:
    """The class hierarchy of ``kg``'s ontology graph, built once per data version.

    A store without an ontology graph (a bare sample) uses the project's ontology file.
    """
    return view(kg, "hierarchy", lambda: _build_hierarchy(kg))


def _build_hierarchy(kg: KnowledgeGraph) -> Hierarchy:
    from karabakh_kg.graph.dataset import ONTOLOGY

    quads: list[ox.Quad | ox.Triple] = [
        quad
        for predicate in _ANNOTATIONS
        for quad in kg.store.quads_for_pattern(None, ox.NamedNode(predicate), None, ONTOLOGY)
    ]
    quads += kg.store.quads_for_pattern(
        None, ox.NamedNode(RDF_TYPE), ox.NamedNode(OWL_SYMMETRIC), ONTOLOGY
    )
    if not _subclass_pairs(quads):  # a store built without the ontology graph
        return ontology_hierarchy()
    return build(_subclass_pairs(quads), quads)


def _subclass_pairs(quads: Iterable[ox.Quad | ox.Triple]) -> list[tuple[str, str]]:
    return [
        (quad.subject.value, quad.object.value)
        for quad in quads
        if quad.predicate.value == RDFS_SUBCLASS
        and isinstance(quad.subject, ox.NamedNode)
        and isinstance(quad.object, ox.NamedNode)
    ]


@cache
def ontology_hierarchy() -> Hierarchy:
    """The hierarchy and display of the project's ontology file, for graphs drawn without
    their knowledge graph at hand (a projection carries each node's colour already)."""
    quads = list(ox.parse(path=vocab.ontology_file(), format=ox.RdfFormat.TURTLE))
    return build(_subclass_pairs(quads), (q for q in quads if _describes_display(q)))


def _describes_display(quad: ox.Quad | ox.Triple) -> bool:
    predicate = quad.predicate.value
    return predicate in _ANNOTATIONS or (
        predicate == RDF_TYPE and quad.object == ox.NamedNode(OWL_SYMMETRIC)
    )
