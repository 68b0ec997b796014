"""Why a triple holds: its derivation tree down to asserted triples and their seed quotes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from karabakh_kg.graph.dataset import ONTOLOGY as ONTOLOGY_GRAPH
from karabakh_kg.graph.dataset import PROVENANCE, SYSTEM_GRAPHS
from karabakh_kg.graph.prefixes import shorten
from karabakh_kg.graph.reasoning import Reasoner, reasoner
from karabakh_kg.graph.reasoning.engine import Triple
from karabakh_kg.graph.reasoning.perspective_graphs import is_perspective_graph
from karabakh_kg.ontology import vocab

if TYPE_CHECKING:
    from karabakh_kg.graph.dataset import KnowledgeGraph

PROV = str(vocab.PROV)
KGO = str(vocab.KGO)
SYSTEM = {g.value for g in SYSTEM_GRAPHS}

ASSERTED, DERIVED, ONTOLOGY, NOT_ENTAILED = "asserted", "derived", "ontology", "not entailed"

Term = ox.NamedNode | ox.BlankNode | ox.Literal


@dataclass
class Evidence:
    """One evidence unit backing an asserted triple."""

    graph: str
    quote: str | None = None
    line: int | None = None
    stance: str | None = None
    attributed_to: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "graph": self.graph,
            "quote": self.quote,
            "line": self.line,
            "stance": self.stance,
            "attributed_to": self.attributed_to,
        }


@dataclass
class Explanation:
    """A triple, its status and (if derived) the rule and the explained premises."""

    subject: str
    predicate: str
    object: str
    status: str
    rule: str | None = None
    rule_label: str | None = None
    premises: list[Explanation] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    hidden: bool = False
    # with ``all_derivations``: every one-step derivation (the recorded one first), each a
    # derived Explanation of this same triple
    derivations: list[Explanation] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        """Whether the triple is asserted or entailed."""
        return self.status != NOT_ENTAILED

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready tree (IRIs in N-Triples form)."""
        out: dict[str, Any] = {
            "subject": self.subject,
            "predicate": self.predicate,
            "object": self.object,
            "status": self.status,
        }
        if self.rule:
            out["rule"] = self.rule
            out["rule_label"] = self.rule_label
            out["premises"] = [p.to_dict() for p in self.premises]
        if self.evidence:
            out["evidence"] = [e.to_dict() for e in self.evidence]
        if self.hidden:
            out["hidden_as_noise"] = True
        if self.derivations:
            out["derivations"] = [
                {"rule": d.rule, "rule_label": d.rule_label, "premises": d.to_dict()["premises"]}
                for d in self.derivations
            ]
        return out

    def to_text(self, indent: int = 0) -> str:
        """An indented tree for people."""
        pad = "  " * indent
        head = f"{pad}{shorten(self.subject)} {shorten(self.predicate)} {shorten(self.object)}"
        if self.status == NOT_ENTAILED:
            return head + "\n" + pad + "  does not hold: neither asserted nor entailed"
        if self.status == DERIVED and self.derivations:
            count = len(self.derivations)
            lines = [f"{head}  [derived {count} way{'s' if count > 1 else ''}]"]
            for number, d in enumerate(self.derivations, 1):
                lines.append(f"{pad}  {number}. by {d.rule}: {d.rule_label}")
                lines += [p.to_text(indent + 2) for p in d.premises]
            return "\n".join(lines)
        if self.status == DERIVED:
            lines = [f"{head}  [derived by {self.rule}: {self.rule_label}]"]
            lines += [p.to_text(indent + 1) for p in self.premises]
            return "\n".join(lines)
        if self.status == ONTOLOGY:
            return f"{head}  [ontology axiom]"
        lines = [f"{head}  [asserted]"]
        for e in self.evidence:
            where = f"line {e.line}" if e.line is not None else "no line"
            who = f", according to {', '.join(shorten(a) for a in e.attributed_to)}"
            stance = f" ({shorten(e.stance)})" if e.stance else ""
            quote = f': "{e.quote}"' if e.quote else ""
            said = who if e.attributed_to else ""
            lines.append(f"{pad}    {shorten(e.graph)}, {where}{said}{stance}{quote}")
        return "\n".join(lines)


def _first(store: ox.Store, s: ox.NamedNode | ox.BlankNode, p: str) -> Any:
    for q in store.quads_for_pattern(s, ox.NamedNode(p), None, PROVENANCE):
        return q.object
    return None


def evidence(kg: KnowledgeGraph, s: Term, p: ox.NamedNode, o: Term) -> list[Evidence]:
    """The evidence graphs holding ``(s, p, o)``, with quote, line and attribution."""
    found: list[Evidence] = []
    graphs = sorted(
        {
            str(q.graph_name)
            for q in kg.store.quads_for_pattern(s, p, o, None)
            if not is_perspective_graph(getattr(q.graph_name, "value", ""))
        }
        - {f"<{g}>" for g in SYSTEM}
    )
    for name in graphs:
        node = ox.NamedNode(name[1:-1]) if name.startswith("<") else ox.BlankNode(name[2:])
        quote = _first(kg.store, node, PROV + "value")
        line = _first(kg.store, node, KGO + "line")
        stance = _first(kg.store, node, KGO + "stance")
        who = [
            str(q.object)
            for q in kg.store.quads_for_pattern(
                node, ox.NamedNode(PROV + "wasAttributedTo"), None, PROVENANCE
            )
        ]
        found.append(
            Evidence(
                graph=name,
                quote=quote.value if quote is not None else None,
                line=int(line.value) if line is not None else None,
                stance=str(stance) if stance is not None else None,
                attributed_to=sorted(who),
            )
        )
    return found


def explain_encoded(
    kg: KnowledgeGraph, r: Reasoner, t: Triple, memo: dict[Triple, Explanation] | None = None
) -> Explanation:
    """The explanation of an encoded triple that holds in the closure of ``r``."""
    memo = {} if memo is None else memo
    if t in memo:
        return memo[t]
    s, p, o = r.decode(t)
    ex = Explanation(str(s), str(p), str(o), NOT_ENTAILED)
    memo[t] = ex
    engine = r.engine
    if t in engine.base:
        ex.evidence = evidence(kg, s, p, o)
        in_ontology = any(True for _ in kg.store.quads_for_pattern(s, p, o, ONTOLOGY_GRAPH))
        ex.status = ONTOLOGY if in_ontology and not ex.evidence else ASSERTED
    elif t in engine.derivations:
        rule_index, body = engine.derivations[t]
        rule = engine.rules[rule_index]
        ex.status = DERIVED
        ex.rule = r.rule_id(rule_index)
        ex.rule_label = r.rule_label(rule_index)
        ex.hidden = t not in r.output
        premises = list(dict.fromkeys([*body, *rule.axioms]))
        ex.premises = [explain_encoded(kg, r, x, memo) for x in premises]
    return ex


def _support(r: Reasoner, t: Triple) -> set[Triple]:
    """Every triple in the recorded derivation tree of ``t`` (``t`` included)."""
    engine = r.engine
    seen = {t}
    todo = [t]
    while todo:
        x = todo.pop()
        recorded = engine.derivations.get(x) if x not in engine.base else None
        if recorded is None:
            continue
        rule_index, body = recorded
        for y in (*body, *engine.rules[rule_index].axioms):
            if y not in seen:
                seen.add(y)
                todo.append(y)
    return seen


def _all_derivations(kg: KnowledgeGraph, r: Reasoner, t: Triple) -> list[Explanation]:
    """Every one-step derivation of the derived triple ``t``: each rule instance whose
    premises hold in the closure, the recorded one first, premises explained as recorded.

    Instances resting on ``t`` itself (the other direction of a symmetric property derived
    from ``t``) are left out: they are no independent support.
    """
    engine = r.engine
    recorded = engine.derivations.get(t)
    found = list(dict.fromkeys([*([recorded] if recorded else []), *engine.instances(t, set())]))
    memo: dict[Triple, Explanation] = {}
    out: list[Explanation] = []
    for rule_index, body in found:
        premises = list(dict.fromkeys([*body, *engine.rules[rule_index].axioms]))
        if any(t in _support(r, x) for x in premises):
            continue
        s, p, o = r.decode(t)
        out.append(
            Explanation(
                str(s),
                str(p),
                str(o),
                DERIVED,
                rule=r.rule_id(rule_index),
                rule_label=r.rule_label(rule_index),
                premises=[explain_encoded(kg, r, x, memo) for x in premises],
                hidden=t not in r.output,
            )
        )
    return out


def parse_term(text: str | Term) -> Term:
    """A pyoxigraph term from a term or its text: an IRI, ``<IRI>``, ``_:b`` or a literal
    in N-Triples/Turtle form (``"2020-10-12"^^xsd:date``)."""
    if not isinstance(text, str):
        return text
    if text.startswith(('"', "'")):
        turtle = vocab.sparql_prefixes().replace("PREFIX ", "@prefix ").replace(">\n", "> .\n")
        quads = list(ox.parse(turtle + f"<urn:s> <urn:p> {text} .", format=ox.RdfFormat.TURTLE))
        obj = quads[0].object
        if not isinstance(obj, ox.Literal):
            raise ValueError(f"not a literal: {text}")
        return obj
    if text.startswith("_:"):
        return ox.BlankNode(text[2:])
    return ox.NamedNode(text[1:-1] if text.startswith("<") else text)


def explain(
    kg: KnowledgeGraph,
    subject: str | Term,
    predicate: str | Term,
    obj: str | Term,
    *,
    all_derivations: bool = False,
) -> Explanation:
    """Why ``(subject, predicate, obj)`` holds (full IRIs or terms; literals as text).

    The result's ``status`` is ``asserted`` (with evidence), ``ontology``, ``derived`` (with
    rule and explained premises) or ``not entailed``. With ``all_derivations``, a derived
    triple also lists in ``derivations`` every rule instance that derives it in one step.
    """
    s, p, o = parse_term(subject), parse_term(predicate), parse_term(obj)
    r = reasoner(kg)
    t = r.lookup(s, p, o)
    if t is None or t not in r.engine.facts:
        return Explanation(str(s), str(p), str(o), NOT_ENTAILED)
    result = explain_encoded(kg, r, t)
    if all_derivations and result.status == DERIVED:
        result.derivations = _all_derivations(kg, r, t)
    return result
