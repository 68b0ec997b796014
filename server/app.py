"""The ASGI application: ``create_app()`` builds it around one loaded knowledge graph."""

from __future__ import annotations

from fastapi import FastAPI

from karabakh_kg.graph.dataset import KnowledgeGraph


def create_app(kg: KnowledgeGraph | None = None) -> FastAPI:
    """Build the application; loads and reasons the curated graph when ``kg`` is not given."""
    graph = kg or KnowledgeGraph.load()
    app = FastAPI(title="karabakh-kg", version="0.1.0")
    app.state.kg = graph
    from karabakh_kg.server import pages, routes_resource

    app.include_router(routes_resource.router)
    from karabakh_kg.server import routes_explorer, routes_export, routes_graph

    app.include_router(routes_graph.router)
    app.include_router(routes_export.router)
    app.include_router(routes_explorer.router)
    app.mount("/static", pages.static_files(), name="static")
    return app
