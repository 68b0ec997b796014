"""What the OpenAPI document says of the SPARQL endpoint: its parameters with the ranges this
server enforces (from its settings) and every status code it answers, each error as an RFC
9457 problem document.

The routes read the protocol's parameters from the raw request (repeatable parameters, a
query in the body or in a form), so FastAPI cannot infer them; they are stated here.
"""

from __future__ import annotations

from typing import Any

from karabakh_kg.graph import INFERRED, WIKIDATA, KnowledgeGraph
from karabakh_kg.server.problems import MEDIA_TYPE as PROBLEM_MEDIA_TYPE
from karabakh_kg.server.settings import Settings
from karabakh_kg.server.sparql.conneg import GRAPH_FORMATS, RESULT_FORMATS
from karabakh_kg.server.sparql.description import default_graph_text

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details (see docs/sparql-endpoint.md, Errors).",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "code": {"type": "string", "examples": ["malformed-query"]},
        "limit": {"type": "number", "description": "The limit that was exceeded."},
    },
}

QUERY_ERRORS = {
    400: "Malformed query or parameter, update sent here, nesting deeper than the limit, "
    "or a SERVICE that cannot be checked",
    403: "SERVICE outside the allowlist (without SILENT) or to a variable endpoint",
    406: "No acceptable format for this kind of result",
    408: "The request body stopped arriving",
    413: "Request body over the limit",
    415: "Content-Type other than a form or application/sparql-query, or not UTF-8",
    422: "More rows or bytes than the limits: page with LIMIT and OFFSET",
    429: "This client already has its share of queries running and waiting",
    502: "An allowed SERVICE endpoint failed",
    503: "Timeout (the query was stopped), or no worker free in time",
}
GRAPH_STORE_ERRORS = {
    400: "Neither ?graph= nor ?default, or both",
    404: "No such graph in this store",
    406: "No acceptable RDF format",
    422: "More triples or bytes than the limits",
    429: "This client already has its share of queries running and waiting",
    503: "Timeout, or no worker free in time",
}
UPDATE_ERRORS = {
    400: "Malformed update, GRAPH clause, or nesting deeper than the limit",
    401: "Missing or wrong bearer token",
    403: "Updates disabled, LOAD, or SERVICE outside the allowlist",
    408: "The request body stopped arriving",
    413: "Request body over the limit",
    415: "Content-Type other than a form or application/sparql-update",
    502: "An allowed SERVICE endpoint failed",
    503: "Timeout (nothing was changed), or no worker free in time",
}


def parameters(
    settings: Settings, kg: KnowledgeGraph | None = None, sizes: dict[str, int] | None = None
) -> list[dict[str, Any]]:
    """The SPARQL Protocol's query parameters, with this server's ranges; with ``kg`` and
    its triples per named graph ``sizes``, what the default graph and ``infer`` and
    ``wikidata`` are here."""
    formats = [f.name for f in (*RESULT_FORMATS, *GRAPH_FORMATS)]
    boolean = {"type": "boolean", "default": True}
    default, infer, wikidata = "", "", ""
    if kg is not None and sizes:
        default = f" Without it: {default_graph_text(kg, sizes)}"
        if not sizes.get(INFERRED.value):
            infer = " Nothing is inferred here: it changes nothing."
        if not sizes.get(WIKIDATA.value):
            wikidata = " No Wikidata graph is loaded here: it changes nothing."
    return [
        {
            "name": "query",
            "in": "query",
            "description": "The SPARQL query (GET, or POST with application/sparql-query: "
            "then the body). Nesting depth at most "
            f"{settings.max_query_depth}.",
            "schema": {"type": "string", "maxLength": settings.max_body_bytes},
        },
        {
            "name": "default-graph-uri",
            "in": "query",
            "description": "Graphs of the default graph (absolute IRIs of local graphs)." + default,
            "schema": {"type": "array", "items": {"type": "string", "format": "iri"}},
            "style": "form",
            "explode": True,
        },
        {
            "name": "named-graph-uri",
            "in": "query",
            "description": "Named graphs (absolute IRIs of local graphs).",
            "schema": {"type": "array", "items": {"type": "string", "format": "iri"}},
            "style": "form",
            "explode": True,
        },
        {
            "name": "infer",
            "in": "query",
            "description": "false: the inferred graph is not in the dataset at all." + infer,
            "schema": boolean,
        },
        {
            "name": "wikidata",
            "in": "query",
            "description": "false: the Wikidata graph is not in the dataset at all." + wikidata,
            "schema": boolean,
        },
        {
            "name": "timeout",
            "in": "query",
            "description": "Seconds the query may run, once a worker takes it.",
            "schema": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": settings.max_query_timeout,
                "default": settings.query_timeout,
            },
        },
        {
            "name": "format",
            "in": "query",
            "description": "The answer's format (wins over Accept); media types work too.",
            "schema": {"type": "string", "enum": formats},
        },
    ]


def responses(errors: dict[int, str], success: dict[str, Any]) -> dict[str, Any]:
    problem = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    documented: dict[str, Any] = {"200": success}
    for status, description in sorted(errors.items()):
        documented[str(status)] = {"description": description, "content": problem}
    return documented


def document(
    schema: dict[str, Any],
    settings: Settings,
    kg: KnowledgeGraph | None = None,
    served: str | None = None,
) -> dict[str, Any]:
    """Add the SPARQL endpoint's parameters, limits and answers to ``schema`` (in place):
    over ``kg``, its default graph as the endpoint builds it; ``served`` (what ``serve
    --data`` serves) replaces the curated graph's description."""
    if served:
        schema.setdefault("info", {})["description"] = (
            "karabakh-kg serving the data it was given (karabakh-kg serve --data), not the "
            f"curated graph of the 2020 Nagorno-Karabakh war: {served}. A SPARQL 1.1 endpoint "
            "at /sparql, resource pages, graph traversal and exports."
        )
    sizes = kg.triples_per_graph() if kg is not None else None
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    results: dict[str, Any] = {f.media_type: {} for f in RESULT_FORMATS}
    graphs: dict[str, Any] = {f.media_type: {} for f in GRAPH_FORMATS}
    success = {
        "description": "SELECT/ASK results or a CONSTRUCT/DESCRIBE graph, at most "
        f"{settings.max_rows} rows or triples and {settings.max_answer_bytes} bytes",
        "content": {**results, **graphs},
    }
    paths = schema.get("paths", {})
    query_parameters = parameters(settings, kg, sizes)
    for method, operation in paths.get("/sparql", {}).items():
        operation["parameters"] = query_parameters
        operation["responses"] = responses(QUERY_ERRORS, success)
        operation["responses"]["304"] = {"description": "Not modified (If-None-Match)"}
        if method == "post":
            operation["requestBody"] = {
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                p["name"]: p["schema"] for p in parameters(settings, kg, sizes)
                            },
                        }
                    },
                    "application/sparql-query": {
                        "schema": {"type": "string", "maxLength": settings.max_body_bytes}
                    },
                }
            }
    for method, operation in paths.get("/rdf-graphs/service", {}).items():
        if method != "get":
            operation["responses"] = responses(
                UPDATE_ERRORS, {"description": "What the write changed"}
            )
            continue
        operation["parameters"] = [
            {
                "name": "graph",
                "in": "query",
                "description": "The graph to read (an IRI of the store), or give ?default.",
                "schema": {"type": "string", "format": "iri"},
            },
            {
                "name": "default",
                "in": "query",
                "description": "Read the default graph.",
                "schema": {"type": "string", "maxLength": 0},
                "allowEmptyValue": True,
            },
            next(p for p in query_parameters if p["name"] == "format"),
        ]
        operation["responses"] = responses(
            GRAPH_STORE_ERRORS, {"description": "The graph", "content": graphs}
        )
        operation["responses"]["304"] = {"description": "Not modified (If-None-Match)"}
    for path in ("/sparql/update",):
        for operation in paths.get(path, {}).values():
            operation["responses"] = responses(
                UPDATE_ERRORS, {"description": "What the update changed"}
            )
    return schema
