"""Contradictions in the closure (OWL 2 RL's ``false`` rules), each explained down to the quotes.

Apart from :mod:`karabakh_kg.graph.reasoning` because it needs the explanations, which need the
reasoner: this module depends on both, and neither depends on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from karabakh_kg.graph.prefixes import shorten
from karabakh_kg.graph.reasoning import Reasoner, reasoner
from karabakh_kg.graph.reasoning.engine import Triple
from karabakh_kg.graph.reasoning.explain import Explanation, explain_encoded
from karabakh_kg.graph.reasoning.rules import Constraint

if TYPE_CHECKING:
    from karabakh_kg.graph.dataset import KnowledgeGraph


@dataclass
class Inconsistency:
    """A contradiction: the consistency rule, what it means and the triples that violate it.

    ``resource`` is the IRI the contradiction is about (the subject of the first triple);
    ``message`` one line naming the rule, the resources and the axiom.
    """

    rule: str
    message: str
    triples: list[tuple[str, str, str]]
    axiom: tuple[str, str, str] | None
    resource: str = ""
    explanations: list[Explanation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the explanation of each violating triple."""
        return {
            "rule": self.rule,
            "resource": self.resource,
            "message": self.message,
            "triples": [list(t) for t in self.triples],
            "axiom": list(self.axiom) if self.axiom else None,
            "explanations": [e.to_dict() for e in self.explanations],
        }

    def to_text(self) -> str:
        """One paragraph for people."""
        lines = [self.message]
        if self.axiom:
            lines.append("  axiom: " + " ".join(shorten(x) for x in self.axiom))
        for e in self.explanations:
            lines.extend("  " + line for line in e.to_text().splitlines())
        return "\n".join(lines)


def check_consistency(kg: KnowledgeGraph) -> list[Inconsistency]:
    """Every contradiction in the closure, each with the explanation of its triples."""
    return list(contradictions(kg, reasoner(kg)))


def contradictions(
    kg: KnowledgeGraph, r: Reasoner, *, explained: bool = True
) -> Iterator[Inconsistency]:
    """Each contradiction in the closure of ``r`` once, as it is found; with the explanation
    of its triples if ``explained`` (``reason FILE`` counts them without: explanations of
    data that has no quotes say little, and there may be many)."""
    seen: set[tuple[str, frozenset[Triple]]] = set()
    base = r.engine.base
    for constraint in r.constraints:
        for premises in r.engine.matches(constraint.rule):
            key = (constraint.rule.rule_id, frozenset(premises))
            if key in seen:
                continue
            seen.add(key)
            if constraint.rule.rule_id == "prp-fp" and _declared_same(r, premises, base):
                continue
            yield _inconsistency(r, constraint, premises, kg, explained=explained)


def _declared_same(r: Reasoner, premises: tuple[Triple, ...], base: set[Triple]) -> bool:
    a, b = premises[0][2], premises[1][2]
    return (a, r.same_as_id, b) in base or (b, r.same_as_id, a) in base


def _inconsistency(
    r: Reasoner,
    constraint: Constraint,
    premises: tuple[Triple, ...],
    kg: KnowledgeGraph,
    *,
    explained: bool,
) -> Inconsistency:
    def text(t: Triple) -> tuple[str, str, str]:
        s, p, o = r.decode(t)
        return str(s), str(p), str(o)

    unique = list(dict.fromkeys(premises))
    axiom = text(constraint.rule.axioms[0]) if constraint.rule.axioms else None
    triples = [text(t) for t in unique]
    said = "; ".join(" ".join(shorten(x) for x in t) for t in triples)
    named = axiom and not any(x.startswith("_:") for x in axiom)
    because = f" (axiom: {' '.join(shorten(x) for x in axiom)})" if axiom and named else ""
    subject = triples[0][0]
    return Inconsistency(
        rule=constraint.rule.rule_id,
        message=f"{constraint.rule.rule_id}: {constraint.message}: {said}{because}",
        triples=triples,
        axiom=axiom,
        resource=subject[1:-1] if subject.startswith("<") else subject,
        explanations=[explain_encoded(kg, r, t) for t in unique] if explained else [],
    )
