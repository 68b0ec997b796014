"""``/explorer``: the interactive graph explorer page (Cytoscape.js, served locally)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from karabakh_kg.graph import export as exports
from karabakh_kg.graph import hierarchy, perspectives
from karabakh_kg.server.web import pages
from karabakh_kg.server.web.common import get_and_head

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
    display = hierarchy(request.app.state.kg)  # categories and colours: the ontology's
    return pages.render(
        request,
        "explorer.html",
        {
            "focus": focus or "",
            "formats": list(exports.REGISTRY.values()),
            "categories": display.category_names(),
            "colours": display.colours(),
            "perspectives": perspectives.perspectives(request.app.state.kg).listed(),
            "perspective": perspective,
        },
    )
