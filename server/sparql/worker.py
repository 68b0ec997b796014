"""The worker process: holds a copy of the store and evaluates one query at a time.

pyoxigraph cannot interrupt a running query from another thread, so the server runs
queries in worker processes that it kills (and replaces) when a query overruns its
time limit. After an update, a job carries the changed quads (``"patch"``) and the worker
applies them before answering, so updates do not restart workers. A worker answers each
job with the tuple of :func:`karabakh_kg.server.sparql.protocol.run_job`, preceded, for a
job with ``chunk_bytes``, by ``("chunk", bytes)`` messages as the answer is written. This module
imports little, so workers start quickly.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from multiprocessing.connection import Connection

import pyoxigraph as ox

from karabakh_kg.server.sparql.protocol import Spoiled, StandingCopy, run_job, run_update_job


def load_store(dump_path: str, union: list[str]) -> ox.Store:
    """A fresh in-memory store with the N-Quads dump at ``dump_path``, whose (otherwise
    empty) default graph receives the union of the ``union`` graphs."""
    store = ox.Store()
    store.bulk_load(path=dump_path, format=ox.RdfFormat.N_QUADS)
    for name in union:
        graph = ox.NamedNode(name)
        store.extend(
            ox.Quad(q.subject, q.predicate, q.object)
            for q in store.quads_for_pattern(None, None, None, graph)
        )
    return store


def apply_patch(
    store: ox.Store, changes: list[tuple[list[ox.Quad], list[ox.Quad]]], union: list[str]
) -> None:
    """Apply logged changes (added, removed quads), in order, to this worker's copy,
    keeping its default graph the union of the ``union`` graphs."""
    graphs = [ox.NamedNode(name) for name in union]
    for added, removed in changes:
        for quad in removed:
            store.remove(quad)
            if quad.graph_name in graphs and not any(
                True
                for g in graphs
                for _ in store.quads_for_pattern(quad.subject, quad.predicate, quad.object, g)
            ):
                store.remove(ox.Quad(quad.subject, quad.predicate, quad.object))
        store.extend(added)
        store.extend(
            ox.Quad(q.subject, q.predicate, q.object) for q in added if q.graph_name in graphs
        )


def _warm_up_guard() -> None:
    from karabakh_kg.server.sparql.guard import warm_up

    with contextlib.suppress(Exception):
        warm_up()


MEMORY_VARIABLE = "KARABAKH_KG_WORKER_ADDRESS_SPACE_MB"
"""How the pool tells a worker its memory bound (the worker sets RLIMIT_AS itself)."""


def limit_address_space() -> None:
    """Bound this process's address space as the pool asks (a query that needs more fails
    its allocation and stops this worker, instead of exhausting the machine)."""
    import os
    import resource

    megabytes = int(os.environ.get(MEMORY_VARIABLE, "0") or 0)
    if megabytes > 0:
        size = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))


def worker_main(inbox: Connection, outbox: Connection, dump_path: str, union: list[str]) -> int:
    """Load the data, then answer jobs until the server closes the pipe; the exit status."""
    # The server decides when a worker ends (it closes the pipe or kills it): Ctrl-C in a
    # terminal reaches the whole process group, and must not print a traceback here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_address_space()
    try:
        store = load_store(dump_path, union)
    except OSError:
        # The server stopped (and removed the dump) while this worker was starting; it
        # reads a missing "ready" as a failed start.
        return 1
    try:
        outbox.send(("ready",))
    except OSError:
        return 1
    # The SERVICE check's parser is slow the first time: prepare it while waiting for jobs.
    threading.Thread(target=_warm_up_guard, daemon=True).start()
    copies: dict[str, StandingCopy] = {}

    def send_chunk(piece: bytes) -> None:
        try:
            outbox.send(("chunk", piece))
        except OSError:
            raise EOFError from None  # past run_job's handling of failed SERVICE calls

    while True:
        try:
            job = inbox.recv()
        except (EOFError, OSError):
            return 0
        if job is None:
            return 0
        changes = job.pop("patch", None)
        if changes:
            apply_patch(store, changes, union)
            for standing in copies.values():
                standing.follow(changes)
        if job.get("kind") == "update":
            copy = copies.get(job["graph"])
            if copy is None:
                copy = copies[job["graph"]] = StandingCopy(store, job["graph"])
            try:
                answer = run_update_job(store, job, copy.difference)
            except Spoiled:
                del copies[job["graph"]]  # rebuilt from the store next time
                answer = run_update_job(store, job)
            try:
                outbox.send(answer)
            except OSError:
                return 0
            continue
        try:
            outbox.send(run_job(store, job, union_ready=bool(union), emit=send_chunk))
        except (EOFError, OSError):  # the server went away
            return 0


def main(argv: list[str]) -> None:
    """``python -m karabakh_kg.server.sparql.worker <jobs-fd> <answers-fd> <dump> [graph…]``."""
    jobs_fd, answers_fd, dump_path = int(argv[0]), int(argv[1]), argv[2]
    sys.exit(
        worker_main(
            Connection(jobs_fd, writable=False),
            Connection(answers_fd, readable=False),
            dump_path,
            argv[3:],
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
