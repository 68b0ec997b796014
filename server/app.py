"""The ASGI application: ``create_app()`` builds it around one loaded knowledge graph."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from karabakh_kg.graph import KnowledgeGraph, load_graph
from karabakh_kg.server import problems
from karabakh_kg.server.settings import Settings
from karabakh_kg.server.sparql import openapi as sparql_openapi
from karabakh_kg.server.sparql import routes as routes_sparql
from karabakh_kg.server.sparql.backend import BackendStore, PublishedCopy
from karabakh_kg.server.sparql.execute import Endpoint
from karabakh_kg.server.sparql.limits import BodyReadTimeout, BodySizeLimit
from karabakh_kg.server.sparql.protocol import SparqlStore
from karabakh_kg.server.web import ops as routes_ops

DESCRIPTION = (
    "A knowledge graph of the 2020 Nagorno-Karabakh war, curated from one news article: "
    "a SPARQL 1.1 endpoint at /sparql, resource pages, graph traversal and exports."
)


def create_app(
    kg: KnowledgeGraph | None = None,
    settings: Settings | None = None,
    store: SparqlStore | None = None,
) -> FastAPI:
    """Build the application; loads and reasons the curated graph when ``kg`` is not given
    (with the settings' Wikidata enrichment file, if any).

    ``settings`` default to the ``KARABAKH_KG_*`` environment variables; ``store`` answers
    SPARQL queries (default: query workers over ``kg``'s store).
    """
    config = settings or Settings.from_env()
    if kg is None:
        wikidata = Path(config.wikidata_file) if config.wikidata_file else None
        kg = load_graph(wikidata=wikidata)
    graph = kg
    if config.enable_updates:
        # A reasoner deferred by the cache or a durable store is built before serving, so
        # the first update does not wait for it.
        graph.views.build_deferred()
    endpoint = Endpoint(graph, config, store)

    def replace_graph(copy: KnowledgeGraph) -> None:
        """A new publication on the engine: pages and the endpoint read it from now on."""
        app.state.kg = copy
        endpoint.kg = copy

    follower = _published_copy(store, graph, config, replace_graph)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        endpoint.store()  # start the query workers now, in the background
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
    )
    app.state.kg = graph
    app.state.settings = config
    app.state.sparql = endpoint
    problems.install(app)
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
    app.include_router(routes_sparql.router)
    app.include_router(routes_ops.router)
    from karabakh_kg.server.web import pages
    from karabakh_kg.server.web import resource as routes_resource

    app.include_router(routes_resource.router)
    from karabakh_kg.server.web import explorer as routes_explorer
    from karabakh_kg.server.web import export as routes_export
    from karabakh_kg.server.web import graph as routes_graph

    app.include_router(routes_graph.router)
    from karabakh_kg.server.web import events as routes_events

    app.include_router(routes_events.router)  # before /export/{format}, which would match it
    app.include_router(routes_export.router)
    app.include_router(routes_explorer.router)
    from karabakh_kg.server.web import docs as routes_docs

    app.include_router(routes_docs.router)
    from karabakh_kg.server.web import timeline as routes_timeline

    app.include_router(routes_timeline.router)
    from karabakh_kg.server.web import says_who as routes_says_who

    app.include_router(routes_says_who.router)
    from karabakh_kg.server.web import map as routes_map

    app.include_router(routes_map.router)
    from karabakh_kg.server.web import reconcile as routes_reconcile

    app.include_router(routes_reconcile.router)
    app.mount("/static", pages.static_files(), name="static")
    generated_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI's document, with the SPARQL endpoint's parameters, limits and answers."""
        if app.openapi_schema is None:
            sparql_openapi.document(generated_openapi(), config)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _published_copy(
    store: SparqlStore | None,
    kg: KnowledgeGraph,
    config: Settings,
    replace: Callable[[KnowledgeGraph], None],
) -> PublishedCopy | None:
    """Over an engine (``serve --backend``), what keeps the local copy current."""
    if not isinstance(store, BackendStore) or config.backend_refresh <= 0:
        return None
    return PublishedCopy(store.engine, kg, replace, config.backend_refresh)
