"""Find the entity a user names: by IRI, CURIE, label, alternative label or Wikidata id.

Names are compared after folding case, diacritics and punctuation, so "Mingachevir",
"MINGECHEVIR" and "gazancetsots" find the curated entities whose labels are
"Mingechevir" and "Gazançetsots Cathedral". A name that matches nothing raises
:class:`UnknownEntityError`; one that matches several entities equally well raises
:class:`AmbiguousEntityError`. Both carry ``suggestions``: (IRI, label) pairs of close
matches, scored with :mod:`rapidfuzz` (the Indel ratio of :mod:`difflib`, in linear time).

>>> from karabakh_kg.graph.lookup import normalize
>>> normalize("Gazançetsots  Cathedral")
'gazancetsots cathedral'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyoxigraph as ox
from rapidfuzz import fuzz

from karabakh_kg.graph.categories import hierarchy
from karabakh_kg.graph.prefixes import compact, expand
from karabakh_kg.graph.views import view
from karabakh_kg.ontology import vocab

if TYPE_CHECKING:
    from karabakh_kg.graph.dataset import KnowledgeGraph

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS = "http://www.w3.org/2004/02/skos/core#"
SKOS_ALT = SKOS + "altLabel"
SKOS_PREF = SKOS + "prefLabel"
SKOS_EXACT = SKOS + "exactMatch"
OWL_SAME = "http://www.w3.org/2002/07/owl#sameAs"
WD = str(vocab.WD)

# Letters that Unicode does not decompose into a base letter plus a combining mark.
_FOLD = str.maketrans(
    {
        "ı": "i",
        "ə": "e",
        "Ə": "e",
        "ł": "l",
        "Ł": "l",
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ß": "ss",
    }
)
_WIKIDATA_ID = re.compile(r"^(?:wd:)?(Q[1-9][0-9]*)$", re.IGNORECASE)
_WIKIDATA_URL = re.compile(r"^https?://(?:www\.)?wikidata\.org/(?:wiki|entity)/(Q[1-9][0-9]*)$")


class EntityLookupError(LookupError):
    """A name that does not designate exactly one entity."""

    def __init__(self, message: str, suggestions: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.message = message
        self.suggestions = suggestions

    def __str__(self) -> str:
        if not self.suggestions:
            return self.message
        listed = "; ".join(f"{label} <{iri}>" for iri, label in self.suggestions)
        return f"{self.message}; did you mean: {listed}"


class UnknownEntityError(EntityLookupError):
    """No entity has this name."""


class AmbiguousEntityError(EntityLookupError):
    """Several entities have this name; ``suggestions`` lists them."""


def normalize(text: str) -> str:
    """Fold case, diacritics and punctuation: the key names are compared on."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = stripped.casefold().translate(_FOLD)
    return " ".join(re.findall(r"\w+", folded))


@dataclass
class Entity:
    """One named resource of the asserted graph."""

    iri: str
    label: str
    alt_labels: list[str] = field(default_factory=list)
    types: set[str] = field(default_factory=set)
    wikidata: list[str] = field(default_factory=list)
    secondary: bool = False
    """True for events, claims and evidence (ranked after actors and places)."""

    def names(self) -> list[str]:
        """The label first, then the alternative labels."""
        return [self.label, *self.alt_labels]


@dataclass
class Index:
    """Every named entity, keyed by its folded names."""

    entities: dict[str, Entity]
    by_label: dict[str, set[str]]
    by_alt: dict[str, set[str]]
    by_wikidata: dict[str, set[str]]
    by_local: dict[str, set[str]]
    known: set[str]

    def label(self, iri: str) -> str:
        """The entity's label, or the IRI's local name."""
        entity = self.entities.get(iri)
        return entity.label if entity else local_name(iri)


def local_name(iri: str) -> str:
    """The part of an IRI after its last '#' or '/'."""
    return re.split(r"[#/]", iri.rstrip("/#"))[-1]


def index(kg: KnowledgeGraph) -> Index:
    """The lookup index of ``kg``, built once per data version and store size."""
    return view(kg, "lookup index", lambda: _build(kg))


def _graphs(kg: KnowledgeGraph) -> list[ox.NamedNode]:
    from karabakh_kg.graph.dataset import ASSERTED, INFERRED

    return [ASSERTED, INFERRED]


def _build(kg: KnowledgeGraph) -> Index:
    graphs = _graphs(kg)
    labels: dict[str, list[tuple[int, str]]] = {}
    alt: dict[str, list[str]] = {}
    known: set[str] = set()
    for graph in graphs:
        for quad in kg.store.quads_for_pattern(None, None, None, graph):
            if isinstance(quad.subject, ox.NamedNode):
                known.add(quad.subject.value)
            if isinstance(quad.object, ox.NamedNode) and quad.predicate.value != RDF_TYPE:
                known.add(quad.object.value)
            obj = quad.object
            if not isinstance(quad.subject, ox.NamedNode) or not isinstance(obj, ox.Literal):
                continue
            iri, pred = quad.subject.value, quad.predicate.value
            if pred in (RDFS_LABEL, SKOS_PREF):
                # English or untagged labels are what tools show; others become names too.
                rank = 0 if obj.language in (None, "en") else 1
                labels.setdefault(iri, []).append((rank, obj.value))
            elif pred == SKOS_ALT:
                alt.setdefault(iri, []).append(obj.value)
    entities: dict[str, Entity] = {}
    for iri in labels.keys() | alt.keys():
        ranked = [value for _, value in sorted(labels.get(iri, []))]
        names = ranked + alt.get(iri, [])
        entities[iri] = Entity(iri, names[0], sorted(set(names[1:]) - {names[0]}))
    for graph in graphs:
        for quad in kg.store.quads_for_pattern(None, ox.NamedNode(RDF_TYPE), None, graph):
            entity = entities.get(quad.subject.value)
            if entity is not None and isinstance(quad.object, ox.NamedNode):
                entity.types.add(quad.object.value)
        for pred in (SKOS_EXACT, OWL_SAME):
            for quad in kg.store.quads_for_pattern(None, ox.NamedNode(pred), None, graph):
                entity = entities.get(quad.subject.value)
                match = _WIKIDATA_URL.match(quad.object.value)
                if entity is not None and match and match.group(1) not in entity.wikidata:
                    entity.wikidata.append(match.group(1))
    ontology = hierarchy(kg)
    for entity in entities.values():
        entity.secondary = ontology.secondary(entity.types)
    # Ontology terms are named in the ontology graph, not here; keep only instances.
    ontology_terms = _ontology_terms(kg)
    for iri in ontology_terms:
        entities.pop(iri, None)
    by_label: dict[str, set[str]] = {}
    by_alt: dict[str, set[str]] = {}
    by_wikidata: dict[str, set[str]] = {}
    by_local: dict[str, set[str]] = {}
    for entity in entities.values():
        by_label.setdefault(normalize(entity.label), set()).add(entity.iri)
        for name in entity.alt_labels:
            by_alt.setdefault(normalize(name), set()).add(entity.iri)
        for qid in entity.wikidata:
            by_wikidata.setdefault(qid.upper(), set()).add(entity.iri)
        by_local.setdefault(normalize(local_name(entity.iri)), set()).add(entity.iri)
    return Index(entities, by_label, by_alt, by_wikidata, by_local, known - ontology_terms)


def _ontology_terms(kg: KnowledgeGraph) -> set[str]:
    from karabakh_kg.graph.dataset import ONTOLOGY

    terms = set()
    for quad in kg.store.quads_for_pattern(None, None, None, ONTOLOGY):
        if isinstance(quad.subject, ox.NamedNode):
            terms.add(quad.subject.value)
    return terms


def resolve(kg: KnowledgeGraph, name: str) -> str:
    """The IRI of the entity named by ``name`` (IRI, CURIE, label, alt label or Wikidata id).

    Raises :class:`UnknownEntityError` or :class:`AmbiguousEntityError` (both
    :class:`LookupError`) with ``suggestions`` of close matches.
    """
    text = name.strip()
    if not text:
        raise UnknownEntityError("empty entity name", [])
    idx = index(kg)
    candidates = _candidates(idx, text)
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        pairs = [(iri, idx.label(iri)) for iri in candidates]
        raise AmbiguousEntityError(
            f"{text!r} names {len(candidates)} entities", sorted(pairs, key=lambda p: p[1])
        )
    raise UnknownEntityError(f"no entity named {text!r}", suggest(kg, text, 5))


def _candidates(idx: Index, text: str) -> list[str]:
    """The entities ``text`` names, best tier only (one element when unambiguous)."""
    iri = text[1:-1] if text.startswith("<") and text.endswith(">") else text
    wikidata = _WIKIDATA_ID.match(iri) or _WIKIDATA_URL.match(iri)
    if wikidata:
        return sorted(idx.by_wikidata.get(wikidata.group(1).upper(), set()))
    if re.match(r"^[a-z][a-z0-9+.-]*://", iri, re.IGNORECASE) or iri.startswith("urn:"):
        return [iri] if iri in idx.known or iri in idx.entities else []
    expanded = expand(iri)
    if expanded is not None:
        return [expanded] if expanded in idx.known or expanded in idx.entities else []
    key = normalize(text)
    if not key:
        return []
    for table in (idx.by_label, idx.by_alt, idx.by_local):
        found = table.get(key)
        if found:
            return _best_tier(idx, found)
    # Every word of the name is a word of a label ("Lavrov" for "Sergei Lavrov").
    words = set(key.split())
    partial = {
        entity.iri
        for entity in idx.entities.values()
        if any(words <= set(normalize(n).split()) for n in entity.names())
    }
    return _best_tier(idx, partial) if partial else []


def _best_tier(idx: Index, iris: set[str]) -> list[str]:
    primary = [i for i in iris if not (i in idx.entities and idx.entities[i].secondary)]
    return sorted(primary or iris)


def suggest(kg: KnowledgeGraph, text: str, limit: int = 5) -> list[tuple[str, str]]:
    """Up to ``limit`` (IRI, label) pairs whose names are close to ``text``."""
    return [(e.iri, e.label) for e in search(kg, text, limit, fuzzy=True)]


def search(kg: KnowledgeGraph, text: str, limit: int = 10, *, fuzzy: bool = True) -> list[Entity]:
    """Entities ranked by how well one of their names matches ``text``.

    Exact names first, then names starting with it, then names containing each of its
    words, then (``fuzzy``) names that :mod:`rapidfuzz` finds close.
    """
    idx = index(kg)
    key = normalize(text)
    if not key or limit <= 0:
        return []
    scored: dict[str, float] = {}
    for iri in _candidates(idx, text):
        scored[iri] = 4.0
    words = key.split()
    for entity in idx.entities.values():
        best = 0.0
        for name in [*entity.names(), local_name(entity.iri)]:
            folded = normalize(name)
            if folded == key:
                best = max(best, 3.0)
            elif folded.startswith(key):
                best = max(best, 2.5)
            elif all(any(t.startswith(w) for t in folded.split()) for w in words):
                best = max(best, 2.0)
            elif key in folded:
                best = max(best, 1.5)
            elif fuzzy:
                ratio = _closeness(key, folded)
                if ratio >= 0.6:
                    best = max(best, ratio)
        if best:
            scored[entity.iri] = max(scored.get(entity.iri, 0.0), best)
    ranked = sorted(
        scored,
        key=lambda iri: (
            -scored[iri],
            idx.entities[iri].secondary if iri in idx.entities else True,
            idx.label(iri).casefold(),
        ),
    )
    return [idx.entities.get(iri) or Entity(iri, local_name(iri)) for iri in ranked[:limit]]


def _closeness(key: str, name: str) -> float:
    """Similarity (0 to 1) of ``key`` to the whole name or its closest word.

    rapidfuzz's ratio is difflib's ``SequenceMatcher.ratio`` computed in C++ in time
    linear in the input, so a long mistyped name costs milliseconds, not seconds.
    """
    ratios = [fuzz.ratio(key, name)]
    ratios += [fuzz.ratio(key, word) for word in name.split()]
    return max(ratios) / 100.0


def describe(kg: KnowledgeGraph, iri: str) -> dict[str, object]:
    """A JSON-ready summary of one entity: IRI, CURIE, label, names, types, Wikidata ids."""
    idx = index(kg)
    entity = idx.entities.get(iri) or Entity(iri, local_name(iri))
    return {
        "iri": entity.iri,
        "curie": compact(entity.iri),
        "label": entity.label,
        "altLabels": list(entity.alt_labels),
        "types": sorted(compact(t) for t in entity.types),
        "wikidata": list(entity.wikidata),
    }
