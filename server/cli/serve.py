"""``karabakh-kg serve``: the web server (SPARQL endpoint, resource pages, query UI).

The command's work, importing no typer: its typer declaration is :mod:`.serve_command`, and
the console script runs the usual command lines here (:func:`fast_path`).

Options set the same fields as the ``KARABAKH_KG_*`` environment variables of
:mod:`karabakh_kg.server.settings`; an option wins over the variable. Numbers are read
here rather than by typer so that a bad value is one ``error:`` line, like every command.
"""

from __future__ import annotations

import errno
import importlib
import math
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from karabakh_kg.server.cli.errors import as_typer_would, echo, fail, unreadable_files

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI

    from karabakh_kg.graph import KnowledgeGraph
    from karabakh_kg.server.deferred import FirstAnswers
    from karabakh_kg.server.settings import Settings
    from karabakh_kg.server.sparql.execute import Endpoint

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


USAGE = 2
"""The exit status of an option's value refused, as typer's usage errors exit."""


def parse_port(text: str) -> int:
    """A TCP port number, or a one-line error."""
    try:
        port = int(text)
    except ValueError:
        fail(f"--port must be a whole number between 1 and 65535, not {text!r}", USAGE)
    if not 1 <= port <= 65535:
        fail(f"--port must be between 1 and 65535, not {port}", USAGE)
    return port


def parse_positive(option: str, text: str | None, kind: type = float) -> Any:
    """A positive number (``float`` or ``int``) given as text, or None when not given."""
    if text is None:
        return None
    try:
        value = kind(text)
    except ValueError:
        fail(f"{option} must be a positive number, not {text!r}", USAGE)
    if not math.isfinite(value):  # nan would pass every comparison, inf lift every limit
        fail(f"{option} must be a finite number, not {text}", USAGE)
    if value <= 0:
        fail(f"{option} must be positive, not {text}", USAGE)
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
        echo(f"warning: {settings.backend_url} lacks {feature}: {problem}", err=True)
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
    from karabakh_kg.server.cli.query import load_graph  # not .data: it imports typer

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


def run(
    *,
    host: str = "127.0.0.1",
    port: str = "8000",
    timeout: str | None = None,
    max_rows: str | None = None,
    workers: str | None = None,
    cors_origin: list[str] | None = None,
    service_allow: list[str] | None = None,
    enable_update: bool | None = None,
    data_dir: Path | None = None,
    data: list[Path] | None = None,
    ontology: list[Path] | None = None,
    no_rules: bool = False,
    no_reason: bool = False,
    wikidata: Path | None = None,
    store: Path | None = None,
    ephemeral_updates: bool = False,
    backend: str | None = None,
    backend_gsp_url: str | None = None,
    backend_user: str | None = None,
    backend_auth: str | None = None,
    log_level: str = "info",
) -> None:
    """Serve the SPARQL endpoint, the resource pages and the query UI over HTTP: the
    work of ``serve`` (:mod:`.serve_command`), with its options as typer gives them."""
    number = parse_port(port)
    if log_level.lower() not in LOG_LEVELS:
        fail(f"--log-level must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}", USAGE)
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
        from karabakh_kg.server.cli.rdf_files import data_app

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
        echo(
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
        import typer

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


USUAL_VALUES = {
    "--host": "host",
    "--port": "port",
    "--timeout": "timeout",
    "--max-rows": "max_rows",
    "--workers": "workers",
    "--log-level": "log_level",
    "--data-dir": "data_dir",
    "--store": "store",
}
"""The options of ``serve``'s usual command lines that take a value, and :func:`run`'s
parameter for each (given at most once each)."""
USUAL_LISTS = {"--cors-origin": "cors_origin", "--service-allow": "service_allow"}
"""The repeatable ones."""
USUAL_FLAGS = {
    "--enable-update": ("enable_update", True),
    "--disable-update": ("enable_update", False),
    "--ephemeral-updates": ("ephemeral_updates", True),
}
PATHS = {"data_dir", "store"}


def fast_path(arguments: list[str]) -> bool:
    """Run ``karabakh-kg ARGUMENTS`` here when they are one of ``serve``'s usual command
    lines (True: done, the server has stopped), else leave them to typer (False: nothing
    was done).

    Why: building the typer app and reading the command line with it took about 0.045 s
    of CPU before the loading thread could start (``import typer`` 0.035 s), and that
    thread starts the query workers, whose start is the longest path to the first answer
    (bench/README.md, Start-up). :func:`_usual_serve` reads only what it reads as typer
    does; every exception goes to typer's own handling (:func:`.errors.as_typer_would`)."""
    options = _usual_serve(arguments)
    if options is None or any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ):
        return False  # typer's own (or its shell completion's) to read
    try:
        run(**options)
    except (Exception, KeyboardInterrupt) as error:
        as_typer_would(error)
    return True


def _usual_serve(arguments: list[str]) -> dict[str, Any] | None:
    """:func:`run`'s keyword arguments for ``serve`` followed by options of
    :data:`USUAL_VALUES` (``--name VALUE`` or ``--name=VALUE``, each at most once, the value
    neither empty nor beginning with ``-``; a path that does not exist or is a readable
    folder), :data:`USUAL_LISTS` (repeatable) and :data:`USUAL_FLAGS` (at most one of each
    pair); None for any other command line (``--help``, another option, an argument, a
    path typer would refuse), which typer reads."""
    if not arguments or arguments[0] != "serve":
        return None
    options: dict[str, Any] = {}
    rest = list(arguments[1:])
    while rest:
        token = rest.pop(0)
        name, equals, value = token.partition("=")
        if token in USUAL_FLAGS:
            flag_key, flag = USUAL_FLAGS[token]
            if flag_key in options:
                return None
            options[flag_key] = flag
            continue
        key = USUAL_VALUES.get(name) or USUAL_LISTS.get(name)
        if key is None:
            return None
        if not equals:
            if not rest:
                return None
            value = rest.pop(0)
        if not value or value.startswith("-"):
            return None
        if name in USUAL_LISTS:
            options.setdefault(key, []).append(value)
            continue
        if key in options:
            return None
        if key in PATHS:
            if os.path.exists(value) and not (os.path.isdir(value) and os.access(value, os.R_OK)):
                return None
            options[key] = Path(value)
        else:
            options[key] = value
    return options
