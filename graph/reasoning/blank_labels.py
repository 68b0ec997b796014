"""Labels of blank nodes that do not depend on the labels a parse gave them.

A parser names each blank node anew (at random, in pyoxigraph), and stores read back from
N-Quads or RocksDB may name them again. Whatever is derived from the data and kept or
compared across loads (the derivation records a publish writes, the order the reasoner
reads its input in) names blank nodes by these labels instead. A library would need the
whole dataset canonicalized (RDFC-1.0, ``ox.Dataset.canonicalize``), which costs far
more than labelling the few nodes asked for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

import pyoxigraph as ox

DEPTH = 16
"""How deep nested blank nodes are followed (lists and restrictions nest a few levels)."""


class BlankLabels:
    """Labels of the blank nodes of ``store`` that are the same whatever labels a parse
    gave them: a digest of what the node says (its triples, a blank object by its own
    digest) and of where it stands (the triples naming it, a blank subject by its own
    label, up to the IRI a list or restriction hangs from). Nodes that say the same in
    the same place get the same label: nothing in the data tells them apart.

    ``graphs``: read only these named graphs (else every graph of ``store``), so that
    what other graphs say (the inferred graph, written after reasoning) does not change
    the labels."""

    def __init__(self, store: ox.Store, graphs: Iterable[ox.NamedNode] | None = None) -> None:
        self.store = store
        self.graphs = list(graphs) if graphs is not None else None
        self._said: dict[str, str] = {}
        self._labels: dict[str, str] = {}

    def _quads(self, subject: Any, obj: Any) -> Iterator[ox.Quad]:
        if self.graphs is None:
            yield from self.store.quads_for_pattern(subject, None, obj, None)
            return
        for graph in self.graphs:
            yield from self.store.quads_for_pattern(subject, None, obj, graph)

    def _says(self, node: ox.BlankNode, depth: int = 0) -> str:
        if node.value not in self._said:
            lines = sorted(
                f"{q.graph_name} {q.predicate} "
                + (
                    f"[{self._says(q.object, depth + 1)}]"
                    if isinstance(q.object, ox.BlankNode) and depth < DEPTH
                    else str(q.object)
                )
                for q in self._quads(node, None)
            )
            self._said[node.value] = hashlib.sha256("\n".join(lines).encode()).hexdigest()
        return self._said[node.value]

    def label(self, node: ox.BlankNode, depth: int = 0) -> str:
        """The stable label of ``node`` (without ``_:``)."""
        if node.value not in self._labels:
            standing = sorted(
                f"{q.graph_name} {q.predicate} "
                + (
                    f"[{self.label(q.subject, depth + 1)}]"
                    if isinstance(q.subject, ox.BlankNode) and depth < DEPTH
                    else str(q.subject)
                )
                for q in self._quads(None, node)
            )
            key = self._says(node) + "\n" + "\n".join(standing)
            self._labels[node.value] = "b" + hashlib.sha256(key.encode()).hexdigest()[:32]
        return self._labels[node.value]

    def text(self, term: Any) -> str:
        """``term``'s N-Triples text, a blank node by its stable label."""
        return f"_:{self.label(term)}" if isinstance(term, ox.BlankNode) else str(term)
