"""The root typer app of ``karabakh-kg``: its options, and the commands of every feature
module added when first looked up (:class:`LazyCommands`).

Kept apart from :mod:`karabakh_kg.server.cli` so that the console script's entry point
imports typer only when it builds this app (``query``'s and ``serve``'s usual forms run
without it: :func:`karabakh_kg.server.cli.query.fast_path`,
:func:`karabakh_kg.server.cli.serve.fast_path`).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from karabakh_kg.server.cli import COMMANDS, MODULES
from karabakh_kg.server.cli.errors import one_line_usage_errors


class LazyCommands(TyperGroup):
    """The root group: a feature's commands are added when first looked up."""

    def _add_module(self, name: str, only: str | None = None) -> None:
        """Add the commands of module ``name`` (``only``: just that one, as typer reads the
        signature of each command it builds, a few milliseconds each)."""
        module: Any = importlib.import_module(f"{__package__}.{name}")
        features = typer.Typer(add_completion=False)
        module.register(features)
        if only is not None:
            features.registered_commands = [
                info
                for info in features.registered_commands
                if (
                    info.name or typer.main.get_command_name(getattr(info.callback, "__name__", ""))
                )
                == only
            ]
            features.registered_groups = [
                info for info in features.registered_groups if info.name == only
            ]
        for command_name, command in typer.main.get_group(features).commands.items():
            self.commands.setdefault(command_name, command)

    def _add_all(self) -> None:
        for name in MODULES:
            self._add_module(name)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands:
            module = COMMANDS.get(cmd_name)
            self._add_module(module, cmd_name) if module else self._add_all()
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: Any) -> list[str]:
        self._add_all()
        return super().list_commands(ctx)

    # Usage errors: the root's options are read in make_context, every command's (and its
    # group's) within invoke.
    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with one_line_usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with one_line_usage_errors():
            return super().invoke(ctx)


app = typer.Typer(
    name="karabakh-kg",
    help="A knowledge graph of the 2020 Nagorno-Karabakh war, with a SPARQL endpoint.",
    cls=LazyCommands,
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
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            metavar="DIR",
            help="Cache folder: the reasoned store per data version, Wikidata answers "
            "(also KARABAKH_KG_CACHE_DIR; default: the user cache folder).",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache",
            help="Reason at every start instead of reading the reasoned store from the "
            "cache, and keep nothing there (also KARABAKH_KG_REASONING_CACHE=off).",
        ),
    ] = False,
) -> None:
    """A knowledge graph of the 2020 Nagorno-Karabakh war, with a SPARQL endpoint."""
    # Environment variables, so the server's settings and its workers see them too.
    if cache_dir is not None:
        os.environ["KARABAKH_KG_CACHE_DIR"] = str(cache_dir)
    if no_cache:
        os.environ["KARABAKH_KG_REASONING_CACHE"] = "off"


@app.command()
def version() -> None:
    """Print the installed version of karabakh-kg."""
    typer.echo(_installed_version())
