"""Operations: ``/health`` (JSON) and ``/metrics`` (Prometheus text)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from karabakh_kg.server.sparql.execute import Endpoint
from karabakh_kg.server.web.common import get_and_head

router = APIRouter(tags=["Operations"])


@get_and_head(router, "/health")
async def health(request: Request) -> JSONResponse:
    """Liveness and the data: version, triples per system graph, query workers."""
    endpoint: Endpoint = request.app.state.sparql
    kg = endpoint.kg
    cached = getattr(request.app.state, "_health_sizes", None)
    if cached is None or cached[0] != kg.version:
        sizes = kg.graph_sizes()
        cached = (kg.version, sizes, len(kg.store))
        request.app.state._health_sizes = cached
    body = {
        "status": "ok",
        "version": kg.version,
        "triples": cached[1],
        "quads": cached[2],
        "queries_in_flight": endpoint.in_flight,
        "query_workers": endpoint.settings.query_workers,
        "updates_enabled": endpoint.settings.enable_updates,
    }
    if getattr(request.app.state, "engine", None) is not None:  # serve --backend
        from karabakh_kg.server.web.resource_engine import holds_copy

        # The counts are the local copy's: none without one (the home page counts the engine).
        body["local_copy"] = holds_copy(kg)
        if not body["local_copy"]:
            body["triples"] = body["quads"] = None
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@get_and_head(router, "/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus metrics: queries by form and status, latency histogram, errors, timeouts."""
    endpoint: Endpoint = request.app.state.sparql
    return Response(endpoint.metrics.export(), media_type=CONTENT_TYPE_LATEST)
