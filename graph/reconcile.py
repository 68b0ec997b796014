"""Reconciliation: score the graph's entities against names as spreadsheets spell them.

What :mod:`karabakh_kg.server.web.reconcile` serves as the W3C Reconciliation Service API
(0.2). Candidates come from :func:`karabakh_kg.graph.lookup.search` (labels, alternative
labels, Wikidata ids, close names); each is scored 0-100 here:

* **name**: the best :func:`rapidfuzz.fuzz.ratio` of the folded query against any of the
  entity's names or the words of its names (a surname alone finds the person);
* **phonetic**: the same comparison on Metaphone codes (:mod:`jellyfish`), so that other
  romanisations of Armenian and Azerbaijani names score as the same name: Pashinian and
  Pashinyan, Mnatsakanian and Mnatsakanyan, Lachyn and Lachin, Shushi and Shusha;
* **type**: whether the entity is of a requested type;
* **properties**: the share of the query's property values the entity has.

A candidate is a ``match`` (safe to accept without review) when its score is at least
:data:`MATCH_SCORE`, it is ahead of the next candidate by :data:`MATCH_MARGIN`, and it
satisfies the requested types and properties; a Wikidata id or an IRI that names exactly
one entity is always a match.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jellyfish
import pyoxigraph as ox
from rapidfuzz import fuzz

from karabakh_kg.graph import lookup
from karabakh_kg.graph.categories import hierarchy
from karabakh_kg.ontology import vocab

if TYPE_CHECKING:
    from karabakh_kg.graph.dataset import KnowledgeGraph

KG = str(vocab.KG)
KGO = str(vocab.KGO)
WIKIDATA = "wikidata"
"""The property id of an entity's Wikidata id (from ``skos:exactMatch wd:Q…``)."""
MATCH_SCORE = 90.0
MATCH_MARGIN = 10.0
MAX_LIMIT = 100
"""Most candidates per query."""
SKOS_EXACT = "http://www.w3.org/2004/02/skos/core#exactMatch"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple


def entity_id(iri: str) -> str:
    """The reconciliation id of an entity: its local name in ``kg:`` (else the IRI)."""
    return iri[len(KG) :] if iri.startswith(KG) else iri


def entity_iri(identifier: str) -> str:
    """The IRI of a reconciliation id (local name, CURIE or IRI)."""
    if identifier.startswith(("http://", "https://")):
        return identifier
    if identifier.startswith("kg:"):
        return KG + identifier[3:]
    return KG + identifier


def type_iri(identifier: str) -> str:
    """The IRI of a type id: a ``kgo:`` local name, a CURIE or an IRI."""
    if identifier.startswith(("http://", "https://")):
        return identifier
    return KGO + identifier.removeprefix("kgo:")


def _phonetic(text: str) -> str:
    # Metaphone keeps a Y before a vowel; romanisations differ exactly there (-ian, -yan).
    return " ".join(jellyfish.metaphone(word).replace("Y", "") for word in text.split())


def name_scores(query: str, names: Iterable[str]) -> tuple[float, float]:
    """(name score, phonetic score) of ``query`` against the best of ``names``, 0-100."""
    key = lookup.normalize(query)
    if not key:
        return 0.0, 0.0
    sound = _phonetic(key)
    best_name = best_sound = 0.0
    for name in names:
        folded = lookup.normalize(name)
        if not folded:
            continue
        # A part of a name (the surname) counts slightly less than the whole name.
        parts = [(folded, 1.0)]
        if " " in folded and " " not in key:
            parts += [(word, 0.85) for word in folded.split()]
        for part, weight in parts:
            best_name = max(best_name, fuzz.ratio(key, part) * weight)
            best_sound = max(best_sound, fuzz.ratio(sound, _phonetic(part)) * weight)
    return best_name, best_sound


@dataclass
class Candidate:
    """One scored candidate of one query."""

    iri: str
    name: str
    types: list[tuple[str, str]]
    score: float
    match: bool = False
    description: str | None = None
    features: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "id": entity_id(self.iri),
            "name": self.name,
            "type": [{"id": t, "name": n} for t, n in self.types],
            "score": round(self.score, 2),
            "match": self.match,
            "features": self.features,
        }
        if self.description:
            result["description"] = self.description
        return result


@dataclass
class Query:
    """One reconciliation query, checked (see the web module for the wire format)."""

    text: str | None
    types: list[str]
    type_strict: str
    limit: int
    properties: list[tuple[str, list[str]]]
    """(property id, the values as strings or ids) pairs."""


class Reconciler:
    """Scores queries against one knowledge graph (built per request; cheap)."""

    def __init__(self, kg: KnowledgeGraph) -> None:
        self.kg = kg
        self.index = lookup.index(kg)
        self.ontology = hierarchy(kg)
        self._values: dict[str, dict[str, list[Term]]] = {}

    # -- types and properties ---------------------------------------------------------

    def type_label(self, iri: str) -> str:
        return _ontology_labels(self.kg).get(iri, iri.rsplit("#", 1)[-1])

    def types_of(self, iri: str) -> list[tuple[str, str]]:
        """The entity's most specific kgo: types as (id, name)."""
        entity = self.index.entities.get(iri)
        types = [t for t in (entity.types if entity else ()) if t.startswith(KGO)]
        leaves = [
            t for t in types if not any(t != o and t in self.ontology.closure([o]) for o in types)
        ]
        return [(t[len(KGO) :], self.type_label(t)) for t in sorted(leaves)]

    def is_of_type(self, iri: str, type_id: str) -> bool:
        entity = self.index.entities.get(iri)
        return type_iri(type_id) in self.ontology.closure(entity.types if entity else ())

    def values(self, iri: str) -> dict[str, list[Term]]:
        """Property id -> the entity's values (asserted and derived; kgo: properties and the
        Wikidata id)."""
        if iri not in self._values:
            found: dict[str, list[Term]] = {}
            for graph in self.kg.default_graphs():
                for quad in self.kg.store.quads_for_pattern(ox.NamedNode(iri), None, None, graph):
                    pred = quad.predicate.value
                    if pred.startswith(KGO):
                        key = pred[len(KGO) :]
                    elif pred == SKOS_EXACT and quad.object.value.startswith(str(vocab.WD)):
                        key = WIKIDATA
                    else:
                        continue
                    if quad.object not in found.setdefault(key, []):
                        found[key].append(quad.object)
            self._values[iri] = found
        return self._values[iri]

    def property_match(self, iri: str, pid: str, wanted: Sequence[str]) -> float:
        """The share of ``wanted`` values the entity has for ``pid`` (by id, name or value)."""
        have: set[str] = set()
        for term in self.values(iri).get(pid, []):
            have.add(lookup.normalize(_display(term)))
            if isinstance(term, ox.NamedNode):
                have.add(lookup.normalize(entity_id(term.value)))
                have.add(lookup.normalize(self.index.label(term.value)))
                known = self.index.entities.get(term.value)
                have.update(lookup.normalize(n) for n in (known.alt_labels if known else []))
        if not wanted:
            return 0.0
        hits = sum(1 for value in wanted if lookup.normalize(value) in have)
        return hits / len(wanted)

    # -- reconciliation ---------------------------------------------------------------

    def reconcile(self, query: Query) -> list[Candidate]:
        """Scored candidates, best first, at most ``query.limit``."""
        exact: set[str] = set()
        pool: list[str] = []
        if query.text:
            try:
                exact = {lookup.resolve(self.kg, query.text)}
            except lookup.AmbiguousEntityError as error:
                exact = set()
                pool.extend(iri for iri, _ in error.suggestions)
            except lookup.EntityLookupError:
                exact = set()
            pool.extend(exact)
            found = lookup.search(self.kg, query.text, max(50, query.limit), fuzzy=True)
            pool.extend(e.iri for e in found)  # (enough for the limit, up to MAX_LIMIT)
        else:
            pool.extend(self._by_properties(query))
        scored: dict[str, Candidate] = {}
        for iri in dict.fromkeys(pool):
            if iri not in self.index.entities:
                continue
            candidate = self._score(iri, query, iri in exact)
            if candidate is not None:
                scored[iri] = candidate
        ranked = sorted(scored.values(), key=lambda c: (-c.score, c.name.casefold()))
        if ranked:
            top = ranked[0]
            runner_up = ranked[1].score if len(ranked) > 1 else 0.0
            top.match = top.match or (
                top.score >= MATCH_SCORE
                and top.score - runner_up >= MATCH_MARGIN
                and all(f["value"] for f in top.features if f["id"].startswith(("type", "prop")))
            )
        return ranked[: query.limit]

    def _by_properties(self, query: Query) -> list[str]:
        found = []
        for iri in self.index.entities:
            if any(self.property_match(iri, pid, values) > 0 for pid, values in query.properties):
                found.append(iri)
        return found

    def _score(self, iri: str, query: Query, exact: bool) -> Candidate | None:
        entity = self.index.entities[iri]
        features: list[dict[str, Any]] = []
        if query.types:
            fits = [self.is_of_type(iri, t) for t in query.types]
            typed = all(fits) if query.type_strict == "all" else any(fits)
            if not typed and query.type_strict != "should":
                return None
            features.append({"id": "type", "value": typed})
        else:
            typed = True
        if query.text:
            names = [*entity.names(), *entity.wikidata]
            name, sound = name_scores(query.text, names)
            if exact:
                name = sound = 100.0
            score = max(name, 0.5 * name + 0.5 * sound)
            features += [{"id": "name", "value": round(name, 2)}]
            features += [{"id": "phonetic", "value": round(sound, 2)}]
        else:
            score = 100.0
        for pid, wanted in query.properties:
            share = self.property_match(iri, pid, wanted)
            features.append({"id": f"property:{pid}", "value": round(share, 3)})
            score = 0.7 * score + 30.0 * share
        if query.types and not typed:
            score *= 0.8
        if entity.secondary:  # events and claims after people, states and places
            score *= 0.9
        description = ", ".join(name for _, name in self.types_of(iri)) or None
        props_ok = all(self.property_match(iri, p, v) == 1 for p, v in query.properties)
        return Candidate(
            iri,
            entity.label,
            self.types_of(iri),
            score,
            match=exact and typed and props_ok,
            description=description,
            features=features,
        )

    # -- data extension ---------------------------------------------------------------

    def extend(
        self, ids: Sequence[str], properties: Sequence[str]
    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, list[dict[str, Any]]]]]:
        """(meta, rows) of a data extension: the values of ``properties`` for ``ids``."""
        labels = property_labels(self.kg)
        meta = [{"id": pid, "name": labels.get(pid, pid)} for pid in properties]
        rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for identifier in ids:
            iri = entity_iri(identifier)
            values = self.values(iri) if iri in self.index.entities else {}
            rows[identifier] = {
                pid: [self._cell(term, pid) for term in values.get(pid, [])] for pid in properties
            }
        return meta, rows

    def _cell(self, term: Term, pid: str) -> dict[str, Any]:
        if isinstance(term, ox.NamedNode):
            if pid == WIKIDATA:
                return {"str": term.value.rsplit("/", 1)[-1]}
            if term.value in self.index.entities:
                return {"id": entity_id(term.value), "name": self.index.label(term.value)}
            return {"str": lookup.local_name(term.value)}
        if isinstance(term, ox.Literal):
            datatype = term.datatype.value
            if datatype.endswith(("#integer", "#positiveInteger", "#nonNegativeInteger", "#int")):
                return {"int": int(term.value)}
            if datatype.endswith(("#decimal", "#double", "#float")):
                return {"float": float(term.value)}
            if datatype.endswith("#date"):
                day = dt.date.fromisoformat(term.value)
                return {"date": f"{day.isoformat()}T00:00:00Z"}
            return {"str": term.value}
        return {"str": str(term)}

    def proposed_properties(self, type_id: str | None, limit: int) -> list[dict[str, str]]:
        """The properties entities of ``type_id`` have, most used first."""
        counts: dict[str, int] = {}
        for iri in self.index.entities:
            if type_id and not self.is_of_type(iri, type_id):
                continue
            for pid in self.values(iri):
                counts[pid] = counts.get(pid, 0) + 1
        labels = property_labels(self.kg)
        ranked = sorted(counts, key=lambda p: (-counts[p], p))
        return [{"id": p, "name": labels.get(p, p)} for p in ranked[:limit]]


def _display(term: Term) -> str:
    if isinstance(term, ox.NamedNode):
        return lookup.local_name(term.value)
    if isinstance(term, ox.Literal):
        return term.value
    return str(term)


def _ontology_labels(kg: KnowledgeGraph) -> dict[str, str]:
    from karabakh_kg.graph.dataset import ONTOLOGY

    labels: dict[str, str] = {}
    for quad in kg.store.quads_for_pattern(None, ox.NamedNode(RDFS_LABEL), None, ONTOLOGY):
        obj = quad.object
        named = isinstance(quad.subject, ox.NamedNode) and isinstance(obj, ox.Literal)
        if named and obj.language in (None, "en"):
            labels.setdefault(quad.subject.value, obj.value)
    return labels


def property_labels(kg: KnowledgeGraph) -> dict[str, str]:
    """Property id -> label, for the kgo: properties and the Wikidata id."""
    labels = {
        iri[len(KGO) :]: label
        for iri, label in _ontology_labels(kg).items()
        if iri.startswith(KGO) and iri[len(KGO)].islower()
    }
    labels[WIKIDATA] = "Wikidata id"
    return labels


def type_suggestions(kg: KnowledgeGraph, prefix: str) -> list[dict[str, str]]:
    """kgo: classes whose name or label starts with (or contains) ``prefix``."""
    key = lookup.normalize(prefix)
    labels = _ontology_labels(kg)
    found = []
    for iri in sorted(hierarchy(kg).ancestors):
        if not iri.startswith(KGO) or not iri[len(KGO) :][:1].isupper():
            continue
        local, label = iri[len(KGO) :], labels.get(iri, iri[len(KGO) :])
        names = [lookup.normalize(local), lookup.normalize(label)]
        if not key or any(n.startswith(key) for n in names) or any(key in n for n in names):
            rank = 0 if any(n.startswith(key) for n in names) else 1
            found.append((rank, label.casefold(), {"id": local, "name": label}))
    return [item for _, _, item in sorted(found, key=lambda t: (t[0], t[1]))]


def property_suggestions(kg: KnowledgeGraph, prefix: str) -> list[dict[str, str]]:
    """Properties whose id or label starts with (or contains) ``prefix``."""
    key = lookup.normalize(prefix)
    found = []
    for pid, label in property_labels(kg).items():
        names = [lookup.normalize(pid), lookup.normalize(label)]
        if not key or any(key in n for n in names):
            rank = 0 if any(n.startswith(key) for n in names) else 1
            found.append((rank, label.casefold(), {"id": pid, "name": label}))
    return [item for _, _, item in sorted(found, key=lambda t: (t[0], t[1]))]
