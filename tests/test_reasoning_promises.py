"""Promises of the reasoner that a change of one line would break: the noise filter of the
inferred graph, explanations that never cite the triple they explain, the functional-property
check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from karabakh_kg.graph import reasoning
from karabakh_kg.graph.dataset import INFERRED, KnowledgeGraph
from karabakh_kg.graph.reasoning.consistency import check_consistency
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


FUNCTIONAL = """
@prefix kg: <https://w3id.org/karabakh-kg/resource/> .
@prefix kge: <https://w3id.org/karabakh-kg/evidence/> .
@prefix kgo: <https://w3id.org/karabakh-kg/ontology#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

kge:planted-founding {
    kg:planted-organization a kgo:Organization ; rdfs:label "Planted"@en ;
        kgo:establishedIn "1992"^^xsd:gYear , "1994"^^xsd:gYear .
}
kge:planted-founding a kgo:Evidence ; prov:value "A planted organisation." ; kgo:line 98 .
"""


@pytest.fixture(scope="module")
def functional(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeGraph:
    folder = tmp_path_factory.mktemp("data")
    for path in vocab.curated_data_dir().iterdir():
        if path.suffix in (".trig", ".ttl"):
            shutil.copy(path, folder / path.name)
    (folder / "zz-functional.trig").write_text(FUNCTIONAL, encoding="utf-8")
    return KnowledgeGraph.load(Path(folder))


def test_two_values_of_a_functional_property_are_a_contradiction(
    functional: KnowledgeGraph,
) -> None:
    # kgo:establishedIn is an owl:FunctionalProperty: an organization is founded once.
    found = [i for i in check_consistency(functional) if i.resource == KG + "planted-organization"]
    assert [i.rule for i in found] == ["prp-fp"]
    assert "kgo:establishedIn" in found[0].message
    assert '"1992"' in found[0].message and '"1994"' in found[0].message
