"""Says who: ``disputes``, ``perspectives`` and the ``--perspective`` option of ``query``,
``path``, ``network`` and ``export``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from karabakh_kg.graph import KnowledgeGraph, disputes, shorten
from karabakh_kg.server.cli.errors import fail
from karabakh_kg.server.cli.output import TableOrJson

PerspectiveOption = Annotated[
    str | None,
    typer.Option(
        "--perspective",
        "-P",
        help="all (default), article (the article's own statements) or a claimant "
        "(CURIE, IRI or label): what reasoning derives from those statements alone.",
    ),
]
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder of curated TriG files (default: the installed data).",
        file_okay=False,
    ),
]


def in_perspective(kg: KnowledgeGraph, perspective: str | None) -> KnowledgeGraph:
    """``kg`` seen from ``perspective`` (``kg`` itself for ``all``), or a one-line exit."""
    if perspective is None:
        return kg
    from karabakh_kg.graph import perspectives as views  # the reasoner: only when asked

    try:
        return views.view(kg, views.resolve(kg, perspective))
    except views.UnknownPerspective as error:
        fail(str(error))


def _load(data_dir: Path | None) -> KnowledgeGraph:
    from karabakh_kg.server.cli.data import load_graph

    return load_graph(data_dir)


def disputes_command(
    output: Annotated[TableOrJson, typer.Option("--format", help="table or json.")] = (
        TableOrJson.table
    ),
    data_dir: DataDir = None,
) -> None:
    """List the disputes: competing claims, each with its claimant, line and quote."""
    found = disputes(_load(data_dir))
    if output is TableOrJson.json:
        typer.echo(json.dumps([d.to_dict() for d in found], indent=2, ensure_ascii=False))
        return
    from karabakh_kg.server.cli.data import render_table

    rows: list[list[str]] = []
    for d in found:
        first = True
        for p in d.positions:
            who = ", ".join(shorten(i) for i, _ in p.claimants) or "-"
            for q in p.quotes or [None]:
                rows.append(
                    [
                        shorten(d.iri) if first else "",
                        ", ".join(label for _, label in d.kinds) if first else "",
                        who,
                        p.quantity or "",
                        str(q.line) if q is not None and q.line else "",
                        q.text if q is not None and q.text else p.label,
                    ]
                )
                first = False
    typer.echo(render_table(["dispute", "kind", "claimant", "figure", "line", "quote"], rows))


def perspectives_command(
    output: Annotated[TableOrJson, typer.Option("--format", help="table or json.")] = (
        TableOrJson.table
    ),
    data_dir: DataDir = None,
) -> None:
    """List the perspectives ``--perspective`` and ``perspective=`` accept."""
    from karabakh_kg.graph import perspectives as views

    kg = _load(data_dir)
    listed = views.perspectives(kg).listed()
    if output is TableOrJson.json:
        typer.echo(json.dumps([p.to_dict() for p in listed], indent=2, ensure_ascii=False))
        return
    from karabakh_kg.server.cli.data import render_table

    typer.echo(render_table(["perspective", "label"], [[p.name, p.label] for p in listed]))


def register(app: typer.Typer) -> None:
    """Add ``disputes`` and ``perspectives`` to ``app``."""
    app.command("disputes")(disputes_command)
    app.command("perspectives")(perspectives_command)
