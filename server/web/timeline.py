"""``/timeline``: every dated event on an interactive timeline (vis-timeline, served locally),
and ``/timeline/items``, the items as JSON (what the page draws).

Both answer one page of events (``limit``, ``offset``: :mod:`karabakh_kg.server.web.events`),
the filters choosing among the page's events; over an engine without a local copy, the
page's events are read from it and participants are looked up among the engine's names
(:meth:`~karabakh_kg.server.web.engine_graph.EngineGraph.resolve`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from karabakh_kg.graph import Window, lookup, timeline_items
from karabakh_kg.graph import events as event_table
from karabakh_kg.server.problems import Problem
from karabakh_kg.server.web import pages
from karabakh_kg.server.web.common import check_name, get_and_head
from karabakh_kg.server.web.engine_graph import engine_graph
from karabakh_kg.server.web.events import (
    PAGE_LIMITS,
    PAGE_PROBLEMS,
    EventPage,
    Paging,
    PagingQ,
    event_page,
)
from karabakh_kg.server.web.resource_data import local_path

router = APIRouter(tags=["timeline"])

FromQ = Annotated[str | None, Query(alias="from", description="First day: ISO date or year.")]
ToQ = Annotated[str | None, Query(alias="to", description="Last day: ISO date or year.")]
PerspectiveQ = Annotated[
    str, Query(description="`all`, `article` or a claimant (`kg:armenia`, `Reuters`).")
]
KindQ = Annotated[
    list[str] | None, Query(description="Only events of this kgo: class (repeatable).")
]
ParticipantQ = Annotated[
    list[str] | None, Query(description="Only events with this agent in some role (repeatable).")
]
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "A bad date range, kind or perspective; `detail` names it." + PAGE_PROBLEMS
    },
    422: {"description": PAGE_LIMITS},
    404: {"description": "No agent has the participant's name; `suggestions` lists close ones."},
}


def items_for(
    request: Request,
    start: str | None,
    end: str | None,
    perspective: str,
    kinds: list[str] | None,
    participants: list[str] | None,
    paging: Paging,
) -> tuple[list[dict[str, Any]], EventPage]:
    """The timeline items of the page of events for the request, and the page, or a
    problem naming the bad parameter."""
    try:
        window = Window.parse(start, end)
    except ValueError as error:
        raise Problem(400, "bad-date-range", str(error)) from None
    for name in [perspective, *(kinds or []), *(participants or [])]:
        check_name(name, "parameter")
    page = event_page(request, perspective, paging, "the timeline")
    reader = engine_graph(request)
    try:
        items = timeline_items(
            page.kg,
            window=window,
            perspective=perspective,
            kinds=kinds or (),
            participants=participants or (),
            resolve=None if reader is None else reader.resolve,
        )
    except event_table.UnknownPerspectiveError as error:
        raise Problem(400, "unknown-perspective", str(error)) from None
    except lookup.EntityLookupError as error:
        raise Problem(
            404,
            "unknown-entity",
            f"participant: {error.message}",
            suggestions=[{"iri": i, "label": label} for i, label in error.suggestions],
        ) from None
    except ValueError as error:
        raise Problem(400, "bad-parameter", str(error)) from None
    items = [item for item in items if page.keeps(item["event"])]
    for item in items:
        item["href"] = local_path(item["event"])
        for ref in item["evidence"]:
            ref["href"] = local_path(ref["evidence"])
    return items, page


@get_and_head(router, "/timeline/items", responses=ERRORS, summary="Timeline items as JSON")
def timeline_json(
    request: Request,
    paging: PagingQ,
    start: FromQ = None,
    end: ToQ = None,
    perspective: PerspectiveQ = event_table.ALL,
    kind: KindQ = None,
    participant: ParticipantQ = None,
) -> JSONResponse:
    """One item per dated event of the page and reading of its date, with its quotes and
    claimants."""
    items, page = items_for(request, start, end, perspective, kind, participant, paging)
    return JSONResponse({"items": items, "count": len(items)}, headers=page.headers(request))


@get_and_head(
    router,
    "/timeline",
    response_class=HTMLResponse,
    responses=ERRORS,
    summary="Interactive timeline of the dated events",
)
def timeline_page(
    request: Request,
    paging: PagingQ,
    start: FromQ = None,
    end: ToQ = None,
    perspective: PerspectiveQ = event_table.ALL,
    kind: KindQ = None,
    participant: ParticipantQ = None,
) -> HTMLResponse:
    """The timeline page; its filters are the query parameters of ``/timeline/items``."""
    items, page = items_for(request, start, end, perspective, kind, participant, paging)
    # the filters offer what the page shows without them (over an engine, the page read)
    everything, _ = items_for(request, None, None, perspective, None, None, paging)
    kinds = sorted({k for item in everything for k in item["kinds"]})
    agents = {p["iri"]: p["label"] for item in everything for p in item["participants"]}
    return pages.render(
        request,
        "timeline.html",
        {
            "items": items,
            "kinds": kinds,
            "participants": sorted(agents.items(), key=lambda pair: pair[1].casefold()),
            "perspectives": event_table.perspective_names(page.kg),
            "pages": page.navigation(request),
            "chosen": {
                "from": start or "",
                "to": end or "",
                "perspective": perspective,
                "kind": kind or [],
                "participant": participant or [],
            },
        },
    )
