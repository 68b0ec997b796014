"""The one interface the SPARQL endpoint needs from a store, and its pyoxigraph version.

A query is a :class:`QueryJob` (text, dataset, acceptable formats, row cap); the store
answers a :class:`QueryAnswer` (the serialized body) or raises :class:`QueryFailed`.
The endpoint only speaks this protocol, so a remote SPARQL store (forwarding the job
over HTTP) can replace the local one later. Two implementations exist:

* :class:`LocalStore` (here): evaluates in the calling thread, for the CLI and tools;
* ``karabakh_kg.server.sparql_pool.PooledStore``: the same evaluation in worker
  processes that are killed on timeout, for the server.

>>> import pyoxigraph as ox
>>> store = ox.Store()
>>> store.add(ox.Quad(ox.NamedNode("http://e/a"), ox.NamedNode("http://e/p"), ox.Literal("x")))
>>> answer = LocalStore(store).execute(QueryJob("ASK { ?s ?p ?o }"), timeout=5)
>>> answer.body
b'{"head":{},"boolean":true}'
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyoxigraph as ox

from karabakh_kg.graph.store_results import WRITERS

RDF_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "rdfxml": ox.RdfFormat.RDF_XML,
    "jsonld": ox.RdfFormat.JSON_LD,
    "trig": ox.RdfFormat.TRIG,
    "nquads": ox.RdfFormat.N_QUADS,
}
"""Graph serializations by short name (the names of ``server.sparql_conneg``)."""
RESULT_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
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
    prefixes: dict[str, str] = field(default_factory=dict)
    base_iri: str | None = None
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
    ``remote`` (a SERVICE call failed), ``evaluation``, ``timeout``, ``busy``, ``crashed``.
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

    def refresh(self) -> None:
        """The data changed: later queries must see the new content."""
        ...

    def close(self) -> None:
        """Release processes, connections and files."""
        ...


def run_job(store: ox.Store, job: dict[str, Any], *, union_ready: bool = False) -> tuple[Any, ...]:
    """Evaluate a job (``QueryJob.to_dict()``) on ``store``; picklable answer.

    ``union_ready``: the store's default graph already holds the union of the standard
    default graphs (see :attr:`QueryJob.union_default`).
    Answers ``("ok", form, format_name, body)`` or ``("error", kind, message)``.
    """
    kwargs: dict[str, Any] = {"prefixes": job.get("prefixes") or None}
    if job.get("base_iri"):
        kwargs["base_iri"] = job["base_iri"]
    if not (union_ready and job.get("union_default")):
        for key in ("default_graph", "named_graphs"):
            names = job.get(key)
            if names is not None:
                kwargs[key] = [ox.NamedNode(name) for name in names]
    max_rows: int = job["max_rows"]
    try:
        result = store.query(job["sparql"], **kwargs)
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
            rows = [tuple(solution) for solution in itertools.islice(result, max_rows + 1)]
            if len(rows) > max_rows:
                return ("error", "too-many-rows", str(max_rows))
            return ("ok", "SELECT", name, WRITERS[name](variables, rows))
        name = job.get("graph_format")
        if name is None:
            return ("error", "not-acceptable", "CONSTRUCT")
        triples = list(itertools.islice(result, max_rows + 1))
        if len(triples) > max_rows:
            return ("error", "too-many-rows", str(max_rows))
        rdf_format = RDF_FORMATS[name]
        items: list[Any] = triples
        if rdf_format in (ox.RdfFormat.TRIG, ox.RdfFormat.N_QUADS):
            items = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples]
        prefixes = job.get("prefixes") or None
        body = ox.serialize(items, format=rdf_format, prefixes=prefixes)
        return ("ok", "CONSTRUCT", name, body)
    except SyntaxError as error:
        return ("error", "syntax", str(error))
    except OSError as error:
        # pyoxigraph reports failed SERVICE calls (network or remote errors) as OSError.
        return ("error", "remote", str(error))
    except (ValueError, TypeError, RuntimeError) as error:
        return ("error", "evaluation", str(error))


def answer_from(raw: tuple[Any, ...]) -> QueryAnswer:
    """The :class:`QueryAnswer` of a :func:`run_job` tuple, or raise :class:`QueryFailed`."""
    if raw[0] == "ok":
        return QueryAnswer(form=raw[1], format_name=raw[2], body=raw[3])
    raise QueryFailed(raw[1], raw[2])


class LocalStore:
    """Evaluation in the calling thread (no hard time limit: use for trusted callers)."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store

    def execute(self, job: QueryJob, timeout: float) -> QueryAnswer:
        return answer_from(run_job(self.store, job.to_dict()))

    def refresh(self) -> None:
        return None

    def close(self) -> None:
        return None
