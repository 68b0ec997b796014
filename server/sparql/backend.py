"""The SPARQL endpoint answered by a remote engine (``karabakh-kg serve --backend URL``).

:class:`BackendStore` is a :class:`~karabakh_kg.server.sparql.protocol.SparqlStore` whose
queries go to the engine: the same :func:`~karabakh_kg.server.sparql.protocol.run_job`
checks them (SERVICE guard, dataset) and caps and serializes the engine's answer (row and
byte limits, formats), so clients see the same endpoint whichever engine holds the data.
The engine's time is bounded by the request's time limit (the HTTP call is abandoned; the
engine's own limit, such as Virtuoso's ``MaxQueryExecutionTime``, stops the work there).

Resource, evidence, ontology and home pages read the engine too
(:mod:`karabakh_kg.server.web.resource_engine`), and so do traversals, look-ups and
exports around nodes, the explorer page, the pages' perspectives and disputes, in
bounded slices, in any perspective (:mod:`karabakh_kg.server.web.engine_graph`), and
explanations, from the derivation records the publish wrote
(:mod:`karabakh_kg.server.web.engine_explain`), and the analysts' views (the event table,
the timeline, the map, reconciliation), from the graphs they read, read in bounded queries
up to a bound of their own (:meth:`~karabakh_kg.server.web.engine_graph.EngineGraph.whole`).
What still needs the whole graph at hand (the whole-graph traversals and exports) reads a
local copy of the published graphs, which :class:`PublishedCopy` keeps current after a
new publish. A publication larger than the server's bound
(``KARABAKH_KG_BACKEND_COPY_MAX_TRIPLES``) is not copied: :func:`published_copy` gives an
:class:`EngineOutline` (the graphs' names and the data version) and :class:`NeedsCopy`
answers those features 503 instead of answers from an empty graph.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from karabakh_kg.graph import (
    EngineTimeout,
    KnowledgeGraph,
    QuadChange,
    RemoteStore,
    StoreError,
    publication_version,
    published_manifest,
    published_version,
    read_published,
)
from karabakh_kg.server.problems import Problem
from karabakh_kg.server.settings import PREFIX, Settings
from karabakh_kg.server.sparql.inspect import inspect
from karabakh_kg.server.sparql.protocol import (
    QueryAnswer,
    QueryFailed,
    QueryJob,
    answer_from,
    run_job,
)

LOG = logging.getLogger("karabakh_kg.server")


class EngineFailed(Exception):
    """The engine could not be reached or failed on a query (not an ``OSError``, which
    :func:`run_job` takes for a failed ``SERVICE`` call of a local store)."""


class _Bounded:
    """The engine seen as a ``pyoxigraph.Store`` whose queries have one time limit."""

    def __init__(self, engine: RemoteStore, timeout: float) -> None:
        self.engine = engine
        self.timeout = timeout

    def query(self, sparql: str, **kwargs: Any) -> Any:
        graph = inspect(sparql).returns_graph
        try:
            return self.engine.query(sparql, timeout=self.timeout, graph=graph, **kwargs)
        except OSError as error:
            raise EngineFailed(str(error)) from None


class BackendStore:
    """Queries answered by ``engine``; updates refused (publish to the engine instead)."""

    def __init__(self, engine: RemoteStore) -> None:
        self.engine = engine

    def execute(self, job: QueryJob, timeout: float) -> QueryAnswer:
        try:
            raw = run_job(_Bounded(self.engine, timeout), job.to_dict())
        except EngineTimeout as error:
            raise QueryFailed("timeout", str(error)) from None
        except EngineFailed as error:
            raise QueryFailed("engine", str(error)) from None
        return answer_from(raw)

    def update_difference(
        self, update: str, graph: str, prefixes: dict[str, str], timeout: float, *_: Any
    ) -> tuple[list[ox.Triple], list[ox.Triple]]:
        raise QueryFailed(
            "evaluation",
            f"this server answers from {self.engine.location}, which it does not write; "
            "change the data and run 'karabakh-kg publish' instead",
        )

    def refresh(
        self, change: QuadChange | None = None, before_copy: Callable[[], None] | None = None
    ) -> None:
        return None

    def close(self) -> None:
        self.engine.close()


@dataclass
class EngineOutline(KnowledgeGraph):
    """What a server over an engine holds of a publication too large to copy, or while its
    copy is read: the names of its graphs (empty, so the endpoint's dataset names them all)
    and its data version."""

    triples_over: int = 0
    """The bound the publication passed (``KARABAKH_KG_BACKEND_COPY_MAX_TRIPLES``)."""
    loading: bool = False
    """The publication is within the bound: its copy is being read (:class:`PublishedCopy`)."""
    perspectives_of: Callable[[], tuple[Any, KnowledgeGraph]] | None = None
    """The publication's perspectives, read from the engine on first use
    (:func:`read_perspectives`), for ``perspective=`` queries without the reasoner."""


ATTRIBUTIONS = 100_000
"""Most ``prov:wasAttributedTo`` statements :func:`read_perspectives` reads."""
_ATTRIBUTED = """SELECT ?u ?w WHERE {{
  GRAPH <{provenance}> {{ ?u <http://www.w3.org/ns/prov#wasAttributedTo> ?w }}
}} LIMIT {limit}"""
_LABELS = """SELECT ?g ?s ?o WHERE {{
  VALUES ?s {{ {nodes} }} GRAPH ?g {{ ?s <http://www.w3.org/2000/01/rdf-schema#label> ?o }}
}} LIMIT {limit}"""


def read_perspectives(
    engine: Any, graph_names: Iterable[ox.NamedNode | ox.BlankNode | ox.DefaultGraph]
) -> tuple[Any, KnowledgeGraph]:
    """The perspectives of the publication on ``engine`` as the reasoner names them
    (:func:`karabakh_kg.graph.perspectives.recorded`), in bounded queries: who each
    evidence unit is attributed to (at most :data:`ATTRIBUTIONS`; more is 503
    ``needs-local-copy``), the claimants' labels (500 a query), and the evidence units
    among ``graph_names`` (the publication's)."""
    from karabakh_kg.graph import ASSERTED, PROVENANCE, is_evidence_graph, perspectives

    rows = engine.select(_ATTRIBUTED.format(provenance=PROVENANCE.value, limit=ATTRIBUTIONS + 1))
    if len(rows) > ATTRIBUTIONS:
        raise Problem(
            503,
            "needs-local-copy",
            f"the perspectives of the publication on {engine.location} attribute more than "
            f"{ATTRIBUTIONS} evidence units: they need the local copy",
        )
    pairs = [
        (r["u"], r["w"])
        for r in rows
        if isinstance(r.get("u"), ox.NamedNode) and isinstance(r.get("w"), ox.NamedNode)
    ]
    attributed = ox.NamedNode("http://www.w3.org/ns/prov#wasAttributedTo")
    quads = [ox.Quad(u, attributed, w, PROVENANCE) for u, w in pairs]
    claimants = sorted({w.value for _, w in pairs})
    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    labels = []
    for start in range(0, len(claimants), 500):
        nodes = " ".join(f"<{c}>" for c in claimants[start : start + 500])
        for row in engine.select(_LABELS.format(nodes=nodes, limit=ATTRIBUTIONS)):
            if isinstance(row.get("s"), ox.NamedNode) and isinstance(row.get("o"), ox.Literal):
                labels.append(ox.Quad(row["s"], label, row["o"], ASSERTED))
    system = ASSERTED.value.rsplit("/", 1)[0] + "/"
    units = {u.value for u, _ in pairs} | {
        g.value
        for g in graph_names
        if is_evidence_graph(g) and isinstance(g, ox.NamedNode) and not g.value.startswith(system)
    }  # (contributions, under graph/, are in no perspective but all)
    return perspectives.recorded(quads, labels, units)


def larger_than(engine: RemoteStore, triples: int) -> bool:
    """Whether the engine's named graphs hold more than ``triples`` triples: the engine
    skips that many and looks for one more, so the answer costs ``triples`` steps whatever
    the size of the data, where a ``COUNT`` would read it all."""
    if triples <= 0:
        return True
    rows = engine.select(f"SELECT ?s WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} OFFSET {triples} LIMIT 1")
    return bool(rows)


def published_copy(engine: RemoteStore, max_triples: int, *, wait: bool = True) -> KnowledgeGraph:
    """The local copy of what is published on ``engine`` (:func:`read_published`), or, when
    it holds more than ``max_triples`` triples, its :class:`EngineOutline`. ``wait=False``:
    the outline in any case, ``loading`` when the copy is to be taken (``serve``, which
    answers at once and takes the copy on :class:`PublishedCopy`'s thread)."""
    manifest = published_manifest(engine)
    if not manifest:
        return read_published(engine)  # (which names an engine where nothing is published)
    small = not larger_than(engine, max_triples)
    if small and wait:
        return read_published(engine)
    store = ox.Store()
    for name in manifest:
        store.add_graph(ox.NamedNode(name))
    version = publication_version(manifest)
    outline = EngineOutline(
        store=store, version=version, files=[], triples_over=max_triples, loading=small
    )

    def no_reasoner() -> None:
        # The reasoner (explanations, perspectives, the network's events) needs the whole
        # graph: asked for over an outline, it answers what NeedsCopy answers.
        raise needs_copy("reasoning", engine.location, outline)

    outline.views.defer(no_reasoner)
    kept: list[tuple[Any, KnowledgeGraph]] = []

    def perspectives_of() -> tuple[Any, KnowledgeGraph]:
        if not kept:
            kept.append(read_perspectives(engine, store.named_graphs()))
        return kept[0]

    outline.perspectives_of = perspectives_of
    return outline


def needs_copy(what: str, location: str, outline: EngineOutline) -> Problem:
    """The 503 of a feature that needs the whole graph, on a server without a copy."""
    if outline.loading:
        return Problem(
            503,
            "needs-local-copy",
            f"{what} needs the whole graph: this server is reading its local copy of the "
            f"publication on {location}; try again in a few seconds",
            {"Retry-After": "5"},
        )
    return Problem(
        503,
        "needs-local-copy",
        f"{what} needs the whole graph, and this server holds no local copy of the "
        f"publication on {location} (more than {outline.triples_over} triples: "
        f"{PREFIX}BACKEND_COPY_MAX_TRIPLES); query /sparql, or read /resource/{{name}} pages",
    )


ENGINE_PATHS = (
    "/sparql",
    "/update",
    "/store",
    "/rdf-graphs/",
    "/resource/",
    "/evidence/",
    "/ontology",
    "/graph/lookup",
    "/graph/search",
    "/graph/neighbours",
    "/graph/path",
    "/graph/ego",
    "/graph/components",
    "/graph/centrality",
    "/graph/communities",
    "/graph/network",
    "/explain",
    "/disputes",
    "/export/",
    "/timeline",
    "/map",
    "/reconcile",
    "/explorer",
    "/query",
    "/health",
    "/metrics",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/static/",
)
"""What a server over an engine answers without a local copy (and ``/``): the endpoint and
the Graph Store, the pages that read the engine, the traversals and exports that read
slices of it, and the event table, the timeline, the map and reconciliation, which read
the graph from it in bounded queries (:mod:`karabakh_kg.server.web.engine_graph`; an
export of the whole graph answers 503 there)."""


COPY_PATHS: tuple[str, ...] = ()
"""Under :data:`ENGINE_PATHS`, what still needs the local copy (nothing)."""


class NeedsCopy:
    """ASGI middleware: while the server holds an :class:`EngineOutline` (no local copy),
    a request for a feature that reads the whole graph is answered 503 ``needs-local-copy``,
    naming the engine and the bound, instead of from an empty graph."""

    def __init__(self, app: Any, engine: RemoteStore) -> None:
        self.app = app
        self.engine = engine

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        path = scope.get("path", "")
        held = scope["app"].state.kg if scope["type"] == "http" else None
        local = path.startswith(COPY_PATHS) or not path.startswith(ENGINE_PATHS)
        if isinstance(held, EngineOutline) and path != "/" and local:
            await needs_copy(path, self.engine.location, held).response()(scope, receive, send)
            return
        await self.app(scope, receive, send)


class PublishedCopy:
    """Keeps the local copy of what is published on ``engine`` current.

    Every ``every`` seconds one small query reads the engine's publication manifest; when a
    publish changed it, the graphs are read again and ``replace`` swaps the new copy in
    whole (pages never see half of a publication), with the new data version, so ETags of
    pages and of SPARQL answers change too. An engine that cannot be read keeps the copy
    as it was (logged) until a later check succeeds. A server started on an outline still
    ``loading`` takes the copy at once (and then, with ``every`` 0, never checks again).
    """

    def __init__(
        self,
        engine: RemoteStore,
        current: KnowledgeGraph,
        replace: Callable[[KnowledgeGraph], None],
        every: float,
        max_triples: int = Settings.backend_copy_max_triples,
    ) -> None:
        self.engine = engine
        self.version = current.version
        self.loading = self.pending(current)
        self.replace = replace
        self.every = every
        self.max_triples = max_triples
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def pending(kg: KnowledgeGraph) -> bool:
        """Whether ``kg`` is an outline whose copy is still to be taken."""
        return isinstance(kg, EngineOutline) and kg.loading

    def check(self) -> bool:
        """Read the manifest; take a new copy if it changed (or none was taken yet). Whether
        the copy was replaced."""
        try:
            version = published_version(self.engine)
            if version is None or (version == self.version and not self.loading):
                return False
            copy = published_copy(self.engine, self.max_triples)
        except StoreError as error:
            LOG.warning("cannot read the publication on %s: %s", self.engine.location, error)
            return False
        self.version = copy.version
        self.loading = False
        self.replace(copy)
        LOG.info("new publication on %s: data version %s", self.engine.location, copy.version)
        return True

    def start(self) -> None:
        """Check in a background thread until :meth:`stop`."""

        def loop() -> None:
            if self.loading:
                self.check()
            while self.every > 0 and not self._stop.wait(self.every):
                self.check()

        self._thread = threading.Thread(target=loop, name="published-copy", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
