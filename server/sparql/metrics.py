"""Prometheus metrics of the SPARQL endpoint, one registry per application."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """Counters and a latency histogram, exported in the Prometheus text format.

    They are made, all at once, on first use (``prometheus_client`` is imported then): the
    command line builds the endpoint to check a query, and never counts one."""

    registry: CollectorRegistry
    queries: Counter
    latency: Histogram
    errors: Counter
    timeouts: Counter
    updates: Counter
    in_flight: Gauge

    def __init__(self) -> None:
        self._making = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        """A metric not made yet (only missing attributes come here): make them all."""
        if name.startswith("_"):
            raise AttributeError(name)
        with self._making:
            if "registry" not in self.__dict__:
                self._make()
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def _make(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        self.queries = Counter(
            "karabakh_kg_sparql_queries",
            "SPARQL queries answered, by query form and HTTP status.",
            ["form", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "karabakh_kg_sparql_query_seconds",
            "Time to answer a SPARQL query (waiting for a worker included).",
            ["form"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "karabakh_kg_sparql_errors",
            "SPARQL requests answered with an error, by error code.",
            ["code"],
            registry=self.registry,
        )
        self.timeouts = Counter(
            "karabakh_kg_sparql_timeouts",
            "Queries stopped because they overran their time limit.",
            registry=self.registry,
        )
        self.updates = Counter(
            "karabakh_kg_sparql_updates",
            "Successful changes through SPARQL Update or the Graph Store Protocol.",
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "karabakh_kg_sparql_queries_in_flight",
            "Queries running or waiting for a worker.",
            registry=self.registry,
        )

    def export(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        from prometheus_client import generate_latest

        return generate_latest(self.registry)
