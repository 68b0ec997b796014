"""Reasoning in the engine (a fixpoint of SPARQL INSERT … WHERE) gives the embedded
reasoner's inferred graph on the curated data, on every store, and follows changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from engines import TINY_DATA

from karabakh_kg.graph import reasoning
from karabakh_kg.graph.dataset import (
    ASSERTED,
    INFERRED,
    INFERRED_WITHHELD,
    ONTOLOGY,
    KnowledgeGraph,
)
from karabakh_kg.graph.loading import load_graph
from karabakh_kg.graph.store import StoreError
from karabakh_kg.graph.store.embedded import EmbeddedStore
from karabakh_kg.graph.store.publish import dataset_graphs, digest, forget, publish
from karabakh_kg.graph.store.reasoning import (
    DELTA,
    SCRATCH,
    as_insert,
    engine_rule,
    maintained,
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
        # ... and writes only conclusions the data (asserted, ontology, derived) lacks.
        assert "FILTER NOT EXISTS { ?x ?p ?z }" in where
    # An atom whose predicate the previous round did not add cannot match there.
    sco = engine_rule(owl_rl_rules()["eq-sym"])
    assert sco.seminaive(read, write, {vocab.PREFIXES["rdf"] + "type"}) == []
    assert len(sco.seminaive(read, write, {vocab.PREFIXES["owl"] + "sameAs"})) == 1


def scratch_left(store: Any) -> list[str]:
    """The graphs of a run under way found on ``store`` (one ASK each: listing every graph
    of an engine scans all its quads)."""
    return [g.value for g in SCRATCH if store.ask(f"ASK {{ GRAPH <{g.value}> {{ ?s ?p ?o }} }}")]


def load(store: Any, kg: KnowledgeGraph) -> None:
    """Write the graphs reasoning reads, behind publish's back (the engines live for the
    whole session): so their publication digests are forgotten, as the store contract asks."""
    forget(store, [ASSERTED.value, ONTOLOGY.value])
    for graph in (ASSERTED, ONTOLOGY):
        store.put_graph(graph.value, triples(kg, graph))


class Recording(EmbeddedStore):
    """An embedded store that sees reasoning's requests: ``after_round`` runs at the first
    count of a delta graph's size (after the first round); it refuses the updates
    ``refuse`` says; ``sent`` keeps the updates."""

    def __init__(self, after_round: Any = None, refuse: Any = None) -> None:
        super().__init__()
        self.after_round, self.refuse = after_round, refuse
        self.sent: list[str] = []

    def select(self, sparql: str) -> Any:
        if self.after_round is not None and "COUNT(" in sparql and "/delta/" in sparql:
            self.after_round(self)
            self.after_round = None
        return super().select(sparql)

    def update(self, sparql: str) -> None:
        self.sent.append(sparql)
        if self.refuse is not None and self.refuse(sparql):
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


def test_a_failed_run_leaves_no_delta_graph_and_the_next_change_recomputes(
    kg: KnowledgeGraph,
) -> None:
    store = Recording()
    load(store, kg)
    stale = ox.Triple(ox.NamedNode(str(vocab.KG) + "stale"), RDF_TYPE, RDF_TYPE)
    store.put_graph(DELTA[1].value, [stale])  # what a killed run left
    # The second round reads the first delta graph.
    store.refuse = lambda sparql: f"USING NAMED <{DELTA[0].value}>" in sparql
    with pytest.raises(StoreError, match="refused"):
        materialize_in_engine(store)
    assert not scratch_left(store)
    # Half a closure cannot be maintained: the next change recomputes it.
    store.refuse = None
    assert not maintained(store)
    report = update_in_engine(store, [stale], [])
    assert report.full and maintained(store)
    assert keyed(store.get_graph(INFERRED.value)) == keyed(triples(kg, INFERRED))


EX = "http://example.org/"


def small(store: Any, axioms: str, data: str) -> None:
    """``store`` holding one small ontology and data (Turtle, prefix ``:`` for EX)."""
    prefixes = f"@prefix : <{EX}> . @prefix owl: <{vocab.PREFIXES['owl']}> . "
    prefixes += f"@prefix rdfs: <{vocab.PREFIXES['rdfs']}> . "
    forget(store, [ASSERTED.value, ONTOLOGY.value])
    for graph, text in ((ONTOLOGY, axioms), (ASSERTED, data)):
        store.put_graph(graph.value, list(ox.parse(prefixes + text, format=ox.RdfFormat.TURTLE)))


def ex(*names: str) -> ox.Triple:
    """A triple of EX names, ``a`` for rdf:type."""
    s, p, o = (RDF_TYPE if n == "a" else ox.NamedNode(EX + n) for n in names)
    return ox.Triple(s, p, o)


def test_removals_keep_what_still_has_a_derivation_and_nothing_else(store: Any) -> None:
    """DRed on each engine, against OWL 2 RL (W3C OWL 2 Profiles, tables 5 and 9: cax-sco,
    prp-symp, prp-trp). Removed: x's type C (its B and A types still follow from E), w's
    asserted type B (it still follows from C, so it becomes inferred), u's link to v (v's
    link to u only followed from it, through a cycle of symmetric links), the middle link
    of a transitive chain (every shortcut over it goes)."""
    small(
        store,
        ":C rdfs:subClassOf :B . :E rdfs:subClassOf :B . :B rdfs:subClassOf :A . "
        ":q a owl:SymmetricProperty . :t a owl:TransitiveProperty .",
        ":x a :C , :E . :w a :B , :C . :u :q :v . :n1 :t :n2 . :n2 :t :n3 . :n3 :t :n4 .",
    )
    materialize_in_engine(store)
    before = [ex("x", "a", "B"), ex("x", "a", "A"), ex("w", "a", "A"), ex("v", "q", "u")]
    before += [ex("n1", "t", "n3"), ex("n2", "t", "n4"), ex("n1", "t", "n4")]
    assert keyed(store.get_graph(INFERRED.value)) == keyed(before)
    removed = [ex("x", "a", "C"), ex("w", "a", "B"), ex("u", "q", "v"), ex("n2", "t", "n3")]
    report = update_in_engine(store, [], removed)
    assert not report.full and report.overdeleted and report.rederived
    after = [ex("x", "a", "B"), ex("x", "a", "A"), ex("w", "a", "B"), ex("w", "a", "A")]
    assert keyed(store.get_graph(INFERRED.value)) == keyed(after)
    assert not keyed(removed) & keyed(store.get_graph(ASSERTED.value))
    assert not scratch_left(store)
    # Adding a triple back derives again what it supports, from it alone.
    report = update_in_engine(store, [ex("n2", "t", "n3")], [])
    assert not report.full and report.deltas[0] == 1
    assert keyed(before[4:]) <= keyed(store.get_graph(INFERRED.value))


def test_a_removal_that_over_deletes_much_recomputes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the share of the closure where re-deriving costs more than a full run, the
    removal recomputes, with the same closure."""
    from karabakh_kg.graph.store import reasoning as in_engine

    store = EmbeddedStore()
    small(store, ":C rdfs:subClassOf :B . :B rdfs:subClassOf :A .", ":x a :C . :y a :C .")
    materialize_in_engine(store)
    monkeypatch.setattr(in_engine, "RECOMPUTE_MINIMUM", 1)
    monkeypatch.setattr(in_engine, "RECOMPUTE_FRACTION", 0.5)  # of 4 inferred: 2
    report = update_in_engine(store, [], [ex("y", "a", "C")])  # over-deletes 3
    assert report.full and maintained(store)
    assert keyed(store.get_graph(INFERRED.value)) == keyed([ex("x", "a", "B"), ex("x", "a", "A")])
    report = update_in_engine(store, [], [ex("x", "a", "C")])
    assert report.full and store.get_graph(INFERRED.value) == []


def test_additions_join_what_the_noise_policy_withholds(store: Any) -> None:
    """x's type C makes it a member of a restriction (a blank node: a type the inferred
    graph leaves out, OWL 2 RL cax-sco); adding x's link p to y must still make y a D
    (cls-avf), which needs that type."""
    small(store, ":C rdfs:subClassOf [ owl:allValuesFrom :D ; owl:onProperty :p ] .", ":x a :C .")
    materialize_in_engine(store)
    assert store.get_graph(INFERRED.value) == []
    assert any(isinstance(t.object, ox.BlankNode) for t in store.get_graph(INFERRED_WITHHELD.value))
    report = update_in_engine(store, [ex("x", "p", "y")], [])
    assert not report.full
    assert keyed(store.get_graph(INFERRED.value)) == keyed([ex("y", "a", "D")])


def test_additions_do_not_join_the_old_data_again(kg: KnowledgeGraph) -> None:
    """After additions the first delta is the added triples the data lacked, and every
    rule update joins one of its atoms from a delta graph: a triple written behind
    reasoning's back before the change (so in no delta) is not joined, though a
    recomputation derives from it."""
    store = Recording()
    load(store, kg)
    materialize_in_engine(store)
    # kgo:Person is a sub-class of kgo:Agent (ontology/karabakh.ttl).
    planted, added = (ox.NamedNode(str(vocab.KG) + name) for name in ("planted", "added"))
    person = ox.NamedNode(str(vocab.KGO) + "Person")
    store.store.add(ox.Quad(planted, RDF_TYPE, person, ASSERTED))
    already = triples(kg, ASSERTED)[0]
    sent = len(store.sent)
    report = update_in_engine(store, [ox.Triple(added, RDF_TYPE, person), already], [])
    assert not report.full and report.deltas[0] == 1
    found = keyed(store.get_graph(INFERRED.value))
    agent = f"<{vocab.KGO}Agent>"
    assert (str(added), str(RDF_TYPE), agent) in found
    assert (str(planted), str(RDF_TYPE), agent) not in found
    # Rule updates (several may share a request) are those writing the inferred graph.
    head = f"INSERT {{ GRAPH <{INFERRED.value}>"
    rules = [part for sent in store.sent[sent:] for part in sent.split(head)[1:]]
    assert len(rules) == report.updates > 0
    for update in rules:
        where = update[update.index("WHERE") :]
        assert any(f"GRAPH <{graph.value}>" in where for graph in DELTA), update
    materialize_in_engine(store)
    assert (str(planted), str(RDF_TYPE), agent) in keyed(store.get_graph(INFERRED.value))


Change = tuple[list[ox.Triple], list[ox.Triple], set[tuple[str, str, str]]]


@pytest.fixture(scope="module")
def changes() -> list[Change]:
    """Changes of the curated graph (added, removed) with the embedded reasoner's inferred
    graph after each. Removed: one participant of the Geneva meeting (Bayramov, whose
    meeting with the co-chairs there made Azerbaijan meet their states: rules.ttl), then a
    link added before."""
    kg = load_graph()
    person = ox.NamedNode(str(vocab.KG) + "engine-reasoning-test")
    added = [
        ox.Triple(person, RDF_TYPE, ox.NamedNode(str(vocab.KGO) + "Person")),
        ox.Triple(
            person,
            ox.NamedNode(str(vocab.KGO) + "metWith"),
            ox.NamedNode(str(vocab.KG) + "sergei-lavrov"),
        ),
    ]
    geneva = ox.Triple(
        ox.NamedNode(str(vocab.KG) + "geneva-meeting"),
        ox.NamedNode(str(vocab.KGO) + "participant"),
        ox.NamedNode(str(vocab.KG) + "ceyhun-bayramov"),
    )
    found: list[Change] = []
    for change_added, change_removed in ((added, []), ([], [geneva]), ([], added[1:])):
        kg.store.extend(ox.Quad(t.subject, t.predicate, t.object, ASSERTED) for t in change_added)
        for t in change_removed:
            kg.store.remove(ox.Quad(t.subject, t.predicate, t.object, ASSERTED))
        before = keyed(triples(kg, INFERRED))
        reasoning.update(kg, change_added, change_removed)
        assert keyed(triples(kg, INFERRED)) != before  # the change matters
        found.append((change_added, change_removed, keyed(triples(kg, INFERRED))))
    return found


def test_the_engine_closure_is_the_embedded_one_and_follows_changes(
    store: Any, kg: KnowledgeGraph, changes: list[Change]
) -> None:
    """On each engine the inferred graph is the embedded reasoner's on the curated graph,
    and stays so after additions and after removals, maintained (not recomputed)."""
    load(store, kg)
    report = materialize_in_engine(store)
    assert report.full and report.rounds > 1
    assert keyed(store.get_graph(INFERRED.value)) == keyed(triples(kg, INFERRED))
    assert not scratch_left(store)
    for added, removed, expected in changes:
        report = update_in_engine(store, added, removed)
        assert not report.full
        assert keyed(store.get_graph(INFERRED.value)) == expected
        assert not scratch_left(store)


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
    assert maintained(store)
    report = publish(kg, store)
    assert {ASSERTED.value, INFERRED.value} <= set(report.written)
    for name, expected in dataset_graphs(kg).items():
        assert digest(store.get_graph(name)) == digest(expected), name
    # The published inferred graph is the embedded reasoner's: the engine's state of its
    # own closure is gone with it, so the next change recomputes.
    assert not maintained(store) and INFERRED_WITHHELD.value not in store.graph_names()


def test_updates_reading_much_are_sent_in_parts_with_the_same_closure(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``PART_ABOVE`` triples read, each rule update goes as several requests, one per
    range of subjects, which together derive what one would (OWL 2 RL cax-sco and prp-trp,
    tables 5 and 9), blank node subjects included: no request does all of a round's work."""
    from karabakh_kg.graph.store import reasoning as in_engine

    subjects = [f"x{n}" for n in range(12)]
    small(
        store,
        ":C rdfs:subClassOf :B . :B rdfs:subClassOf :A . :t a owl:TransitiveProperty .",
        " ".join(f":{x} a :C ." for x in subjects) + " [] a :C . :n1 :t :n2 . :n2 :t :n3 .",
    )
    asserted = len(store.get_graph(ASSERTED.value))  # 15: about four parts of the buckets
    monkeypatch.setattr(in_engine, "PART_ABOVE", 0)
    monkeypatch.setattr(in_engine, "PART_TRIPLES", asserted // 4)
    sent: list[str] = []
    update = store.update
    monkeypatch.setattr(store, "update", lambda sparql, **kw: sent.append(sparql) or update(sparql))
    report = materialize_in_engine(store)
    parts = [text for text in sent if "MD5(STR(" in text and "INSERT {" in text]
    assert report.requests > report.updates and len(parts) >= 3 * report.updates // 2
    found = store.get_graph(INFERRED.value)
    named = [t for t in found if not isinstance(t.subject, ox.BlankNode)]
    expected = [ex(x, "a", c) for x in subjects for c in ("B", "A")] + [ex("n1", "t", "n3")]
    assert keyed(named) == keyed(expected)
    blank = {t.object.value for t in found if isinstance(t.subject, ox.BlankNode)}
    assert blank == {EX + "B", EX + "A"} and len(found) == len(named) + 2
