"""Real clients unchanged: every SPARQLWrapper return format, request encodings, readable
syntax errors. Against the shared test server over HTTP."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from rdflib import Graph, Literal, URIRef
from SPARQLWrapper import (
    CSV,
    JSON,
    JSONLD,
    N3,
    POST,
    POSTDIRECTLY,
    RDFXML,
    TSV,
    TURTLE,
    XML,
    SPARQLWrapper,
)

LAVROV = URIRef("https://w3id.org/karabakh-kg/resource/sergei-lavrov")
LABEL = URIRef("http://www.w3.org/2000/01/rdf-schema#label")
SELECT = "SELECT ?label WHERE { kg:sergei-lavrov rdfs:label ?label }"
ASK = "ASK { kg:sergei-lavrov a kgo:Person }"
CONSTRUCT = "CONSTRUCT { kg:sergei-lavrov rdfs:label ?l } WHERE { kg:sergei-lavrov rdfs:label ?l }"
DESCRIBE = "DESCRIBE kg:sergei-lavrov"


@pytest.fixture(scope="module")
def url(live_server: Any) -> str:
    return str(live_server.url) + "/sparql"


def wrapper(url: str, query: str, fmt: str, method: str = "GET") -> Any:
    client = SPARQLWrapper(url)
    client.setQuery(query)
    client.setReturnFormat(fmt)
    if method == "POST":
        client.setMethod(POST)
    elif method == "POSTDIRECTLY":
        client.setMethod(POST)
        client.setRequestMethod(POSTDIRECTLY)
    return client.query()


def select_labels(fmt: str, result: Any) -> list[str]:
    """The ?label values of a SELECT answer, however SPARQLWrapper converted it."""
    converted = result.convert()
    if fmt == JSON:
        return [row["label"]["value"] for row in converted["results"]["bindings"]]
    if fmt == XML:
        return [node.firstChild.data for node in converted.getElementsByTagName("literal")]
    text = converted.decode("utf-8")
    if fmt == CSV:
        return [row["label"] for row in csv.DictReader(io.StringIO(text))]
    rows = text.splitlines()[1:]  # TSV: terms in N-Triples syntax
    return [row.split('"')[1] for row in rows]


@pytest.mark.parametrize("method", ["GET", "POST", "POSTDIRECTLY"])
@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV])
def test_select_in_every_results_format(url: str, fmt: str, method: str) -> None:
    result = wrapper(url, SELECT, fmt, method)
    labels = select_labels(fmt, result)
    assert "Sergei Lavrov" in labels  # "Russian Foreign Minister Sergei Lavrov" (line 37)


@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV])
def test_ask_in_every_results_format(url: str, fmt: str) -> None:
    converted = wrapper(url, ASK, fmt).convert()
    if fmt == JSON:
        assert converted["boolean"] is True
    elif fmt == XML:
        assert converted.getElementsByTagName("boolean")[0].firstChild.data == "true"
    else:
        assert converted.decode("utf-8").strip().splitlines()[-1] == "true"


@pytest.mark.parametrize("query", [CONSTRUCT, DESCRIBE], ids=["CONSTRUCT", "DESCRIBE"])
@pytest.mark.parametrize("fmt", [TURTLE, N3, RDFXML, XML, JSONLD])
def test_graphs_in_every_rdf_format(url: str, fmt: str, query: str) -> None:
    result = wrapper(url, query, fmt)
    converted = result.convert()
    if isinstance(converted, Graph):
        graph = converted
    else:
        graph = Graph().parse(data=converted.decode("utf-8"), format="turtle")
    assert (LAVROV, LABEL, Literal("Sergei Lavrov", lang="en")) in graph


def test_n3_is_answered_as_turtle(url: str) -> None:
    response = httpx.get(url, params={"query": CONSTRUCT}, headers={"Accept": "text/n3"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/turtle; charset=utf-8"


def test_a_repeated_format_takes_the_first_that_is_offered(url: str) -> None:
    response = httpx.get(
        url, params=[("query", SELECT), ("format", "tsv"), ("format", "text/tab-separated-values")]
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/tab-separated-values")
    unknown = httpx.get(url, params=[("query", SELECT), ("format", "yaml"), ("format", "toml")])
    assert unknown.status_code == 406 and "'yaml', 'toml'" in unknown.json()["detail"]


@pytest.mark.parametrize("charset", ["UTF-16", "latin-1", "utf-32"])
def test_only_utf8_bodies_are_accepted(url: str, charset: str) -> None:
    body = ASK.encode("utf-16" if charset == "UTF-16" else "utf-8")
    for kind in ("application/sparql-query", "application/x-www-form-urlencoded"):
        content = body if kind.endswith("query") else b"query=" + ASK.encode()
        response = httpx.post(
            url, content=content, headers={"Content-Type": f"{kind}; charset={charset}"}
        )
        assert response.status_code == 415, response.text
        assert response.json()["code"] == "unsupported-media-type"
        assert charset.lower() in response.json()["detail"]


@pytest.mark.parametrize("header", ["charset=utf-8", 'charset="UTF-8"', "charset=utf8", ""])
def test_utf8_bodies_are_accepted_however_declared(url: str, header: str) -> None:
    kind = "application/sparql-query" + (f"; {header}" if header else "")
    query = 'ASK { ?s rdfs:label "Ղարաբաղ"@hy } # Ղարաբաղ'
    response = httpx.post(url, content=query.encode(), headers={"Content-Type": kind})
    assert response.status_code == 200, response.text


def test_the_unknown_prefix_error_names_it_and_the_predeclared_ones(url: str) -> None:
    query = "SELECT ?p WHERE {\n  ?p a schema:Person ;\n     dbo:birthPlace ?place .\n}"
    response = httpx.get(url, params={"query": query})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "malformed-query"
    detail = body["detail"]
    assert "unknown prefix 'dbo:' at line 3, column 6" in detail
    assert "kg:" in detail and "kgo:" in detail and "rdfs:" in detail
    assert "\\u{" not in detail  # not pyoxigraph's dump of character ranges
