"""The one interface the SPARQL endpoint needs from a store, and its pyoxigraph version.

A query is a :class:`QueryJob` (text, dataset, acceptable formats, row cap); the store
answers a :class:`QueryAnswer` (the serialized body) or raises :class:`QueryFailed`.
The endpoint only speaks this protocol, so a remote SPARQL store (forwarding the job
over HTTP) can replace the local one later. Two implementations exist:

* :class:`LocalStore` (here): evaluates in the calling thread, for the CLI and tools;
* ``karabakh_kg.server.sparql.pool.PooledStore``: the same evaluation in worker
  processes that are killed on timeout, for the server.

>>> import pyoxigraph as ox
>>> store = ox.Store()
>>> store.add(ox.Quad(ox.NamedNode("http://e/a"), ox.NamedNode("http://e/p"), ox.Literal("x")))
>>> answer = LocalStore(store).execute(QueryJob("ASK { ?s ?p ?o }"), timeout=5)
>>> answer.body
b'{"head":{},"boolean":true}'
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyoxigraph as ox

from karabakh_kg.graph import QuadChange, formats
from karabakh_kg.server.sparql.results import WRITERS

RDF_FORMATS = {f.name: f.rdf_format for f in formats.GRAPH_FORMATS if f.rdf_format}
"""Graph serializations by short name (see :mod:`karabakh_kg.graph.formats`)."""
RESULT_FORMATS = {f.name: f.results_format for f in formats.RESULT_FORMATS if f.results_format}
"""SPARQL results serializations by short name."""


@dataclass
class QueryJob:
    """One SPARQL query with its dataset and what the client accepts."""

    sparql: str
    default_graph: list[str] | None = None
    """IRIs of the graphs merged into the default graph; None: the query's own FROM."""
    named_graphs: list[str] | None = None
    """IRIs a ``GRAPH`` clause may see; None: the query's FROM NAMED, or every graph."""
    results_format: str | None = "json"
    """Format for SELECT/ASK (None: such results are not acceptable)."""
    graph_format: str | None = "turtle"
    """Format for CONSTRUCT/DESCRIBE (None: graphs are not acceptable)."""
    max_rows: int = 10_000
    max_bytes: int = 32_000_000
    """Largest serialized answer (checked while it is built, then on the body)."""
    prefixes: dict[str, str] = field(default_factory=dict)
    base_iri: str | None = None
    service_allowlist: list[str] = field(default_factory=list)
    """Endpoints a ``SERVICE`` may call (see :mod:`karabakh_kg.server.sparql.guard`)."""
    exclude_graphs: list[str] | None = None
    """Set when the query has ``FROM`` clauses and these graphs are left out of the dataset:
    the store reads the query's ``FROM`` / ``FROM NAMED`` lists from its parse, without
    them (``default_graph`` / ``named_graphs`` serve when the parse finds none)."""
    union_default: bool = False
    """The dataset is the standard one (``default_graph`` = the union graphs, every named
    graph): a store that keeps that union as its own default graph may use it directly,
    which pyoxigraph evaluates far faster than a list of default graphs."""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class QueryAnswer:
    """A serialized answer: ``form`` is SELECT, ASK or CONSTRUCT (also for DESCRIBE)."""

    form: str
    format_name: str
    body: bytes


class QueryFailed(Exception):
    """The store could not answer; ``kind`` says why.

    Kinds: ``syntax`` (malformed query), ``not-acceptable`` (no format for this result
    type; ``message`` is the form), ``too-many-rows`` (``message`` is the cap),
    ``remote`` (a SERVICE call failed), ``evaluation``, ``timeout``, ``busy``, ``crashed``;
    for updates also ``named-graph`` (the update wrote a named graph).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class SparqlStore(Protocol):
    """What the SPARQL endpoint needs from a store."""

    def execute(self, job: QueryJob, timeout: float) -> QueryAnswer:
        """Evaluate ``job`` within ``timeout`` seconds, or raise :class:`QueryFailed`."""
        ...

    def update_difference(
        self,
        update: str,
        graph: str,
        prefixes: dict[str, str],
        timeout: float,
        allowlist: Sequence[str] = (),
    ) -> tuple[list[ox.Triple], list[ox.Triple]]:
        """What ``update`` would add to and remove from ``graph`` (the store is not
        changed), within ``timeout`` seconds, or raise :class:`QueryFailed`; ``SERVICE``
        may call the endpoints of ``allowlist`` only, ``LOAD`` nothing."""
        ...

    def refresh(self, change: QuadChange | None = None) -> None:
        """The data changed (by ``change``, when known): later queries must see it."""
        ...

    def close(self) -> None:
        """Release processes, connections and files."""
        ...


NAMED_GRAPH_REFUSED = (
    "an update may change only the default graph (the asserted graph); "
    "GRAPH clauses and named graphs are not writable"
)


def evaluate_update(scratch: ox.Store, update: str, prefixes: dict[str, str] | None) -> None:
    """Run ``update`` on a scratch store, its failures as :class:`QueryFailed`."""
    try:
        scratch.update(update, prefixes=prefixes or None)
    except SyntaxError as error:
        raise QueryFailed("syntax", str(error)) from None
    except OSError as error:
        raise QueryFailed("remote", str(error)) from None
    except (ValueError, TypeError, RuntimeError) as error:
        raise QueryFailed("evaluation", str(error)) from None


def update_difference(
    before: set[ox.Triple], update: str, prefixes: dict[str, str] | None = None
) -> tuple[list[ox.Triple], list[ox.Triple]]:
    """What SPARQL Update ``update`` would add to and remove from the graph ``before``.

    The update runs on a scratch store whose default graph holds ``before``, so nothing
    else is touched. Raises :class:`QueryFailed`: ``syntax``, ``remote`` (a ``SERVICE`` or
    ``LOAD`` failed), ``evaluation``, or ``named-graph`` (the update wrote a named graph).
    Callers must refuse ``LOAD`` and unchecked ``SERVICE`` first (this store can fetch).
    """
    scratch = ox.Store()
    scratch.extend(ox.Quad(t.subject, t.predicate, t.object) for t in before)
    evaluate_update(scratch, update, prefixes)
    if any(True for _ in scratch.named_graphs()):
        raise QueryFailed("named-graph", NAMED_GRAPH_REFUSED)
    after = {
        ox.Triple(q.subject, q.predicate, q.object)
        for q in scratch.quads_for_pattern(None, None, None, ox.DefaultGraph())
    }
    return sorted(after - before, key=str), sorted(before - after, key=str)


class Spoiled(Exception):
    """The update changed a standing copy's marker graph; evaluate it afresh."""


class StandingCopy:
    """A copy of one graph of a store on which updates are evaluated without copying the
    graph each time: what an update changes costs the size of the change, not of the graph
    (this is what lets one-triple updates run at hundreds per second in a worker).

    The copy is a scratch store's default graph and, identically, a marker graph; an update
    runs on the default graph, two ``MINUS`` queries inside pyoxigraph list what it added and
    removed, and the default graph is put back. A worker keeps one and has it
    :meth:`follow` the logged changes. Blank nodes keep their labels (quads are copied).
    """

    def __init__(self, store: ox.Store, graph: str) -> None:
        self.graph = ox.NamedNode(graph)
        self.marker = ox.NamedNode(f"urn:karabakh-kg:before:{secrets.token_hex(12)}")
        self.scratch = ox.Store()
        quads = list(store.quads_for_pattern(None, None, None, self.graph))
        self.scratch.extend(ox.Quad(q.subject, q.predicate, q.object) for q in quads)
        self.scratch.extend(ox.Quad(q.subject, q.predicate, q.object, self.marker) for q in quads)
        self.size = self._marker_size()

    def _marker_size(self) -> int:
        solutions = self.scratch.query(
            f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{self.marker.value}> {{ ?s ?p ?o }} }}"
        )
        assert isinstance(solutions, ox.QuerySolutions)
        return int(next(iter(solutions))[0].value)

    def follow(self, changes: list[tuple[list[ox.Quad], list[ox.Quad]]]) -> None:
        """Apply the logged changes (added, removed quads) that concern the copied graph."""
        for added, removed in changes:
            for q in removed:
                marked = ox.Quad(q.subject, q.predicate, q.object, self.marker)
                if q.graph_name == self.graph and marked in self.scratch:
                    self.scratch.remove(ox.Quad(q.subject, q.predicate, q.object))
                    self.scratch.remove(marked)
                    self.size -= 1
            for q in added:
                marked = ox.Quad(q.subject, q.predicate, q.object, self.marker)
                if q.graph_name == self.graph and marked not in self.scratch:
                    self.scratch.add(ox.Quad(q.subject, q.predicate, q.object))
                    self.scratch.add(marked)
                    self.size += 1

    def difference(
        self, update: str, prefixes: dict[str, str]
    ) -> tuple[list[ox.Triple], list[ox.Triple]]:
        """What ``update`` would add to and remove from the graph (the copy is put back);
        :class:`QueryFailed` as :func:`update_difference`. An update that reaches the
        marker graph (``CLEAR ALL`` …) spoils the copy: :class:`Spoiled`."""
        evaluate_update(self.scratch, update, prefixes)
        if self._marker_size() != self.size:
            raise Spoiled
        marker = f"<{self.marker.value}>"

        def triples(query: str) -> list[ox.Triple]:
            solutions = self.scratch.query(query.replace("MARKER", marker))
            assert isinstance(solutions, ox.QuerySolutions)
            return [ox.Triple(row[0], row[1], row[2]) for row in solutions]

        added = triples("SELECT ?s ?p ?o { ?s ?p ?o MINUS { GRAPH MARKER { ?s ?p ?o } } }")
        removed = triples("SELECT ?s ?p ?o { GRAPH MARKER { ?s ?p ?o } MINUS { ?s ?p ?o } }")
        # Put the copy back as it was (the real change arrives later, as a logged change).
        for t in added:
            self.scratch.remove(ox.Quad(t.subject, t.predicate, t.object))
        self.scratch.extend(ox.Quad(t.subject, t.predicate, t.object) for t in removed)
        written = [g for g in self.scratch.named_graphs() if g != self.marker]
        if written:
            for graph in written:
                self.scratch.remove_graph(graph)
            raise QueryFailed("named-graph", NAMED_GRAPH_REFUSED)
        return sorted(added, key=str), sorted(removed, key=str)


def graph_difference(
    store: ox.Store, graph: ox.NamedNode, update: str, prefixes: dict[str, str] | None = None
) -> tuple[list[ox.Triple], list[ox.Triple]]:
    """:func:`update_difference` of the named graph ``graph`` of ``store`` (through a
    :class:`StandingCopy` made for this one update)."""
    try:
        return StandingCopy(store, graph.value).difference(update, prefixes or {})
    except Spoiled:
        before = {
            ox.Triple(q.subject, q.predicate, q.object)
            for q in store.quads_for_pattern(None, None, None, graph)
        }
        return update_difference(before, update, prefixes)


def run_update_job(
    store: ox.Store,
    job: dict[str, Any],
    difference: Callable[[str, dict[str, str]], tuple[list[ox.Triple], list[ox.Triple]]]
    | None = None,
) -> tuple[Any, ...]:
    """Evaluate an update job (``{"kind": "update", "update", "graph", "prefixes"}``)
    against the named graph ``graph`` of ``store``, without changing ``store``.

    Answers ``("ok", "UPDATE", added, removed)`` (lists of triples) or
    ``("error", kind, message)``.
    """
    graph = ox.NamedNode(job["graph"])
    from karabakh_kg.server.sparql.guard import Refusal, checked_text, explain_syntax_error

    prefixes = job.get("prefixes") or {}
    try:
        text, _ = checked_text(
            job["update"], prefixes, job.get("service_allowlist") or [], update=True
        )
        if difference is not None:  # a worker's standing copy of the graph
            added, removed = difference(text, prefixes)
        else:
            added, removed = graph_difference(store, graph, text, prefixes)
    except Refusal as refusal:
        return ("error", refusal.kind, refusal.message)
    except QueryFailed as failure:
        message = failure.message
        if failure.kind == "syntax":
            message = explain_syntax_error(message, job["update"], prefixes)
        return ("error", failure.kind, message)
    return ("ok", "UPDATE", added, removed)


def _term_size(term: Any) -> int:
    return 0 if term is None else len(str(term))


def _capped(items: Any, max_rows: int, max_bytes: int, size: Any) -> list[Any] | str:
    """The items of ``items`` (rows or triples), or the kind of the first cap they pass
    (``too-many-rows``, ``too-large``, estimated from the terms' N-Triples size) without
    reading further."""
    kept: list[Any] = []
    total = 0
    for item in items:
        kept.append(item)
        if len(kept) > max_rows:
            return "too-many-rows"
        total += size(item)
        if total > max_bytes:
            return "too-large"
    return kept


def run_job(store: ox.Store, job: dict[str, Any], *, union_ready: bool = False) -> tuple[Any, ...]:
    """Evaluate a job (``QueryJob.to_dict()``, or an update job) on ``store``; picklable answer.

    ``union_ready``: the store's default graph already holds the union of the standard
    default graphs (see :attr:`QueryJob.union_default`).
    Answers ``("ok", form, format_name, body)`` or ``("error", kind, message)``; update
    jobs answer as :func:`run_update_job`.
    """
    if job.get("kind") == "update":
        return run_update_job(store, job)
    from karabakh_kg.server.sparql.guard import (
        GuardError,
        Refusal,
        checked_text,
        explain_syntax_error,
        query_dataset,
    )

    prefixes = job.get("prefixes") or {}
    kwargs: dict[str, Any] = {"prefixes": prefixes or None}
    if job.get("base_iri"):
        kwargs["base_iri"] = job["base_iri"]
    max_rows: int = job["max_rows"]
    max_bytes: int = job.get("max_bytes") or 32_000_000
    try:
        text, parsed = checked_text(
            job["sparql"], prefixes, job.get("service_allowlist") or [], update=False
        )
        dataset = {key: job.get(key) for key in ("default_graph", "named_graphs")}
        excluded = job.get("exclude_graphs")
        if excluded is not None:
            parsed = parsed or query_dataset(text, prefixes)
            if parsed is not None and parsed.has_dataset_clause:
                dataset = {
                    "default_graph": [g for g in parsed.from_default if g not in excluded],
                    "named_graphs": [g for g in parsed.from_named if g not in excluded],
                }
        if excluded is not None or not (union_ready and job.get("union_default")):
            for key, names in dataset.items():
                if names is not None:
                    kwargs[key] = [ox.NamedNode(name) for name in names]
    except Refusal as refusal:
        return ("error", refusal.kind, refusal.message)
    except GuardError as error:
        return ("error", "syntax", str(error))
    except ValueError as error:  # a graph name that is not an IRI
        return ("error", "bad-dataset", f"a dataset graph is not a valid IRI: {error}")
    try:
        result = store.query(text, **kwargs)
        if isinstance(result, ox.QueryBoolean):
            name = job.get("results_format")
            if name is None:
                return ("error", "not-acceptable", "ASK")
            return ("ok", "ASK", name, result.serialize(format=RESULT_FORMATS[name]))
        if isinstance(result, ox.QuerySolutions):
            name = job.get("results_format")
            if name is None:
                return ("error", "not-acceptable", "SELECT")
            variables = [variable.value for variable in result.variables]
            rows = _capped(
                (tuple(solution) for solution in result),
                max_rows,
                max_bytes,
                lambda row: sum(map(_term_size, row)),
            )
            if isinstance(rows, str):
                return _too_big(rows, max_rows, max_bytes)
            body = WRITERS[name](variables, rows)
            if len(body) > max_bytes:
                return _too_big("too-large", max_rows, max_bytes)
            return ("ok", "SELECT", name, body)
        name = job.get("graph_format")
        if name is None:
            return ("error", "not-acceptable", "CONSTRUCT")
        triples = _capped(result, max_rows, max_bytes, _term_size)
        if isinstance(triples, str):
            return _too_big(triples, max_rows, max_bytes)
        rdf_format = RDF_FORMATS[name]
        items: list[Any] = triples
        if rdf_format in (ox.RdfFormat.TRIG, ox.RdfFormat.N_QUADS):
            items = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples]
        graph_body = ox.serialize(items, format=rdf_format, prefixes=prefixes or None)
        if graph_body is not None and len(graph_body) > max_bytes:
            return _too_big("too-large", max_rows, max_bytes)
        return ("ok", "CONSTRUCT", name, graph_body)
    except SyntaxError as error:
        return ("error", "syntax", explain_syntax_error(str(error), text, prefixes))
    except OSError as error:
        # pyoxigraph reports failed SERVICE calls (network or remote errors) as OSError.
        return ("error", "remote", str(error))
    except (ValueError, TypeError, RuntimeError) as error:
        return ("error", "evaluation", str(error))


def _too_big(kind: str, max_rows: int, max_bytes: int) -> tuple[str, str, str]:
    return ("error", kind, str(max_rows if kind == "too-many-rows" else max_bytes))


def answer_from(raw: tuple[Any, ...]) -> QueryAnswer:
    """The :class:`QueryAnswer` of a :func:`run_job` tuple, or raise :class:`QueryFailed`."""
    if raw[0] == "ok":
        return QueryAnswer(form=raw[1], format_name=raw[2], body=raw[3])
    raise QueryFailed(raw[1], raw[2])


def update_job(
    update: str, graph: str, prefixes: dict[str, str], allowlist: Sequence[str] = ()
) -> dict[str, Any]:
    """The job that :func:`run_job` evaluates as an update of ``graph``; ``SERVICE`` may
    call the endpoints of ``allowlist`` only, and ``LOAD`` is refused."""
    return {
        "kind": "update",
        "update": update,
        "graph": graph,
        "prefixes": dict(prefixes),
        "service_allowlist": list(allowlist),
    }


def difference_from(raw: tuple[Any, ...]) -> tuple[list[ox.Triple], list[ox.Triple]]:
    """(added, removed) of a :func:`run_update_job` tuple, or raise :class:`QueryFailed`."""
    if raw[0] == "ok":
        return list(raw[2]), list(raw[3])
    raise QueryFailed(raw[1], raw[2])


class LocalStore:
    """Evaluation in the calling thread (no hard time limit: use for trusted callers)."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store

    def execute(self, job: QueryJob, timeout: float) -> QueryAnswer:
        return answer_from(run_job(self.store, job.to_dict()))

    def update_difference(
        self,
        update: str,
        graph: str,
        prefixes: dict[str, str],
        timeout: float,
        allowlist: Sequence[str] = (),
    ) -> tuple[list[ox.Triple], list[ox.Triple]]:
        job = update_job(update, graph, prefixes, allowlist)
        return difference_from(run_update_job(self.store, job))

    def refresh(self, change: QuadChange | None = None) -> None:
        return None  # evaluates on the live store

    def close(self) -> None:
        return None
