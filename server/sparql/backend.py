"""The SPARQL endpoint answered by a remote engine (``karabakh-kg serve --backend URL``).

:class:`BackendStore` is a :class:`~karabakh_kg.server.sparql.protocol.SparqlStore` whose
queries go to the engine: the same :func:`~karabakh_kg.server.sparql.protocol.run_job`
checks them (SERVICE guard, dataset) and caps and serializes the engine's answer (row and
byte limits, formats), so clients see the same endpoint whichever engine holds the data.
The engine's time is bounded by the request's time limit (the HTTP call is abandoned; the
engine's own limit, such as Virtuoso's ``MaxQueryExecutionTime``, stops the work there).

Pages, traversal and explanations need the whole graph at hand: they read a local copy of
the published graphs, which :class:`PublishedCopy` keeps current after a new publish.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pyoxigraph as ox

from karabakh_kg.graph import (
    EngineTimeout,
    KnowledgeGraph,
    QuadChange,
    RemoteStore,
    StoreError,
    published_version,
    read_published,
)
from karabakh_kg.server.sparql.inspect import inspect
from karabakh_kg.server.sparql.protocol import (
    QueryAnswer,
    QueryFailed,
    QueryJob,
    answer_from,
    run_job,
)

LOG = logging.getLogger("karabakh_kg.server")


class _Bounded:
    """The engine seen as a ``pyoxigraph.Store`` whose queries have one time limit."""

    def __init__(self, engine: RemoteStore, timeout: float) -> None:
        self.engine = engine
        self.timeout = timeout

    def query(self, sparql: str, **kwargs: Any) -> Any:
        graph = inspect(sparql).returns_graph
        return self.engine.query(sparql, timeout=self.timeout, graph=graph, **kwargs)


class BackendStore:
    """Queries answered by ``engine``; updates refused (publish to the engine instead)."""

    def __init__(self, engine: RemoteStore) -> None:
        self.engine = engine

    def execute(self, job: QueryJob, timeout: float) -> QueryAnswer:
        try:
            raw = run_job(_Bounded(self.engine, timeout), job.to_dict())
        except EngineTimeout as error:
            raise QueryFailed("timeout", str(error)) from None
        return answer_from(raw)

    def update_difference(
        self, update: str, graph: str, prefixes: dict[str, str], timeout: float, *_: Any
    ) -> tuple[list[ox.Triple], list[ox.Triple]]:
        raise QueryFailed(
            "evaluation",
            f"this server answers from {self.engine.location}, which it does not write; "
            "change the data and run 'karabakh-kg publish' instead",
        )

    def refresh(self, change: QuadChange | None = None) -> None:
        return None

    def close(self) -> None:
        self.engine.close()


class PublishedCopy:
    """Keeps the local copy of what is published on ``engine`` current.

    Every ``every`` seconds one small query reads the engine's publication manifest; when a
    publish changed it, the graphs are read again and ``replace`` swaps the new copy in
    whole (pages never see half of a publication), with the new data version, so ETags of
    pages and of SPARQL answers change too. An engine that cannot be read keeps the copy
    as it was (logged) until a later check succeeds.
    """

    def __init__(
        self,
        engine: RemoteStore,
        current: KnowledgeGraph,
        replace: Callable[[KnowledgeGraph], None],
        every: float,
    ) -> None:
        self.engine = engine
        self.version = current.version
        self.replace = replace
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """Read the manifest; take a new copy if it changed. Whether the copy was replaced."""
        try:
            version = published_version(self.engine)
            if version is None or version == self.version:
                return False
            copy = read_published(self.engine)
        except StoreError as error:
            LOG.warning("cannot read the publication on %s: %s", self.engine.location, error)
            return False
        self.version = copy.version
        self.replace(copy)
        LOG.info("new publication on %s: data version %s", self.engine.location, copy.version)
        return True

    def start(self) -> None:
        """Check in a background thread until :meth:`stop`."""

        def loop() -> None:
            while not self._stop.wait(self.every):
                self.check()

        self._thread = threading.Thread(target=loop, name="published-copy", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
