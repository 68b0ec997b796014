"""The SPARQL query page: vendored YASGUI pointed at ``/sparql``, with example queries.

Served at ``/query``; the SPARQL endpoint also calls :func:`render_query_ui` for a browser's
``GET /sparql`` without a query. Everything it loads comes from ``/static`` (no CDN).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from karabakh_kg.ontology import vocab
from karabakh_kg.server.web import pages
from karabakh_kg.server.web.examples import EXAMPLES

ENDPOINT_PATH = "/sparql"
INFER_PARAMETER = "infer"
"""The ``/sparql`` parameter that, set to ``false``, leaves derived triples out."""


def render_query_ui(request: Request) -> HTMLResponse:
    """The query UI page (HTML, UTF-8)."""
    examples = [
        {"id": e.id, "title": e.title, "question": e.question, "sparql": e.sparql} for e in EXAMPLES
    ]
    return pages.render(
        request,
        "query.html",
        {
            "examples": examples,
            "endpoint": ENDPOINT_PATH,
            "infer_parameter": INFER_PARAMETER,
            "prefixes": dict(vocab.PREFIXES),
        },
    )
