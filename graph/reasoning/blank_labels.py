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
CUT = DEPTH + 1
"""The height of a node read cut short (more levels of blank nodes than were followed)."""


class BlankLabels:
    """Labels of the blank nodes of ``store`` that are the same whatever labels a parse
    gave them: a digest of what the node says (its triples, a blank object by its own
    digest) and of where it stands (the triples naming it, a blank subject by its own
    label, up to the IRI a list or restriction hangs from). Nodes that say the same in
    the same place get the same label: nothing in the data tells them apart. Blank nodes
    are followed :data:`DEPTH` levels (a longer list or a cycle is cut there, the same way
    in every store and whatever was labelled before).

    ``graphs``: read only these named graphs (else every graph of ``store``), so that
    what other graphs say (the inferred graph, written after reasoning) does not change
    the labels."""

    def __init__(self, store: ox.Store, graphs: Iterable[ox.NamedNode] | None = None) -> None:
        self.store = store
        self.graphs = list(graphs) if graphs is not None else None
        self._said: dict[str, tuple[str, int]] = {}
        self._labels: dict[str, tuple[str, int]] = {}
        self._said_cut: dict[tuple[str, int], str] = {}
        self._labels_cut: dict[tuple[str, int], str] = {}

    def _quads(self, subject: Any, obj: Any) -> Iterator[ox.Quad]:
        if self.graphs is None:
            yield from self.store.quads_for_pattern(subject, None, obj, None)
            return
        for graph in self.graphs:
            yield from self.store.quads_for_pattern(subject, None, obj, graph)

    def _says(self, node: ox.BlankNode) -> str:
        """The digest of what ``node`` says, :data:`DEPTH` levels of blank objects deep."""
        return self._read(node, DEPTH, self._said, self._said_cut, below=True)[0]

    def _read(
        self,
        node: ox.BlankNode,
        levels: int,
        whole: dict[str, tuple[str, int]],
        cut: dict[tuple[str, int], str],
        *,
        below: bool,
    ) -> tuple[str, int]:
        """A node's digest (``below``: of what it says, its blank objects by their own; else
        its label: what it says and the triples naming it, their blank subjects by their
        own labels), following blank nodes at most ``levels`` levels. A digest cut short
        differs from one read whole, so each read gives what a fresh read at that depth
        would, whatever was read before: a whole digest serves every read with levels to
        spare, a cut one only reads of the same depth."""
        found = whole.get(node.value)
        if found is not None and found[1] <= levels:
            return found
        kept = cut.get((node.value, levels))
        if kept is not None:
            return kept, CUT
        height = 0
        lines = []
        quads = self._quads(node, None) if below else self._quads(None, node)
        for q in quads:
            other = q.object if below else q.subject
            text = str(other)
            if isinstance(other, ox.BlankNode):
                if levels > 0:
                    digest, levels_below = self._read(other, levels - 1, whole, cut, below=below)
                    text = f"[{digest}]"
                    height = max(height, levels_below + 1)
                else:
                    text, height = "[]", CUT  # not its label: another store names it otherwise
            lines.append(f"{q.graph_name} {q.predicate} {text}")
        joined = "\n".join(sorted(lines))
        if below:
            digest = hashlib.sha256(joined.encode()).hexdigest()
        else:
            key = self._says(node) + "\n" + joined
            digest = "b" + hashlib.sha256(key.encode()).hexdigest()[:32]
        if height >= CUT:
            cut[(node.value, levels)] = digest
            return digest, CUT
        whole[node.value] = (digest, height)
        return digest, height

    def label(self, node: ox.BlankNode) -> str:
        """The stable label of ``node`` (without ``_:``)."""
        return self._read(node, DEPTH, self._labels, self._labels_cut, below=False)[0]

    def text(self, term: Any) -> str:
        """``term``'s N-Triples text, a blank node by its stable label."""
        return f"_:{self.label(term)}" if isinstance(term, ox.BlankNode) else str(term)
