"""``serve --backend`` without a local copy: the event table, the timeline and the map read
one page of events from the engine
(:meth:`~karabakh_kg.server.web.engine_graph.EngineGraph.events`), at any size (past the
whole-graph bound too), reconciliation and the whole-graph views the graph in bounded
queries (:meth:`~karabakh_kg.server.web.engine_graph.EngineGraph.whole`), and they answer
what the embedded store answers over the curated graph, on the embedded store, the
Oxigraph server and Virtuoso (real engines, tests/engines.py, never mocks)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pyoxigraph as ox
import pytest
import test_backend_graph as shared
from conftest import LiveServer, start_server, stop_server
from engines import Engine

from karabakh_kg.graph import (
    ONTOLOGY,
    GraphFilter,
    KnowledgeGraph,
    events,
    gazetteer,
    perspectives,
    timeline_items,
    traversal,
)
from karabakh_kg.graph import export as exports
from karabakh_kg.graph import reconcile as rc
from karabakh_kg.graph.store.embedded import EmbeddedStore
from karabakh_kg.graph.store.publish import publish
from karabakh_kg.graph.store.remote import RemoteStore
from karabakh_kg.ontology import vocab
from karabakh_kg.server.app import create_app
from karabakh_kg.server.problems import Problem
from karabakh_kg.server.settings import Settings
from karabakh_kg.server.sparql.backend import BackendStore, EngineOutline, published_copy
from karabakh_kg.server.web.engine_graph import EngineGraph

KG = str(vocab.KG)
# L37: "It was announced that Mnatsakanyan would instead meet with Russian Foreign
# Minister Sergei Lavrov in Moscow on Monday." (Monday 12 October 2020)
MOSCOW_QUOTE = "would instead meet with Russian Foreign Minister Sergei Lavrov in Moscow"
CLAIMANT = "kg:azerbaijan-defence-ministry"


@pytest.fixture(scope="module")
def reader(kg: KnowledgeGraph) -> EngineGraph:
    """What a server without a copy reads with, over the embedded store holding the curated
    graph as ``karabakh-kg publish`` writes it."""
    store = EmbeddedStore(store=ox.Store())
    publish(kg, store)
    outline = published_copy(store, 0)
    assert isinstance(outline, EngineOutline)
    ontology = kg.store.quads_for_pattern(None, None, None, ONTOLOGY)
    return EngineGraph(store, outline.version, ontology, outline=outline)


def test_views_over_the_graph_read_from_the_store_are_the_whole_graphs(
    kg: KnowledgeGraph, reader: EngineGraph
) -> None:
    """The event table (every perspective kind), the timeline, the map, reconciliation and
    the whole-graph traversals and exports over what ``whole`` reads from the store are
    those of the curated graph, row for row and byte for byte (the data version aside)."""
    whole = reader.whole("test")
    assert len(whole.store) < len(kg.store) / 2  # not a copy of every graph
    for name in ("all", "article", "curated", CLAIMANT):
        got = events.table_rows(whole, events.event_records(whole, name))
        assert got == events.table_rows(kg, events.event_records(kg, name)), name
        assert got, name
    assert events.perspective_names(whole) == events.perspective_names(kg)
    assert timeline_items(whole) == timeline_items(kg)
    assert timeline_items(whole, kinds=["Meeting"], participants=["Lavrov"]) == (
        timeline_items(kg, kinds=["Meeting"], participants=["Lavrov"])
    )
    assert gazetteer.map_places(whole, "article") == gazetteer.map_places(kg, "article")
    for text in ("Pashinian", "Shushi", "Q7747"):
        query = rc.Query(text, [], "any", 3, [])
        got_rc = [c.to_dict() for c in rc.Reconciler(whole).reconcile(query)]
        assert got_rc == [c.to_dict() for c in rc.Reconciler(kg).reconcile(query)], text
    by_post = rc.Query(None, ["Person"], "any", 5, [("holdsPost", ["President of Russia"])])
    assert [c.iri for c in rc.Reconciler(whole).reconcile(by_post)] == [KG + "vladimir-putin"]
    graph, expected = GraphFilter().project(whole), GraphFilter().project(kg)
    assert traversal.components(graph) == traversal.components(expected)
    assert traversal.centrality(graph, measure="betweenness", top=10) == (
        traversal.centrality(expected, measure="betweenness", top=10)
    )
    network = traversal.negotiation_network(graph, level="state")
    assert traversal.network_rows(network) == traversal.network_rows(
        traversal.negotiation_network(expected, level="state")
    )
    graphml = exports.get("graphml")
    written = graphml.write(graph, whole).replace(whole.version.encode(), kg.version.encode())
    assert written == graphml.write(expected, kg)


STRONG = 75.0
"""The candidates over the engine are those of the whole graph from this score (a name
that starts like, or contains, the text; the first four letters of its words are what
the engine is asked for); below it, close spellings the whole index finds by their
closeness alone may be missing (docs/deployment.md)."""


def _strong(candidates: list[Any]) -> list[dict[str, Any]]:
    found = [c if isinstance(c, dict) else c.to_dict() for c in candidates]
    return [c for c in found if c["score"] >= STRONG]


# test_reconcile.py's names: the article's spellings, other romanisations, a Wikidata id
SPELLINGS = ["Pashinian", "Mnatsakanian", "Shushi", "Lachyn", "Lacin", "Mingechevir", "Q7747"]


def test_event_pages_read_from_the_store_are_the_whole_graphs(
    kg: KnowledgeGraph, reader: EngineGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The events a perspective's evidence speaks of, read by name, are those of the event
    table over the whole graph; over what is read of a page of them (all, or 20 from the
    11th), the rows of the event table, the timeline items and the map's places and events
    are the whole graph's for those events; a page past its bound of quads is refused,
    naming the bound and ``limit=``."""
    from karabakh_kg.server.web import engine_graph

    for name in ("all", CLAIMANT):
        expected = events.event_records(kg, name)
        index = reader.event_index(reader.scope(name)[1], "test")
        assert index == sorted(r.iri for r in expected) and len(index) > 50, name
        for offset, limit in ((0, 1000), (10, 20)):
            page = set(events.page_events(index, offset, limit))
            assert len(page) == min(limit, len(index) - offset)
            part = reader.events(sorted(page), "test", places=True)
            got = [r for r in events.event_records(part, name) if r.iri in page]
            want = [r for r in expected if r.iri in page]
            assert events.table_rows(part, got) == events.table_rows(kg, want), name
            assert events.perspective_names(part) == events.perspective_names(kg)
            items = [i for i in timeline_items(part, perspective=name) if i["event"] in page]
            assert items == [i for i in timeline_items(kg, perspective=name) if i["event"] in page]
            assert items or offset
            placed, whole = gazetteer.map_places(part, name), gazetteer.map_places(kg, name)
            for found in (placed, whole):
                for place in found["placed"] + found["unplaced"]:
                    place["events"] = [e for e in place["events"] if e["event"] in page]
            assert placed == whole, name
    # the table reads no place layer: its points are its events' places'; the deaths an
    # event caused are its fatalities, also off the page (L47, L56: the cannon shot that
    # killed a woman, the clashes at Lulasaz)
    causes = [KG + "cannon-shot-killing-azerbaijani-woman", KG + "lulasaz-clashes", *index[:9]]
    located = []
    for page in (set(causes), set(index[10:30])):
        part = reader.events(sorted(page), "test")
        got = [r for r in events.event_records(part, "all") if r.iri in page]
        want = [r for r in events.event_records(kg, "all") if r.iri in page]
        rows = events.table_rows(part, got)
        assert rows == events.table_rows(kg, want)
        located += [row["event_id"] for row in rows if row["latitude"] is not None]
    assert located
    assert all(r.fatalities for r in want if r.iri in causes[:2])
    # a page past its bound, on a reader of its own (it remembers the pages it refused)
    fresh = EngineGraph(reader.engine, reader.version, reader.ontology, outline=reader.outline)
    monkeypatch.setattr(engine_graph, "EVENT_PAGE_QUADS", 1000)
    asked: list[str] = []
    monkeypatch.setattr(fresh, "engine", _Counting(reader.engine, asked))
    with pytest.raises(Problem) as refused:
        fresh.events(index[:30], "the event table")
    assert refused.value.code == "too-large" and "1000 quads" in refused.value.detail
    assert "limit=" in refused.value.detail
    assert asked
    asked.clear()
    with pytest.raises(Problem) as again:
        fresh.events(index[:30], "the event table")
    assert again.value.detail == refused.value.detail
    assert not asked  # refused again without reading it again
    with pytest.raises(Problem):
        fresh.events(index[30:60], "the event table")
    assert asked  # another page is read


def test_the_maps_places_are_read_once_and_bounded_on_their_own(
    reader: EngineGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every place the map lists is the same for every page of events: it is read once per
    data version. Past its own bound, every map page answers 400 naming the places (asking
    for fewer events would not help), without reading them again, and the event table's
    pages, which list no place, are still answered."""
    from karabakh_kg.server.web import engine_graph

    every_place = f"BIND(<{vocab.KGO}Place> AS ?o)"  # the query listing every place
    index = reader.event_index(reader.scope("all")[1], "test")
    fresh = EngineGraph(reader.engine, reader.version, reader.ontology, outline=reader.outline)
    asked: list[str] = []
    monkeypatch.setattr(fresh, "engine", _Counting(reader.engine, asked))
    fresh.events(index[:10], "the map", places=True)
    fresh.events(index[10:20], "the map", places=True)
    assert sum(every_place in query for query in asked) == 1
    small = EngineGraph(reader.engine, reader.version, reader.ontology, outline=reader.outline)
    monkeypatch.setattr(engine_graph, "PLACE_LAYER_QUADS", 50)
    asked.clear()
    monkeypatch.setattr(small, "engine", _Counting(reader.engine, asked))
    with pytest.raises(Problem) as refused:
        small.events(index[:1], "the map", places=True)
    detail = refused.value.detail
    assert refused.value.code == "too-large" and "every place" in detail and "50 quads" in detail
    assert "limit=" not in detail
    asked.clear()
    with pytest.raises(Problem) as again:
        small.events(index[1:2], "the map", places=True)  # another page: the same answer
    assert again.value.detail == detail and not any(every_place in q for q in asked)
    table = small.events(index[:1], "the event table")
    assert [r.iri for r in events.event_records(table, "all") if r.iri == index[0]]


class _Counting:
    """A store whose SELECTs are counted."""

    def __init__(self, store: Any, asked: list[str]) -> None:
        self.store, self.asked = store, asked

    def select(self, query: str) -> Any:
        self.asked.append(query)
        return self.store.select(query)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_each_event_read_alone_is_the_whole_graphs(kg: KnowledgeGraph, reader: EngineGraph) -> None:
    """A page of one event holds everything its row and timeline items name, whatever the
    other events name: each placed event's row and items read alone are the whole graph's
    (its place, the regions and the country around it are named on its own page). The
    foreign ministers' arrival in Moscow (L37: "would instead meet with Russian Foreign
    Minister Sergei Lavrov in Moscow") is in Russia, which no other quad of its page names."""
    whole = {r["event_id"]: r for r in events.table_rows(kg, events.event_records(kg, "all"))}
    whole_items = timeline_items(kg, perspective="all")
    index = reader.event_index(reader.scope("all")[1], "test")
    assert sorted(whole) == index
    placed = [event for event in index if whole[event]["location"]]
    assert len(placed) > 20
    for event in placed:
        part = reader.events([event], "test")
        rows = events.table_rows(
            part, [r for r in events.event_records(part, "all") if r.iri == event]
        )
        assert rows == [whole[event]], event
        items = [i for i in timeline_items(part, perspective="all") if i["event"] == event]
        assert items == [i for i in whole_items if i["event"] == event], event
    arrival = whole[KG + "foreign-ministers-arrival-in-moscow"]
    assert arrival["location"] == "Moscow" and arrival["country"] == "Russia"


def test_an_unknown_kind_is_answered_alike_over_what_is_read(
    kg: KnowledgeGraph, reader: EngineGraph
) -> None:
    """An unknown kind's message suggests the same kinds over a page read from the store as
    over the whole graph (the closest names, ties in the names' order)."""
    part = reader.events(reader.event_index(reader.scope("all")[1], "test")[:5], "test")
    messages = set()
    for graph in (kg, part):
        with pytest.raises(ValueError) as refused:
            timeline_items(graph, kinds=["Banana"])
        messages.add(str(refused.value))
    assert len(messages) == 1, messages
    assert next(iter(messages)).startswith("unknown event kind 'Banana'; kinds include ")


def test_perspectives_once_read_wait_for_no_read(
    reader: EngineGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the perspectives are read, a request finds them without waiting for a read of
    them that another request holds (it waited, then answered 503 busy)."""
    views = reader.perspective_list()
    monkeypatch.setattr(reader, "wait", 0.05)
    with reader._perspectives_reading:  # another request reading them
        assert reader.perspective_list() is views
        assert reader.scope(CLAIMANT)[1].units  # a claimant's evidence units, too


def test_reconciliation_over_what_it_reads_is_the_whole_graphs(
    kg: KnowledgeGraph, reader: EngineGraph
) -> None:
    """Reconciling names, extending and describing entities over the part of the store
    :meth:`EngineGraph.reconciling` reads for them (their names, what is said of the
    candidates and of their values) gives the whole graph's candidates, scores and
    values; a batch reads one part for all its names."""
    texts = [*SPELLINGS, "Lavrov", "kg:emmanuel-macron", "Aliyev"]
    part = reader.reconciling(texts)
    assert len(part.store) < len(kg.store) / 2
    every, some = rc.Reconciler(kg), rc.Reconciler(part)
    for text in texts:
        for types in ([], ["Person"]):
            query = rc.Query(text, types, "any", 5, [("holdsPost", ["Foreign Minister"])])
            got, expected = some.reconcile(query), every.reconcile(query)
            assert _strong(got) == _strong(expected), (text, types)
            assert got or types, text  # (Shushi is no person)
            # the weaker ones: close spellings among the names read, scored alike
            query.limit = rc.MAX_LIMIT
            scores = {c.iri: c.score for c in every.reconcile(query)}
            assert all(scores.get(c.iri) == c.score for c in got), (text, types)
    ids = ["vladimir-putin", "sergei-lavrov", "nobody-at-all"]
    described = rc.Reconciler(reader.reconciling([], [*map(rc.entity_iri, ids), "a b>"]))
    pids = ["holdsPost", "actsFor", "wikidata", "memberOf"]
    assert described.extend(ids, pids) == every.extend(ids, pids)
    assert described.values(KG + "sergei-lavrov") == every.values(KG + "sergei-lavrov")
    assert rc.type_suggestions(reader.ontology_graph(), "per") == rc.type_suggestions(kg, "per")


def test_a_perspective_read_from_the_store_is_its_view_of_the_whole_graph(
    kg: KnowledgeGraph, reader: EngineGraph
) -> None:
    chosen, scope = reader.scope(CLAIMANT)
    part, view = reader.whole("test", scope), perspectives.view(kg, chosen)
    assert part.version.endswith(":" + chosen.name)
    graph, expected = GraphFilter().project(part), GraphFilter().project(view)
    assert traversal.components(graph) == traversal.components(expected)
    gexf = exports.get("gexf")
    renamed = gexf.write(graph, part).replace(part.version.encode(), view.version.encode())
    assert renamed == gexf.write(expected, view)
    # the marks of derived edges resting on one claimant alone, from the supports read
    # (none in the negotiation network; 20 around kg:armenia: test_backend_graph.py)
    every = GraphFilter().project(reader.whole("test"))
    derived = [
        (ox.NamedNode(s), ox.NamedNode(d["predicate"]), ox.NamedNode(o))
        for s, o, d in every.edges(data=True)
        if d.get("kind") == "derived"
    ]
    marks = perspectives.recorded_single_claimants(reader.marks(every, "test"), derived)
    ones = perspectives.single_claimants(kg, derived)
    assert {t: who for t, (who, _) in marks.items()} == ones and len(ones) > 20


def test_a_whole_graph_read_past_its_bound_is_refused(kg: KnowledgeGraph) -> None:
    store = EmbeddedStore(store=ox.Store())
    publish(kg, store)
    outline = published_copy(store, 0)
    assert isinstance(outline, EngineOutline)
    small = EngineGraph(store, outline.version, [], outline=outline, whole_limit=1000)
    with pytest.raises(Problem) as refused:
        small.whole("the event table")
    assert refused.value.status == 400 and refused.value.code == "too-large"
    assert "the event table" in refused.value.detail and "1000 quads" in refused.value.detail


def test_requests_arriving_during_a_whole_graph_read_wait_for_it(kg: KnowledgeGraph) -> None:
    """Four requests at once read the graph once (the others wait, then find it kept)."""
    import threading

    from test_backend_pages import CountingStore

    store = CountingStore(ox.Store())
    publish(kg, store)
    outline = published_copy(store, 0)
    assert isinstance(outline, EngineOutline)

    def queries_of(readers: int) -> int:
        reader = EngineGraph(store, outline.version, [], outline=outline)
        store.queries = 0
        threads = [threading.Thread(target=reader.whole, args=("t",)) for _ in range(readers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return store.queries

    one = queries_of(1)
    assert one >= 2 and queries_of(4) == one


def test_reads_kept_are_every_sources_and_the_last_perspectives_and_past_the_bound_none(
    kg: KnowledgeGraph,
) -> None:
    """Perspectives read in turn do not push every source's read out (the event table and
    the timeline of everyone stay answered without reading the engine again), and a graph
    found past the bound is refused again without reading it."""
    from test_backend_pages import CountingStore

    store = CountingStore(ox.Store())
    publish(kg, store)
    outline = published_copy(store, 0)
    assert isinstance(outline, EngineOutline)
    reader = EngineGraph(store, outline.version, [], outline=outline)
    reader.whole("the event table")
    for name in (CLAIMANT, "article", CLAIMANT):
        reader.whole("the timeline", reader.scope(name)[1])
    store.queries = 0
    reader.whole("the event table")
    reader.whole("the timeline", reader.scope(CLAIMANT)[1])
    assert store.queries == 0
    small = EngineGraph(store, outline.version, [], outline=outline, whole_limit=1000)
    with pytest.raises(Problem):
        small.whole("the event table")
    store.queries = 0
    with pytest.raises(Problem) as again:
        small.whole("the map")
    assert again.value.code == "too-large" and "the map" in again.value.detail
    assert store.queries == 0


def test_first_requests_at_once_to_a_server_read_the_graph_once(kg: KnowledgeGraph) -> None:
    """Four first requests at once to a server over an engine without a copy cost the
    engine what one costs: one reader is made for the data version, whose read the others
    wait for."""
    import threading

    from test_backend_pages import CountingStore

    class CountingEngine(CountingStore):
        def bounded(self, timeout: float) -> CountingEngine:
            return self  # (a remote store's copy with a request time limit)

    def queries_of(requests: int) -> int:
        store = CountingEngine(ox.Store())
        publish(kg, store)
        outline = published_copy(store, 0)
        assert isinstance(outline, EngineOutline)
        settings = Settings(query_workers=1, backend_refresh=0, backend_copy_max_triples=0)
        live = start_server(create_app(outline, settings, BackendStore(store)))
        try:
            assert httpx.get(live.url + "/health", timeout=60).status_code == 200
            store.queries = 0
            answers: list[int] = []

            def fetch() -> None:
                answers.append(httpx.get(live.url + "/timeline/items", timeout=120).status_code)

            threads = [threading.Thread(target=fetch) for _ in range(requests)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert answers == [200] * requests
            return store.queries
        finally:
            stop_server(live)

    assert queries_of(4) == queries_of(1)


# -- over HTTP: a server on an engine without a copy, against the embedded server ---------

# The servers over each engine (the copy disabled) and the engines emptied at the end,
# as tests/test_backend_graph.py has them
outline_server = shared.outline_server
unpublished = shared.unpublished
USED = shared.USED

VIRTUOSO_GAPS = {b'"172800.0"^^xsd:duration': b'"P2D"^^xsd:duration'}
"""What Virtuoso 7.2 gives back otherwise than it was published (docs/deployment.md,
"Known gaps"): an ``xsd:duration`` as seconds (the curated graph's one duration: the
border clashes of August 2014, L59)."""


RECONCILE = {
    "q0": {"query": "Pashinian", "limit": 3},
    "q1": {"query": "Lachyn", "type": "Place", "limit": 3},
    "q2": {"query": "Lavrov", "properties": [{"pid": "holdsPost", "v": "kg:nothing"}]},
}
VIEWS = [
    ("/export/events.csv", {}),
    ("/export/events.json", {"perspective": CLAIMANT}),
    ("/timeline/items", {"from": "2020-10-01", "to": "2020-10-31", "participant": "Lavrov"}),
    ("/timeline", {"perspective": "article"}),
    ("/map/places", {}),
    ("/map", {"perspective": CLAIMANT}),
    ("/reconcile", {"queries": json.dumps(RECONCILE)}),
    (
        "/reconcile",
        {"extend": json.dumps({"ids": ["vladimir-putin"], "properties": [{"id": "holdsPost"}]})},
    ),
    ("/reconcile/suggest/entity", {"prefix": "lavr"}),
    ("/reconcile/propose_properties", {"type": "Person"}),
    ("/reconcile/preview", {"id": "nikol-pashinyan"}),
    # bad input: the embedded server's problems
    ("/timeline/items", {"perspective": "nobody's"}),
    ("/timeline/items", {"participant": "Nobody Atall"}),
    ("/map/places", {"perspective": "nobody's"}),
    ("/reconcile", {"queries": json.dumps({"q0": {"query": "x", "type": "Banana"}})}),
]


def _body(text: str) -> str:
    """A page's main part (the footer names the data version and its time)."""
    return text[text.index("<main") : text.index("</main>")] if "<main" in text else text


def test_views_over_http_are_the_embedded_servers(
    outline_server: LiveServer, live_server: LiveServer, kg: KnowledgeGraph
) -> None:
    """The same answers as the embedded server's, with the copy disabled (bound 0)."""
    version = outline_server.version  # type: ignore[attr-defined]
    for path, params in VIEWS:
        over_engine = httpx.get(outline_server.url + path, params=params, timeout=120)
        local = httpx.get(live_server.url + path, params=params, timeout=120)
        assert over_engine.status_code == local.status_code, (path, params, over_engine.text)
        kind = over_engine.headers["content-type"]
        assert kind == local.headers["content-type"], path
        if "queries" in params and over_engine.status_code == 200:
            got, expected = over_engine.json(), local.json()
            assert got.keys() == expected.keys()
            for key in got:  # (see STRONG)
                assert _strong(got[key]["result"]) == _strong(expected[key]["result"]), key
        elif "json" in kind:
            assert over_engine.json() == local.json(), (path, params)
        else:
            got = _body(over_engine.text.replace(version, kg.version))
            assert got == _body(local.text), (path, params)
    # what the article says, read from the engine: the meeting in Moscow, planned
    table = httpx.get(outline_server.url + "/export/events.csv", timeout=120)
    rows = list(csv.DictReader(io.StringIO(table.text)))
    (moscow,) = [r for r in rows if MOSCOW_QUOTE in r["notes"]]
    assert moscow["event_date"] == "2020-10-12" and "37" in moscow["line"].split(" | ")
    assert moscow["location"] == "Moscow"


WHOLE = [
    ("/graph/components", {}),
    ("/graph/centrality", {"measure": "pagerank", "top": "10"}),
    ("/graph/communities", {}),
    ("/graph/network", {"level": "state"}),  # (its derived edges' single-claimant marks)
    ("/graph/network", {"perspective": CLAIMANT, "unrealised": "true"}),
    ("/export/graphml", {}),
    ("/export/ttl", {"perspective": "article"}),
    ("/export/gexf", {"node": ["kg:armenia", "kg:azerbaijan"], "network": "state"}),
]


def test_whole_graph_traversals_and_exports_over_http_are_the_embedded_servers(
    outline_server: LiveServer, live_server: LiveServer, kg: KnowledgeGraph
) -> None:
    """The whole-graph traversals and exports, read from the engine without a copy (the
    graph in bounded queries, then the supports of the network's derived edges): the
    embedded server's answers, byte for byte (exports name the data version)."""
    version = outline_server.version.encode()  # type: ignore[attr-defined]
    for path, params in WHOLE:
        over_engine = httpx.get(outline_server.url + path, params=params, timeout=120)
        local = httpx.get(live_server.url + path, params=params, timeout=120)
        assert local.status_code == 200, (path, local.text)
        assert over_engine.status_code == 200, (path, params, over_engine.text)
        if over_engine.headers["content-type"].startswith("application/json"):
            assert over_engine.json() == local.json(), (path, params)
        else:
            got = over_engine.content.replace(version, kg.version.encode())
            if outline_server.engine == "virtuoso":  # type: ignore[attr-defined]
                for given, published_as in VIRTUOSO_GAPS.items():
                    got = got.replace(given, published_as)
            assert got == local.content, (path, params)


def test_a_view_past_the_bound_over_http_is_one_problem(
    oxigraph_engine: Engine, kg: KnowledgeGraph
) -> None:
    """Above ``KARABAKH_KG_BACKEND_WHOLE_MAX_QUADS`` the whole-graph views answer 400
    ``too-large`` naming the bound; the event views, which read their page of events
    alone, answer."""
    remote = oxigraph_engine.store()
    assert isinstance(remote, RemoteStore)
    publish(kg, remote)
    USED.append(oxigraph_engine)
    outline = published_copy(remote, 0)
    settings = Settings.from_env(
        {"KARABAKH_KG_BACKEND_WHOLE_MAX_QUADS": "500"},
        query_workers=1,
        backend_refresh=0,
        backend_copy_max_triples=0,
    )
    live = start_server(create_app(outline, settings, BackendStore(remote)))
    try:
        refused = httpx.get(live.url + "/graph/components", timeout=60)
        assert refused.status_code == 400, refused.text
        assert refused.json()["code"] == "too-large"
        assert "500 quads" in refused.json()["detail"], refused.text
        for path in ("/timeline/items", "/export/events.csv", "/map/places"):
            answered = httpx.get(live.url + path, timeout=60)
            assert answered.status_code == 200, (path, answered.text)
        manifest = httpx.get(live.url + "/reconcile", timeout=60)
        assert manifest.status_code == 200  # (the manifest reads nothing)
    finally:
        stop_server(live)


LOW_WHOLE_BOUND = 1000
"""The whole-graph bound of the server past it: the curated graph's read is about 7 300
quads, so every view reading the graph whole answers 400 there."""


@pytest.fixture(scope="module")
def past_the_bound(
    request: pytest.FixtureRequest, outline_server: LiveServer
) -> Iterator[LiveServer]:
    """A second server on the engine of ``outline_server`` (the curated graph published,
    the copy disabled) whose whole-graph bound the curated graph passes."""
    engine: Engine = request.getfixturevalue(f"{outline_server.engine}_engine")  # type: ignore[attr-defined]
    remote = engine.store()
    outline = published_copy(remote, 0)
    assert isinstance(outline, EngineOutline) and len(outline.store) == 0
    settings = Settings.from_env(
        {"KARABAKH_KG_BACKEND_WHOLE_MAX_QUADS": str(LOW_WHOLE_BOUND)},
        query_workers=2,
        backend_refresh=0,
        backend_copy_max_triples=0,
    )
    live = start_server(create_app(outline, settings, BackendStore(remote)))
    live.version = outline.version  # type: ignore[attr-defined]
    yield live
    stop_server(live)


EVENT_VIEWS = [
    ("/export/events.csv", {}),
    ("/export/events.json", {"perspective": CLAIMANT}),
    ("/export/events.json", {"limit": "10", "offset": "20"}),
    ("/timeline/items", {"from": "2020-10-01", "to": "2020-10-31", "participant": "Lavrov"}),
    ("/timeline/items", {"perspective": "article", "limit": "30", "offset": "5"}),
    ("/timeline", {"perspective": "article"}),
    ("/map/places", {}),
    ("/map/places", {"perspective": CLAIMANT, "limit": "7", "offset": "40"}),
    ("/map", {"perspective": CLAIMANT}),
    # bad input: the embedded server's problems
    ("/export/events.csv", {"perspective": "nobody's"}),
    ("/timeline/items", {"participant": "Nobody Atall"}),
    ("/timeline/items", {"limit": "1001"}),
    ("/map/places", {"offset": "-1"}),
]


def _paging(answer: httpx.Response, server: LiveServer) -> tuple[str | None, str | None]:
    """The paging headers of ``answer`` (the next page's address relative to the server)."""
    following = answer.headers.get("link")
    if following is not None:
        following = following.replace(server.url, "")
    return answer.headers.get("x-total-count"), following


def test_event_views_past_the_whole_bound_are_the_embedded_servers(
    past_the_bound: LiveServer, live_server: LiveServer, kg: KnowledgeGraph
) -> None:
    """Past the whole-graph bound (where the whole-graph traversals answer 400), the event
    table, the timeline and the map read their page of events from the engine and answer
    what the embedded server answers, pages, perspectives and problems alike; a ``limit``
    past the maximum is a 422 naming it, on both."""
    refused = httpx.get(past_the_bound.url + "/graph/components", timeout=120)
    assert refused.status_code == 400 and f"{LOW_WHOLE_BOUND} quads" in refused.text
    version = past_the_bound.version  # type: ignore[attr-defined]
    for path, params in EVENT_VIEWS:
        over_engine = httpx.get(past_the_bound.url + path, params=params, timeout=120)
        local = httpx.get(live_server.url + path, params=params, timeout=120)
        assert over_engine.status_code == local.status_code, (path, params, over_engine.text)
        assert _paging(over_engine, past_the_bound) == _paging(local, live_server), path
        kind = over_engine.headers["content-type"]
        assert kind == local.headers["content-type"], path
        if "json" in kind:
            assert over_engine.json() == local.json(), (path, params)
        else:
            got = _body(over_engine.text.replace(version, kg.version))
            assert got == _body(local.text), (path, params)
        if params.get("limit") == "1001":
            assert over_engine.status_code == 422 and "1000" in over_engine.json()["detail"]
    events_in_all = str(len(events.event_records(kg)))
    table = httpx.get(past_the_bound.url + "/export/events.csv", timeout=120)
    assert table.headers["x-total-count"] == events_in_all and "link" not in table.headers
    rows = list(csv.DictReader(io.StringIO(table.text)))
    (moscow,) = [r for r in rows if MOSCOW_QUOTE in r["notes"]]
    assert moscow["event_date"] == "2020-10-12" and moscow["location"] == "Moscow"


def test_event_pages_cover_the_table(live_server: LiveServer, kg: KnowledgeGraph) -> None:
    """Pages of 25 events, followed by their ``Link`` headers, hold every row of the table
    once, each page in date order (the embedded server; past the bound, the engine's pages
    are the same: above)."""
    whole = httpx.get(live_server.url + "/export/events.json", timeout=120).json()
    assert len(whole) == len(events.event_records(kg)) > 75
    order = [row["event_id"] for row in whole]
    address: str | None = live_server.url + "/export/events.json?limit=25"
    pages: list[list[dict[str, Any]]] = []
    while address is not None:
        answer = httpx.get(address, timeout=120)
        assert answer.status_code == 200 and answer.headers["x-total-count"] == str(len(whole))
        pages.append(answer.json())
        following = answer.headers.get("link")
        address = following[1 : following.index(">")] if following else None
    assert [len(page) for page in pages] == [25, 25, 25, len(whole) - 75]
    assert sorted((r for page in pages for r in page), key=lambda r: r["event_id"]) == sorted(
        whole, key=lambda r: r["event_id"]
    )
    for page in pages:  # in the table's order within a page
        ids = [row["event_id"] for row in page]
        assert ids == sorted(ids, key=order.index)
    first = {row["event_id"] for row in pages[0]}
    assert first == set(sorted(order)[:25])  # pages split the events in the order of IRIs


def test_a_request_waits_for_another_s_read_a_bounded_time() -> None:
    """One request at a time reads a part of the graph from the engine (the others find it
    kept); a read that fails is not kept, so the others waited and then read in turn, the
    last after as many reads as there were requests. A request now waits at most the
    reader's bound for another's read: then 503 ``busy``, saying to try again."""
    import threading

    entered, released = threading.Event(), threading.Event()

    class StalledEngine:
        location = "http://engine.invalid/sparql"

        def select(self, sparql: str) -> list[Any]:
            entered.set()
            released.wait(30)
            raise Problem(504, "engine-timeout", "the engine did not answer")

        def ask(self, sparql: str) -> bool:
            raise AssertionError("not asked")

    stalled = EngineGraph(StalledEngine(), "v1", [], wait=0.2)  # type: ignore[arg-type]
    first: list[int] = []

    def read() -> None:
        try:
            stalled.whole("the map")
        except Problem as problem:
            first.append(problem.status)

    reading = threading.Thread(target=read)
    reading.start()
    try:
        assert entered.wait(30)  # the first request is reading
        with pytest.raises(Problem) as waited:
            stalled.whole("the map")
        assert waited.value.status == 503 and waited.value.code == "busy"
        assert "the map" in waited.value.detail and waited.value.headers["Retry-After"]
    finally:
        released.set()
        reading.join()
    assert first == [504]
