"""Dispute records: the competing claims of ``graph/data/disputes.trig``, each with its quotes.

A ``kgo:Dispute`` (in the provenance graph) names what it concerns and its positions; a
position is a ``kgo:Claim`` (its claimants, and the evidence units that state it) or an
evidence unit (its attribution). Everything shown comes from the data: the quote of each
unit is the seed's own words. (Not named ``disputes``: that is the function's public name in
:mod:`karabakh_kg.graph`, which a submodule of the same name would shadow once imported.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from karabakh_kg.ontology import vocab

if TYPE_CHECKING:
    from karabakh_kg.graph.dataset import KnowledgeGraph

KGO = str(vocab.KGO)


@dataclass
class Quote:
    """One evidence unit's passage."""

    unit: str
    text: str | None
    line: int | None
    stance: str | None
    attributed_to: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "quote": self.text,
            "line": self.line,
            "stance": self.stance,
            "attributed_to": self.attributed_to,
        }


@dataclass
class Position:
    """One competing claim of a dispute."""

    iri: str
    kind: str
    """``claim`` or ``evidence``."""
    label: str
    claimants: list[tuple[str, str]] = field(default_factory=list)
    quantity: str | None = None
    quotes: list[Quote] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "position": self.iri,
            "kind": self.kind,
            "label": self.label,
            "claimants": [{"iri": i, "label": label} for i, label in self.claimants],
            "quantity": self.quantity,
            "quotes": [q.to_dict() for q in self.quotes],
        }


@dataclass
class Dispute:
    """A ``kgo:Dispute`` with what it concerns and its positions."""

    iri: str
    label: str
    kinds: list[tuple[str, str]]
    concerns: list[tuple[str, str]]
    comment: str | None
    positions: list[Position]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dispute": self.iri,
            "label": self.label,
            "kinds": [{"iri": i, "label": label} for i, label in self.kinds],
            "concerns": [{"iri": i, "label": label} for i, label in self.concerns],
            "comment": self.comment,
            "positions": [p.to_dict() for p in self.positions],
        }

    def involves(self, iri: str) -> bool:
        """Whether the dispute concerns ``iri`` or one of its positions is ``iri``."""
        return any(i == iri for i, _ in self.concerns) or any(p.iri == iri for p in self.positions)


def _rows(kg: KnowledgeGraph, sparql: str) -> list[dict[str, ox.NamedNode | ox.Literal]]:
    result = kg.query(sparql, include_inferred=False)
    assert isinstance(result, ox.QuerySolutions)
    names = [v.value for v in result.variables]
    return [{n: row[n] for n in names if row[n] is not None} for row in result]


def _label(kg: KnowledgeGraph, iri: str) -> str:
    rows = _rows(
        kg,
        f"SELECT ?l WHERE {{ <{iri}> rdfs:label ?l FILTER(LANGMATCHES(LANG(?l), 'en') "
        "|| LANG(?l) = '') } LIMIT 1",
    )
    return rows[0]["l"].value if rows else iri


def _quote(kg: KnowledgeGraph, unit: str) -> Quote:
    rows = _rows(
        kg,
        f"""SELECT ?text ?line ?stance ?who WHERE {{
            OPTIONAL {{ <{unit}> prov:value ?text }} OPTIONAL {{ <{unit}> kgo:line ?line }}
            OPTIONAL {{ <{unit}> kgo:stance ?stance }}
            OPTIONAL {{ <{unit}> prov:wasAttributedTo ?who }} }}""",
    )
    first = rows[0] if rows else {}
    return Quote(
        unit,
        first["text"].value if "text" in first else None,
        int(first["line"].value) if "line" in first else None,
        first["stance"].value if "stance" in first else None,
        sorted({r["who"].value for r in rows if "who" in r}),
    )


def _position(kg: KnowledgeGraph, iri: str) -> Position:
    is_claim = bool(kg.query(f"ASK {{ <{iri}> a kgo:Claim }}", include_inferred=False))
    if not is_claim:
        quote = _quote(kg, iri)
        return Position(
            iri,
            "evidence",
            quote.text or iri,
            [(w, _label(kg, w)) for w in quote.attributed_to],
            quotes=[quote],
        )
    claimants = sorted(
        {r["c"].value for r in _rows(kg, f"SELECT ?c WHERE {{ <{iri}> kgo:claimant ?c }}")}
    )
    units = sorted(
        {
            r["g"].value
            for r in _rows(
                kg,
                "SELECT DISTINCT ?g WHERE { GRAPH ?g { "
                f"<{iri}> a kgo:Claim }} ?g a kgo:Evidence }}",
            )
        }
    )
    amount = _rows(kg, f"SELECT ?q WHERE {{ <{iri}> kgo:quantity ?q }} LIMIT 1")
    quotes = sorted((_quote(kg, u) for u in units), key=lambda q: (q.line or 0, q.unit))
    return Position(
        iri,
        "claim",
        _label(kg, iri),
        [(c, _label(kg, c)) for c in claimants],
        amount[0]["q"].value if amount else None,
        quotes,
    )


def disputes(kg: KnowledgeGraph) -> list[Dispute]:
    """Every dispute of the data, ordered by the first line its positions quote."""
    found = []
    for row in _rows(kg, "SELECT DISTINCT ?d WHERE { ?d a kgo:Dispute }"):
        iri = row["d"].value
        comment = _rows(kg, f"SELECT ?c WHERE {{ <{iri}> rdfs:comment ?c }} LIMIT 1")
        kinds = sorted(
            {r["k"].value for r in _rows(kg, f"SELECT ?k WHERE {{ <{iri}> kgo:disputeKind ?k }}")}
        )
        concerns = sorted(
            {r["c"].value for r in _rows(kg, f"SELECT ?c WHERE {{ <{iri}> kgo:concerns ?c }}")}
        )
        positions = sorted(
            {r["p"].value for r in _rows(kg, f"SELECT ?p WHERE {{ <{iri}> kgo:position ?p }}")}
        )
        items = [_position(kg, p) for p in positions]
        items.sort(key=lambda p: (min((q.line or 0 for q in p.quotes), default=0), p.iri))
        found.append(
            Dispute(
                iri,
                _label(kg, iri),
                [(k, _label(kg, k)) for k in kinds],
                [(c, _label(kg, c)) for c in concerns],
                comment[0]["c"].value if comment else None,
                items,
            )
        )
    found.sort(key=lambda d: (_first_line(d), d.iri))
    return found


def _first_line(d: Dispute) -> int:
    return min((q.line or 0 for p in d.positions for q in p.quotes), default=0)


def disputes_about(kg: KnowledgeGraph, iri: str) -> list[Dispute]:
    """The disputes that concern ``iri`` or have it as a position."""
    return [d for d in disputes(kg) if d.involves(iri)]
