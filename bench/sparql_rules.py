"""Baseline reasoner: generic OWL 2 RL rules as SPARQL INSERT, run naively to a fixpoint.

The OWL 2 RL rules (W3C OWL 2 Profiles, section 4.3) for the axiom kinds our reasoner
supports, written once with the schema as variables (``?c rdfs:subClassOf ?d . ?x a ?c``),
plus the domain rules of ``rules.ttl`` (their CONSTRUCT turned into INSERT). Every round runs
every rule over the whole pyoxigraph store; rounds repeat until one adds nothing. This is the
straightforward way to reason with a SPARQL store, measured in ``bench/reasoning.py`` as a
baseline for ours.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox

PREFIXES = """PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
"""

NOT_LITERAL = "FILTER(!isLiteral(?y))"

OWL_RL: dict[str, str] = {
    "cax-sco": "INSERT { ?x a ?d } WHERE { ?c rdfs:subClassOf ?d . ?x a ?c }",
    "cax-eqc1": "INSERT { ?x a ?d } WHERE { ?c owl:equivalentClass ?d . ?x a ?c }",
    "cax-eqc2": "INSERT { ?x a ?c } WHERE { ?c owl:equivalentClass ?d . ?x a ?d }",
    "prp-spo1": "INSERT { ?x ?q ?y } WHERE { ?p rdfs:subPropertyOf ?q . ?x ?p ?y }",
    "prp-eqp1": "INSERT { ?x ?q ?y } WHERE { ?p owl:equivalentProperty ?q . ?x ?p ?y }",
    "prp-eqp2": "INSERT { ?x ?p ?y } WHERE { ?p owl:equivalentProperty ?q . ?x ?q ?y }",
    "prp-dom": "INSERT { ?x a ?c } WHERE { ?p rdfs:domain ?c . ?x ?p ?y }",
    "prp-rng": f"INSERT {{ ?y a ?c }} WHERE {{ ?p rdfs:range ?c . ?x ?p ?y {NOT_LITERAL} }}",
    "prp-inv1": f"INSERT {{ ?y ?q ?x }} WHERE {{ ?p owl:inverseOf ?q . ?x ?p ?y {NOT_LITERAL} }}",
    "prp-inv2": f"INSERT {{ ?y ?p ?x }} WHERE {{ ?p owl:inverseOf ?q . ?x ?q ?y {NOT_LITERAL} }}",
    "prp-symp": (
        f"INSERT {{ ?y ?p ?x }} WHERE {{ ?p a owl:SymmetricProperty . ?x ?p ?y {NOT_LITERAL} }}"
    ),
    "prp-trp": "INSERT { ?x ?p ?z } WHERE { ?p a owl:TransitiveProperty . ?x ?p ?y . ?y ?p ?z }",
    "prp-spo2 (2)": """INSERT { ?x ?q ?z } WHERE {
        ?q owl:propertyChainAxiom ?l . ?l rdf:first ?p1 ; rdf:rest ?l2 .
        ?l2 rdf:first ?p2 ; rdf:rest rdf:nil .
        ?x ?p1 ?y . ?y ?p2 ?z }""",
    "prp-spo2 (3)": """INSERT { ?x ?q ?z } WHERE {
        ?q owl:propertyChainAxiom ?l . ?l rdf:first ?p1 ; rdf:rest ?l2 .
        ?l2 rdf:first ?p2 ; rdf:rest ?l3 . ?l3 rdf:first ?p3 ; rdf:rest rdf:nil .
        ?x ?p1 ?y . ?y ?p2 ?w . ?w ?p3 ?z }""",
    "prp-fp": """INSERT { ?y owl:sameAs ?z } WHERE {
        ?p a owl:FunctionalProperty . ?x ?p ?y , ?z .
        FILTER(?y != ?z && !isLiteral(?y) && !isLiteral(?z)) }""",
    "prp-ifp": """INSERT { ?x owl:sameAs ?y } WHERE {
        ?p a owl:InverseFunctionalProperty . ?x ?p ?z . ?y ?p ?z . FILTER(?x != ?y) }""",
    "eq-sym": "INSERT { ?y owl:sameAs ?x } WHERE { ?x owl:sameAs ?y }",
    "eq-trans": """INSERT { ?x owl:sameAs ?z } WHERE {
        ?x owl:sameAs ?y . ?y owl:sameAs ?z . FILTER(?x != ?z) }""",
    "eq-rep-s": "INSERT { ?y ?p ?o } WHERE { ?x owl:sameAs ?y . ?x ?p ?o }",
    "eq-rep-p": "INSERT { ?s ?y ?o } WHERE { ?x owl:sameAs ?y . ?s ?x ?o }",
    "eq-rep-o": "INSERT { ?s ?p ?y } WHERE { ?x owl:sameAs ?y . ?s ?p ?x }",
    "cls-hv1": "INSERT { ?x ?p ?v } WHERE { ?r owl:hasValue ?v ; owl:onProperty ?p . ?x a ?r }",
    "cls-hv2": "INSERT { ?x a ?r } WHERE { ?r owl:hasValue ?v ; owl:onProperty ?p . ?x ?p ?v }",
    "cls-svf1": """INSERT { ?x a ?r } WHERE {
        ?r owl:someValuesFrom ?d ; owl:onProperty ?p . ?x ?p ?y . ?y a ?d }""",
    "cls-svf2": """INSERT { ?x a ?r } WHERE {
        ?r owl:someValuesFrom owl:Thing ; owl:onProperty ?p . ?x ?p ?y }""",
    "cls-avf": f"""INSERT {{ ?y a ?d }} WHERE {{
        ?r owl:allValuesFrom ?d ; owl:onProperty ?p . ?x a ?r ; ?p ?y {NOT_LITERAL} }}""",
    "cls-int1": """INSERT { ?x a ?c } WHERE {
        ?c owl:intersectionOf ?l . ?l rdf:first ?c1 . ?x a ?c1 .
        FILTER NOT EXISTS { ?l rdf:rest*/rdf:first ?ci . FILTER NOT EXISTS { ?x a ?ci } } }""",
    "cls-int2": """INSERT { ?x a ?ci } WHERE {
        ?c owl:intersectionOf ?l . ?l rdf:rest*/rdf:first ?ci . ?x a ?c }""",
    "cls-uni": """INSERT { ?x a ?c } WHERE {
        ?c owl:unionOf ?l . ?l rdf:rest*/rdf:first ?ci . ?x a ?ci }""",
}
"""The OWL 2 RL rules of the axiom kinds :mod:`karabakh_kg.graph.reasoning.rules` compiles."""


def domain_rules(quads: Iterable[ox.Quad]) -> dict[str, str]:
    """The ``sh:SPARQLRule``s among ``quads`` as SPARQL INSERT updates."""
    from karabakh_kg.graph.reasoning.rules import read_domain_rules
    from karabakh_kg.ontology import vocab

    out = {}
    for rule in read_domain_rules(quads):
        text = rule.construct.strip()
        assert text.upper().startswith("CONSTRUCT"), rule.iri
        out[rule.iri] = vocab.sparql_prefixes() + "INSERT" + text[len("CONSTRUCT") :]
    return out


@dataclass
class FixpointReport:
    """What the naive fixpoint did."""

    rounds: int
    seconds: float
    triples: int


def fixpoint(store: ox.Store, rules: dict[str, str]) -> FixpointReport:
    """Run every rule over ``store``'s default graph until a whole round adds nothing."""
    start = time.perf_counter()
    prepared = [text if "PREFIX" in text else PREFIXES + text for text in rules.values()]
    size = len(store)
    rounds = 0
    while True:
        rounds += 1
        for update in prepared:
            store.update(update)
        now = len(store)
        if now == size:
            break
        size = now
    return FixpointReport(rounds=rounds, seconds=time.perf_counter() - start, triples=size)
