"""The one interface the SPARQL endpoint needs from a store, and its pyoxigraph version.

A query is a :class:`QueryJob` (text, dataset, acceptable formats, row cap); the store
answers a :class:`QueryAnswer` (the serialized body) or raises :class:`QueryFailed`.
A job with ``chunk_bytes`` set may be answered in pieces: :func:`run_job` hands each
chunk to ``emit`` as rows are serialized (the pool sends them as ``("chunk", bytes)``
messages before the final answer) and :class:`AnswerStream` gives them to the caller.
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
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Protocol, cast

import pyoxigraph as ox

from karabakh_kg.graph import QuadChange, formats
from karabakh_kg.server.sparql.results import PIECES, ROW_MARKS, RowCounter

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
    chunk_bytes: int = 0
    """Positive: send the answer on in chunks of at most this many bytes as it is written
    (:class:`AnswerStream`); 0: in one piece."""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class QueryAnswer:
    """A serialized answer: ``form`` is SELECT, ASK or CONSTRUCT (also for DESCRIBE)."""

    form: str
    format_name: str
    body: bytes


MEMORY_EXHAUSTED = 3
"""The exit status of a query worker whose Python allocation failed under its memory bound
(one failing in the engine aborts it: SIGABRT). Either way the query needed more memory."""
CHUNK_BYTES = 64 * 1024
"""Size of the chunks a streamed answer travels in (about a pipe's buffer)."""
CHUNK_SECONDS = 0.25
"""A streamed answer's rows wait at most this long for a chunk to fill (slow queries)."""


class AnswerStream:
    """A serialized answer arriving in chunks: iterating gives the body's bytes as the
    store writes them, and raises :class:`QueryFailed` where the answer fails (a cap
    passed, the time limit); ``form`` and ``format_name`` are known once it has ended.
    ``messages`` are :func:`run_job`'s ``("chunk", bytes)`` messages and its answer."""

    def __init__(self, messages: Iterator[tuple[Any, ...]]) -> None:
        self._messages = messages
        self.form = ""
        self.format_name = ""

    def __iter__(self) -> Iterator[bytes]:
        for message in self._messages:
            if message[0] == "chunk":
                yield message[1]
                continue
            answer = answer_from(message)
            self.form, self.format_name = answer.form, answer.format_name
            if answer.body:
                yield answer.body

    def close(self) -> None:
        """Stop reading: the store abandons the rest of the answer."""
        close = getattr(self._messages, "close", None)
        if close is not None:
            close()


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

    def refresh(
        self, change: QuadChange | None = None, before_copy: Callable[[], None] | None = None
    ) -> None:
        """The data changed (by ``change``, when known): later queries must see it.
        ``before_copy``: what to run before a copy of the store is made for the queries
        (what must be in the store by then: the derived quads written after an update's
        answer)."""
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
        marker graph (``CLEAR ALL`` …) spoils the copy: :class:`Spoiled`.

        An update of ``INSERT DATA`` / ``DELETE DATA`` alone can change only the triples
        it names: those are looked up one by one instead of comparing the whole graph."""
        from karabakh_kg.server.sparql.inspect import data_as_insert

        named = data_as_insert(update)
        evaluate_update(self.scratch, update, prefixes)
        if named is not None:
            return self._named_difference(named, prefixes)
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

    def _named_difference(
        self, named: str, prefixes: dict[str, str]
    ) -> tuple[list[ox.Triple], list[ox.Triple]]:
        """The difference a data-only update made, from ``named`` (its triples as one
        ``INSERT DATA``, see :func:`~karabakh_kg.server.sparql.inspect.data_as_insert`);
        the copy is put back."""
        listed = ox.Store()
        evaluate_update(listed, named, prefixes)
        added: list[ox.Triple] = []
        removed: list[ox.Triple] = []
        for q in listed:
            now = ox.Quad(q.subject, q.predicate, q.object) in self.scratch
            was = ox.Quad(q.subject, q.predicate, q.object, self.marker) in self.scratch
            if now and not was:
                added.append(ox.Triple(q.subject, q.predicate, q.object))
            elif was and not now:
                removed.append(ox.Triple(q.subject, q.predicate, q.object))
        for t in added:
            self.scratch.remove(ox.Quad(t.subject, t.predicate, t.object))
        self.scratch.extend(ox.Quad(t.subject, t.predicate, t.object) for t in removed)
        return sorted(added, key=str), sorted(removed, key=str)


def data_difference(
    store: ox.Store, graph: ox.NamedNode, update: str, named: str, prefixes: dict[str, str]
) -> tuple[list[ox.Triple], list[ox.Triple]]:
    """:func:`update_difference` of an update of ``INSERT DATA`` / ``DELETE DATA`` alone
    on the named graph ``graph`` of ``store``, in proportion to the update's size: it can
    change only the triples it names (``named``, from
    :func:`~karabakh_kg.server.sparql.inspect.data_as_insert`), so it runs on a scratch
    store holding those of them the graph holds. Such an update cannot call out or run
    long (its cost is its length, which the request size bounds), so it needs no worker.
    :class:`QueryFailed` as :func:`update_difference`."""
    listed = ox.Store()
    evaluate_update(listed, named, prefixes)
    scratch = ox.Store()
    before: set[ox.Triple] = set()
    for q in listed:
        if ox.Quad(q.subject, q.predicate, q.object, graph) in store:
            before.add(ox.Triple(q.subject, q.predicate, q.object))
            scratch.add(ox.Quad(q.subject, q.predicate, q.object))
    if named == update and not any(True for _ in listed.named_graphs()):
        # INSERT DATA alone: it adds what the graph lacks and removes nothing
        listed_triples = {ox.Triple(q.subject, q.predicate, q.object) for q in listed}
        return sorted(listed_triples - before, key=str), []
    evaluate_update(scratch, update, prefixes)
    if any(True for _ in scratch.named_graphs()):
        raise QueryFailed("named-graph", NAMED_GRAPH_REFUSED)
    after = {
        ox.Triple(q.subject, q.predicate, q.object)
        for q in scratch.quads_for_pattern(None, None, None, ox.DefaultGraph())
    }
    return sorted(after - before, key=str), sorted(before - after, key=str)


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


class _Cut(Exception):
    """The answer passed a cap (``kind``: ``too-many-rows`` or ``too-large``)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class AnswerBody:
    """A serialized answer being written, at most ``max_bytes`` long (:class:`_Cut`
    beyond). With ``emit``, it is handed on as it grows, in chunks of whole rows (whole
    pieces given to :meth:`add`, or lines written by a graph serializer through
    :meth:`write`) of at most ``chunk_bytes`` (a longer row travels alone), so that what
    was sent before a failure stops where a row ends, whatever the format."""

    def __init__(
        self,
        max_bytes: int,
        emit: Callable[[bytes], None] | None = None,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self.max_bytes = max_bytes
        self.emit = emit
        self.chunk_bytes = max(1, chunk_bytes)
        self.pending = bytearray()
        self.complete = 0
        """How much of ``pending`` ends at a row boundary."""
        self.size = 0
        self.sent_at = time.monotonic()

    def reserve(self, size: int) -> None:
        """Refuse before writing a row that alone takes the answer past the cap (``size``
        is a lower bound of its serialized length)."""
        if self.size + size > self.max_bytes:
            raise _Cut("too-large")

    def add(self, piece: bytes) -> None:
        """Append one whole piece (a row, a head, a tail)."""
        self.reserve(len(piece))
        if self.emit and self.pending and len(self.pending) + len(piece) > self.chunk_bytes:
            self._send(len(self.pending))
        self.pending += piece
        self.size += len(piece)
        self.complete = len(self.pending)
        self._send_when_due()

    def write(self, data: bytes) -> int:
        """File-like ``write`` for ``pyoxigraph.serialize``: rows end at line ends."""
        self.reserve(len(data))
        self.pending += data
        self.size += len(data)
        end = data.rfind(b"\n")
        if end >= 0:
            self.complete = len(self.pending) - len(data) + end + 1
        elif len(self.pending) >= 4 * self.chunk_bytes:
            self.complete = len(self.pending)  # one huge line: send it on anyway
        if self.emit is not None:
            while self.complete >= self.chunk_bytes:
                self._send(self.pending.rfind(b"\n", 0, self.chunk_bytes) + 1 or self.complete)
        self._send_when_due()
        return len(data)

    def flush(self) -> None:
        return None

    def _send(self, size: int) -> None:
        assert self.emit is not None
        self.emit(bytes(self.pending[:size]))
        del self.pending[:size]
        self.complete -= size
        self.sent_at = time.monotonic()

    def _send_when_due(self) -> None:
        """Send the complete rows once they fill a chunk, or have waited long enough."""
        if self.emit is None or not self.complete:
            return
        if self.complete >= self.chunk_bytes or time.monotonic() - self.sent_at >= CHUNK_SECONDS:
            self._send(self.complete)

    def rest(self) -> bytes:
        """What has not been emitted (the whole body when not streaming)."""
        return bytes(self.pending)

    def refused(self, kind: str, max_rows: int, max_bytes: int) -> tuple[str, str, str]:
        """The error answer for passing a cap, once the complete rows are sent on."""
        if self.emit is not None and self.complete:
            self._send(self.complete)
        return _too_big(kind, max_rows, max_bytes)


class _WithinRows:
    """The items (rows or triples) of ``items`` up to ``max_rows``; ``passed`` tells
    whether there were more (read no further). Each item's lower-bound size is reserved
    in ``body`` first, so one huge row is refused before it is serialized."""

    def __init__(
        self, items: Iterable[Any], max_rows: int, body: AnswerBody, size: Callable[[Any], int]
    ) -> None:
        self.items, self.max_rows, self.body, self.size = items, max_rows, body, size
        self.passed = False

    def __iter__(self) -> Iterator[Any]:
        for count, item in enumerate(self.items):
            if count == self.max_rows:
                self.passed = True
                return
            self.body.reserve(self.size(item))
            yield item


class _CountedRows:
    """File-like ``write`` for ``QuerySolutions.serialize``: the bytes go to ``body``
    (which holds the byte cap) and their rows are counted as they pass
    (:class:`~karabakh_kg.server.sparql.results.RowCounter`), so that the row cap holds
    exactly without turning rows into Python objects; passing a cap stops the serializer."""

    def __init__(self, body: AnswerBody, format_name: str, max_rows: int) -> None:
        self.body, self.max_rows = body, max_rows
        self.rows = RowCounter(format_name)

    def write(self, data: bytes) -> int:
        self.body.reserve(len(data))
        self.rows.feed(data)
        if self.rows.rows > self.max_rows:
            raise _Cut("too-many-rows")
        self.body.pending += data
        self.body.size += len(data)
        return len(data)

    def flush(self) -> None:
        return None


def _value_size(term: Any) -> int:
    """A lower bound of a term's length in any results format (its lexical value)."""
    return len(getattr(term, "value", "") or "") if term is not None else 0


def _row_size(row: Sequence[Any]) -> int:
    return sum(map(_value_size, row))


def _triple_size(triple: Any) -> int:
    return _row_size((triple.subject, triple.predicate, triple.object))


def run_job(
    store: ox.Store,
    job: dict[str, Any],
    *,
    union_ready: bool = False,
    emit: Callable[[bytes], None] | None = None,
) -> tuple[Any, ...]:
    """Evaluate a job (``QueryJob.to_dict()``, or an update job) on ``store``; picklable answer.

    ``union_ready``: the store's default graph already holds the union of the standard
    default graphs (see :attr:`QueryJob.union_default`).
    Answers ``("ok", form, format_name, body)`` or ``("error", kind, message)``; update
    jobs answer as :func:`run_update_job`. With ``emit`` and a job's ``chunk_bytes``, the
    answer's chunks go to ``emit`` as they are written, and ``body`` is what is left; a
    cap passed on the way answers the error after the complete rows before it (a row cap
    after the document's tail too, so the rows sent form a complete document).
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
    chunk_bytes: int = job.get("chunk_bytes") or 0
    body = AnswerBody(max_bytes, emit if chunk_bytes > 0 else None, chunk_bytes)
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
            if body.emit is None:  # one piece: the engine's serializer, its rows counted
                counted = _CountedRows(body, name, max_rows)
                result.serialize(cast("IO[bytes]", counted), RESULT_FORMATS[name])
                return ("ok", "SELECT", name, body.rest())
            variables = [variable.value for variable in result.variables]
            rows = _WithinRows((tuple(s) for s in result), max_rows, body, _row_size)
            for piece in PIECES[name](variables, rows):
                body.add(piece.encode())
            if rows.passed:
                return body.refused("too-many-rows", max_rows, max_bytes)
            return ("ok", "SELECT", name, body.rest())
        name = job.get("graph_format")
        if name is None:
            return ("error", "not-acceptable", "CONSTRUCT")
        rdf_format = RDF_FORMATS[name]
        if body.emit is None and name in ROW_MARKS and isinstance(result, ox.QueryTriples):
            # a line per triple: the engine's serializer, its lines counted
            result.serialize(cast("IO[bytes]", _CountedRows(body, name, max_rows)), rdf_format)
            return ("ok", "CONSTRUCT", name, body.rest())
        triples = _WithinRows(result, max_rows, body, _triple_size)
        items: Iterable[Any] = triples
        if rdf_format in (ox.RdfFormat.TRIG, ox.RdfFormat.N_QUADS):
            items = (ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples)
        output = cast("IO[bytes]", body)  # pyoxigraph calls only write() and flush()
        ox.serialize(items, output, format=rdf_format, prefixes=prefixes or None)
        if triples.passed:
            return body.refused("too-many-rows", max_rows, max_bytes)
        return ("ok", "CONSTRUCT", name, body.rest())
    except _Cut as cut:
        return body.refused(cut.kind, max_rows, max_bytes)
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

    def refresh(
        self, change: QuadChange | None = None, before_copy: Callable[[], None] | None = None
    ) -> None:
        return None  # evaluates on the live store

    def close(self) -> None:
        return None
