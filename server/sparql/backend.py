"""The SPARQL endpoint answered by a remote engine (``karabakh-kg serve --backend URL``).

:class:`BackendStore` is a :class:`~karabakh_kg.server.sparql.protocol.SparqlStore` whose
queries go to the engine: the same :func:`~karabakh_kg.server.sparql.protocol.run_job`
checks them (SERVICE guard, dataset) and caps and serializes the engine's answer (row and
byte limits, formats), so clients see the same endpoint whichever engine holds the data.
The engine's time is bounded by the request's time limit (the HTTP call is abandoned; the
engine's own limit, such as Virtuoso's ``MaxQueryExecutionTime``, stops the work there).
"""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox

from karabakh_kg.graph import EngineTimeout, QuadChange, RemoteStore
from karabakh_kg.server.sparql.inspect import inspect
from karabakh_kg.server.sparql.protocol import (
    QueryAnswer,
    QueryFailed,
    QueryJob,
    answer_from,
    run_job,
)


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
