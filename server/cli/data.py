"""Data commands: ``validate``, ``query`` and ``stats``."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pyoxigraph as ox
import typer

from karabakh_kg.graph import (
    ASSERTED,
    INFERRED,
    ONTOLOGY,
    PROVENANCE,
    WIKIDATA,
    DataError,
    KnowledgeGraph,
    entity_count,
    formats,
    turtle,
)
from karabakh_kg.graph import load_graph as load_knowledge_graph
from karabakh_kg.ontology import vocab
from karabakh_kg.server.cli.disputes import PerspectiveOption, in_perspective
from karabakh_kg.server.cli.errors import fail, unreadable_files
from karabakh_kg.server.cli.output import TableOrJson, render_table
from karabakh_kg.server.settings import Settings, SettingsError
from karabakh_kg.server.sparql.guard import explain_syntax_error

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder of curated TriG files (default: the installed data).",
        file_okay=False,
    ),
]


class OutputFormat(StrEnum):
    """Output formats of ``query``."""

    table = "table"
    json = "json"
    csv = "csv"
    tsv = "tsv"
    xml = "xml"
    turtle = "turtle"
    nt = "nt"


SOLUTION_FORMATS = {
    f: formats.results_syntax(f.value)
    for f in (OutputFormat.json, OutputFormat.csv, OutputFormat.tsv, OutputFormat.xml)
}
GRAPH_FORMATS = {f: formats.rdf_syntax(f.value) for f in (OutputFormat.turtle, OutputFormat.nt)}
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
    OutputFormat.turtle: "text/turtle",
    OutputFormat.nt: "application/n-triples",
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
                    typer.echo(_table_output(body))
                    return
                output.write_all([body])
            else:
                output.write_all(answer)
        finally:
            answer.close()
    except BrokenPipeError:
        # The reader closed standard output (``| head``): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
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


def _pairs(kg: KnowledgeGraph, sparql: str) -> list[tuple[str, int]]:
    result = kg.query(sparql)
    assert isinstance(result, ox.QuerySolutions)
    return [(short(row[0]), int(row[1].value)) for row in result]


def compute_stats(kg: KnowledgeGraph) -> dict[str, Any]:
    """Counts of triples per graph, entities per class, evidence units, sources and claimants."""
    system = {ASSERTED, INFERRED, ONTOLOGY, PROVENANCE, WIKIDATA}
    evidence_graphs = [
        g
        for g in kg.store.named_graphs()
        if g not in system and isinstance(g, ox.NamedNode) and g.value.startswith(str(vocab.KGE))
    ]
    sizes = kg.graph_sizes()
    return {
        "version": kg.version,
        "triples": {
            name: sizes[name]
            for name in ("asserted", "inferred", "provenance", "ontology", "wikidata")
        },
        "evidence_units": len(evidence_graphs),
        "entities": entity_count(kg),  # the home page's count too
        "entities_per_class": dict(
            _pairs(
                kg,
                "SELECT ?class (COUNT(DISTINCT ?e) AS ?n) WHERE { ?e a ?class "
                "FILTER(STRSTARTS(STR(?e), STR(kg:)) && STRSTARTS(STR(?class), STR(kgo:))) } "
                "GROUP BY ?class ORDER BY DESC(?n) ?class",
            )
        ),
        "evidence_by_stance": dict(
            _pairs(
                kg,
                "SELECT ?stance (COUNT(DISTINCT ?ev) AS ?n) WHERE { ?ev a kgo:Evidence ; "
                "kgo:stance ?stance } GROUP BY ?stance ORDER BY DESC(?n) ?stance",
            )
        ),
        "sources": dict(
            _pairs(
                kg,
                "SELECT ?source (COUNT(DISTINCT ?ev) AS ?n) WHERE { ?ev a kgo:Evidence ; "
                "prov:wasAttributedTo ?source } GROUP BY ?source ORDER BY DESC(?n) ?source",
            )
        ),
        "claimants": dict(
            _pairs(
                kg,
                "SELECT ?who (COUNT(DISTINCT ?claim) AS ?n) WHERE { ?claim kgo:claimant ?who } "
                "GROUP BY ?who ORDER BY DESC(?n) ?who",
            )
        ),
    }


def render_stats(stats: dict[str, Any]) -> str:
    """The stats as text tables."""
    parts = [
        f"data version {stats['version'][:12]}: {stats['entities']} entities, "
        f"{stats['evidence_units']} evidence units",
        "",
        render_table(["graph", "triples"], [[k, str(v)] for k, v in stats["triples"].items()]),
    ]
    for title, key in (
        ("class", "entities_per_class"),
        ("stance", "evidence_by_stance"),
        ("source", "sources"),
        ("claimant", "claimants"),
    ):
        rows = [[k, str(v)] for k, v in stats[key].items()]
        parts += ["", render_table([title, "count"], rows)]
    return "\n".join(parts)


def validate_command(
    data_dir: DataDir = None,
    output: Annotated[
        TableOrJson, typer.Option("--format", help="text summary or JSON report.")
    ] = TableOrJson.table,
    consistency: Annotated[
        bool, typer.Option("--consistency/--no-consistency", help="Run the consistency check.")
    ] = True,
) -> None:
    """Check parsing, quotes against the seed, SHACL shapes and logical consistency."""
    from karabakh_kg.graph import validate

    if data_dir is not None and not data_dir.is_dir():
        fail(f"data folder {data_dir} does not exist")
    with unreadable_files():
        report = validate(data_dir, consistency=consistency)
    if output is TableOrJson.json:
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        for problem in report.problems:
            typer.echo(str(problem), err=problem.severity == "error")
    if not report.ok:
        fail(report.summary())
    if output is not TableOrJson.json:
        typer.echo(report.summary())


def query_command(
    sparql: Annotated[
        str | None, typer.Argument(help="The SPARQL query ('-' or omitted: read standard input).")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Read the query from this file.")
    ] = None,
    output: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format",
            help="SELECT/ASK: table, json, csv, tsv, xml; CONSTRUCT/DESCRIBE: turtle, nt.",
        ),
    ] = None,
    infer: Annotated[
        bool, typer.Option("--infer/--no-infer", help="Include derived (inferred) triples.")
    ] = True,
    data_dir: DataDir = None,
    perspective: PerspectiveOption = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=0.001,
            help="Seconds the query may run (default: the server's, KARABAKH_KG_QUERY_TIMEOUT).",
        ),
    ] = None,
    max_rows: Annotated[
        int | None,
        typer.Option(
            "--max-rows", min=1, help="Most rows or triples (default: KARABAKH_KG_MAX_ROWS)."
        ),
    ] = None,
    max_bytes: Annotated[
        int | None,
        typer.Option(
            "--max-bytes",
            min=1,
            help="Largest answer in bytes (default: KARABAKH_KG_MAX_ANSWER_BYTES).",
        ),
    ] = None,
) -> None:
    """Run a SPARQL query (the usual prefixes kg:, kgo:, prov: ... are predeclared), under
    the server's time limit and row and byte caps."""
    text = read_query(sparql, file)
    if not text.strip():
        fail("empty query")
    try:  # fail fast on syntax before loading: results are lazy, nothing is evaluated
        ox.Store().query(text, prefixes=dict(vocab.PREFIXES))
    except SyntaxError as error:
        fail(f"malformed query: {explain_syntax_error(str(error), text, vocab.PREFIXES)}")
    except (OSError, ValueError, RuntimeError):
        pass
    # A perspective is built in Python from the stored graphs: from memory, not from disk.
    kg = load_graph(data_dir, reason=infer or perspective is not None, read_only=not perspective)
    kg = in_perspective(kg, perspective)
    run_query(kg, text, output, infer=infer, limits=QueryLimits(timeout, max_rows, max_bytes))


def stats_command(
    output: Annotated[TableOrJson, typer.Option("--format", help="table or json.")] = (
        TableOrJson.table
    ),
    data_dir: DataDir = None,
) -> None:
    """Count triples per graph, entities per class, evidence units, sources and claimants."""
    stats = compute_stats(load_graph(data_dir))
    if output is TableOrJson.json:
        typer.echo(json.dumps(stats, indent=2, ensure_ascii=False))
    else:
        typer.echo(render_stats(stats))


def register(app: typer.Typer) -> None:
    """Add ``validate``, ``query`` and ``stats`` to ``app``."""
    app.command("validate")(validate_command)
    app.command("query")(query_command)
    app.command("stats")(stats_command)
