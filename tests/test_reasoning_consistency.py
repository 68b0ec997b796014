"""Consistency: contradictions planted in a copy of the curated data are reported, explained."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from karabakh_kg.graph.dataset import KnowledgeGraph
from karabakh_kg.graph.loading import load_graph
from karabakh_kg.graph.reasoning.consistency import check_consistency
from karabakh_kg.ontology import vocab

PLANTED = """
@prefix kg: <https://w3id.org/karabakh-kg/resource/> .
@prefix kge: <https://w3id.org/karabakh-kg/evidence/> .
@prefix kgo: <https://w3id.org/karabakh-kg/ontology#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

kge:planted {
    kg:planted-person a kgo:Person , kgo:City ;
        kgo:metWith kg:planted-person .
    kg:planted-organization a kgo:Organization ;
        kgo:establishedIn "1992"^^xsd:gYear , "1994"^^xsd:gYear .
}
kge:planted a kgo:Evidence ; prov:value "A planted contradiction." ; kgo:line 99 .
"""


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeGraph:
    folder = tmp_path_factory.mktemp("data")
    for path in vocab.curated_data_dir().iterdir():
        if path.suffix in (".trig", ".ttl"):
            shutil.copy(path, folder / path.name)
    (folder / "zz-planted.trig").write_text(PLANTED, encoding="utf-8")
    return load_graph(Path(folder))


def _leaves(e):  # type: ignore[no-untyped-def]
    if e.status == "derived":
        for p in e.premises:
            yield from _leaves(p)
    else:
        yield e


def test_curated_graph_is_consistent(kg: KnowledgeGraph) -> None:
    assert check_consistency(kg) == []


def test_planted_contradictions_are_reported(planted: KnowledgeGraph) -> None:
    found = check_consistency(planted)
    person = str(vocab.KG) + "planted-person"
    about = [i for i in found if i.resource == person]
    rules = {i.rule for i in about}
    assert "prp-irp" in rules  # metWith is irreflexive
    assert rules & {"cax-dw", "cax-adc"}  # a Person is no Place (City ⊑ Place)
    disjoint = next(
        i
        for i in about
        if i.rule in ("cax-dw", "cax-adc")
        and "kgo:Person" in i.message
        and "kgo:Place" in i.message
    )
    # the City membership is asserted; the Place membership is explained down to the quote
    place = next(e for e in disjoint.explanations if e.object.endswith("#Place>"))
    assert place.status == "derived" and place.rule == "cax-sco"
    leaves = [leaf for leaf in _leaves(place) if leaf.status == "asserted"]
    assert leaves and leaves[0].evidence[0].quote == "A planted contradiction."
    assert leaves[0].evidence[0].line == 99
    assert disjoint.to_dict()["explanations"]
    assert "planted-person" in disjoint.to_text()


def test_two_values_of_a_functional_property_are_a_contradiction(
    planted: KnowledgeGraph,
) -> None:
    # kgo:establishedIn is an owl:FunctionalProperty: an organization is founded once.
    organization = str(vocab.KG) + "planted-organization"
    found = [i for i in check_consistency(planted) if i.resource == organization]
    assert [i.rule for i in found] == ["prp-fp"]
    assert "kgo:establishedIn" in found[0].message
    assert '"1992"' in found[0].message and '"1994"' in found[0].message
