"""The worker process: holds a copy of the store and evaluates one query at a time.

pyoxigraph cannot interrupt a running query from another thread, so the server runs
queries in worker processes that it kills (and replaces) when a query overruns its
time limit. A worker answers each job with the tuple of
:func:`karabakh_kg.graph.store.run_job`. This module imports little, so workers start
quickly.
"""

from __future__ import annotations

from multiprocessing.connection import Connection

import pyoxigraph as ox

from karabakh_kg.graph.store import run_job


def load_store(dump_path: str) -> ox.Store:
    """A fresh in-memory store with the N-Quads dump at ``dump_path``."""
    store = ox.Store()
    store.bulk_load(path=dump_path, format=ox.RdfFormat.N_QUADS)
    return store


def worker_main(conn: Connection, dump_path: str) -> None:
    """Entry point of a worker process: load, then answer jobs until told to stop."""
    store = load_store(dump_path)
    conn.send(("ready",))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        conn.send(run_job(store, job))
