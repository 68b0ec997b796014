"""``/reconcile``: the W3C Entity Reconciliation Community Group's Reconciliation Service API,
version 0.2 (https://www.w3.org/community/reports/reconciliation/CG-FINAL-specs-0.2-20230410/),
as OpenRefine uses it.

* ``GET /reconcile``: the service manifest;
* ``GET|POST /reconcile`` with ``queries``: a reconciliation query batch (JSON);
* ``GET|POST /reconcile`` with ``extend``: a data extension query (JSON);
* ``/reconcile/suggest/{entity,type,property}?prefix=&cursor=``: suggest services;
* ``/reconcile/preview?id=``: an HTML preview of an entity;
* ``/reconcile/propose_properties?type=&limit=``: properties to fetch for a type.

Entity ids are the local names of ``kg:`` IRIs (``sergei-lavrov``), type ids the local names
of ``kgo:`` classes (``Person``), property ids the local names of ``kgo:`` properties
(``holdsPost``) and ``wikidata``. Every answer allows any origin (CORS, required by the
specification). A malformed batch is a 400 problem naming the query and the member at fault.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine, Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute

from karabakh_kg.graph import KnowledgeGraph, lookup
from karabakh_kg.graph import reconcile as rc
from karabakh_kg.server.problems import Problem
from karabakh_kg.server.web import pages
from karabakh_kg.server.web.common import MAX_NAME_LENGTH, check_name, get_and_head
from karabakh_kg.server.web.engine_graph import PAST_THE_BOUND, engine_graph, whole_graph
from karabakh_kg.server.web.resource_data import local_path

CORS = {"Access-Control-Allow-Origin": "*"}


class _OpenToEveryOrigin(APIRoute):
    """A route whose every problem document carries :data:`CORS`, those the app's own
    dependencies raise before its handler runs too (a parameter given twice): OpenRefine
    and other browser clients call the service from other origins, and read its errors."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def open_to_every_origin(request: Request) -> Response:
            try:
                return await handle(request)
            except Problem as refused:
                refused.headers = {**CORS, **refused.headers}
                raise

        return open_to_every_origin


router = APIRouter(prefix="/reconcile", tags=["reconciliation"], route_class=_OpenToEveryOrigin)

MAX_BATCH = 50
"""Most queries in one batch (announced as ``batchSize``; more is a 413)."""
MAX_EXTEND_IDS = 200
MAX_EXTEND_PROPERTIES = 20
MAX_JSON_BYTES = 256 * 1024
DEFAULT_LIMIT = 5
SUGGEST_PAGE = 10
QUERY_MEMBERS = {"query", "type", "limit", "properties", "type_strict"}


def _graph(
    request: Request, texts: list[str] | None = None, ids: Iterable[str] = ()
) -> KnowledgeGraph:
    """The graph reconciled against: the app's; over an engine without a local copy, what
    reconciling ``texts`` and describing the entities ``ids`` reads of it
    (:meth:`~karabakh_kg.server.web.engine_graph.EngineGraph.reconciling`), or, without
    ``texts`` (a look among every entity), the graph read from it whole
    (:func:`~karabakh_kg.server.web.engine_graph.whole_graph`)."""
    reader = engine_graph(request)
    if reader is None:
        found: KnowledgeGraph = request.app.state.kg
        return found
    if texts is None:
        return whole_graph(request, "reconciliation among every entity")
    return reader.reconciling(texts, [rc.entity_iri(i) for i in ids])


def _schema(request: Request) -> KnowledgeGraph:
    """What type and property ids are checked against: the app's graph, or over an engine
    without a local copy, its ontology."""
    reader = engine_graph(request)
    if reader is None:
        found: KnowledgeGraph = request.app.state.kg
        return found
    return reader.ontology_graph()


def _bad(detail: str) -> Problem:
    return Problem(400, "malformed-reconciliation-batch", detail)


def _json(text: str, what: str) -> Any:
    if len(text.encode()) > MAX_JSON_BYTES:
        raise Problem(
            413,
            "body-too-large",
            f"{what} is over {MAX_JSON_BYTES} bytes",
            limit=MAX_JSON_BYTES,
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise _bad(
            f"{what} is not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:  # the decoder's own bound on nesting (about a thousand levels)
        raise _bad(f"{what} nests arrays or objects too deeply to read") from None


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _bad(f"{where} must be a string, not {json.dumps(value)[:40]}")
    if len(value) > MAX_NAME_LENGTH:
        raise _bad(f"{where} is {len(value)} characters long; at most {MAX_NAME_LENGTH}")
    return value


def _value(value: Any, where: str) -> str:
    """A property value: a string, number, boolean or {"id": ...} (as the schema allows)."""
    if isinstance(value, dict):
        if "id" not in value:
            raise _bad(f"{where} is an object without an 'id'")
        return _string(value["id"], f"{where}.id")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return _string(value, where)


def parse_batch(batch: Any, reconciler: rc.Reconciler) -> dict[str, rc.Query]:
    """The checked queries of a batch; a 400 problem names the first thing wrong."""
    if not isinstance(batch, dict):
        raise _bad('queries must be a JSON object of queries keyed by id, like {"q0": {...}}')
    if len(batch) > MAX_BATCH:
        raise Problem(
            413,
            "batch-too-large",
            f"the batch has {len(batch)} queries; at most {MAX_BATCH} (batchSize)",
            limit=MAX_BATCH,
        )
    known_props = rc.property_labels(reconciler.kg)
    parsed: dict[str, rc.Query] = {}
    for key, query in batch.items():
        where = f"query {key!r}"
        if not isinstance(query, dict):
            raise _bad(f"{where} must be an object, not {json.dumps(query)[:40]}")
        unknown = sorted(set(query) - QUERY_MEMBERS)
        if unknown:
            raise _bad(
                f"{where} has unknown member {unknown[0]!r}; members: {sorted(QUERY_MEMBERS)}"
            )
        text = _string(query["query"], f"{where}: query") if "query" in query else None
        raw_types = query.get("type", [])
        types = [raw_types] if isinstance(raw_types, str) else raw_types
        if not isinstance(types, list):
            raise _bad(f"{where}: type must be a type id or a list of type ids")
        types = [_string(t, f"{where}: type") for t in types]
        for type_id in types:
            if rc.type_iri(type_id) not in reconciler.ontology.ancestors:
                raise _bad(f"{where}: unknown type {type_id!r} (see /reconcile/suggest/type)")
        limit = query.get("limit", DEFAULT_LIMIT)
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int | float)
            or not math.isfinite(limit)
            or limit < 0
        ):
            raise _bad(f"{where}: limit must be a non-negative number")
        strict = query.get("type_strict", "any")
        if strict not in ("any", "should", "all"):
            raise _bad(f"{where}: type_strict must be any, should or all, not {strict!r}")
        raw_props = query.get("properties", [])
        if not isinstance(raw_props, list):
            raise _bad(f"{where}: properties must be a list of {{pid, v}} objects")
        props: list[tuple[str, list[str]]] = []
        for number, prop in enumerate(raw_props):
            at = f"{where}: properties[{number}]"
            if not isinstance(prop, dict) or "pid" not in prop or "v" not in prop:
                raise _bad(f"{at} must be an object with 'pid' and 'v'")
            pid = _string(prop["pid"], f"{at}.pid")
            if pid not in known_props:
                raise _bad(f"{at}: unknown property {pid!r} (see /reconcile/suggest/property)")
            values = prop["v"] if isinstance(prop["v"], list) else [prop["v"]]
            props.append((pid, [_value(v, f"{at}.v") for v in values]))
        if text is None and not props:
            raise _bad(f"{where} has neither a 'query' nor 'properties'")
        parsed[key] = rc.Query(text, types, strict, min(int(limit), rc.MAX_LIMIT), props)
    return parsed


def manifest(request: Request) -> dict[str, Any]:
    """The service manifest, with this server's addresses."""
    base = str(request.base_url).rstrip("/")
    service = base + "/reconcile"
    return {
        "versions": ["0.2"],
        "name": "karabakh-kg",
        "identifierSpace": rc.KG,
        "schemaSpace": rc.KGO,
        "documentation": base + "/docs#/reconciliation",
        "serviceVersion": "0.1.0",
        "batchSize": MAX_BATCH,
        "defaultTypes": [
            {"id": "Person", "name": "person"},
            {"id": "PoliticalEntity", "name": "political entity"},
            {"id": "Organization", "name": "organization"},
            {"id": "Place", "name": "place"},
            {"id": "Event", "name": "event"},
        ],
        "view": {"url": base + "/resource/{{id}}"},
        "preview": {"url": service + "/preview?id={{id}}", "width": 400, "height": 160},
        "suggest": {
            name: {"service_url": service, "service_path": f"/suggest/{name}"}
            for name in ("entity", "type", "property")
        },
        "extend": {
            "propose_properties": {"service_url": service, "service_path": "/propose_properties"},
            "property_settings": [],
        },
    }


def answer(request: Request, queries: str | None, extend: str | None) -> JSONResponse:
    """The manifest, the results of a query batch or a data extension."""
    if queries is not None and extend is not None:
        raise _bad("send either queries or extend, not both")
    if queries is None and extend is None:
        return JSONResponse(manifest(request), headers=CORS)
    schema = _schema(request)
    if queries is not None:
        batch = parse_batch(_json(queries, "queries"), rc.Reconciler(schema))
        texts = [query.text for query in batch.values() if query.text]
        # (a query by properties alone looks among every entity)
        every = any(query.text is None for query in batch.values())
        reconciler = rc.Reconciler(_graph(request, None if every else texts))
        results = {
            key: {"result": [c.to_dict() for c in reconciler.reconcile(query)]}
            for key, query in batch.items()
        }
        return JSONResponse(results, headers=CORS)
    assert extend is not None
    body = _json(extend, "extend")
    if not isinstance(body, dict) or not isinstance(body.get("ids"), list):
        raise _bad("extend must be an object with 'ids' (a list) and 'properties'")
    if not isinstance(body.get("properties"), list):
        raise _bad("extend must be an object with 'ids' and 'properties' (a list of {id})")
    if len(body["ids"]) > MAX_EXTEND_IDS or len(body["properties"]) > MAX_EXTEND_PROPERTIES:
        raise Problem(
            413,
            "batch-too-large",
            f"at most {MAX_EXTEND_IDS} ids and {MAX_EXTEND_PROPERTIES} properties per extension",
        )
    ids = [_string(i, "extend: ids[]") for i in body["ids"]]
    known = rc.property_labels(schema)
    pids = []
    for number, prop in enumerate(body["properties"]):
        if not isinstance(prop, dict) or "id" not in prop:
            raise _bad(f"extend: properties[{number}] must be an object with an 'id'")
        pid = _string(prop["id"], f"extend: properties[{number}].id")
        if pid not in known:
            raise _bad(f"extend: unknown property {pid!r} (see /reconcile/propose_properties)")
        pids.append(pid)
    meta, rows = rc.Reconciler(_graph(request, [], ids)).extend(ids, pids)
    return JSONResponse({"meta": meta, "rows": rows}, headers=CORS)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
"""The bodies a reconciliation POST is read from."""
QueriesQ = Annotated[str | None, Query(description="A reconciliation query batch (JSON).")]
ExtendQ = Annotated[str | None, Query(description="A data extension query (JSON).")]
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "A malformed batch or extension; `detail` names the query and member."
        + PAST_THE_BOUND
    },
    413: {"description": f"More than {MAX_BATCH} queries in one batch."},
    415: {"description": "A POST whose body is not a form."},
}


@get_and_head(router, "", responses=ERRORS, summary="Reconciliation: manifest, queries, extension")
def reconcile_get(request: Request, queries: QueriesQ = None, extend: ExtendQ = None) -> Any:
    """Without parameters, the service manifest; with ``queries`` or ``extend``, their answer."""
    return answer(request, queries, extend)


@router.post("", responses=ERRORS, summary="Reconciliation queries or data extension (form)")
def reconcile_post(
    request: Request,
    queries: Annotated[str | None, Form(description="A reconciliation query batch (JSON).")] = None,
    extend: Annotated[str | None, Form(description="A data extension query (JSON).")] = None,
) -> Any:
    """``queries=`` or ``extend=`` in an ``application/x-www-form-urlencoded`` body."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and kind not in FORM_TYPES:  # a JSON body, say: its fields would be read as missing
        raise Problem(
            415,
            "unsupported-media-type",
            f"Content-Type {kind!r} is not read here; send the fields 'queries' "
            "or 'extend' as a form (application/x-www-form-urlencoded), as OpenRefine does",
        )
    if queries is None and extend is None:
        raise _bad("a POST needs a form field 'queries' or 'extend'")
    return answer(request, queries, extend)


NAME_LIMIT = {"maxLength": MAX_NAME_LENGTH}
"""A name's bound, documented (refused past it with 414, as the other routes refuse it)."""
PrefixQ = Annotated[str, Query(description="What the user typed.", json_schema_extra=NAME_LIMIT)]
CursorQ = Annotated[int, Query(ge=0, le=10_000, description="Suggestions to skip.")]


def _bounded(text: str | None, what: str) -> None:
    """A name past the bound: 414 ``name-too-long`` as on every route."""
    check_name(text or "", what)


def _page(items: list[dict[str, Any]], cursor: int) -> JSONResponse:
    return JSONResponse({"result": items[cursor : cursor + SUGGEST_PAGE]}, headers=CORS)


@get_and_head(router, "/suggest/entity", summary="Suggest entities (auto-complete)")
def suggest_entity(request: Request, prefix: PrefixQ = "", cursor: CursorQ = 0) -> JSONResponse:
    """Entities whose names start with or contain ``prefix``; an id finds its entity."""
    _bounded(prefix, "prefix")
    kg = _graph(request, [prefix] if prefix else [])
    reconciler = rc.Reconciler(kg)
    found = lookup.search(kg, prefix, cursor + SUGGEST_PAGE, fuzzy=False) if prefix else []
    items = []
    for entity in found:
        types = reconciler.types_of(entity.iri)
        item: dict[str, Any] = {
            "id": rc.entity_id(entity.iri),
            "name": entity.label,
            "notable": [{"id": t, "name": n} for t, n in types],
        }
        if types:
            item["description"] = ", ".join(n for _, n in types)
        items.append(item)
    return _page(items, cursor)


@get_and_head(router, "/suggest/type", summary="Suggest types (auto-complete)")
def suggest_type(request: Request, prefix: PrefixQ = "", cursor: CursorQ = 0) -> JSONResponse:
    """kgo: classes whose name or label matches ``prefix``."""
    _bounded(prefix, "prefix")
    return _page(rc.type_suggestions(_schema(request), prefix), cursor)


@get_and_head(router, "/suggest/property", summary="Suggest properties (auto-complete)")
def suggest_property(request: Request, prefix: PrefixQ = "", cursor: CursorQ = 0) -> JSONResponse:
    """kgo: properties (and ``wikidata``) whose id or label matches ``prefix``."""
    _bounded(prefix, "prefix")
    return _page(rc.property_suggestions(_schema(request), prefix), cursor)


@get_and_head(router, "/propose_properties", summary="Properties to fetch for a type")
def propose_properties(
    request: Request,
    type: Annotated[str | None, Query(json_schema_extra=NAME_LIMIT)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JSONResponse:
    """The properties entities of ``type`` have, most used first."""
    _bounded(type, "type")
    reconciler = rc.Reconciler(_graph(request))
    if type and rc.type_iri(type) not in reconciler.ontology.ancestors:
        raise _bad(f"unknown type {type!r} (see /reconcile/suggest/type)")
    body: dict[str, Any] = {
        "properties": reconciler.proposed_properties(type, limit),
        "limit": limit,
    }
    if type:
        body["type"] = type
    return JSONResponse(body, headers=CORS)


@get_and_head(router, "/preview", response_class=HTMLResponse, summary="HTML preview of an entity")
def preview(
    request: Request,
    id: Annotated[str, Query(json_schema_extra=NAME_LIMIT)],
) -> HTMLResponse:
    """A small HTML page (for an iframe of 400 by 160 pixels) describing the entity."""
    _bounded(id, "id")
    reconciler = rc.Reconciler(_graph(request, [], [id]))
    iri = rc.entity_iri(id)
    entity = reconciler.index.entities.get(iri)
    if entity is None:
        raise Problem(404, "unknown-entity", f"no entity has the id {id!r}")
    values = reconciler.values(iri)
    posts = [reconciler.index.label(t.value) for t in values.get("holdsPost", [])]
    response = pages.render(
        request,
        "reconcile_preview.html",
        {
            "entity": entity,
            "types": [n for _, n in reconciler.types_of(iri)],
            "posts": posts,
            "wikidata": entity.wikidata,
            "href": local_path(iri),
        },
    )
    response.headers.update(CORS)
    return response
