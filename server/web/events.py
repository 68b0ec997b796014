"""``/export/events.csv`` and ``/export/events.json``: the event table for analysts' tools.

The event views (this table, the timeline, the map) answer in pages of events: ``limit``
events (at most and by default :data:`EVENTS_PER_PAGE`) from ``offset``, in the order of
the events' IRIs (:func:`karabakh_kg.graph.events.page_events`); each page lists its
events in date order, and the timeline's filters choose among the page's events. A
``Link`` header (``rel="next"``) names the next page while events follow, and
``X-Total-Count`` says how many events the perspective's evidence speaks of. The same on
the embedded store and over an engine without a local copy, which reads the page's
events alone (:meth:`karabakh_kg.server.web.engine_graph.EngineGraph.events`), so the
views answer at any size.

Included in the app before :mod:`karabakh_kg.server.web.export`, whose ``/export/{format}``
would otherwise take ``events.csv`` for a graph format name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from karabakh_kg.graph import KnowledgeGraph
from karabakh_kg.graph import events as event_table
from karabakh_kg.server.problems import Problem
from karabakh_kg.server.web.common import check_name, get_and_head
from karabakh_kg.server.web.engine_graph import EVENTS_INDEXED, engine_graph, too_many_events

router = APIRouter(tags=["events"])

EVENTS_PER_PAGE = 1000
"""Most events one answer of the event views lists, and how many it lists by default."""

PerspectiveQ = Annotated[
    str,
    Query(description="`all`, `article` (the article's own voice) or a claimant (`kg:armenia`)."),
]
LimitQ = Annotated[
    int,
    Query(
        ge=1,
        le=EVENTS_PER_PAGE,
        description=f"Events a page lists (at most {EVENTS_PER_PAGE}), in the order of their IRIs.",
    ),
]
OffsetQ = Annotated[
    int,
    Query(ge=0, le=EVENTS_INDEXED, description="Events to skip (the `Link` header's next page)."),
]


@dataclass
class Paging:
    """The page of events a request asks for."""

    limit: LimitQ = EVENTS_PER_PAGE
    offset: OffsetQ = 0


PagingQ = Annotated[Paging, Depends()]
PAGE_PROBLEMS = (
    " Over an engine without a local copy (`serve --backend`), also a page reading more than"
    " its bound of quads (`too-large`, naming it: ask for fewer events, `limit=`)."
)
"""What the OpenAPI document adds to the 400 of an event view."""
PAGE_LIMITS = (
    f"A `limit` outside 1 to {EVENTS_PER_PAGE}, or an `offset` negative or past {EVENTS_INDEXED}."
)
"""The 422 of an event view, in the OpenAPI document."""
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "An unknown perspective; `detail` lists some known ones." + PAGE_PROBLEMS},
    422: {"description": PAGE_LIMITS},
}


@dataclass
class EventPage:
    """One page of the event views: the graph the graph-layer code reads for it (the
    application's, or what was read of the page's events from the engine) and its
    events."""

    kg: KnowledgeGraph
    events: set[str]
    total: int
    offset: int
    limit: int

    def headers(self, request: Request) -> dict[str, str]:
        """``X-Total-Count``, and a ``Link`` to the next page while events follow."""
        found = {"X-Total-Count": str(self.total)}
        following = self._next(request)
        if following is not None:
            found["Link"] = f'<{following}>; rel="next"'
        return found

    def _next(self, request: Request) -> str | None:
        if self.offset + self.limit >= self.total:
            return None
        return str(request.url.include_query_params(offset=self.offset + self.limit))

    def navigation(self, request: Request) -> dict[str, Any] | None:
        """What an HTML page says of its page of events (the numbers of its first and last
        events, how many there are, the previous and next pages' addresses), or None when
        it holds every event."""
        if self.offset == 0 and self.limit >= self.total:
            return None
        previous = None
        if self.offset > 0:
            back = max(0, min(self.offset, self.total) - self.limit)
            previous = str(request.url.include_query_params(offset=back))
        return {
            "first": self.offset + 1,
            "last": min(self.offset + self.limit, self.total),
            "total": self.total,
            "previous": previous,
            "next": self._next(request),
        }

    def keeps(self, event: str) -> bool:
        return event in self.events


def event_page(
    request: Request, perspective: str, paging: Paging, what: str, places: bool = False
) -> EventPage:
    """The page of events ``paging`` asks for under ``perspective`` (400 when the
    perspective is unknown); over an engine without a local copy, the page's events are
    read from it (with every place, for the map: ``places``)."""
    offset, limit = paging.offset, paging.limit
    name = check_name(perspective, "perspective")
    reader = engine_graph(request)
    try:
        if reader is None:
            kg: KnowledgeGraph = request.app.state.kg
            index = sorted(r.iri for r in event_table.event_records(kg, name))
            if len(index) > EVENTS_INDEXED:  # pages past it are out of offset's reach
                raise too_many_events(what, EVENTS_INDEXED)
            page = event_table.page_events(index, offset, limit)
        else:
            index = reader.event_index(reader.scope(name)[1], what)
            page = event_table.page_events(index, offset, limit)
            kg = reader.events(page, what, places)
    except event_table.UnknownPerspectiveError as error:
        raise Problem(400, "unknown-perspective", str(error)) from None
    return EventPage(kg, set(page), len(index), offset, limit)


def records(page: EventPage, perspective: str) -> list[event_table.EventRecord]:
    """The event records of ``page`` (in date order)."""
    return [r for r in event_table.event_records(page.kg, perspective) if page.keeps(r.iri)]


def table(
    request: Request, perspective: str, paging: Paging
) -> tuple[list[dict[str, Any]], EventPage]:
    """The event table's rows of the page ``paging`` asks for, and the page."""
    page = event_page(request, perspective, paging, "the event table")
    return event_table.table_rows(page.kg, records(page, perspective)), page


@get_and_head(
    router,
    "/export/events.csv",
    responses={**ERRORS, 200: {"content": {"text/csv": {}}}},
    summary="The event table as CSV (one row per event)",
)
def events_csv(
    request: Request,
    paging: PagingQ,
    perspective: PerspectiveQ = event_table.ALL,
) -> Response:
    """One row per event in the columns of conflict-event datasets (docs/events.md)."""
    rows, page = table(request, perspective, paging)
    body = event_table.csv_text(rows)
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8; header=present",
        headers={
            "Content-Disposition": 'attachment; filename="karabakh-kg-events.csv"',
            **page.headers(request),
        },
    )


@get_and_head(
    router,
    "/export/events.json",
    responses=ERRORS,
    summary="The event table as JSON (one object per event)",
)
def events_json(
    request: Request,
    paging: PagingQ,
    perspective: PerspectiveQ = event_table.ALL,
) -> JSONResponse:
    """The same rows as the CSV, many-valued columns as arrays."""
    rows, page = table(request, perspective, paging)
    return JSONResponse(rows, headers=page.headers(request))
