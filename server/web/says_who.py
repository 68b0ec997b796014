"""Says who, for the pages: the perspective switch, disputes beside the facts, derived
edges resting on one claimant, and the ``/disputes`` page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from karabakh_kg.graph import (
    INFERRED,
    KnowledgeGraph,
    disputes,
    disputes_about,
    perspectives,
)
from karabakh_kg.server.web import pages
from karabakh_kg.server.web.common import check_name, get_and_head

if TYPE_CHECKING:
    from karabakh_kg.server.web.engine_graph import EngineGraph

router = APIRouter(tags=["pages"])


def single_claimants(
    kg: KnowledgeGraph, iri: str, perspective: perspectives.Perspective
) -> dict[tuple[str, str, str], str]:
    """(subject, predicate, object) in N-Triples form -> the label of the one claimant the
    derived triple rests on in ``perspective``, for the derived triples with ``iri`` as
    subject or object."""
    labels = {p.iri: p.label for p in perspectives.perspectives(kg).claimants}
    node = ox.NamedNode(iri)
    triples = [
        (q.subject, q.predicate, q.object)
        for quads in (
            kg.store.quads_for_pattern(node, None, None, INFERRED),
            kg.store.quads_for_pattern(None, None, node, INFERRED),
        )
        for q in quads
    ]
    return {
        (str(s), str(p), str(o)): labels.get(who, who)
        for (s, p, o), who in perspectives.single_claimants(kg, triples, perspective).items()
    }


def says_who(kg: KnowledgeGraph, iri: str, name: str | None) -> dict[str, Any]:
    """The template context of a resource page: the perspective list and the chosen one
    (``view_kg``: the graph seen from it), the disputes about ``iri`` and the derived facts
    resting on one claimant. Raises ``LookupError`` naming an unknown perspective."""
    chosen = perspectives.resolve(kg, check_name(name, "perspective") if name else None)
    return {
        "perspectives": perspectives.perspectives(kg).listed(),
        "perspective": chosen.name,
        "view_kg": perspectives.view(kg, chosen),
        "disputes": disputes_about(kg, iri),
        "single_claimants": single_claimants(kg, iri, chosen),
    }


def says_who_over_engine(graph: EngineGraph, iri: str, name: str | None) -> dict[str, Any]:
    """:func:`says_who` over an engine without a local copy, read in bounded queries
    (:class:`~karabakh_kg.server.web.engine_graph.EngineGraph`): the perspectives read
    from its provenance graph, ``view_kg`` the page's quads in the chosen perspective (None
    for ``all``: the page reads every source), the disputes read once per data version,
    and the single-claimant marks from the support nodes of the derived triples around
    ``iri``."""
    chosen, scope = graph.scope(check_name(name, "perspective") if name else None)
    views, _ = graph.perspective_list()
    derived = graph.inferred_about(iri)
    part = ox.Store()
    part.extend(graph.supports(derived, graph.limit, f"the derived facts of <{iri}>"))
    marks = perspectives.recorded_single_claimants(
        KnowledgeGraph(store=part, version=graph.version),
        [(t.subject, t.predicate, t.object) for t in derived],
        scope.units,
    )
    labels = {p.iri: p.label for p in views.claimants}
    return {
        "perspectives": views.listed(),
        "perspective": chosen.name,
        "view_kg": None if chosen.name == perspectives.ALL else graph.page(iri, scope),
        "disputes": disputes_about(graph.disputes(), iri),
        "single_claimants": {
            (str(s), str(p), str(o)): labels.get(who, who) for (s, p, o), (who, _) in marks.items()
        },
    }


@get_and_head(router, "/disputes", response_class=HTMLResponse, summary="Disputes")
def disputes_page(request: Request) -> HTMLResponse:
    """Where claimants disagree or the article contradicts itself: the competing claims,
    each with its claimant, line and quote (over an engine without a local copy, read
    from it: :meth:`~karabakh_kg.server.web.engine_graph.EngineGraph.disputes`)."""
    from karabakh_kg.server.web.engine_graph import engine_graph

    over_engine = engine_graph(request)
    kg = request.app.state.kg if over_engine is None else over_engine.disputes()
    return pages.render(request, "disputes.html", {"disputes": disputes(kg)})
