"""The triple counts the server shows (service description, home page, /health) are the
data's, and follow it: they are kept per data version, so an update must change them."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pyoxigraph as ox
import pytest

from karabakh_kg.graph import ASSERTED, load_graph
from karabakh_kg.server.settings import Settings

SD = "http://www.w3.org/ns/sparql-service-description#"
VOID_TRIPLES = ox.NamedNode("http://rdfs.org/ns/void#triples")
TOKEN = "count-token-51c2"
PERSON = "https://w3id.org/karabakh-kg/resource/counted-person"


@pytest.fixture(scope="module")
def writable(server_factory: Any) -> Any:
    return server_factory(
        load_graph(), Settings(enable_updates=True, ephemeral_updates=True, update_token=TOKEN)
    )


def engine_count(live: Any, graph: str) -> int:
    """The number of triples in ``graph``, counted by a SPARQL query (SPARQL 1.1 COUNT)."""
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    answer = httpx.get(live.url + "/sparql", params={"query": query}, timeout=30).json()
    return int(answer["results"]["bindings"][0]["n"]["value"])


def described_count(live: Any, graph: str) -> int:
    """void:triples of the named graph ``graph`` in the service description (GET /sparql)."""
    response = httpx.get(live.url + "/sparql", headers={"Accept": "text/turtle"}, timeout=30)
    assert response.status_code == 200, response.text
    triples = list(ox.parse(response.content, format=ox.RdfFormat.TURTLE))
    (named,) = [
        t.subject
        for t in triples
        if t.predicate == ox.NamedNode(SD + "name") and t.object == ox.NamedNode(graph)
    ]
    (described,) = [
        t.object for t in triples if t.subject == named and t.predicate.value == SD + "graph"
    ]
    (count,) = [t.object for t in triples if t.subject == described and t.predicate == VOID_TRIPLES]
    return int(count.value)


def home_page_count(live: Any, label: str) -> int:
    page = httpx.get(live.url + "/", timeout=30).text
    found = re.search(rf"<th>{re.escape(label)}</th><td>(\d+)</td>", page)
    assert found, f"no {label!r} row on the home page"
    return int(found.group(1))


def test_counts_follow_an_update(writable: Any) -> None:
    before = engine_count(writable, ASSERTED.value)
    assert before > 0
    assert described_count(writable, ASSERTED.value) == before
    assert home_page_count(writable, "asserted triples") == before
    assert httpx.get(writable.url + "/health").json()["triples"]["asserted"] == before
    inserted = httpx.post(
        writable.url + "/sparql/update",
        content=f"INSERT DATA {{ <{PERSON}> a kgo:Person }}".encode(),
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    assert inserted.status_code == 200, inserted.text
    after = engine_count(writable, ASSERTED.value)
    assert after == before + 1
    assert described_count(writable, ASSERTED.value) == after
    assert home_page_count(writable, "asserted triples") == after
    assert httpx.get(writable.url + "/health").json()["triples"]["asserted"] == after
