"""The ``karabakh-kg`` command line: one typer app, commands registered per feature."""

from __future__ import annotations

from typing import Annotated

import typer

from karabakh_kg.server.cli import analyst as cli_analyst
from karabakh_kg.server.cli import data as cli_data
from karabakh_kg.server.cli import disputes as cli_disputes
from karabakh_kg.server.cli import graph as cli_graph
from karabakh_kg.server.cli import link as cli_link
from karabakh_kg.server.cli import reasoning as cli_reasoning
from karabakh_kg.server.cli import serve as cli_serve
from karabakh_kg.server.cli import store as cli_store

app = typer.Typer(
    name="karabakh-kg",
    help="A knowledge graph of the 2020 Nagorno-Karabakh war, with a SPARQL endpoint.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _installed_version() -> str:
    from importlib.metadata import version as installed_version

    return installed_version("karabakh-kg")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"karabakh-kg {_installed_version()}")
        raise typer.Exit()


@app.callback()
def root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the installed version and exit.",
        ),
    ] = False,
) -> None:
    """A knowledge graph of the 2020 Nagorno-Karabakh war, with a SPARQL endpoint."""


@app.command()
def version() -> None:
    """Print the installed version of karabakh-kg."""
    typer.echo(_installed_version())


for module in (
    cli_data,
    cli_reasoning,
    cli_serve,
    cli_store,
    cli_graph,
    cli_link,
    cli_analyst,
    cli_disputes,
):
    module.register(app)


def main() -> None:
    """Entry point of the console script."""
    app()


if __name__ == "__main__":
    main()
