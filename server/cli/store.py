"""Storage commands: ``export-updates`` (what users wrote, for review), ``publish`` and
``reason-in-engine``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

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
    from karabakh_kg.graph import RDF_FOLDER, StoreError, open_store_folder
    from karabakh_kg.graph import export_updates as export

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


EngineUrl = Annotated[
    str, typer.Option("--to", metavar="URL", help="SPARQL query endpoint of the engine.")
]
UpdateUrl = Annotated[
    str | None,
    typer.Option("--update-url", metavar="URL", help="SPARQL update endpoint (default: --to)."),
]
GspUrl = Annotated[
    str | None,
    typer.Option(
        "--gsp-url",
        metavar="URL",
        help="Graph Store Protocol endpoint (default: graphs are written with SPARQL updates).",
    ),
]
User = Annotated[
    str | None, typer.Option("--user", metavar="NAME", help="User name for the engine.")
]
Password = Annotated[
    str | None,
    typer.Option(
        "--password",
        metavar="SECRET",
        envvar="KARABAKH_KG_PUBLISH_PASSWORD",
        help="Password for --user (better: KARABAKH_KG_PUBLISH_PASSWORD, which other "
        "users cannot see in the process list).",
        show_default=False,
    ),
]
Auth = Annotated[
    str, typer.Option("--auth", metavar="KIND", help="HTTP authentication: basic or digest.")
]


def _engine(
    to: str,
    update_url: str | None,
    gsp_url: str | None,
    user: str | None,
    password: str | None,
    auth: str,
) -> Any:
    """The engine the options name (a ``RemoteStore``), or one line saying why not."""
    from karabakh_kg.graph import RemoteStore

    if auth not in {"basic", "digest"}:
        fail(f"--auth must be basic or digest, not {auth!r}")
    if password is not None and user is None:
        fail("--password (or KARABAKH_KG_PUBLISH_PASSWORD) needs --user")
    return RemoteStore(
        to, update_url=update_url, gsp_url=gsp_url, user=user, password=password, auth=auth
    )


def publish(
    to: EngineUrl,
    update_url: UpdateUrl = None,
    gsp_url: GspUrl = None,
    user: User = None,
    password: Password = None,
    auth: Auth = "basic",
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            metavar="DIR",
            help="Publish this durable store (with what contributors added) instead of the "
            "curated files.",
            file_okay=False,
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Folder of curated TriG files (default: installed)."),
    ] = None,
) -> None:
    """Write the evidence graphs, provenance, ontology and inferred graph into a SPARQL 1.1
    engine, graph by graph; publishing again changes only what changed."""
    from karabakh_kg.graph import DataError, StoreError
    from karabakh_kg.graph import publish as run
    from karabakh_kg.server.cli.data import load_graph

    try:
        target = _engine(to, update_url, gsp_url, user, password, auth)
        if store is not None:
            from karabakh_kg.graph import open_dataset

            kg, _ = open_dataset(store, data_dir)
        else:
            kg = load_graph(data_dir)
        report = run(kg, target)
    except StoreError as error:
        fail(str(error))
    except DataError as error:
        fail(f"{error} (run 'karabakh-kg validate' for details)")
    typer.echo(f"{to}: {report.to_text()}")


def reason_in_engine(
    to: EngineUrl,
    update_url: UpdateUrl = None,
    gsp_url: GspUrl = None,
    user: User = None,
    password: Password = None,
    auth: Auth = "basic",
) -> None:
    """Recompute the engine's inferred graph in the engine itself (OWL 2 RL and the domain
    rules as SPARQL updates, to a fixpoint), from its asserted and ontology graphs: for
    data too large to reason in one process. Its closure is the embedded reasoner's."""
    from karabakh_kg.graph import StoreError, materialize_in_engine

    try:
        report = materialize_in_engine(_engine(to, update_url, gsp_url, user, password, auth))
    except StoreError as error:
        fail(str(error))
    typer.echo(
        f"{to}: {report.inferred} inferred triples in {report.rounds} rounds, "
        f"{report.requests} requests, {report.seconds:.1f} s"
    )


def register(app: typer.Typer) -> None:
    """Add the storage commands to ``app``."""
    app.command("export-updates")(export_updates)
    app.command("publish")(publish)
    app.command("reason-in-engine")(reason_in_engine)
