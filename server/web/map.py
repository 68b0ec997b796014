"""``/map``: the places of the graph and the events at them on an offline map (country
outlines from world-atlas drawn with d3-geo, no tile server), and ``/map/places`` (JSON).

Every place is listed, with the events of one page of events (``limit``, ``offset``:
:mod:`karabakh_kg.server.web.events`); over an engine without a local copy, the page's
events and every place are read from it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from karabakh_kg.graph import events as event_table
from karabakh_kg.graph import gazetteer
from karabakh_kg.server.problems import Problem
from karabakh_kg.server.web import pages
from karabakh_kg.server.web.common import check_name, get_and_head
from karabakh_kg.server.web.events import (
    PAGE_LIMITS,
    PAGE_PROBLEMS,
    EventPage,
    Paging,
    PagingQ,
    event_page,
)
from karabakh_kg.server.web.resource_data import local_path

router = APIRouter(tags=["map"])

PerspectiveQ = Annotated[
    str, Query(description="`all`, `article` or a claimant (`kg:armenia`, `Reuters`).")
]
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "An unknown perspective; `detail` lists some known ones." + PAGE_PROBLEMS},
    422: {"description": PAGE_LIMITS},
}


def layers(request: Request, perspective: str, paging: Paging) -> tuple[dict[str, Any], EventPage]:
    """The map's places and the events of the page under ``perspective``, with local links
    (400 if unknown), and the page."""
    page = event_page(request, perspective, paging, "the map", places=True)
    try:
        found = gazetteer.map_places(page.kg, check_name(perspective, "perspective"))
    except event_table.UnknownPerspectiveError as error:
        raise Problem(400, "unknown-perspective", str(error)) from None
    for place in [*found["placed"], *found["unplaced"]]:
        place["events"] = [e for e in place["events"] if page.keeps(e["event"])]
        place["href"] = local_path(place["place"])
        for event in place["events"]:
            event["href"] = local_path(event["event"])
            for ref in event["evidence"]:
                ref["href"] = local_path(ref["evidence"])
    return found, page


@get_and_head(router, "/map/places", responses=ERRORS, summary="Places, points and events (JSON)")
def map_json(
    request: Request,
    paging: PagingQ,
    perspective: PerspectiveQ = event_table.ALL,
) -> JSONResponse:
    """Every place with a point (and the page's events at it), and every place without one."""
    found, page = layers(request, perspective, paging)
    return JSONResponse(found, headers=page.headers(request))


@get_and_head(
    router, "/map", response_class=HTMLResponse, responses=ERRORS, summary="Offline map of places"
)
def map_page(
    request: Request,
    paging: PagingQ,
    perspective: PerspectiveQ = event_table.ALL,
) -> HTMLResponse:
    """The map page: points from the reviewed gazetteer evidence, places without one listed."""
    found, page = layers(request, perspective, paging)
    return pages.render(
        request,
        "map.html",
        {
            "layers": found,
            "perspectives": event_table.perspective_names(page.kg),
            "pages": page.navigation(request),
            "chosen": perspective,
            "gazetteer": f"GeoNames via {gazetteer.PACKAGE} {gazetteer.package_version()}",
        },
    )
