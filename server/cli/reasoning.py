"""Reasoning commands: ``reason`` (what is derived) and ``explain`` (why a triple holds)."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from karabakh_kg.graph import (
    DataError,
    KnowledgeGraph,
    RuleError,
    Term,
    check_consistency,
    explain,
    load_graph,
    reasoning,
    shorten,
)
from karabakh_kg.ontology import vocab
from karabakh_kg.server import terms
from karabakh_kg.server.cli.errors import fail


class Format(StrEnum):
    """Output formats."""

    text = "text"
    json = "json"


DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder of curated TriG files (default: the installed data).",
        file_okay=False,
    ),
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="text or json.")]


def _load(data_dir: Path | None) -> KnowledgeGraph:
    if data_dir is not None and not data_dir.is_dir():
        fail(f"data folder {data_dir} does not exist")
    try:
        return load_graph(data_dir, reason=False)
    except DataError as error:
        fail(str(error))
    except FileNotFoundError as error:
        fail(f"missing file: {error.filename or error}")


def _materialize(kg: KnowledgeGraph) -> reasoning.ReasoningReport:
    try:
        return reasoning.materialize(kg)
    except RuleError as error:
        fail(f"bad domain rule in {vocab.rules_file().name}: {error}")


def resolve_term(kg: KnowledgeGraph, text: str, *, predicate: bool = False) -> Term:
    """The term a user typed (see :mod:`karabakh_kg.server.terms`), or a one-line exit."""
    try:
        return terms.resolve_term(kg, text, predicate=predicate)
    except terms.TermError as error:
        fail(str(error))


def register(app: typer.Typer) -> None:
    """Add ``reason`` and ``explain`` to ``app``."""

    @app.command()
    def reason(
        data_dir: DataDir = None,
        output: FormatOption = Format.text,
        consistency: Annotated[
            bool, typer.Option("--consistency/--no-consistency", help="Also check consistency.")
        ] = True,
    ) -> None:
        """Reason over the curated graph and print what was derived, per rule, and the time."""
        load_start = time.perf_counter()
        kg = _load(data_dir)
        loaded = time.perf_counter() - load_start
        report = _materialize(kg)
        problems = check_consistency(kg) if consistency else []
        if output == Format.json:
            data = report.to_dict()
            data["load_seconds"] = round(loaded, 4)
            data["inconsistencies"] = [p.to_dict() for p in problems]
            typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            typer.echo(
                f"{report.derived} inferred triples from {report.base} asserted and ontology "
                f"triples in {report.seconds:.3f} s (loading took {loaded:.3f} s)"
            )
            for rule, count in report.to_dict()["by_rule"].items():
                typer.echo(f"  {count:6d}  {rule}")
            if consistency:
                typer.echo(f"{len(problems)} inconsistencies")
                for p in problems:
                    typer.echo("  " + p.message)

    @app.command(name="explain")
    def explain_command(
        subject: Annotated[str, typer.Argument(help="IRI, CURIE (kg:...) or label.")],
        predicate: Annotated[str, typer.Argument(help="IRI, CURIE (kgo:...), label or 'a'.")],
        obj: Annotated[
            str, typer.Argument(metavar="OBJECT", help="IRI, CURIE, label or a quoted literal.")
        ],
        data_dir: DataDir = None,
        output: FormatOption = Format.text,
        every: Annotated[
            bool,
            typer.Option(
                "--all", help="List every one-step derivation, not only the recorded one."
            ),
        ] = False,
    ) -> None:
        """Explain why a triple holds: the rules and premises down to the seed's quotes."""
        kg = _load(data_dir)
        _materialize(kg)
        s = resolve_term(kg, subject)
        p = resolve_term(kg, predicate, predicate=True)
        o = resolve_term(kg, obj)
        result = explain(kg, s, p, o, all_derivations=every)
        if output == Format.json:
            typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        else:
            typer.echo(result.to_text())
        if not result.holds:
            fail(
                f"{shorten(str(s))} {shorten(str(p))} {shorten(str(o))} "
                "is neither asserted nor entailed"
            )
