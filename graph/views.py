"""What is computed from one knowledge graph, kept in one place with a bound.

Each :class:`~karabakh_kg.graph.dataset.KnowledgeGraph` owns one :class:`DerivedViews`
(``kg.views``): the class hierarchy, the lookup index, the projections and whatever else a
module derives from the data. A view is kept for the data it was built from (the data version
and the store's size), so a change of the data drops them all; at most :data:`MAX_VIEWS` are
kept, the least recently used going first, so filters chosen by clients cannot grow the cache.

The reasoner's state is not a view: it follows changes incrementally, so it is kept apart, in
:attr:`DerivedViews.reasoner`, and a change of the data does not drop it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from karabakh_kg.graph.dataset import KnowledgeGraph
    from karabakh_kg.graph.reasoning import Reasoner

MAX_VIEWS = 32
"""How many views one knowledge graph keeps (a projection per filter counts as one)."""

T = TypeVar("T")


class DerivedViews:
    """The views of one knowledge graph, each built once per data fingerprint."""

    def __init__(self, limit: int = MAX_VIEWS) -> None:
        self.limit = limit
        self.reasoner: Reasoner | None = None
        """The reasoner of the graph, set by :func:`karabakh_kg.graph.reasoning.materialize`
        (or :func:`~karabakh_kg.graph.reasoning.attach`); the only place it is kept."""
        self._fingerprint: Hashable = None
        self._views: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, fingerprint: Hashable, key: Hashable, build: Callable[[], T]) -> T:
        """The view ``key`` for data ``fingerprint``, built with ``build`` when missing.

        Two threads may build the same view at once; both get a correct view and one is kept.
        """
        with self._lock:
            if fingerprint != self._fingerprint:
                self._views.clear()
                self._fingerprint = fingerprint
            if key in self._views:
                self._views.move_to_end(key)
                found: T = self._views[key]
                return found
        built = build()
        with self._lock:
            if fingerprint == self._fingerprint:
                self._views[key] = built
                while len(self._views) > self.limit:
                    self._views.popitem(last=False)
        return built

    def __len__(self) -> int:
        return len(self._views)


def view(kg: KnowledgeGraph, key: Hashable, build: Callable[[], T]) -> T:
    """The view ``key`` of ``kg``'s current data (see :class:`DerivedViews`)."""
    return kg.views.get((kg.version, len(kg.store)), key, build)
