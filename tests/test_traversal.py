"""Projection and traversal over a small graph in the project's data model."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import networkx as nx
import pyoxigraph as ox
import pytest
from graph_sample import KG, KGO, sample_kg

from karabakh_kg.graph import traversal
from karabakh_kg.graph.dataset import ASSERTED, KnowledgeGraph
from karabakh_kg.graph.projection import (
    GraphFilter,
    ProjectionOptions,
    make_options,
    project,
)
from karabakh_kg.ontology import vocab

MACRON, ALIYEV, LAVROV = KG + "emmanuel-macron", KG + "ilham-aliyev", KG + "sergei-lavrov"
MNATSAKANYAN = KG + "zohrab-mnatsakanyan"
BAYRAMOV, PUTIN = KG + "ceyhun-bayramov", KG + "vladimir-putin"
ARMENIA, AZERBAIJAN = KG + "armenia", KG + "azerbaijan"
PARTICIPANT = frozenset({KGO + "participant"})


@pytest.fixture(scope="module")
def small() -> KnowledgeGraph:
    return sample_kg()


@pytest.fixture(scope="module")
def graph(small: KnowledgeGraph) -> nx.MultiDiGraph:
    return project(small)


def test_nodes_carry_label_types_category_and_wikidata(graph: nx.MultiDiGraph) -> None:
    lavrov = graph.nodes[LAVROV]
    assert lavrov["label"] == "Sergei Lavrov"
    # asserted kgo:Person, and what the ontology says a person is (kgo:Person ⊑ kgo:Agent)
    assert {"kgo:Person", "kgo:Agent"} <= set(lavrov["types"])
    assert lavrov["category"] == "Person"
    assert lavrov["wikidata"] == "Q40953"
    meeting = graph.nodes[KG + "mnatsakanyan-lavrov-meeting"]
    assert meeting["category"] == "Event"
    assert meeting["date"] == "2020-10-12"
    assert graph.nodes[KG + "minsk-group"]["category"] == "Organization"


def test_edges_carry_kind_date_and_quote(graph: nx.MultiDiGraph) -> None:
    edge = graph.edges[KG + "mnatsakanyan-lavrov-meeting", LAVROV, "kgo:participant"]
    assert edge["kind"] == "asserted"
    assert edge["date"] == "2020-10-12"
    assert edge["quote"].startswith("Mnatsakanyan would instead meet")
    assert edge["lines"] == [37]
    assert edge["evidence"] == ["kge:L37-meeting"]
    derived = graph.edges[ALIYEV, MACRON, "kgo:spokeWith"]
    assert derived["kind"] == "derived"
    # A derived edge borrows the date and quote of the call both took part in.
    assert derived["via"] == "kg:macron-aliyev-call"
    assert derived["events"] == ["kg:macron-aliyev-call"]
    assert derived["date"] == "2020-10-09"
    assert "quote" in derived


def test_only_events_that_took_place_support_a_relation() -> None:
    kg = sample_kg()
    # Even a curator's metWith gets no date from a meeting that was only planned.
    kg.store.add(
        ox.Quad(
            ox.NamedNode(LAVROV),
            ox.NamedNode(KGO + "metWith"),
            ox.NamedNode(MNATSAKANYAN),
            ASSERTED,
        )
    )
    graph = project(kg)
    edge = graph.edges[LAVROV, MNATSAKANYAN, "kgo:metWith"]
    assert "events" not in edge and "date" not in edge and "via" not in edge
    rows = traversal.network_rows(traversal.negotiation_network(graph))
    lavrov = [r for r in rows if {r["source"], r["target"]} == {LAVROV, MNATSAKANYAN}]
    assert [(r["relation"], r["date"], r["event"]) for r in lavrov] == [("metWith", None, None)]
    # The talks (Occurred, and Expected in another reading) support metWith and
    # negotiatedWith; the status list keeps both readings.
    talks = graph.nodes[KG + "moscow-talks"]
    assert talks["eventStatus"] == ["kgo:Expected", "kgo:Occurred"]
    assert graph.edges[BAYRAMOV, MNATSAKANYAN, "kgo:negotiatedWith"]["via"] == "kg:moscow-talks"


def test_wikidata_links_and_literals_are_attributes_not_nodes(graph: nx.MultiDiGraph) -> None:
    assert not any(n.startswith("http://www.wikidata.org/") for n in graph)
    assert not any(n.startswith(KGO) for n in graph)


def test_asserted_only_leaves_out_derived_edges(small: KnowledgeGraph) -> None:
    asserted = project(small, ProjectionOptions(inferred=False))
    assert {d["kind"] for _, _, d in asserted.edges(data=True)} == {"asserted"}
    assert not asserted.has_edge(ALIYEV, MACRON)
    assert project(small).number_of_edges() > asserted.number_of_edges()


def test_filters_by_predicate_class_and_date(small: KnowledgeGraph) -> None:
    only = project(small, make_options(small, predicates=["kgo:participant"]))
    assert {d["relation"] for _, _, d in only.edges(data=True)} == {"kgo:participant"}
    assert KG + "moscow" not in only  # left without edges
    people = project(small, make_options(small, classes=["Person"]))
    assert {d["category"] for _, d in people.nodes(data=True)} == {"Person"}
    window = project(small, make_options(small, start="2020-10-10", end="2020-10-31"))
    assert KG + "mnatsakanyan-lavrov-meeting" in window
    assert KG + "macron-aliyev-call" not in window  # 9 October
    assert KG + "macron-pashinyan-call" in window  # undated: kept


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"predicates": ["kgo:metwith"]}, "kgo:metWith"),
        ({"classes": ["kgo:Persn"]}, "kgo:Person"),
        ({"start": "9 October"}, "ISO date"),
        ({"start": "2020-10-12", "end": "2020-10-01"}, "after"),
        ({"predicates": ["not a name"]}, "unknown predicate"),
    ],
)
def test_bad_options_name_the_problem(small: KnowledgeGraph, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_options(small, **kwargs)


def test_a_graph_filter_is_the_projection_under_checked_options(small: KnowledgeGraph) -> None:
    both = GraphFilter(predicates=("kgo:participant",), start="2020-10-10")
    assert both.project(small) is project(
        small, make_options(small, predicates=["kgo:participant"], start="2020-10-10")
    )
    assert both.project(small, predicates=False) is project(
        small, make_options(small, start="2020-10-10")
    )
    assert GraphFilter().project(small) is project(small)
    assert GraphFilter(inferred=False).project(small) is project(
        small, ProjectionOptions(inferred=False)
    )
    with pytest.raises(ValueError, match="kgo:Person"):
        GraphFilter(classes=("kgo:Persn",)).project(small)
    assert GraphFilter().predicate_iris(small) is None
    assert GraphFilter(predicates=("metWith", "kgo:participant")).predicate_iris(small) == {
        KGO + "metWith",
        KGO + "participant",
    }
    with pytest.raises(ValueError, match="kgo:metWith"):
        GraphFilter(predicates=("kgo:metwith",)).predicate_iris(small)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {"predicates": ("kgo:metWith",) * 51},
            "at most 50 predicate values in one filter, not 51",
        ),
        ({"classes": ("kgo:Person",) * 51}, "at most 50 class values"),
        ({"predicates": ("kgo:" + "x" * 300,)}, "the predicate is 304 characters long"),
        ({"classes": ("x" * 301,)}, "the class is 301 characters long"),
        ({"start": "2" * 301}, "the start is 301 characters long; filter values are at most 300"),
        ({"end": "2" * 301}, "the end is 301"),
    ],
)
def test_a_graph_filter_over_its_limits_names_the_limit(given: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GraphFilter(**given)
    at_limit = {k: v[:50] if isinstance(v, tuple) else v[:300] for k, v in given.items()}
    at_limit = {
        k: tuple(n[:300] for n in v) if isinstance(v, tuple) else v for k, v in at_limit.items()
    }
    GraphFilter(**at_limit)  # at the limit: accepted


def test_projection_is_cached_and_rebuilt_when_data_changes() -> None:
    kg = sample_kg()
    first = project(kg)
    assert project(kg) is first
    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    geneva = ox.NamedNode(KG + "geneva")
    kg.store.add(ox.Quad(geneva, label, ox.Literal("Geneva"), ASSERTED))
    kg.store.add(
        ox.Quad(
            ox.NamedNode(KG + "mnatsakanyan-lavrov-meeting"),
            ox.NamedNode(KGO + "location"),
            geneva,
            ASSERTED,
        )
    )
    second = project(kg)
    assert second is not first
    assert second.has_edge(KG + "mnatsakanyan-lavrov-meeting", KG + "geneva")


def test_path_from_macron_to_aliyev_goes_through_the_call(graph: nx.MultiDiGraph) -> None:
    found = traversal.shortest_path(graph, MACRON, ALIYEV, predicates=PARTICIPANT)
    assert found is not None
    assert [n["label"] for n in found["nodes"]] == [
        "Emmanuel Macron",
        "Macron–Aliyev phone call",
        "Ilham Aliyev",
    ]
    first, second = found["steps"]
    assert first["forward"] is False and second["forward"] is True  # call → participant
    assert first["edge"]["quote"] and second["edge"]["date"] == "2020-10-09"
    # With every edge, the derived spokeWith edge is a one-step path.
    direct = traversal.shortest_path(graph, MACRON, ALIYEV)
    assert direct is not None and direct["length"] == 1
    # spokeWith, or communicatedWith, which the ontology makes it a sub-property of
    assert direct["steps"][0]["edge"]["relation"] in ("kgo:spokeWith", "kgo:communicatedWith")


def test_no_path_gives_none(graph: nx.MultiDiGraph) -> None:
    assert traversal.shortest_path(graph, MACRON, KG + "nagorny") is None
    assert traversal.all_paths(graph, MACRON, KG + "nagorny")["paths"] == []


def test_all_paths_are_simple_shortest_first_and_capped(graph: nx.MultiDiGraph) -> None:
    result = traversal.all_paths(graph, MACRON, LAVROV, max_length=6, limit=50)
    lengths = [p["length"] for p in result["paths"]]
    assert lengths == sorted(lengths) and lengths and max(lengths) <= 6
    for found in result["paths"]:
        iris = [n["iri"] for n in found["nodes"]]
        assert len(set(iris)) == len(iris)
    capped = traversal.all_paths(graph, MACRON, LAVROV, max_length=6, limit=2)
    assert len(capped["paths"]) == 2 and capped["truncated"] is True
    short = traversal.all_paths(graph, MACRON, LAVROV, max_length=3)
    assert all(p["length"] <= 3 for p in short["paths"])


@pytest.mark.parametrize(
    ("call", "kwargs"),
    [
        (traversal.neighbours, {"k": 0}),
        (traversal.neighbours, {"k": traversal.MAX_K + 1}),
        (traversal.ego_network, {"radius": 99}),
    ],
)
def test_limits_are_enforced(graph: nx.MultiDiGraph, call: object, kwargs: dict) -> None:
    with pytest.raises(traversal.TraversalError):
        call(graph, LAVROV, **kwargs)  # type: ignore[operator]
    with pytest.raises(traversal.TraversalError, match="max_length"):
        traversal.all_paths(graph, MACRON, LAVROV, max_length=traversal.MAX_PATH_LENGTH + 1)
    with pytest.raises(traversal.TraversalError, match="limit"):
        traversal.all_paths(graph, MACRON, LAVROV, limit=traversal.MAX_PATHS + 1)
    with pytest.raises(traversal.TraversalError, match="not in the projected graph"):
        traversal.neighbours(graph, KG + "nobody")


def test_neighbours_by_hops_and_direction(graph: nx.MultiDiGraph) -> None:
    one = traversal.neighbours(graph, LAVROV)
    labels = {n["label"] for n in one["neighbours"]}
    assert {"Mnatsakanyan–Lavrov meeting", "Russia"} <= labels
    assert "Zohrab Mnatsakanyan" not in labels  # the meeting was planned: no metWith
    assert all(n["distance"] == 1 for n in one["neighbours"])
    two = traversal.neighbours(graph, LAVROV, k=2, predicates=PARTICIPANT)
    assert {n["iri"]: n["distance"] for n in two["neighbours"]} == {
        KG + "mnatsakanyan-lavrov-meeting": 1,
        MNATSAKANYAN: 2,
    }
    outgoing = traversal.neighbours(graph, LAVROV, direction="out", predicates=PARTICIPANT)
    assert outgoing["neighbours"] == []  # participant edges point from the event
    incoming = traversal.neighbours(graph, LAVROV, direction="in", predicates=PARTICIPANT)
    assert [e["source"] for e in incoming["edges"]] == [KG + "mnatsakanyan-lavrov-meeting"]


def test_ego_network_components_centrality_communities(graph: nx.MultiDiGraph) -> None:
    ego = traversal.ego_network(graph, LAVROV, radius=1)
    assert set(ego) == {LAVROV, KG + "mnatsakanyan-lavrov-meeting", KG + "russia"}
    parts = traversal.components(graph)
    assert sum(p["size"] for p in parts) == graph.number_of_nodes()
    assert parts[0]["size"] >= parts[-1]["size"]
    assert {"iri": KG + "nagorny", "label": "нагорный", "category": "Place"} in parts[-1]["nodes"]
    for measure in ("degree", "betweenness", "pagerank"):
        ranked = traversal.centrality(graph, measure=measure, top=3)  # type: ignore[arg-type]
        assert len(ranked) == 3
        assert [r["score"] for r in ranked] == sorted((r["score"] for r in ranked), reverse=True)
    top = traversal.centrality(graph, measure="degree", top=1)[0]
    assert top["degree"] == max(d for _, d in nx.Graph(graph.to_undirected()).degree())
    for method in ("louvain", "greedy"):
        found = traversal.communities(graph, method=method)  # type: ignore[arg-type]
        members = [n["iri"] for c in found for n in c["nodes"]]
        assert sorted(members) == sorted(graph)
    assert traversal.communities(graph) == traversal.communities(graph)  # fixed seed


def test_negotiation_network_person_level(graph: nx.MultiDiGraph) -> None:
    network = traversal.negotiation_network(graph, level="person")
    rows = traversal.network_rows(network)
    pairs = {(r["sourceLabel"], r["relation"], r["targetLabel"], r["date"]) for r in rows}
    assert ("Emmanuel Macron", "spokeWith", "Ilham Aliyev", "2020-10-09") in pairs
    assert ("Ceyhun Bayramov", "metWith", "Zohrab Mnatsakanyan", "2020-10-09") in pairs
    assert ("Ceyhun Bayramov", "negotiatedWith", "Zohrab Mnatsakanyan", "2020-10-09") in pairs
    assert ("Vladimir Putin", "mediatedFor", "Zohrab Mnatsakanyan", "2020-10-09") in pairs
    assert ("Armenia", "negotiatedWith", "Azerbaijan", "2020-10-09") in pairs
    assert ("OSCE Minsk Group", "mediatedFor", "Armenia", None) in pairs
    # rules.ttl: the co-chairs of a group mediate for whom the group mediates
    assert ("Russia", "mediatedFor", "Armenia", None) in pairs
    # The planned meeting and the cancelled one make nobody meet.
    assert not any(LAVROV in (r["source"], r["target"]) for r in rows)
    assert not any(r["event"] == "kg:called-off-meeting" for r in rows)
    # Symmetric relations once per pair; every edge is a triple of the graph, quoted.
    assert len([r for r in rows if r["relation"] == "spokeWith"]) == 2
    for a, b, data in network.edges(data=True):
        assert graph.has_edge(a, b, data["relation"].join(["kgo:", ""])) or graph.has_edge(
            b, a, "kgo:" + data["relation"]
        )
    assert all(r["quote"] for r in rows)
    assert {r["status"] for r in rows if r["event"]} == {"kgo:Occurred"}


def test_unrealised_meetings_are_their_own_labelled_edges(graph: nx.MultiDiGraph) -> None:
    network = traversal.negotiation_network(graph, unrealised=True)
    rows = traversal.network_rows(network)
    planned = [r for r in rows if {r["source"], r["target"]} == {LAVROV, MNATSAKANYAN}]
    assert [(r["relation"], r["status"], r["date"]) for r in planned] == [
        ("planned meeting", "kgo:Planned", "2020-10-12")
    ]
    assert planned[0]["quote"].startswith("Mnatsakanyan would instead meet")
    cancelled = [r for r in rows if r["event"] == "kg:called-off-meeting"]
    assert [(r["relation"], r["status"]) for r in cancelled] == [
        ("cancelled meeting", "kgo:Cancelled")
    ]
    # Not relations of the graph: RDF exports leave them out.
    edge = next(d for _, _, d in network.edges(data=True) if d.get("unrealised"))
    assert "predicate" not in edge
    state = traversal.network_rows(
        traversal.negotiation_network(graph, level="state", unrealised=True)
    )
    assert ("Armenia", "planned meeting", "Russia") in {
        (r["sourceLabel"], r["relation"], r["targetLabel"]) for r in state
    }


def test_negotiation_network_state_level(graph: nx.MultiDiGraph) -> None:
    network = traversal.negotiation_network(graph, level="state")
    rows = traversal.network_rows(network)
    found = {(r["sourceLabel"], r["label"], r["targetLabel"], r["date"]) for r in rows}
    # The derived relation between the states, dated by their ministers' talks.
    assert ("Armenia", "negotiatedWith", "Azerbaijan", "2020-10-09") in found
    # The ministers' own relations rest on the same talks: not repeated through officials.
    assert not any(
        r["through"] and r["event"] == "kg:moscow-talks" and r["relation"] != "mediatedFor"
        for r in rows
    )
    # The presidents' calls, through the people acting for France and Azerbaijan.
    call = [r for r in rows if r["label"] == "spokeWith (officials)" and r["date"]]
    assert [(r["sourceLabel"], r["targetLabel"], r["through"]) for r in call] == [
        ("Azerbaijan", "France", ["Emmanuel Macron", "Ilham Aliyev"])
    ]
    assert ("Russia", "mediatedFor (officials)", "Armenia", "2020-10-09") in found
    assert all(network.nodes[n]["category"] != "Person" for n in network)
    lifted = next(d for _, _, d in network.edges(data=True) if d.get("through"))
    assert "predicate" not in lifted  # no such triple between the states


def test_window_restricts_the_negotiation_network(small: KnowledgeGraph) -> None:
    options = make_options(small, start="2020-10-10")
    assert options.start == dt.date(2020, 10, 10)
    graph = project(small, options)
    rows = traversal.network_rows(traversal.negotiation_network(graph, unrealised=True))
    assert not any(r["date"] == "2020-10-09" for r in rows)
    assert any(r["date"] == "2020-10-12" for r in rows)
    # Relations resting only on events outside the window are left out, not undated.
    assert not graph.has_edge(MACRON, ALIYEV, "kgo:spokeWith")
    assert graph.has_edge(MACRON, KG + "nikol-pashinyan", "kgo:spokeWith")  # undated call


# --- the curated graph ---------------------------------------------------------------------


def test_curated_names_resolve(kg: KnowledgeGraph) -> None:
    from karabakh_kg.graph import lookup

    assert lookup.resolve(kg, "Mingachevir") == lookup.resolve(kg, "MINGECHEVIR")
    assert "gazan" in lookup.resolve(kg, "gazancetsots")
    assert lookup.resolve(kg, "Lavrov") == KG + "sergei-lavrov"


def test_curated_asserted_edges_quote_the_seed(kg: KnowledgeGraph) -> None:
    from karabakh_kg.ontology import vocab

    seed = vocab.seed_file().read_text(encoding="utf-8")
    graph = project(kg)
    asserted = [d for _, _, d in graph.edges(data=True) if d["kind"] == "asserted"]
    assert asserted
    for data in asserted:
        assert data["evidence"], data
        for quote in data["quotes"]:
            assert quote in seed
    # The reasoner's derived edges are part of the projection.
    assert any(d["kind"] == "derived" for _, _, d in graph.edges(data=True))


def test_curated_paths_and_negotiation_network(kg: KnowledgeGraph) -> None:
    graph = project(kg)
    found = traversal.shortest_path(graph, MACRON, ALIYEV)
    assert found is not None and found["length"] <= 2
    for level in ("person", "state"):
        network = traversal.negotiation_network(graph, level=level)  # type: ignore[arg-type]
        assert network.number_of_edges()
        for a, b, data in network.edges(data=True):
            # Every edge stands for a triple the graph holds (asserted or derived) ...
            if "predicate" in data:
                ask = f"ASK {{ <{a}> <{data['predicate']}> <{b}> }}"
                assert kg.query(ask), (a, data["relation"], b)
            # ... and its event took place.
            if data.get("event"):
                event = data["event"].replace("kg:", KG)
                ask = f"ASK {{ <{event}> kgo:eventStatus kgo:Occurred }}"
                assert kg.query(ask), data["event"]
    rows = traversal.network_rows(traversal.negotiation_network(graph))
    # The meeting with Lavrov was only announced: the reasoner derives no metWith, nor do we.
    assert not [r for r in rows if {r["source"], r["target"]} == {LAVROV, MNATSAKANYAN}]
    rows = traversal.network_rows(traversal.negotiation_network(graph, unrealised=True))
    lavrov = [r for r in rows if {r["source"], r["target"]} == {LAVROV, MNATSAKANYAN}]
    assert [(r["relation"], r["date"]) for r in lavrov] == [("planned meeting", "2020-10-12")]


def test_the_network_follows_the_ontology(
    graph: nx.MultiDiGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which relations and events the network draws, and the words for statuses, are the
    ontology's (kgo:networkRelation, kgo:networkEventRank, the statuses' labels)."""
    text = vocab.ontology_file().read_text(encoding="utf-8")
    edited = text.replace("kgo:spokeWith kgo:networkRelation true .\n", "").replace(
        'rdfs:label "planned"@en', 'rdfs:label "scheduled"@en'
    )
    assert edited.count("networkRelation true") == text.count("networkRelation true") - 1
    ontology = tmp_path / "karabakh.ttl"
    ontology.write_text(edited, encoding="utf-8")
    before = traversal.network_rows(traversal.negotiation_network(graph, unrealised=True))
    assert {"spokeWith", "planned meeting"} <= {r["relation"] for r in before}
    monkeypatch.setattr(vocab, "ontology_file", lambda: ontology)
    traversal.ontology_vocabulary.cache_clear()
    try:
        after = traversal.network_rows(traversal.negotiation_network(graph, unrealised=True))
    finally:
        monkeypatch.undo()
        traversal.ontology_vocabulary.cache_clear()
    relations = {r["relation"] for r in after}
    assert "spokeWith" not in relations and "planned meeting" not in relations
    lavrov = [r for r in after if {r["source"], r["target"]} == {LAVROV, MNATSAKANYAN}]
    assert [r["relation"] for r in lavrov] == ["scheduled meeting"]


def _network_with_ontology(
    graph: nx.MultiDiGraph,
    edited: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    level: str = "person",
) -> list[dict]:
    """The network's rows when the project's ontology file reads ``edited``."""
    ontology = tmp_path / "karabakh.ttl"
    ontology.write_text(edited, encoding="utf-8")
    monkeypatch.setattr(vocab, "ontology_file", lambda: ontology)
    traversal.ontology_vocabulary.cache_clear()
    try:
        return traversal.network_rows(
            traversal.negotiation_network(graph, level=level, unrealised=True)  # type: ignore[arg-type]
        )
    finally:
        monkeypatch.undo()
        traversal.ontology_vocabulary.cache_clear()


def test_the_networks_parties_statuses_and_stand_ins_are_the_ontologys(
    graph: nx.MultiDiGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which properties link an event to its parties (kgo:networkParty), which statuses say
    it took place (kgo:networkRealised) and who stands for whom at the state level
    (kgo:networkStandsFor) are annotations of the ontology, not lists in the code: an
    ontology with one more party property, one more realised status or one stand-in less
    draws another network."""
    text = vocab.ontology_file().read_text(encoding="utf-8")
    planned = ("Sergei Lavrov", "planned meeting", "Zohrab Mnatsakanyan")
    before = traversal.network_rows(traversal.negotiation_network(graph, unrealised=True))
    assert planned in {(r["sourceLabel"], r["relation"], r["targetLabel"]) for r in before}
    assert "Moscow" not in {r["sourceLabel"] for r in before} | {r["targetLabel"] for r in before}
    # the planned meeting's place becomes one of its parties
    rows = _network_with_ontology(
        graph, text + "\nkgo:location kgo:networkParty true .\n", tmp_path, monkeypatch
    )
    assert {("Moscow", "planned meeting", "Sergei Lavrov")} <= {
        (r["sourceLabel"], r["relation"], r["targetLabel"]) for r in rows
    }
    # a planned event now counts as having taken place: it is no unrealised edge
    rows = _network_with_ontology(
        graph, text + "\nkgo:Planned kgo:networkRealised true .\n", tmp_path, monkeypatch
    )
    assert not any(r["relation"] == "planned meeting" for r in rows)
    # people no longer stand for their states
    state = traversal.network_rows(traversal.negotiation_network(graph, level="state"))
    people = {"Emmanuel Macron", "Ilham Aliyev", "Nikol Pashinyan"}
    assert not people & ({r["sourceLabel"] for r in state} | {r["targetLabel"] for r in state})
    edited = text.replace("kgo:actsFor kgo:networkStandsFor kgo:Person .\n", "")
    assert edited != text
    rows = _network_with_ontology(graph, edited, tmp_path, monkeypatch, level="state")
    assert people <= {r["sourceLabel"] for r in rows} | {r["targetLabel"] for r in rows}
