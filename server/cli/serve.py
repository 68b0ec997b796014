"""``karabakh-kg serve``: the web server (SPARQL endpoint, resource pages, query UI).

Options set the same fields as the ``KARABAKH_KG_*`` environment variables of
:mod:`karabakh_kg.server.settings`; an option wins over the variable. Numbers are read
here rather than by typer so that a bad value is one ``error:`` line, like every command.
"""

from __future__ import annotations

import errno
import importlib
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from karabakh_kg.server.cli.errors import fail, unreadable_files
from karabakh_kg.server.cli.rdf_files import NoRulesOption, OntologyOption, data_app

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI

    from karabakh_kg.graph import KnowledgeGraph
    from karabakh_kg.server.deferred import FirstAnswers
    from karabakh_kg.server.settings import Settings
    from karabakh_kg.server.sparql.execute import Endpoint

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def parse_port(text: str) -> int:
    """A TCP port number, or a one-line error."""
    try:
        port = int(text)
    except ValueError:
        fail(f"--port must be a whole number between 1 and 65535, not {text!r}")
    if not 1 <= port <= 65535:
        fail(f"--port must be between 1 and 65535, not {port}")
    return port


def parse_positive(option: str, text: str | None, kind: type = float) -> Any:
    """A positive number (``float`` or ``int``) given as text, or None when not given."""
    if text is None:
        return None
    try:
        value = kind(text)
    except ValueError:
        fail(f"{option} must be a positive number, not {text!r}")
    if value <= 0:
        fail(f"{option} must be positive, not {text}")
    return value


def check_listen(host: str, port: int) -> None:
    """Fail with one line when ``host:port`` cannot be listened on (busy, unknown host)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        fail(f"cannot listen on {host}:{port}: unknown host ({error.strerror})")
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as error:
            reason = "address already in use" if error.errno == errno.EADDRINUSE else error
            fail(f"cannot listen on {host}:{port}: {reason}")


def settings_overrides(
    *,
    timeout: str | None,
    max_rows: str | None,
    workers: str | None,
    cors_origins: list[str] | None,
    service_allowlist: list[str] | None,
    enable_update: bool | None,
    wikidata: Path | None = None,
    store: Path | None = None,
    ephemeral_updates: bool | None = None,
    backend: str | None = None,
    backend_gsp_url: str | None = None,
    backend_user: str | None = None,
    backend_auth: str | None = None,
) -> dict[str, Any]:
    """The settings the options set (only those given)."""
    overrides: dict[str, Any] = {
        "query_timeout": parse_positive("--timeout", timeout),
        "max_rows": parse_positive("--max-rows", max_rows, int),
        "query_workers": parse_positive("--workers", workers, int),
        "cors_origins": tuple(cors_origins) if cors_origins else None,
        "service_allowlist": tuple(service_allowlist) if service_allowlist else None,
        "enable_updates": enable_update,
        "wikidata_file": str(wikidata) if wikidata is not None else None,
        "store_dir": str(store) if store is not None else None,
        "ephemeral_updates": ephemeral_updates or None,
        "backend_url": backend,
        "backend_gsp_url": backend_gsp_url,
        "backend_user": backend_user,
        "backend_auth": backend_auth,
    }
    return {key: value for key, value in overrides.items() if value is not None}


def apply_settings(overrides: dict[str, Any]) -> Settings:
    """The settings from the environment with the options' ``overrides``, checked."""
    from karabakh_kg.server.settings import PREFIX, Settings, SettingsError

    if "query_timeout" in overrides:
        # A default timeout above the per-request ceiling raises the ceiling with it.
        try:
            ceiling = float(os.environ.get(PREFIX + "MAX_QUERY_TIMEOUT") or "nan")
        except ValueError:
            ceiling = float("nan")
        if ceiling != ceiling:  # not set (or unreadable: from_env reports it)
            ceiling = float(getattr(Settings, "max_query_timeout", 0.0))
        if overrides["query_timeout"] > ceiling:
            overrides = {**overrides, "max_query_timeout": overrides["query_timeout"]}
    try:
        settings = Settings.from_env(**overrides)
    except SettingsError as error:
        fail(str(error))
    except TypeError as error:  # an override the settings do not know
        fail(f"unsupported setting: {error}")
    return settings


def storage_mode(settings: Settings) -> str:
    """How the server keeps its data, for the banner (and updates that cannot be kept)."""
    if settings.backend_url:
        return f"queries answered by {settings.backend_url}, read-only"
    if settings.store_dir:
        return f"durable store {settings.store_dir}"
    if settings.enable_updates and settings.ephemeral_updates:
        return "in memory: updates are LOST when the server stops (--ephemeral-updates)"
    return "in memory, read-only"


def backend_app(settings: Settings) -> object:
    """The app over an engine that holds the published graphs (``--backend URL``)."""
    from karabakh_kg.graph import RemoteStore, StoreError
    from karabakh_kg.graph import probe_store as probe
    from karabakh_kg.server.app import create_app
    from karabakh_kg.server.sparql.backend import BackendStore, published_copy

    try:
        engine = RemoteStore(
            settings.backend_url,
            gsp_url=settings.backend_gsp_url or None,
            user=settings.backend_user or None,
            password=settings.backend_password or None,
            auth=settings.backend_auth,
        )
        # At once: the copy, if any, is read once the server answers (PublishedCopy).
        kg = published_copy(engine, settings.backend_copy_max_triples, wait=False)
        gaps = probe(engine, write=False)
    except StoreError as error:
        fail(str(error))
    for feature, problem in gaps.items():
        typer.echo(f"warning: {settings.backend_url} lacks {feature}: {problem}", err=True)
    return create_app(kg, settings=settings, store=BackendStore(engine))


def build_app(
    data_dir: Path | None,
    settings: Settings,
    *,
    start_workers: bool = False,
    first_answers: bool = False,
) -> object:
    """Load the graph (with the settings' Wikidata enrichment file) and build the app
    (``start_workers``, ``first_answers``: see :func:`app_over`)."""
    if settings.backend_url:
        return backend_app(settings)
    if data_dir is not None and not data_dir.is_dir():
        fail(f"data folder {data_dir} does not exist")
    return app_over(
        lambda: load_curated(data_dir, settings),
        settings,
        start_workers=start_workers,
        first_answers=first_answers,
    )


def load_curated(data_dir: Path | None, settings: Settings) -> KnowledgeGraph:
    """The curated graph as the settings serve it: a durable store (``--store``), the
    cache's on-disk copy opened read-only (a read-only server), or in memory from the cache
    (with updates, or the settings' Wikidata enrichment file)."""
    from karabakh_kg.graph import DataError
    from karabakh_kg.graph import load_graph as load_knowledge_graph
    from karabakh_kg.server.cli.data import load_graph

    wikidata = Path(settings.wikidata_file) if settings.wikidata_file else None
    if settings.store_dir:
        from karabakh_kg.graph import StoreError, open_dataset

        try:
            return open_dataset(Path(settings.store_dir), data_dir, wikidata=wikidata)[0]
        except StoreError as error:
            fail(str(error))
        except DataError as error:
            fail(f"{error} (run 'karabakh-kg validate' for details)")
    if wikidata is None:
        # A read-only server reads the cache's on-disk copy of the store, as ``query`` does,
        # instead of parsing the whole store into memory (0.2 s of CPU, 24 MiB for the
        # curated graph, which the query workers hold anyway).
        return load_graph(data_dir, read_only=not settings.enable_updates)
    try:
        with unreadable_files():
            return load_knowledge_graph(data_dir, wikidata=wikidata, cache=True)
    except DataError as error:
        fail(f"{error} (the Wikidata file comes from 'karabakh-kg link enrich')")


def app_over(
    load: Callable[[], KnowledgeGraph],
    settings: Settings,
    *,
    start_workers: bool = False,
    first_answers: bool = False,
) -> FastAPI | FirstAnswers:
    """The app over the graph ``load()`` gives.

    The graph is loaded on another thread while this one imports FastAPI and the SPARQL
    routes (the others are imported once the server runs: :mod:`karabakh_kg.server.deferred`):
    pyoxigraph parses without holding the interpreter, so on two cores both proceed at once.
    ``first_answers`` (``serve``): the SPARQL routes alone, without FastAPI, which the app
    returned (:class:`~karabakh_kg.server.deferred.FirstAnswers`) imports once it has
    answered (unless the environment sets up OpenTelemetry, whose spans FastAPI makes).
    ``start_workers`` (``serve``): that thread then starts the query workers, whose process
    loads its copy of the data while the app is built; otherwise they start with the app's
    lifespan, as for any app. The thread blocks SIGINT, so Ctrl-C reaches this thread (as it
    would without the other), and the workers' process, started from it, does not take a
    Ctrl-C meant for the server before it ignores it.
    """
    done: list[Endpoint] = []
    failed: list[BaseException] = []

    def endpoint() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            # Imported here, not before the thread starts: the workers start sooner.
            from karabakh_kg.server.sparql.execute import Endpoint

            made = Endpoint(load(), settings)
            if start_workers:
                made.store()
            done.append(made)
        except BaseException as error:  # a one-line exit too: raised again below
            failed.append(error)

    # A daemon: an interrupted start does not wait for the loading to end.
    loading = threading.Thread(target=endpoint, name="karabakh-kg-load", daemon=True)
    loading.start()
    from karabakh_kg.server import app as application
    from karabakh_kg.server.deferred import telemetry_requested

    first_answers = first_answers and not telemetry_requested()
    if first_answers:
        importlib.import_module("karabakh_kg.server.sparql.routes")  # FastAPI not imported
    else:
        application.routers(application.FIRST_ROUTE_MODULES)
    loading.join()
    if failed:
        raise failed[0]
    if first_answers:
        return application.first_answers(done[0], settings)
    return application.create_app(done[0].kg, settings=settings, endpoint=done[0])


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
    number = parse_port(port)
    if log_level.lower() not in LOG_LEVELS:
        fail(f"--log-level must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}")
    if data_dir is not None and not data_dir.is_dir():
        fail(f"data folder {data_dir} does not exist")
    overrides = settings_overrides(
        timeout=timeout,
        max_rows=max_rows,
        workers=workers,
        cors_origins=cors_origin,
        service_allowlist=service_allow,
        enable_update=enable_update,
        wikidata=wikidata,
        store=store,
        ephemeral_updates=ephemeral_updates,
        backend=backend,
        backend_gsp_url=backend_gsp_url,
        backend_user=backend_user,
        backend_auth=backend_auth,
    )
    settings = apply_settings(overrides)
    if settings.enable_updates and not (settings.store_dir or settings.ephemeral_updates):
        fail(
            "updates need a durable store (--store DIR); to accept updates that are lost "
            "when the server stops, add --ephemeral-updates"
        )
    if data:
        check_data_options(data_dir, settings)
    elif ontology or no_rules or no_reason:
        fail("--ontology, --no-rules and --no-reason apply to --data files")
    check_listen(host, number)
    started = time.monotonic()
    app: object
    if data:
        app, served = data_app(
            data,
            ontology,
            reason=not no_reason,
            rules=not no_rules,
            settings=settings,
            start_workers=True,
            first_answers=True,
        )
    else:
        app = build_app(data_dir, settings, start_workers=True, first_answers=True)
        served = "the curated graph"
    url = f"http://{_url_host(host)}:{number}/"
    import uvicorn

    from karabakh_kg.server.sparql.limits import uvicorn_options

    servers: list[uvicorn.Server] = []
    interrupted: list[int] = []

    def stop_soon(signum: int, frame: object) -> None:
        """Ctrl-C once the banner says it stops the server, before uvicorn takes the signal
        over (or given back by uvicorn after its shutdown): the server stops, instead of a
        KeyboardInterrupt in whatever runs then (uvicorn configuring its logging, for one,
        which then fails on a lock half taken: a traceback)."""
        interrupted.append(signum)
        for server in servers:
            server.should_exit = True

    previous = signal.signal(signal.SIGINT, stop_soon)
    try:
        typer.echo(
            f"karabakh-kg serving {url} (query UI {url}query, SPARQL {url}sparql): {served}, "
            f"loaded in {time.monotonic() - started:.1f} s; {storage_mode(settings)}; "
            "Ctrl-C stops"
        )
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            host=host,
            port=number,
            log_level=log_level.lower(),
            **uvicorn_options(settings),  # header, body and keep-alive time limits
        )
        servers.append(uvicorn.Server(config))
        if not interrupted:
            servers[0].run()
    finally:
        signal.signal(signal.SIGINT, previous)
    if not interrupted and not servers[0].started:
        raise typer.Exit(3)  # as uvicorn.run: the server could not start


def check_data_options(data_dir: Path | None, settings: Settings) -> None:
    """Fail with one line for options that ``--data`` cannot be served with."""
    given = [
        name
        for name, value in (
            ("--data-dir", data_dir),
            ("--store", settings.store_dir),
            ("--backend", settings.backend_url),
            ("--wikidata", settings.wikidata_file),
            ("--enable-update", settings.enable_updates),
        )
        if value
    ]
    if given:
        fail(f"--data serves the given files read-only, in memory; drop {', '.join(given)}")


def _url_host(host: str) -> str:
    if host in {"0.0.0.0", "::", ""}:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to ``app``."""
    app.command("serve")(serve)
