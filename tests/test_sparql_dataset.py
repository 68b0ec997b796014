"""Which graphs a query sees: infer=false and wikidata=false leave a graph out of the
dataset however the request names it; the Wikidata enrichment file; Graph Store caching;
OpenAPI operation ids; a clean shutdown."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from karabakh_kg.graph.dataset import ASSERTED, INFERRED, WIKIDATA, KnowledgeGraph
from karabakh_kg.server.settings import Settings

DERIVED = "kg:sergei-lavrov a kgo:Agent"  # derived from kgo:Person, never asserted
ASSERTED_FACT = "kg:sergei-lavrov a kgo:Person"
WD_TRIPLE = (
    "<http://www.wikidata.org/entity/Q1> <http://www.wikidata.org/prop/direct/P1082> "
    '"4242"^^<http://www.w3.org/2001/XMLSchema#integer>'
)
ENRICHMENT = f"""
<{WIKIDATA.value}> {{
    {WD_TRIPLE} .
}}
"""


def ask(url: str, query: str, **params: Any) -> bool:
    response = httpx.get(url + "/sparql", params={"query": query, **params}, timeout=30)
    assert response.status_code == 200, response.text
    return bool(response.json()["boolean"])


def graphs(url: str, query: str, **params: Any) -> set[str]:
    response = httpx.get(url + "/sparql", params={"query": query, **params}, timeout=30)
    assert response.status_code == 200, response.text
    return {row["g"]["value"] for row in response.json()["results"]["bindings"]}


@pytest.mark.parametrize(
    "query",
    [
        f"ASK {{ {DERIVED} }}",
        f"ASK FROM <{INFERRED.value}> {{ {DERIVED} }}",
        f"ASK FROM <{ASSERTED.value}> FROM <{INFERRED.value}> {{ {DERIVED} }}",
        f"ASK {{ GRAPH <{INFERRED.value}> {{ {DERIVED} }} }}",
        f"ASK FROM NAMED <{INFERRED.value}> {{ GRAPH ?g {{ {DERIVED} }} }}",
    ],
)
def test_infer_false_leaves_the_inferred_graph_out_however_it_is_named(
    live_server: Any, query: str
) -> None:
    assert ask(live_server.url, query)
    assert not ask(live_server.url, query, infer="false")


def test_infer_false_keeps_the_rest_of_the_query_dataset(live_server: Any) -> None:
    query = f"ASK FROM <{ASSERTED.value}> FROM <{INFERRED.value}> {{ {ASSERTED_FACT} }}"
    assert ask(live_server.url, query, infer="false")
    named = (
        f"SELECT DISTINCT ?g FROM NAMED <{ASSERTED.value}> FROM NAMED <{INFERRED.value}> "
        "WHERE { GRAPH ?g { ?s ?p ?o } }"
    )
    assert graphs(live_server.url, named) == {ASSERTED.value, INFERRED.value}
    assert graphs(live_server.url, named, infer="false") == {ASSERTED.value}


def test_infer_false_with_protocol_dataset(live_server: Any) -> None:
    query = f"ASK {{ {DERIVED} }}"
    dataset = {"default-graph-uri": [INFERRED.value, ASSERTED.value]}
    assert ask(live_server.url, query, **dataset)
    assert not ask(live_server.url, query, infer="false", **dataset)
    named = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    both = {"named-graph-uri": [INFERRED.value, ASSERTED.value]}
    assert graphs(live_server.url, named, **both) == {ASSERTED.value, INFERRED.value}
    assert graphs(live_server.url, named, infer="false", **both) == {ASSERTED.value}


def test_etag_differs_with_infer(live_server: Any) -> None:
    query = f"ASK FROM <{INFERRED.value}> {{ {DERIVED} }}"
    url = live_server.url + "/sparql"
    tags = {
        httpx.get(url, params={"query": query, "infer": value}).headers["etag"]
        for value in ("true", "false")
    }
    assert len(tags) == 2


@pytest.fixture(scope="module")
def enrichment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wikidata") / "wikidata-enrichment.trig"
    path.write_text(ENRICHMENT, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def enriched(enrichment: Path) -> Iterator[Any]:
    """A server built the way ``serve --wikidata`` builds it: from the settings."""
    from conftest import start_server, stop_server

    from karabakh_kg.server.app import create_app

    live = start_server(create_app(settings=Settings(wikidata_file=str(enrichment))))
    yield live
    stop_server(live)


def test_wikidata_file_is_served_and_can_be_left_out(enriched: Any) -> None:
    url = enriched.url
    assert ask(url, f"ASK {{ {WD_TRIPLE} }}")
    assert ask(url, f"ASK {{ GRAPH <{WIKIDATA.value}> {{ {WD_TRIPLE} }} }}")
    assert ask(url, f"ASK {{ {DERIVED} }}", wikidata="false")
    for query in (
        f"ASK {{ {WD_TRIPLE} }}",
        f"ASK {{ GRAPH <{WIKIDATA.value}> {{ {WD_TRIPLE} }} }}",
        f"ASK FROM <{WIKIDATA.value}> {{ {WD_TRIPLE} }}",
    ):
        assert not ask(url, query, wikidata="false"), query
    assert not ask(url, f"ASK {{ {WD_TRIPLE} }}", **{"default-graph-uri": ASSERTED.value})
    description = httpx.get(url + "/sparql", headers={"Accept": "text/turtle"}).text
    assert WIKIDATA.value in description and "wikidata" in description.lower()
    sizes = httpx.get(url + "/health").json()["triples"]
    assert sizes["wikidata"] == 1


def test_wikidata_parameter_is_checked(live_server: Any) -> None:
    response = httpx.get(
        live_server.url + "/sparql", params={"query": "ASK {}", "wikidata": "maybe"}
    )
    assert response.status_code == 400 and "wikidata" in response.json()["detail"]


def test_missing_wikidata_file_is_a_settings_error(tmp_path: Path) -> None:
    from karabakh_kg.server.settings import SettingsError

    with pytest.raises(SettingsError, match="WIKIDATA_FILE"):
        Settings.from_env({"KARABAKH_KG_WIKIDATA_FILE": str(tmp_path / "none.trig")})


def test_graph_store_get_has_etag_and_answers_304(live_server: Any) -> None:
    url = live_server.url + "/rdf-graphs/service"
    params = {"graph": ASSERTED.value}
    first = httpx.get(url, params=params, headers={"Accept": "application/n-triples"})
    assert first.status_code == 200
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = httpx.get(
        url, params=params, headers={"Accept": "application/n-triples", "If-None-Match": etag}
    )
    assert again.status_code == 304 and again.content == b""
    since = httpx.get(
        url,
        params=params,
        headers={"Accept": "application/n-triples", "If-Modified-Since": modified},
    )
    assert since.status_code == 304
    turtle = httpx.get(url, params=params, headers={"Accept": "text/turtle", "If-None-Match": etag})
    assert turtle.status_code == 200 and turtle.headers["etag"] != etag
    head = httpx.head(url, params={"default": ""})
    assert head.status_code == 200 and head.headers["etag"]


def test_openapi_operation_ids_are_unique(kg: KnowledgeGraph) -> None:
    from karabakh_kg.server.app import create_app

    app = create_app(kg)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        document = app.openapi()
    assert not [w for w in caught if "Duplicate Operation ID" in str(w.message)]
    ids = [op["operationId"] for path in document["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    # HEAD is still served, just not documented twice.
    assert "get" in document["paths"]["/sparql"] and "head" not in document["paths"]["/sparql"]


def test_closing_right_after_start_prints_no_traceback(
    kg: KnowledgeGraph, capfd: pytest.CaptureFixture[str]
) -> None:
    from karabakh_kg.server.sparql.execute import Endpoint

    endpoint = Endpoint(kg, Settings(query_workers=2))
    pool = endpoint.store().pool  # type: ignore[attr-defined]
    time.sleep(0.05)  # the workers are starting and loading the dump
    endpoint.close()
    deadline = time.monotonic() + 10
    while any(p.poll() is None for p in pool._processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # a worker started after close would fail within this
    assert all(p.poll() is not None for p in pool._processes)
    assert "Traceback" not in capfd.readouterr().err
