"""Safety of the endpoint under hostile queries: timeouts, row and body caps, busy pool,
SERVICE allowlist, CORS origins. Through a real server with small limits."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import httpx
import pytest

from karabakh_kg.graph.dataset import KnowledgeGraph
from karabakh_kg.server.settings import Settings

CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
PATHS = "SELECT (COUNT(*) AS ?n) WHERE { ?a (!rdf:type)* ?b . ?c (!rdf:type)* ?d . ?e ?f ?g }"
CHEAP = "ASK { kg:sergei-lavrov a kgo:Person }"


@pytest.fixture(scope="module")
def remote(live_server: Any) -> str:
    """An allowed SERVICE endpoint: the shared test server."""
    return str(live_server.url) + "/sparql"


@pytest.fixture(scope="module")
def dead() -> str:
    """An allowed SERVICE endpoint where nothing listens."""
    from conftest import free_port

    return f"http://127.0.0.1:{free_port()}/sparql"


@pytest.fixture(scope="module")
def limited(kg: KnowledgeGraph, server_factory: Any, remote: str, dead: str) -> Any:
    settings = Settings(
        query_timeout=1.0,
        max_query_timeout=2.0,
        max_rows=50,
        max_body_bytes=2_000,
        query_workers=2,
        max_queued=0,
        client_queries=2,  # every request comes from 127.0.0.1: let it use both workers
        cors_origins=("https://allowed.example",),
        service_allowlist=(remote, dead),
    )
    live = server_factory(kg, settings)
    wait_for_workers(live, 2)
    return live


def wait_for_workers(live: Any, count: int) -> None:
    pool = live.server.config.app.state.sparql.store().pool
    deadline = time.monotonic() + 60
    while pool._idle.qsize() < count and time.monotonic() < deadline:
        time.sleep(0.05)


def get(live: Any, query: str, **params: str) -> httpx.Response:
    return httpx.get(live.url + "/sparql", params={"query": query, **params}, timeout=30)


def in_background(live: Any, query: str, **params: str) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(get(live, query, **params)))
    thread.start()
    return thread, out


def wait_running(live: Any, count: int) -> None:
    endpoint = live.server.config.app.state.sparql
    deadline = time.monotonic() + 10
    while endpoint.in_flight < count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert endpoint.in_flight >= count


@pytest.mark.parametrize("hostile", [CARTESIAN, PATHS])
def test_hostile_query_times_out_while_a_cheap_one_answers(limited: Any, hostile: str) -> None:
    wait_for_workers(limited, 2)
    pool = limited.server.config.app.state.sparql.store().pool
    pids_before = {w.process.pid for w in list(pool._idle.queue)}
    timeouts_before = pool.timeouts
    thread, out = in_background(limited, hostile)
    wait_running(limited, 1)
    cheap = get(limited, CHEAP)
    assert cheap.status_code == 200 and cheap.json()["boolean"] is True
    thread.join(timeout=30)
    response = out[0]
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "timeout" and "stopped after 1 s" in body["detail"]
    assert pool.timeouts == timeouts_before + 1
    # The work really stopped: the worker that ran the hostile query no longer exists.
    alive = {pid for pid in pids_before if _exists(pid)}
    assert len(alive) == len(pids_before) - 1


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child not yet reaped is a zombie: count it as gone.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_per_request_timeout_is_capped_and_checked(limited: Any) -> None:
    wait_for_workers(limited, 2)
    short = get(limited, CARTESIAN, timeout="0.3")
    assert short.status_code == 503 and "after 0.3 s" in short.json()["detail"]
    wait_for_workers(limited, 2)
    capped = get(limited, CARTESIAN, timeout="999")
    assert capped.status_code == 503 and "after 2 s" in capped.json()["detail"]
    bad = get(limited, CHEAP, timeout="soon")
    assert bad.status_code == 400 and "timeout" in bad.json()["detail"]


def test_full_pool_refuses_with_503(limited: Any) -> None:
    wait_for_workers(limited, 2)
    # Texts the pool has not seen run: a text known to run long may not take the last worker.
    fresh = [CARTESIAN.replace("?n", f"?full{i}") for i in range(2)]
    running = [in_background(limited, text, timeout="2") for text in fresh]
    wait_running(limited, 2)
    refused = get(limited, CHEAP)
    assert refused.status_code == 503
    assert refused.json()["code"] == "busy" and refused.headers["retry-after"] == "1"
    for thread, _ in running:
        thread.join(timeout=30)


def test_row_cap_refuses_instead_of_truncating(limited: Any) -> None:
    wait_for_workers(limited, 2)
    too_many = get(limited, "SELECT * WHERE { ?s ?p ?o }")
    assert too_many.status_code == 422
    body = too_many.json()
    assert body["code"] == "too-many-results" and "more than 50 rows" in body["detail"]
    paged = get(limited, "SELECT * WHERE { ?s ?p ?o } LIMIT 50 OFFSET 50")
    assert len(paged.json()["results"]["bindings"]) == 50
    graph = get(limited, "CONSTRUCT WHERE { ?s ?p ?o }")
    assert graph.status_code == 422


def test_body_size_cap(limited: Any) -> None:
    padding = "#" + "x" * 3_000 + "\n"
    response = httpx.post(
        limited.url + "/sparql",
        content=(padding + "ASK {}").encode(),
        headers={"Content-Type": "application/sparql-query"},
    )
    assert response.status_code == 413
    assert "2000 bytes" in response.json()["detail"]
    form = httpx.post(limited.url + "/sparql", data={"query": padding + "ASK {}"})
    assert form.status_code == 413


def test_allowed_service_is_called(limited: Any, remote: str) -> None:
    wait_for_workers(limited, 2)
    query = f"SELECT ?label WHERE {{ SERVICE <{remote}> {{ kg:sergei-lavrov rdfs:label ?label }} }}"
    response = get(limited, query)
    assert response.status_code == 200, response.text
    labels = [row["label"]["value"] for row in response.json()["results"]["bindings"]]
    assert any("Lavrov" in label for label in labels)


def test_failing_allowed_service_is_502_not_a_partial_200(limited: Any, dead: str) -> None:
    wait_for_workers(limited, 2)
    response = get(limited, f"SELECT * WHERE {{ ?s a kgo:City . SERVICE <{dead}> {{ ?s ?p ?o }} }}")
    assert response.status_code == 502
    body = response.json()
    assert body["code"] == "service-failed" and body["detail"]


def test_cors_origins_are_configurable(limited: Any) -> None:
    allowed = httpx.get(
        limited.url + "/sparql",
        params={"query": CHEAP},
        headers={"Origin": "https://allowed.example"},
    )
    assert allowed.headers["access-control-allow-origin"] == "https://allowed.example"
    assert "etag" in allowed.headers["access-control-expose-headers"].lower()
    other = httpx.get(
        limited.url + "/sparql",
        params={"query": CHEAP},
        headers={"Origin": "https://elsewhere.example"},
    )
    assert "access-control-allow-origin" not in other.headers


def test_metrics_count_timeouts(limited: Any) -> None:
    wait_for_workers(limited, 2)
    assert get(limited, CARTESIAN, timeout="0.2").status_code == 503
    text = httpx.get(limited.url + "/metrics").text
    line = next(x for x in text.splitlines() if x.startswith("karabakh_kg_sparql_timeouts_total"))
    assert float(line.split()[-1]) >= 1
