"""``serve --backend`` without a local copy: traversal, look-up and exports around a node
read bounded slices of the engine (server/web/engine_graph.py) and answer what the
embedded store answers over the whole curated graph, on the embedded store, the Oxigraph
server and Virtuoso (real engines, tests/engines.py, never mocks)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox
import pytest
from conftest import LiveServer, free_port, start_server, stop_server
from engines import Engine

from karabakh_kg.graph import ONTOLOGY, GraphFilter, KnowledgeGraph, perspectives, traversal
from karabakh_kg.graph.store.embedded import EmbeddedStore
from karabakh_kg.graph.store.publish import PUBLICATION, publish, published
from karabakh_kg.graph.store.remote import RemoteStore
from karabakh_kg.ontology import vocab
from karabakh_kg.server.app import create_app
from karabakh_kg.server.settings import Settings
from karabakh_kg.server.sparql.backend import BackendStore, EngineOutline, published_copy
from karabakh_kg.server.web.engine_graph import EngineGraph

KG = str(vocab.KG)
KGO = str(vocab.KGO)
# Nodes of every kind and size: states (kg:azerbaijan is the hub: 118 facts), people, an
# organisation, a place, an event.
NODES = [KG + "armenia", KG + "emmanuel-macron", KG + "shusha", KG + "geneva-meeting"]
PAIRS = [
    (KG + "emmanuel-macron", KG + "ilham-aliyev"),
    (KG + "sergei-lavrov", KG + "shusha"),
    (KG + "nikol-pashinyan", KG + "geneva-meeting"),
]


@pytest.fixture(scope="module", params=["embedded"])
def holding(
    request: pytest.FixtureRequest, kg: KnowledgeGraph
) -> Iterator[tuple[Any, Engine | None]]:
    """A store holding the curated graph as ``karabakh-kg publish`` writes it, and its
    engine (None: the embedded store). The slices compared here on many nodes are read
    from the Oxigraph server and Virtuoso by the tests over HTTP below, on fewer but
    representative ones (hubs, a 2-hop ball, a dated filter, a shortest path, an ego
    network with its single-claimant marks, a perspective, explanations of every kind),
    to keep the file's share of the suite small."""
    published_here = EmbeddedStore(store=ox.Store())
    publish(kg, published_here)
    yield published_here, None


USED: list[Engine] = []
"""The shared engines this module published the curated graph into."""


@pytest.fixture(scope="module", autouse=True)
def unpublished() -> Iterator[None]:
    """At the end of the module, the shared engines as the next module expects them:
    nothing published (its tests count the graphs on the engine)."""
    yield
    for engine in USED:
        remote = engine.store()
        for name in [*published(remote), PUBLICATION]:
            remote.drop_graph(name)
        remote.close()


@pytest.fixture(scope="module")
def store(holding: tuple[Any, Engine | None]) -> Any:
    return holding[0]


def _reader(kg: KnowledgeGraph, store: Any, **options: Any) -> EngineGraph:
    """What a server without a copy reads slices with: the engine, the ontology, and the
    outline (the publication's graph names)."""
    ontology = kg.store.quads_for_pattern(None, None, None, ONTOLOGY)
    outline = published_copy(store, 0)
    assert isinstance(outline, EngineOutline)
    return EngineGraph(store, outline.version, ontology, outline=outline, **options)


def test_traversals_over_slices_are_the_whole_graphs(
    kg: KnowledgeGraph, holding: tuple[Any, Engine | None]
) -> None:
    """Neighbours (1 and 2 hops, filtered too), ego networks, shortest and all paths and
    the single-claimant marks, read from the store in slices, are those of the whole
    graph, node for node, edge for edge, quote for quote (on the engines, over HTTP:
    REQUESTS)."""
    store, _ = holding
    reader = _reader(kg, store)
    whole = GraphFilter().project(kg, predicates=False)
    for node in NODES:
        assert node in whole, node
        for k in (1, 2):
            part = reader.ball([node], k, "test")
            assert len(part.store) < len(kg.store) / 2  # a slice, not the graph
            got = traversal.neighbours(GraphFilter().project(part, predicates=False), node, k=k)
            assert got == traversal.neighbours(whole, node, k=k), (node, k)
            if k == 1:
                _same_ego_and_marks(kg, part, node)
    _same_in_perspectives(kg, reader)
    dated = GraphFilter(start="2020-10-01", end="2020-10-31", classes=("kgo:Person", "kgo:Event"))
    part = reader.ball([KG + "ilham-aliyev"], 1, "test")
    assert traversal.neighbours(dated.project(part), KG + "ilham-aliyev", k=1) == (
        traversal.neighbours(dated.project(kg), KG + "ilham-aliyev", k=1)
    )
    for a, b in PAIRS[:2]:
        expected_path = traversal.shortest_path(whole, a, b)
        assert expected_path is not None and expected_path["length"] <= 5, (a, b)
        radius = (expected_path["length"] + 1) // 2
        part = reader.ball([a, b], max(radius, 2), "test")
        found = traversal.shortest_path(GraphFilter().project(part), a, b)
        assert found == expected_path, (a, b)
        assert traversal.all_paths(GraphFilter().project(part), a, b, max_length=4) == (
            traversal.all_paths(GraphFilter().project(kg), a, b, max_length=4)
        )


def _same_in_perspectives(kg: KnowledgeGraph, reader: EngineGraph) -> None:
    """Perspectives named, resolved and read from the store (their own asserted and
    inferred graphs, their evidence units alone) as the reasoner has them."""
    views, _ = reader.perspective_list()
    expected = perspectives.perspectives(kg)
    assert [(p.name, p.label) for p in views.listed()] == [
        (p.name, p.label) for p in expected.listed()
    ]
    assert len(views.listed()) > 20  # all, curated, article and the claimants
    names = ["kg:azerbaijan-defence-ministry", "article"]
    for name in names:
        chosen, scope = reader.scope(name)
        assert chosen == perspectives.resolve(kg, name)
        assert sorted(scope.units or ()) == sorted(expected.units(chosen))
        view = perspectives.view(kg, chosen)
        node = KG + "armenia"
        part = reader.ball([node], 1, "test", scope)
        got = traversal.neighbours(GraphFilter().project(part, predicates=False), node, k=1)
        whole = traversal.neighbours(GraphFilter().project(view, predicates=False), node, k=1)
        assert got == whole, name
        ego = traversal.ego_network(GraphFilter().project(part), node, radius=1)
        derived = [
            tuple(ox.NamedNode(x) for x in (s, d["predicate"], o))
            for s, o, d in ego.edges(data=True)
            if d["kind"] == "derived"
        ]
        marks = perspectives.recorded_single_claimants(part, derived, scope.units)
        ones = perspectives.single_claimants(kg, derived, chosen)
        assert {t: who for t, (who, _) in marks.items()} == ones, name


def _same_ego_and_marks(kg: KnowledgeGraph, part: KnowledgeGraph, node: str) -> None:
    ego = traversal.ego_network(GraphFilter().project(part), node, radius=1)
    expected = traversal.ego_network(GraphFilter().project(kg), node, radius=1)
    assert _edges(ego) == _edges(expected) and dict(ego.nodes) == dict(expected.nodes)
    derived = [
        tuple(ox.NamedNode(x) for x in (s, d["predicate"], o))
        for s, o, d in ego.edges(data=True)
        if d["kind"] == "derived"
    ]
    marks = perspectives.recorded_single_claimants(part, derived)
    ones = perspectives.single_claimants(kg, derived)
    assert {t: who for t, (who, _) in marks.items()} == ones, node
    # (20 derived relations around kg:armenia rest on one claimant alone)
    assert len(ones) == 20 if node == KG + "armenia" else True


def _edges(graph: Any) -> dict[tuple[str, str, str], Any]:
    return {(s, o, k): d for s, o, k, d in graph.edges(keys=True, data=True)}


def test_a_slice_larger_than_its_bound_is_refused(kg: KnowledgeGraph, store: Any) -> None:
    from karabakh_kg.server.problems import Problem

    with pytest.raises(Problem) as refused:
        _reader(kg, store, limit=100).ball([KG + "azerbaijan"], 1, "the graph within 1 hops")
    assert refused.value.status == 400 and refused.value.code == "too-large"
    assert "100 quads" in refused.value.detail


def test_names_resolve_over_the_store_as_over_the_whole_graph(
    kg: KnowledgeGraph, store: Any
) -> None:
    from karabakh_kg.graph import lookup

    reader = _reader(kg, store)
    for name in ("Macron", "Emmanuel Macron", "kg:sergei-lavrov", f"<{KG}armenia>", "Lavrov"):
        assert reader.resolve(name) == lookup.resolve(kg, name), name
    with pytest.raises(lookup.EntityLookupError) as unknown:
        reader.resolve("Macrom")
    assert [iri for iri, _ in unknown.value.suggestions][:1] == [KG + "emmanuel-macron"]
    assert [e.iri for e in lookup.search(reader.names("macron"), "macron", 5)] == [
        e.iri for e in lookup.search(kg, "macron", 5)
    ]


def _explained_samples(kg: KnowledgeGraph) -> list[tuple[Any, Any, Any]]:
    """Triples of every kind an explanation meets: derived five levels deep through a
    domain rule and a property chain (an ontology axiom with a blank node among its
    premises), derived several ways, withheld by the noise policy (a blank node object),
    asserted with a blank node (a place's geometry), with a literal, an ontology axiom,
    and one that does not hold."""
    from karabakh_kg.graph import reasoner

    r = reasoner(kg)
    withheld = next(t for t in sorted(r.engine.derivations) if t not in r.output)
    blank = next(
        q.triple
        for q in kg.store.quads_for_pattern(
            ox.NamedNode(KG + "geneva"),
            ox.NamedNode("http://www.opengis.net/ont/geosparql#hasGeometry"),
            None,
            ox.NamedNode(vocab.BASE + "graph/asserted"),
        )
    )
    named = [
        (KG + "russia", KGO + "communicatedWith", KG + "azerbaijan"),
        (KG + "armenia", "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", KGO + "Agent"),
        (KG + "mnatsakanyan-lavrov-meeting", KGO + "location", KG + "moscow"),
        (
            KGO + "metWith",
            "http://www.w3.org/2000/01/rdf-schema#subPropertyOf",
            KGO + "communicatedWith",
        ),
        (KG + "armenia", KGO + "metWith", KG + "armenia"),
    ]
    found = [tuple(ox.NamedNode(x) for x in triple) for triple in named]
    date = ox.Literal("2020-10-12", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date"))
    found.append(
        (ox.NamedNode(KG + "mnatsakanyan-lavrov-meeting"), ox.NamedNode(KGO + "date"), date)
    )
    found.append(r.decode(withheld))
    found.append((blank.subject, blank.predicate, blank.object))
    return found


def _published(kg: KnowledgeGraph) -> tuple[Callable[[Any], str], Callable[[Any], Any]]:
    """How the publication names terms (blank nodes by their stable labels, which the
    derivation records use: ``BlankLabels``), and an embedded explanation (its JSON or
    its page's text) with its blank nodes so named."""
    from karabakh_kg.graph.reasoning.blank_labels import BlankLabels

    labels = BlankLabels(kg.store)

    def renamed(data: Any) -> Any:
        text = data if isinstance(data, str) else json.dumps(data)
        text = re.sub(
            r"_:([A-Za-z0-9]+)", lambda m: "_:" + labels.label(ox.BlankNode(m.group(1))), text
        )
        return text if isinstance(data, str) else json.loads(text)

    return labels.text, renamed


def test_explanations_read_from_the_store_are_the_embedded_ones(
    kg: KnowledgeGraph, holding: tuple[Any, Engine | None]
) -> None:
    """``/explain`` without a copy: the derivations ``publish`` recorded, read back in
    bounded queries, give the embedded reasoner's explanation, rule for rule and quote for
    quote, with and without every one-step derivation (the samples and one fact in eight
    of the curated graph; on the engines, over HTTP: EXPLAINED), blank nodes named as
    the publication names them."""
    from karabakh_kg.graph import explain, reasoner
    from karabakh_kg.server.web.engine_explain import explain_over_engine

    store, _ = holding
    reader = _reader(kg, store)
    r = reasoner(kg)
    samples = [*_explained_samples(kg), *(r.decode(t) for t in sorted(r.engine.facts)[::8])]
    named, renamed = _published(kg)
    for s, p, o in samples:
        for every in (False, True):
            expected = renamed(explain(kg, s, p, o, all_derivations=every).to_dict())
            got, _ = explain_over_engine(
                reader, named(s), named(p), named(o), all_derivations=every, page=False
            )
            assert got.to_dict() == expected, (s, p, o, every)
    # what the article says: the quote, its line and who says it, from the store
    meeting, _ = explain_over_engine(
        reader,
        "kg:mnatsakanyan-lavrov-meeting",
        "kgo:location",
        "Moscow",
        all_derivations=False,
        page=False,
    )
    assert meeting.status == "asserted"
    (unit,) = [e for e in meeting.evidence if e.graph.endswith("L37-mnatsakanyan-lavrov-meeting>")]
    assert unit.quote == (
        "It was announced that Mnatsakanyan would instead meet with Russian Foreign "
        "Minister Sergei Lavrov in Moscow on Monday."
    )
    assert unit.line == 37 and unit.attributed_to == [f"<{KG}seed-article>"]
    derived, _ = explain_over_engine(
        reader,
        "kg:russia",
        "kgo:communicatedWith",
        "kg:azerbaijan",
        all_derivations=True,
        page=False,
    )
    assert derived.status == "derived" and derived.rule == "prp-spo1"
    # metWith implies it (sub-property), and so does the converse (a symmetric property)
    assert [d.rule for d in derived.derivations] == ["prp-spo1", "prp-symp"]


def test_an_explanation_past_its_bound_or_without_records_is_refused(
    kg: KnowledgeGraph, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from karabakh_kg.graph.dataset import DERIVATIONS
    from karabakh_kg.server.problems import Problem
    from karabakh_kg.server.web import engine_explain

    reader = _reader(kg, store)
    monkeypatch.setattr(engine_explain, "EXPLANATION_TRIPLES", 5)
    with pytest.raises(Problem) as refused:
        engine_explain.explain_over_engine(
            reader,
            "kg:russia",
            "kgo:communicatedWith",
            "kg:azerbaijan",
            all_derivations=False,
            page=False,
        )
    assert refused.value.status == 400 and refused.value.code == "too-large"
    assert reader.outline is not None
    older = EngineOutline(store=ox.Store(), version="older", files=[])
    for name in reader.outline.store.named_graphs():
        if name != DERIVATIONS:
            older.store.add_graph(name)
    reader.outline = older
    with pytest.raises(Problem) as refused:
        engine_explain.explain_over_engine(
            reader, "kg:armenia", "a", "kgo:State", all_derivations=False, page=False
        )
    assert refused.value.status == 503 and "publish" in refused.value.detail


# -- over HTTP: a server on an engine without a copy, against the embedded server ---------


@pytest.fixture(scope="module", params=["oxigraph", "virtuoso"])
def outline_server(request: pytest.FixtureRequest, kg: KnowledgeGraph) -> Iterator[LiveServer]:
    """``serve --backend`` on an engine holding the curated graph, with the copy disabled
    (bound 0): it holds the graphs' names (``outline_server.version``: the publication's
    data version)."""
    engine: Engine = request.getfixturevalue(f"{request.param}_engine")
    remote = engine.store()  # its own: a server closes its store when it stops
    assert isinstance(remote, RemoteStore)
    publish(kg, remote)
    outline = published_copy(remote, 0)
    assert isinstance(outline, EngineOutline) and len(outline.store) == 0
    settings = Settings(query_workers=2, backend_refresh=0, backend_copy_max_triples=0)
    live = start_server(create_app(outline, settings, BackendStore(remote)))
    live.version = outline.version  # type: ignore[attr-defined]
    live.engine = request.param  # type: ignore[attr-defined]
    USED.append(engine)
    yield live
    stop_server(live)


REQUESTS = [
    ("/graph/lookup", {"name": "Lavrov"}),
    ("/graph/neighbours", {"node": "kg:armenia", "direction": "out", "predicate": "kgo:metWith"}),
    ("/graph/path", {"from": "Emmanuel Macron", "to": "kg:ilham-aliyev"}),
    ("/graph/ego", {"node": "kg:nikol-pashinyan"}),
    ("/export/gexf", {"focus": "kg:minsk-group", "network": "person"}),
    ("/export/dot", {"node": ["kg:armenia", "kg:azerbaijan", "kg:minsk-group"]}),
    # perspectives: a claimant's, the curated files (the article's: the slice tests)
    ("/graph/neighbours", {"node": "kg:armenia", "perspective": "kg:azerbaijan-defence-ministry"}),
    ("/graph/lookup", {"name": "Aliyev", "perspective": "curated"}),
    # what the slice tests above compare on the embedded store alone: a 2-hop ball (its
    # frontier takes several queries), a dated and typed filter (all paths: the same
    # slices as a shortest path's, compared there)
    ("/graph/neighbours", {"node": "kg:geneva-meeting", "k": "2"}),
    (
        "/graph/neighbours",
        {
            "node": "kg:ilham-aliyev",
            "from": "2020-10-01",
            "to": "2020-10-31",
            "class": ["kgo:Person", "kgo:Event"],
        },
    ),
]


ON_VIRTUOSO = [
    (path, params)
    for path, params in REQUESTS
    if path not in ("/graph/path", "/graph/ego", "/export/gexf")
    and "from" not in params
    and params.get("predicate") is None
]
"""What Virtuoso answers of REQUESTS (a slow engine on the shared machine: 4 to 9 s a
traversal): every kind of query a slice sends (names, a hub's ball with its supports and
premises in a claimant's perspective, a 2-hop ball over several queries, the curated
perspective's graphs, an export around nodes); the paths, the ego network, the dated
filter, the predicate filter and the export around a focus, which read the same queries'
slices, are compared on the Oxigraph server and, node for node, on the embedded store."""


def test_traversal_and_exports_over_http_are_the_embedded_servers(
    outline_server: LiveServer, live_server: LiveServer, kg: KnowledgeGraph
) -> None:
    """The same answers, byte for byte (exports name the data version: the publication's
    over the engine)."""
    version = outline_server.version.encode()  # type: ignore[attr-defined]
    engine = outline_server.engine  # type: ignore[attr-defined]
    for path, params in REQUESTS if engine == "oxigraph" else ON_VIRTUOSO:
        over_engine = httpx.get(outline_server.url + path, params=params, timeout=60)
        local = httpx.get(live_server.url + path, params=params, timeout=60)
        assert local.status_code == 200, (path, local.text)
        assert over_engine.status_code == 200, (path, params, over_engine.text)
        if over_engine.headers["content-type"].startswith("application/json"):
            got, expected = over_engine.json(), local.json()
            if path == "/graph/path" and "all" not in params:
                assert got.pop("max_length") == 2 * traversal.MAX_K + 1
            assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True), path
        else:
            same = over_engine.content.replace(version, kg.version.encode())
            assert same == local.content, (path, params)
    macron = httpx.get(
        outline_server.url + "/graph/neighbours", params={"node": "Macron"}, timeout=60
    ).json()
    assert KG + "ilham-aliyev" in {n["iri"] for n in macron["neighbours"]}


EXPLAINED = [
    {"s": "kg:russia", "p": "kgo:communicatedWith", "o": "kg:azerbaijan", "all": "true"},
    {"s": "Lavrov", "p": "kgo:holdsPost", "o": "kg:foreign-minister-of-russia"},
    {"s": "kg:mnatsakanyan-lavrov-meeting", "p": "kgo:date", "o": '"2020-10-12"^^xsd:date'},
    {"s": "kg:armenia", "p": "a", "o": "kgo:Agent", "all": "1"},
    {"s": "kgo:metWith", "p": "rdfs:subPropertyOf", "o": "kgo:communicatedWith"},
    {"s": "kg:armenia", "p": "kgo:metWith", "o": "kg:armenia"},  # (does not hold: 404)
    {"s": "kg:armenia", "p": "kgo:metWith", "o": "Nobody Atall"},  # (no such term: 400)
]


def test_explanations_over_http_are_the_embedded_servers(
    outline_server: LiveServer, live_server: LiveServer, kg: KnowledgeGraph
) -> None:
    """``/explain`` without a copy, as JSON and as the page: the embedded server's answer
    (the page's terms named by their labels, its quotes described, as there), for
    triples of every kind (:func:`_explained_samples`: withheld, with blank nodes too)."""
    json_only = {"accept": "application/json"}
    *_, withheld, geometry = _explained_samples(kg)
    named, renamed = _published(kg)
    blank = [
        (dict(zip("spo", map(named, t), strict=True)), dict(zip("spo", map(str, t), strict=True)))
        for t in (withheld, geometry)
    ]
    for params, local_params in [*((e, e) for e in EXPLAINED), *blank]:
        over_engine = httpx.get(
            outline_server.url + "/explain", params=params, headers=json_only, timeout=60
        )
        local = httpx.get(
            live_server.url + "/explain", params=local_params, headers=json_only, timeout=60
        )
        assert over_engine.status_code == local.status_code, (params, over_engine.text)
        assert over_engine.json() == renamed(local.json()), params
    labels = ["Co-chairs of the OSCE Minsk Group", "Foreign Minister of Russia"]
    for params, label in zip(EXPLAINED[:2], labels, strict=True):
        page = {**params, "format": "html"}
        over_engine = httpx.get(outline_server.url + "/explain", params=page, timeout=60)
        local = httpx.get(live_server.url + "/explain", params=page, timeout=60)
        assert over_engine.status_code == local.status_code == 200, over_engine.text
        assert label in over_engine.text  # (a label, read from the engine)

        def body(text: str) -> str:  # (the footer names the data version and its time)
            return text[text.index("<main") : text.index("</main>")]

        assert body(over_engine.text) == renamed(body(local.text)), params


PAGES = [
    ("/resource/gazanchetsots-cathedral", {}),  # a dispute beside the facts
    ("/resource/armenia", {"perspective": "curated"}),  # derived facts on one claimant
    ("/resource/nagorno-karabakh", {"perspective": "kg:azerbaijan-defence-ministry"}),
    ("/resource/armenia", {"perspective": "article"}),
    ("/disputes", {}),
]


def test_perspectives_and_disputes_of_pages_over_the_engine_are_the_embedded_servers(
    outline_server: LiveServer, live_server: LiveServer
) -> None:
    """Resource pages in a perspective (the perspective switch, the facts as that
    perspective holds them, the derived facts resting on one claimant), their disputes, and
    the ``/disputes`` page, read from the engine without a copy: the embedded server's."""

    def body(text: str) -> str:  # (the footer names the data version and its time)
        return text[text.index("<main") : text.index("</main>")]

    for path, params in PAGES:
        over_engine = httpx.get(outline_server.url + path, params=params, timeout=60)
        local = httpx.get(live_server.url + path, params=params, timeout=60)
        assert over_engine.status_code == local.status_code == 200, (path, over_engine.text)
        assert body(over_engine.text) == body(local.text), (path, params)
        if path == "/resource/gazanchetsots-cathedral":  # the article's words, L9
            assert "artillery was fired at the historic Gaza" in over_engine.text
            assert 'id="disputes"' in over_engine.text
    unknown = {"perspective": "nobody's"}
    for server in (outline_server, live_server):
        refused = httpx.get(server.url + "/resource/armenia", params=unknown, timeout=60)
        assert refused.status_code == 400, refused.text


def test_the_explorer_page_over_the_engine_is_the_embedded_servers(
    outline_server: LiveServer, live_server: LiveServer
) -> None:
    """The explorer page (its perspectives, categories and colours read from the engine);
    what it asks for then (search, neighbours, paths, exports around nodes) is above."""
    params = {"focus": "kg:armenia", "perspective": "article"}
    over_engine = httpx.get(outline_server.url + "/explorer", params=params, timeout=60)
    local = httpx.get(live_server.url + "/explorer", params=params, timeout=60)
    assert over_engine.status_code == local.status_code == 200, over_engine.text
    assert "kg:azerbaijan-defence-ministry" in over_engine.text
    assert '<option value="article" selected>' in over_engine.text

    def body(text: str) -> str:  # (the footer names the data version and its time)
        return text[text.index("<main") : text.index("</main>")]

    assert body(over_engine.text) == body(local.text)
    # an unknown perspective is refused as the routes the page would call refuse it (the
    # page was drawn, and each of its requests then failed)
    for server in (outline_server, live_server):
        refused = httpx.get(server.url + "/explorer", params={"perspective": "nobody's"})
        assert refused.status_code == 400 and refused.json()["code"] == "unknown-perspective"


def test_perspective_queries_over_the_engine_are_the_embedded_servers(
    outline_server: LiveServer, live_server: LiveServer
) -> None:
    """``perspective=`` on /sparql without the copy: the perspective's dataset (its own
    graphs and evidence units) sent to the engine, read from what it holds."""
    queries = [
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
        "SELECT ?p ?o WHERE { kg:armenia ?p ?o } ORDER BY ?p ?o",
    ]
    for name in ("kg:azerbaijan-defence-ministry", "article", "curated"):
        for query in queries:
            params = {"query": query, "perspective": name}
            over_engine = httpx.get(outline_server.url + "/sparql", params=params, timeout=60)
            local = httpx.get(live_server.url + "/sparql", params=params, timeout=60)
            assert over_engine.status_code == local.status_code == 200, over_engine.text
            rows = over_engine.json()["results"]["bindings"]
            assert rows == local.json()["results"]["bindings"], (name, query)
            assert rows, (name, query)
    unknown = {"query": "ASK {}", "perspective": "nobody's"}
    refused = httpx.get(outline_server.url + "/sparql", params=unknown, timeout=60)
    assert refused.status_code == 400 and refused.json()["code"] == "unknown-perspective"


def test_bad_input_over_the_engine_is_the_embedded_servers_problem(
    outline_server: LiveServer, live_server: LiveServer
) -> None:
    for path, params in (
        ("/graph/neighbours", {"node": "Nobody Atall"}),
        ("/graph/neighbours", {"node": "kg:armenia", "k": "9"}),
        ("/graph/ego", {"node": "kg:armenia", "radius": "0"}),
        (
            "/graph/path",
            {"from": "kg:armenia", "to": "kg:azerbaijan", "all": "1", "max_length": "99"},
        ),
        ("/graph/neighbours", {"node": "kg:armenia", "predicate": "kgo:noSuchThing"}),
        ("/graph/neighbours", {"node": "kg:armenia", "perspective": "nobody's"}),
    ):
        over_engine = httpx.get(outline_server.url + path, params=params, timeout=30)
        local = httpx.get(live_server.url + path, params=params, timeout=30)
        assert over_engine.status_code == local.status_code, (path, params, over_engine.text)
        assert over_engine.status_code in (400, 404), (path, params)
        assert over_engine.json()["code"] == local.json()["code"], (path, params)


def test_an_engine_failing_under_a_traversal_is_one_problem_naming_it(tmp_path: Path) -> None:
    """A silent engine: 504 ``engine-timeout`` within the query time limit; an engine gone:
    502 ``engine-failed``; both problem documents naming the engine's URL."""
    from test_backend_pages import _silent_engine

    from karabakh_kg.graph.dataset import DERIVATIONS

    outline = EngineOutline(store=ox.Store(), version="a publication", files=[])
    outline.store.add_graph(DERIVATIONS)  # (explanations read the records)
    listener, url = _silent_engine()
    settings = Settings(query_workers=1, query_timeout=0.5, backend_refresh=0)
    live = start_server(create_app(outline, settings, BackendStore(RemoteStore(url))))
    try:
        for path, params in TRAVERSALS:
            answer = httpx.get(live.url + path, params=params, timeout=30)
            assert answer.status_code == 504, (path, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.json()["code"] == "engine-timeout" and url in answer.json()["detail"]
    finally:
        stop_server(live)
        listener.close()
    gone = f"http://127.0.0.1:{free_port()}/query"  # nothing listens there
    live = start_server(create_app(outline, settings, BackendStore(RemoteStore(gone))))
    try:
        for path, params in TRAVERSALS:
            answer = httpx.get(live.url + path, params=params, timeout=30)
            assert answer.status_code == 502, (path, answer.text)
            assert answer.json()["code"] == "engine-failed" and gone in answer.json()["detail"]
    finally:
        stop_server(live)


TRAVERSALS = [
    ("/graph/neighbours", {"node": "kg:armenia"}),
    ("/graph/path", {"from": "kg:armenia", "to": "Aliyev"}),
    ("/export/graphml", {"focus": "kg:armenia"}),
    ("/explain", {"s": "kg:armenia", "p": "kgo:negotiatedWith", "o": "kg:azerbaijan"}),
    ("/timeline/items", {}),  # (the analysts' views: test_backend_views.py)
    ("/reconcile", {"queries": '{"q0": {"query": "Lavrov"}}'}),
]


def test_a_triple_two_claimants_support_apart_rests_on_one_in_its_perspective() -> None:
    """The recorded single-claimant marks follow ``single_claimants``' promise: a triple two
    claimants support apart rests on neither alone in ``all``, and on one of them in a
    perspective holding only that one's unit (which no triple of the curated graph shows)."""
    support, rdf = vocab.BASE + "graph/support", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    s, p, o = (ox.NamedNode(KG + "a"), ox.NamedNode(KGO + "metWith"), ox.NamedNode(KG + "b"))
    store = ox.Store()
    for side in ("one", "other"):
        node, graph = ox.NamedNode(f"{vocab.BASE}support/{side}"), ox.NamedNode(support)
        store.extend(
            ox.Quad(node, predicate, value, graph)
            for predicate, value in (
                (ox.NamedNode(rdf + "subject"), s),
                (ox.NamedNode(rdf + "predicate"), p),
                (ox.NamedNode(rdf + "object"), o),
                (ox.NamedNode(KGO + "restsOn"), ox.NamedNode(f"{vocab.KGE}unit-{side}")),
                (ox.NamedNode(KGO + "voice"), ox.NamedNode(f"{KG}claimant-{side}")),
                (ox.NamedNode(KGO + "voice"), ox.NamedNode(KG + "seed-article")),
            )
        )
    part = KnowledgeGraph(store=store, version="test")
    assert perspectives.recorded_single_claimants(part, [(s, p, o)]) == {}
    only = frozenset({f"{vocab.KGE}unit-one"})
    marks = perspectives.recorded_single_claimants(part, [(s, p, o)], only)
    assert marks == {(s, p, o): (KG + "claimant-one", "kg:claimant-one")}
