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
from karabakh_kg.graph.store.embedded import EmbeddedStore
from karabakh_kg.graph.store.publish import dataset_graphs, digest, forget, publish
from karabakh_kg.graph.store.reasoning import (
    as_insert,
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
    assert update.startswith(f"INSERT {{ GRAPH <{INFERRED.value}> {{")
    for graph in (ASSERTED, ONTOLOGY, INFERRED):
        assert f"USING <{graph.value}>" in update
    body = f"{{ GRAPH <{ONTOLOGY.value}> {{ ?c rdfs:subClassOf ?d }} ?x a ?c "
    # Only the solutions whose conclusion the inferred graph lacks are written.
    lacking = f"MINUS {{ GRAPH <{INFERRED.value}> {{  ?x a ?d  }} }} }}"
    assert update.endswith(body + " " + lacking), update
    assert f"USING NAMED <{INFERRED.value}>" in update


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
