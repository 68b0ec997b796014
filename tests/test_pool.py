"""The query worker pool: workers forked from one zygote share its copy of the data; a long
job's worker is lowered in priority meanwhile; changes reach workers forked later; a
zygote that dies is replaced."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from karabakh_kg.graph import KnowledgeGraph, QuadChange, reasoning
from karabakh_kg.server.settings import Settings
from karabakh_kg.server.sparql.execute import Endpoint
from karabakh_kg.server.sparql.pool import (
    DEMOTED_NICENESS,
    KEPT_BEHIND,
    MEMORY_LOOK_EVERY,
    SHARED_RECYCLE_ABOVE_MB,
    ZYGOTE_BATCH,
    PooledStore,
    WorkerPool,
    private_memory_mb,
)
from karabakh_kg.server.sparql.protocol import QueryJob

EX = "http://example.org/"
GRAPH = EX + "g"
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o2 }"


def quad(name: str, value: str) -> ox.Quad:
    return ox.Quad(
        ox.NamedNode(EX + name), ox.NamedNode(EX + "p"), ox.Literal(value), ox.NamedNode(GRAPH)
    )


def wait_idle(pool: WorkerPool, count: int) -> None:
    deadline = time.monotonic() + 60
    while pool._idle.qsize() < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool._idle.qsize() >= count


def idle_pids(pool: WorkerPool) -> set[int]:
    return {worker.process.pid for worker in list(pool._idle.queue)}


def memory(pid: int) -> dict[str, int]:
    """The kB counters of ``/proc/PID/smaps_rollup``."""
    found = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        found[name.rstrip(":")] = int(value)
    return found


def values(store: PooledStore, query: str) -> list[str]:
    answer = store.execute(QueryJob(query, results_format="tsv"), timeout=10)
    return answer.body.decode().splitlines()[1:]


def ask(store: PooledStore, query: str) -> bool:
    answer = store.execute(QueryJob(query), timeout=10)
    return bool(json.loads(answer.body)["boolean"])


@pytest.fixture
def pooled() -> Iterator[PooledStore]:
    store = ox.Store()
    store.extend(quad(f"s{i}", f"v{i}") for i in range(50))
    pooled = PooledStore(store, 2, 4, [GRAPH])
    pooled.pool.cores = 0  # as if every job contended for the CPU (see the lone job's test)
    wait_idle(pooled.pool, 2)
    yield pooled
    pooled.close()


def test_workers_are_forked_from_one_process_and_share_its_copy() -> None:
    """40 MB of literals: each worker reads all of it, and still holds only a few MB of
    its own (the pages stay the zygote's; workers are kept whatever they hold, here)."""
    store = ox.Store()
    store.extend(quad(f"big{i}", f"{i:08d}" + "x" * 20_000) for i in range(2_000))
    pooled = PooledStore(store, 3, 0, [GRAPH], private_mb=0)
    try:
        wait_idle(pooled.pool, 3)
        for _ in each_worker(pooled.pool):  # one scan of every literal by each worker
            assert values(pooled, "SELECT (SUM(STRLEN(?o)) AS ?n) { ?s ?p ?o }") == [
                str(2_000 * 20_008)  # TSV writes an xsd:integer bare
            ]
        wait_idle(pooled.pool, 3)
        zygote = pooled.pool._zygote.process.pid
        workers = idle_pids(pooled.pool)
        assert len(workers) == 3
        for pid in workers:
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            assert parent == zygote
            own = memory(pid)
            assert own["Private_Dirty"] + own["Private_Clean"] < 20_000, own  # kB, < 20 MB
        assert memory(zygote)["Rss"] > 40_000  # the zygote does hold the data
    finally:
        pooled.close()


def test_a_long_job_is_lowered_in_priority_meanwhile(pooled: PooledStore) -> None:
    pool = pooled.pool
    before = idle_pids(pool)
    assert all(os.getpriority(os.PRIO_PROCESS, pid) == 0 for pid in before)
    outcome: list[BaseException] = []

    def slow() -> None:
        try:
            pooled.execute(QueryJob(SLOW), timeout=1.5)
        except Exception as error:  # the timeout, checked below
            outcome.append(error)

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.8)  # past DEMOTE_AFTER, within the time limit
    busy = before - idle_pids(pool)
    assert len(busy) == 1
    assert os.getpriority(os.PRIO_PROCESS, busy.pop()) == DEMOTED_NICENESS
    # A short query meanwhile runs on the other worker, at normal priority, and that
    # worker goes back to the idle ones.
    assert len(values(pooled, "SELECT ?o { ?s ?p ?o } ORDER BY ?o LIMIT 1")) == 1
    thread.join(timeout=30)
    assert outcome and "did not finish" in str(outcome[0])
    wait_idle(pool, 2)
    after = idle_pids(pool)
    assert len(after & before) == 1  # the short query's worker; the stopped one is gone
    assert all(os.getpriority(os.PRIO_PROCESS, pid) == 0 for pid in after)


def test_a_long_job_is_lowered_only_once_long_jobs_take_the_cores(
    pooled: PooledStore,
) -> None:
    """With two cores for the pool, one long job keeps its priority (lowering it would only
    give its CPU to other programs); once long jobs take both cores, both are lowered."""
    pool = pooled.pool
    pool.cores = 2
    before = idle_pids(pool)
    outcome: list[BaseException] = []

    def slow() -> None:
        try:
            pooled.execute(QueryJob(SLOW), timeout=2.5)
        except Exception as error:  # the timeout
            outcome.append(error)

    first = threading.Thread(target=slow)
    first.start()
    time.sleep(0.6)  # well past DEMOTE_AFTER
    busy = before - idle_pids(pool)
    assert len(busy) == 1 and _priority(next(iter(busy))) == 0
    second = threading.Thread(target=slow)
    second.start()
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline and not all(
        _priority(pid) == DEMOTED_NICENESS for pid in busy | (before - idle_pids(pool))
    ):
        time.sleep(0.02)
    lowered = before - idle_pids(pool)
    assert len(lowered) == 2
    assert all(_priority(pid) == DEMOTED_NICENESS for pid in lowered)
    first.join(timeout=30)
    second.join(timeout=30)
    assert len(outcome) == 2


def test_a_long_job_that_ends_leaves_a_worker_at_normal_priority(pooled: PooledStore) -> None:
    """A million rows counted (about half a second): lowered while it runs; afterwards its
    worker has its priority back, or, where that is not allowed, was replaced."""
    pool = pooled.pool
    before = idle_pids(pool)
    query = (
        "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . "
        "{ SELECT ?j { ?j ?k ?l } LIMIT 8 } }"
    )
    counted: list[list[str]] = []
    thread = threading.Thread(target=lambda: counted.append(values(pooled, query)))
    thread.start()
    seen: set[int] = set()
    while thread.is_alive() and not seen:  # the busy worker, once lowered
        time.sleep(0.02)
        seen = {pid for pid in before - idle_pids(pool) if _priority(pid) == DEMOTED_NICENESS}
    assert len(seen) == 1
    demoted = seen.pop()
    thread.join(timeout=60)
    assert counted == [["1000000"]]
    wait_idle(pool, 2)
    after = idle_pids(pool)
    assert (demoted in after) == may_raise_priority()
    assert all(os.getpriority(os.PRIO_PROCESS, pid) == 0 for pid in after)


def _priority(pid: int) -> int | None:
    try:
        return os.getpriority(os.PRIO_PROCESS, pid)
    except OSError:
        return None


def may_raise_priority() -> bool:
    """Whether this process may lower a niceness (root, or CAP_SYS_NICE)."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) - 1)
    except OSError:
        return False
    os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) + 1)
    return True


def test_a_text_that_ran_long_once_is_forgotten_when_it_runs_short(pooled: PooledStore) -> None:
    """Admission's long lane follows the pool's record: a text remembered as long whose
    job then uses less than LONG_CPU is no longer known as long; a text never seen long is
    not."""
    pool = pooled.pool
    pool.cores = 99  # no demotion: the job runs at full speed
    text = "ASK { ?s ?p ?o }"
    for _ in range(4):  # each worker's first job (lazy imports) is behind us
        assert ask(pooled, text)
    assert not pool.known_long(text)
    forgotten = 0
    for _ in range(5):  # a noisy machine may delay one run past DEMOTE_AFTER, not five
        pool._remember_long(text)
        assert pooled.known_long(text)
        assert ask(pooled, text)
        forgotten += not pooled.known_long(text)
    assert forgotten


def test_the_worker_that_answered_last_takes_the_next_job(pooled: PooledStore) -> None:
    """Queries one after the other go to one worker, whose engine cache holds what the
    previous ones read; the other stays idle (and small)."""
    wait_idle(pooled.pool, 2)
    for _ in range(6):
        assert ask(pooled, "ASK { ?s ?p ?o }")
        wait_idle(pooled.pool, 2)
    assert sorted(worker.jobs for worker in list(pooled.pool._idle.queue)) == [0, 6]


def test_a_short_job_keeps_its_worker(pooled: PooledStore) -> None:
    before = idle_pids(pooled.pool)
    for _ in range(5):
        assert ask(pooled, "ASK { ?s ?p ?o }")
    wait_idle(pooled.pool, 2)
    assert idle_pids(pooled.pool) == before


def test_a_worker_holding_too_much_of_its_own_is_replaced(pooled: PooledStore) -> None:
    """Over the bound of its own memory after a job (here 1 MiB, which every worker holds),
    a worker is replaced by a fresh fork; below it (the default bound), it is kept (test
    above)."""
    before = idle_pids(pooled.pool)
    assert all(private_memory_mb(pid) > 1 for pid in before)
    pooled.pool.private_mb = 1
    assert ask(pooled, "ASK { ?s ?p ?o }")
    wait_idle(pooled.pool, 2)
    assert len(idle_pids(pooled.pool) & before) == 1


def test_a_worker_is_looked_at_after_long_jobs_and_now_and_then_after_short_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reading a worker's memory costs the server a third of a cheap query's CPU: after its
    first job, a worker is read after every job of TRIM_AFTER or more and after every
    MEMORY_LOOK_EVERY-th."""
    import karabakh_kg.server.sparql.pool as pool_module

    looked: list[int] = []

    def counted(pid: int) -> float:
        looked.append(pid)
        return private_memory_mb(pid)

    monkeypatch.setattr(pool_module, "private_memory_mb", counted)
    store = ox.Store()
    store.extend(quad(f"s{i}", f"v{i}") for i in range(50))
    pooled = PooledStore(store, 1, 0, [GRAPH], private_mb=1000)
    pooled.pool.cores = 99  # never demoted: the short jobs stay short
    try:
        wait_idle(pooled.pool, 1)
        for _ in range(MEMORY_LOOK_EVERY):
            assert ask(pooled, "ASK { ?s ?p ?o }")
            wait_idle(pooled.pool, 1)
        assert len(looked) == 2  # the first job and the MEMORY_LOOK_EVERY-th
        million = (
            "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . "
            "{ SELECT ?j { ?j ?k ?l } LIMIT 8 } }"
        )
        assert values(pooled, million) == ["1000000"]  # about half a second: looked at
        wait_idle(pooled.pool, 1)
        assert len(looked) == 3
    finally:
        pooled.close()


def each_worker(pool: WorkerPool) -> Iterator[None]:
    """Make each idle worker in turn the only one a job can go to."""
    wait_idle(pool, pool.size)
    workers = [pool._idle.get_nowait() for _ in range(pool.size)]
    for worker in workers:
        pool._idle.put(worker)
        yield
        wait_idle(pool, 1)
        assert pool._idle.get_nowait() is worker  # the job did go to this one
    for worker in workers:
        pool._idle.put(worker)


def test_every_worker_answers_its_next_query_with_every_change(pooled: PooledStore) -> None:
    """Changes reach every running worker before its next answer, in order, with what
    N-Quads must carry exactly: blank node labels (a later change removes the quad by
    them), language tags, escapes, typed literals."""
    pool = pooled.pool
    blank = ox.BlankNode("kept-label")
    odd = ox.Literal('line\nbreak "quoted" été', language="fr")
    number = ox.Literal("7", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))
    graph = ox.NamedNode(GRAPH)
    first = [
        ox.Quad(ox.NamedNode(EX + "b"), ox.NamedNode(EX + "p"), blank, graph),
        ox.Quad(blank, ox.NamedNode(EX + "p"), odd, graph),
        ox.Quad(blank, ox.NamedNode(EX + "n"), number, graph),
    ]
    pool.patch(pooled.store, first, [quad("s1", "v1")])
    pool.patch(pooled.store, [quad("s1", "v1 again")], [first[1]])  # a later change wins
    for _ in each_worker(pool):
        assert values(pooled, f"SELECT ?o {{ <{EX}s1> ?p ?o }}") == ['"v1 again"']
        assert values(pooled, f"SELECT ?n {{ <{EX}b> ?p ?x . ?x <{EX}n> ?n }}") == ["7"]
        assert not ask(pooled, f"ASK {{ ?x ?p {odd} }}")
    pool.patch(pooled.store, [first[1]], [])
    for _ in each_worker(pool):
        assert values(pooled, f"SELECT ?o {{ <{EX}b> ?p ?x . ?x <{EX}p> ?o }}") == [str(odd)]
        named = f"SELECT ?o {{ GRAPH <{GRAPH}> {{ ?x <{EX}p> ?o FILTER(isBLANK(?x)) }} }}"
        assert values(pooled, named) == [str(odd)]
    pool.patch(pooled.store, [], [first[0], first[1], first[2]])  # removed by their labels
    for _ in each_worker(pool):
        assert not ask(pooled, f"ASK {{ <{EX}b> ?p ?o }}")
        assert not ask(pooled, f"ASK {{ ?s ?p {odd} }}")
        assert not ask(pooled, f"ASK {{ GRAPH <{GRAPH}> {{ ?s <{EX}n> ?o }} }}")


def test_changes_reach_workers_forked_after_them(pooled: PooledStore) -> None:
    """A change is applied by the zygote: a worker forked after it holds it without the
    job carrying it."""
    pool = pooled.pool
    added = [quad("new", "added later")]
    removed = [quad("s0", "v0")]
    pool.patch(pooled.store, added, removed)
    for worker in list(pool._idle.queue):  # replace every worker by one forked now
        pool._idle.get_nowait()
        worker.stop()
    pool._spawn_async()
    pool._spawn_async()
    wait_idle(pool, 2)
    assert all(worker.applied == 1 for worker in list(pool._idle.queue))
    assert values(pooled, f"SELECT ?o {{ <{EX}new> ?p ?o }}") == ['"added later"']
    assert not ask(pooled, f"ASK {{ <{EX}s0> ?p ?o }}")
    # ... and in the named graph as in the default graph (the union of GRAPH)
    assert values(pooled, f"SELECT ?o {{ GRAPH <{GRAPH}> {{ <{EX}new> ?p ?o }} }}") == [
        '"added later"'
    ]


def test_updates_never_wait_for_the_zygote_which_gets_them_in_batches(
    pooled: PooledStore,
) -> None:
    """With the zygote stopped (not reading), logging 4 MB of changes still returns and the
    workers answer with them; once it runs again it gets them, and forks with them."""
    pool = pooled.pool
    zygote = pool._zygote
    os.kill(zygote.process.pid, signal.SIGSTOP)
    try:
        done = threading.Event()

        def log_changes() -> None:
            for i in range(ZYGOTE_BATCH + 8):
                pool.patch(pooled.store, [quad(f"big{i}", f"{i}" + "x" * 100_000)], [])
            done.set()

        threading.Thread(target=log_changes, daemon=True).start()
        assert done.wait(60), "logging changes waited for the stopped zygote"
        for _ in each_worker(pool):
            assert ask(pooled, f"ASK {{ <{EX}big{ZYGOTE_BATCH + 7}> ?p ?o }}")
    finally:
        os.kill(zygote.process.pid, signal.SIGCONT)
    deadline = time.monotonic() + 60
    while zygote.sent < ZYGOTE_BATCH and time.monotonic() < deadline:
        time.sleep(0.05)  # the batch is sent without any fork
    assert zygote.sent >= ZYGOTE_BATCH
    for worker in list(pool._idle.queue):
        pool._idle.get_nowait()
        worker.stop()
    pool._spawn_async()
    wait_idle(pool, 1)
    assert [worker.applied for worker in list(pool._idle.queue)] == [ZYGOTE_BATCH + 8]


def test_the_log_keeps_what_the_zygote_lacks_and_workers_behind_it_are_forked_anew(
    pooled: PooledStore,
) -> None:
    """After many changes the log holds only the last ones (no new dump, no new zygote);
    workers behind it are replaced by forks holding every change; a zygote that dies then
    is replaced by one loading a fresh dump (the log no longer goes back to the old one)."""
    pool = pooled.pool
    wait_idle(pool, 2)
    before = idle_pids(pool)
    zygote, generation = pool._zygote, pool._generation
    total = KEPT_BEHIND + 3 * ZYGOTE_BATCH

    def change(name: str, value: str) -> None:
        pooled.store.add(quad(name, value))  # the served store changes, then the pool
        pool.patch(pooled.store, [quad(name, value)], [])

    for i in range(total):
        change(f"n{i}", f"change {i}")
    deadline = time.monotonic() + 60
    while zygote.sent < total - ZYGOTE_BATCH and time.monotonic() < deadline:
        time.sleep(0.05)
    change("last", "change")
    assert len(pool._changes) <= KEPT_BEHIND + ZYGOTE_BATCH + 1
    assert pool._zygote is zygote and pool._generation == generation
    for _ in range(3):
        assert values(pooled, f"SELECT ?o {{ <{EX}n0> ?p ?o }}") == ['"change 0"']
        assert ask(pooled, f"ASK {{ <{EX}last> ?p ?o }}")
    wait_idle(pool, 2)
    assert not idle_pids(pool) & before
    os.kill(zygote.process.pid, 9)
    zygote.process.wait(timeout=10)
    for worker in list(pool._idle.queue):
        pool._idle.get_nowait()
        worker.stop()
    pool._spawn_async()
    wait_idle(pool, 1)
    assert pool._zygote is not zygote
    assert values(pooled, f"SELECT ?o {{ <{EX}n{total - 1}> ?p ?o }}") == [f'"change {total - 1}"']
    assert len(values(pooled, "SELECT ?s { ?s ?p ?o }")) == 50 + total + 1


def test_a_zygote_that_dies_is_replaced(pooled: PooledStore) -> None:
    """... by one holding every change logged before (it loads the dump of before them)."""
    pool = pooled.pool
    pool.patch(pooled.store, [quad("s50", "logged before the death")], [quad("s0", "v0")])
    dead = pool._zygote
    os.kill(dead.process.pid, 9)
    dead.process.wait(timeout=10)
    for worker in list(pool._idle.queue):  # its workers end too (tested: they are killed)
        pool._idle.get_nowait()
        worker.stop()
    pool._spawn_async()
    wait_idle(pool, 1)
    assert pool._zygote is not dead and pool._zygote.alive
    assert len(values(pooled, "SELECT ?s { ?s ?p ?o }")) == 50
    assert values(pooled, f"SELECT ?o {{ <{EX}s50> ?p ?o }}") == ['"logged before the death"']
    assert not ask(pooled, f"ASK {{ <{EX}s0> ?p ?o }}")


def test_the_endpoint_passes_the_private_memory_setting(kg: KnowledgeGraph) -> None:
    endpoint = Endpoint(kg, Settings(query_workers=1, worker_private_mb=5))
    try:
        store = endpoint.store()
        assert isinstance(store, PooledStore) and store.pool.private_mb == 5
        assert store.pool.shared  # a read-only server: one on-disk copy for its workers
    finally:
        endpoint.close()
    writable = Endpoint(kg, Settings(query_workers=1, enable_updates=True, update_token="t" * 32))
    try:
        store = writable.store()
        assert isinstance(store, PooledStore) and not store.pool.shared  # changes in place
    finally:
        writable.close()
    copies = Endpoint(kg, Settings.from_env({"KARABAKH_KG_WORKER_COPIES": "true"}))
    try:
        store = copies.store()
        assert isinstance(store, PooledStore) and not store.pool.shared
        assert store.pool.private_mb == 64  # the default bound
    finally:
        copies.close()
    shared = Endpoint(kg, Settings(query_workers=1))
    try:
        store = shared.store()
        # shared-copy workers are cheap to replace: a lower bound than the default
        assert isinstance(store, PooledStore) and store.pool.private_mb == SHARED_RECYCLE_ABOVE_MB
    finally:
        shared.close()
    with pytest.raises(ValueError, match="WORKER_PRIVATE_MB"):
        Settings.from_env({"KARABAKH_KG_WORKER_PRIVATE_MB": "-1"})


def shared_pool(store: ox.Store, size: int = 2, version: str | None = None) -> PooledStore:
    pooled = PooledStore(store, size, 0, [GRAPH], private_mb=0, shared=True, version=version)
    wait_idle(pooled.pool, size)
    return pooled


def test_shared_workers_read_one_on_disk_copy_and_hold_little_of_their_own() -> None:
    """100 000 quads: a worker of an in-memory copy that scans them all holds about 33 MiB
    of its own afterwards (reading pyoxigraph's in-memory store writes its reference
    counts, so the pages become the worker's); a worker of the shared on-disk copy holds
    what the engine caches of it, some 17 MiB, and has that copy's files open."""
    store = ox.Store()
    store.extend(quad(f"s{i}", f"v{i}") for i in range(100_000))
    pooled = shared_pool(store)
    try:
        for _ in range(2):  # the scans go to either worker, one at a time
            assert values(pooled, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }") == ["100000"]
            assert values(pooled, f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}")
        wait_idle(pooled.pool, 2)
        folder = pooled.pool._zygote.shared
        assert folder is not None
        for pid in idle_pids(pooled.pool):
            opened = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
            assert any(path.startswith(str(folder)) for path in opened)
            assert private_memory_mb(pid) < 25, private_memory_mb(pid)
    finally:
        pooled.close()
    assert not folder.exists()  # the pool's copy goes with it


def test_a_change_reaches_shared_workers_through_a_new_copy() -> None:
    """The shared copy is read-only: a change gives the workers a new one, before their
    next job, in the default graph (the union) as in the named graph."""
    store = ox.Store()
    store.extend(quad(f"s{i}", f"v{i}") for i in range(50))
    shared = shared_pool(store)
    try:
        before = shared.pool._zygote
        store.add(quad("new", "added"))
        store.remove(quad("s0", "v0"))
        shared.refresh(QuadChange(added=[quad("new", "added")], removed=[quad("s0", "v0")]))
        for _ in range(2):
            assert values(shared, f"SELECT ?o {{ <{EX}new> ?p ?o }}") == ['"added"']
            assert not ask(shared, f"ASK {{ GRAPH <{GRAPH}> {{ <{EX}s0> ?p ?o }} }}")
        assert shared.pool._zygote is not before
    finally:
        shared.close()


def test_the_shared_copy_is_kept_for_the_next_start_of_the_same_content() -> None:
    """Kept by the cache under the data version and the number of quads: a second pool of
    the same content opens it without building one (and leaves it there); a store of the
    same version with other content gets a copy of its own, and so does one whose kept copy
    was damaged."""
    from karabakh_kg.graph.cache import WORKERS_SUFFIX, reasoned_cache, workers_key

    cache = reasoned_cache()
    assert cache is not None
    version = f"test {time.time()}"
    store = ox.Store()
    store.extend(quad(f"s{i}", f"v{i}") for i in range(50))
    key = workers_key(version, [GRAPH], 50)
    first = shared_pool(store, 1, version)
    try:
        deadline = time.monotonic() + 60
        while cache.trusted_folder(key, WORKERS_SUFFIX) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        kept = cache.trusted_folder(key, WORKERS_SUFFIX)
        assert kept is not None
    finally:
        first.close()
    assert copy_and_rows(store, version) == (kept, 50)
    assert cache.trusted_folder(key, WORKERS_SUFFIX) == kept
    damaged = max((path for path in kept.iterdir() if path.suffix == ".sst"), key=os.path.getsize)
    data = damaged.read_bytes()
    damaged.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # one byte changed: not reused
    again, rows = copy_and_rows(store, version)
    assert again != kept and rows == 50
    store.add(quad("s50", "v50"))
    other, rows = copy_and_rows(store, version)
    assert other != kept and rows == 51


def copy_and_rows(store: ox.Store, version: str) -> tuple[object, int]:
    """The on-disk copy a fresh one-worker shared pool of ``store`` opens, and the rows its
    worker finds."""
    pool = shared_pool(store, 1, version)
    try:
        return pool.pool._zygote.shared, len(values(pool, "SELECT ?s { ?s ?p ?o }"))
    finally:
        pool.close()


def read_from_the_copy(endpoint: Endpoint, loaded: ox.Store) -> None:
    """Start ``endpoint``'s workers and wait until its graph reads their on-disk copy
    instead of ``loaded``, the store it was given."""
    endpoint.store()
    deadline = time.monotonic() + 60
    while endpoint.kg.store is loaded and time.monotonic() < deadline:
        time.sleep(0.05)
    assert endpoint.kg.store is not loaded


def test_a_read_only_server_reads_the_workers_copy_instead_of_its_graph_in_memory() -> None:
    """Once the workers' on-disk copy is ready, the server's graph is that copy opened
    read-only, with the same quads and an empty default graph (the workers' holds the
    union), so the in-memory store it was loaded into can go; closed, the endpoint gives
    the graph an in-memory store again, the same quads, writable. A graph already read from
    disk keeps its store. Blank nodes keep their labels (the reasoner's derivations name
    them so)."""
    loaded = ox.Store()
    quads = {quad(f"s{i}", f"v{i}") for i in range(500)}
    restriction = ox.BlankNode("restriction1")
    quads.add(
        ox.Quad(ox.NamedNode(EX + "s0"), ox.NamedNode(EX + "p"), restriction, ox.NamedNode(GRAPH))
    )
    loaded.extend(quads)
    kg = KnowledgeGraph(store=loaded, version=f"test {time.time()}")
    reasoning.attach(kg)  # served reasoned: its pages write nothing into the store
    endpoint = Endpoint(kg, Settings(query_workers=1))
    try:
        read_from_the_copy(endpoint, loaded)
        assert set(kg.store) == quads
        assert not list(kg.store.quads_for_pattern(None, None, None, ox.DefaultGraph()))
        with pytest.raises(RuntimeError, match="read-write"):
            kg.store.add(quad("new", "refused"))
        on_disk = kg.store
        again = Endpoint(kg, Settings(query_workers=1))
        try:
            again.store()
            wait_idle(again.store().pool, 1)  # type: ignore[attr-defined]
            time.sleep(0.5)
            assert kg.store is on_disk
        finally:
            again.close()
        assert kg.store is on_disk  # not the one that endpoint swapped
    finally:
        endpoint.close()
    assert set(kg.store) == quads
    kg.store.add(quad("new", "added"))
    assert len(kg.store) == 502


def test_a_graph_served_unreasoned_is_read_from_the_copy_until_its_pages_reason() -> None:
    """``serve --data --no-reason``: the server reads the workers' copy too, and a page that
    needs the reasoner (built on first use, writing its graphs) is given an in-memory copy
    to reason in, so it answers; the workers keep serving the data unreasoned."""
    loaded = ox.Store()
    quads = {quad(f"s{i}", f"v{i}") for i in range(50)}
    loaded.extend(quads)
    kg = KnowledgeGraph(store=loaded, version=f"unreasoned {time.time()}")
    endpoint = Endpoint(kg, Settings(query_workers=1))
    try:
        read_from_the_copy(endpoint, loaded)
        with pytest.raises(RuntimeError, match="read-write"):
            kg.store.add(quad("new", "refused"))  # the workers' copy, read-only
        assert reasoning.reasoner(kg) is not None  # what a page does first
        kg.store.add(quad("new", "accepted"))  # reasoned in a store of its own
        assert quads <= set(kg.store)
        pooled = endpoint.store()
        assert isinstance(pooled, PooledStore)
        assert len(values(pooled, "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }")) == len(quads)
    finally:
        endpoint.close()
