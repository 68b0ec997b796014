"""``/export/{format}``: the (filtered) graph in any registered export format.

The formats, their media types and file extensions come from the exporter registry of
:mod:`karabakh_kg.graph.export`, so the CLI and the HTTP route always offer the same ones.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import networkx as nx
from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from karabakh_kg.graph import export as exports
from karabakh_kg.graph import traversal
from karabakh_kg.server.problems import Problem
from karabakh_kg.server.web.common import get_and_head
from karabakh_kg.server.web.graph import (
    ERROR_RESPONSES,
    NAME_LIMIT,
    Filters,
    Seen,
    answer,
    traverse,
)

router = APIRouter(tags=["export"])
MAX_NODES = 2000
MAX_DRAWN_EDGES = 300
"""Most edges an SVG or PNG drawing may have over HTTP: Graphviz's layout time grows fast
with edges (seconds at 300, more than a minute for the whole graph's 900)."""

_FORMATS = ", ".join(f"`{e.name}` ({e.media_type})" for e in exports.REGISTRY.values())


def _nodes(seen: Seen, names: list[str]) -> set[str]:
    """The IRIs of the ``node=`` parameters (at most :data:`MAX_NODES`)."""
    if len(names) > MAX_NODES:
        raise Problem(
            400, "too-many-nodes", f"at most {MAX_NODES} node parameters, not {len(names)}"
        )
    return {seen.resolve(name) for name in names}


@get_and_head(
    router,
    "/export/{fmt}",
    responses={
        **ERROR_RESPONSES,
        200: {
            "description": "The export, with its media type and a download file name.",
            "content": {e.media_type: {} for e in exports.REGISTRY.values()},
        },
    },
    summary="Download the graph in an export format",
    description=f"Formats: {_FORMATS}. `csv` is a ZIP of nodes.csv and edges.csv.",
)
def export_graph(
    seen: Seen,
    filters: Filters,
    fmt: Annotated[str, Path(description="Export format name, alias or media type.")],
    focus: Annotated[
        str | None,
        Query(description="Only the ego network of this entity.", json_schema_extra=NAME_LIMIT),
    ] = None,
    radius: Annotated[int, Query(description=f"Hops around focus, 1 to {traversal.MAX_K}.")] = 1,
    network: Annotated[
        Literal["person", "state"] | None,
        Query(description="Export the negotiation network at this level instead."),
    ] = None,
    unrealised: Annotated[
        bool, Query(description="With network: add planned, expected, cancelled meetings.")
    ] = False,
    node: Annotated[
        list[str] | None,
        Query(description="Only these entities (repeatable) and the edges among them."),
    ] = None,
    download: Annotated[bool, Query(description="Ask the browser to save the file.")] = True,
) -> Any:
    """The graph, filtered like the ``/graph`` endpoints, in format ``fmt``."""

    def run() -> Response:
        try:
            exporter = exports.get(fmt)
        except exports.ExportError as error:
            raise Problem(404, "unknown-format", str(error)) from None
        kg = seen.kg
        if seen.engine is not None:  # over an engine: the slice around what is exported
            if focus is not None:
                traverse(traversal.check_range, "radius", radius, 1, traversal.MAX_K)
                kg = seen.around([seen.resolve(focus)], radius)
            elif node and network is None:
                kg = seen.around(_nodes(seen, node), 0)
            else:  # the whole graph, read in bounded queries (past the bound: 400)
                kg = seen.whole_graph("an export of the whole graph")
        graph = filters.project(kg)
        if focus is not None:
            graph = traverse(traversal.ego_network, graph, seen.resolve(focus), radius=radius)
        if network is not None:
            graph = traversal.negotiation_network(graph, level=network, unrealised=unrealised)
        elif unrealised:
            raise Problem(
                400, "bad-parameter", "unrealised applies to the negotiation network only"
            )
        if node:
            keep = _nodes(seen, node)
            graph = nx.MultiDiGraph(graph.subgraph(keep & set(graph)))
        if exporter.media_type.startswith("image/") and graph.number_of_edges() > MAX_DRAWN_EDGES:
            raise Problem(
                400,
                "too-large-to-draw",
                f"this graph has {graph.number_of_edges()} edges; drawings ({exporter.name}) "
                f"are made for at most {MAX_DRAWN_EDGES}: narrow it with focus=, network=, "
                "node=, class= or predicate=, or download it as dot and draw it yourself",
                limit=MAX_DRAWN_EDGES,
            )
        try:
            body = exporter.write(graph, kg)
        except exports.ExportError as error:
            raise Problem(503, "export-unavailable", str(error)) from None
        media_type = exporter.media_type
        if not exporter.binary and media_type != "image/svg+xml":
            media_type += "; charset=utf-8"
        disposition = "attachment" if download else "inline"
        name = f"karabakh-kg.{exporter.extension}"
        return Response(
            body,
            media_type=media_type,
            headers={"Content-Disposition": f'{disposition}; filename="{name}"'},
        )

    return answer(run)
