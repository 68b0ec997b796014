"""Promises of the endpoint that a change of the code could break silently: each test here
fails when the check it names is removed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pyoxigraph as ox
import pytest

from karabakh_kg.graph.dataset import KnowledgeGraph
from karabakh_kg.graph.loading import load_graph
from karabakh_kg.server.settings import Settings

TOKEN = "promise-token-7f3a"
PERSON = "https://w3id.org/karabakh-kg/resource/promise-test-person"


def chunks(total: int, size: int = 65_536) -> Iterator[bytes]:
    """A body sent with Transfer-Encoding: chunked (no Content-Length)."""
    yield b"query="
    sent = 0
    while sent < total:
        yield b"a" * size
        sent += size


def test_the_body_cap_holds_for_chunked_requests(live_server: Any) -> None:
    response = httpx.post(
        live_server.url + "/sparql",
        content=chunks(1_200_000),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413, response.text[:200]
    assert response.json()["code"] == "body-too-large"
    assert httpx.get(live_server.url + "/health", timeout=10).status_code == 200


def test_a_small_chunked_request_is_served(live_server: Any) -> None:
    def body() -> Iterator[bytes]:
        yield b"ASK { kg:sergei-lavrov "
        yield b"a kgo:Person }"

    response = httpx.post(
        live_server.url + "/sparql",
        content=body(),
        headers={"Content-Type": "application/sparql-query"},
        timeout=30,
    )
    assert response.status_code == 200 and response.json()["boolean"] is True


@pytest.fixture(scope="module")
def writable(server_factory: Any) -> Any:
    settings = Settings(
        query_workers=1, enable_updates=True, ephemeral_updates=True, update_token=TOKEN
    )
    return server_factory(load_graph(), settings)


def ask(live: Any, query: str) -> bool:
    response = httpx.get(live.url + "/sparql", params={"query": query}, timeout=30)
    assert response.status_code == 200, response.text
    return bool(response.json()["boolean"])


def test_an_update_whose_reasoning_fails_changes_nothing(
    writable: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reasoning fails half way (after writing an inferred triple): the update is undone,
    in the served store and in the query workers."""
    from karabakh_kg.graph import reasoning

    kg = writable.server.config.app.state.kg
    inferred = ox.NamedNode("https://w3id.org/karabakh-kg/graph/inferred")
    stray = ox.Quad(
        ox.NamedNode(PERSON),
        ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
        ox.NamedNode("https://w3id.org/karabakh-kg/ontology#Agent"),
        inferred,
    )

    def failing_update(graph: KnowledgeGraph, added: Any, removed: Any, **_: Any) -> None:
        graph.store.add(stray)  # some of the work was done
        raise RuntimeError("reasoner stopped")

    version = httpx.get(writable.url + "/health", timeout=10).json()["version"]
    monkeypatch.setattr(reasoning, "update", failing_update)
    response = httpx.post(
        writable.url + "/sparql/update",
        content=f"INSERT DATA {{ <{PERSON}> a kgo:Person }}".encode(),
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    monkeypatch.undo()
    assert response.status_code == 400, response.text
    assert "undone" in response.json()["detail"]
    assert ox.Quad(ox.NamedNode(PERSON), stray.predicate, stray.object, inferred) not in kg.store
    assert not any(True for _ in kg.store.quads_for_pattern(ox.NamedNode(PERSON), None, None))
    assert httpx.get(writable.url + "/health", timeout=10).json()["version"] == version
    assert not ask(writable, f"ASK {{ <{PERSON}> ?p ?o }}")
    # The same update, with reasoning working, goes through and is reasoned.
    again = httpx.post(
        writable.url + "/sparql/update",
        content=f"INSERT DATA {{ <{PERSON}> a kgo:Person }}".encode(),
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    assert again.status_code == 200, again.text
    assert ask(writable, f"ASK {{ <{PERSON}> a kgo:Agent }}")  # Person ⊑ Agent
