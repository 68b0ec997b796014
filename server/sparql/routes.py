"""The SPARQL 1.1 Protocol: queries at ``/sparql``; updates and the Graph Store Protocol.

Queries: ``GET /sparql?query=``, ``POST`` form (``application/x-www-form-urlencoded``)
or ``POST application/sparql-query``. ``GET /sparql`` without a query answers the
Service Description to RDF clients and the query UI to browsers.

Writes (``POST /sparql/update``, alias ``/update``; ``PUT``/``POST``/``DELETE`` on
``/rdf-graphs/service``, alias ``/store``) are off unless the server enables them, and
then need ``Authorization: Bearer <KARABAKH_KG_UPDATE_TOKEN>``.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import weakref
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, cast

import anyio.to_thread
import pyoxigraph as ox
from python_multipart.multipart import parse_options_header
from starlette.requests import Request  # FastAPI's Request and responses are Starlette's
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from karabakh_kg.graph import (
    ASSERTED,
    KnowledgeGraph,
    UpdateError,
    apply_change,
    contributions_graph,
    formats,
)
from karabakh_kg.ontology import vocab
from karabakh_kg.server.deferred import DeclaredRouter
from karabakh_kg.server.problems import Problem
from karabakh_kg.server.settings import PREFIX
from karabakh_kg.server.sparql.conneg import (
    GRAPH_FORMATS,
    NotAcceptable,
    accepts_html,
    negotiate,
    refusal,
)
from karabakh_kg.server.sparql.description import describe
from karabakh_kg.server.sparql.execute import Endpoint, Prepared, data_only, single
from karabakh_kg.server.sparql.inspect import inspect
from karabakh_kg.server.sparql.protocol import QueryJob
from karabakh_kg.server.web.common import get_and_head, not_modified

if TYPE_CHECKING:
    from fastapi import APIRouter

# Declared without importing FastAPI, so that the plain routes below answer first (deferred.py).
router = cast("APIRouter", DeclaredRouter(tags=["SPARQL"]))

Params = dict[str, list[str]]
FORM = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
DATASET_KEYS = ("default-graph-uri", "named-graph-uri")
SPARQL_TEXT_TYPES = (FORM, QUERY_TYPE, UPDATE_TYPE)


LARGE_TEXT = 20_000
"""Query and update texts longer than this are read in a thread (:mod:`.inspect`)."""


def client_of(request: Request) -> str:
    """Who sends the request, for per-client limits: the peer's address."""
    return request.client.host if request.client else ""


def endpoint_of(request: Request) -> Endpoint:
    endpoint: Endpoint = request.app.state.sparql
    return endpoint


def multi(items: Any) -> Params:
    """Query or form parameters as name → every value."""
    params: Params = {}
    for key, value in items.multi_items():
        params.setdefault(key, []).append(value if isinstance(value, str) else "")
    return params


def media_type(request: Request) -> tuple[str, str]:
    """The request's media type (lower case) and charset (default utf-8).

    Forms, queries and updates are UTF-8 (SPARQL 1.1 Protocol 2.1.3, 2.2.2): any other
    declared charset is refused with 415 rather than guessed.
    """
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    media = kind.decode("latin-1").lower()
    charset = options.get(b"charset", b"utf-8").decode("latin-1").strip().lower()
    if media in SPARQL_TEXT_TYPES and charset not in {"utf-8", "utf8"}:
        raise Problem(
            415,
            "unsupported-media-type",
            f"{media} must be UTF-8; charset={charset} is not accepted (send UTF-8 text, "
            "and say charset=utf-8 or nothing)",
        )
    return media, charset


async def body_text(request: Request, charset: str) -> str:
    body = await request.body()
    try:
        return body.decode(charset)
    except (UnicodeDecodeError, LookupError):
        raise Problem(
            400, "bad-encoding", f"the request body is not valid {charset} text"
        ) from None


def data_headers(kg: KnowledgeGraph) -> dict[str, str]:
    return {
        "Last-Modified": formatdate(kg.modified, usegmt=True),
        "X-Data-Version": kg.version[:16],
    }


async def answer_query(
    request: Request, text: str | None, params: Params, dataset: Mapping[str, Sequence[str]]
) -> Response:
    """Check, run and serialize one query."""
    if text is None:
        raise Problem(400, "missing-query", "no query: give one with the 'query' parameter or body")
    endpoint = endpoint_of(request)
    accept = request.headers.get("accept")
    prepared: Prepared
    if len(text) > LARGE_TEXT:  # the reading is linear, but not free: off the event loop
        prepared = await anyio.to_thread.run_sync(
            functools.partial(endpoint.prepare, text, params, dataset, accept)
        )
    else:
        prepared = endpoint.prepare(text, params, dataset, accept)
    headers = {"ETag": prepared.etag, "Vary": "Accept", **data_headers(endpoint.kg)}
    if not_modified(request, prepared.etag, endpoint.kg.modified):
        return Response(status_code=304, headers=headers)
    answer = await endpoint.execute(prepared, client_of(request))
    fmt = prepared.graph_format if answer.form == "CONSTRUCT" else prepared.results_format
    assert fmt is not None
    return Response(content=answer.body, media_type=fmt.content_type, headers=headers)


@get_and_head(router, "/sparql", name="sparql_get")
async def sparql_get(request: Request) -> Response:
    """SPARQL query by GET; without a query: the Service Description, or the UI for browsers."""
    params = multi(request.query_params)
    if "update" in params:
        raise Problem(
            400,
            "update-on-query-endpoint",
            "updates are not accepted by GET; POST them to /sparql/update",
        )
    text = single(params, "query")
    if text is None:
        return service_description(request, params)
    return await answer_query(request, text, params, params)


@router.post("/sparql", name="sparql_post")
async def sparql_post(request: Request) -> Response:
    """SPARQL query by POST: a form with ``query=``, or the query as the body."""
    kind, charset = media_type(request)
    url_params = multi(request.query_params)
    if kind == FORM:
        form = multi(await request.form())
        if "update" in form:
            raise Problem(
                400,
                "update-on-query-endpoint",
                "this endpoint answers queries; POST updates to /sparql/update",
            )
        merged = {**url_params, **form}
        return await answer_query(request, single(form, "query"), merged, form)
    if kind == QUERY_TYPE:
        return await answer_query(
            request, await body_text(request, charset), url_params, url_params
        )
    if kind == UPDATE_TYPE:
        raise Problem(
            400,
            "update-on-query-endpoint",
            "this endpoint answers queries; POST updates to /sparql/update",
        )
    raise Problem(
        415,
        "unsupported-media-type",
        f"Content-Type {kind or '(none)'!r} is not accepted here; use {FORM} or {QUERY_TYPE}",
    )


def service_description(request: Request, params: Params) -> Response:
    accept = request.headers.get("accept")
    format_param = list(params.get("format") or [])
    if not format_param and accepts_html(accept):
        return query_ui(request)
    try:
        fmt = negotiate(GRAPH_FORMATS, accept, format_param)
    except NotAcceptable as error:
        raise Problem(*refusal(error), str(error)) from None
    endpoint = endpoint_of(request)
    triples = describe(endpoint.kg, endpoint.settings, str(request.url_for("sparql_get")))
    return Response(
        content=serialize(triples, fmt.name),
        media_type=fmt.content_type,
        headers={"Vary": "Accept", **data_headers(endpoint.kg)},
    )


def query_ui(request: Request) -> Response:
    """The browser query UI (``karabakh_kg.server.web.query_ui``), or a plain page without it."""
    try:
        from karabakh_kg.server.web.query_ui import render_query_ui
    except ImportError:
        return Response(
            "<!doctype html><meta charset=utf-8><title>SPARQL endpoint</title>"
            "<p>This is a SPARQL endpoint: send a query with <code>?query=</code>.</p>",
            media_type="text/html; charset=utf-8",
        )
    return render_query_ui(request)


def serialize(triples: list[ox.Triple], format_name: str) -> bytes:
    from karabakh_kg.server.sparql.protocol import RDF_FORMATS

    rdf_format = RDF_FORMATS[format_name]
    items: list[Any] = triples
    if rdf_format in (ox.RdfFormat.TRIG, ox.RdfFormat.N_QUADS):
        items = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples]
    body = ox.serialize(items, format=rdf_format, prefixes=dict(vocab.PREFIXES))
    assert body is not None
    return body


# -- writes ----------------------------------------------------------------------------


def require_writer(request: Request) -> str:
    """Refuse unless writes are enabled, kept (or knowingly ephemeral) and the bearer token
    is right; the name of the token's contributor."""
    endpoint = endpoint_of(request)
    settings = endpoint.settings
    if not settings.enable_updates:
        raise Problem(
            403,
            "updates-disabled",
            f"updates are disabled on this server ({PREFIX}ENABLE_UPDATES is off)",
        )
    if endpoint.kg.store_dir is None and not settings.ephemeral_updates:
        raise Problem(
            403,
            "updates-not-durable",
            "this server holds its data in memory, so updates would be lost when it stops: "
            f"start it with --store DIR, or accept the loss with {PREFIX}EPHEMERAL_UPDATES "
            "(--ephemeral-updates)",
        )
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="karabakh-kg"'}
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(
            401, "unauthorized", "updates need 'Authorization: Bearer <token>'", challenge
        )
    contributor = settings.contributor(token.strip())
    if contributor is None:
        raise Problem(401, "unauthorized", "the bearer token is not valid", challenge)
    return contributor


class DerivedWrites:
    """The derived writes of one endpoint's changes (``apply_change(..., later=...)``),
    run on the update thread once each change is answered, and before the next change in
    any case (a change already waiting for the thread runs them first): the answer then
    waits for one store transaction, the change's own, instead of two (bench/README.md,
    Storage). The query workers receive the whole change before the answer. One per
    endpoint, so that servers in one process wait for and settle their own stores only."""

    def __init__(self) -> None:
        self.held: list[Any] = []
        """Handed over and not yet run (read and changed on the update thread only)."""
        self.writing: Future[None] | None = None
        """The last hand-over's run while it may be under way: requests other than
        updates that arrive meanwhile wait for it (:class:`UpdateLane`)."""
        self.last: Any = None
        """The last write (``contributions.DerivedWrite``), whose ``settle`` the server's
        shutdown runs after it."""

    def hand_over(self, write: Any) -> None:
        self.held.append(write)
        self.writing = _updater().submit(self.run_held)
        self.last = write

    def run_held(self) -> None:
        """Run the writes handed over, oldest first (on the update thread)."""
        while self.held:
            self.held.pop(0)()


_derived_writes: weakref.WeakKeyDictionary[Endpoint, DerivedWrites] = weakref.WeakKeyDictionary()


def derived_writes(endpoint: Endpoint) -> DerivedWrites:
    """``endpoint``'s :class:`DerivedWrites` (made on first use, on the event loop's
    thread; the apps answering for one endpoint, ``serve``'s first one included, share it)."""
    found = _derived_writes.get(endpoint)
    if found is None:
        found = _derived_writes[endpoint] = DerivedWrites()
    return found


async def apply(request: Request, change: Any) -> JSONResponse:
    """Run ``change(later)`` (a function changing the knowledge graph, handing its derived
    quads' write to ``later``) under the update lock."""
    endpoint = endpoint_of(request)
    writes = derived_writes(endpoint)

    def run() -> dict[str, object]:
        with endpoint.update_lock:
            writes.run_held()  # the changes before this one are whole in the store first
            try:
                report = change(writes.hand_over)
            except UpdateError as error:
                raise Problem(400, "update-failed", str(error)) from None
            if report.change:
                # A copy of the store made for the workers must hold the derived quads.
                endpoint.store().refresh(report.change, before_copy=writes.run_held)
                endpoint.metrics.updates.inc()
                endpoint.freeze_reasoner()
            return report.to_dict()

    result = await asyncio.get_running_loop().run_in_executor(_updater(), run)
    return JSONResponse(result)


@functools.cache
def _updater() -> ThreadPoolExecutor:
    """The one thread changes are applied in (they take the update lock in turn anyway):
    handing a change to an executor's thread costs about half the CPU ``anyio.to_thread``
    does, its capacity limiter and cancel scope included (bench/README.md, Storage)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="karabakh-kg-updates")


USING_PARAMETERS = ("using-graph-uri", "using-named-graph-uri")
"""The SPARQL 1.1 Protocol's dataset parameters of an update (2.2.3)."""


@router.post("/sparql/update", name="sparql_update")
@router.post("/update", include_in_schema=False)
async def sparql_update(request: Request) -> Response:
    """SPARQL 1.1 Update on the asserted graph (off by default; bearer token)."""
    contributor = require_writer(request)
    kind, charset = media_type(request)
    form: Params = {}
    if kind == FORM:
        form = multi(await request.form())
        text = single(form, "update")
    elif kind == UPDATE_TYPE:
        text = await body_text(request, charset)
    else:
        raise Problem(
            415,
            "unsupported-media-type",
            f"Content-Type {kind or '(none)'!r} is not accepted here; use {FORM} or {UPDATE_TYPE}",
        )
    given = [name for name in USING_PARAMETERS if name in request.query_params or name in form]
    if given:  # the protocol's dataset of an update: not read, so refused, not ignored
        raise Problem(
            400,
            "bad-parameter",
            f"{' and '.join(given)} are not supported here: name the graphs in the update "
            "itself (USING, USING NAMED, WITH)",
        )
    if not text or not text.strip():
        raise Problem(400, "missing-update", "no update: give one with 'update=' or the body")
    endpoint = endpoint_of(request)
    large = len(text) > LARGE_TEXT
    # Data alone (the usual small INSERT DATA) is an update one deep that cannot call out:
    # the grammar's reading would tell nothing more (data_only), so it is skipped.
    data = None if large else data_only(text)
    if data is None:
        # Reading a long update (INSERT DATA of thousands of triples) takes a good part of
        # a second: off the event loop, so that other requests go on meanwhile.
        inspection = await anyio.to_thread.run_sync(inspect, text) if large else inspect(text)
        if inspection.form in {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}:
            raise Problem(400, "query-on-update-endpoint", "this is a query; send it to /sparql")
        endpoint.check_depth(inspection)
    # No query string (the usual case): no parameters to read, so no time limit asked for.
    query_string = request.scope.get("query_string")
    timeout = (
        endpoint.timeout_of(multi(request.query_params))
        if query_string
        else endpoint.settings.query_timeout
    )
    # SERVICE and LOAD are checked in the worker, from the parse, before evaluation.
    kg = endpoint.kg

    def change(later: Any) -> Any:
        # Evaluated in a worker under the time limit; applied here only if it finished.
        added, removed = endpoint.update_difference(text, timeout, data)
        return apply_change(kg, added, removed, contributor=contributor, text=text, later=later)

    return await apply(request, change)


# -- Graph Store Protocol ----------------------------------------------------------------


def target_graph(request: Request, params: Params) -> str | None:
    """The graph a Graph Store request names: an IRI, or None for ``?default``."""
    graph = single(params, "graph")
    if "default" in params and graph is None:
        return None
    if graph is None:
        raise Problem(400, "missing-graph", "name a graph with ?graph=<IRI> or ?default")
    if "default" in params:
        raise Problem(400, "bad-parameter", "give either ?graph= or ?default, not both")
    return graph


@get_and_head(router, "/rdf-graphs/service", name="graph_store_get")
@router.api_route("/store", methods=["GET", "HEAD"], include_in_schema=False)
async def graph_store_get(request: Request) -> Response:
    """Read a graph (``?graph=<IRI>`` or ``?default``) in the negotiated RDF format."""
    params = multi(request.query_params)
    graph = target_graph(request, params)
    endpoint = endpoint_of(request)
    if graph is not None and graph not in endpoint.named_graphs(True):
        raise Problem(404, "unknown-graph", f"there is no graph <{graph}> in this store")
    try:
        fmt = negotiate(GRAPH_FORMATS, request.headers.get("accept"), params.get("format"))
    except NotAcceptable as error:
        raise Problem(*refusal(error), str(error)) from None
    job = QueryJob(
        "CONSTRUCT WHERE { ?s ?p ?o }",
        default_graph=endpoint.default_graphs(True) if graph is None else [graph],
        named_graphs=[],
        results_format=None,
        graph_format=fmt.name,
        max_rows=endpoint.settings.max_rows,
        max_bytes=endpoint.settings.max_answer_bytes,  # the caps of a query, both
        prefixes=dict(vocab.PREFIXES),
    )
    digest = hashlib.sha256(f"{endpoint.kg.version}\0{graph}\0{fmt.name}".encode())
    etag = f'"g-{digest.hexdigest()[:32]}"'
    headers = {"ETag": etag, "Vary": "Accept", **data_headers(endpoint.kg)}
    if not_modified(request, etag, endpoint.kg.modified):
        return Response(status_code=304, headers=headers)
    prepared = Prepared(inspect(job.sparql), job, endpoint.settings.query_timeout, None, fmt, etag)
    try:
        answer = await endpoint.execute(prepared, client_of(request))
    except Problem as refused:
        if refused.code not in {"too-many-results", "answer-too-large"}:
            raise
        # a Graph Store read has no LIMIT and OFFSET to page with: say what does
        what = "graph" if graph is not None else "default graph"
        raise Problem(
            refused.status,
            refused.code,
            f"the {what} is larger than the server's limit of {refused.extensions.get('limit')} "
            f"{'triples' if refused.code == 'too-many-results' else 'bytes'} for one answer; "
            "read it in pages with SPARQL (CONSTRUCT … LIMIT and OFFSET at /sparql)",
            limit=refused.extensions.get("limit"),
        ) from None
    return Response(answer.body, media_type=fmt.content_type, headers=headers)


_ENTITY_DECLARATIONS = tuple("<!ENTITY".encode(c) for c in ("utf-8", "utf-16-le", "utf-16-be"))


def _declares_entities(body: bytes) -> bool:
    """Whether an XML body declares entities, which the RDF/XML parser expands: a few
    hundred bytes of nested ones make a value of gigabytes."""
    return any(declaration in body for declaration in _ENTITY_DECLARATIONS)


async def read_body_graph(request: Request) -> list[ox.Triple]:
    kind, charset = media_type(request)
    try:
        rdf_format = ox.RdfFormat.from_media_type(kind) if kind else None
    except ValueError:
        rdf_format = None
    if rdf_format is None:
        raise Problem(
            415,
            "unsupported-media-type",
            f"Content-Type {kind or '(none)'!r} is not an RDF format this server reads",
        )
    # Turtle, N-Triples, N-Quads, TriG and JSON-LD are UTF-8 by their specifications; an
    # RDF/XML document names its own encoding
    if rdf_format != ox.RdfFormat.RDF_XML and charset not in {"utf-8", "utf8"}:
        raise Problem(
            415,
            "unsupported-media-type",
            f"{kind} is UTF-8; charset={charset} is not accepted (send UTF-8, and say "
            "charset=utf-8 or nothing)",
        )
    body = await request.body()
    if rdf_format == ox.RdfFormat.RDF_XML and _declares_entities(body):
        raise Problem(
            400,
            "xml-entities",
            "the RDF/XML body declares XML entities (<!ENTITY>), which are refused: their "
            "expansion is not bounded by the body's size; write the values out",
        )
    if rdf_format == ox.RdfFormat.JSON_LD and formats.json_nested_past(body):
        raise Problem(
            400,
            "rdf-too-deep",
            f"the JSON-LD body nests objects and arrays more than {formats.MAX_JSON_LD_DEPTH} "
            "deep, which is refused before parsing; flatten it",
            limit=formats.MAX_JSON_LD_DEPTH,
        )
    try:
        quads = list(ox.parse(body, format=rdf_format))
    except (SyntaxError, ValueError) as error:
        raise Problem(400, "malformed-rdf", f"cannot parse the body: {error}") from None
    if any(not isinstance(q.graph_name, ox.DefaultGraph) for q in quads):
        raise Problem(400, "named-graphs-in-body", "the body must hold triples, not quads")
    return [ox.Triple(q.subject, q.predicate, q.object) for q in quads]


def writable(request: Request, params: Params, contributor: str) -> bool:
    """Whether the request writes the contributor's own graph (else the asserted graph,
    which only takes additions: it holds curated triples)."""
    graph = target_graph(request, params)
    own = contributions_graph(contributor).value
    if graph == own:
        return True
    if graph is not None and graph != ASSERTED.value:
        raise Problem(
            403,
            "graph-not-writable",
            f"writable graphs: your contributions graph <{own}>, and the asserted graph "
            f"({ASSERTED.value}, also ?default) for additions; the inferred graph is derived "
            "and the others come from curated files or other contributors",
        )
    if request.method != "POST":
        raise Problem(
            403,
            "graph-not-writable",
            f"the asserted graph holds curated triples, so it cannot be replaced or cleared; "
            f"{request.method} your contributions graph <{own}> instead",
        )
    return False


@router.put("/rdf-graphs/service", name="graph_store_put")
@router.post("/rdf-graphs/service", name="graph_store_post")
@router.delete("/rdf-graphs/service", name="graph_store_delete")
@router.api_route("/store", methods=["PUT", "POST", "DELETE"], include_in_schema=False)
async def graph_store_write(request: Request) -> Response:
    """Add to the asserted graph (POST), or replace (PUT), add to (POST) or clear (DELETE)
    the caller's contributions graph (off by default)."""
    contributor = require_writer(request)
    writable(request, multi(request.query_params), contributor)
    kg = endpoint_of(request).kg
    own = contributions_graph(contributor)
    text = f"Graph Store Protocol {request.method} {request.url.path}?{request.url.query}"

    def mine() -> set[ox.Triple]:
        return {
            ox.Triple(q.subject, q.predicate, q.object)
            for q in kg.store.quads_for_pattern(None, None, None, own)
        }

    def write(added: Any, removed: Any, later: Any) -> Any:
        return apply_change(
            kg,
            added,
            removed,
            contributor=contributor,
            text=text,
            own_graph_only=True,
            later=later,
        )

    if request.method == "DELETE":
        return await apply(request, lambda later: write([], mine(), later))
    triples = await read_body_graph(request)
    if request.method == "POST":
        return await apply(request, lambda later: write(triples, [], later))
    new = set(triples)
    return await apply(request, lambda later: write(new - mine(), mine() - new, later))


# The protocol's busiest operations again, ahead of the routes above, as plain Starlette
# routes: their handlers take the bare request, so FastAPI's per-request work around them
# (its request handler, dependency solving, scope bookkeeping) does nothing for them and
# cost about 8 % of a cheap query's event-loop CPU (bench/README.md, Storage). The FastAPI
# routes stay for the API document (/openapi.json) and for methods these do not take.
router.routes[:0] = [
    Route(path, handler, methods=methods, name=name, include_in_schema=False)
    for path, handler, methods, name in (
        ("/sparql", sparql_get, ["GET", "HEAD"], "sparql_get"),
        ("/sparql", sparql_post, ["POST"], "sparql_post"),
        ("/sparql/update", sparql_update, ["POST"], "sparql_update"),
        ("/update", sparql_update, ["POST"], None),
    )
]


class UpdateLane:
    """ASGI middleware, the application's outermost: a ``POST /sparql/update`` (or
    ``/update``) of ``application/sparql-update`` text goes straight to
    :func:`sparql_update`, past the rest of the middleware and the router, which do nothing
    for it and cost most of an update's event-loop CPU (bench/README.md, Storage).

    What they do for it is done here the same way: the body's size limit and read time
    limit (the same :class:`~karabakh_kg.server.sparql.limits.BodyGuard` classes), and
    errors answered by the application's own exception handlers (any other exception is
    raised to the server's error middleware, which answers 500 as for any route), and once
    answered the pages' routers' import started (:mod:`karabakh_kg.server.deferred`). A
    request with an ``Origin`` header (CORS) and any other request take the whole way,
    once the derived quads of the changes answered before it are in the store
    (:class:`DerivedWrites`): what this process reads from its store after an update's
    answer includes its inferences, as the query workers' answers do."""

    PATHS = frozenset({"/sparql/update", "/update"})

    def __init__(self, app: Any, max_bytes: int, body_timeout: float) -> None:
        from karabakh_kg.server.sparql.limits import BodyReadTimeout, BodySizeLimit

        self.app = app
        self.guarded = BodyReadTimeout(BodySizeLimit(self.answer, max_bytes), body_timeout)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] in self.PATHS
            and self.takes(scope)
        ):
            await self.guarded(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self.app(scope, receive, self._settling(scope, send))
        else:
            # Received after an update's answer: it sees the update's inferences too, in
            # the store of this process (the query workers have them already).
            writes = self._writes(scope)
            writing = None if writes is None else writes.writing
            if writing is not None and not writing.done():
                # Waited for, not raised: a write's failure is the next start's to repair.
                await asyncio.wait([asyncio.wrap_future(writing)])
            await self.app(scope, receive, send)

    @staticmethod
    def _writes(scope: Any) -> DerivedWrites | None:
        """The derived writes of the endpoint of the app ``scope`` reached, if it has any."""
        app = scope.get("app")
        endpoint = None if app is None else getattr(app.state, "sparql", None)
        return None if endpoint is None else _derived_writes.get(endpoint)

    @staticmethod
    def _settling(scope: Any, send: Any) -> Any:
        """``send`` of the lifespan, which at shutdown, once every change's derived quads
        are written, settles the durable store (``derived-lags`` removed, so the next
        start has nothing to catch up)."""

        async def settling(message: Any) -> None:
            writes = UpdateLane._writes(scope)
            done = message["type"] == "lifespan.shutdown.complete"
            if done and writes is not None and writes.last is not None:
                await asyncio.wrap_future(_updater().submit(writes.last.settle))
                writes.last = None  # nor its graph and store kept once the server stopped
            await send(message)

        return settling

    @staticmethod
    def takes(scope: Any) -> bool:
        """Whether the request is SPARQL Update text without ``Origin`` (for which the rest
        of the stack does nothing but what :meth:`answer` does)."""
        kind = b""
        for name, value in scope["headers"]:
            if name == b"origin":
                return False
            if name == b"content-type":
                kind = value
        return kind[: len(UPDATE_TYPE)].lower() == UPDATE_TYPE.encode()

    async def answer(self, scope: Any, receive: Any, send: Any) -> None:
        app = scope["app"]
        request = Request(scope, receive)
        try:
            response = await sparql_update(request)
        except Exception as error:
            handler = _exception_handler(app, error)
            if handler is None:
                raise
            response = await handler(request, error)
        # What the CORS middleware adds to an answer to a request without Origin.
        response.headers["Vary"] = ", ".join([*response.headers.getlist("Vary"), "Origin"])
        try:
            await response(scope, receive, send)
        finally:
            routers = getattr(app.state, "routers", None)
            if routers is not None:
                routers.start()  # answered: the pages' turn, as WaitForRouters does


def _exception_handler(app: Any, error: Exception) -> Any:
    """The handler ``app`` has for ``error`` (by its class, nearest first), as its
    exception middleware finds it; None for what only the error middleware answers."""
    handlers = app.exception_handlers
    for cls in type(error).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None
