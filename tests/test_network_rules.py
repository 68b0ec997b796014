"""The network view follows the domain rules as written in rules.ttl, not a copy of them."""

from __future__ import annotations

import pyoxigraph as ox
from graph_sample import KG, KGO, sample_kg

from karabakh_kg.graph import reasoning, traversal
from karabakh_kg.graph.dataset import ONTOLOGY, KnowledgeGraph
from karabakh_kg.graph.projection import project

SH_CONSTRUCT = ox.NamedNode("http://www.w3.org/ns/shacl#construct")
MEETING_RULE = ox.NamedNode(KGO + "rule-meeting-participants-met")
LAVROV, MNATSAKANYAN = KG + "sergei-lavrov", KG + "zohrab-mnatsakanyan"


def _edit_rule(kg: KnowledgeGraph, rule: ox.NamedNode, old: str, new: str) -> None:
    [quad] = list(kg.store.quads_for_pattern(rule, SH_CONSTRUCT, None, ONTOLOGY))
    assert old in quad.object.value
    kg.store.remove(quad)
    edited = ox.Literal(quad.object.value.replace(old, new))
    kg.store.add(ox.Quad(rule, SH_CONSTRUCT, edited, ONTOLOGY))
    reasoning.materialize(kg)
    kg.version = "rules edited"


def test_a_rule_that_counts_planned_meetings_makes_their_participants_meet() -> None:
    kg = sample_kg()
    assert not project(kg).has_edge(LAVROV, MNATSAKANYAN, "kgo:metWith")
    _edit_rule(kg, MEETING_RULE, "kgo:Occurred", "kgo:Planned")
    graph = project(kg)
    edge = graph.edges[LAVROV, MNATSAKANYAN, "kgo:metWith"]
    # The support is the event the edited rule now accepts, with its date and quote.
    assert edge["events"] == ["kg:mnatsakanyan-lavrov-meeting"]
    assert edge["date"] == "2020-10-12"
    rows = traversal.network_rows(traversal.negotiation_network(graph))
    assert any(
        {r["source"], r["target"]} == {LAVROV, MNATSAKANYAN} and r["relation"] == "metWith"
        for r in rows
    )


def test_without_the_co_chairs_rule_the_co_chairs_mediate_for_nobody() -> None:
    kg = sample_kg()
    russia, armenia = KG + "russia", KG + "armenia"
    assert project(kg).has_edge(russia, armenia, "kgo:mediatedFor")
    rule = ox.NamedNode(KGO + "rule-co-chairs-mediate")
    _edit_rule(
        kg, rule, "?cochair kgo:coChairOf ?group .", "?cochair kgo:coChairOf ?group , ?cochair ."
    )
    assert not project(kg).has_edge(russia, armenia, "kgo:mediatedFor")
