"""Broad categories come from the ontology's class hierarchy, for every module that uses them."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from graph_sample import sample_kg
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from karabakh_kg.graph import categories, lookup
from karabakh_kg.graph.dataset import ONTOLOGY, KnowledgeGraph
from karabakh_kg.graph.loading import load_graph
from karabakh_kg.graph.projection import ProjectionOptions, project
from karabakh_kg.graph.wikidata import link as wikidata_link
from karabakh_kg.ontology import vocab

KGO = str(vocab.KGO)
KG = str(vocab.KG)


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(vocab.ontology_file(), format="turtle")


@pytest.fixture(scope="module")
def unreasoned() -> KnowledgeGraph:
    """Only asserted types: categories must come from the hierarchy, not from reasoning."""
    return load_graph(reason=False)


def _ancestors(ontology: Graph, cls: str) -> set[str]:
    """Superclasses of ``cls`` by rdflib's own transitive walk (independent of the module)."""
    return {str(c) for c in ontology.transitive_objects(URIRef(cls), RDFS.subClassOf)}


def test_every_kgo_class_gets_the_category_of_its_ancestors(
    kg: KnowledgeGraph, ontology: Graph
) -> None:
    hierarchy = categories.hierarchy(kg)
    classes = sorted(
        str(c) for c in ontology.subjects(RDF.type, OWL.Class) if str(c).startswith(KGO)
    )
    assert len(classes) > 60
    # The display annotations, read by rdflib: precedence per category, classes ranked last.
    precedence = {
        str(c): int(v) for c, v in ontology.subject_objects(URIRef(KGO + "displayPrecedence"))
    }
    ranked_last = {str(c) for c in ontology.subjects(URIRef(KGO + "rankedLast"), None)}
    assert len(precedence) == 6 and KGO + "Evidence" in ranked_last
    for cls in classes:
        ancestors = _ancestors(ontology, cls)
        roots = sorted((precedence[c], c) for c in ancestors if c in precedence)
        expected = roots[0][1].rsplit("#", 1)[-1] if roots else categories.OTHER
        assert hierarchy.category([cls]) == expected, cls
        assert hierarchy.secondary([cls]) == bool(ancestors & ranked_last), cls


@pytest.mark.parametrize(
    ("local", "category"),
    [
        ("Arrival", "Event"),
        ("Conversation", "Event"),
        ("PhoneCall", "Event"),
        ("Demand", "Event"),
        ("War", "Event"),
        ("City", "Place"),
        ("Residence", "Place"),
        ("NewsAgency", "Organization"),
        ("Legislature", "Organization"),
        ("SelfDeclaredState", "PoliticalEntity"),
        ("Person", "Person"),
        ("Claim", "Claim"),
        ("Evidence", "Other"),
        ("Post", "Other"),
    ],
)
def test_known_classes(kg: KnowledgeGraph, local: str, category: str) -> None:
    assert categories.hierarchy(kg).category([KGO + local]) == category


def test_a_claim_about_an_event_is_a_claim(kg: KnowledgeGraph) -> None:
    assert categories.hierarchy(kg).category([KGO + "Attack", KGO + "Claim"]) == "Claim"


def test_unknown_classes_are_other() -> None:
    hierarchy = categories.build([])
    assert hierarchy.category(["http://example.org/Thing"]) == categories.OTHER
    assert not hierarchy.secondary([])


def test_cycles_end() -> None:
    a, b, event = KGO + "A", KGO + "B", KGO + "Event"
    precedence = ox.Triple(
        ox.NamedNode(event), ox.NamedNode(KGO + "displayPrecedence"), ox.Literal("1")
    )
    hierarchy = categories.build([(a, b), (b, a), (b, event)], [precedence])
    assert hierarchy.ancestors[a] == {a, b, event}
    assert hierarchy.category([a]) == "Event"


def test_lookup_ranks_event_subclasses_after_people_without_reasoning(
    unreasoned: KnowledgeGraph,
) -> None:
    entities = lookup.index(unreasoned).entities
    arrival = KG + "foreign-ministers-arrival-in-moscow"
    conversation = KG + "macron-aliyev-conversations"
    assert KGO + "Arrival" in entities[arrival].types
    assert entities[arrival].secondary
    assert entities[conversation].secondary
    assert not entities[KG + "emmanuel-macron"].secondary
    assert not entities[KG + "moscow"].secondary


def test_projection_and_lookup_agree(unreasoned: KnowledgeGraph) -> None:
    graph = project(unreasoned, ProjectionOptions(inferred=False))
    entities = lookup.index(unreasoned).entities
    assert graph.nodes[KG + "foreign-ministers-arrival-in-moscow"]["category"] == "Event"
    for node, data in graph.nodes(data=True):
        if node in entities and data["category"] in ("Event", "Claim"):
            assert entities[node].secondary, node


def test_wikidata_kinds_follow_the_hierarchy(unreasoned: KnowledgeGraph) -> None:
    infos = wikidata_link.entity_infos(unreasoned)
    assert infos[KG + "moscow"].category == "settlement"
    assert infos[KG + "emmanuel-macron"].category == "person"
    assert infos[KG + "armenia"].category == "state"
    # Events and claims are never linked by kind.
    assert KG + "foreign-ministers-arrival-in-moscow" not in infos


def test_a_store_without_the_ontology_graph_uses_the_ontology_file() -> None:
    sample = sample_kg()
    sample.store.clear_graph(ONTOLOGY)
    assert categories.hierarchy(sample).category([KGO + "Conversation"]) == "Event"
    graph = project(sample)
    assert graph.nodes[KG + "mnatsakanyan-lavrov-meeting"]["category"] == "Event"
    assert graph.nodes[KG + "gazancetsots-cathedral"]["category"] == "Place"


def test_colours_shapes_and_dates_are_the_ontologys(kg: KnowledgeGraph, ontology: Graph) -> None:
    """Display annotations of karabakh.ttl reach the projection, the exports and the dates."""
    hierarchy = categories.hierarchy(kg)
    colour = URIRef(KGO + "displayColour")
    assert hierarchy.colours()["Person"] == str(ontology.value(URIRef(KGO + "Person"), colour))
    the_ontology = URIRef(vocab.BASE + "ontology")
    assert hierarchy.colours()[categories.OTHER] == str(ontology.value(the_ontology, colour))
    shape = URIRef(KGO + "graphvizShape")
    assert hierarchy.shapes()["Place"] == str(ontology.value(URIRef(KGO + "Place"), shape))
    ranks = sorted((int(v), str(p)) for p, v in ontology.subject_objects(URIRef(KGO + "dateRank")))
    assert hierarchy.dates == tuple(p for _, p in ranks)
    graph = project(kg)
    assert graph.nodes[KG + "sergei-lavrov"]["color"] == hierarchy.colours()["Person"]


def test_a_colour_edited_in_the_ontology_graph_changes_the_projection() -> None:
    sample = sample_kg()
    person = ox.NamedNode(KGO + "Person")
    colour = ox.NamedNode(KGO + "displayColour")
    for quad in list(sample.store.quads_for_pattern(person, colour, None, ONTOLOGY)):
        sample.store.remove(quad)
    sample.store.add(ox.Quad(person, colour, ox.Literal("#000000"), ONTOLOGY))
    assert project(sample).nodes[KG + "sergei-lavrov"]["color"] == "#000000"


def test_symmetric_relations_are_the_ontologys(kg: KnowledgeGraph, ontology: Graph) -> None:
    declared = {str(p) for p in ontology.subjects(RDF.type, OWL.SymmetricProperty)}
    assert KGO + "metWith" in declared
    assert categories.hierarchy(kg).symmetric == declared
    graph = project(kg)
    kinds = {d["relation"]: d["symmetric"] for _, _, d in graph.edges(data=True)}
    assert kinds["kgo:metWith"] is True and kinds["kgo:participant"] is False


def test_wikidata_classes_we_accept_are_the_ontologys(ontology: Graph) -> None:
    """The link check's expected classes: skos:closeMatch and skos:narrowMatch in karabakh.ttl."""
    kind = URIRef(KGO + "wikidataKind")
    wd = str(vocab.WD)
    expected = {}
    for cls, name in ontology.subject_objects(kind):
        matches = [
            str(q)[len(wd) :]
            for p in (SKOS.closeMatch, SKOS.narrowMatch)
            for q in ontology.objects(cls, p)
        ]
        expected[str(name)] = set(matches)
    assert expected["person"] == {"Q5"}  # human
    assert {k: set(v) for k, v in wikidata_link.expected_types().items()} == expected
