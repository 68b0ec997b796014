"""Broad categories of resources (Person, Event, Place, …), read from the ontology.

The ontology graph holds the class hierarchy; a resource belongs to every class its types
reach through ``rdfs:subClassOf``. The modules that group resources (lookup ranking,
projection colours and filters, Wikidata kinds) ask this one :class:`Hierarchy`, so a
class added to the ontology (``kgo:Arrival ⊑ kgo:Event``) is categorised with its
ancestors without any list to update.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyoxigraph as ox

from karabakh_kg.graph.views import view
from karabakh_kg.ontology import vocab

if TYPE_CHECKING:
    from karabakh_kg.graph.dataset import KnowledgeGraph

KGO = str(vocab.KGO)
RDFS_SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"

#: The broad categories (explorer colours, the type filter), as ``kgo:`` local names.
CATEGORIES = ("Person", "PoliticalEntity", "Organization", "Place", "Event", "Claim")
#: Which category wins when a resource has several: a claim about an event is a claim.
PRECEDENCE = ("Claim", "Person", "PoliticalEntity", "Organization", "Place", "Event")
#: Things said about the world rather than its actors and places: a bare name such as
#: "Macron" prefers the person to the events whose labels mention him.
SECONDARY = ("Event", "Claim", "Evidence")
OTHER = "Other"


@dataclass(frozen=True)
class Hierarchy:
    """The ontology's classes, each with itself and all its superclasses."""

    ancestors: dict[str, frozenset[str]]

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
        return self.first(types, PRECEDENCE) or OTHER

    def secondary(self, types: Iterable[str]) -> bool:
        """Whether these types make a resource an event, a claim or evidence."""
        return self.first(types, SECONDARY) is not None


def build(subclass_pairs: Iterable[tuple[str, str]]) -> Hierarchy:
    """The hierarchy of (subclass, superclass) IRI pairs, closed transitively."""
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
    return Hierarchy(ancestors)


def hierarchy(kg: KnowledgeGraph) -> Hierarchy:
    """The class hierarchy of ``kg``'s ontology graph, built once per data version.

    A store without an ontology graph (a bare sample) uses the project's ontology file.
    """
    return view(kg, "hierarchy", lambda: _build_hierarchy(kg))


def _build_hierarchy(kg: KnowledgeGraph) -> Hierarchy:
    from karabakh_kg.graph.dataset import ONTOLOGY

    quads: Iterable[ox.Quad] = kg.store.quads_for_pattern(
        None, ox.NamedNode(RDFS_SUBCLASS), None, ONTOLOGY
    )
    pairs = _subclass_pairs(quads)
    if not pairs:  # a store built without the ontology graph: the project's ontology
        pairs = _subclass_pairs(ox.parse(path=vocab.ontology_file(), format=ox.RdfFormat.TURTLE))
    return build(pairs)


def _subclass_pairs(quads: Iterable[ox.Quad | ox.Triple]) -> list[tuple[str, str]]:
    return [
        (quad.subject.value, quad.object.value)
        for quad in quads
        if quad.predicate.value == RDFS_SUBCLASS
        and isinstance(quad.subject, ox.NamedNode)
        and isinstance(quad.object, ox.NamedNode)
    ]
