"""``/export/events.csv`` and ``/export/events.json``: the event table for analysts' tools.

Included in the app before :mod:`karabakh_kg.server.web.export`, whose ``/export/{format}``
would otherwise take ``events.csv`` for a graph format name.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from karabakh_kg.graph import events as event_table
from karabakh_kg.server.problems import Problem
from karabakh_kg.server.web.common import check_name, get_and_head
from karabakh_kg.server.web.engine_graph import PAST_THE_BOUND, whole_graph

router = APIRouter(tags=["events"])

PerspectiveQ = Annotated[
    str,
    Query(description="`all`, `article` (the article's own voice) or a claimant (`kg:armenia`)."),
]
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "An unknown perspective; `detail` lists some known ones." + PAST_THE_BOUND
    },
}


def records(request: Request, perspective: str) -> list[event_table.EventRecord]:
    """The event records of the app's graph under ``perspective`` (400 when unknown); over
    an engine without a local copy, of the graph read from it (:func:`whole_graph`)."""
    try:
        return event_table.event_records(
            whole_graph(request, "the event table"), check_name(perspective, "perspective")
        )
    except event_table.UnknownPerspectiveError as error:
        raise Problem(400, "unknown-perspective", str(error)) from None


@get_and_head(
    router,
    "/export/events.csv",
    responses={**ERRORS, 200: {"content": {"text/csv": {}}}},
    summary="The event table as CSV (one row per event)",
)
def events_csv(request: Request, perspective: PerspectiveQ = event_table.ALL) -> Response:
    """One row per event in the columns of conflict-event datasets (docs/events.md)."""
    kg = whole_graph(request, "the event table")
    body = event_table.csv_text(event_table.table_rows(kg, records(request, perspective)))
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8; header=present",
        headers={"Content-Disposition": 'attachment; filename="karabakh-kg-events.csv"'},
    )


@get_and_head(
    router,
    "/export/events.json",
    responses=ERRORS,
    summary="The event table as JSON (one object per event)",
)
def events_json(request: Request, perspective: PerspectiveQ = event_table.ALL) -> JSONResponse:
    """The same rows as the CSV, many-valued columns as arrays."""
    kg = whole_graph(request, "the event table")
    return JSONResponse(event_table.table_rows(kg, records(request, perspective)))
