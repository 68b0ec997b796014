"""The query worker of ``karabakh-kg query``: a fork of the calling process
(server/sparql/forked.py) that answers as the server's workers do, and is stopped, not
waited for, at its time limit or when its reader goes away."""

from __future__ import annotations

import os
import time

import pyoxigraph as ox
import pytest

from karabakh_kg.server.sparql import forked
from karabakh_kg.server.sparql.forked import ForkedStore
from karabakh_kg.server.sparql.protocol import LocalStore, QueryFailed, QueryJob

EX = "http://example.org/"
CROSS_PRODUCT = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
"""At 300 triples, 8.1e9 rows: never finishes within the tests' limits."""


@pytest.fixture(scope="module")
def store() -> ox.Store:
    made = ox.Store()
    made.extend(
        ox.Quad(ox.NamedNode(f"{EX}s{i}"), ox.NamedNode(EX + "p"), ox.Literal(i))
        for i in range(300)
    )
    return made


def children() -> set[int]:
    """This process's child processes (from /proc)."""
    pid = os.getpid()
    found: set[int] = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as listed:
                found |= {int(child) for child in listed.read().split()}
        except OSError:
            continue
    return found


def test_the_forked_worker_answers_as_the_workers_job_does(store: ox.Store) -> None:
    job = QueryJob(f"SELECT ?s WHERE {{ ?s <{EX}p> 7 }}", results_format="csv")
    forked = ForkedStore(store).execute(job, timeout=30)
    assert forked == LocalStore(store).execute(job, timeout=30)
    assert forked.body.decode().split() == ["s", f"{EX}s7"]
    streamed = ForkedStore(store).stream(QueryJob("ASK { ?s ?p 299 }"), timeout=30)
    assert b"".join(streamed) == b'{"head":{},"boolean":true}' and streamed.form == "ASK"


def test_a_query_past_its_time_limit_is_stopped(store: ox.Store) -> None:
    before = children()
    began = time.monotonic()
    with pytest.raises(QueryFailed) as failed:
        ForkedStore(store).execute(QueryJob(CROSS_PRODUCT), timeout=0.5)
    assert failed.value.kind == "timeout"
    assert time.monotonic() - began < 10  # stopped, not waited for
    assert children() == before  # killed and reaped


def test_a_reader_that_stops_early_stops_the_worker(store: ox.Store) -> None:
    before = children()
    rows = " ".join(str(i) for i in range(2000))
    endless = f"SELECT * WHERE {{ VALUES ?a {{ {rows} }} VALUES ?b {{ {rows} }} }}"
    stream = ForkedStore(store).stream(
        QueryJob(endless, results_format="csv", max_rows=10**9, max_bytes=10**12), timeout=60
    )
    first = next(iter(stream))
    assert first.startswith(b"a,b\r\n")
    assert children() != before  # still writing the rest
    stream.close()
    assert children() == before


def test_a_query_whose_python_allocation_fails_is_said_to_need_more_memory(
    store: ox.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past its bound an allocation fails in the engine (an abort) or in Python (a
    MemoryError); either way the answer names the memory bound, not a mere crash."""

    def greedy(*_: object, **__: object) -> object:
        return bytearray(512 * 1024 * 1024)  # past the child's 64 MB

    monkeypatch.setattr(forked, "run_job", greedy)  # the forked child runs it
    with pytest.raises(QueryFailed) as failed:
        ForkedStore(store, memory_mb=64).execute(QueryJob("ASK {}"), timeout=30)
    assert failed.value.kind == "crashed"
    assert "KARABAKH_KG_WORKER_MEMORY_MB" in " ".join(map(str, failed.value.args))
