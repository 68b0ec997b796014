"""Graph commands: ``neighbours``, ``path``, ``centrality``, ``communities``, ``network``,
``export``. Each prints a table, or JSON with ``--format json``."""

from __future__ import annotations

import functools
import inspect
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import networkx as nx
import typer

from karabakh_kg.graph import GraphFilter, KnowledgeGraph, lookup, traversal, write_atomic
from karabakh_kg.graph import export as exports
from karabakh_kg.server.cli.data import DataDir, load_graph
from karabakh_kg.server.cli.disputes import PerspectiveOption, in_perspective
from karabakh_kg.server.cli.errors import check_length, fail
from karabakh_kg.server.cli.output import TableOrJson, render_table


class Direction(StrEnum):
    """Which edges to follow from a node."""

    both = "both"
    out = "out"
    into = "in"


class Measure(StrEnum):
    """Centrality measures."""

    degree = "degree"
    betweenness = "betweenness"
    pagerank = "pagerank"


class Level(StrEnum):
    """Level of the negotiation network."""

    person = "person"
    state = "state"


FormatOpt = Annotated[TableOrJson, typer.Option("--format", "-f", help="table or json.")]
AssertedOnly = Annotated[
    bool, typer.Option("--asserted-only", help="Leave out what reasoning derives.")
]
Predicates = Annotated[
    list[str] | None,
    typer.Option("--predicate", "-p", help="Follow only this predicate (repeatable; kgo:metWith)."),
]
Classes = Annotated[
    list[str] | None,
    typer.Option("--class", "-c", help="Keep only nodes of this class (repeatable; kgo:Person)."),
]
Start = Annotated[str | None, typer.Option("--from", help="Window start (2020-09-27 or 2020).")]
End = Annotated[str | None, typer.Option("--to", help="Window end (2020-10-12 or 2020).")]


@dataclass
class GraphInput:
    """What a graph command works on: the data folder's graph seen from a perspective
    (loaded on first use, so a command may refuse a bad option first) and the projection
    filters."""

    data_dir: Path | None
    perspective: str | None
    filters: GraphFilter

    @functools.cached_property
    def kg(self) -> KnowledgeGraph:
        """The reasoned graph of the data folder, from the perspective."""
        return in_perspective(load_graph(self.data_dir), self.perspective)

    def graph(self, *, predicates: bool = True) -> nx.MultiDiGraph:
        """The projection under the filters (without the predicate filter if not
        ``predicates``); an unknown name or bad date exits 2 naming it."""
        try:
            return self.filters.project(self.kg, predicates=predicates)
        except ValueError as error:
            fail(str(error), 2)


NO_INPUT = GraphInput(None, None, GraphFilter())
"""The default of a command's ``seen`` (which :func:`with_graph_input` replaces)."""


def graph_input(
    asserted_only: AssertedOnly = False,
    predicate: Predicates = None,
    node_class: Classes = None,
    start: Start = None,
    end: End = None,
    data_dir: DataDir = None,
    perspective: PerspectiveOption = None,
) -> GraphInput:
    """The options every graph command takes; a filter over its limits exits 2 naming the
    limit (the HTTP routes answer 400 with the same message)."""
    try:
        filters = GraphFilter(
            not asserted_only, tuple(predicate or ()), tuple(node_class or ()), start, end
        )
    except ValueError as error:
        fail(str(error), 2)
    return GraphInput(data_dir, perspective, filters)


def with_graph_input(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with the options of :func:`graph_input` where its ``seen`` parameter
    stands, handed to it as one :class:`GraphInput`.

    Typer has no option groups (FastAPI's ``Depends`` does this for the routes); it reads
    the options from the signature, so the wrapper's signature shows the options in place
    of ``seen``."""
    own = list(inspect.signature(command, eval_str=True).parameters.values())
    options = list(inspect.signature(graph_input, eval_str=True).parameters.values())
    at = [p.name for p in own].index("seen")
    names = {p.name for p in options}

    @functools.wraps(command)
    def run(**given: Any) -> None:
        command(seen=graph_input(**{n: given.pop(n) for n in names}), **given)

    keyword = inspect.Parameter.KEYWORD_ONLY
    shown = (*own[:at], *options, *own[at + 1 :])
    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [p.replace(kind=keyword) for p in shown]
    )
    return run


def _resolve(kg: KnowledgeGraph, name: str) -> str:
    from karabakh_kg.server.web.common import MAX_NAME_LENGTH

    try:
        iri = lookup.resolve(kg, check_length(name, "name", MAX_NAME_LENGTH))
    except lookup.EntityLookupError as error:
        fail(str(error))
    return iri


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2))


def _table(rows: list[list[str]], header: list[str]) -> None:
    typer.echo(render_table(header, rows))


EDGE_HEADER = ["from", "relation", "to", "kind", "date", "quote"]


def _edge_row(
    graph: nx.MultiDiGraph, source: str, relation: str, target: str, edge: dict[str, Any]
) -> list[str]:
    """One table row for an edge: labels of its ends, relation, kind, date, quote."""
    return [
        graph.nodes[source]["label"],
        relation,
        graph.nodes[target]["label"],
        edge["kind"],
        edge.get("date", ""),
        edge.get("quote", ""),
    ]


def _ops(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except traversal.TraversalError as error:
        fail(str(error), 2)


@with_graph_input
def neighbours(
    name: Annotated[str, typer.Argument(help="Entity: label, alt label, CURIE, IRI or Q-id.")],
    k: Annotated[int, typer.Option("--k", "-k", help=f"Hops (1 to {traversal.MAX_K}).")] = 1,
    direction: Annotated[Direction, typer.Option(help="Edges to follow.")] = Direction.both,
    output: FormatOpt = TableOrJson.table,
    seen: GraphInput = NO_INPUT,
) -> None:
    """Entities within K hops of NAME, with the edge that reaches each."""
    node = _resolve(seen.kg, name)
    graph = seen.graph(predicates=False)
    try:
        predicates = seen.filters.predicate_iris(seen.kg)
    except ValueError as error:
        fail(str(error), 2)
    result = _ops(
        traversal.neighbours, graph, node, k=k, direction=direction.value, predicates=predicates
    )
    if output == TableOrJson.json:
        _print_json(result)
        return
    typer.echo(f"{result['node']['label']} <{node}>: {len(result['neighbours'])} neighbours")
    rows = [_edge_row(graph, e["source"], e["relation"], e["target"], e) for e in result["edges"]]
    _table(rows, EDGE_HEADER)


@with_graph_input
def path(
    source: Annotated[str, typer.Argument(metavar="FROM", help="Start entity.")],
    target: Annotated[str, typer.Argument(metavar="TO", help="End entity.")],
    all_paths: Annotated[bool, typer.Option("--all", help="All simple paths, not one.")] = False,
    max_length: Annotated[
        int, typer.Option(help=f"Longest path with --all (1 to {traversal.MAX_PATH_LENGTH}).")
    ] = 4,
    limit: Annotated[
        int, typer.Option(help=f"Most paths with --all (1 to {traversal.MAX_PATHS}).")
    ] = 20,
    output: FormatOpt = TableOrJson.table,
    seen: GraphInput = NO_INPUT,
) -> None:
    """How FROM is connected to TO: the shortest path (or all paths), each step quoted."""
    a, b = _resolve(seen.kg, source), _resolve(seen.kg, target)
    graph = seen.graph()
    if all_paths:
        result = _ops(traversal.all_paths, graph, a, b, max_length=max_length, limit=limit)
        paths = result["paths"]
    else:
        found = _ops(traversal.shortest_path, graph, a, b)
        result = found
        paths = [found] if found else []
    if output == TableOrJson.json:
        _print_json(result)
        if not paths:
            raise typer.Exit(1)
        return
    if not paths:
        fail(f"no path between {graph.nodes[a]['label']} and {graph.nodes[b]['label']}")
    for number, found_path in enumerate(paths, 1):
        labels = " → ".join(n["label"] for n in found_path["nodes"])
        steps = found_path["length"]
        typer.echo(f"path {number} ({steps} step{'' if steps == 1 else 's'}): {labels}")
        rows = []
        for step in found_path["steps"]:
            edge = step["edge"]
            arrow = f"{edge['relation']} →" if step["forward"] else f"← {edge['relation']}"
            rows.append(_edge_row(graph, step["from"], arrow, step["to"], edge))
        _table(rows, EDGE_HEADER)
    if all_paths and result["truncated"]:
        typer.echo(f"(stopped at {limit} paths; raise --limit for more)")


@with_graph_input
def centrality(
    measure: Annotated[Measure, typer.Option(help="Centrality measure.")] = Measure.degree,
    top: Annotated[
        int, typer.Option(help=f"How many entities to list (1 to {traversal.MAX_TOP}).")
    ] = 20,
    output: FormatOpt = TableOrJson.table,
    seen: GraphInput = NO_INPUT,
) -> None:
    """The most central entities by degree, betweenness or PageRank."""
    graph = seen.graph()
    result = _ops(traversal.centrality, graph, measure=measure.value, top=top)
    if output == TableOrJson.json:
        _print_json(result)
        return
    rows = [[r["label"], r["category"], f"{r['score']:.4f}", str(r["degree"])] for r in result]
    _table(rows, ["entity", "category", f"{measure.value} centrality", "degree"])


@with_graph_input
def communities(
    method: Annotated[str, typer.Option(help="louvain or greedy.")] = "louvain",
    output: FormatOpt = TableOrJson.table,
    seen: GraphInput = NO_INPUT,
) -> None:
    """Communities of the graph (Louvain with a fixed seed, or greedy modularity)."""
    graph = seen.graph()
    result = _ops(traversal.communities, graph, method=method)
    if output == TableOrJson.json:
        _print_json(result)
        return
    for part in result:
        names = ", ".join(n["label"] for n in part["nodes"])
        typer.echo(f"{part['id']} ({part['size']}): {names}")


@with_graph_input
def network(
    level: Annotated[Level, typer.Option(help="person or state.")] = Level.person,
    unrealised: Annotated[
        bool,
        typer.Option(
            "--unrealised", help="Also list planned, expected and cancelled meetings and calls."
        ),
    ] = False,
    output: FormatOpt = TableOrJson.table,
    seen: GraphInput = NO_INPUT,
) -> None:
    """Who met, spoke, negotiated with or mediated for whom: the relations the graph holds,
    with the dates and quotes of the events that support them."""
    graph = seen.graph()
    rows = traversal.network_rows(
        _ops(traversal.negotiation_network, graph, level=level.value, unrealised=unrealised)
    )
    if output == TableOrJson.json:
        _print_json(rows)
        return
    _table(
        [
            [
                r["sourceLabel"],
                r["label"],
                r["targetLabel"],
                r["date"] or "",
                _status(r["status"]),
                r["kind"] + (f", through {' and '.join(r['through'])}" if r["through"] else ""),
                r["quote"] or "",
            ]
            for r in rows
        ],
        ["who", "relation", "whom", "date", "status", "kind", "quote"],
    )


def _status(status: str | list[str] | None) -> str:
    if not status:
        return ""
    return " ".join(status) if isinstance(status, list) else status


@with_graph_input
def export(
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help=f"One of: {', '.join(exports.REGISTRY)} (or a media type)."
        ),
    ],
    output_file: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    focus: Annotated[
        str | None, typer.Option(help="Export only the ego network of this entity.")
    ] = None,
    radius: Annotated[int, typer.Option(help=f"Hops around --focus (1 to {traversal.MAX_K}).")] = 1,
    negotiation: Annotated[
        Level | None, typer.Option("--network", help="Export the negotiation network instead.")
    ] = None,
    unrealised: Annotated[
        bool,
        typer.Option(
            "--unrealised", help="With --network: add planned, expected, cancelled meetings."
        ),
    ] = False,
    seen: GraphInput = NO_INPUT,
) -> None:
    """Write the (filtered) graph for Gephi, yEd, Cytoscape, Graphviz, D3 or RDF tools."""
    try:
        exporter = exports.get(fmt)
    except exports.ExportError as error:
        fail(str(error), 2)
    graph = seen.graph()
    if focus is not None:
        graph = _ops(traversal.ego_network, graph, _resolve(seen.kg, focus), radius=radius)
    if negotiation is not None:
        graph = _ops(
            traversal.negotiation_network, graph, level=negotiation.value, unrealised=unrealised
        )
    elif unrealised:
        fail("--unrealised applies to the negotiation network: add --network person or state", 2)
    try:
        data = exporter.write(graph, seen.kg)
    except exports.ExportError as error:
        fail(str(error))
    if output_file is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    if output_file.is_dir():
        fail(f"{output_file} is a folder; give a file name")
    if not output_file.parent.exists():
        fail(f"folder {output_file.parent} does not exist")
    try:
        write_atomic(output_file, data)
    except OSError as error:
        fail(f"cannot write {output_file}: {error.strerror or error}")
    typer.echo(
        f"wrote {output_file} ({exporter.description}, {graph.number_of_nodes()} nodes, "
        f"{graph.number_of_edges()} edges)",
        err=True,
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    for command in (neighbours, path, centrality, communities, network, export):
        app.command()(command)
