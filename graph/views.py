"""What is computed from one knowledge graph, kept in one place with a bound.

Each :class:`~karabakh_kg.graph.dataset.KnowledgeGraph` owns one :class:`DerivedViews`
(``kg.views``): the class hierarchy, the lookup index, the projections and whatever else a
module derives from the data. A view is kept for the data it was built from, so a change of the
data drops them all; at most :data:`MAX_VIEWS` are kept, the least recently used going first,
so filters chosen by clients cannot grow the cache.

What "the data it was built from" means depends on who writes the store. By default it is the
data version and the store's size, so a write straight to ``kg.store`` is noticed too; but
pyoxigraph counts a store's quads one by one (about 15-35 ms for the curated graph, 0.3 s at a
million), and a page asks for several views. A graph whose every write goes through
:func:`~karabakh_kg.graph.store.contributions.apply_change` (the server's: the endpoint calls
:meth:`DerivedViews.follow_version`) is keyed by its version and by :meth:`DerivedViews.changed`,
which that function calls once a change is over, written or undone.

The reasoner's state is not a view: it follows changes incrementally, so it is kept apart, in
:attr:`DerivedViews.reasoner`, and a change of the data does not drop it. For a store that
already holds what reasoning wrote (from the cache, or a durable store), it is built on first
use: :meth:`DerivedViews.defer`.
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
        self._reasoner: Reasoner | None = None
        self._deferred: Callable[[], object] | None = None
        self._reasoner_lock = threading.RLock()
        self._building = False
        self._fingerprint: Hashable = None
        self._views: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._follows_version = False
        self._changes = 0

    @property
    def reasoner(self) -> Reasoner | None:
        """The reasoner of the graph, set by :func:`karabakh_kg.graph.reasoning.materialize`
        (or :func:`~karabakh_kg.graph.reasoning.attach`); the only place it is kept. A
        deferred one (:meth:`defer`) is built here, once, by the first reader."""
        if self._reasoner is None and self._deferred is not None:
            with self._reasoner_lock:  # other readers wait for the one building it
                build = self._deferred
                if self._reasoner is None and build is not None and not self._building:
                    self._building = True  # a read from inside build() sees None
                    try:
                        build()  # sets self.reasoner (and forgets build); kept if it fails
                    finally:
                        self._building = False
        return self._reasoner

    @reasoner.setter
    def reasoner(self, value: Reasoner | None) -> None:
        with self._reasoner_lock:
            self._reasoner = value
            self._deferred = None

    def defer(self, build: Callable[[], object]) -> None:
        """Build the reasoner with ``build`` (which sets :attr:`reasoner`) when it is first
        read, not now: for a store that already holds the inferred, support and perspective
        graphs, so a start that never needs the reasoner does not pay for it."""
        with self._reasoner_lock:
            self._reasoner = None
            self._deferred = build

    def build_deferred(self) -> None:
        """Build a deferred reasoner now: before the store changes, since the reasoner must
        start from the graphs as reasoning wrote them (an incremental update follows)."""
        _ = self.reasoner

    @property
    def reasoner_deferred(self) -> bool:
        """Whether a reasoner is waiting to be built on first use."""
        return self._reasoner is None and self._deferred is not None

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

    def follow_version(self) -> None:
        """Key views by the data version and :meth:`changed` instead of counting the store:
        for a graph written only through ``apply_change``, which changes the version."""
        self._follows_version = True

    def changed(self) -> None:
        """The store was written (or a write undone): views built before are not used again.

        Also those built while the change was under way, which a change that is undone
        leaves under the same version."""
        with self._lock:
            self._changes += 1

    def fingerprint(self, kg: KnowledgeGraph) -> Hashable:
        """What the views of ``kg`` are kept for (see the module's docstring)."""
        if self._follows_version:
            return (kg.version, self._changes)
        return (kg.version, self._changes, len(kg.store))


def view(kg: KnowledgeGraph, key: Hashable, build: Callable[[], T]) -> T:
    """The view ``key`` of ``kg``'s current data (see :class:`DerivedViews`)."""
    return kg.views.get(kg.views.fingerprint(kg), key, build)
