"""An engine that cuts answers at its row limit (Virtuoso's ``[SPARQL] ResultSetMaxRows``):
a cut answer is an error naming the engine, the cap and the setting, for every read of the
store and for users' queries sent to it, never a silently short answer."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pyoxigraph as ox
import pytest
from conftest import start_server, stop_server
from engines import Engine, dataset, virtuoso_server

from karabakh_kg.graph.dataset import ASSERTED
from karabakh_kg.graph.store import StoreError
from karabakh_kg.graph.store.publish import publish, published, read_published
from karabakh_kg.graph.store.remote import AnswerCut
from karabakh_kg.ontology import vocab

CAP = 50
BIG = ASSERTED.value  # a graph every whole-graph read reads
SMALL = vocab.BASE + "graph/contributions/row-limit-small"
RDF_TYPE = ox.NamedNode(vocab.PREFIXES["rdf"] + "type")
PERSON = ox.NamedNode(str(vocab.KGO) + "Person")


def people(count: int, prefix: str) -> list[ox.Triple]:
    kg = str(vocab.KG)
    return [ox.Triple(ox.NamedNode(f"{kg}{prefix}-{i}"), RDF_TYPE, PERSON) for i in range(count)]


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A Virtuoso of its own whose answers hold at most :data:`CAP` rows, holding a graph
    of 120 triples (:data:`BIG`) and one of 40 (:data:`SMALL`), published."""
    folder = tmp_path_factory.mktemp("virtuoso-capped")
    with virtuoso_server(folder, secrets.token_hex(8), max_rows=CAP) as engine:
        publish(dataset({BIG: people(120, "big"), SMALL: people(40, "small")}), engine.store())
        yield engine


def cut(error: pytest.ExceptionInfo[BaseException], engine: Engine) -> None:
    message = str(error.value)
    assert f"limit of {CAP} rows" in message, message
    assert "ResultSetMaxRows" in message and engine.query_url.split("/sparql")[0] in message


def test_a_select_past_the_cap_is_an_error_naming_it(capped: Engine) -> None:
    store = capped.store()
    with pytest.raises(AnswerCut) as error:
        store.select(f"SELECT ?s WHERE {{ GRAPH <{BIG}> {{ ?s ?p ?o }} }}")
    cut(error, capped)
    assert error.value.cap == CAP
    rows = store.select(f"SELECT ?s WHERE {{ GRAPH <{SMALL}> {{ ?s ?p ?o }} }}")
    assert len(rows) == 40


@pytest.mark.parametrize("through", ["graph store", "construct"])
def test_a_graph_read_past_the_cap_is_an_error_naming_it(capped: Engine, through: str) -> None:
    """Virtuoso cuts a graph answer at the cap and one triple, without a header."""
    store = capped.store()
    if through == "construct":
        store.gsp_url = None  # whole graphs read with CONSTRUCT
    with pytest.raises(AnswerCut) as error:
        store.get_graph(BIG)
    cut(error, capped)
    assert set(store.get_graph(SMALL)) == set(people(40, "small"))
    with pytest.raises(AnswerCut):
        store.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{BIG}> {{ ?s ?p ?o }} }}")
    exactly = store.construct(
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{BIG}> {{ ?s ?p ?o }} }} LIMIT {CAP}"
    )
    assert len(exactly) == CAP  # an answer of the cap itself is whole


def test_reading_and_republishing_a_publication_past_the_cap_fail_clearly(
    capped: Engine,
) -> None:
    store = capped.store()
    before = published(store)
    with pytest.raises(StoreError) as error:
        read_published(store)
    cut(error, capped)
    # A change of the big graph compares it with the engine's version: refused, not
    # applied over a partial read, and the publication stays as it was.
    with pytest.raises(StoreError) as error:
        publish(dataset({BIG: people(121, "big"), SMALL: people(40, "small")}), store)
    cut(error, capped)
    assert published(store) == before
    assert len(store.select(f"SELECT ?s WHERE {{ GRAPH <{SMALL}> {{ ?s ?p ?o }} }}")) == 40


def test_a_user_query_past_the_cap_answers_the_engine_s_failure(capped: Engine) -> None:
    from karabakh_kg.server.app import create_app
    from karabakh_kg.server.settings import Settings
    from karabakh_kg.server.sparql.backend import BackendStore

    remote = capped.store()
    settings = Settings(query_workers=1, backend_refresh=0)
    # What the server holds names the graphs it queries (the engine answers them)
    local = dataset({BIG: people(1, "big"), SMALL: people(1, "small")})
    live = start_server(create_app(local, settings, BackendStore(remote)))
    try:
        for query in (
            f"SELECT ?s WHERE {{ GRAPH <{BIG}> {{ ?s ?p ?o }} }}",
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{BIG}> {{ ?s ?p ?o }} }}",
        ):
            answer = httpx.post(live.url + "/sparql", data={"query": query}, timeout=60)
            assert answer.status_code == 502, answer.text
            problem = answer.json()
            assert problem["type"].endswith("engine-failed"), problem
            assert f"limit of {CAP} rows" in problem["detail"], problem
            assert "ResultSetMaxRows" in problem["detail"], problem
        whole = httpx.post(
            live.url + "/sparql",
            data={"query": f"SELECT ?s WHERE {{ GRAPH <{SMALL}> {{ ?s ?p ?o }} }}"},
            headers={"Accept": "application/sparql-results+json"},
            timeout=60,
        )
        assert whole.status_code == 200, whole.text
        assert len(whole.json()["results"]["bindings"]) == 40
    finally:
        stop_server(live)


def test_whole_graph_views_over_the_engine_fail_rather_than_show_part_of_it(
    capped: Engine,
) -> None:
    """Without a local copy, the analysts' views and the whole-graph traversals read the
    graph from the engine (docs/deployment.md): a read it cut is the engine's failure."""
    from karabakh_kg.server.app import create_app
    from karabakh_kg.server.settings import Settings
    from karabakh_kg.server.sparql.backend import BackendStore, EngineOutline, published_copy

    remote = capped.store()
    outline = published_copy(remote, 0)
    assert isinstance(outline, EngineOutline)
    settings = Settings(query_workers=1, backend_refresh=0, backend_copy_max_triples=0)
    live = start_server(create_app(outline, settings, BackendStore(remote)))
    try:
        for path in ("/graph/components", "/graph/centrality"):
            answer = httpx.get(live.url + path, timeout=60)
            assert answer.status_code == 502, (path, answer.text[:300])
            problem = answer.json()
            assert problem["type"].endswith("engine-failed"), problem
            assert f"limit of {CAP} rows" in problem["detail"], problem
    finally:
        stop_server(live)
