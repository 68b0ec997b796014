"""Where the dataset lives: one store interface and its implementations.

* :class:`~karabakh_kg.graph.store.embedded.EmbeddedStore`: pyoxigraph in this process,
  in memory or on disk (RocksDB);
* :class:`~karabakh_kg.graph.store.remote.RemoteStore`: any SPARQL 1.1 engine, over the
  SPARQL 1.1 Protocol (query and update) and the Graph Store Protocol (whole graphs), with
  optional HTTP basic or digest credentials.

What runs *on* a store (publishing the dataset, reasoning in the engine) uses
:class:`GraphStore` alone, so it works the same on every engine. :mod:`.durable` keeps the
served dataset in an on-disk store; :mod:`.contributions` records what users write.
Opening a store by its address is :func:`karabakh_kg.graph.store.opening.open_store`, outside
this module, which the implementations import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import pyoxigraph as ox

Row = dict[str, ox.NamedNode | ox.BlankNode | ox.Literal]
"""One SELECT solution: variable name (without ``?``) → term; unbound variables absent."""


def rows_of(solutions: ox.QuerySolutions) -> list[Row]:
    """The solutions as :data:`Row` dictionaries (RDF-star triples left out)."""
    names = [v.value for v in solutions.variables]
    rows: list[Row] = []
    for solution in solutions:
        row: Row = {}
        for name, term in zip(names, solution, strict=True):
            if term is not None and not isinstance(term, ox.Triple):
                row[name] = term
        rows.append(row)
    return rows


class StoreError(RuntimeError):
    """A store that cannot be reached or refused a request; the message names the store's
    address and what failed, in one line."""


class StoreTimeout(StoreError):
    """A store that did not answer within the request's time limit."""


@dataclass
class QuadChange:
    """What one change did to a store, quad by quad (for copies of the store to follow).

    ``reset``: a graph was rewritten as a whole (for instance a full re-reasoning), so a
    copy must reload rather than apply ``added`` / ``removed``.
    """

    added: list[ox.Quad] = field(default_factory=list)
    removed: list[ox.Quad] = field(default_factory=list)
    reset: bool = False

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.reset)


class GraphStore(Protocol):
    """What the project needs from a quad store. Graph names are IRIs (strings)."""

    location: str
    """Where the store is (a folder, ``memory``, or the query URL), for messages."""

    def select(self, sparql: str) -> list[Row]:
        """The solutions of a SELECT query over the store's default dataset."""
        ...

    def ask(self, sparql: str) -> bool:
        """The answer of an ASK query."""
        ...

    def construct(self, sparql: str) -> list[ox.Triple]:
        """The triples of a CONSTRUCT query."""
        ...

    def update(self, sparql: str) -> None:
        """Run a SPARQL 1.1 Update (one request: all of it or, on engines that say so,
        nothing)."""
        ...

    def graph_names(self) -> set[str]:
        """IRIs of the non-empty named graphs."""
        ...

    def get_graph(self, name: str) -> list[ox.Triple]:
        """Every triple of one named graph (empty when it does not exist)."""
        ...

    def put_graph(self, name: str, triples: list[ox.Triple]) -> None:
        """Replace one named graph with ``triples``."""
        ...

    def drop_graph(self, name: str) -> None:
        """Remove one named graph (nothing when it does not exist)."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


__all__ = ["GraphStore", "QuadChange", "Row", "StoreError", "StoreTimeout", "rows_of"]
