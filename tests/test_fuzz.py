"""Keep it so (issue 13): a few thousand generated requests over every route never get a 500,
a traceback, an internal path or a dead worker, and the server is healthy afterwards.

The requests come from hypothesis (derandomized, so every run sends the same ones): every
operation of ``/openapi.json`` with odd parameter values, methods and headers; raw paths of
percent-encoded bytes; mutated SPARQL (the query UI's examples with tokens inserted, cut or
repeated) sent every way the protocol allows, with odd charsets. The server under test has
its own settings (a one-second query limit) so that a mutation that turns into a cross
product costs a second, not the default five.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from conftest import LiveServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from karabakh_kg.graph.dataset import KnowledgeGraph
from karabakh_kg.server.settings import Settings
from karabakh_kg.server.web.examples import EXAMPLES

LEAKS = re.compile(r"Traceback|File \"/|site-packages|/work/|\.py\", line|karabakh_kg/", re.I)
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
ODD_TEXT = [
    "",
    " ",
    "%",
    "%25",
    "%ff%fe",
    "\x00",
    "a b",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "kg:",
    "kg:sergei-lavrov",
    "kgo:metWith",
    "Lavrov",
    "Q40953",
    "'",
    '"',
    "{",
    "}",
    "\\u0000",
    "*",
    'W/"x"',
    "-1",
    "0",
    "99999999999999999999",
    "1e309",
    "NaN",
    "true",
    "é" * 40,
    "\ud7ff\ue000",
    "a" * 400,
]
ACCEPTS = [
    None,
    "*/*",
    "text/html",
    "application/json",
    "application/sparql-results+json",
    "text/turtle;q=0.9, */*;q=0.1",
    "application/x-nonsense",
    "text/html;q=x",
    ";;;,,,",
    "*/*;q=0",
]
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "application/sparql-query",
    "application/sparql-query; charset=UTF-16",
    "application/sparql-update",
    "application/json",
    "text/turtle",
    "multipart/form-data; boundary=x",
    "text/plain; charset=nonsense",
    "",
]
TOKENS = [
    "{",
    "}",
    "(",
    ")",
    ".",
    ";",
    "FILTER(",
    "OPTIONAL {",
    "UNION",
    "GRAPH ?g {",
    "FROM <urn:x>",
    "FROM NAMED <not an iri>",
    "SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o }",
    "SERVICE SILENT <http://127.0.0.1:9/sparql> { ?s ?p ?o }",
    "LIMIT -1",
    "OFFSET 99999999999999999999",
    "VALUES ?x {",
    "PREFIX x: <",
    "nope:thing",
    "BIND(",
    "\\u0000",
    "#",
    '"',
    "<",
    "?",
    "$",
    "ORDER BY",
    "GROUP BY ?nothing",
    "COUNT(*)",
    "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
    "LOAD <http://127.0.0.1:9/x>",
    "((((((((((",
]
odd_text = st.one_of(
    st.sampled_from(ODD_TEXT),
    st.text(max_size=24),
    st.binary(max_size=12).map(lambda b: b.decode("latin-1")),
)


@pytest.fixture(scope="module")
def fuzzed(kg: KnowledgeGraph, server_factory: Any) -> Iterator[tuple[LiveServer, httpx.Client]]:
    live = server_factory(
        kg, Settings.from_env(query_timeout=1.0, max_query_timeout=1.0, query_workers=2)
    )
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield live, client
    # The server is still healthy, and answers correctly, after everything it was sent.
    with httpx.Client(base_url=live.url, timeout=30) as client:
        assert client.get("/health").json()["status"] == "ok"
        ask = client.get(
            "/sparql",
            params={"query": "ASK { kg:armenia kgo:negotiatedWith kg:azerbaijan }"},
            headers={"Accept": "application/sparql-results+json"},
        )
        assert ask.status_code == 200 and ask.json()["boolean"] is True
        metrics = client.get("/metrics").text
        for code in ("worker-crashed", "internal-error"):
            assert f'code="{code}"' not in metrics, code


def check(response: httpx.Response) -> None:
    """No 500, no leak, and errors in the server's one shape."""
    request = response.request
    where = f"{request.method} {str(request.url)[:200]}"
    assert response.status_code != 500, f"{where}: {response.text[:300]}"
    assert response.status_code < 600, where
    body = response.text
    assert not LEAKS.search(body), f"{where} leaks: {LEAKS.search(body)}"
    if response.status_code >= 400 and request.method != "HEAD":
        media = response.headers.get("content-type", "")
        assert media.startswith(("application/problem+json", "text/html")), f"{where}: {media}"
        if media.startswith("application/problem+json"):
            problem = json.loads(body)
            assert problem["status"] == response.status_code, where
            assert problem["code"] != "worker-crashed", where
    if response.status_code >= 500:
        assert response.status_code in (502, 503), where


def _operations(client: httpx.Client) -> list[tuple[str, str, list[dict[str, Any]]]]:
    paths = client.get("/openapi.json").json()["paths"]
    return [
        (path, method.upper(), op.get("parameters", []))
        for path, ops in sorted(paths.items())
        for method, op in sorted(ops.items())
    ]


def _value(draw: Any, schema: dict[str, Any]) -> Any:
    kind = schema.get("type") or next(
        (s.get("type") for s in schema.get("anyOf", []) if s.get("type") != "null"), "string"
    )
    if kind == "integer":
        return draw(st.one_of(st.integers(-10, 2000), st.sampled_from(ODD_TEXT)))
    if kind == "boolean":
        return draw(st.one_of(st.booleans(), st.sampled_from(ODD_TEXT)))
    if kind == "array":
        return draw(st.lists(odd_text, max_size=3))
    if "enum" in schema:
        return draw(st.one_of(st.sampled_from(schema["enum"]), odd_text))
    return draw(odd_text)


@st.composite
def api_requests(draw: Any, operations: list[tuple[str, str, list[dict[str, Any]]]]) -> Any:
    path, method, parameters = draw(st.sampled_from(operations))
    if draw(st.integers(0, 5)) == 0:
        method = draw(st.sampled_from(METHODS))
    query: list[tuple[str, str]] = []
    for parameter in parameters:
        if parameter["in"] == "path":
            segment = str(_value(draw, parameter.get("schema", {})))
            path = path.replace("{" + parameter["name"] + "}", quote(segment, safe="") or "x")
        elif parameter["in"] == "query" and draw(st.booleans()):
            value = _value(draw, parameter.get("schema", {}))
            values = value if isinstance(value, list) else [value]
            query += [(parameter["name"], str(v)) for v in values]
    if draw(st.integers(0, 4)) == 0:
        query.append((draw(odd_text) or "x", draw(odd_text)))
    headers = {}
    accept = draw(st.sampled_from(ACCEPTS))
    if accept:
        headers["Accept"] = accept
    if draw(st.integers(0, 6)) == 0:
        headers["If-None-Match"] = draw(st.sampled_from(["*", 'W/"x"', '"x", W/"y"', ",,"]))
    body = None
    if method in ("POST", "PUT", "PATCH"):
        headers["Content-Type"] = draw(st.sampled_from(CONTENT_TYPES))
        body = draw(st.one_of(st.binary(max_size=64), odd_text.map(str.encode)))
    return method, path, query, headers, body


def test_every_route_survives_odd_requests(fuzzed: tuple[LiveServer, httpx.Client]) -> None:
    _, client = fuzzed
    operations = _operations(client)
    assert len(operations) > 15

    @settings(
        max_examples=130,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(api_requests(operations), min_size=3, max_size=6))
    def fuzz(requests: list[Any]) -> None:
        for method, path, query, headers, body in requests:
            check(client.request(method, path, params=query, headers=headers, content=body))

    fuzz()


raw_paths = st.tuples(
    st.sampled_from(
        ["/resource/", "/evidence/", "/ontology/", "/export/", "/graph/", "/static/", "/"]
    ),
    st.lists(st.binary(min_size=1, max_size=6), min_size=1, max_size=3),
    st.sampled_from(METHODS),
)


@given(st.lists(raw_paths, min_size=3, max_size=6))
@settings(max_examples=150, derandomize=True, deadline=None, database=None)
def test_raw_paths_of_any_bytes(
    fuzzed: tuple[LiveServer, httpx.Client], paths: list[tuple[str, list[bytes], str]]
) -> None:
    _, client = fuzzed
    for prefix, raw, method in paths:
        segments = ["".join(f"%{byte:02X}" for byte in part) for part in raw]
        url = httpx.URL(client.base_url.join(prefix + "/".join(segments)))
        check(client.request(method, url, headers={"Accept": "application/json"}))


def _mutate(draw: Any, text: str) -> str:
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "cut", "repeat", "upper"]))
        if action == "insert":
            text = text[:at] + " " + draw(st.sampled_from(TOKENS)) + " " + text[at:]
        elif action == "cut":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        elif action == "repeat":
            text = text[:at] + text[at : at + 30] * draw(st.integers(2, 5)) + text[at:]
        else:
            text = text[:at] + text[at:].upper()
    return text


@st.composite
def sparql_requests(draw: Any) -> Any:
    base = draw(st.sampled_from([e.sparql for e in EXAMPLES] + ["ASK {}", "SELECT * {}"]))
    text = _mutate(draw, base)
    way = draw(st.sampled_from(["get", "form", "direct", "update"]))
    accept = draw(st.sampled_from(ACCEPTS))
    headers = {"Accept": accept} if accept else {}
    extra = draw(
        st.lists(
            st.sampled_from(
                [
                    ("infer", "false"),
                    ("infer", "maybe"),
                    ("default-graph-uri", "x"),
                    ("named-graph-uri", "urn:g"),
                    ("timeout", "-3"),
                    ("timeout", "0.2"),
                    ("format", "json"),
                    ("format", "nonsense"),
                    ("perspective", "nobody"),
                ]
            ),
            max_size=2,
        )
    )
    charset = draw(st.sampled_from(["utf-8", "UTF-16", "latin-1", "bogus"]))
    return way, text, headers, extra, charset


@given(st.lists(sparql_requests(), min_size=2, max_size=5))
@settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_mutated_sparql_is_refused_or_answered(
    fuzzed: tuple[LiveServer, httpx.Client], requests: list[Any]
) -> None:
    _, client = fuzzed
    for request in requests:
        _send_sparql(client, *request)


def _send_sparql(
    client: httpx.Client,
    way: str,
    text: str,
    headers: dict[str, str],
    extra: list[tuple[str, str]],
    charset: str,
) -> None:
    if way == "get":
        response = client.get("/sparql", params=[("query", text), *extra], headers=headers)
    elif way == "form":
        response = client.post("/sparql", data={"query": text, **dict(extra)}, headers=headers)
    elif way == "direct":
        try:
            body = text.encode(charset)
        except (LookupError, UnicodeEncodeError):
            body = text.encode("utf-8", "surrogatepass")
        headers = {**headers, "Content-Type": f"application/sparql-query; charset={charset}"}
        params: list[tuple[str, Any]] = list(extra)
        response = client.post("/sparql", params=params, content=body, headers=headers)
    else:
        response = client.post("/sparql/update", data={"update": text}, headers=headers)
    check(response)
