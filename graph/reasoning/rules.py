"""Compile the ontology's OWL 2 RL axioms and the SPARQL domain rules into engine rules.

The OWL 2 RL rules (W3C OWL 2 Profiles, section 4.3) are instantiated once per axiom found in
the data, with the schema terms as constants: ``kgo:Meeting rdfs:subClassOf kgo:Event`` becomes
``?x a kgo:Meeting -> ?x a kgo:Event`` (``cax-sco``). Only the axiom kinds present produce
rules, so the engine never pays for what the ontology does not use. Rule ids are the W3C names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from karabakh_kg.graph.reasoning.engine import Rule, TermTable, Triple
from karabakh_kg.graph.reasoning.rule_shapes import Shape, cached_shape
from karabakh_kg.ontology import vocab

if TYPE_CHECKING:
    from rdflib.plugins.sparql.parserutils import CompValue

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SH = "http://www.w3.org/ns/shacl#"
BUILTIN_NAMESPACES = (RDF, RDFS, OWL, XSD)

X, Y, Z = -1, -2, -3

SCHEMA_PREDICATES = (
    {RDFS + name for name in ("subClassOf", "subPropertyOf", "domain", "range")}
    | {
        OWL + name
        for name in (
            "equivalentClass",
            "equivalentProperty",
            "inverseOf",
            "propertyChainAxiom",
            "disjointWith",
            "propertyDisjointWith",
            "onProperty",
            "hasValue",
            "someValuesFrom",
            "allValuesFrom",
            "intersectionOf",
            "unionOf",
            "members",
            "complementOf",
        )
    }
    | {RDF + "first", RDF + "rest"}
)
"""Predicates whose triples change the compiled rules (an update with them recompiles)."""

SCHEMA_TYPES = {
    OWL + name
    for name in (
        "TransitiveProperty",
        "SymmetricProperty",
        "FunctionalProperty",
        "InverseFunctionalProperty",
        "IrreflexiveProperty",
        "AsymmetricProperty",
        "AllDisjointClasses",
        "AllDisjointProperties",
        "Restriction",
    )
}
"""Classes whose membership changes the compiled rules."""

RULE_LABELS = {
    "cax-sco": "sub-class: a member of a class is a member of its super-class",
    "cax-eqc1": "equivalent classes share their members",
    "cax-eqc2": "equivalent classes share their members",
    "prp-spo1": "sub-property: a relation implies its super-property",
    "prp-spo2": "property chain: the chain of relations implies the chained property",
    "prp-eqp1": "equivalent properties hold together",
    "prp-eqp2": "equivalent properties hold together",
    "prp-dom": "domain: the subject of the property is a member of its domain",
    "prp-rng": "range: the object of the property is a member of its range",
    "prp-inv1": "inverse properties: the relation read backwards",
    "prp-inv2": "inverse properties: the relation read backwards",
    "prp-symp": "symmetric property: the relation holds both ways",
    "prp-trp": "transitive property: two steps make one",
    "prp-fp": "functional property: two values are the same individual",
    "prp-ifp": "inverse-functional property: two subjects are the same individual",
    "eq-sym": "sameAs is symmetric",
    "eq-trans": "sameAs is transitive",
    "eq-rep-s": "same individuals share their statements (subject)",
    "eq-rep-p": "same properties share their statements",
    "eq-rep-o": "same individuals share their statements (object)",
    "cls-hv1": "hasValue restriction: members have the value",
    "cls-hv2": "hasValue restriction: having the value makes a member",
    "cls-svf1": "someValuesFrom restriction: a related member makes a member",
    "cls-svf2": "someValuesFrom owl:Thing: any relation makes a member",
    "cls-avf": "allValuesFrom restriction: related individuals are in the class",
    "cls-int1": "intersection: members of every part are members",
    "cls-int2": "intersection: members are members of every part",
    "cls-uni": "union: members of a part are members",
}


@dataclass(frozen=True)
class Constraint:
    """A consistency rule: any instance of ``rule.body`` is a contradiction."""

    rule: Rule
    message: str


@dataclass(frozen=True)
class DomainRule:
    """One SHACL-AF ``sh:SPARQLRule`` of ``rules.ttl``."""

    iri: str
    label: str
    comment: str
    construct: str


class RuleError(ValueError):
    """A domain rule outside the supported form (BGP + FILTER, no new nodes)."""


def iri(text: str) -> ox.NamedNode:
    """A pyoxigraph IRI."""
    return ox.NamedNode(text)


class Schema:
    """Read-only look-ups over the encoded triples that may hold axioms."""

    def __init__(self, table: TermTable, triples: Iterable[Triple]) -> None:
        self.table = table
        wanted = {table.encode(iri(p)) for p in SCHEMA_PREDICATES | {RDF + "type", OWL + "sameAs"}}
        type_id = table.encode(iri(RDF + "type"))
        # of the types, only those to a class of the vocabularies (owl:TransitiveProperty
        # ...) can be axioms: the instances' types would be held through the whole closure
        vocabulary = {
            number
            for number, term in enumerate(table.terms)
            if isinstance(term, ox.NamedNode) and term.value.startswith(BUILTIN_NAMESPACES)
        }
        self.by_pred: dict[int, list[tuple[int, int]]] = {p: [] for p in wanted}
        for s, p, o in triples:
            if p in wanted and (p != type_id or o in vocabulary):
                self.by_pred[p].append((s, o))
        self.first = dict(self.pairs(RDF + "first"))
        self.rest = dict(self.pairs(RDF + "rest"))
        self.nil = table.encode(iri(RDF + "nil"))

    def id(self, text: str) -> int:
        """The id of the IRI ``text``."""
        return self.table.encode(iri(text))

    def pairs(self, predicate: str) -> list[tuple[int, int]]:
        """Every (subject, object) of ``predicate``."""
        return self.by_pred.get(self.id(predicate), [])

    def typed(self, cls: str) -> list[int]:
        """Subjects typed ``cls``, a class of the rdf, rdfs, owl or xsd vocabularies."""
        c = self.id(cls)
        return [s for s, o in self.pairs(RDF + "type") if o == c]

    def objects(self, s: int, predicate: str) -> list[int]:
        """Objects of ``s predicate``."""
        return [o for x, o in self.pairs(predicate) if x == s]

    def items(self, node: int) -> list[int] | None:
        """The members of the RDF list at ``node`` (None if malformed)."""
        out: list[int] = []
        seen: set[int] = set()
        while node != self.nil:
            if node in seen or node not in self.first or node not in self.rest:
                return None
            seen.add(node)
            out.append(self.first[node])
            node = self.rest[node]
        return out


def compile_owl(schema: Schema) -> tuple[list[Rule], list[Constraint]]:
    """The OWL 2 RL rules and consistency rules for the axioms in ``schema``."""
    sid = schema.id
    type_ = sid(RDF + "type")
    same = sid(OWL + "sameAs")
    thing = sid(OWL + "Thing")
    rules: list[Rule] = []
    constraints: list[Constraint] = []

    def add(
        rule_id: str,
        body: Sequence[Triple],
        head: Sequence[Triple],
        axiom: Triple,
        filters: Sequence[tuple[str, int, int]] = (),
    ) -> None:
        rules.append(Rule(rule_id, tuple(body), tuple(head), tuple(filters), (axiom,)))

    for c, d in schema.pairs(RDFS + "subClassOf"):
        if c != d and d != thing:
            add("cax-sco", [(X, type_, c)], [(X, type_, d)], (c, sid(RDFS + "subClassOf"), d))
    for c, d in schema.pairs(OWL + "equivalentClass"):
        ax = (c, sid(OWL + "equivalentClass"), d)
        if c != d:
            add("cax-eqc1", [(X, type_, c)], [(X, type_, d)], ax)
            add("cax-eqc2", [(X, type_, d)], [(X, type_, c)], ax)
    for p, q in schema.pairs(RDFS + "subPropertyOf"):
        if p != q:
            add("prp-spo1", [(X, p, Y)], [(X, q, Y)], (p, sid(RDFS + "subPropertyOf"), q))
    for p, q in schema.pairs(OWL + "equivalentProperty"):
        ax = (p, sid(OWL + "equivalentProperty"), q)
        if p != q:
            add("prp-eqp1", [(X, p, Y)], [(X, q, Y)], ax)
            add("prp-eqp2", [(X, q, Y)], [(X, p, Y)], ax)
    for p, c in schema.pairs(RDFS + "domain"):
        if c != thing:
            add("prp-dom", [(X, p, Y)], [(X, type_, c)], (p, sid(RDFS + "domain"), c))
    for p, c in schema.pairs(RDFS + "range"):
        if c != thing:
            add("prp-rng", [(X, p, Y)], [(Y, type_, c)], (p, sid(RDFS + "range"), c))
    for p, q in schema.pairs(OWL + "inverseOf"):
        ax = (p, sid(OWL + "inverseOf"), q)
        add("prp-inv1", [(X, p, Y)], [(Y, q, X)], ax)
        add("prp-inv2", [(X, q, Y)], [(Y, p, X)], ax)
    for p in schema.typed(OWL + "SymmetricProperty"):
        add("prp-symp", [(X, p, Y)], [(Y, p, X)], (p, type_, sid(OWL + "SymmetricProperty")))
    for p in schema.typed(OWL + "TransitiveProperty"):
        ax = (p, type_, sid(OWL + "TransitiveProperty"))
        add("prp-trp", [(X, p, Y), (Y, p, Z)], [(X, p, Z)], ax)
    for q, node in schema.pairs(OWL + "propertyChainAxiom"):
        chain = schema.items(node)
        if not chain:
            continue
        body = [(-1 - i, p, -2 - i) for i, p in enumerate(chain)]
        head = [(-1, q, -1 - len(chain))]
        add("prp-spo2", body, head, (q, sid(OWL + "propertyChainAxiom"), node))
    functional = schema.typed(OWL + "FunctionalProperty")
    inverse_functional = schema.typed(OWL + "InverseFunctionalProperty")
    datatype_properties = set(schema.typed(OWL + "DatatypeProperty"))
    for p in functional:
        if p in datatype_properties:
            continue  # it could only equate literals: a contradiction, reported below
        ax = (p, type_, sid(OWL + "FunctionalProperty"))
        add("prp-fp", [(X, p, Y), (X, p, Z)], [(Y, same, Z)], ax, [("!=", Y, Z)])
    for p in inverse_functional:
        ax = (p, type_, sid(OWL + "InverseFunctionalProperty"))
        add("prp-ifp", [(X, p, Z), (Y, p, Z)], [(X, same, Y)], ax, [("!=", X, Y)])
    for r, p in schema.pairs(OWL + "onProperty"):
        for v in schema.objects(r, OWL + "hasValue"):
            ax = (r, sid(OWL + "hasValue"), v)
            add("cls-hv1", [(X, type_, r)], [(X, p, v)], ax)
            add("cls-hv2", [(X, p, v)], [(X, type_, r)], ax)
        for d in schema.objects(r, OWL + "someValuesFrom"):
            ax = (r, sid(OWL + "someValuesFrom"), d)
            if d == thing:
                add("cls-svf2", [(X, p, Y)], [(X, type_, r)], ax)
            else:
                add("cls-svf1", [(X, p, Y), (Y, type_, d)], [(X, type_, r)], ax)
        for d in schema.objects(r, OWL + "allValuesFrom"):
            ax = (r, sid(OWL + "allValuesFrom"), d)
            add("cls-avf", [(X, type_, r), (X, p, Y)], [(Y, type_, d)], ax)
    for c, node in schema.pairs(OWL + "intersectionOf"):
        parts = schema.items(node) or []
        ax = (c, sid(OWL + "intersectionOf"), node)
        if parts:
            add("cls-int1", [(X, type_, part) for part in parts], [(X, type_, c)], ax)
        for part in parts:
            add("cls-int2", [(X, type_, c)], [(X, type_, part)], ax)
    for c, node in schema.pairs(OWL + "unionOf"):
        ax = (c, sid(OWL + "unionOf"), node)
        for part in schema.items(node) or []:
            add("cls-uni", [(X, type_, part)], [(X, type_, c)], ax)
    if any(r.rule_id in ("prp-fp", "prp-ifp") for r in rules) or schema.pairs(OWL + "sameAs"):
        ax = (same, type_, sid(OWL + "SymmetricProperty"))
        for rule_id, body, head in (
            ("eq-sym", [(X, same, Y)], [(Y, same, X)]),
            ("eq-trans", [(X, same, Y), (Y, same, Z)], [(X, same, Z)]),
            ("eq-rep-s", [(X, same, Y), (X, -4, Z)], [(Y, -4, Z)]),
            ("eq-rep-p", [(X, same, Y), (-5, X, Z)], [(-5, Y, Z)]),
            ("eq-rep-o", [(X, same, Y), (-5, -4, X)], [(-5, -4, Y)]),
        ):
            rules.append(Rule(rule_id, tuple(body), tuple(head), (), ()))
        del ax

    def constraint(
        rule_id: str,
        body: Sequence[Triple],
        axiom: Triple,
        message: str,
        filters: Sequence[tuple[str, int, int]] = (),
    ) -> None:
        rule = Rule(rule_id, tuple(body), (), tuple(filters), (axiom,))
        constraints.append(Constraint(rule, message))

    for c, d in schema.pairs(OWL + "disjointWith"):
        constraint(
            "cax-dw",
            [(X, type_, c), (X, type_, d)],
            (c, sid(OWL + "disjointWith"), d),
            "a member of two disjoint classes",
        )
    for node in schema.typed(OWL + "AllDisjointClasses"):
        for list_node in schema.objects(node, OWL + "members"):
            members = schema.items(list_node) or []
            for i, c in enumerate(members):
                for d in members[i + 1 :]:
                    constraint(
                        "cax-adc",
                        [(X, type_, c), (X, type_, d)],
                        (node, sid(OWL + "members"), list_node),
                        "a member of two disjoint classes",
                    )
    nothing = sid(OWL + "Nothing")
    constraint(
        "cls-nothing2",
        [(X, type_, nothing)],
        (nothing, type_, sid(OWL + "Class")),
        "a member of owl:Nothing",
    )
    for p in schema.typed(OWL + "IrreflexiveProperty"):
        constraint(
            "prp-irp",
            [(X, p, X)],
            (p, type_, sid(OWL + "IrreflexiveProperty")),
            "an irreflexive property relates a resource to itself",
        )
    for p in schema.typed(OWL + "AsymmetricProperty"):
        constraint(
            "prp-asyp",
            [(X, p, Y), (Y, p, X)],
            (p, type_, sid(OWL + "AsymmetricProperty")),
            "an asymmetric property holds both ways",
        )
    for p, q in schema.pairs(OWL + "propertyDisjointWith"):
        constraint(
            "prp-pdw",
            [(X, p, Y), (X, q, Y)],
            (p, sid(OWL + "propertyDisjointWith"), q),
            "two disjoint properties relate the same pair",
        )
    for p in functional:
        # OWL would equate the two values; curated names denote distinct things, so say so.
        constraint(
            "prp-fp",
            [(X, p, Y), (X, p, Z)],
            (p, type_, sid(OWL + "FunctionalProperty")),
            "a functional property has two different values",
            [("!=", Y, Z)],
        )
    return rules, constraints


# -- domain rules -----------------------------------------------------------------------


def read_domain_rules(quads: Iterable[ox.Quad]) -> list[DomainRule]:
    """The ``sh:SPARQLRule`` resources among ``quads``, in IRI order."""
    by_subject: dict[str, dict[str, str]] = {}
    rule_nodes: set[str] = set()
    for q in quads:
        s = str(q.subject)
        pred = q.predicate.value
        if pred == RDF + "type" and q.object == iri(SH + "SPARQLRule"):
            rule_nodes.add(s)
        elif pred in (SH + "construct", RDFS + "label", RDFS + "comment"):
            by_subject.setdefault(s, {})[pred] = str(getattr(q.object, "value", q.object))
    out = []
    for node in sorted(rule_nodes):
        fields = by_subject.get(node, {})
        if SH + "construct" not in fields:
            raise RuleError(f"rule {node} has no sh:construct")
        out.append(
            DomainRule(
                iri=node.strip("<>"),
                label=fields.get(RDFS + "label", node),
                comment=fields.get(RDFS + "comment", ""),
                construct=fields[SH + "construct"],
            )
        )
    return out


def _constant(term: object) -> list[str]:
    """A constant of a rule as its shape holds it (see :mod:`.rule_shapes`)."""
    from rdflib import Literal, URIRef

    if isinstance(term, URIRef):
        return ["iri", str(term)]
    if isinstance(term, Literal):
        datatype = "" if term.language or term.datatype is None else str(term.datatype)
        return ["literal", str(term), datatype, term.language or ""]
    raise RuleError(f"unsupported term {term!r} (blank nodes cannot appear in rules)")


def _to_ox(constant: list[str]) -> ox.NamedNode | ox.Literal:
    if constant[0] == "iri":
        return ox.NamedNode(constant[1])
    _, value, datatype, language = constant
    if language:
        return ox.Literal(value, language=language)
    if datatype:
        return ox.Literal(value, datatype=ox.NamedNode(datatype))
    return ox.Literal(value)


def compile_domain_rule(rule: DomainRule, table: TermTable) -> Rule:
    """Translate one CONSTRUCT (BGP + FILTER) into an engine rule; raise :class:`RuleError`.

    The parse (:func:`parse_domain_rule`, with rdflib) is kept on disk by
    :mod:`.rule_shapes`: parsing dominated the cost of reasoning over a small graph, and
    only numbering the constants depends on the reasoner.
    """
    shape = cached_shape(vocab.sparql_prefixes() + rule.construct, lambda: parse_domain_rule(rule))

    def term(x: Any) -> int:
        if isinstance(x, int):
            return x
        value = _to_ox(x)
        return table.encode(value, literal=isinstance(value, ox.Literal))

    def triples(key: str) -> tuple[Triple, ...]:
        return tuple((term(s), term(p), term(o)) for s, p, o in shape[key])

    filters = tuple((str(op), term(a), term(b)) for op, a, b in shape["filters"])
    return Rule(rule.iri, triples("body"), triples("head"), filters, ())


def parse_domain_rule(rule: DomainRule) -> Shape:
    """Parse one CONSTRUCT (BGP + FILTER) into its shape; raise :class:`RuleError`."""
    from rdflib import BNode, Variable
    from rdflib.plugins.sparql import prepareQuery

    name = rule.label
    try:
        algebra = prepareQuery(vocab.sparql_prefixes() + rule.construct).algebra
    except Exception as error:  # the SPARQL parser raises many types
        raise RuleError(f"rule {name!r}: cannot parse its CONSTRUCT: {error}") from None
    if algebra.name != "ConstructQuery":
        raise RuleError(f"rule {name!r}: sh:construct must be a CONSTRUCT query")
    variables: dict[str, int] = {}

    def term(x: object) -> int | list[str]:
        if isinstance(x, Variable):
            return variables.setdefault(str(x), -1 - len(variables))
        if isinstance(x, BNode):
            raise RuleError(f"rule {name!r}: blank nodes are not allowed (they would mint nodes)")
        return _constant(x)

    body: list[list[Any]] = []
    filters: list[list[Any]] = []

    def walk(node: CompValue) -> None:
        if node.name in ("Project", "Distinct", "Reduced"):
            walk(node.p)
        elif node.name == "Filter":
            collect_filter(node.expr)
            walk(node.p)
        elif node.name == "BGP":
            body.extend([term(s), term(p), term(o)] for s, p, o in node.triples)
        elif node.name == "Join":
            walk(node.p1)
            walk(node.p2)
        else:
            raise RuleError(
                f"rule {name!r}: only basic graph patterns and FILTER are allowed, not {node.name}"
            )

    def collect_filter(expr: CompValue) -> None:
        if getattr(expr, "name", None) == "ConditionalAndExpression":
            collect_filter(expr.expr)
            for other in expr.other:
                collect_filter(other)
        elif getattr(expr, "name", None) == "RelationalExpression" and expr.op in ("!=", "="):
            filters.append([str(expr.op), term(expr.expr), term(expr.other)])
        else:
            raise RuleError(f"rule {name!r}: FILTER may only compare terms with = or != (and &&)")

    walk(algebra.p)
    head: list[list[Any]] = []
    for s, p, o in algebra.template:
        for x in (s, p, o):
            if isinstance(x, Variable) and str(x) not in variables:
                raise RuleError(f"rule {name!r}: ?{x} in CONSTRUCT is not bound by WHERE")
        head.append([term(s), term(p), term(o)])
    if not body:
        raise RuleError(f"rule {name!r}: empty WHERE")
    return {"body": body, "head": head, "filters": filters}
