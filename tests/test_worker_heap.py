"""A query worker gives back the C heap a long query freed (server/sparql/worker.py:
release_free_heap), so that it stays under the pool's bound on a worker's own memory and
keeps its warm engine cache instead of being replaced."""

from __future__ import annotations

import ctypes
import functools
from multiprocessing import Pipe
from pathlib import Path

import pyoxigraph as ox
import pytest

from karabakh_kg.server.sparql import worker
from karabakh_kg.server.sparql.protocol import QueryJob
from karabakh_kg.server.sparql.worker import release_free_heap


def private_dirty_mb() -> float:
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("Private_Dirty:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no Private_Dirty line")


def test_freed_heap_pages_go_back_to_the_system() -> None:
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    blocks = [libc.malloc(2000) for _ in range(25_000)]  # 50 MB in small blocks, as an engine's
    for block in blocks:
        libc.memset(block, 1, 2000)
    kept = blocks.pop()  # the heap's top stays in use, so free() alone cannot shrink it
    for block in blocks:
        libc.free(block)
    freed = private_dirty_mb()
    release_free_heap()
    assert freed - private_dirty_mb() > 30
    libc.free(kept)


def test_a_worker_trims_after_a_long_query_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule, with the threshold moved instead of timing a query: a job that ran at
    least TRIM_AFTER is followed by a trim, once its answer is sent; a quicker one is not."""
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://e/s"), ox.NamedNode("http://e/p"), ox.Literal("o")))
    for threshold, expected in ((0.0, 1), (3600.0, 0)):
        calls: list[None] = []
        monkeypatch.setattr(worker, "TRIM_AFTER", threshold)
        monkeypatch.setattr(worker, "release_free_heap", functools.partial(calls.append, None))
        ours, theirs = Pipe()
        ours.send(QueryJob("SELECT * { ?s ?p ?o }").to_dict())
        ours.send(None)  # then stop
        assert worker.serve_jobs(theirs, theirs, store, []) == 0
        assert ours.recv()[0] == "ok"
        assert len(calls) == expected
