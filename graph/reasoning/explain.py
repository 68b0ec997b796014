"""Why a triple holds: its derivation tree down to asserted triples and their seed quotes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import pyoxigraph as ox

from karabakh_kg.graph.dataset import ASSERTED as ASSERTED_GRAPH
from karabakh_kg.graph.dataset import DERIVATIONS, PROVENANCE, SYSTEM_GRAPHS
from karabakh_kg.graph.dataset import ONTOLOGY as ONTOLOGY_GRAPH
from karabakh_kg.graph.prefixes import shorten
from karabakh_kg.graph.reasoning import Reasoner, reasoner
from karabakh_kg.graph.reasoning.blank_labels import BlankLabels
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
    names = [str(q.graph_name) for q in kg.store.quads_for_pattern(s, p, o, None)]
    return evidence_in(kg.store, evidence_graphs(names))


def evidence_graphs(names: Iterable[str]) -> list[str]:
    """The evidence units among the graphs (N-Triples names) that hold a triple."""
    return sorted(
        {n for n in names if not is_perspective_graph(n[1:-1] if n.startswith("<") else n)}
        - {f"<{g}>" for g in SYSTEM}
    )


def evidence_in(store: ox.Store, graphs: Iterable[str]) -> list[Evidence]:
    """The evidence units ``graphs`` (N-Triples names) as the provenance graph of ``store``
    describes them: quote, line, stance and who says it."""
    found: list[Evidence] = []
    for name in graphs:
        node = ox.NamedNode(name[1:-1]) if name.startswith("<") else ox.BlankNode(name[2:])
        quote = _first(store, node, PROV + "value")
        line = _first(store, node, KGO + "line")
        stance = _first(store, node, KGO + "stance")
        who = [
            str(q.object)
            for q in store.quads_for_pattern(
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
        ex.status = DERIVED
        ex.rule = r.rule_id(rule_index)
        ex.rule_label = r.rule_label(rule_index)
        ex.hidden = t not in r.output
        ex.premises = [explain_encoded(kg, r, x, memo) for x in _premises(r, rule_index, body)]
    return ex


def _premises(r: Reasoner, rule_index: int, body: Iterable[Triple]) -> list[Triple]:
    """The premises of one rule instance: its body, then the rule's axioms, once each."""
    return list(dict.fromkeys([*body, *r.engine.rules[rule_index].axioms]))


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
    memo: dict[Triple, Explanation] = {}
    out: list[Explanation] = []
    for rule_index, premises in _one_step(r, t):
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


def _one_step(r: Reasoner, t: Triple) -> list[tuple[int, list[Triple]]]:
    """The one-step derivations of ``t`` (see :func:`_all_derivations`): rule and premises."""
    engine = r.engine
    recorded = engine.derivations.get(t)
    found = list(dict.fromkeys([*([recorded] if recorded else []), *engine.instances(t, set())]))
    out = []
    for rule_index, body in found:
        premises = _premises(r, rule_index, body)
        if not any(t in _support(r, x) for x in premises):
            out.append((rule_index, premises))
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


# -- explanations over an engine: the derivations recorded at publish --------------------

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RECORDS = vocab.BASE + "derivation/"
"""Namespace of the derivation records (one IRI per derived triple, from its digest)."""
RECORD_VALUE = ox.NamedNode(RDF + "value")
RECORD_TYPE = ox.NamedNode(RDF + "JSON")
TextTriple = tuple[str, str, str]
"""A triple as the N-Triples texts of its terms (how explanations name terms)."""


def triple_text(t: Iterable[str]) -> str:
    """One line naming a triple (its terms' N-Triples texts, space-separated)."""
    return " ".join(t)


def record_iri(t: Iterable[str]) -> str:
    """The IRI of the derivation record of the triple ``t`` (a digest of its text, so a
    reader finds the record of any triple without a search)."""
    return RECORDS + hashlib.sha256(triple_text(t).encode()).hexdigest()[:40]


@dataclass
class Recorded:
    """The recorded derivation of one derived triple, as :func:`derivation_records` writes
    it: its rule, its premises (in order) and whether the noise policy withholds it;
    ``others``: its other one-step derivations (as ``all=true`` lists them after the
    recorded one). For an asserted or ontology triple with a blank node (which no query
    can name), no rule: ``graphs``, the graphs (N-Triples names) holding it."""

    triple: TextTriple
    rule: str | None = None
    label: str | None = None
    premises: list[TextTriple] = field(default_factory=list)
    withheld: bool = False
    others: list[tuple[str, str, list[TextTriple]]] = field(default_factory=list)
    graphs: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        data: dict[str, Any] = {"triple": list(self.triple)}
        if self.rule is not None:
            data["rule"], data["label"] = self.rule, self.label
            data["premises"] = [list(p) for p in self.premises]
        if self.withheld:
            data["withheld"] = True
        if self.others:
            data["others"] = [[r, lab, [list(p) for p in ps]] for r, lab, ps in self.others]
        if self.graphs:
            data["graphs"] = self.graphs
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Recorded:
        data = json.loads(text)

        def triples(items: list[list[str]]) -> list[TextTriple]:
            return [(a, b, c) for a, b, c in items]

        return cls(
            triple=tuple(data["triple"]),
            rule=data.get("rule"),
            label=data.get("label"),
            premises=triples(data.get("premises", [])),
            withheld=bool(data.get("withheld")),
            others=[(r, lab, triples(ps)) for r, lab, ps in data.get("others", [])],
            graphs=list(data.get("graphs", [])),
        )


def _has_blank(t: Iterable[str]) -> bool:
    return any(term.startswith("_:") for term in t)


def derivation_records(kg: KnowledgeGraph) -> list[ox.Triple]:
    """The graph :data:`~karabakh_kg.graph.dataset.DERIVATIONS` for ``kg``: for each
    derived triple, one ``rdf:value`` of its :class:`Recorded` derivation (JSON, the
    terms in N-Triples text, blank nodes by their :class:`BlankLabels`), the same the
    reasoner's explanations follow; for each asserted or ontology triple with a blank
    node, the graphs holding it. Empty without a reasoner (a graph loaded unreasoned).

    One literal per triple, not a node per premise: the records cost one triple per
    derived triple, and an explanation reads them with one query per level of its tree."""
    r = kg.views.reasoner
    if r is None:
        return []
    engine = r.engine

    labels = BlankLabels(kg.store)

    def text(x: Triple) -> TextTriple:
        s, p, o = r.decode(x)
        return labels.text(s), str(p), labels.text(o)

    records = []
    for t in engine.base:
        named = text(t)
        if _has_blank(named):
            s, p, o = r.decode(t)
            holding = {str(q.graph_name) for q in kg.store.quads_for_pattern(s, p, o, None)}
            records.append(Recorded(triple=named, graphs=sorted(holding)))
    for t, (rule_index, body) in engine.derivations.items():
        if t in engine.base:
            continue
        steps = _one_step(r, t)
        premises = _premises(r, rule_index, body)
        recorded = Recorded(
            triple=text(t),
            rule=r.rule_id(rule_index),
            label=r.rule_label(rule_index),
            premises=[text(x) for x in premises],
            withheld=t not in r.output,
            others=[
                (r.rule_id(i), r.rule_label(i), [text(x) for x in ps])
                for i, ps in steps
                if (i, ps) != (rule_index, premises)
            ],
        )
        records.append(recorded)
    return [
        ox.Triple(
            ox.NamedNode(record_iri(record.triple)),
            RECORD_VALUE,
            ox.Literal(record.to_json(), datatype=RECORD_TYPE),
        )
        for record in records
    ]


def derivation_graph(kg: KnowledgeGraph) -> dict[str, list[ox.Triple]]:
    """The derivation graph's name and triples (:func:`derivation_records`), for publish;
    none when ``kg`` has no reasoner."""
    records = derivation_records(kg)
    return {DERIVATIONS.value: records} if records else {}


class RecordSource(Protocol):
    """Where :func:`explain_recorded` reads: the derivation records, the graphs holding
    triples, and the provenance of evidence units (an engine, in bounded queries)."""

    def records(self, triples: list[TextTriple]) -> dict[str, Recorded]:
        """The records of those of ``triples`` that have one, by :func:`triple_text`."""
        ...

    def graphs(self, triples: list[TextTriple]) -> dict[str, list[str]]:
        """The graphs (N-Triples names) holding each of ``triples``, by its text."""
        ...

    def described(self, units: list[str]) -> ox.Store:
        """A store holding what the provenance graph says about ``units``."""
        ...


class TooLarge(Exception):
    """An explanation naming more than its bound of triples."""


def explain_recorded(
    source: RecordSource,
    subject: Term,
    predicate: Term,
    obj: Term,
    *,
    all_derivations: bool = False,
    limit: int = 10_000,
    described: Callable[[ox.Store], None] | None = None,
) -> Explanation:
    """:func:`explain` over what :func:`derivation_records` published, read from
    ``source`` level by level of the tree (at most ``limit`` triples, else
    :class:`TooLarge`): the same explanation, down to the quotes. ``described`` is given
    the store of the evidence units' provenance (for pages that show more of it)."""
    top: TextTriple = (str(subject), str(predicate), str(obj))
    records: dict[str, Recorded] = {}
    graphs: dict[str, list[str]] = {}
    seen = {triple_text(top)}
    frontier = [top]
    while frontier:
        found = source.records(frontier)
        records.update(found)
        following: list[TextTriple] = []
        asked: list[TextTriple] = []
        for t in frontier:
            record = found.get(triple_text(t))
            if record is None or record.rule is None:
                if record is not None:
                    graphs[triple_text(t)] = record.graphs
                elif not _has_blank(t):
                    asked.append(t)
                continue
            groups = [record.premises]
            if all_derivations and t == top:
                groups += [premises for _, _, premises in record.others]
            for x in (x for group in groups for x in group):
                if triple_text(x) not in seen:
                    seen.add(triple_text(x))
                    following.append(x)
        if len(seen) > limit:
            raise TooLarge(f"the explanation names more than {limit} triples")
        graphs.update(source.graphs(asked))
        frontier = following
    base = {ASSERTED_GRAPH, ONTOLOGY_GRAPH}
    base_names = {f"<{g.value}>" for g in base}
    units = sorted({u for names in graphs.values() for u in evidence_graphs(names)})
    store = source.described(units)
    if described is not None:
        described(store)

    def build(t: TextTriple, memo: dict[str, Explanation]) -> Explanation:
        key = triple_text(t)
        if key in memo:
            return memo[key]
        ex = memo[key] = Explanation(*t, NOT_ENTAILED)
        record = records.get(key)
        names = graphs.get(key, [])
        if (record is None or record.rule is None) and base_names & set(names):
            ex.evidence = evidence_in(store, evidence_graphs(names))
            in_ontology = f"<{ONTOLOGY_GRAPH.value}>" in names
            ex.status = ONTOLOGY if in_ontology and not ex.evidence else ASSERTED
        elif record is not None and record.rule is not None:
            ex.status, ex.rule, ex.rule_label = DERIVED, record.rule, record.label
            ex.hidden = record.withheld
            ex.premises = [build(x, memo) for x in record.premises]
        return ex

    result = build(top, {})
    record = records.get(triple_text(top))
    if all_derivations and record is not None and record.rule is not None:
        memo: dict[str, Explanation] = {}
        steps = [(record.rule, record.label or "", record.premises), *record.others]
        result.derivations = [
            Explanation(
                *top,
                DERIVED,
                rule=rule,
                rule_label=label,
                premises=[build(x, memo) for x in premises],
                hidden=record.withheld,
            )
            for rule, label, premises in steps
        ]
    return result
