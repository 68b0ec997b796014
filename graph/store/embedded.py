"""The embedded store: pyoxigraph in this process, in memory or in a folder (RocksDB)."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from karabakh_kg.graph.store import Row, StoreError, rows_of
from karabakh_kg.ontology import vocab


class EmbeddedStore:
    """:class:`~karabakh_kg.graph.store.GraphStore` over a :class:`pyoxigraph.Store`.

    Queries see the union of the named graphs as their default graph, as most engines
    serving named graphs do (Virtuoso, the Oxigraph server with ``--union-default-graph``),
    so code written against the interface gives the same answers here and there.
    """

    def __init__(self, path: str | Path | None = None, *, store: ox.Store | None = None) -> None:
        if store is not None:
            self.store = store
            self.location = "memory"
            return
        try:
            self.store = ox.Store(str(path)) if path else ox.Store()
        except OSError as error:
            raise StoreError(f"cannot open the store in {path}: {error}") from None
        self.location = str(path) if path else "memory"

    def _query(self, sparql: str) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        try:
            return self.store.query(
                sparql, prefixes=dict(vocab.PREFIXES), use_default_graph_as_union=True
            )
        except (SyntaxError, ValueError, OSError) as error:
            raise StoreError(f"{self.location}: the query failed: {error}") from None

    def select(self, sparql: str) -> list[Row]:
        result = self._query(sparql)
        assert isinstance(result, ox.QuerySolutions)
        return rows_of(result)

    def ask(self, sparql: str) -> bool:
        result = self._query(sparql)
        assert isinstance(result, ox.QueryBoolean)
        return bool(result)

    def construct(self, sparql: str) -> list[ox.Triple]:
        result = self._query(sparql)
        assert isinstance(result, ox.QueryTriples)
        return list(result)

    def update(self, sparql: str) -> None:
        try:
            self.store.update(sparql, prefixes=dict(vocab.PREFIXES))
        except (SyntaxError, ValueError, OSError) as error:
            raise StoreError(f"{self.location}: the update failed: {error}") from None

    def graph_names(self) -> set[str]:
        return {
            g.value
            for g in self.store.named_graphs()
            if isinstance(g, ox.NamedNode)
            and any(True for _ in self.store.quads_for_pattern(None, None, None, g))
        }

    def get_graph(self, name: str) -> list[ox.Triple]:
        graph = ox.NamedNode(name)
        return [
            ox.Triple(q.subject, q.predicate, q.object)
            for q in self.store.quads_for_pattern(None, None, None, graph)
        ]

    def put_graph(self, name: str, triples: list[ox.Triple]) -> None:
        graph = ox.NamedNode(name)
        # Two steps (pyoxigraph has no transaction spanning both): publish writes a staging
        # graph this way and moves it in place with one SPARQL update.
        self.store.update(f"DROP SILENT GRAPH <{name}>")
        self.store.extend(ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples)

    def drop_graph(self, name: str) -> None:
        self.store.update(f"DROP SILENT GRAPH <{name}>")

    def close(self) -> None:
        if self.location != "memory":
            self.store.flush()
