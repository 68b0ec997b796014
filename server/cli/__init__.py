"""The ``karabakh-kg`` command line: one typer app, commands registered per feature."""

from __future__ import annotations

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


@app.callback()
def root() -> None:
    """A knowledge graph of the 2020 Nagorno-Karabakh war, with a SPARQL endpoint."""


@app.command()
def version() -> None:
    """Print the installed version of karabakh-kg."""
    from importlib.metadata import version as installed_version

    typer.echo(installed_version("karabakh-kg"))


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
