"""Data commands: ``validate``, ``query`` and ``stats``."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pyoxigraph as ox
import typer

from karabakh_kg.graph import formats
from karabakh_kg.graph.dataset import (
    ASSERTED,
    INFERRED,
    ONTOLOGY,
    PROVENANCE,
    WIKIDATA,
    DataError,
    KnowledgeGraph,
)
from karabakh_kg.graph.prefixes import turtle
from karabakh_kg.ontology import vocab
from karabakh_kg.server.cli.disputes import PerspectiveOption, in_perspective
from karabakh_kg.server.cli.errors import fail

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


class StatsFormat(StrEnum):
    """Output formats of ``stats``."""

    table = "table"
    json = "json"


SOLUTION_FORMATS = {
    f: formats.results_syntax(f.value)
    for f in (OutputFormat.json, OutputFormat.csv, OutputFormat.tsv, OutputFormat.xml)
}
GRAPH_FORMATS = {f: formats.rdf_syntax(f.value) for f in (OutputFormat.turtle, OutputFormat.nt)}


def load_graph(data_dir: Path | None, *, reason: bool = True) -> KnowledgeGraph:
    """Load the knowledge graph, turning a data error into a one-line exit."""
    if data_dir is not None and not data_dir.is_dir():
        fail(f"data folder {data_dir} does not exist")
    try:
        return KnowledgeGraph.load(data_dir, reason=reason)
    except DataError as error:
        fail(f"{error} (run 'karabakh-kg validate' for details)")
    except FileNotFoundError as error:
        fail(f"missing file: {error.filename or error}")


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


def render_table(header: list[str], rows: list[list[str]]) -> str:
    """A plain aligned text table with a rule under the header."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out += [line([c.replace("\n", " ") for c in r]) for r in rows]
    return "\n".join(out)


def read_query(text: str | None, file: Path | None) -> str:
    """The query from the argument, ``--file`` or standard input (``-`` or piped)."""
    if text is not None and file is not None:
        fail("give the query either as an argument or with --file, not both")
    if file is not None:
        if not file.is_file():
            fail(f"query file {file} does not exist")
        return file.read_text(encoding="utf-8")
    if text is not None and text != "-":
        return text
    if text is None and sys.stdin.isatty():
        fail("no query: give it as an argument, with --file, or on standard input")
    return sys.stdin.read()


def _solutions_output(result: ox.QuerySolutions, fmt: OutputFormat) -> str:
    if fmt in GRAPH_FORMATS:
        fail(f"--format {fmt.value} is for CONSTRUCT/DESCRIBE; use table, json, csv, tsv or xml")
    if fmt in SOLUTION_FORMATS:
        data = result.serialize(format=SOLUTION_FORMATS[fmt])
        return (data or b"").decode("utf-8").rstrip("\n")
    header = [v.value for v in result.variables]
    rows = [[short(row[v]) for v in result.variables] for row in result]
    count = f"({len(rows)} row{'s' if len(rows) != 1 else ''})"
    return render_table(header, rows) + "\n" + count


def _boolean_output(result: ox.QueryBoolean, fmt: OutputFormat) -> str:
    if fmt in GRAPH_FORMATS:
        fail(f"--format {fmt.value} is for CONSTRUCT/DESCRIBE; ASK answers true or false")
    if fmt in SOLUTION_FORMATS:
        data = result.serialize(format=SOLUTION_FORMATS[fmt])
        return (data or b"").decode("utf-8").rstrip("\n")
    return "true" if bool(result) else "false"


def _triples_output(result: ox.QueryTriples, fmt: OutputFormat | None) -> str:
    if fmt is not None and fmt not in GRAPH_FORMATS and fmt is not OutputFormat.table:
        fail(f"--format {fmt.value} is for SELECT; CONSTRUCT/DESCRIBE give turtle or nt")
    rdf_format = GRAPH_FORMATS.get(fmt or OutputFormat.turtle, ox.RdfFormat.TURTLE)
    prefixes = dict(vocab.PREFIXES) if rdf_format == ox.RdfFormat.TURTLE else None
    data = ox.serialize(list(result), format=rdf_format, prefixes=prefixes)
    return (data or b"").decode("utf-8").rstrip("\n")


def run_query(kg: KnowledgeGraph, sparql: str, fmt: OutputFormat | None, *, infer: bool) -> str:
    """Evaluate ``sparql`` and render the result; malformed queries exit with one line."""
    try:
        result = kg.query(sparql, include_inferred=infer)
    except SyntaxError as error:
        fail(f"malformed query: {error}")
    except (OSError, ValueError, RuntimeError) as error:
        fail(f"query failed: {error}")
    if isinstance(result, ox.QuerySolutions):
        return _solutions_output(result, fmt or OutputFormat.table)
    if isinstance(result, ox.QueryBoolean):
        return _boolean_output(result, fmt or OutputFormat.table)
    return _triples_output(result, fmt)


def _count(kg: KnowledgeGraph, graph: ox.NamedNode) -> int:
    return sum(1 for _ in kg.store.quads_for_pattern(None, None, None, graph))


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
    entities = kg.query(
        "SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE { GRAPH ?g { ?e ?p ?o } "
        f"FILTER(?g = <{ASSERTED.value}>) FILTER(STRSTARTS(STR(?e), STR(kg:))) }}"
    )
    assert isinstance(entities, ox.QuerySolutions)
    entity_count = int(next(iter(entities))[0].value)
    return {
        "version": kg.version,
        "triples": {
            "asserted": _count(kg, ASSERTED),
            "inferred": _count(kg, INFERRED),
            "provenance": _count(kg, PROVENANCE),
            "ontology": _count(kg, ONTOLOGY),
            "wikidata": _count(kg, WIKIDATA),
        },
        "evidence_units": len(evidence_graphs),
        "entities": entity_count,
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
        StatsFormat, typer.Option("--format", help="text summary or JSON report.")
    ] = StatsFormat.table,
    consistency: Annotated[
        bool, typer.Option("--consistency/--no-consistency", help="Run the consistency check.")
    ] = True,
) -> None:
    """Check parsing, quotes against the seed, SHACL shapes and logical consistency."""
    from karabakh_kg.graph.validation import validate

    if data_dir is not None and not data_dir.is_dir():
        fail(f"data folder {data_dir} does not exist")
    report = validate(data_dir, consistency=consistency)
    if output is StatsFormat.json:
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        for problem in report.problems:
            typer.echo(str(problem), err=problem.severity == "error")
    if not report.ok:
        fail(report.summary())
    if output is not StatsFormat.json:
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
) -> None:
    """Run a SPARQL query (the usual prefixes kg:, kgo:, prov: ... are predeclared)."""
    text = read_query(sparql, file)
    if not text.strip():
        fail("empty query")
    try:  # fail fast on syntax before loading: results are lazy, nothing is evaluated
        ox.Store().query(text, prefixes=dict(vocab.PREFIXES))
    except SyntaxError as error:
        fail(f"malformed query: {error}")
    except (OSError, ValueError, RuntimeError):
        pass
    kg = load_graph(data_dir, reason=infer or perspective is not None)
    kg = in_perspective(kg, perspective)
    typer.echo(run_query(kg, text, output, infer=infer))


def stats_command(
    output: Annotated[StatsFormat, typer.Option("--format", help="table or json.")] = (
        StatsFormat.table
    ),
    data_dir: DataDir = None,
) -> None:
    """Count triples per graph, entities per class, evidence units, sources and claimants."""
    stats = compute_stats(load_graph(data_dir))
    if output is StatsFormat.json:
        typer.echo(json.dumps(stats, indent=2, ensure_ascii=False))
    else:
        typer.echo(render_stats(stats))


def register(app: typer.Typer) -> None:
    """Add ``validate``, ``query`` and ``stats`` to ``app``."""
    app.command("validate")(validate_command)
    app.command("query")(query_command)
    app.command("stats")(stats_command)
