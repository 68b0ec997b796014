"""Reading users' own RDF files for ``reason FILE...`` and ``serve --data FILE``, with the
command line's one-line errors (see :mod:`karabakh_kg.graph.rdf_files` for the layout).

The graph layer is imported inside the functions: ``serve`` imports this module for its
options, and a command pays for pyoxigraph only when it reads data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from karabakh_kg.server.cli.errors import fail, unreadable_files

if TYPE_CHECKING:
    from karabakh_kg.graph import KnowledgeGraph, closure
    from karabakh_kg.server.settings import Settings

T = TypeVar("T")

OntologyOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--ontology",
        metavar="FILE",
        help="Ontology to reason with, instead of the project's (repeatable). To reason "
        "with the project's ontology and yours, give yours as one more data file.",
        show_default=False,
    ),
]
NoRulesOption = Annotated[
    bool,
    typer.Option("--no-rules", help="OWL 2 RL only: leave out the project's domain rules."),
]


def load_data_files(
    data: Sequence[Path],
    ontologies: Sequence[Path] | None,
    *,
    rules: bool,
    keep_graphs: bool = True,
) -> KnowledgeGraph:
    """The knowledge graph of ``data`` with ``ontologies`` (default: ours), or a one-line
    exit naming the file that cannot be read or parsed."""
    from karabakh_kg.graph import rdf_files

    return _or_fail(
        lambda: rdf_files.load_files(
            data, ontologies=ontologies, rules=rules, keep_graphs=keep_graphs
        )
    )


def read_data_files(data: Sequence[Path], ontologies: Sequence[Path] | None) -> closure.Encoded:
    """``data`` and ``ontologies`` read straight into the reasoner's encoding, without a
    store (``reasoning.closure.read``), or the one-line exit of :func:`load_data_files`."""
    from karabakh_kg.graph import closure

    return _or_fail(lambda: closure.read(data, ontologies))


def _or_fail(read: Callable[[], T]) -> T:
    from karabakh_kg.graph import DataError

    try:
        with unreadable_files():
            found = read()
    except DataError as error:
        fail(str(error))
    return found


def describe_ontology(ontologies: Sequence[Path] | None, *, rules: bool) -> str:
    """What the data is reasoned with, for reports and the server's banner."""
    named = ", ".join(str(p) for p in ontologies) if ontologies else "the project ontology"
    return f"OWL 2 RL with {named}" + (" and the project's domain rules" if rules else "")


def data_app(
    data: Sequence[Path],
    ontologies: Sequence[Path] | None,
    *,
    reason: bool,
    rules: bool,
    settings: Settings,
    start_workers: bool = False,
    first_answers: bool = False,
) -> tuple[object, str]:
    """The app serving ``data`` (``serve --data``), reasoned unless not ``reason``, and what
    it serves, for the banner (``start_workers``, ``first_answers``: see ``serve.app_over``)."""
    from karabakh_kg.graph import ASSERTED, RuleError, rdf_files, reasoning
    from karabakh_kg.server.cli.serve import app_over

    served = ""

    def load() -> KnowledgeGraph:
        nonlocal served
        kg = load_data_files(data, ontologies, rules=reason and rules)
        triples = rdf_files.graph_size(kg.store, ASSERTED)
        files = f"{len(data)} data file{'s' if len(data) != 1 else ''} ({triples} triples"
        if not reason:
            served = f"{files}, not reasoned)"
            return kg
        try:
            report = reasoning.materialize(kg)
        except RuleError as error:
            fail(f"bad domain rule: {error}")
        how = describe_ontology(ontologies, rules=rules)
        served = f"{files}, {report.derived} inferred by {how})"
        return kg

    app = app_over(load, settings, start_workers=start_workers, first_answers=first_answers)
    app.state.served = served  # the home page says it too
    return app, served
