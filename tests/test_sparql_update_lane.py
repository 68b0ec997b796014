"""``POST /sparql/update`` of update text is answered past the middleware stack
(``routes.UpdateLane``): the same limits, error shape and headers as the whole way."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from karabakh_kg.graph.loading import load_graph
from karabakh_kg.server.settings import Settings
from karabakh_kg.server.sparql import routes

TOKEN = "lane-token-5c2e"
UPDATE = {"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"}
LIMIT = 2_000


@pytest.fixture(scope="module")
def lane(server_factory: Any) -> Any:
    settings = Settings(
        enable_updates=True,
        ephemeral_updates=True,
        update_token=TOKEN,
        max_body_bytes=LIMIT,
        body_timeout=0.5,
        query_workers=1,
    )
    return server_factory(load_graph(), settings)


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths the lane answered during the test (it calls the handler by its module's
    name; the routes hold the function itself)."""
    paths: list[str] = []
    handler = routes.sparql_update

    async def counting(request: Any) -> Any:
        paths.append(request.url.path)
        return await handler(request)

    monkeypatch.setattr(routes, "sparql_update", counting)
    yield paths


def post(live: Any, body: bytes, headers: dict[str, str], path: str = "/sparql/update") -> Any:
    return httpx.post(live.url + path, content=body, headers=headers, timeout=30)


def test_an_update_takes_the_lane_and_is_applied(lane: Any, answered: list[str]) -> None:
    text = "INSERT DATA { <https://w3id.org/karabakh-kg/resource/lane-1> a kgo:Person }"
    response = post(lane, text.encode(), UPDATE)
    assert response.status_code == 200 and response.json()["added"] == 1
    assert response.headers["content-type"] == "application/json"
    assert response.headers["vary"] == "Origin"  # as the CORS middleware says it
    again = post(lane, text.replace("lane-1", "lane-2").encode(), UPDATE, "/update")
    assert again.json()["added"] == 1
    assert answered == ["/sparql/update", "/update"]
    ask = httpx.get(
        lane.url + "/sparql",
        params={"query": "ASK { <https://w3id.org/karabakh-kg/resource/lane-2> a kgo:Agent }"},
    )
    assert ask.json()["boolean"] is True  # reasoned, as through the whole stack


def test_a_request_with_an_origin_takes_the_whole_way(lane: Any, answered: list[str]) -> None:
    text = b"INSERT DATA { <https://w3id.org/karabakh-kg/resource/lane-3> a kgo:Person }"
    response = post(lane, text, {**UPDATE, "Origin": "https://yasgui.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert answered == []


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({"Content-Type": "application/sparql-update"}, b"INSERT DATA {}", 401, "unauthorized"),
        ({**UPDATE, "Authorization": "Bearer wrong"}, b"INSERT DATA {}", 401, "unauthorized"),
        (
            {**UPDATE, "Content-Type": "application/sparql-update; charset=latin-1"},
            b"INSERT DATA {}",
            415,
            "unsupported-media-type",
        ),
        (UPDATE, b"   ", 400, "missing-update"),
        (UPDATE, b"INSERT DATA { <urn:a> <urn:b> ", 400, "update-failed"),
        (UPDATE, b"SELECT * WHERE { ?s ?p ?o }", 400, "query-on-update-endpoint"),
        (UPDATE, b"x" * (LIMIT + 1), 413, "body-too-large"),
    ],
)
def test_refusals_are_the_one_problem_shape(
    lane: Any, answered: list[str], headers: dict[str, str], body: bytes, status: int, code: str
) -> None:
    response = post(lane, body, headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json; charset=utf-8"
    document = response.json()
    assert document["code"] == code and document["status"] == status
    assert document["type"].endswith("#" + code) and document["detail"]
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    if status != 413:  # refused by its Content-Length before any handler
        assert answered == ["/sparql/update"]


def raw(live: Any, request: bytes) -> bytes:
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_a_chunked_body_over_the_limit_is_a_413(lane: Any) -> None:
    chunk = b"x" * 1500
    size = f"{len(chunk):x}".encode()
    answer = raw(
        lane,
        b"POST /sparql/update HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-update\r\n"
        + f"Authorization: Bearer {TOKEN}\r\n".encode()
        + b"Transfer-Encoding: chunked\r\n\r\n"
        + (size + b"\r\n" + chunk + b"\r\n") * 2
        + b"0\r\n\r\n",
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert b'"code":"body-too-large"' in body


def test_a_body_that_stops_arriving_is_a_408(lane: Any) -> None:
    answer = raw(
        lane,
        b"POST /sparql/update HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-update\r\n"
        + f"Authorization: Bearer {TOKEN}\r\n".encode()
        + b"Content-Length: 100\r\n\r\nINSERT DATA {",
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert b'"code":"request-timeout"' in body


def test_an_unexpected_failure_is_a_500_problem(
    lane: Any, answered: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(routes, "apply_change", broken)
    text = b"INSERT DATA { <https://w3id.org/karabakh-kg/resource/lane-4> a kgo:Person }"
    response = post(lane, text, UPDATE)
    assert response.status_code == 500
    assert response.json()["code"] == "internal-error"
    assert "disk on fire" not in response.text
    assert answered == ["/sparql/update"]
