"""Running one SPARQL protocol request: parameters, safety checks, dataset, execution.

:class:`Endpoint` (one per application, ``app.state.sparql``) owns the store behind the
:class:`~karabakh_kg.server.sparql.protocol.SparqlStore` protocol (worker processes by default),
the metrics and the limits. Routes call :meth:`Endpoint.prepare` then
:meth:`Endpoint.execute`; every refusal is a :class:`Problem`.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pyoxigraph as ox

from karabakh_kg.graph import ASSERTED, INFERRED, WIKIDATA, KnowledgeGraph
from karabakh_kg.ontology import vocab
from karabakh_kg.server.problems import Problem
from karabakh_kg.server.settings import PREFIX, Settings
from karabakh_kg.server.sparql.admission import Admission
from karabakh_kg.server.sparql.conneg import (
    GRAPH_FORMATS,
    RESULT_FORMATS,
    Format,
    MalformedAccept,
    NotAcceptable,
    negotiate,
    refusal,
)
from karabakh_kg.server.sparql.errors import failure_problem
from karabakh_kg.server.sparql.guard import may_call_out
from karabakh_kg.server.sparql.inspect import Inspection, data_as_insert, inspect
from karabakh_kg.server.sparql.metrics import Metrics
from karabakh_kg.server.sparql.perspective import perspective_dataset
from karabakh_kg.server.sparql.protocol import (
    QueryAnswer,
    QueryFailed,
    QueryJob,
    SparqlStore,
    data_difference,
)

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from karabakh_kg.server.sparql.pool import PooledStore

TRUE = {"true", "1", "yes", "on"}
FALSE = {"false", "0", "no", "off"}


CACHED_TEXT = 8_192
"""Query texts up to this length have their scan remembered (:func:`_inspect_cached`)."""


@functools.lru_cache(maxsize=256)
def _inspect_cached(text: str) -> Inspection:
    """:func:`inspect` of a short text, remembered: clients repeat their queries, and the
    scan costs about as much as answering a cheap one (at most 256 texts of 8 kB)."""
    return inspect(text)


@functools.lru_cache(maxsize=256)
def _negotiated(
    accept: str | None, format_param: tuple[str, ...]
) -> tuple[Format | None, Format | None, tuple[str, str]]:
    """(results format, graph format, why each was not acceptable: the results format's
    reason, then the graph format's, "" for one found) for a request's ``Accept`` header and
    ``format=`` values, remembered: parsing every offered media type against the header
    costs more than a cheap query."""
    results_format = graph_format = None
    results_problem = graph_problem = ""
    try:
        results_format = negotiate(RESULT_FORMATS, accept, format_param)
    except MalformedAccept:
        raise
    except NotAcceptable as error:
        results_problem = str(error)
    try:
        graph_format = negotiate(GRAPH_FORMATS, accept, format_param)
    except NotAcceptable as error:
        graph_problem = str(error)
    return results_format, graph_format, (results_problem, graph_problem)


def prefixes_named(text: str) -> dict[str, str]:
    """The default prefixes whose name occurs before a colon in ``text``: every one a parse
    of it can use (pyoxigraph reads each prefix given to a parse, and all of them cost
    more than parsing and running a one-triple update)."""
    return {name: iri for name, iri in vocab.PREFIXES.items() if f"{name}:" in text}


def data_only(update: str) -> str | None:
    """For an update of ``INSERT DATA`` / ``DELETE DATA`` alone whose text names neither
    ``LOAD`` nor ``SERVICE``: the triples it names, as one ``INSERT DATA``
    (:func:`~karabakh_kg.server.sparql.inspect.data_as_insert`); None for any other text.

    Such a text needs no reading by the grammar: it is an update (not a query), nests one
    deep at most (the scan refuses brackets, triple terms and braces within a data block),
    and, whatever the scan misread, cannot reach the network (the engine calls out only
    for a ``SERVICE`` or ``LOAD`` keyword, which the text would have to spell)."""
    return None if may_call_out(update, update=True) else data_as_insert(update)


class ResultCache:
    """Answers by key, at most ``limit`` bytes of bodies in all, the least recently used
    dropped first; an answer larger than an eighth of the limit is not kept."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.hits = 0
        self._entries: OrderedDict[tuple[str, int], QueryAnswer] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> QueryAnswer | None:
        with self._lock:
            answer = self._entries.get(key)
            if answer is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            return answer

    def put(self, key: tuple[str, int], answer: QueryAnswer) -> None:
        size = len(answer.body)
        if size > self.limit // 8:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            self.size += size - (len(old.body) if old else 0)
            self._entries[key] = answer
            while self.size > self.limit:
                _, dropped = self._entries.popitem(last=False)
                self.size -= len(dropped.body)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass
class Prepared:
    """A checked query, ready to run."""

    inspection: Inspection
    job: QueryJob
    timeout: float
    results_format: Format | None
    graph_format: Format | None
    etag: str


UPDATE_ON_QUERY_ENDPOINT = (
    "this is a SPARQL Update; the query endpoint only answers queries (updates go to POST "
    "/sparql/update, which is disabled unless the server enables it)"
)
"""The answer to an update sent where a query is read (``/sparql``, ``karabakh-kg query``)."""


def single(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    """The one value of ``name``; a repeated parameter is an error."""
    values = params.get(name) or []
    if len(values) > 1:
        raise Problem(400, "repeated-parameter", f"the parameter {name!r} is given twice")
    return values[0] if values else None


def check_graph_iris(name: str, iris: Sequence[str]) -> None:
    """Refuse dataset parameters that are not absolute IRIs (400, before any worker)."""
    for iri in iris:
        try:
            ox.NamedNode(iri)
            valid = bool(urlsplit(iri).scheme)
        except ValueError:
            valid = False
        if not valid:
            raise Problem(
                400, "bad-parameter", f"{name}={iri!r} is not an absolute IRI (<scheme:…>)"
            )


def parse_bool(params: Mapping[str, Sequence[str]], *names: str) -> bool | None:
    """A boolean parameter under any of ``names`` (None when absent)."""
    for name in names:
        raw = single(params, name)
        if raw is None:
            continue
        lowered = raw.strip().lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        raise Problem(400, "bad-parameter", f"{name}={raw!r}: expected true or false")
    return None


def _on_disk(kg: KnowledgeGraph) -> bool:
    """Whether ``kg``'s store is read from disk: a durable store, or one opened read-only
    (pyoxigraph says neither; flushing, a no-op in memory, is refused read-only)."""
    if kg.store_dir is not None:
        return True
    try:
        kg.store.flush()
    except RuntimeError:
        return True
    return False


def _in_memory(store: ox.Store) -> ox.Store:
    """A writable in-memory copy of ``store``, its blank nodes keeping their labels (a dump
    loaded with ``Store.load`` would rename them)."""
    copy = ox.Store()
    copy.extend(store)
    return copy


class Endpoint:
    """The SPARQL endpoint's state: store, limits, metrics."""

    def __init__(
        self, kg: KnowledgeGraph, settings: Settings, store: SparqlStore | None = None
    ) -> None:
        self.kg = kg
        kg.views.follow_version()  # the endpoint writes only through apply_change
        self.settings = settings
        self.metrics = Metrics()
        self._store = store
        self._store_lock = threading.Lock()
        self._reasoning_here = False
        """The pages' reasoner was built in this process (:meth:`_reason_in_memory`)."""
        self._plain: ox.Store | None = None
        """The on-disk copy read instead of the graph's in-memory store (:meth:`_read_on_disk`)."""
        self.update_lock = threading.Lock()
        self.in_flight = 0
        self._named: tuple[str, list[str]] | None = None
        self._frozen: weakref.ref[object] | None = None
        self.cache = ResultCache(settings.result_cache_mb * 1024 * 1024)
        self.admission = Admission(
            settings.query_workers,
            settings.queries_per_client,
            settings.client_queued,
            settings.max_queued,
        )

    @functools.cached_property
    def _waiting(self) -> ThreadPoolExecutor:
        """A thread per slot that admission gives, each waiting for its query's answer:
        handing a query to an executor's thread costs about half the CPU that
        ``anyio.to_thread`` does (bench/README.md, Storage)."""
        from concurrent.futures import ThreadPoolExecutor  # the command line needs none

        return ThreadPoolExecutor(
            max_workers=self.settings.query_workers, thread_name_prefix="karabakh-kg-queries"
        )

    # -- store -----------------------------------------------------------------------
    def store(self) -> SparqlStore:
        """The store; worker processes start on first use."""
        with self._store_lock:
            if self._store is None:
                from karabakh_kg.server.sparql.pool import PooledStore

                shared = not (self.settings.enable_updates or self.settings.worker_copies)
                pooled = PooledStore(
                    self.kg.store,
                    self.settings.query_workers,
                    self.settings.max_queued,
                    self.default_graphs(True),
                    memory_mb=self.settings.worker_memory_mb,
                    private_mb=self.settings.worker_private_mb,
                    shared=shared,
                    version=self.kg.version,
                )
                self._store = pooled
                if shared:
                    self._defer_reasoning()
                    threading.Thread(
                        target=self._read_on_disk,
                        args=(pooled,),
                        daemon=True,
                        name="karabakh-kg-read-only",
                    ).start()
            return self._store

    def _read_on_disk(self, pooled: PooledStore) -> None:
        """On a read-only server, once the workers' on-disk copy is ready: the pages and
        this process read it too (:meth:`~karabakh_kg.server.sparql.pool.PooledStore.
        read_only_store`), and the in-memory store the graph was loaded into is dropped, its
        pages given back to the system (35 MiB at 100k triples). No update can come, so the
        copy stays the data; a graph already read from disk (a cached curated graph) keeps
        its store. A graph served without its reasoner (``serve --data --no-reason``), whose
        pages reason on first use, is given a deferred one first that reasons in memory
        (:meth:`_reason_in_memory`). :meth:`close` gives the graph an in-memory store
        again."""
        if _on_disk(self.kg):
            return
        before = self.kg.store
        plain = pooled.read_only_store()
        with self._store_lock:
            if plain is None or self.kg.store is not before or self._store is not pooled:
                return
            if self._reasoning_here:  # the pages' reasoner writes into the store it has
                return
            self.kg.store = self._plain = plain
        del before
        gc.collect()
        from karabakh_kg.server.sparql.worker import release_free_heap

        release_free_heap()

    def _defer_reasoning(self) -> None:
        """For a graph served without its reasoner (``serve --data --no-reason``), whose
        pages reason on first use: a deferred reasoner (:meth:`_reason_in_memory`), set
        before the store may be swapped (:meth:`_read_on_disk`). A reasoner built or
        deferred already (built from the graphs without writing) is left as it is."""
        views = self.kg.views
        if not views.reasoner_deferred and views.reasoner is None:
            views.defer(self._reason_in_memory)

    def _reason_in_memory(self) -> None:
        """The deferred reasoner of a graph served unreasoned: reasoning writes its graphs,
        so a graph reading the workers' copy (read-only) is first given an in-memory copy
        of it, and one not swapped yet is no longer swapped (the pages then read what was
        reasoned; the workers' answers stay the unreasoned data)."""
        from karabakh_kg.graph import reasoning

        with self._store_lock:
            self._reasoning_here = True
            plain = self._plain
            if plain is not None and self.kg.store is plain:
                self.kg.store = _in_memory(plain)
        reasoning.materialize(self.kg)

    def close(self) -> None:
        with self._store_lock:
            if self._plain is not None and self.kg.store is self._plain:
                # The copy goes with the pool: whoever holds the graph still may read it
                # (and write it, as before it was served).
                self.kg.store = _in_memory(self._plain)
            self._plain = None
            if self._store is not None:
                self._store.close()
                self._store = None
        if self._frozen is not None:
            self._frozen = None
            gc.unfreeze()  # what this endpoint held may be garbage now: collectable again

    def freeze_reasoner(self) -> None:
        """After a change, once per reasoner: move everything the process holds out of the
        cyclic collector's generations (``gc.freeze``). The reasoner's closure, supports
        and indexes live as long as it does and change in place, and a full collection
        walked them all about once every thousand updates (60-190 ms on the curated graph,
        a stall of the update and of the event loop; bench/README.md, Storage). A new
        reasoner (after a full recomputation) first unfreezes and collects, so the one it
        replaced can be freed; :meth:`close` unfreezes. What was alive when frozen and
        later becomes garbage in a reference cycle (a derived view dropped since) waits for
        that unfreeze: bounded by what the process held at the freeze."""
        r = self.kg.views.reasoner
        frozen = self._frozen() if self._frozen is not None else None
        if r is None or frozen is r:
            return
        if self._frozen is not None:
            gc.unfreeze()
        gc.collect()
        gc.freeze()
        self._frozen = weakref.ref(r)

    # -- dataset ---------------------------------------------------------------------
    def named_graphs(self, include_inferred: bool, include_wikidata: bool = True) -> list[str]:
        """IRIs of every named graph of the store (cached per data version)."""
        cached = self._named
        if cached is None or cached[0] != self.kg.version:
            names = sorted(g.value for g in self.kg.store.named_graphs() if hasattr(g, "value"))
            cached = (self.kg.version, names)
            self._named = cached
        left_out = self.left_out(include_inferred, include_wikidata)
        if not left_out:
            return cached[1]  # the common case, without a copy (callers do not change it)
        return [g for g in cached[1] if g not in left_out]

    @property
    def has_wikidata(self) -> bool:
        """Whether a Wikidata enrichment was loaded (the wikidata graph is not empty)."""
        return WIKIDATA.value in self.named_graphs(True, True)

    def default_graphs(self, include_inferred: bool, include_wikidata: bool = True) -> list[str]:
        """The graphs merged into the default graph: the standard ones, plus the Wikidata
        enrichment when it is loaded and asked for."""
        graphs = [g.value for g in self.kg.default_graphs(include_inferred=include_inferred)]
        if include_wikidata and self.has_wikidata:
            graphs.append(WIKIDATA.value)
        return graphs

    @staticmethod
    def left_out(include_inferred: bool, include_wikidata: bool) -> set[str]:
        """Graphs that are not part of the dataset at all for these parameters."""
        graphs = set()
        if not include_inferred:
            graphs.add(INFERRED.value)
        if not include_wikidata:
            graphs.add(WIKIDATA.value)
        return graphs

    # -- preparing -------------------------------------------------------------------
    def prepare(
        self,
        text: str,
        params: Mapping[str, Sequence[str]],
        dataset_params: Mapping[str, Sequence[str]],
        accept: str | None,
    ) -> Prepared:
        """Check a query and its parameters; choose formats and dataset."""
        if not text.strip():
            raise Problem(400, "missing-query", "the query is empty")
        inspection = _inspect_cached(text) if len(text) <= CACHED_TEXT else inspect(text)
        self.check_depth(inspection)
        if inspection.is_update:
            raise Problem(400, "update-on-query-endpoint", UPDATE_ON_QUERY_ENDPOINT)
        include_inferred = parse_bool(params, "infer", "include-inferred")
        include_inferred = True if include_inferred is None else include_inferred
        include_wikidata = parse_bool(params, "wikidata", "include-wikidata")
        include_wikidata = True if include_wikidata is None else include_wikidata
        timeout = self._timeout(single(params, "timeout"))
        format_param = tuple(params.get("format") or ())  # may be repeated (SPARQLWrapper)
        try:
            results_format, graph_format, problems = _negotiated(accept, format_param)
        except MalformedAccept as error:  # whatever the form: 400, as on every route
            raise Problem(*refusal(error), str(error)) from None
        needed = graph_format if inspection.returns_graph else results_format
        known = inspection.form is not None
        if (known and needed is None) or (results_format is None and graph_format is None):
            # the formats of what the query returns (a form not read: the results formats)
            results_problem, graph_problem = problems
            raise Problem(
                406,
                "not-acceptable",
                graph_problem if known and inspection.returns_graph else results_problem,
            )
        default_uris = list(dataset_params.get("default-graph-uri") or [])
        named_uris = list(dataset_params.get("named-graph-uri") or [])
        check_graph_iris("default-graph-uri", default_uris)
        check_graph_iris("named-graph-uri", named_uris)
        default_graph, named_graphs, union_default = self._dataset(
            inspection, default_uris, named_uris, include_inferred, include_wikidata
        )
        left_out = self.left_out(include_inferred, include_wikidata)
        from_query = inspection.has_dataset_clause and not (default_uris or named_uris)
        perspective = single(params, "perspective") or ""
        if perspective:
            (default_graph, named_graphs, union_default), perspective = perspective_dataset(
                self.kg,
                perspective,
                (default_graph, named_graphs, union_default),
                include_inferred=include_inferred,
                include_wikidata=include_wikidata and self.has_wikidata,
                explicit=bool(default_uris or named_uris) or inspection.has_dataset_clause,
            )
        job = QueryJob(
            sparql=text,
            default_graph=default_graph,
            named_graphs=named_graphs,
            results_format=results_format.name if results_format else None,
            graph_format=graph_format.name if graph_format else None,
            max_rows=self.settings.max_rows,
            max_bytes=self.settings.max_answer_bytes,
            prefixes=dict(vocab.PREFIXES),
            union_default=union_default,
            service_allowlist=list(self.settings.service_allowlist),
            exclude_graphs=sorted(left_out) if from_query and left_out else None,
        )
        digest = hashlib.sha256()
        for part in (
            self.kg.version,
            text,
            repr(default_uris),
            repr(named_uris),
            str(include_inferred),
            str(include_wikidata),
            perspective,
            job.results_format or "",
            job.graph_format or "",
            str(job.max_rows),
            str(job.max_bytes),
        ):
            digest.update(part.encode())
            digest.update(b"\0")
        return Prepared(
            inspection, job, timeout, results_format, graph_format, f'"{digest.hexdigest()[:32]}"'
        )

    def check_depth(self, inspection: Inspection) -> None:
        """Refuse texts nested deeper than the engines can take (before any evaluation)."""
        limit = self.settings.max_query_depth
        if inspection.depth > limit:
            raise Problem(
                400,
                "query-too-deep",
                f"the text nests brackets and braces {inspection.depth} deep; the limit is "
                f"{limit} ({PREFIX}MAX_QUERY_DEPTH): flatten the query",
                limit=limit,
            )

    def _dataset(
        self,
        inspection: Inspection,
        default_uris: list[str],
        named_uris: list[str],
        include_inferred: bool,
        include_wikidata: bool,
    ) -> tuple[list[str] | None, list[str] | None, bool]:
        """(default graphs, named graphs, standard dataset?) for a query.

        A left-out graph (``infer=false``: the inferred graph; ``wikidata=false``: the
        Wikidata graph) is not in the dataset at all, however the request names it:
        ``default-graph-uri`` / ``named-graph-uri``, ``FROM`` / ``FROM NAMED`` or
        ``GRAPH <…>``. Explicit lists override the query's own dataset in the store, so
        the store only reads the query's ``FROM`` itself when nothing is left out; otherwise
        the worker reads the ``FROM`` lists from its parse (``QueryJob.exclude_graphs``)
        and falls back on the lists returned here.
        """
        left_out = self.left_out(include_inferred, include_wikidata)
        if default_uris or named_uris:
            # The protocol's dataset overrides FROM / FROM NAMED; graphs are local only.
            return (
                [g for g in default_uris if g not in left_out],
                [g for g in named_uris if g not in left_out],
                False,
            )
        if inspection.has_dataset_clause and not left_out:
            return None, None, False  # the query's FROM, over local graphs only
        standard = not left_out or (left_out == {WIKIDATA.value} and not self.has_wikidata)
        return (
            self.default_graphs(include_inferred, include_wikidata),
            self.named_graphs(include_inferred, include_wikidata),
            standard,
        )

    def _timeout(self, raw: str | None) -> float:
        if raw is None:
            return self.settings.query_timeout
        try:
            value = float(raw)
        except ValueError:
            raise Problem(
                400, "bad-parameter", f"timeout={raw!r}: expected a number of seconds"
            ) from None
        if not value > 0:
            raise Problem(400, "bad-parameter", f"timeout={raw!r} must be positive")
        return min(value, self.settings.max_query_timeout)

    # -- running ---------------------------------------------------------------------
    async def execute(self, prepared: Prepared, client: str = "") -> QueryAnswer:
        """Run a prepared query in the store, off the event loop, within its time limit,
        once :class:`~karabakh_kg.server.sparql.admission.Admission` lets ``client`` (an
        address) have a worker."""
        form = prepared.inspection.form or "UNKNOWN"
        self.in_flight += 1
        self.metrics.in_flight.inc()
        start = time.perf_counter()
        status = 200
        try:
            store = self.store()
            # The key names the store's revision (bumped once a change is served): an
            # answer computed while an update was being applied is never kept for after.
            revision = getattr(store, "revision", None) if self.cache.limit else None
            key = (prepared.etag, revision) if isinstance(revision, int) else None
            cached = self.cache.get(key) if key else None
            if cached is not None:
                form = cached.form
                return cached
            import asyncio  # here: the command line never runs the event loop's path

            # The long lane (admission.py): texts the store saw run long leave a slot free.
            known_long = getattr(store, "known_long", None)
            long = bool(known_long and known_long(prepared.job.sparql))
            async with self.admission.admit(client, self.settings.queue_timeout, long):
                # The thread only waits for the worker that admission has left free.
                answer = await asyncio.get_running_loop().run_in_executor(
                    self._waiting, store.execute, prepared.job, prepared.timeout
                )
            form = answer.form
            if key is not None and getattr(store, "revision", None) == revision:
                self.cache.put(key, answer)
            return answer
        except Problem as problem:
            status = problem.status
            self.metrics.errors.labels(problem.code).inc()
            raise
        except QueryFailed as failure:
            error = failure_problem(
                failure,
                update=False,
                timeout=prepared.timeout,
                max_timeout=self.settings.max_query_timeout,
            )
            status = error.status
            self.metrics.errors.labels(error.code).inc()
            if failure.kind == "timeout":
                self.metrics.timeouts.inc()
            raise error from None
        finally:
            self.in_flight -= 1
            self.metrics.in_flight.dec()
            self.metrics.queries.labels(form, str(status)).inc()
            self.metrics.latency.labels(form).observe(time.perf_counter() - start)

    def update_difference(
        self, update: str, timeout: float, data: str | None = None
    ) -> tuple[list[ox.Triple], list[ox.Triple]]:
        """What ``update`` would change in the asserted graph, evaluated by the store
        within ``timeout`` seconds (in a worker that is killed if it overruns). Nothing is
        changed here: the caller applies the difference. Blocking; call it in a thread.

        An update of ``INSERT DATA`` / ``DELETE DATA`` alone is evaluated here, on the
        triples it names (:func:`~karabakh_kg.server.sparql.protocol.data_difference`):
        it cannot call out or run long, and a worker's round trip would cost more than the
        update itself; if it fails, the worker evaluates it and words the error. ``data``:
        :func:`data_only` of ``update``, when the caller has it."""
        start = time.perf_counter()
        status = 200
        try:
            # Only a text naming neither LOAD nor SERVICE is evaluated here, so whatever the
            # data scan reads, nothing here can call out; the others meet a worker's guard.
            named = data if data is not None else data_only(update)
            if named is not None:
                with contextlib.suppress(QueryFailed):
                    return data_difference(
                        self.kg.store, ASSERTED, update, named, prefixes_named(update)
                    )
            return self.store().update_difference(
                update,
                ASSERTED.value,
                dict(vocab.PREFIXES),
                timeout,
                allowlist=self.settings.service_allowlist,
            )
        except QueryFailed as failure:
            error = failure_problem(
                failure, update=True, timeout=timeout, max_timeout=self.settings.max_query_timeout
            )
            status = error.status
            self.metrics.errors.labels(error.code).inc()
            if failure.kind == "timeout":
                self.metrics.timeouts.inc()
            raise error from None
        finally:
            self.metrics.queries.labels("UPDATE", str(status)).inc()
            self.metrics.latency.labels("UPDATE").observe(time.perf_counter() - start)

    def timeout_of(self, params: Mapping[str, Sequence[str]]) -> float:
        """The time limit a request asks for with ``timeout=`` (checked and capped)."""
        return self._timeout(single(params, "timeout"))
