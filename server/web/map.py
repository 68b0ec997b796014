"""``/map``: the places of the graph and the events at them on an offline map (country
outlines from world-atlas drawn with d3-geo, no tile server), and ``/map/places`` (JSON)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from karabakh_kg.graph import events as event_table
from karabakh_kg.graph import gazetteer
from karabakh_kg.server.problems import Problem
from karabakh_kg.server.web import pages
from karabakh_kg.server.web.common import check_name, get_and_head
from karabakh_kg.server.web.engine_graph import PAST_THE_BOUND, whole_graph
from karabakh_kg.server.web.resource_data import local_path

router = APIRouter(tags=["map"])

PerspectiveQ = Annotated[
    str, Query(description="`all`, `article` or a claimant (`kg:armenia`, `Reuters`).")
]
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "An unknown perspective; `detail` lists some known ones." + PAST_THE_BOUND
    },
}


def layers(request: Request, perspective: str) -> dict[str, Any]:
    """The map's places and events under ``perspective``, with local links (400 if unknown);
    over an engine without a local copy, from the graph read from it (:func:`whole_graph`)."""
    kg = whole_graph(request, "the map")
    try:
        found = gazetteer.map_places(kg, check_name(perspective, "perspective"))
    except event_table.UnknownPerspectiveError as error:
        raise Problem(400, "unknown-perspective", str(error)) from None
    for place in [*found["placed"], *found["unplaced"]]:
        place["href"] = local_path(place["place"])
        for event in place["events"]:
            event["href"] = local_path(event["event"])
            for ref in event["evidence"]:
                ref["href"] = local_path(ref["evidence"])
    return found


@get_and_head(router, "/map/places", responses=ERRORS, summary="Places, points and events (JSON)")
def map_json(request: Request, perspective: PerspectiveQ = event_table.ALL) -> JSONResponse:
    """Every place with a point (and its events), and every place without one."""
    return JSONResponse(layers(request, perspective))


@get_and_head(
    router, "/map", response_class=HTMLResponse, responses=ERRORS, summary="Offline map of places"
)
def map_page(request: Request, perspective: PerspectiveQ = event_table.ALL) -> HTMLResponse:
    """The map page: points from the reviewed gazetteer evidence, places without one listed."""
    found = layers(request, perspective)
    return pages.render(
        request,
        "map.html",
        {
            "layers": found,
            "perspectives": event_table.perspective_names(whole_graph(request, "the map")),
            "chosen": perspective,
            "gazetteer": f"GeoNames via {gazetteer.PACKAGE} {gazetteer.package_version()}",
        },
    )
