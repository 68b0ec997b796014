"""The query workers: processes evaluating one query at a time on a shared copy of the store.

pyoxigraph cannot interrupt a running query from another thread, so the server runs
queries in worker processes that it kills (and replaces) when a query overruns its
time limit. One process (the zygote, :func:`zygote_main`) loads the data once and forks
the workers, which share its pages. After an update, a job carries the changed quads
(``"patch"``, as N-Quads: :func:`encode_change`) and the worker applies them before
answering, so updates do not restart workers. A worker answers each
job with the tuple of :func:`karabakh_kg.server.sparql.protocol.run_job`, preceded, for a
job with ``chunk_bytes``, by ``("chunk", bytes)`` messages as the answer is written. This module
imports little, so workers start quickly.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import cast

import pyoxigraph as ox

from karabakh_kg.server.sparql.protocol import (
    MEMORY_EXHAUSTED,
    Spoiled,
    StandingCopy,
    run_job,
    run_update_job,
)


def write_dump(store: ox.Store, path: Path, union: list[str]) -> None:
    """Write ``store`` to ``path`` as the workers load it: its quads as N-Quads, then the
    triples of each of the ``union`` graphs again, in the default graph (N-Triples lines),
    so that loading the file gives a default graph holding their union in one pass of the
    engine (where adding it quad by quad in Python took longer than the load)."""
    with path.open("wb") as output:
        store.dump(output, format=ox.RdfFormat.N_QUADS)
        for name in union:
            store.dump(output, format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(name))


def load_store(dump_path: str) -> ox.Store:
    """A fresh in-memory store with the dump at ``dump_path`` (:func:`write_dump`)."""
    store = ox.Store()
    # Lenient: the server wrote the dump from its own store, so there is nothing to check.
    # Through ox.parse, which keeps the blank-node labels (Store.load renames them), so a
    # logged change removing a quad with a blank node removes it here too; as fast as load.
    store.extend(ox.parse(path=dump_path, format=ox.RdfFormat.N_QUADS, lenient=True))
    return store


def build_shared_store(dump_path: str, folder: str) -> None:
    """Write the dump at ``dump_path`` (:func:`write_dump`) as an on-disk store in ``folder``
    (pyoxigraph's RocksDB). Workers open it read-only (:func:`open_shared_store`): its
    pages are the kernel's page cache, one copy for all. Read through ``ox.parse``, which
    keeps the dump's blank-node labels (``bulk_load`` gives them new ones), so the copy the
    server process may read instead of its own store (:func:`.pool.plain_copy`) names blank
    nodes as the reasoner's derivations do."""
    store = ox.Store(folder)
    store.bulk_extend(ox.parse(path=dump_path, format=ox.RdfFormat.N_QUADS, lenient=True))
    store.flush()


def open_shared_store(folder: str) -> ox.Store:
    """The store :func:`build_shared_store` wrote, opened read-only (a few milliseconds)."""
    return ox.Store.read_only(folder)


EncodedChange = tuple[bytes, bytes]
"""A logged change on the wire: its added and its removed quads as N-Quads (pyoxigraph
writes and reads them in a few microseconds a quad, where pickling quads one by one cost a
millisecond for a one-triple update; blank nodes keep their labels)."""


def encode_change(added: list[ox.Quad], removed: list[ox.Quad]) -> EncodedChange:
    """``(added, removed)`` as the pool logs and sends it (:func:`decode_changes`)."""
    nquads = ox.RdfFormat.N_QUADS
    return (
        (ox.serialize(added, format=nquads) or b"") if added else b"",
        (ox.serialize(removed, format=nquads) or b"") if removed else b"",
    )


def decode_changes(changes: list[EncodedChange]) -> list[tuple[list[ox.Quad], list[ox.Quad]]]:
    """The quads of changes made by :func:`encode_change`, in order."""
    nquads = ox.RdfFormat.N_QUADS

    def quads(data: bytes) -> list[ox.Quad]:
        return list(ox.parse(data, format=nquads)) if data else []

    return [(quads(added), quads(removed)) for added, removed in changes]


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


SHARED_OPTION = "--shared"
"""The zygote's option naming the folder of the on-disk store its workers share."""
MEMORY_VARIABLE = "KARABAKH_KG_WORKER_ADDRESS_SPACE_MB"
"""How the pool tells a worker its memory bound (the worker sets RLIMIT_AS itself)."""


def limit_address_space() -> None:
    """Bound this process's address space as the pool asks (a query that needs more fails
    its allocation and stops this worker, instead of exhausting the machine)."""
    import resource

    megabytes = int(os.environ.get(MEMORY_VARIABLE, "0") or 0)
    if megabytes > 0:
        size = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))


TRIM_AFTER = 0.1
"""Seconds a query ran after which its worker gives the heap it freed back to the system
(:func:`release_free_heap`, a millisecond or two, once the answer is sent)."""


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes  # here: the server imports this module, and needs no ctypes

    try:
        return cast("Callable[[int], int]", ctypes.CDLL(None).malloc_trim)
    except (OSError, AttributeError):  # not glibc
        return None


def release_free_heap() -> None:
    """Return the free pages of the C heap to the system (glibc's ``malloc_trim``).

    A long query's engine allocations (hash tables of a GROUP BY, sorted solutions) are
    freed when it ends, but glibc keeps the pages for later, so the worker went on holding
    them: at 100k triples, 14-16 MiB of its own after the six-query mix instead of about
    11 (the engine's cache of the on-disk copy), past the pool's bound, so it was replaced
    and its successor started with a cold cache."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def serve_jobs(inbox: Connection, outbox: Connection, store: ox.Store, union: list[str]) -> int:
    """Answer jobs from ``inbox`` on ``store`` until the server closes the pipe; the exit
    status."""
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
            changes = decode_changes(changes)
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
        began = time.monotonic()
        try:
            outbox.send(run_job(store, job, union_ready=bool(union), emit=send_chunk))
        except (EOFError, OSError):  # the server went away
            return 0
        if time.monotonic() - began >= TRIM_AFTER:
            release_free_heap()


def _fork_worker(
    inherited: tuple[socket.socket, Connection], store: ox.Store, union: list[str]
) -> tuple[int, int]:
    """Fork one query worker sharing ``store``; (its pid, the server's end of its pipe).

    The child closes the zygote's ``inherited`` channels, answers jobs on its end of a new
    socket pair and never returns."""
    server_end, worker_end = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the worker
        status = 1
        try:
            for channel in (*inherited, server_end):
                channel.close()
            limit_address_space()
            connection = Connection(worker_end.detach())
            status = serve_jobs(connection, connection, store, union)
        except MemoryError:
            status = MEMORY_EXHAUSTED
        finally:
            os._exit(status)
    worker_end.close()
    return pid, server_end.detach()


def _build_in_child(dump_path: str, folder: str) -> bool:
    """:func:`build_shared_store` in a child process, so that the engine's write buffers and
    threads never live in the zygote (whose pages its workers share); whether it worked."""
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            build_shared_store(dump_path, folder)
            status = 0
        finally:
            os._exit(status)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def zygote_main(
    control: socket.socket, dump_path: str, union: list[str], shared: str | None = None
) -> int:
    """Load the data once, then fork query workers that share it, until the server closes
    ``control``; the exit status.

    The forked workers share the loaded store's pages with this process (copy on write:
    a worker's own memory is what its queries allocate, and the pages a logged change
    touches), so the server may run more workers than it could hold copies. This process
    runs no thread of its own, so forking it is safe (forking the server, which has
    threads and locks, is not). Messages from the server, in order: ``("fork", token)`` (answered
    ``("forked", token, pid, applied)``, followed by the worker's socket as ancillary data),
    ``("patch", changes)`` (a logged change, applied here so that later workers start with
    it; ``applied`` counts them) and ``("retire",)`` (fork no more; exit once every worker
    has ended). The exit of every worker is reported as ``("exited", pid, returncode)``.

    ``shared``: the folder of an on-disk store (:func:`build_shared_store`, from the dump
    unless the folder exists), opened read-only here and read by every worker instead of
    an in-memory copy: reading pyoxigraph's in-memory store writes to it (reference
    counts), so each worker would soon hold a copy of its own, where the on-disk store's
    data is one copy in the page cache. Opened before the forks, the engine's tables of
    the files are shared too (about 8 MiB a worker less than opening it in each); the
    engine's background threads then live here, idle (a read-only store never flushes or
    compacts), so a fork never finds them holding a lock. Such a store takes no change
    (``patch`` is ignored: the pool starts a new zygote instead).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    connection = Connection(os.dup(control.fileno()))
    store: ox.Store
    if shared is not None:
        if not os.path.isdir(shared) and not _build_in_child(dump_path, shared):
            return 1  # the server stopped (and removed the dump), or the disk is full
        try:
            store = open_shared_store(shared)
        except OSError:
            return 1
    else:
        try:
            store = load_store(dump_path)
        except OSError:
            return 1  # the server stopped (and removed the dump) meanwhile
    gc.collect()
    gc.freeze()  # the collector then leaves the shared objects' pages alone
    warmed = False
    applied = 0
    children: set[int] = set()
    retiring = False
    try:
        connection.send(("ready",))
        while not (retiring and not children):
            for pid in list(children):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    children.discard(pid)
                    connection.send(("exited", pid, os.waitstatus_to_exitcode(status)))
            if not connection.poll(0.05):
                if not warmed:
                    # Once the first workers are forked (the first answer does not wait
                    # for it): the SERVICE check's parser, inherited by later workers.
                    _warm_up_guard()
                    gc.freeze()
                    warmed = True
                continue
            message = connection.recv()
            if message[0] == "fork" and not retiring:
                pid, fd = _fork_worker((control, connection), store, union)
                children.add(pid)
                connection.send(("forked", message[1], pid, applied))
                socket.send_fds(control, [b"w"], [fd])
                os.close(fd)
            elif message[0] == "patch" and shared is None:
                apply_patch(store, decode_changes(message[1]), union)
                applied += len(message[1])
            elif message[0] == "retire":
                retiring = True
    except (EOFError, OSError):
        pass  # the server went away: its workers end when their pipes close
    return 0


def main(argv: list[str]) -> None:
    """``python -m karabakh_kg.server.sparql.worker <control-fd> <dump> [--shared FOLDER]
    [graph…]``."""
    control = socket.socket(fileno=int(argv[0]))
    shared = None
    graphs = argv[2:]
    if graphs[:1] == [SHARED_OPTION]:
        shared, graphs = graphs[1], graphs[2:]
    sys.exit(zygote_main(control, argv[1], graphs, shared))


if __name__ == "__main__":
    main(sys.argv[1:])
