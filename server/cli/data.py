"""Data commands: ``validate``, ``query`` and ``stats``."""

from __future__ import annotations

import json
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
    KnowledgeGraph,
    entity_count,
)
from karabakh_kg.ontology import vocab
from karabakh_kg.server.cli.disputes import PerspectiveOption
from karabakh_kg.server.cli.errors import fail, unreadable_files
from karabakh_kg.server.cli.output import TableOrJson, render_table
from karabakh_kg.server.cli.query import (  # the command's work, without typer
    OutputFormat,
    QueryLimits,
    load_graph,
    query,
    short,
)

__all__ = ["DataDir", "load_graph", "render_table", "short"]
"""Used by the other commands' modules (``load_graph``: one data error, one line)."""

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder of curated TriG files (default: the installed data).",
        file_okay=False,
    ),
]


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
            help="SELECT/ASK: table, json, csv, tsv, xml; CONSTRUCT/DESCRIBE: turtle, nt, "
            "rdfxml, jsonld, trig, nquads.",
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
    kept = QueryLimits(timeout, max_rows, max_bytes)
    query(
        sparql,
        file,
        output,
        infer=infer,
        data_dir=data_dir,
        perspective=perspective,
        limits=kept,
        load=load_graph,
    )


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
