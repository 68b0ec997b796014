"""The ASGI application: ``create_app()`` builds it around one loaded knowledge graph."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from karabakh_kg.graph import KnowledgeGraph, load_graph
from karabakh_kg.server import problems
from karabakh_kg.server.deferred import (
    DeferredRouters,
    FirstAnswers,
    RouterImportError,
    WaitForRouters,
    api_router,
)
from karabakh_kg.server.settings import Settings
from karabakh_kg.server.sparql import openapi as sparql_openapi
from karabakh_kg.server.sparql.execute import Endpoint
from karabakh_kg.server.sparql.limits import BodyReadTimeout, BodySizeLimit
from karabakh_kg.server.sparql.protocol import SparqlStore

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI
    from starlette.applications import Starlette

    from karabakh_kg.server.sparql.backend import PublishedCopy

DESCRIPTION = (
    "A knowledge graph of the 2020 Nagorno-Karabakh war, curated from one news article: "
    "a SPARQL 1.1 endpoint at /sparql, resource pages, graph traversal and exports."
)


def create_app(
    kg: KnowledgeGraph | None = None,
    settings: Settings | None = None,
    store: SparqlStore | None = None,
    endpoint: Endpoint | None = None,
) -> FastAPI:
    """Build the application; loads and reasons the curated graph when ``kg`` is not given
    (with the settings' Wikidata enrichment file, if any).

    ``settings`` default to the ``KARABAKH_KG_*`` environment variables; ``store`` answers
    SPARQL queries (default: query workers over ``kg``'s store). ``endpoint``: the SPARQL
    endpoint over this ``kg`` with these ``settings``, when the caller made it already (to
    start its workers while the application is built: ``serve``).
    """
    from fastapi import Depends, FastAPI

    from karabakh_kg.server.web.common import single_valued_parameters

    config = settings or Settings.from_env()
    if kg is None:
        wikidata = Path(config.wikidata_file) if config.wikidata_file else None
        kg = load_graph(wikidata=wikidata)
    graph = kg
    if config.enable_updates:
        # A reasoner deferred by the cache or a durable store is built before serving, so
        # the first update does not wait for it.
        graph.views.build_deferred()
    if endpoint is None:
        endpoint = Endpoint(graph, config, store)

    def replace_graph(copy: KnowledgeGraph) -> None:
        """A new publication on the engine: pages and the endpoint read it from now on."""
        app.state.kg = copy
        endpoint.kg = copy

    follower = _published_copy(store, graph, config, replace_graph)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        endpoint.store()  # start the query workers now, in the background
        later.start_later()  # the pages' routers: after the first answer (deferred.py)
        if follower is not None:
            follower.start()
        yield
        if follower is not None:
            follower.stop()
        endpoint.close()

    app = FastAPI(
        title="karabakh-kg",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from vendored copies by web/docs.py (works offline)
        redoc_url=None,
        dependencies=[Depends(single_valued_parameters)],  # on every route it includes
    )
    app.state.kg = graph
    app.state.settings = config
    app.state.sparql = endpoint
    # serve --backend: the engine resource pages read (server/web/resource_engine.py)
    app.state.engine = getattr(store, "engine", None)
    problems.install(app)
    # The SPARQL router at once, the others once imported (karabakh_kg.server.deferred).
    before = len(app.router.routes)
    for router in routers(FIRST_ROUTE_MODULES):
        app.include_router(router)
    later = DeferredRouters(app, lambda: routers(LATER_ROUTE_MODULES), _mount_static_files)
    app.state.routers = later
    app.add_middleware(WaitForRouters, routers=later, ready=app.router.routes[before:])
    add_outer_middleware(app, config, app.state.engine)
    generated_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI's document, with the SPARQL endpoint's parameters, limits and answers."""
        if app.openapi_schema is None:
            later.include()  # every route is documented
            served = getattr(app.state, "served", None)  # set by ``serve --data``
            sparql_openapi.document(generated_openapi(), config, app.state.kg, served)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def add_outer_middleware(app: Starlette, config: Settings, engine: object | None) -> None:
    """The middleware around the routes (and :class:`WaitForRouters`), innermost first:
    :func:`create_app`'s, and the same for :func:`first_app`'s routes."""
    from starlette.middleware.cors import CORSMiddleware  # FastAPI's is this one

    if engine is not None:  # what needs the whole graph, without a local copy: 503
        from karabakh_kg.server.sparql.backend import NeedsCopy

        app.add_middleware(NeedsCopy, engine=engine)
    app.add_middleware(BodySizeLimit, max_bytes=config.max_body_bytes)
    app.add_middleware(BodyReadTimeout, seconds=config.body_timeout)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(config.cors_origins),
        allow_methods=["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=["ETag", "Last-Modified", "X-Data-Version", "Retry-After"],
        max_age=600,
    )
    if engine is None:  # updates past the stack above, which does nothing for them
        from karabakh_kg.server.sparql.routes import UpdateLane

        app.add_middleware(
            UpdateLane, max_bytes=config.max_body_bytes, body_timeout=config.body_timeout
        )


def first_app(endpoint: Endpoint, config: Settings) -> Starlette:
    """A Starlette app of the SPARQL endpoint's plain routes (``sparql/routes.py``), with
    the error handlers and the middleware of :func:`create_app`, in the same order, which
    answers before FastAPI is imported (``serve``: :class:`FirstAnswers`)."""
    from starlette.applications import Starlette

    from karabakh_kg.server.sparql import routes

    app = Starlette(routes=list(routes.router.routes), exception_handlers=problems.handlers())
    app.state.kg = endpoint.kg
    app.state.settings = config
    app.state.sparql = endpoint
    app.state.engine = None
    add_outer_middleware(app, config, None)
    return app


def first_answers(endpoint: Endpoint, config: Settings) -> FirstAnswers:
    """The app ``serve`` starts with: :func:`first_app` answers SPARQL while a thread
    builds :func:`create_app`'s, its pages included (:class:`FirstAnswers`)."""
    first = first_app(endpoint, config)
    if config.enable_updates:  # as create_app does: the first update does not wait for it
        endpoint.kg.views.build_deferred()

    def build() -> FastAPI:
        app = create_app(endpoint.kg, settings=config, endpoint=endpoint)
        served = getattr(first.state, "served", None)  # set by ``serve --data``
        if served is not None:
            app.state.served = served
        # A failure is logged, and its routes answer 503 pages-unavailable (deferred.py).
        with contextlib.suppress(Exception):
            app.state.routers.include()
        return app

    return FirstAnswers(first, build, endpoint.close)


ROUTE_MODULES = (
    "sparql.routes",
    "web.ops",
    "web.resource",
    "web.graph",
    "web.events",  # before /export/{format}, which would match it
    "web.export",
    "web.explorer",
    "web.docs",
    "web.timeline",
    "web.says_who",
    "web.map",
    "web.reconcile",
)
"""The modules of ``karabakh_kg.server`` whose ``router`` the app includes, in order."""
FIRST_ROUTE_MODULES = ROUTE_MODULES[:1]
"""Included when the app is built (``serve`` imports them while the data loads on another
thread: :func:`karabakh_kg.server.cli.serve.app_over`); the others are imported on a thread
and included once ready (:mod:`karabakh_kg.server.deferred`)."""
LATER_ROUTE_MODULES = ROUTE_MODULES[len(FIRST_ROUTE_MODULES) :]


def routers(names: Sequence[str] = ROUTE_MODULES) -> list[APIRouter]:
    """The router of each module ``names`` lists, its module imported on first use."""
    found = []
    for name in names:
        module = f"karabakh_kg.server.{name}"
        try:
            found.append(api_router(importlib.import_module(module).router))
        except Exception as error:
            raise RouterImportError(f"{module}: {type(error).__name__}: {error}") from error
    return found


def _mount_static_files(app: FastAPI) -> None:
    """The static files, after every route (``/static/...`` is matched last)."""
    from karabakh_kg.server.web import pages

    app.mount("/static", pages.static_files(), name="static")


def _published_copy(
    store: SparqlStore | None,
    kg: KnowledgeGraph,
    config: Settings,
    replace: Callable[[KnowledgeGraph], None],
) -> PublishedCopy | None:
    """Over an engine (``serve --backend``), what keeps the local copy current (and takes
    it, for a server started before it was read)."""
    if store is None:
        return None
    from karabakh_kg.server.sparql.backend import BackendStore, PublishedCopy  # httpx

    if not isinstance(store, BackendStore):
        return None
    if config.backend_refresh <= 0 and not PublishedCopy.pending(kg):
        return None
    every, most = config.backend_refresh, config.backend_copy_max_triples
    return PublishedCopy(store.engine, kg, replace, every, most)
