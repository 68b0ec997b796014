"""Shared fixtures: the loaded knowledge graph, a real HTTP server, a real browser."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from karabakh_kg.graph.dataset import KnowledgeGraph
from karabakh_kg.graph.loading import load_graph

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The commands the tests run keep their cache (the reasoned store) in a folder of this
    session, not in the user's cache folder."""
    import os

    before = os.environ.get("KARABAKH_KG_CACHE_DIR")
    os.environ["KARABAKH_KG_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        os.environ.pop("KARABAKH_KG_CACHE_DIR", None)
    else:
        os.environ["KARABAKH_KG_CACHE_DIR"] = before


@pytest.fixture(autouse=True)
def restored_environment() -> Iterator[None]:
    """Each test ends with the environment it started with: the CLI's root options
    (``--no-cache``, ``--cache-dir``) set variables for the rest of the process, and a test
    that runs the CLI in this process would otherwise change what later tests in the same
    worker read (monkeypatch restores only what it set itself)."""
    import os

    before = dict(os.environ)
    yield
    if os.environ != before:
        os.environ.clear()
        os.environ.update(before)


@pytest.fixture(scope="session")
def kg() -> KnowledgeGraph:
    """The curated graph, reasoned, loaded once per test session (treat as read-only)."""
    return load_graph()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """A uvicorn server running the application in a background thread."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread


def start_server(app: object) -> LiveServer:
    """``app`` served as ``karabakh-kg serve`` serves it: the same HTTP protocol (its head
    limit and header timer) and keep-alive limit (``uvicorn_options``), on a free port."""
    from karabakh_kg.server.sparql.limits import uvicorn_options

    port = free_port()
    options = uvicorn_options(app.state.settings)  # type: ignore[attr-defined]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.started:
            try:
                httpx.get(url + "/health", timeout=2)
                break
            except httpx.HTTPError:
                pass
        time.sleep(0.05)
    else:
        raise RuntimeError("the test server did not start")
    return LiveServer(url=url, server=server, thread=thread)


def stop_server(live: LiveServer) -> None:
    live.server.should_exit = True
    live.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(kg: KnowledgeGraph) -> Iterator[LiveServer]:
    """The application with the curated graph, served over real HTTP on a free port."""
    from karabakh_kg.server.app import create_app

    live = start_server(create_app(kg))
    yield live
    stop_server(live)


@pytest.fixture(scope="module")
def server_factory() -> Iterator[Callable[..., LiveServer]]:
    """Start extra servers (``factory(kg, settings)``), stopped at the end of the module."""
    from karabakh_kg.server.app import create_app

    started: list[LiveServer] = []

    def factory(graph: KnowledgeGraph, settings: object = None) -> LiveServer:
        live = start_server(create_app(graph, settings))  # type: ignore[arg-type]
        started.append(live)
        return live

    yield factory
    for live in started:
        stop_server(live)


@pytest.fixture(scope="session")
def oxigraph_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real Oxigraph server (PyPI ``oxigraph``) on a free port, once per session."""
    from engines import oxigraph_server

    with oxigraph_server(tmp_path_factory.mktemp("oxigraph")) as engine:
        yield engine


@pytest.fixture(scope="session")
def virtuoso_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real Virtuoso (Debian ``virtuoso-t``) with its own ports, database folder and
    credentials (digest auth), once per session."""
    import secrets

    from engines import virtuoso_server

    with virtuoso_server(tmp_path_factory.mktemp("virtuoso"), secrets.token_hex(8)) as engine:
        yield engine


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()
