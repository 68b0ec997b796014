"""Reasoning in the engine (a fixpoint of SPARQL INSERT … WHERE) gives the embedded
reasoner's inferred graph on the curated data, on every store, and follows changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from engines import TINY_DATA

from karabakh_kg.graph import reasoning
from karabakh_kg.graph.dataset import ASSERTED, INFERRED, ONTOLOGY, KnowledgeGraph
from karabakh_kg.graph.loading import load_graph
from karabakh_kg.graph.store import StoreError
from karabakh_kg.graph.store.embedded import EmbeddedStore
from karabakh_kg.graph.store.publish import dataset_graphs, digest, forget, publish
from karabakh_kg.graph.store.reasoning import (
    DELTA,
    as_insert,
    engine_rule,
    materialize_in_engine,
    owl_rl_rules,
    update_in_engine,
)
from karabakh_kg.ontology import vocab

RDF_TYPE = ox.NamedNode(vocab.PREFIXES["rdf"] + "type")


def triples(kg: KnowledgeGraph, graph: ox.NamedNode) -> list[ox.Triple]:
    return [
        ox.Triple(q.subject, q.predicate, q.object)
        for q in kg.store.quads_for_pattern(None, None, None, graph)
    ]


def keyed(items: list[ox.Triple]) -> set[tuple[str, str, str]]:
    return {(str(t.subject), str(t.predicate), str(t.object)) for t in items}


@pytest.fixture(params=["embedded", "oxigraph_engine", "virtuoso_engine"])
def store(request: pytest.FixtureRequest) -> Any:
    if request.param == "embedded":
        return EmbeddedStore()
    return request.getfixturevalue(request.param).store()


def test_rules_become_inserts_into_the_inferred_graph() -> None:
    update = as_insert(owl_rl_rules()["cax-sco"])
    template = "?x a ?d"
    assert update.startswith(
        f"INSERT {{ GRAPH <{INFERRED.value}> {{ {template} }} GRAPH <{DELTA[0].value}> "
        f"{{ {template} }} }}"
    ), update
    for graph in (ASSERTED, ONTOLOGY, INFERRED):
        assert f"USING <{graph.value}>" in update
    body = f"{{ GRAPH <{ONTOLOGY.value}> {{ ?c rdfs:subClassOf ?d }} ?x {RDF_TYPE} ?c ."
    # Only the solutions whose conclusion the inferred graph lacks are written.
    lacking = f"MINUS {{ GRAPH <{INFERRED.value}> {{ {template} }} }} }}"
    assert update.endswith(f"WHERE {body}  {lacking}"), update
    assert f"USING NAMED <{INFERRED.value}>" in update


def test_a_later_round_joins_each_atom_in_turn_from_what_the_previous_round_added() -> None:
    rule = engine_rule(owl_rl_rules()["prp-trp"])
    read, write = DELTA
    variants = rule.seminaive(read, write, set())
    assert len(variants) == 2
    for variant, atom in zip(variants, ["?x ?p ?y .", "?y ?p ?z ."], strict=True):
        where = variant[variant.index("WHERE") :]
        assert where.count(f"GRAPH <{read.value}>") == 1
        assert f"GRAPH <{read.value}> {{ {atom} }}" in where, where
        assert f"USING NAMED <{read.value}>" in variant
        assert f"GRAPH <{write.value}> {{ ?x ?p ?z }}" in variant
        assert f"FILTER NOT EXISTS {{ GRAPH <{INFERRED.value}> {{ ?x ?p ?z }} }}" in where
    # An atom whose predicate the previous round did not add cannot match there.
    sco = engine_rule(owl_rl_rules()["eq-sym"])
    assert sco.seminaive(read, write, {vocab.PREFIXES["rdf"] + "type"}) == []
    assert len(sco.seminaive(read, write, {vocab.PREFIXES["owl"] + "sameAs"})) == 1


def load(store: Any, kg: KnowledgeGraph) -> None:
    """Write the graphs reasoning reads, behind publish's back (the engines live for the
    whole session): so their publication digests are forgotten, as the store contract asks."""
    forget(store, [ASSERTED.value, ONTOLOGY.value])
    for graph in (ASSERTED, ONTOLOGY):
        store.put_graph(graph.value, triples(kg, graph))


def test_the_engine_closure_is_the_embedded_one(store: Any, kg: KnowledgeGraph) -> None:
    load(store, kg)
    report = materialize_in_engine(store)
    assert report.full and report.rounds > 1
    assert keyed(store.get_graph(INFERRED.value)) == keyed(triples(kg, INFERRED))
    assert not store.graph_names() & {graph.value for graph in DELTA}


class Recording(EmbeddedStore):
    """An embedded store that sees reasoning's requests: ``after_round`` runs at the first
    check of a round's delta graph; ``fail_after`` updates, it refuses the next."""

    def __init__(self, after_round: Any = None, fail_after: int | None = None) -> None:
        super().__init__()
        self.after_round, self.fail_after, self.updates = after_round, fail_after, 0

    def ask(self, sparql: str) -> bool:
        if self.after_round is not None:
            self.after_round(self)
            self.after_round = None
        return super().ask(sparql)

    def update(self, sparql: str) -> None:
        self.updates += 1
        if self.fail_after is not None and self.updates > self.fail_after:
            raise StoreError(f"{self.location}: refused")
        super().update(sparql)


def test_later_rounds_only_join_what_the_previous_round_added(kg: KnowledgeGraph) -> None:
    """Semi-naive evaluation: a triple that appears behind reasoning's back after the first
    round (so in no round's additions) is never joined again; the first round reads it all."""
    person = ox.NamedNode(str(vocab.KG) + "engine-reasoning-test")
    planted = ox.Quad(person, RDF_TYPE, ox.NamedNode(str(vocab.KGO) + "Person"), ASSERTED)
    store = Recording(after_round=lambda s: s.store.add(planted))
    load(store, kg)
    materialize_in_engine(store)
    # kgo:Person is a sub-class of kgo:Agent (ontology/karabakh.ttl).
    agent = (str(person), str(RDF_TYPE), f"<{vocab.KGO}Agent>")
    assert agent not in keyed(store.get_graph(INFERRED.value))
    store = Recording()
    load(store, kg)
    store.store.add(planted)
    materialize_in_engine(store)
    assert agent in keyed(store.get_graph(INFERRED.value))


def test_a_rule_fires_when_any_of_its_atoms_is_new() -> None:
    """cls-svf1 (OWL 2 RL, table 6): ``?x ?p ?y . ?y a ?d`` with ``?r owl:someValuesFrom ?d ;
    owl:onProperty ?p`` gives ``?x a ?r``. The premises come from rules that run after it
    in a round: y1's type :D from cls-uni, x2's link to y2 from cls-hv1 once cls-uni typed
    x2 :H. So a later round must join the type atom (x1) or the link atom (x2) from what
    the previous round added."""
    ex = "http://example.org/"
    axioms = f"""@prefix : <{ex}> . @prefix owl: <{vocab.PREFIXES["owl"]}> .
        :R owl:someValuesFrom :D ; owl:onProperty :p . :D owl:unionOf ( :C ) .
        :H owl:unionOf ( :G ) ; owl:hasValue :y2 ; owl:onProperty :p ."""
    data = f"@prefix : <{ex}> . :x1 :p :y1 . :y1 a :C . :x2 a :G . :y2 a :D ."
    store = EmbeddedStore()
    for graph, text in ((ONTOLOGY, axioms), (ASSERTED, data)):
        store.put_graph(graph.value, list(ox.parse(text, format=ox.RdfFormat.TURTLE)))
    report = materialize_in_engine(store)
    found = keyed(store.get_graph(INFERRED.value))
    for x in ("x1", "x2"):
        assert (f"<{ex}{x}>", str(RDF_TYPE), f"<{ex}R>") in found, x
    assert report.rounds >= 3


def test_a_failed_run_leaves_no_delta_graph(kg: KnowledgeGraph) -> None:
    store = Recording()
    load(store, kg)
    stale = ox.Triple(ox.NamedNode(str(vocab.KG) + "stale"), RDF_TYPE, RDF_TYPE)
    store.put_graph(DELTA[1].value, [stale])  # what a killed run left
    store.fail_after = store.updates + 60  # within the second round
    with pytest.raises(StoreError, match="refused"):
        materialize_in_engine(store)
    assert store.graph_names() & {graph.value for graph in DELTA} == set()


def test_the_engine_closure_follows_changes() -> None:
    """Additions continue the fixpoint; removals recompute; both match the embedded
    reasoner. The updates are the same on every engine (their closure is checked above),
    so this runs on the embedded store only, to keep the suite short."""
    store = EmbeddedStore()
    kg = load_graph()
    load(store, kg)
    materialize_in_engine(store)
    person = ox.NamedNode(str(vocab.KG) + "engine-reasoning-test")
    added = [
        ox.Triple(person, RDF_TYPE, ox.NamedNode(str(vocab.KGO) + "Person")),
        ox.Triple(
            person,
            ox.NamedNode(str(vocab.KGO) + "metWith"),
            ox.NamedNode(str(vocab.KG) + "sergei-lavrov"),
        ),
    ]
    kg.store.extend(ox.Quad(t.subject, t.predicate, t.object, ASSERTED) for t in added)
    reasoning.update(kg, added, [])
    assert not update_in_engine(store, added, []).full
    assert keyed(store.get_graph(INFERRED.value)) == keyed(triples(kg, INFERRED))
    for t in added[1:]:
        kg.store.remove(ox.Quad(t.subject, t.predicate, t.object, ASSERTED))
    reasoning.update(kg, [], added[1:])
    assert update_in_engine(store, [], added[1:]).full
    assert keyed(store.get_graph(INFERRED.value)) == keyed(triples(kg, INFERRED))


def test_a_publish_after_in_engine_reasoning_rewrites_what_reasoning_changed(
    tmp_path: Path,
) -> None:
    """In-engine reasoning changes graphs behind the publication manifest's back: the next
    publish must put the published version back, not trust the old digests."""
    (tmp_path / "tiny.trig").write_text(TINY_DATA, encoding="utf-8")
    kg = load_graph(tmp_path)
    store = EmbeddedStore()
    publish(kg, store)
    person = ox.NamedNode(str(vocab.KG) + "engine-reasoning-test")
    update_in_engine(
        store, [ox.Triple(person, RDF_TYPE, ox.NamedNode(str(vocab.KGO) + "Person"))], []
    )
    report = publish(kg, store)
    assert {ASSERTED.value, INFERRED.value} <= set(report.written)
    for name, expected in dataset_graphs(kg).items():
        assert digest(store.get_graph(name)) == digest(expected), name
