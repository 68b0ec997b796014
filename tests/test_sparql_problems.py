"""One error shape for the whole server (RFC 9457 problem details), over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from karabakh_kg.graph.dataset import KnowledgeGraph

PROBLEM = "application/problem+json; charset=utf-8"
MEMBERS = {"type", "title", "status", "detail", "code"}


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response's problem document, checked against RFC 9457 and our members."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert set(body) >= MEMBERS
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"https://w3id.org/karabakh-kg/problems#{code}"
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.fixture(scope="module")
def base(live_server: object) -> str:
    return str(live_server.url)  # type: ignore[attr-defined]


def test_sparql_errors_are_problems(base: str) -> None:
    body = problem(httpx.get(base + "/sparql", params={"query": "SELECT"}), 400, "malformed-query")
    assert body["title"] == "Bad Request"
    assert body["detail"].startswith("malformed query: error at 1:")
    problem(httpx.get(base + "/sparql?query=ASK%7B%7D&query=ASK%7B%7D"), 400, "repeated-parameter")


@pytest.mark.parametrize(
    ("text", "where", "names"),
    [
        # A query starts with its prologue or its form (SPARQL 1.1 Query, 19.8, [2] Query).
        ("SELEC ?s WHERE { ?s ?p ?o }", "line 1, column 1", ["'ASK'", "'CONSTRUCT'"]),
        # A triple pattern has an object after its predicate ([75] TriplesSameSubject).
        ("SELECT * WHERE { ?s ?p }", "line 1, column 24", ["a variable", "an IRI"]),
        # A group opened is closed ([53] GroupGraphPattern).
        ("ASK {", "at the end of the text", ["'FILTER'", "'OPTIONAL'"]),
    ],
)
def test_a_syntax_error_says_where_and_what_would_fit_on_one_line(
    base: str, text: str, where: str, names: list[str]
) -> None:
    """The engine's own message stops where its parser did, often past the mistake, and
    names character classes by their Unicode ranges, over several lines; the detail adds
    the first token that does not fit and the tokens that would."""
    detail = problem(httpx.get(base + "/sparql", params={"query": text}), 400, "malformed-query")[
        "detail"
    ]
    assert detail.startswith("malformed query: error at 1:")
    assert where in detail and all(name in detail for name in names), detail
    assert "\n" not in detail and "..=" not in detail and "[_]" not in detail, detail


def test_starlette_not_found_and_method_errors_are_problems(base: str) -> None:
    missing = problem(httpx.get(base + "/no/such/page"), 404, "not-found")
    assert "/no/such/page" in missing["detail"]
    wrong = problem(httpx.patch(base + "/sparql", content=b"x"), 405, "method-not-allowed")
    assert "PATCH" in wrong["detail"]


def test_body_cap_is_a_problem(base: str) -> None:
    body = b"query=" + b"a" * 1_100_000
    response = httpx.post(
        base + "/sparql",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert problem(response, 413, "body-too-large")["limit"] == 1_000_000


def test_a_form_of_too_many_fields_is_a_problem(base: str) -> None:
    """Starlette refuses multipart forms of more than 1,000 fields; that is a problem too."""
    boundary = "b0undary"
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nx\r\n'
        for i in range(1001)
    )
    response = httpx.post(
        base + "/sparql",
        content=(parts + f"--{boundary}--\r\n").encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    # /sparql does not read multipart forms: 415, still a problem document.
    problem(response, 415, "unsupported-media-type")


def test_validation_errors_are_problems(base: str) -> None:
    response = httpx.get(base + "/export/graphml", params={"radius": "many"})
    body = problem(response, 422, "invalid-request")
    assert "radius" in body["detail"]
    assert any("radius" in error["location"] for error in body["errors"])


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/graph/neighbours?node=Lavrov&k=1&k=2", "k"),  # a declared parameter
        ("/graph/path?from=Lavrov&to=Pashinyan&to=Aliyev", "to"),  # by its alias
        ("/timeline?limit=5&limit=10", "limit"),
        ("/export/graphml?focus=Lavrov&focus=Mnatsakanyan", "focus"),
        ("/resource/sergei-lavrov?format=ttl&format=nt", "format"),  # read, not declared
        ("/resource/sergei-lavrov?perspective=all&perspective=article", "perspective"),
        ("/explain?s=kg:sergei-lavrov&p=a&o=kgo:Person&format=json&format=html", "format"),
    ],
)
def test_a_parameter_taken_once_and_given_twice_is_refused(base: str, path: str, name: str) -> None:
    """As the SPARQL endpoint refuses two ``query`` parameters, every route refuses a
    parameter it reads once (where it took the last value and ignored the first)."""
    body = problem(httpx.get(base + path), 400, "repeated-parameter")
    assert repr(name) in body["detail"]


@pytest.mark.parametrize(
    ("query", "offered", "not_offered"),
    [
        ("SELECT * {}", "application/sparql-results+json", "text/turtle"),
        ("ASK {}", "application/sparql-results+xml", "application/n-triples"),
        ("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1", "text/turtle", "sparql-results"),
    ],
)
def test_a_406_offers_the_formats_of_what_the_query_returns(
    base: str, query: str, offered: str, not_offered: str
) -> None:
    """SPARQL 1.1 Protocol: results come in a results format, graphs in an RDF one; the
    406 of a SELECT or ASK named the graph formats."""
    response = httpx.get(base + "/sparql", params={"query": query}, headers={"Accept": "image/png"})
    detail = problem(response, 406, "not-acceptable")["detail"]
    assert offered in detail and not_offered not in detail
    by_name = httpx.get(base + "/sparql", params={"query": query, "format": "bogus"})
    detail = problem(by_name, 406, "not-acceptable")["detail"]
    assert ("csv" in detail) != query.startswith("CONSTRUCT")


@pytest.mark.parametrize(
    "path",
    [
        "/sparql?query=ASK%7B%7D",
        "/sparql",  # the service description
        "/rdf-graphs/service?default",
        "/resource/armenia",
        "/ontology",
        "/explain?s=kg:armenia&p=a&o=kgo:State",
    ],
)
def test_a_malformed_accept_header_is_one_answer_on_every_route(base: str, path: str) -> None:
    """``Accept: ;;;`` was a 406 on /sparql and the Graph Store and a 400 ``unknown-format``
    (a name for a format parameter) on the pages."""
    response = httpx.get(base + path, headers={"Accept": ";;;,,,"})
    assert "Accept header" in problem(response, 400, "malformed-accept")["detail"]


def test_parameters_meant_to_repeat_still_repeat(base: str) -> None:
    """Lists repeat (``nodes`` of an export, ``kind`` of the timeline); the SPARQL protocol's
    dataset and SPARQLWrapper's doubled ``format`` too."""
    nodes = httpx.get(base + "/export/graphml?nodes=kg:sergei-lavrov&nodes=kg:russia")
    assert nodes.status_code == 200 and "sergei-lavrov" in nodes.text and "russia" in nodes.text
    kinds = httpx.get(base + "/timeline?kind=kgo:Meeting&kind=kgo:PhoneCall&format=json")
    assert kinds.status_code == 200, kinds.text
    query = "/sparql?query=ASK%7B%7D&format=json&format=application/sparql-results%2Bjson"
    assert httpx.get(base + query).json()["boolean"] is True


def test_a_form_field_given_twice_is_refused(base: str) -> None:
    batch = '{"q0": {"query": "Lavrov"}}'
    response = httpx.post(base + "/reconcile", data={"queries": [batch, batch]})
    assert "'queries'" in problem(response, 400, "repeated-parameter")["detail"]
    once = httpx.post(base + "/reconcile", data={"queries": batch})
    assert once.status_code == 200 and once.json()["q0"]["result"]


@pytest.fixture(scope="module")
def extended(kg: KnowledgeGraph) -> Any:
    """The application with two extra routes: one that fails, one that reads a form."""
    from karabakh_kg.server.app import create_app

    app = create_app(kg)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret at /home/someone/karabakh_kg/server/app.py line 3")

    @app.post("/form-echo")
    async def form_echo(request: Request) -> dict[str, int]:
        return {"fields": len(await request.form())}

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_unexpected_errors_are_problems_without_internals(extended: TestClient) -> None:
    response = extended.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == "internal-error" and body["status"] == 500
    assert "secret" not in response.text and "Traceback" not in response.text
    assert ".py" not in response.text


def test_too_many_form_fields_on_a_form_route(extended: TestClient) -> None:
    """Starlette's own form error (``{"detail": ...}`` by default) in the problem shape."""
    boundary = "b0undary"
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nx\r\n'
        for i in range(1001)
    )
    response = extended.post(
        "/form-echo",
        content=(parts + f"--{boundary}--\r\n").encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "bad-request"
    assert "Too many fields" in response.json()["detail"]
