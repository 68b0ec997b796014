"""Storage commands: ``export-updates`` (what users wrote, for review)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from karabakh_kg.server.cli.errors import fail


def export_updates(
    store: Annotated[
        Path,
        typer.Option(
            "--store",
            metavar="DIR",
            help="The durable store of 'karabakh-kg serve --store DIR' (stop the server first).",
            file_okay=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write here instead of stdout."),
    ] = None,
) -> None:
    """Write every contributor's graph and the log of accepted updates as TriG."""
    from karabakh_kg.graph.store import StoreError
    from karabakh_kg.graph.store.contributions import export_updates as export
    from karabakh_kg.graph.store.durable import RDF_FOLDER, open_store_folder

    if not (store / RDF_FOLDER).is_dir():
        fail(f"{store} is not a karabakh-kg store (made by 'karabakh-kg serve --store DIR')")
    try:
        body = export(open_store_folder(store))
    except StoreError as error:
        fail(str(error))
    if output is None:
        sys.stdout.buffer.write(body)
        return
    try:
        output.write_bytes(body)
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror or error}")


def register(app: typer.Typer) -> None:
    """Add the storage commands to ``app``."""
    app.command("export-updates")(export_updates)
