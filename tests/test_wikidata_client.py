"""The polite Wikidata client: User-Agent, batching, backoff, cache and clear errors."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import httpx
import pyoxigraph as ox
import pytest

from karabakh_kg.graph.wikidata.client import (
    EndpointHTTPError,
    EndpointRateLimited,
    EndpointUnreachable,
    MalformedResponse,
    QueryCache,
    WikidataClient,
    WikidataError,
    batches,
    parse_results,
    retry_after_seconds,
    user_agent,
)

EMPTY = {"head": {"vars": ["item"]}, "results": {"bindings": []}}


def results(*items: str) -> dict[str, object]:
    rows = [
        {"item": {"type": "uri", "value": f"http://www.wikidata.org/entity/{q}"}} for q in items
    ]
    return {"head": {"vars": ["item"]}, "results": {"bindings": rows}}


class FlakyHandler(BaseHTTPRequestHandler):
    """``/busy``: 429 with Retry-After once, then results; ``/down``: always 503;
    ``/html``: 200 with an HTML page; ``/broken``: 200 JSON that is not SPARQL results."""

    calls: ClassVar[dict[str, int]] = {}
    agents: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        path = urlparse(self.path).path
        FlakyHandler.calls[path] = FlakyHandler.calls.get(path, 0) + 1
        FlakyHandler.agents.append(self.headers.get("User-Agent", ""))
        if path == "/busy" and FlakyHandler.calls[path] == 1:
            self._send(429, b"slow down", "text/plain", {"Retry-After": "1"})
        elif path == "/down":
            self._send(503, b"maintenance", "text/plain", {"Retry-After": "0"})
        elif path == "/html":
            self._send(200, b"<html><body>Login</body></html>", "text/html")
        elif path == "/broken":
            self._send(200, b'{"head": {}, "boolean": "maybe"}', "application/sparql-results+json")
        else:
            body = json.dumps(results("Q1")).encode()
            self._send(200, body, "application/sparql-results+json")

    def _send(
        self, code: int, body: bytes, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def flaky() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_429_with_retry_after_is_waited_for_then_retried(flaky: str) -> None:
    with WikidataClient(flaky + "/busy") as client:
        rows = client.select("SELECT ?item WHERE {}")
    assert [row["item"].value for row in rows] == ["http://www.wikidata.org/entity/Q1"]
    assert client.waits == [1.0]  # exactly what Retry-After said
    assert client.requests == 2


def test_503_every_time_gives_up_after_the_retries(flaky: str) -> None:
    waits: list[float] = []
    with (
        WikidataClient(flaky + "/down", max_retries=2, sleep=waits.append) as client,
        pytest.raises(EndpointRateLimited, match="503 after 2 retries"),
    ):
        client.select("SELECT * WHERE {}")
    assert waits == [0.0, 0.0]


def test_malformed_answers_are_clear_errors(flaky: str) -> None:
    with (
        WikidataClient(flaky + "/html") as client,
        pytest.raises(MalformedResponse, match="did not answer SPARQL JSON results"),
    ):
        client.select("SELECT * WHERE {}")
    with (
        WikidataClient(flaky + "/broken") as client,
        pytest.raises(MalformedResponse, match="not SPARQL SELECT results"),
    ):
        client.select("SELECT * WHERE {}")


def test_unreachable_endpoint_is_one_clear_error() -> None:
    with (
        WikidataClient(f"http://127.0.0.1:{unused_port()}/sparql") as client,
        pytest.raises(EndpointUnreachable, match=r"cannot reach http://127\.0\.0\.1"),
    ):
        client.select("SELECT * WHERE {}")


def test_user_agent_is_descriptive_and_sent(flaky: str) -> None:
    FlakyHandler.agents.clear()
    with WikidataClient(flaky + "/ok") as client:
        client.select("SELECT ?item WHERE {}")
    assert FlakyHandler.agents == [user_agent()]
    assert user_agent().startswith("karabakh-kg/")
    assert "https://w3id.org/karabakh-kg/" in user_agent()


def test_non_http_endpoint_is_refused() -> None:
    with pytest.raises(WikidataError, match="http"):
        WikidataClient("ftp://example.org/sparql")


def test_http_error_status_names_the_status() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(400, text="Parse error at 1:3"))
    with (
        WikidataClient("http://wdqs.test/sparql", transport=transport) as client,
        pytest.raises(EndpointHTTPError, match="HTTP 400: Parse error at 1:3"),
    ):
        client.select("SELECT")


def test_values_are_batched_and_long_queries_posted() -> None:
    seen: list[tuple[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            query = parse_qs(request.url.query.decode())["query"][0]
        else:
            query = parse_qs(request.content.decode())["query"][0]
        seen.append((request.method, query))
        return httpx.Response(200, json=EMPTY)

    terms = [ox.NamedNode(f"http://www.wikidata.org/entity/Q{n}") for n in range(1, 8)]
    transport = httpx.MockTransport(answer)
    with WikidataClient("http://wdqs.test/sparql", transport=transport, batch_size=3) as client:
        client.select_values("SELECT * WHERE { {values} }", "item", terms)
        client.select("SELECT * WHERE { " + "?s ?p ?o . " * 300 + "}")
    assert [method for method, _ in seen] == ["GET", "GET", "GET", "POST"]
    assert seen[0][1].count("wikidata.org/entity/Q") == 3
    assert seen[2][1].count("wikidata.org/entity/Q") == 1
    assert "VALUES ?item" in seen[0][1]


def test_cache_answers_repeated_queries_until_expiry(tmp_path: Path) -> None:
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, json=results("Q42"))

    now = [1000.0]
    cache = QueryCache(tmp_path, ttl_seconds=60, clock=lambda: now[0])
    transport = httpx.MockTransport(answer)
    with WikidataClient("http://wdqs.test/sparql", transport=transport, cache=cache) as client:
        first = client.select("SELECT ?item WHERE {}")
        second = client.select("SELECT ?item WHERE {}")
        assert len(calls) == 1 and first == second
        now[0] += 61
        client.select("SELECT ?item WHERE {}")
        assert len(calls) == 2
    assert len(list(tmp_path.glob("*.json"))) == 1
    assert cache.clear() == 1


def test_malformed_answers_are_not_cached(tmp_path: Path) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"oops": 1}))
    cache = QueryCache(tmp_path)
    with (
        WikidataClient("http://wdqs.test/sparql", transport=transport, cache=cache) as client,
        pytest.raises(MalformedResponse),
    ):
        client.select("SELECT * WHERE {}")
    assert list(tmp_path.glob("*.json")) == []


def test_results_parse_to_terms() -> None:
    answer = {
        "head": {"vars": ["a", "b", "c"]},
        "results": {
            "bindings": [
                {
                    "a": {"type": "literal", "value": "Bakı", "xml:lang": "az"},
                    "b": {
                        "type": "literal",
                        "value": "1952-10-07T00:00:00Z",
                        "datatype": "http://www.w3.org/2001/XMLSchema#dateTime",
                    },
                    "c": {"type": "bnode", "value": "b0"},
                }
            ]
        },
    }
    row = parse_results(answer)[0]
    assert row["a"] == ox.Literal("Bakı", language="az")
    assert isinstance(row["b"], ox.Literal) and row["b"].datatype.value.endswith("dateTime")
    assert isinstance(row["c"], ox.BlankNode)


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2020, 10, 9, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Fri, 09 Oct 2020 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_batches() -> None:
    assert batches([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    with pytest.raises(ValueError):
        batches([1], 0)
