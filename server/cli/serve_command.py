"""The ``serve`` command as typer declares it (its options and their help); the work is
:func:`karabakh_kg.server.cli.serve.run`, which imports no typer, so that the console script
can start the server on its usual command lines without building the typer app
(:func:`karabakh_kg.server.cli.serve.fast_path`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from karabakh_kg.server.cli.rdf_files import NoRulesOption, OntologyOption
from karabakh_kg.server.cli.serve import LOG_LEVELS, run


def serve(
    host: Annotated[
        str, typer.Option("--host", metavar="HOST", help="Interface to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        str, typer.Option("--port", metavar="PORT", help="TCP port (1-65535).")
    ] = "8000",
    timeout: Annotated[
        str | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="Default query timeout in seconds.",
            show_default=False,
        ),
    ] = None,
    max_rows: Annotated[
        str | None, typer.Option("--max-rows", metavar="N", help="Most rows a query may return.")
    ] = None,
    workers: Annotated[
        str | None, typer.Option("--workers", metavar="N", help="Queries evaluated at once.")
    ] = None,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--cors-origin",
            metavar="ORIGIN",
            help="Origin allowed by CORS (repeatable; '*' for any).",
        ),
    ] = None,
    service_allow: Annotated[
        list[str] | None,
        typer.Option(
            "--service-allow",
            metavar="ENDPOINT",
            help="SPARQL endpoint a SERVICE clause may call (repeatable; a trailing * "
            "allows a prefix). None by default.",
        ),
    ] = None,
    enable_update: Annotated[
        bool | None,
        typer.Option(
            "--enable-update/--disable-update",
            help="Serve SPARQL Update and Graph Store writes; needs "
            "KARABAKH_KG_UPDATE_TOKEN in the environment.",
            show_default=False,
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Folder of curated TriG files (default: installed)."),
    ] = None,
    data: Annotated[
        list[Path] | None,
        typer.Option(
            "--data",
            metavar="FILE",
            help="Serve this RDF file instead of the curated graph (repeatable; .ttl, .trig, "
            ".nt, .nq, .rdf, .jsonld, each may end in .gz): every triple asserted, reasoned "
            "with OWL 2 RL and the domain rules.",
            show_default=False,
        ),
    ] = None,
    ontology: OntologyOption = None,
    no_rules: NoRulesOption = False,
    no_reason: Annotated[
        bool, typer.Option("--no-reason", help="Serve the --data files as they are, unreasoned.")
    ] = False,
    wikidata: Annotated[
        Path | None,
        typer.Option(
            "--wikidata",
            metavar="FILE",
            help="Wikidata enrichment file ('karabakh-kg link enrich') to serve in the "
            "graph/wikidata named graph (also KARABAKH_KG_WIKIDATA_FILE).",
            show_default=False,
        ),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            metavar="DIR",
            help="Keep the dataset and accepted updates in an on-disk store in DIR (created "
            "on first start; also KARABAKH_KG_STORE_DIR). Default: in memory.",
            show_default=False,
            file_okay=False,
        ),
    ] = None,
    ephemeral_updates: Annotated[
        bool,
        typer.Option(
            "--ephemeral-updates",
            help="Accept updates without --store, knowing they are lost when the server "
            "stops (also KARABAKH_KG_EPHEMERAL_UPDATES).",
        ),
    ] = False,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            metavar="URL",
            help="Answer queries from this SPARQL engine, which holds what 'karabakh-kg "
            "publish' wrote (also KARABAKH_KG_BACKEND_URL; the password, if any, in "
            "KARABAKH_KG_BACKEND_PASSWORD).",
            show_default=False,
        ),
    ] = None,
    backend_gsp_url: Annotated[
        str | None,
        typer.Option("--backend-gsp-url", metavar="URL", help="The engine's Graph Store URL."),
    ] = None,
    backend_user: Annotated[
        str | None, typer.Option("--backend-user", metavar="NAME", help="User for the engine.")
    ] = None,
    backend_auth: Annotated[
        str | None,
        typer.Option("--backend-auth", metavar="KIND", help="basic (default) or digest."),
    ] = None,
    log_level: Annotated[
        str,
        typer.Option("--log-level", metavar="LEVEL", help="One of: " + ", ".join(LOG_LEVELS) + "."),
    ] = "info",
) -> None:
    """Serve the SPARQL endpoint, the resource pages and the query UI over HTTP."""
    run(
        host=host,
        port=port,
        timeout=timeout,
        max_rows=max_rows,
        workers=workers,
        cors_origin=cors_origin,
        service_allow=service_allow,
        enable_update=enable_update,
        data_dir=data_dir,
        data=data,
        ontology=ontology,
        no_rules=no_rules,
        no_reason=no_reason,
        wikidata=wikidata,
        store=store,
        ephemeral_updates=ephemeral_updates,
        backend=backend,
        backend_gsp_url=backend_gsp_url,
        backend_user=backend_user,
        backend_auth=backend_auth,
        log_level=log_level,
    )


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to ``app``."""
    app.command("serve")(serve)
