"""Entity lookup: IRIs, CURIEs, labels, alternative labels, Wikidata ids, errors."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from graph_sample import KG, sample_kg

from karabakh_kg.graph import lookup
from karabakh_kg.graph.dataset import KnowledgeGraph


@pytest.fixture(scope="module")
def small() -> KnowledgeGraph:
    return sample_kg()


@pytest.mark.parametrize(
    ("name", "local"),
    [
        ("Sergei Lavrov", "sergei-lavrov"),
        ("sergei lavrov", "sergei-lavrov"),
        ("Lavrov", "sergei-lavrov"),
        ("Macron", "emmanuel-macron"),
        ("Mingachevir", "mingechevir"),
        ("MINGECHEVIR", "mingechevir"),
        ("gazancetsots", "gazancetsots-cathedral"),
        ("Gazançetsots Cathedral", "gazancetsots-cathedral"),
        ("НАГОРНЫЙ", "nagorny"),
        ("Minsk Group", "minsk-group"),
        ("kg:moscow", "moscow"),
        ("<https://w3id.org/karabakh-kg/resource/moscow>", "moscow"),
        (KG + "russia", "russia"),
        ("sergei-lavrov", "sergei-lavrov"),
        ("Q227", "azerbaijan"),
        ("wd:Q399", "armenia"),
        ("http://www.wikidata.org/entity/Q40953", "sergei-lavrov"),
        ("https://www.wikidata.org/wiki/Q40953", "sergei-lavrov"),
        ("  Moscow  ", "moscow"),
    ],
)
def test_resolve_finds_the_entity(small: KnowledgeGraph, name: str, local: str) -> None:
    assert lookup.resolve(small, name) == KG + local


def test_a_bare_surname_prefers_the_person_to_events_naming_him(small: KnowledgeGraph) -> None:
    # "Macron" also occurs in two phone-call labels; the person wins, not an error.
    assert lookup.resolve(small, "macron") == KG + "emmanuel-macron"


def test_unknown_name_lists_close_matches(small: KnowledgeGraph) -> None:
    with pytest.raises(lookup.UnknownEntityError) as caught:
        lookup.resolve(small, "Lavrof")
    assert isinstance(caught.value, LookupError)
    assert caught.value.suggestions[0] == (KG + "sergei-lavrov", "Sergei Lavrov")
    assert "Sergei Lavrov" in str(caught.value)


def test_ambiguous_name_lists_every_candidate(small: KnowledgeGraph) -> None:
    with pytest.raises(lookup.AmbiguousEntityError) as caught:
        lookup.resolve(small, "phone call")
    assert {iri for iri, _ in caught.value.suggestions} == {
        KG + "macron-aliyev-call",
        KG + "macron-pashinyan-call",
    }


@pytest.mark.parametrize("name", ["", "   ", "kg:nobody", KG + "nobody", "Q1", "zzzz qqqq"])
def test_names_of_nothing_are_unknown(small: KnowledgeGraph, name: str) -> None:
    with pytest.raises(lookup.UnknownEntityError):
        lookup.resolve(small, name)


def test_ontology_terms_are_not_entities() -> None:
    kg = sample_kg()

    from karabakh_kg.graph.dataset import ONTOLOGY

    person = ox.NamedNode("https://w3id.org/karabakh-kg/ontology#Person")
    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    kg.store.add(ox.Quad(person, label, ox.Literal("Person", language="en"), ONTOLOGY))
    with pytest.raises(lookup.UnknownEntityError):
        lookup.resolve(kg, "Person")


def test_index_is_rebuilt_when_the_store_changes() -> None:
    kg = sample_kg()

    from karabakh_kg.graph.dataset import ASSERTED

    with pytest.raises(lookup.UnknownEntityError):
        lookup.resolve(kg, "Geneva")
    geneva = ox.NamedNode(KG + "geneva")
    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    kg.store.add(ox.Quad(geneva, label, ox.Literal("Geneva", language="en"), ASSERTED))
    assert lookup.resolve(kg, "geneva") == KG + "geneva"


def test_suggest_and_search_rank_exact_then_partial(small: KnowledgeGraph) -> None:
    found = [e.iri for e in lookup.search(small, "mnatsakanyan", 5)]
    assert found[0] == KG + "zohrab-mnatsakanyan"
    assert KG + "mnatsakanyan-lavrov-meeting" in found
    assert lookup.suggest(small, "Pashinian", 3)[0] == (KG + "nikol-pashinyan", "Nikol Pashinyan")
    assert lookup.search(small, "", 5) == []


def test_describe_gives_curie_types_and_wikidata(small: KnowledgeGraph) -> None:
    info = lookup.describe(small, KG + "sergei-lavrov")
    assert info["curie"] == "kg:sergei-lavrov"
    assert "kgo:Person" in info["types"] and "kgo:Agent" in info["types"]  # Person ⊑ Agent
    assert info["types"] == sorted(info["types"])
    assert info["wikidata"] == ["Q40953"]
    assert lookup.describe(small, KG + "mingechevir")["altLabels"] == ["Mingachevir"]


def test_normalize_folds_case_diacritics_and_punctuation() -> None:
    assert lookup.normalize("Gazançetsots") == "gazancetsots"
    assert lookup.normalize("Nagorno-Karabakh") == "nagorno karabakh"
    assert lookup.normalize("dağlıq") == "dagliq"
    assert lookup.normalize("Ceyhun Bayramov’s") == "ceyhun bayramov s"
