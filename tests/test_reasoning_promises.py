"""Promises of the reasoner that a change of one line would break: the noise filter of the
inferred graph, explanations that never cite the triple they explain (the functional-property
check is pinned in test_reasoning_consistency.py)."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from karabakh_kg.graph import reasoning
from karabakh_kg.graph.dataset import INFERRED, KnowledgeGraph
from karabakh_kg.graph.reasoning import closure
from karabakh_kg.graph.reasoning.explain import explain
from karabakh_kg.ontology import vocab

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
KG, KGO = str(vocab.KG), str(vocab.KGO)


def test_no_blank_node_class_reaches_the_inferred_graph(kg: KnowledgeGraph) -> None:
    # OWL 2 RL types resources with the ontology's anonymous classes (restrictions, unions);
    # such types name nothing a user can read, so the inferred graph leaves them out.
    blank_types = [
        q
        for q in kg.store.quads_for_pattern(None, RDF_TYPE, None, INFERRED)
        if isinstance(q.object, ox.BlankNode)
    ]
    assert blank_types == []
    # ... while the closure does hold them: the filter has work to do.
    r = reasoning.reasoner(kg)
    closure_blank = [
        t
        for t in r.engine.derivations
        if t[1] == r.type_id and isinstance(r.table.decode(t[2]), ox.BlankNode)
    ]
    assert len(closure_blank) > 10


NOISY_ONTOLOGY = """
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix ex: <http://example.org/> .
ex:Person a owl:Class ; rdfs:subClassOf owl:Thing , [ a owl:Restriction ;
    owl:onProperty ex:knows ; owl:someValuesFrom ex:Person ] .
ex:knows a owl:ObjectProperty ; rdfs:domain ex:Person .
"""
NOISY_DATA = """
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix ex: <http://example.org/> .
ex:ann ex:knows ex:bob .
owl:Nothing ex:knows ex:bob .
"""


def test_the_inferred_triples_are_the_derived_ones_the_noise_policy_keeps(
    kg: KnowledgeGraph, tmp_path: Path
) -> None:
    # Kept in bulk (through the indexes), they are exactly those ``keep`` keeps one by one:
    # not ``x a owl:Thing``, not a blank node class, nothing about the OWL vocabulary; with
    # derivations recorded (the served reasoner) and kept apart per rule (``reason FILE``).
    (tmp_path / "o.ttl").write_text(NOISY_ONTOLOGY)
    (tmp_path / "d.ttl").write_text(NOISY_DATA)
    encoded = closure.read([tmp_path / "d.ttl"], [tmp_path / "o.ttl"])
    computed = closure.compute(encoded.kg, rules=False, encoded=encoded)
    recorded = reasoning.Reasoner(encoded.table, encoded.base, [], encoded.ontology_subjects)
    decoded = {tuple(str(x) for x in computed.decode(t)) for t in computed.output}
    ex, owl = "<http://example.org/", "<http://www.w3.org/2002/07/owl#"
    assert (f"{ex}ann>", f"<{RDF_TYPE.value}>", f"{ex}Person>") in decoded
    for r in (computed, recorded):
        derived = set(r.engine.derived())
        assert r.output == {t for t in derived if r.keep(t)}
        dropped = {tuple(str(x) for x in r.decode(t)) for t in derived - r.output}
        kept = {tuple(str(x) for x in r.decode(t)) for t in r.output}
        assert (f"{ex}ann>", f"<{RDF_TYPE.value}>", f"{owl}Thing>") not in kept
        assert (f"{owl}Nothing>", f"<{RDF_TYPE.value}>", f"{ex}Person>") in dropped
        assert any(o.startswith("_:") for _, _, o in dropped)  # the restriction
    assert computed.engine._derivations == {}  # no record was made for that
    served = reasoning.reasoner(kg)
    assert served.output == {t for t in served.engine.derivations if served.keep(t)}


def _cites(explanation: object, triple: tuple[str, str, str]) -> bool:
    s, p, o = triple
    for premise in getattr(explanation, "premises", []):
        if (premise.subject, premise.predicate, premise.object) == (s, p, o):
            return True
        if _cites(premise, triple):
            return True
    return False


def _recorded_tree(r: reasoning.Reasoner, t: tuple[int, int, int]) -> set[tuple[int, int, int]]:
    seen, todo = {t}, [t]
    while todo:
        x = todo.pop()
        recorded = None if x in r.engine.base else r.engine.derivations.get(x)
        for y in recorded[1] if recorded else ():
            if y not in seen:
                seen.add(y)
                todo.append(y)
    return seen


def test_every_derivation_listed_by_explain_all_rests_on_other_triples(kg: KnowledgeGraph) -> None:
    """An instance resting on the triple itself (the other direction of a symmetric relation
    derived from it, an inverse read back) is no support, and explain --all leaves it out."""
    r = reasoning.reasoner(kg)
    circular = []
    for t in sorted(r.output):
        instances = list(r.engine.instances(t, set()))
        if any(t in _recorded_tree(r, x) for _, body in instances for x in body):
            circular.append(t)
    assert circular  # instances resting on the triple itself exist: the exclusion has work
    for t in circular[:20]:
        s, p, o = r.decode(t)
        found = explain(kg, s.value, p.value, o.value, all_derivations=True)
        triple = (str(s), str(p), str(o))
        assert found.derivations, triple
        for derivation in found.derivations:
            assert not _cites(derivation, triple), (triple, derivation.rule)
