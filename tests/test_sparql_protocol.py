"""The SPARQL 1.1 Protocol at /sparql, through a real HTTP server, with real clients."""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
from collections.abc import Iterator

import httpx
import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, TURTLE, XML, SPARQLWrapper

from karabakh_kg.graph.dataset import ASSERTED, INFERRED, ONTOLOGY, KnowledgeGraph

KGO = "https://w3id.org/karabakh-kg/ontology#"
SD = "http://www.w3.org/ns/sparql-service-description#"
WORDS = ["Ղարաբաղ", "нагорный", "dağlıq", "Qarabağ"]


@pytest.fixture(scope="module")
def url(live_server: object) -> str:
    return live_server.url + "/sparql"  # type: ignore[attr-defined]


class Tripwire:
    """A TCP listener that records whether anything connected to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/sparql"
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture()
def tripwire() -> Iterator[Tripwire]:
    wire = Tripwire()
    yield wire
    wire.close()


def select(url: str, query: str, **params: str) -> dict:
    response = httpx.get(url, params={"query": query, **params}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


# -- query forms and methods -------------------------------------------------------------


@pytest.mark.parametrize("word", WORDS)
def test_utf8_round_trip_in_every_results_format(url: str, word: str) -> None:
    query = f'SELECT ?x ?l WHERE {{ BIND("{word}" AS ?x) BIND(STRLANG("{word}", "hy") AS ?l) }}'
    got = httpx.get(
        url, params={"query": query}, headers={"Accept": "application/sparql-results+json"}
    )
    assert got.headers["content-type"] == "application/sparql-results+json; charset=utf-8"
    binding = got.json()["results"]["bindings"][0]
    assert binding["x"]["value"] == word
    assert binding["l"] == {"type": "literal", "value": word, "xml:lang": "hy"}
    for accept in ("application/sparql-results+xml", "text/tab-separated-values"):
        response = httpx.get(url, params={"query": query}, headers={"Accept": accept})
        assert response.headers["content-type"] == f"{accept}; charset=utf-8"
        kind = ox.QueryResultsFormat.XML if "xml" in accept else ox.QueryResultsFormat.TSV
        solutions = list(ox.parse_query_results(response.content, format=kind))
        assert solutions[0]["x"] == ox.Literal(word)
        assert solutions[0]["l"] == ox.Literal(word, language="hy")
    response = httpx.get(url, params={"query": query}, headers={"Accept": "text/csv"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows == [["x", "l"], [word, word]]


def test_post_form_and_post_direct_give_the_same_answer(url: str) -> None:
    query = "SELECT ?p WHERE { ?p a kgo:Person } ORDER BY ?p"
    by_get = httpx.get(url, params={"query": query}).json()
    by_form = httpx.post(url, data={"query": query}).json()
    by_body = httpx.post(
        url,
        content=query.encode(),
        headers={"Content-Type": "application/sparql-query; charset=utf-8"},
    ).json()
    assert by_get == by_form == by_body
    assert len(by_get["results"]["bindings"]) > 3


def test_ask_describe_and_construct(url: str) -> None:
    ask = httpx.get(url, params={"query": "ASK { ?s a kgo:Person }"}).json()
    assert ask == {"head": {}, "boolean": True}
    described = httpx.get(
        url,
        params={"query": "DESCRIBE kg:sergei-lavrov"},
        headers={"Accept": "application/n-triples"},
    )
    assert described.status_code == 200
    triples = list(ox.parse(described.content, format=ox.RdfFormat.N_TRIPLES))
    assert any(
        t.subject == ox.NamedNode("https://w3id.org/karabakh-kg/resource/sergei-lavrov")
        for t in triples
    )


CONSTRUCT = (
    "CONSTRUCT { ?p a kgo:Person ; rdfs:label ?l } WHERE { ?p a kgo:Person ; rdfs:label ?l }"
)


@pytest.mark.parametrize(
    ("accept", "rdf_format"),
    [
        ("text/turtle", ox.RdfFormat.TURTLE),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
        ("application/trig", ox.RdfFormat.TRIG),
        ("application/n-quads", ox.RdfFormat.N_QUADS),
    ],
)
def test_construct_answers_in_the_accepted_format(
    url: str, kg: KnowledgeGraph, accept: str, rdf_format: ox.RdfFormat
) -> None:
    response = httpx.get(url, params={"query": CONSTRUCT}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{accept}; charset=utf-8"
    parsed = {
        (q.subject, q.predicate, q.object) for q in ox.parse(response.content, format=rdf_format)
    }
    expected = {(t.subject, t.predicate, t.object) for t in kg.query(CONSTRUCT)}  # type: ignore[union-attr]
    assert parsed == expected and parsed


def test_n_triples_is_really_n_triples(url: str) -> None:
    response = httpx.get(
        url, params={"query": CONSTRUCT}, headers={"Accept": "application/n-triples"}
    )
    for line in response.text.splitlines():
        assert line.startswith("<") and line.endswith(" .")
    assert "@prefix" not in response.text


# -- content negotiation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (
            "application/sparql-results+json;q=0.5, application/sparql-results+xml",
            "application/sparql-results+xml",
        ),
        ("text/csv;q=0, */*;q=0.1", "application/sparql-results+json"),
        ("*/*", "application/sparql-results+json"),
        ("text/*", "text/xml"),
        ("text/*;q=0.5, text/csv", "text/csv"),
        ("text/tab-separated-values;q=0.9, text/csv;q=0.8", "text/tab-separated-values"),
        ("application/json", "application/json"),
        ("", "application/sparql-results+json"),
    ],
)
def test_accept_with_q_values(url: str, accept: str, media: str) -> None:
    response = httpx.get(
        url, params={"query": "SELECT * WHERE { ?s a kgo:City }"}, headers={"Accept": accept}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{media}; charset=utf-8"
    assert "Accept" in response.headers["vary"]


def test_format_parameter_wins_over_accept(url: str) -> None:
    response = httpx.get(
        url,
        params={"query": "SELECT * WHERE { ?s a kgo:City }", "format": "tsv"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.headers["content-type"].startswith("text/tab-separated-values")
    graph = httpx.get(url, params={"query": CONSTRUCT, "format": "ntriples"})
    assert graph.headers["content-type"].startswith("application/n-triples")


def test_unsatisfiable_accept_is_406(url: str) -> None:
    select_as_turtle = httpx.get(
        url, params={"query": "SELECT * {}"}, headers={"Accept": "text/turtle"}
    )
    assert select_as_turtle.status_code == 406
    assert "offered" in select_as_turtle.json()["detail"]
    construct_as_csv = httpx.get(url, params={"query": CONSTRUCT}, headers={"Accept": "text/csv"})
    assert construct_as_csv.status_code == 406
    refused = httpx.get(
        url, params={"query": "ASK {}"}, headers={"Accept": "application/sparql-results+json;q=0"}
    )
    assert refused.status_code == 406
    unknown = httpx.get(url, params={"query": "ASK {}", "format": "yaml"})
    assert unknown.status_code == 406 and "yaml" in unknown.json()["detail"]


# -- errors ------------------------------------------------------------------------------


def test_malformed_query_is_400_with_line_and_column(url: str) -> None:
    response = httpx.get(url, params={"query": "SELECT ?s\nWHERE { ?s ?p }"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "malformed-query"
    assert "2:" in body["detail"]


def test_missing_query_is_400(url: str) -> None:
    assert httpx.post(url, data={"default-graph-uri": ASSERTED.value}).status_code == 400
    empty = httpx.get(url, params={"query": ""})
    assert empty.status_code == 400 and empty.json()["code"] == "missing-query"
    twice = httpx.get(url + "?query=ASK%7B%7D&query=ASK%7B%7D")
    assert twice.status_code == 400 and "twice" in twice.json()["detail"]


def test_wrong_method_and_content_type(url: str) -> None:
    put = httpx.put(url, content=b"ASK {}")
    assert put.status_code == 405 and put.headers["allow"] == "GET, HEAD, POST"
    assert put.headers["content-type"] == "application/problem+json; charset=utf-8"
    assert put.json() == {
        "type": "https://w3id.org/karabakh-kg/problems#method-not-allowed",
        "title": "Method Not Allowed",
        "status": 405,
        "detail": "PUT is not allowed on /sparql; use GET, HEAD, POST",
        "code": "method-not-allowed",
    }
    assert httpx.delete(url).status_code == 405
    wrong = httpx.post(url, content=b"ASK {}", headers={"Content-Type": "text/plain"})
    assert wrong.status_code == 415
    assert "text/plain" in wrong.json()["detail"]


def test_update_on_the_query_endpoint_is_refused(url: str, kg: KnowledgeGraph) -> None:
    update = "INSERT DATA { kg:x a kgo:Person }"
    attempts = [
        httpx.get(url, params={"query": update}),
        httpx.get(url, params={"update": update}),
        httpx.post(url, data={"update": update}),
        httpx.post(url, content=update, headers={"Content-Type": "application/sparql-update"}),
    ]
    for response in attempts:
        assert response.status_code == 400
        assert response.json()["code"] == "update-on-query-endpoint"
    assert not kg.query("ASK { kg:x ?p ?o }")


# -- dataset -----------------------------------------------------------------------------


def test_named_graphs_are_listed_and_queryable(url: str, kg: KnowledgeGraph) -> None:
    rows = select(url, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")["results"]["bindings"]
    names = {row["g"]["value"] for row in rows}
    assert {
        ASSERTED.value,
        INFERRED.value,
        ONTOLOGY.value,
        ASSERTED.value.replace("asserted", "provenance"),
    } <= names
    count = select(
        url, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{INFERRED.value}> {{ ?s ?p ?o }} }}"
    )
    assert int(count["results"]["bindings"][0]["n"]["value"]) == kg.graph_sizes()["inferred"] > 0


def _derived_triple(kg: KnowledgeGraph) -> ox.Quad:
    for quad in kg.store.quads_for_pattern(None, None, None, INFERRED):
        if not any(
            True
            for _ in kg.store.quads_for_pattern(quad.subject, quad.predicate, quad.object, ASSERTED)
        ):
            return quad
    raise AssertionError("the inferred graph adds nothing")


def test_infer_false_leaves_out_derived_triples(url: str, kg: KnowledgeGraph) -> None:
    quad = _derived_triple(kg)
    ask = f"ASK {{ {quad.subject} {quad.predicate} {quad.object} }}"
    assert select(url, ask)["boolean"] is True
    assert select(url, ask, infer="false")["boolean"] is False
    assert select(url, ask, **{"include-inferred": "false"})["boolean"] is False
    graphs = select(url, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", infer="false")
    assert INFERRED.value not in {row["g"]["value"] for row in graphs["results"]["bindings"]}
    bad = httpx.get(url, params={"query": ask, "infer": "maybe"})
    assert bad.status_code == 400 and "infer" in bad.json()["detail"]


def test_default_and_named_graph_uri_are_honoured(url: str, kg: KnowledgeGraph) -> None:
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    only_ontology = select(url, count, **{"default-graph-uri": ONTOLOGY.value})
    assert (
        int(only_ontology["results"]["bindings"][0]["n"]["value"]) == kg.graph_sizes()["ontology"]
    )
    named = select(
        url,
        "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
        **{"named-graph-uri": ONTOLOGY.value},
    )
    assert [row["g"]["value"] for row in named["results"]["bindings"]] == [ONTOLOGY.value]
    by_form = httpx.post(url, data={"query": count, "default-graph-uri": ONTOLOGY.value}).json()
    assert by_form == only_ontology


def test_from_is_resolved_locally_never_fetched(
    url: str, kg: KnowledgeGraph, tripwire: Tripwire
) -> None:
    local = select(url, f"SELECT (COUNT(*) AS ?n) FROM <{ONTOLOGY.value}> WHERE {{ ?s ?p ?o }}")
    assert int(local["results"]["bindings"][0]["n"]["value"]) == kg.graph_sizes()["ontology"]
    remote = select(
        url, f"SELECT * FROM <{tripwire.url}> FROM NAMED <{tripwire.url}> WHERE {{ ?s ?p ?o }}"
    )
    assert remote["results"]["bindings"] == []
    assert tripwire.connections == 0


def test_service_outside_the_allowlist_is_refused_before_any_request(
    url: str, tripwire: Tripwire
) -> None:
    for query in (
        f"SELECT * WHERE {{ SERVICE <{tripwire.url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ BIND(<{tripwire.url}> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}",
    ):
        response = httpx.get(url, params={"query": query})
        assert response.status_code == 403, query
        assert response.json()["code"] == "service-not-allowed"
    # SILENT: the refused call fails without a request, which is one empty solution.
    prefix = f"PREFIX t: <{tripwire.url[:-6]}>\n"
    silent = prefix + "SELECT * WHERE { SERVICE SILENT t:sparql { ?s ?p ?o } }"
    response = httpx.get(url, params={"query": silent})
    assert response.status_code == 200 and response.json()["results"]["bindings"] == [{}]
    assert tripwire.connections == 0


# -- caching, HEAD, CORS -------------------------------------------------------------


def test_etag_and_304(url: str, kg: KnowledgeGraph) -> None:
    params = {"query": "SELECT * WHERE { ?s a kgo:City }"}
    first = httpx.get(url, params=params)
    etag = first.headers["etag"]
    assert first.headers["last-modified"].endswith("GMT")
    again = httpx.get(url, params=params, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other_format = httpx.get(
        url, params=params, headers={"If-None-Match": etag, "Accept": "text/csv"}
    )
    assert other_format.status_code == 200 and other_format.headers["etag"] != etag


def test_head_has_the_headers_and_no_body(url: str) -> None:
    params = {"query": "SELECT * WHERE { ?s a kgo:City }"}
    head = httpx.head(url, params=params)
    get = httpx.get(url, params=params)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["etag"] == get.headers["etag"]


def test_cors(url: str) -> None:
    response = httpx.get(
        url, params={"query": "ASK {}"}, headers={"Origin": "https://yasgui.example"}
    )
    assert response.headers["access-control-allow-origin"] in {"*", "https://yasgui.example"}
    preflight = httpx.options(
        url,
        headers={
            "Origin": "https://yasgui.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]


# -- service description, health, metrics, docs ------------------------------------------


def test_service_description_for_rdf_clients_and_ui_for_browsers(url: str) -> None:
    response = httpx.get(url, headers={"Accept": "text/turtle"})
    assert response.headers["content-type"] == "text/turtle; charset=utf-8"
    triples = list(ox.parse(response.content, format=ox.RdfFormat.TURTLE))
    endpoint = ox.NamedNode(url)
    assert (
        ox.Quad(
            endpoint,
            ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
            ox.NamedNode(SD + "Service"),
        )
        in triples
    )
    names = {t.object for t in triples if t.predicate == ox.NamedNode(SD + "name")}
    assert {ASSERTED, INFERRED, ONTOLOGY} <= names
    jsonld = httpx.get(url, headers={"Accept": "application/ld+json"})
    assert jsonld.headers["content-type"].startswith("application/ld+json")
    json.loads(jsonld.text)
    browser = httpx.get(url, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.headers["content-type"].startswith("text/html")


def test_health_metrics_and_openapi(live_server: object, url: str, kg: KnowledgeGraph) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    health = httpx.get(base + "/health").json()
    assert health["status"] == "ok" and health["version"] == kg.version
    assert health["triples"]["asserted"] == kg.graph_sizes()["asserted"] > 0
    httpx.get(url, params={"query": "ASK {}"})
    httpx.get(url, params={"query": "SELECT"})
    metrics = httpx.get(base + "/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'karabakh_kg_sparql_queries_total{form="ASK",status="200"}' in text
    assert "karabakh_kg_sparql_query_seconds_bucket" in text
    assert 'karabakh_kg_sparql_errors_total{code="malformed-query"}' in text
    assert "karabakh_kg_sparql_timeouts_total" in text
    assert httpx.get(base + "/docs").status_code == 200
    assert "/sparql" in httpx.get(base + "/openapi.json").json()["paths"]


# -- real clients --------------------------------------------------------------------


def test_sparqlwrapper_select_json_and_xml_ask_and_construct(url: str) -> None:
    client = SPARQLWrapper(url)
    client.setQuery('SELECT ?p ?w WHERE { ?p a kgo:Person . BIND("Ղարաբաղ" AS ?w) } LIMIT 2')
    client.setReturnFormat(JSON)
    rows = client.query().convert()["results"]["bindings"]  # type: ignore[index]
    assert len(rows) == 2 and rows[0]["w"]["value"] == "Ղարաբաղ"
    client.setReturnFormat(XML)
    document = client.query().convert()
    assert len(document.getElementsByTagName("result")) == 2  # type: ignore[union-attr]
    client.setQuery("ASK { kg:sergei-lavrov a kgo:Person }")
    client.setReturnFormat(JSON)
    assert client.query().convert()["boolean"] is True  # type: ignore[index]
    client.setQuery(CONSTRUCT)
    client.setReturnFormat(TURTLE)
    graph = Graph().parse(data=client.queryAndConvert(), format="turtle")
    assert isinstance(graph, Graph) and len(graph) > 3
    client.setMethod("POST")
    client.setQuery("SELECT ?p WHERE { ?p a kgo:Person } LIMIT 1")
    client.setReturnFormat(JSON)
    assert len(client.query().convert()["results"]["bindings"]) == 1  # type: ignore[index]


def test_rdflib_sparqlstore_reads_from_the_endpoint(url: str) -> None:
    graph = Graph(store=SPARQLStore(url, returnFormat="json"))
    rows = list(
        graph.query(
            "SELECT ?l WHERE { ?who rdfs:label ?l }",
            initNs={"rdfs": "http://www.w3.org/2000/01/rdf-schema#"},
            initBindings={"who": URIRef("https://w3id.org/karabakh-kg/resource/sergei-lavrov")},
        )
    )
    assert rows and "Lavrov" in str(rows[0][0])
    assert len(graph) > 100
