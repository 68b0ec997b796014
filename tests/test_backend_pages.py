"""``serve --backend``: resource and evidence pages read the engine (a few bounded queries per
page, through the store interface), not a local copy; an engine that fails or stays silent
mid-request is a 502 or 504 problem naming it; queries to it run concurrently, within the
server's bound. Real engines (tests/engines.py), never mocks."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
import test_backend_graph as shared
from conftest import LiveServer, start_server, stop_server
from engines import TINY_DATA, Engine, oxigraph_server

from karabakh_kg.graph import KnowledgeGraph
from karabakh_kg.graph.loading import load_graph
from karabakh_kg.graph.store.embedded import EmbeddedStore
from karabakh_kg.graph.store.publish import publish, published_version, read_published
from karabakh_kg.graph.store.remote import RemoteStore
from karabakh_kg.ontology import vocab
from karabakh_kg.server.app import create_app
from karabakh_kg.server.settings import Settings
from karabakh_kg.server.sparql.backend import (
    BackendStore,
    EngineOutline,
    PublishedCopy,
    larger_than,
    needs_copy,
    published_copy,
)
from karabakh_kg.server.web.resource_data import Describer, _graph_stats, ontology_terms
from karabakh_kg.server.web.resource_engine import EngineDescriber

KG = str(vocab.KG)
KGE = str(vocab.KGE)
ASSERTED = vocab.BASE + "graph/asserted"
PROVENANCE = vocab.BASE + "graph/provenance"
# What the curators never published: written straight into the engine after the server
# took its copy, so only a page that reads the engine shows it.
LATE_UNIT = KGE + "late-unit"
LATE_FACT = f"<{KG}tiny-person> <{vocab.KGO}memberOf> <{KG}late-club> ."
LATE_LABEL = f'<{KG}late-club> <http://www.w3.org/2000/01/rdf-schema#label> "The Late Club"@en .'
LATE_QUOTE = f'<{LATE_UNIT}> <http://www.w3.org/ns/prov#value> "a quote only the engine holds" .'
LATE_CLASS = (
    f"<{vocab.KGO}LateClass> a <http://www.w3.org/2002/07/owl#Class> ; "
    '<http://www.w3.org/2000/01/rdf-schema#label> "class only the engine holds"@en .'
)
LATE_DATA = f"""INSERT DATA {{
  GRAPH <{LATE_UNIT}> {{ {LATE_FACT} }}
  GRAPH <{ASSERTED}> {{ {LATE_FACT} {LATE_LABEL} }}
  GRAPH <{PROVENANCE}> {{ {LATE_QUOTE} }}
  GRAPH <{vocab.BASE}graph/ontology> {{ {LATE_CLASS} }}
}}"""
# (not DELETE DATA: Virtuoso 7.2 leaves the language-tagged label in place with it)
LATE_MATCH = f"""GRAPH ?g {{ ?s ?p ?o }}
  FILTER(?s IN (<{KG}late-club>, <{vocab.KGO}LateClass>, <{LATE_UNIT}>) || ?o = <{KG}late-club>)"""
LATE_REMOVED = f"DELETE {{ GRAPH ?g {{ ?s ?p ?o }} }} WHERE {{ {LATE_MATCH} }}"


class CountingStore(EmbeddedStore):
    """The embedded store, counting the queries it answers."""

    def __init__(self, store: ox.Store) -> None:
        super().__init__(store=store)
        self.queries = 0

    def select(self, sparql: str) -> list[dict[str, ox.NamedNode | ox.BlankNode | ox.Literal]]:
        self.queries += 1
        return super().select(sparql)


def test_pages_read_through_the_store_interface_are_the_local_pages(kg: KnowledgeGraph) -> None:
    """Every resource and evidence page of the curated graph, read through the interface
    (here the embedded store) in a few queries per page, is the page read by quad pattern;
    the number of queries does not grow with the number of facts (kg:azerbaijan has 118)."""
    store = CountingStore(kg.store)
    local = Describer(kg)
    resources = sorted(
        {
            q.subject.value
            for q in kg.store.quads_for_pattern(None, None, None, ox.NamedNode(ASSERTED))
            if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(KG)
        }
    )
    assert KG + "azerbaijan" in resources and len(resources) > 100
    most = 0
    for iri in resources:
        remote = EngineDescriber(kg, store)
        store.queries = 0
        assert remote.exists(iri)
        assert remote.describe(iri) == local.describe(iri), iri
        assert set(remote.resource_triples(iri)) == set(local.resource_triples(iri)), iri
        assert set(remote.resource_triples(iri, include_inferred=False)) == set(
            local.resource_triples(iri, include_inferred=False)
        )
        most = max(most, store.queries)
    assert most <= 3  # facts, the evidence units' descriptions, labels
    units = sorted(
        g.value
        for g in kg.store.named_graphs()
        if isinstance(g, ox.NamedNode) and g.value.startswith(KGE)
    )
    assert len(units) > 50
    for iri in units:
        remote = EngineDescriber(kg, store)
        assert remote.evidence_view(iri) == local.evidence_view(iri), iri
        assert set(remote.evidence_quads(iri)) == set(local.evidence_quads(iri)), iri
    nowhere = EngineDescriber(kg, store)
    assert not nowhere.exists(KG + "no-such-resource")
    assert nowhere.evidence_view(KGE + "no-such-unit") is None
    assert ontology_terms(nowhere.ontology_source()) == ontology_terms(local)
    counted = _graph_stats(kg, store)
    assert counted == _graph_stats(kg, None)
    assert counted["evidence units"] == len(units) and counted["entities"] > 100


def test_a_page_reads_at_most_its_limit_and_says_so(kg: KnowledgeGraph) -> None:
    full = Describer(kg).describe(KG + "azerbaijan")
    assert len(full.outgoing) + len(full.incoming) > 20 and not full.truncated
    bounded = EngineDescriber(kg, EmbeddedStore(store=kg.store), limit=20).describe(
        KG + "azerbaijan"
    )
    assert bounded.truncated

    def triples(view: object) -> set[tuple[str, str, str]]:
        facts = view.outgoing + view.incoming  # type: ignore[attr-defined]
        return {(f.subject.value, f.predicate.value, f.obj.value) for f in facts}

    shown = triples(bounded)
    assert shown < triples(full)
    # the 20 quads read, and the resource's label, read with the labels of the page
    assert len(shown) <= 21


# The shared engines emptied at the end of the module, as the next module expects them
# (its tests count the graphs on the engine), as tests/test_backend_graph.py has it
unpublished = shared.unpublished
USED = shared.USED


@pytest.fixture(scope="module", params=["oxigraph", "virtuoso"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, Engine]]:
    """Our server over an engine holding the small curated folder, as published."""
    folder = tmp_path_factory.mktemp("data")
    (folder / "tiny.trig").write_text(TINY_DATA, encoding="utf-8")
    engine: Engine = request.getfixturevalue(f"{request.param}_engine")
    remote = engine.store()
    assert isinstance(remote, RemoteStore)
    publish(load_graph(folder), remote)
    USED.append(engine)
    settings = Settings(query_workers=1, backend_refresh=0)
    live = start_server(create_app(read_published(remote), settings, BackendStore(remote)))
    yield live, engine
    stop_server(live)


def test_pages_show_what_the_engine_holds_now(backend: tuple[LiveServer, Engine]) -> None:
    live, engine = backend
    remote = _store(engine)
    remote.update(LATE_DATA)
    try:
        page = httpx.get(live.url + "/resource/tiny-person", timeout=30)
        assert page.status_code == 200, page.text
        assert "The Late Club" in page.text  # the fact, with the label the engine has
        assert "a quote only the engine holds" in page.text  # and its evidence
        assert "tiny-group" in page.text  # what was published stays
        turtle = httpx.get(live.url + "/resource/tiny-person.nt", timeout=30)
        assert f"<{KG}late-club>" in turtle.text and f"<{KG}tiny-group>" in turtle.text
        unit = httpx.get(live.url + "/evidence/late-unit.nq", timeout=30)
        assert unit.status_code == 200, unit.text
        assert f"<{KG}late-club> <{LATE_UNIT}>" in unit.text
        assert "a quote only the engine holds" in unit.text
        missing = httpx.get(live.url + "/resource/nobody-at-all", timeout=30)
        assert missing.status_code == 404
        ontology = httpx.get(live.url + "/ontology", timeout=30)
        assert ontology.status_code == 200 and "class only the engine holds" in ontology.text
        # the home page's counts are the engine's: TINY_DATA's two triples and the late two
        home = httpx.get(live.url + "/", timeout=30)
        assert home.status_code == 200
        asserted = remote.select(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{ASSERTED}> {{ ?s ?p ?o }} }}"
        )[0]["n"].value
        assert asserted == "4"
        assert "<th>asserted triples</th><td>4</td>" in home.text, home.text
    finally:
        remote.update(LATE_REMOVED)
        assert not remote.ask(f"ASK {{ {LATE_MATCH} }}")  # the publication as it was


def _store(engine: Engine) -> RemoteStore:
    store = engine.store()
    assert isinstance(store, RemoteStore)
    return store


def _silent_engine() -> tuple[socket.socket, str]:
    """A socket that takes connections and never answers, and its SPARQL URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    return listener, f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"


def _accepting(listener: socket.socket) -> list[socket.socket]:
    """The connections ``listener`` takes from now on (accepted on a thread, never read)."""
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return accepted


def _an_older_copy() -> KnowledgeGraph:
    return KnowledgeGraph(store=ox.Store(), version="an older publication")


def _tiny(tmp_path: Path) -> KnowledgeGraph:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "tiny.trig").write_text(TINY_DATA, encoding="utf-8")
    return load_graph(folder)


def test_an_engine_gone_mid_run_is_a_502_naming_it(tmp_path: Path) -> None:
    kg = _tiny(tmp_path)
    (tmp_path / "engine").mkdir()
    with oxigraph_server(tmp_path / "engine") as engine:
        remote = engine.store()
        assert isinstance(remote, RemoteStore)
        publish(kg, remote)
        live = start_server(
            create_app(read_published(remote), Settings(query_workers=1), BackendStore(remote))
        )
        try:
            assert httpx.get(live.url + "/resource/tiny-person", timeout=30).status_code == 200
            engine.stop()
            for path, params in (
                ("/resource/tiny-group", {}),
                ("/evidence/tiny-unit.nq", {}),
                ("/ontology", {}),
                ("/", {}),
                ("/sparql", {"query": "ASK { ?s ?p ?o }"}),
                ("/rdf-graphs/service", {"graph": KGE + "tiny-unit"}),
            ):
                answer = httpx.get(live.url + path, params=params, timeout=30)
                assert answer.status_code == 502, answer.text
                problem = answer.json()
                assert problem["code"] == "engine-failed"
                assert engine.query_url in problem["detail"]
                assert "SERVICE" not in problem["detail"]
        finally:
            stop_server(live)


def test_a_silent_engine_is_a_504_within_the_query_time_limit(tmp_path: Path) -> None:
    listener, url = _silent_engine()
    settings = Settings(query_workers=1, query_timeout=0.5, backend_refresh=0)
    live = start_server(create_app(_tiny(tmp_path), settings, BackendStore(RemoteStore(url))))
    try:
        page = httpx.get(live.url + "/resource/tiny-person", timeout=30)
        assert page.status_code == 504, page.text
        assert page.json()["code"] == "engine-timeout"
        assert url in page.json()["detail"] and "0.5 s" in page.json()["detail"]
        # the home page, whose counts a large engine may not finish, is served without them
        home = httpx.get(live.url + "/", timeout=30)
        assert home.status_code == 200 and "did not count it" in home.text
    finally:
        stop_server(live)
        listener.close()


def test_queries_reach_the_engine_at_most_workers_at_a_time(tmp_path: Path) -> None:
    """Two query slots: of three queries sent at once, two reach the (silent) engine, the
    third waits for a slot instead of opening another connection to it."""
    listener, url = _silent_engine()
    accepted = _accepting(listener)
    settings = Settings(query_workers=2, client_queries=2, query_timeout=2, backend_refresh=0)
    live = start_server(create_app(_tiny(tmp_path), settings, BackendStore(RemoteStore(url))))
    answers: list[int] = []

    def ask() -> None:
        answer = httpx.get(live.url + "/sparql", params={"query": "ASK {}"}, timeout=60)
        answers.append(answer.status_code)

    clients = [threading.Thread(target=ask) for _ in range(3)]
    try:
        for client in clients:
            client.start()
        deadline = time.monotonic() + 3
        while len(accepted) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # room for any further connection to arrive
        assert len(accepted) == 2
        for client in clients:
            client.join(timeout=60)
        assert len(answers) == 3 and set(answers) <= {503}  # timed out, never a 500
    finally:
        stop_server(live)
        listener.close()
        for conn in accepted:
            conn.close()


def test_pages_send_the_engine_at_most_workers_queries_at_a_time(tmp_path: Path) -> None:
    """One query slot: of two pages asked at once, one query reaches the (silent) engine;
    the other page waits for the slot, and past the queue time is refused 503 busy."""
    listener, url = _silent_engine()
    accepted = _accepting(listener)
    settings = Settings(query_workers=1, query_timeout=2.5, queue_timeout=1, backend_refresh=0)
    live = start_server(create_app(_tiny(tmp_path), settings, BackendStore(RemoteStore(url))))
    answers: list[httpx.Response] = []

    def page(name: str) -> None:
        answers.append(httpx.get(f"{live.url}/resource/{name}", timeout=60))

    clients = [threading.Thread(target=page, args=(n,)) for n in ("tiny-person", "tiny-group")]
    try:
        for client in clients:
            client.start()
        deadline = time.monotonic() + 3
        while not accepted and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # room for a second connection to arrive
        assert len(accepted) == 1
        for client in clients:
            client.join(timeout=60)
        codes = sorted((a.status_code, a.json()["code"]) for a in answers)
        assert codes == [(503, "busy"), (504, "engine-timeout")], codes
    finally:
        stop_server(live)
        listener.close()
        for conn in accepted:
            conn.close()


def test_without_a_copy_pages_read_the_engine_and_the_rest_says_503(
    backend: tuple[LiveServer, Engine],
) -> None:
    """A publication above KARABAKH_KG_BACKEND_COPY_MAX_TRIPLES is not copied: the endpoint
    and the pages still answer from the engine; what needs the whole graph says so."""
    remote = _store(backend[1])  # its own: a server closes its store when it stops
    assert larger_than(remote, 10) and not larger_than(remote, 10_000_000)
    copy = published_copy(remote, 10_000_000)
    assert not isinstance(copy, EngineOutline)
    assert copy.version == published_version(remote) and len(copy.store) > 1000
    outline = published_copy(remote, 10)
    assert isinstance(outline, EngineOutline) and len(outline.store) == 0
    assert outline.version == copy.version
    # a server that follows publications takes the outline too, once one is too large
    replaced: list[KnowledgeGraph] = []
    follower = PublishedCopy(remote, _an_older_copy(), replaced.append, 1, max_triples=10)
    assert follower.check() and isinstance(replaced[0], EngineOutline)
    assert replaced[0].version == copy.version
    settings = Settings(query_workers=1, backend_refresh=0, backend_copy_max_triples=10)
    live = start_server(create_app(outline, settings, BackendStore(remote)))
    try:
        page = httpx.get(live.url + "/resource/tiny-person", timeout=30)
        assert page.status_code == 200 and "tiny-group" in page.text
        graphs = httpx.get(
            live.url + "/sparql",
            params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { kg:tiny-person ?p ?o } }"},
            timeout=30,
        )
        assert graphs.status_code == 200, graphs.text
        found = {row["g"]["value"] for row in graphs.json()["results"]["bindings"]}
        assert {KGE + "tiny-unit", ASSERTED} <= found
        for served in ("/", "/query", "/ontology", "/evidence/tiny-unit", "/openapi.json"):
            assert httpx.get(live.url + served, timeout=30).status_code == 200, served
        health = httpx.get(live.url + "/health", timeout=30).json()
        assert health["local_copy"] is False and health["triples"] is None
        remote.update(LATE_DATA)
        try:  # "did you mean" from the engine's names
            unknown = httpx.get(
                live.url + "/resource/late-clu",
                headers={"Accept": "application/json"},
                timeout=30,
            )
            assert unknown.status_code == 404
            suggested = [s["iri"] for s in unknown.json()["suggestions"]]
            assert suggested[:1] == [KG + "late-club"], unknown.text
        finally:
            remote.update(LATE_REMOVED)
        # explanations and perspectives read the engine too (test_backend_graph.py)
        why = httpx.get(
            live.url + "/explain",
            params={"s": "kg:tiny-person", "p": "a", "o": "kgo:Agent"},
            headers={"Accept": "application/json"},
            timeout=30,
        )
        assert why.status_code == 200 and why.json()["status"] == "derived", why.text
        curated = httpx.get(live.url + "/resource/tiny-person?perspective=curated", timeout=30)
        assert curated.status_code == 200 and "tiny-group" in curated.text
        # the analysts' views and the whole-graph traversals and exports read the graph
        # from the engine (test_backend_views.py)
        for served in ("/export/events.csv", "/map/places", "/graph/components", "/export/dot"):
            answered = httpx.get(live.url + served, timeout=30)
            assert answered.status_code == 200, (served, answered.text)
        assert "tiny-group" in httpx.get(live.url + "/export/dot", timeout=30).text
    finally:
        stop_server(live)


def test_serve_backend_without_a_copy_from_the_command_line(
    oxigraph_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``karabakh-kg serve --backend URL`` with KARABAKH_KG_BACKEND_COPY_MAX_TRIPLES=0."""
    from conftest import free_port
    from test_cli_serve import interrupt

    remote = oxigraph_engine.store()
    assert isinstance(remote, RemoteStore)
    publish(_tiny(tmp_path), remote)
    USED.append(oxigraph_engine)
    monkeypatch.setenv("KARABAKH_KG_BACKEND_COPY_MAX_TRIPLES", "0")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [sys.executable, "-m", "karabakh_kg.server", "serve", "--port", str(port)]
    command += ["--backend", oxigraph_engine.query_url]
    command += ["--backend-gsp-url", oxigraph_engine.gsp_url]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "health", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        health = httpx.get(url + "health", timeout=30).json()
        assert health["local_copy"] is False
        page = httpx.get(url + "resource/tiny-person", timeout=30)
        assert page.status_code == 200 and "tiny-group" in page.text
        components = httpx.get(url + "graph/components", timeout=30)
        assert components.status_code == 200 and "tiny-group" in components.text
    finally:
        output = interrupt(process)
    assert "Traceback" not in output, output


def test_a_server_answers_before_its_copy_is_read(
    backend: tuple[LiveServer, Engine],
) -> None:
    """``serve --backend`` starts on the outline and reads the copy on its own thread: the
    endpoint, the pages and the whole-graph features answer at once (from the engine), and
    from the copy once it is in."""
    remote = _store(backend[1])  # its own: a server closes its store when it stops
    outline = published_copy(remote, 10_000_000, wait=False)
    assert isinstance(outline, EngineOutline) and outline.loading
    waiting = needs_copy("/graph/path", remote.location, outline)
    assert waiting.status == 503 and waiting.headers.get("Retry-After")
    assert "reading its local copy" in waiting.detail
    settings = Settings(query_workers=1, backend_refresh=0)
    live = start_server(create_app(outline, settings, BackendStore(remote)))
    try:
        page = httpx.get(live.url + "/resource/tiny-person", timeout=30)
        assert page.status_code == 200 and "tiny-group" in page.text
        early = httpx.get(live.url + "/graph/components", timeout=30)  # (from the engine)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if httpx.get(live.url + "/health", timeout=30).json()["local_copy"] is True:
                break
            time.sleep(0.2)
        assert httpx.get(live.url + "/health", timeout=30).json()["local_copy"] is True
        components = httpx.get(live.url + "/graph/components", timeout=30)
        assert components.status_code == early.status_code == 200, components.text
        assert components.json() == early.json()
        found = {n["iri"] for c in components.json()["components"] for n in c["nodes"]}
        assert KG + "tiny-group" in found
    finally:
        stop_server(live)


MEETING = """@prefix kg: <https://w3id.org/karabakh-kg/resource/> .
@prefix kge: <https://w3id.org/karabakh-kg/evidence/> .
@prefix kgo: <https://w3id.org/karabakh-kg/ontology#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
kge:tiny-meeting {
  kg:tiny-talks a kgo:Meeting ; rdfs:label "Tiny talks"@en ;
    kgo:date "2020-10-30"^^xsd:date ; kgo:participant kg:tiny-person .
}
kge:tiny-meeting a kgo:Evidence ; prov:value "They met on Friday." ;
  prov:wasAttributedTo kg:seed-article ; kgo:stance kgo:ArticleStatement .
"""


def test_views_over_the_engine_follow_a_publish(oxigraph_engine: Engine, tmp_path: Path) -> None:
    """Without a copy, the event table and the timeline read what is published now: a
    publish that adds a meeting shows it within the refresh period (the graph read for
    the previous publication is not kept for the next)."""
    remote = oxigraph_engine.store()
    assert isinstance(remote, RemoteStore)
    USED.append(oxigraph_engine)
    publish(_tiny(tmp_path), remote)
    settings = Settings(query_workers=1, backend_refresh=0.2, backend_copy_max_triples=0)
    served = oxigraph_engine.store()  # its own: a server closes its store when it stops
    live = start_server(create_app(published_copy(remote, 0), settings, BackendStore(served)))
    try:
        before = httpx.get(live.url + "/timeline/items", timeout=30)
        assert before.status_code == 200 and before.json()["count"] == 0, before.text
        (tmp_path / "data" / "meeting.trig").write_text(MEETING, encoding="utf-8")
        publish(load_graph(tmp_path / "data"), remote)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            items = httpx.get(live.url + "/timeline/items", timeout=30).json()["items"]
            if items:
                break
            time.sleep(0.2)
        assert [(i["label"], i["date"]) for i in items] == [("Tiny talks", "2020-10-30")]
        assert items[0]["evidence"][0]["quote"] == "They met on Friday."
        table = httpx.get(live.url + "/export/events.csv", timeout=30).text
        assert "Tiny talks" in table and "They met on Friday." in table
        assert httpx.get(live.url + "/health", timeout=30).json()["local_copy"] is False
    finally:
        stop_server(live)
        (tmp_path / "again").mkdir()
        publish(_tiny(tmp_path / "again"), remote)  # (as the module's other tests have it)
