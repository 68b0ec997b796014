"""``karabakh-kg query``: its work, and the command line's fast path to it.

The command's options are declared for typer in :mod:`karabakh_kg.server.cli.data`; what
it does is here, in a module that imports neither typer nor any other command, so that
:func:`fast_path` can run the command's usual forms without building the typer app:
importing typer and building a command take about 0.06 s of CPU, a fifth of a warm
``karabakh-kg query 'ASK {}'``. The fast path takes only arguments it reads exactly as
typer reads them (the query as one argument, ``--format NAME`` with a name of
:class:`OutputFormat`, ``--infer``/``--no-infer``), gives the same values to the same
function, and hands every other command line to typer, and every exception, exits
included, to typer's own handling, so that help, usage errors, exit statuses and messages
are typer's (``tests/test_startup_cli.py`` compares the two).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from karabakh_kg.graph import DataError, KnowledgeGraph, formats, turtle
from karabakh_kg.graph import load_graph as load_knowledge_graph
from karabakh_kg.ontology import vocab
from karabakh_kg.server.cli.errors import as_typer_would, echo, fail, unreadable_files
from karabakh_kg.server.cli.output import render_table
from karabakh_kg.server.settings import Settings, SettingsError
from karabakh_kg.server.sparql.guard import explain_syntax_error


class OutputFormat(StrEnum):
    """Output formats of ``query``."""

    table = "table"
    json = "json"
    csv = "csv"
    tsv = "tsv"
    xml = "xml"
    turtle = "turtle"
    nt = "nt"
    rdfxml = "rdfxml"
    jsonld = "jsonld"
    trig = "trig"
    nquads = "nquads"


SOLUTION_FORMATS = {
    f: formats.results_syntax(f.value)
    for f in (OutputFormat.json, OutputFormat.csv, OutputFormat.tsv, OutputFormat.xml)
}
GRAPH_OUTPUT = (
    OutputFormat.turtle,
    OutputFormat.nt,
    OutputFormat.rdfxml,
    OutputFormat.jsonld,
    OutputFormat.trig,
    OutputFormat.nquads,
)
GRAPH_FORMATS = {f: formats.rdf_syntax(f.value) for f in GRAPH_OUTPUT}
LIMIT_OPTIONS = {
    "timeout": "--timeout",
    "too-many-results": "--max-rows",
    "answer-too-large": "--max-bytes",
}
"""The option that raises the limit a refused query ran into (by problem code)."""


def load_graph(
    data_dir: Path | None, *, reason: bool = True, read_only: bool = False
) -> KnowledgeGraph:
    """Load the knowledge graph (the reasoned store from the cache when it holds this data
    version; ``read_only``: opened from disk, for SPARQL only), turning a data error into a
    one-line exit."""
    if data_dir is not None and not data_dir.is_dir():
        fail(f"data folder {data_dir} does not exist")
    try:
        with unreadable_files():
            return load_knowledge_graph(data_dir, reason=reason, cache=True, read_only=read_only)
    except DataError as error:
        fail(f"{error} (run 'karabakh-kg validate' for details)")


def short(term: object) -> str:
    """A term as people read it: CURIE for known namespaces, lexical form for literals."""
    if isinstance(term, ox.NamedNode):
        return turtle(term.value)
    if isinstance(term, ox.Literal):
        return term.value
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if term is None:
        return ""
    return str(term)


def read_query(text: str | None, file: Path | None) -> str:
    """The query from the argument, ``--file`` or standard input (``-`` or piped)."""
    if text is not None and file is not None:
        fail("give the query either as an argument or with --file, not both")
    if file is not None:
        if file.is_dir():
            fail(f"query file {file} is a folder; give the file with the query")
        if not file.exists():
            fail(f"query file {file} does not exist")
        try:
            return file.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            fail(f"query file {file} is not UTF-8 text (byte {error.start + 1} is not)")
        except OSError as error:
            fail(f"cannot read query file {file}: {error.strerror or error}")
    if text is not None and text != "-":
        return text
    if text is None and sys.stdin.isatty():
        fail("no query: give it as an argument, with --file, or on standard input")
    return sys.stdin.read()


ACCEPT = {
    OutputFormat.table: "application/sparql-results+json, text/turtle;q=0.9",
    OutputFormat.json: "application/sparql-results+json",
    OutputFormat.csv: "text/csv",
    OutputFormat.tsv: "text/tab-separated-values",
    OutputFormat.xml: "application/sparql-results+xml",
    **{f: formats.rdf_syntax(f.value).media_type for f in GRAPH_OUTPUT},
}
"""What the query asks the endpoint's negotiation for, per ``--format``."""


@dataclass(frozen=True)
class QueryLimits:
    """The limits of one ``query`` run (the server's settings unless options change them)."""

    timeout: float | None = None
    max_rows: int | None = None
    max_bytes: int | None = None

    def settings(self) -> Settings:
        """The server's settings (``KARABAKH_KG_*``) with these limits and one worker."""
        try:
            return Settings.from_env(
                query_timeout=self.timeout,
                max_query_timeout=self.timeout,
                max_rows=self.max_rows,
                max_answer_bytes=self.max_bytes,
                query_workers=1,
                max_queued=0,
            )
        except SettingsError as error:
            fail(str(error), 2)


def run_query(
    kg: KnowledgeGraph,
    sparql: str,
    fmt: OutputFormat | None,
    *,
    infer: bool,
    limits: QueryLimits | None = None,
) -> None:
    """Evaluate ``sparql`` as the server does and write the answer to standard output.

    The query is checked by the SPARQL endpoint's own code
    (:class:`~karabakh_kg.server.sparql.execute.Endpoint`) and evaluated by a query worker
    forked from this process (:class:`~karabakh_kg.server.sparql.forked.ForkedStore`, the
    workers' own job), under the server's time limit, row and byte caps and memory bound,
    so a runaway query is stopped and refused with one line instead of filling the memory.
    Answers in a SPARQL results or RDF format are streamed: each chunk the worker
    serializes is written as it arrives, without parsing it again, so memory stays flat
    however long the answer. A cap or the time limit reached on the way ends the output
    after the last complete row sent, with one ``error:`` line (at the row cap the document
    is complete; at the byte cap or the time limit, JSON, XML and Turtle are cut). The table
    is laid out once the whole answer (at most the byte cap) has arrived.
    """
    from karabakh_kg.server.problems import Problem
    from karabakh_kg.server.sparql.errors import failure_problem
    from karabakh_kg.server.sparql.execute import Endpoint
    from karabakh_kg.server.sparql.forked import ForkedStore
    from karabakh_kg.server.sparql.protocol import QueryFailed

    fmt = fmt or OutputFormat.table
    settings = (limits or QueryLimits()).settings()
    store = ForkedStore(kg.store, settings.worker_memory_mb)
    endpoint = Endpoint(kg, settings, store)
    output = _Output()
    try:
        prepared = endpoint.prepare(
            sparql, {"infer": ["true" if infer else "false"]}, {}, ACCEPT[fmt]
        )
        answer = store.stream(prepared.job, prepared.timeout)
        try:
            if fmt is OutputFormat.table:
                body = b"".join(answer)
                if answer.form in ("SELECT", "ASK"):
                    echo(_table_output(body))
                    return
                output.write_all([body])
            else:
                output.write_all(answer)
        finally:
            answer.close()
    except BrokenPipeError:
        # The reader closed standard output (``| head``): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        import typer

        raise typer.Exit(1) from None
    except Problem as problem:
        if problem.code == "not-acceptable":
            fail(_wrong_format(fmt))
        fail(_refusal(problem))
    except QueryFailed as failure:
        refused = failure_problem(
            failure,
            update=False,
            timeout=prepared.timeout,
            max_timeout=settings.max_query_timeout,
        )
        cut = "the output above is incomplete: " if output.started else ""
        fail(cut + _refusal(refused))
    finally:
        endpoint.close()


class _Output:
    """Standard output written chunk by chunk as an answer arrives (flushed after each,
    so rows come out as they are produced), ending with a newline."""

    def __init__(self) -> None:
        self.started = False
        self._last = b""

    def write_all(self, chunks: Iterable[bytes]) -> None:
        out = sys.stdout.buffer
        for chunk in chunks:
            if chunk:
                out.write(chunk)
                out.flush()
                self.started = True
                self._last = chunk[-1:]
        if self._last and self._last != b"\n":
            out.write(b"\n")
            out.flush()


def _wrong_format(fmt: OutputFormat) -> str:
    if fmt in GRAPH_FORMATS:
        return f"--format {fmt.value} is for CONSTRUCT/DESCRIBE; use table, json, csv, tsv or xml"
    return f"--format {fmt.value} is for SELECT; CONSTRUCT/DESCRIBE give turtle or nt"


def _refusal(problem: Any) -> str:
    """One line for a refused or failed query, naming the option that raises its limit."""
    option = LIMIT_OPTIONS.get(problem.code)
    return f"{problem.detail} (raise {option})" if option else problem.detail


def _table_output(body: bytes) -> str:
    """SELECT rows (SPARQL results in JSON) as a table with a row count; ASK as true/false."""
    result = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
    if isinstance(result, ox.QueryBoolean):
        return "true" if bool(result) else "false"
    header = [v.value for v in result.variables]
    rows = [[short(row[v]) for v in result.variables] for row in result]
    count = f"({len(rows)} row{'s' if len(rows) != 1 else ''})"
    return render_table(header, rows) + "\n" + count


def query(
    sparql: str | None,
    file: Path | None = None,
    output: OutputFormat | None = None,
    *,
    infer: bool = True,
    data_dir: Path | None = None,
    perspective: str | None = None,
    limits: QueryLimits | None = None,
    load: Callable[..., KnowledgeGraph] = load_graph,
) -> None:
    """Run a SPARQL query given as text, by ``file`` or on standard input (``query``'s
    arguments; ``load``: how the graph is loaded)."""
    text = read_query(sparql, file)
    if not text.strip():
        fail("empty query")
    if _openings(text) <= PRE_PARSE_OPENINGS:
        try:  # fail fast on syntax before loading: results are lazy, nothing is evaluated
            ox.Store().query(text, prefixes=dict(vocab.PREFIXES))
        except SyntaxError as error:
            _refuse_malformed(text, error)
        except (OSError, ValueError, RuntimeError):
            pass
    # A perspective is built in Python from the stored graphs: from memory, not from disk.
    kg = load(data_dir, reason=infer or perspective is not None, read_only=not perspective)
    if perspective is not None:  # the reasoner's perspectives, and the option's module
        from karabakh_kg.server.cli.disputes import in_perspective

        kg = in_perspective(kg, perspective)
    run_query(kg, text, output, infer=infer, limits=limits)


PRE_PARSE_OPENINGS = 200
"""Most opening brackets a text may hold for :func:`query` to parse it in this process
before loading the graph: an upper bound of its nesting, within what the engine's parser,
which recurses, takes (5 000 nested braces crash it). A text with more is read first by
the endpoint's reading, which refuses one nested deeper than the server's limit."""


def _openings(text: str) -> int:
    return sum(text.count(bracket) for bracket in ("(", "{", "[", "<<"))


def _refuse_malformed(text: str, error: SyntaxError) -> None:
    """One line for a text the engine cannot read as a query: the server's answer for an
    update (which the engine reads as a malformed query), else where the syntax breaks."""
    from karabakh_kg.server.sparql.execute import UPDATE_ON_QUERY_ENDPOINT
    from karabakh_kg.server.sparql.inspect import inspect

    if inspect(text).is_update:
        fail(UPDATE_ON_QUERY_ENDPOINT)
    fail(f"malformed query: {explain_syntax_error(str(error), text, vocab.PREFIXES)}")


def fast_path(arguments: Sequence[str]) -> bool:
    """Run ``karabakh-kg ARGUMENTS`` here when they are one of ``query``'s usual forms
    (True: done), else leave them to typer (False: nothing was done)."""
    usual = _usual_query(arguments)
    if usual is None or any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ):
        return False  # typer's own (or its shell completion's) to read
    text, output, infer = usual
    try:
        query(text, output=output, infer=infer, limits=QueryLimits())
    except (Exception, KeyboardInterrupt) as error:
        as_typer_would(error)
    return True


def _usual_query(arguments: Sequence[str]) -> tuple[str, OutputFormat | None, bool] | None:
    """The query text, ``--format`` and ``--infer`` of ``query TEXT [--format NAME]
    [--infer | --no-infer]`` in any order, each at most once, the text not beginning with
    ``-`` and the name one of :class:`OutputFormat` (as typer reads them); None for any
    other command line."""
    if not arguments or arguments[0] != "query":
        return None
    text: str | None = None
    output: str | None = None
    infer: bool | None = None
    rest = list(arguments[1:])
    while rest:
        token = rest.pop(0)
        if token in ("--infer", "--no-infer") and infer is None:
            infer = token == "--infer"
        elif token == "--format" and output is None and rest:
            output = rest.pop(0)
        elif token.startswith("--format=") and output is None:
            output = token.removeprefix("--format=")
        elif not token.startswith("-") and text is None:
            text = token
        else:
            return None
    if text is None or (output is not None and output not in {name.value for name in OutputFormat}):
        return None
    return text, OutputFormat(output) if output is not None else None, infer is not False
