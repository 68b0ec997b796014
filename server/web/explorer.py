"""``/explorer``: the interactive graph explorer page (Cytoscape.js, served locally)."""

from __future__ import annotations

from typing import Annotated

import pyoxigraph as ox
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from karabakh_kg.graph import KnowledgeGraph, hierarchy, perspectives
from karabakh_kg.graph import export as exports
from karabakh_kg.server.problems import Problem
from karabakh_kg.server.web import pages
from karabakh_kg.server.web.common import check_name, get_and_head
from karabakh_kg.server.web.engine_graph import engine_graph

router = APIRouter(tags=["explorer"])


@get_and_head(
    router, "/explorer", response_class=HTMLResponse, summary="Interactive graph explorer"
)
def explorer(
    request: Request,
    focus: Annotated[str | None, Query(description="Entity to open first (name or IRI).")] = None,
    perspective: Annotated[
        str, Query(description="Perspective chosen first: all, curated, article or a claimant.")
    ] = "all",
) -> HTMLResponse:
    """Search entities, expand neighbours, filter, follow paths, download the view."""
    kg = request.app.state.kg
    engine = engine_graph(request)
    try:  # as the routes the page calls check it: an unknown one would fail each of them
        if engine is None:
            perspectives.resolve(kg, check_name(perspective, "perspective"))
            listed = perspectives.perspectives(kg).listed()
        else:  # over an engine without a local copy: its ontology and perspectives, read there
            engine.scope(check_name(perspective, "perspective"))
            kg = KnowledgeGraph(store=ox.Store(), version=engine.version)
            kg.store.extend(engine.ontology)
            listed = engine.perspective_list()[0].listed()
    except perspectives.UnknownPerspective as error:
        raise Problem(400, "unknown-perspective", str(error)) from None
    display = hierarchy(kg)  # categories and colours: the ontology's
    return pages.render(
        request,
        "explorer.html",
        {
            "focus": focus or "",
            "formats": list(exports.REGISTRY.values()),
            "categories": display.category_names(),
            "colours": display.colours(),
            "perspectives": listed,
            "perspective": perspective,
        },
    )
