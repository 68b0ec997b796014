"""Every input bounded: answer size, fair admission, connection time limits, dataset IRIs,
nesting depth, leftovers of killed servers. Real servers on real sockets."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from karabakh_kg.graph.dataset import KnowledgeGraph
from karabakh_kg.server.settings import Settings

CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
CHEAP = "ASK { kg:sergei-lavrov a kgo:Person }"


def doubling(steps: int) -> str:
    """One row whose value doubles ``steps`` times from 10 characters (10 × 2**steps)."""
    binds = " ".join(f"BIND(CONCAT(?v{i}, ?v{i}) AS ?v{i + 1})" for i in range(steps))
    return f'SELECT ?v{steps} WHERE {{ BIND("0123456789" AS ?v0) {binds} }}'


def get(url: str, query: str, client: httpx.Client | None = None, **params: str) -> httpx.Response:
    sender = client or httpx
    return sender.get(url + "/sparql", params={"query": query, **params}, timeout=60)


def wait_for_workers(live: Any, count: int) -> None:
    pool = live.server.config.app.state.sparql.store().pool
    deadline = time.monotonic() + 60
    while pool._idle.qsize() < count and time.monotonic() < deadline:
        time.sleep(0.05)


# -- answer size -----------------------------------------------------------------------


def test_a_20000_row_answer_comes_back_under_the_default_settings(live_server: Any) -> None:
    values_a = " ".join(str(i) for i in range(200))
    values_b = " ".join(str(i) for i in range(100))
    query = f"SELECT * WHERE {{ VALUES ?a {{ {values_a} }} VALUES ?b {{ {values_b} }} }}"
    response = httpx.post(
        live_server.url + "/sparql",
        content=query.encode(),
        headers={"Content-Type": "application/sparql-query"},
        timeout=60,
    )
    assert response.status_code == 200, response.text[:300]
    assert len(response.json()["results"]["bindings"]) == 20_000


def test_answers_are_capped_by_bytes_in_the_worker(live_server: Any) -> None:
    """One row of 42 MB (10 × 2**22 characters) passes the row cap, not the byte cap."""
    pool = live_server.server.config.app.state.sparql.store().pool
    timeouts = pool.timeouts
    response = get(live_server.url, doubling(22))
    assert response.status_code == 422, response.text[:300]
    body = response.json()
    assert body["code"] == "answer-too-large" and body["limit"] == 32_000_000
    assert "MAX_ANSWER_BYTES" in body["detail"]
    # The same shape, small enough, answers; the worker was not lost on the way.
    small = get(live_server.url, doubling(4))
    assert small.status_code == 200
    assert small.json()["results"]["bindings"][0]["v4"]["value"] == "0123456789" * 16
    assert pool.timeouts == timeouts


def test_graph_answers_are_capped_by_bytes(kg: KnowledgeGraph, server_factory: Any) -> None:
    live = server_factory(kg, Settings(query_workers=1, max_answer_bytes=20_000))
    response = get(live.url, "CONSTRUCT WHERE { ?s ?p ?o }")
    assert response.status_code == 422 and response.json()["code"] == "answer-too-large"
    small = get(live.url, "CONSTRUCT WHERE { kg:sergei-lavrov rdfs:label ?l }")
    assert small.status_code == 200 and "Lavrov" in small.text


@pytest.mark.parametrize(
    ("settings", "code"),
    [({"max_rows": 100}, "too-many-results"), ({"max_answer_bytes": 20_000}, "answer-too-large")],
)
def test_a_graph_store_read_past_a_cap_says_how_to_read_it(
    kg: KnowledgeGraph, server_factory: Any, settings: dict[str, int], code: str
) -> None:
    """A Graph Store read takes no LIMIT or OFFSET: past a cap, the 422 says to page with a
    SPARQL query instead (it said to add LIMIT and OFFSET, as to a query)."""
    live = server_factory(kg, Settings(query_workers=1, **settings))
    refused = httpx.get(live.url + "/rdf-graphs/service?default", timeout=60)
    assert refused.status_code == 422 and refused.json()["code"] == code
    detail = refused.json()["detail"]
    assert "default graph" in detail and "CONSTRUCT" in detail and "/sparql" in detail
    assert refused.json()["limit"] == next(iter(settings.values()))


# -- fair admission ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared(kg: KnowledgeGraph, server_factory: Any) -> Any:
    """Two workers; one client may hold one of them (the default: half the workers)."""
    settings = Settings(query_workers=2, query_timeout=0.8, max_query_timeout=2.0, client_queued=2)
    live = server_factory(kg, settings)
    wait_for_workers(live, 2)
    return live


def from_address(address: str) -> httpx.Client:
    """A client whose connections come from ``address`` (any of 127.0.0.0/8 on Linux)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=60)


def test_a_cheap_query_from_another_client_is_served_before_the_hostile_line(
    shared: Any,
) -> None:
    hostile = from_address("127.0.0.1")
    answers: list[httpx.Response] = []
    threads = [
        threading.Thread(target=lambda: answers.append(get(shared.url, CARTESIAN, hostile)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    endpoint = shared.server.config.app.state.sparql
    deadline = time.monotonic() + 10
    while endpoint.in_flight < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    with from_address("127.0.0.2") as other:
        cheap = get(shared.url, CHEAP, other)
    still_waiting = 3 - len(answers)
    for thread in threads:
        thread.join(timeout=60)
    hostile.close()
    assert cheap.status_code == 200 and cheap.json()["boolean"] is True
    # The hostile client's queries run one at a time: two of them were still in line.
    assert still_waiting >= 2
    # Each hostile query had its own full time limit, however long it waited.
    assert [a.status_code for a in answers] == [503, 503, 503]
    assert all("stopped after 0.8 s" in a.json()["detail"] for a in answers)


def test_waiting_in_line_never_kills_a_worker(shared: Any) -> None:
    """A cheap query waiting behind a slow one from the same client runs with its whole
    time limit; only the slow query's worker is stopped."""
    wait_for_workers(shared, 2)
    pool = shared.server.config.app.state.sparql.store().pool
    timeouts = pool.timeouts
    with from_address("127.0.0.3") as client:
        slow: list[httpx.Response] = []
        thread = threading.Thread(target=lambda: slow.append(get(shared.url, CARTESIAN, client)))
        thread.start()
        endpoint = shared.server.config.app.state.sparql
        deadline = time.monotonic() + 10
        while endpoint.in_flight < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        with from_address("127.0.0.3") as same:
            cheap = get(shared.url, CHEAP, same, timeout="0.5")
        thread.join(timeout=60)
    assert slow[0].status_code == 503 and slow[0].json()["code"] == "timeout"
    assert cheap.status_code == 200, cheap.text
    assert pool.timeouts == timeouts + 1


def test_queries_known_to_run_long_leave_a_worker_to_cheap_ones(shared: Any) -> None:
    """The long lane: a text whose last run used LONG_CPU or more takes at most every worker
    but one, so with long queries from every client waiting, a cheap query from another is
    answered while they run, before any of them ends (each ends only at its own 2 s
    limit)."""
    endpoint = shared.server.config.app.state.sparql
    pool = endpoint.store().pool
    wait_for_workers(shared, 2)
    with from_address("127.0.0.5") as first:  # runs long once (CPU-bound until its 2 s)
        assert get(shared.url, CARTESIAN, first, timeout="2").status_code == 503
    assert pool.known_long(CARTESIAN)
    wait_for_workers(shared, 2)  # the stopped worker's successor
    finished: list[str] = []
    lock = threading.Lock()

    def send(address: str, query: str, label: str) -> None:
        with from_address(address) as client:
            response = get(shared.url, query, client, timeout="2")
        with lock:
            finished.append(f"{label} {response.status_code}")

    heavy = [
        threading.Thread(target=send, args=(address, CARTESIAN, "long"))
        for address in ("127.0.0.6", "127.0.0.7")
    ]
    for thread in heavy:
        thread.start()
    deadline = time.monotonic() + 10
    while endpoint.in_flight < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    admission = endpoint.admission
    assert (admission.long_in_use, admission.queued) == (1, 1)  # one runs, one waits
    send("127.0.0.8", CHEAP, "cheap")
    for thread in heavy:
        thread.join(timeout=60)
    assert finished == ["cheap 200", "long 503", "long 503"]


def test_long_queries_take_at_most_two_workers_per_core_and_never_the_last() -> None:
    """Eight workers, eight clients each sending a long query: at most two run per core
    (more would run out of time side by side), never on the last free worker; a cheap query
    then runs at once, and the long ones waiting all run in turn."""
    import asyncio

    from karabakh_kg.server.sparql.admission import Admission

    running = min(7, 2 * len(os.sched_getaffinity(0)))
    admission = Admission(8, 1, 4, 64)
    ran: list[str] = []

    async def scenario() -> None:
        release = asyncio.Event()

        async def query(client: str, long: bool) -> None:
            async with admission.admit(client, 30, long):
                ran.append(client)
                await release.wait()

        waiting = [asyncio.create_task(query(f"long {i}", True)) for i in range(8)]
        await asyncio.sleep(0.05)
        assert len(ran) == admission.long_in_use == running
        cheap = asyncio.create_task(query("cheap", False))
        await asyncio.sleep(0.05)
        assert "cheap" in ran and admission.queued == 8 - running
        release.set()
        await asyncio.gather(*waiting, cheap)

    # In a thread of its own: in a full run the session's Playwright browser (sync API) leaves
    # its event loop marked as running in the main thread, where asyncio.run refuses to start.
    with ThreadPoolExecutor(1) as alone:
        alone.submit(asyncio.run, scenario()).result(timeout=60)
    assert len(ran) == 9 and admission.in_use == admission.long_in_use == 0


def test_one_client_cannot_queue_without_bound(shared: Any) -> None:
    wait_for_workers(shared, 2)
    answers: list[httpx.Response] = []
    lock = threading.Lock()
    together = threading.Barrier(5)

    def send() -> None:
        with from_address("127.0.0.4") as client:
            together.wait(timeout=30)  # all five in flight while the first still runs (1 s)
            response = get(shared.url, CARTESIAN, client, timeout="1")
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=send) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    codes = sorted(a.status_code for a in answers)
    # One running and two waiting at most (client_queued=2): the others are told to wait.
    refused = [a for a in answers if a.status_code == 429]
    assert len(refused) >= 2, codes
    assert all(a.json()["code"] == "too-many-requests" for a in refused)
    assert all(a.headers["retry-after"] == "1" for a in refused)


# -- connections -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def timed(kg: KnowledgeGraph) -> Iterator[str]:
    """The server as ``karabakh-kg serve`` runs it (uvicorn_options), with short limits."""
    from conftest import free_port

    from karabakh_kg.server.app import create_app
    from karabakh_kg.server.sparql.limits import uvicorn_options

    settings = Settings(
        query_workers=1, header_timeout=0.5, body_timeout=0.5, keepalive_timeout=0.5
    )
    port = free_port()
    config = uvicorn.Config(
        create_app(kg, settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        **uvicorn_options(settings),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def connect(address: str) -> socket.socket:
    host, port = address.split(":")
    sock = socket.create_connection((host, int(port)))
    sock.settimeout(10)  # only so that a broken server cannot hang the test
    return sock


def closed_by_server(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_a_connection_that_sends_nothing_is_closed(timed: str) -> None:
    with connect(timed) as sock:
        assert closed_by_server(sock) == b""


def test_headers_sent_slowly_are_cut_off(timed: str) -> None:
    with connect(timed) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(20):
                time.sleep(0.1)
                sock.sendall(b"X-Slow: 1\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return
        assert closed_by_server(sock) == b""


def test_a_body_that_stops_arriving_is_a_408(timed: str) -> None:
    with connect(timed) as sock:
        sock.sendall(
            b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
            b"Content-Length: 100\r\n\r\nASK {"
        )
        answer = closed_by_server(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert b"application/problem+json" in head
    assert b'"code":"request-timeout"' in body


def test_idle_keep_alive_connections_are_closed(timed: str) -> None:
    with connect(timed) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = closed_by_server(sock)  # the answer, then the close after 0.5 s idle
    assert answer.startswith(b"HTTP/1.1 200")


HEAD_LIMIT = 16 * 1024  # docs/sparql-endpoint.md, "Connections"


@pytest.mark.parametrize(
    "head",
    [
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * HEAD_LIMIT + b"\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Many: 123456\r\n" * 1200 + b"\r\n",
        b"GET /health?" + b"a" * HEAD_LIMIT + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["one large header", "many headers", "a long target"],
)
def test_a_request_head_over_the_limit_is_a_400_and_closed(timed: str, head: bytes) -> None:
    with connect(timed) as sock:
        sock.sendall(head)
        answer = closed_by_server(sock)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]


def test_a_request_head_under_the_limit_is_answered(timed: str) -> None:
    headers = {f"X-Header-{n}": "v" * 100 for n in range(HEAD_LIMIT // 200)}  # about 8 KiB
    response = httpx.get(f"http://{timed}/health", headers=headers, timeout=30)
    assert response.status_code == 200


def test_a_prompt_client_is_unaffected(timed: str) -> None:
    response = httpx.get(f"http://{timed}/sparql", params={"query": CHEAP}, timeout=30)
    assert response.status_code == 200 and response.json()["boolean"] is True


# -- crashes ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["default-graph-uri", "named-graph-uri"])
@pytest.mark.parametrize("iri", ["x", "relative/path", "http://a b/", "<http://a/>", ""])
def test_invalid_dataset_iris_are_a_400_and_no_worker_dies(
    live_server: Any, name: str, iri: str
) -> None:
    pool = live_server.server.config.app.state.sparql.store().pool
    pids = {w.process.pid for w in list(pool._idle.queue)}
    response = httpx.get(
        live_server.url + "/sparql", params={"query": "ASK {}", name: iri}, timeout=30
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "bad-parameter" and name in body["detail"]
    assert pids <= {w.process.pid for w in list(pool._idle.queue)} | _running(pool)


def _running(pool: Any) -> set[int]:
    return {p.pid for p in pool._processes if p.poll() is None}


DEEP = 5_000


@pytest.mark.parametrize(
    "query",
    [
        "ASK { FILTER(" + "(" * DEEP + "1" + ")" * DEEP + ") }",
        "ASK " + "{" * DEEP + "}" * DEEP,
        "ASK { " + "OPTIONAL { " * DEEP + "}" * DEEP + "}",
        "SELECT * WHERE { " + "{ SELECT * WHERE " * DEEP + "{}" + " }" * DEEP + " }",
        "SELECT * WHERE { SERVICE <http://h/> { " + "{" * DEEP + "}" * DEEP + " } }",
        # an escape in an IRI, then '#': not a comment (pyoxigraph reads the escape)
        "SELECT * WHERE { ?s ?p <http://a.example/\\u0041#x> . FILTER("
        + "(" * DEEP + "1" + ")" * DEEP + ") }",
        # '<' is less-than here: what looks like an IRI up to '#>' is code, then a comment
        "SELECT * WHERE { BIND(1 AS ?a) FILTER(?a<" + "(" * DEEP + "1" + ")" * DEEP + "#>\n) }",
        # ... or code then a string: the brackets after it are code
        "SELECT * WHERE { BIND(1 AS ?a) FILTER(?a<'x>'&&" + "(" * DEEP + "1" + ")" * DEEP
        + "='') }",
    ],
    ids=["parentheses", "groups", "optionals", "subqueries", "in a service", "after an escaped IRI",
         "less-than then a comment", "less-than then a string"],
)  # fmt: skip
def test_over_deep_queries_are_refused_before_evaluation(live_server: Any, query: str) -> None:
    pool = live_server.server.config.app.state.sparql.store().pool
    pids = {p.pid for p in pool._processes if p.poll() is None}
    response = httpx.post(
        live_server.url + "/sparql",
        content=query.encode(),
        headers={"Content-Type": "application/sparql-query"},
        timeout=30,
    )
    assert response.status_code == 400, response.text[:300]
    body = response.json()
    assert body["code"] == "query-too-deep" and body["limit"] == 200
    assert pids == {p.pid for p in pool._processes if p.poll() is None}


def test_iris_in_expressions_and_data_blocks_do_not_count_as_depth(live_server: Any) -> None:
    """An IRI with '#' compared in a FILTER, listed by IN, or in 300 VALUES rows is an IRI:
    the query is not too deep (only an IRI right after an operand inside parentheses, that
    could be read as less-than, makes the rest count in full)."""
    rows = " ".join(f"(<http://x.example/a#{i}> <http://x.example/b#{i}>)" for i in range(300))
    query = (
        "SELECT (COUNT(*) AS ?n) WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?o "
        "FILTER(?s != <http://x.example/a#b> && ?s NOT IN (<http://x.example/a#c>, "
        f"<http://x.example/a#d>)) VALUES (?a ?b) {{ {rows} }} }} LIMIT 1"
    )
    # POSTed: as a GET its target (22 KB) would pass the 16 KiB bound on a request's head.
    response = httpx.post(live_server.url + "/sparql", data={"query": query}, timeout=60)
    assert response.status_code == 200, response.text[:300]


def test_queries_as_deep_as_the_limit_still_run(live_server: Any) -> None:
    depth = 150
    query = "ASK { FILTER(" + "(" * depth + "true" + ")" * depth + ") }"
    response = get(live_server.url, query)
    assert response.status_code == 200 and response.json()["boolean"] is True
    service = (
        "SELECT * WHERE { BIND(1 AS ?x) SERVICE SILENT <http://127.0.0.1:9/> { "
        + "{" * depth
        + "}" * depth
        + " } }"
    )
    answer = get(live_server.url, service)
    assert answer.status_code == 200, answer.text[:300]


def test_folders_of_killed_servers_are_removed_on_the_next_start(tmp_path: Path) -> None:
    import pyoxigraph as ox

    from karabakh_kg.server.sparql.pool import FOLDER_PREFIX, OWNER_FILE, WorkerPool

    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    dead = tmp / (FOLDER_PREFIX + "test-dead")
    dead.mkdir(exist_ok=True)
    (dead / "store-0.nq").write_text("")
    (dead / OWNER_FILE).write_text(str(_dead_pid()))
    alive = tmp / (FOLDER_PREFIX + "test-alive")
    alive.mkdir(exist_ok=True)
    (alive / OWNER_FILE).write_text(str(os.getpid()))
    pool = WorkerPool(ox.Store(), 1, 0)
    try:
        assert not dead.exists()
        assert alive.exists()
        assert (pool._folder / OWNER_FILE).read_text() == str(os.getpid())
    finally:
        pool.close()
        for path in alive.glob("*"):
            path.unlink()
        alive.rmdir()
    assert not pool._folder.exists()


def _dead_pid() -> int:
    """The id of a process that has exited."""
    import subprocess

    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_the_openapi_document_states_the_enforced_limits(shared: Any) -> None:
    schema = httpx.get(shared.url + "/openapi.json", timeout=30).json()
    for method in ("get", "post"):
        operation = schema["paths"]["/sparql"][method]
        timeout = next(p for p in operation["parameters"] if p["name"] == "timeout")
        assert timeout["schema"]["maximum"] == 2.0 and timeout["schema"]["default"] == 0.8
        codes = set(operation["responses"])
        assert {
            "200",
            "400",
            "403",
            "406",
            "408",
            "413",
            "415",
            "422",
            "429",
            "502",
            "503",
        } <= codes
        problem = operation["responses"]["422"]["content"]["application/problem+json"]
        assert problem["schema"]["$ref"] == "#/components/schemas/Problem"
    assert (
        "application/sparql-query" in schema["paths"]["/sparql"]["post"]["requestBody"]["content"]
    )
    assert schema["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
        "code",
    ]


def test_a_query_needing_more_memory_than_a_worker_may_use(
    kg: KnowledgeGraph, server_factory: Any
) -> None:
    """One row doubled to 640 MB: the worker's allocation fails under its bound, the query
    is answered 503 with the reason, and the next query is served by a new worker."""
    settings = Settings(
        query_workers=1, worker_memory_mb=800, query_timeout=20, max_query_timeout=20
    )
    live = server_factory(kg, settings)  # only the memory bound may stop the query
    wait_for_workers(live, 1)
    response = get(live.url, doubling(26))
    assert response.status_code == 503, response.text[:300]
    body = response.json()
    assert body["code"] == "worker-crashed" and "WORKER_MEMORY_MB" in body["detail"]
    assert get(live.url, CHEAP).json()["boolean"] is True


def test_the_openapi_document_states_the_graph_store_answers(live_server: Any) -> None:
    schema = httpx.get(live_server.url + "/openapi.json", timeout=30).json()
    operation = schema["paths"]["/rdf-graphs/service"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"graph", "default", "format"}
    assert {"200", "304", "400", "404", "406", "422", "503"} <= set(operation["responses"])
