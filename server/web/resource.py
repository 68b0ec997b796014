"""Linked Data pages: ``/resource/{name}``, ``/evidence/{name}``, ``/ontology``, ``/explain``.

Content negotiation is direct (no 303): ``/resource/{name}`` answers HTML or RDF according
to ``Accept`` (with ``Vary: Accept`` and a ``Content-Location`` naming the variant), and the
variants have their own addresses, ``/resource/{name}.ttl`` (``.nt``, ``.jsonld``, ``.rdf``,
``.html``). A ``format=`` parameter does the same for browsers. See ``docs/web-ui.md``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated, Any

import pyoxigraph as ox
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from karabakh_kg.graph import ONTOLOGY, KnowledgeGraph, derived_view, formats, parse_term
from karabakh_kg.graph import explain as explain_triple
from karabakh_kg.ontology import vocab
from karabakh_kg.server.problems import problem_response
from karabakh_kg.server.sparql import conneg
from karabakh_kg.server.sparql.description import given_ontology
from karabakh_kg.server.terms import TermError, resolve_term
from karabakh_kg.server.web import pages
from karabakh_kg.server.web.common import (
    MAX_NAME_LENGTH,
    MAX_TERM_LENGTH,
    get_and_head,
    not_modified,
    not_modified_response,
    query_value,
)
from karabakh_kg.server.web.resource_data import (
    KG,
    KGE,
    Describer,
    Term,
    graph_stats,
    local_path,
    ontology_terms,
)
from karabakh_kg.server.web.says_who import says_who

router = APIRouter(tags=["linked data"])


@dataclass(frozen=True)
class Variant:
    """One representation a page can take."""

    key: str  # file extension and ``format=`` value
    media_type: str
    rdf_format: ox.RdfFormat | None  # None for HTML
    label: str


HTML = Variant("html", "text/html", None, "HTML")
TRIPLE_VARIANTS = [
    Variant(f.extension, f.media_type, f.rdf_format, f.label) for f in formats.TRIPLE_FORMATS
]
QUAD_VARIANTS = [
    Variant(f.extension, f.media_type, f.rdf_format, f.label) for f in formats.QUAD_FORMATS
]


class NegotiationError(Exception):
    """A request whose wanted format cannot be served (400 or 406)."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or ("not-acceptable" if status == 406 else "unknown-format")

    @classmethod
    def of(cls, error: ValueError) -> NegotiationError:
        """The refusal of a failed negotiation, as every route answers it (conneg.refusal)."""
        status, code = conneg.refusal(error)
        return cls(status, str(error), code)


def split_extension(name: str, variants: list[Variant]) -> tuple[str, Variant | None]:
    """``sergei-lavrov.ttl`` → (``sergei-lavrov``, Turtle); names without one are unchanged."""
    stem, dot, ext = name.rpartition(".")
    if dot:
        for variant in variants:
            if variant.key == ext:
                return stem, variant
    return name, None


def negotiate(request: Request, variants: list[Variant], explicit: Variant | None) -> Variant:
    """Pick the representation: path extension, then ``format=``, then ``Accept`` q-values.

    The RDF format is chosen by the server's one negotiation
    (:func:`karabakh_kg.server.sparql.conneg.negotiate`, which knows every name and media
    type clients use); HTML, which is no RDF format, is offered beside it and wins ties, so
    a browser's ``*/*`` gets the page.
    """
    if explicit is not None:
        return explicit
    by_key = {v.key: v for v in variants}
    rdf = tuple(f for f in formats.GRAPH_FORMATS if f.extension in by_key)
    wanted = query_value(request, "format")
    accept = request.headers.get("accept", "").strip()
    try:
        chosen = conneg.negotiate_page(rdf, accept, wanted, html=HTML in variants)
    except conneg.MalformedAccept as error:
        raise NegotiationError.of(error) from None
    except conneg.NotAcceptable:
        if wanted is not None:
            message = f"unknown format {wanted!r}; use one of: {', '.join(by_key)}"
            raise NegotiationError(400, message) from None
        media = ", ".join(v.media_type for v in variants)
        raise NegotiationError(
            406, f"cannot produce any of {accept!r}; available: {media}"
        ) from None
    return HTML if chosen is None else by_key[chosen.extension]


def _error(
    request: Request, status: int, code: str, message: str, *, html: bool | None = None
) -> Response:
    """An error page for browsers, the server's problem document for everyone else."""
    if html is None:
        html = _wants_html(request)
    if html:
        return pages.render(
            request, "error.html", {"status": status, "message": message}, status_code=status
        )
    return problem_response(status, code, message)


def _wants_html(request: Request) -> bool:
    """Whether an error or an explanation is shown as a page (else as JSON): ``format=html``,
    no Accept header, or one ranking HTML at least as high as JSON."""
    if (query_value(request, "format") or "").lower() == "html":
        return True
    return conneg.prefers_html(
        request.headers.get("accept"), ("application/json",), when_absent=True
    )


def _kg(request: Request) -> KnowledgeGraph:
    kg: KnowledgeGraph = request.app.state.kg
    return kg


_SLOTS_MADE = threading.Lock()


def _engine(request: Request) -> Any:
    """Over an engine (``serve --backend``), the store pages read: each query with the query
    time limit (``RemoteStore.bounded``), at most ``query_workers`` of them at once for all
    pages (``resource_engine.Slotted``, waiting up to ``queue_timeout`` for a slot); else
    None."""
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        return None
    from karabakh_kg.server.web.resource_engine import Slotted

    state, settings = request.app.state, request.app.state.settings
    with _SLOTS_MADE:
        slots = getattr(state, "_engine_slots", None)
        if slots is None:
            slots = state._engine_slots = threading.BoundedSemaphore(settings.query_workers)
    return Slotted(engine.bounded(settings.query_timeout), slots, settings.queue_timeout)


def _describer(request: Request) -> Describer:
    """One describer per data version (its label cache must not outlive an update); over
    an engine, one that reads each page from it (``resource_engine``)."""
    kg = _kg(request)
    cached = getattr(request.app.state, "_describer", None)
    if cached is None or cached.kg is not kg or cached.version != kg.version:
        engine = _engine(request)
        if engine is None:
            cached = Describer(kg)
        else:  # serve --backend: pages read the engine
            from karabakh_kg.server.web.resource_engine import EngineDescriber

            cached = EngineDescriber(kg, engine)
        request.app.state._describer = cached
    describer: Describer = cached
    return describer


def _says_who(request: Request, iri: str) -> dict[str, Any]:
    """The perspectives and disputes of a resource page (``says_who``): the reasoner's, over
    the whole graph; over an engine without a local copy, read from it in bounded queries
    (``says_who_over_engine``)."""
    kg = _kg(request)
    name = query_value(request, "perspective")
    from karabakh_kg.server.web.engine_graph import engine_graph

    over_engine = engine_graph(request)
    if over_engine is not None:  # serve --backend without a local copy: read from the engine
        from karabakh_kg.server.web.says_who import says_who_over_engine

        return says_who_over_engine(over_engine, iri, name)
    return says_who(kg, iri, name)


def _etag(request: Request, key: str) -> str:
    return f'"{_kg(request).version[:20]}-{key}"'


def _alternates(base: str, variants: list[Variant]) -> list[dict[str, str]]:
    return [{"href": f"{base}.{v.key}", "type": v.media_type, "label": v.label} for v in variants]


def _link_header(alternates: list[dict[str, str]]) -> str:
    return ", ".join(f'<{a["href"]}>; rel="alternate"; type="{a["type"]}"' for a in alternates)


def _choose(
    request: Request, variants: list[Variant], explicit: Variant | None
) -> Variant | Response:
    """The variant the request gets (:func:`negotiate`), or the error page answering it."""
    try:
        return negotiate(request, variants, explicit)
    except NegotiationError as error:
        return _error(request, error.status, error.code, error.message)


@dataclass(frozen=True)
class Chosen:
    """The representation a page request gets: its variant, address and ETag."""

    variant: Variant
    base: str
    """The page's address without extension (``/resource/sergei-lavrov``)."""
    etag: str
    negotiated: bool
    """Chosen from the request's headers (not its address): the answer varies by Accept."""

    def headers(self, alternates: list[dict[str, str]] | None = None) -> dict[str, str]:
        """The validators and content headers of the answer (a 304 carries them too)."""
        found = {"ETag": self.etag, "Content-Location": f"{self.base}.{self.variant.key}"}
        if alternates is not None:
            found["Link"] = _link_header(alternates)
        if self.negotiated:
            found["Vary"] = "Accept"
        return found

    def rdf(self, body: bytes) -> Response:
        """The RDF answer."""
        media_type = f"{self.variant.media_type}; charset=utf-8"
        return Response(body, media_type=media_type, headers=self.headers())


def _chosen(
    request: Request, variant: Variant, explicit: Variant | None, base: str, key: str
) -> Chosen | Response:
    """The :class:`Chosen` representation, or ``304 Not Modified`` when the client's copy
    (``If-None-Match``) is current."""
    chosen = Chosen(variant, base, _etag(request, key), explicit is None)
    if not_modified(request, chosen.etag):
        return not_modified_response(chosen.etag, chosen.headers())
    return chosen


def used_prefixes(data: list[ox.Triple] | list[ox.Quad]) -> dict[str, str]:
    """The project prefixes whose namespaces the data uses (a short Turtle header)."""
    iris = {
        term.value
        for item in data
        for term in (item.subject, item.predicate, item.object)
        if isinstance(term, ox.NamedNode)
    }
    iris |= {
        term.datatype.value
        for item in data
        for term in [item.object]
        if isinstance(term, ox.Literal)
    }
    return {
        name: namespace
        for name, namespace in vocab.PREFIXES.items()
        if any(iri.startswith(namespace) for iri in iris)
    }


def serialize(data: list[ox.Triple] | list[ox.Quad], variant: Variant) -> bytes:
    """Serialize triples or quads with the project's prefixes."""
    assert variant.rdf_format is not None
    prefixes = None if variant.rdf_format == ox.RdfFormat.N_TRIPLES else used_prefixes(data)
    if variant.rdf_format in (ox.RdfFormat.N_QUADS, ox.RdfFormat.TRIG) or (
        variant.rdf_format == ox.RdfFormat.JSON_LD and data and isinstance(data[0], ox.Quad)
    ):
        body = ox.serialize(data, format=variant.rdf_format, prefixes=prefixes)
    else:
        triples = [q.triple if isinstance(q, ox.Quad) else q for q in data]
        body = ox.serialize(triples, format=variant.rdf_format, prefixes=prefixes)
    return body or b""


def _not_found(request: Request, kind: str, name: str, iri: str, html: bool) -> Response:
    if len(name) > MAX_NAME_LENGTH:
        message = (
            f"no {kind} has a name of {len(name)} characters "
            f"(names are at most {MAX_NAME_LENGTH} characters)"
        )
        if html:
            return _error(request, 414, "name-too-long", message, html=True)
        return problem_response(414, "name-too-long", message, limit=MAX_NAME_LENGTH)
    suggestions = [
        {"iri": s_iri, "label": label, "href": local_path(s_iri) or s_iri}
        for s_iri, label in _describer(request).suggest(name.replace("-", " "), 8)
    ]
    message = f"no {kind} named {name!r} (<{iri}>) in this knowledge graph"
    if html:
        return pages.render(
            request,
            "not_found.html",
            {"message": message, "suggestions": suggestions, "name": name},
            status_code=404,
        )
    return problem_response(404, "unknown-resource", message, suggestions=suggestions)


def _is_iri(iri: str) -> bool:
    """Whether ``iri`` is a valid IRI (a name with a space, ``%`` or NUL cannot name anything)."""
    try:
        ox.NamedNode(iri)
    except ValueError:
        return False
    return True


# -- pages ------------------------------------------------------------------------------------


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
def home(request: Request) -> Response:
    """The home page: what this is, where to go, how big the graph is."""
    served = getattr(request.app.state, "served", None)  # set by ``serve --data``
    return pages.render(
        request,
        "home.html",
        {"stats": graph_stats(_kg(request), _engine(request)), "served": served},
    )


@router.api_route("/query", methods=["GET", "HEAD"], include_in_schema=False)
def query_page(request: Request) -> Response:
    """The SPARQL query UI (also shown to browsers on ``GET /sparql`` without a query)."""
    from karabakh_kg.server.web.query_ui import render_query_ui

    return render_query_ui(request)


@get_and_head(router, "/resource/{name}")
def resource(request: Request, name: str) -> Response:
    """A curated entity: HTML for browsers, RDF (Turtle, JSON-LD, ...) for clients."""
    variants = [*TRIPLE_VARIANTS, HTML]
    stem, explicit = split_extension(name, variants)
    variant = _choose(request, variants, explicit)
    if isinstance(variant, Response):
        return variant
    iri = KG + stem
    describer = _describer(request)
    if not stem or len(stem) > MAX_NAME_LENGTH or not _is_iri(iri) or not describer.exists(iri):
        return _not_found(request, "resource", stem, iri, variant is HTML)
    perspective = query_value(request, "perspective")
    if perspective is None:
        perspective = "all"
    from karabakh_kg.server.sparql.execute import parse_bool  # as /sparql reads infer=

    infer = parse_bool({"infer": request.query_params.getlist("infer")}, "infer")
    include_inferred = infer is not False or variant is HTML  # (a page shows both kinds)
    base = f"/resource/{stem}"
    key = f"{stem}.{variant.key}.{perspective}" + ("" if include_inferred else ".asserted")
    chosen = _chosen(request, variant, explicit, base, key)  # the ETag: one per answer
    if isinstance(chosen, Response):
        return chosen
    alternates = _alternates(base, TRIPLE_VARIANTS)
    says: dict[str, Any] = {"perspective": "all"}
    if variant is HTML or perspective != "all":  # RDF in a perspective too, as asked
        try:
            says = _says_who(request, iri)
        except LookupError as error:
            refused = str(error)
            return _error(request, 400, "unknown-perspective", refused, html=variant is HTML)
        if says["perspective"] != "all":
            describer = Describer(says.pop("view_kg"))
        says.pop("view_kg", None)
    if variant is HTML:
        view = describer.describe(iri)
        return pages.render(
            request,
            "resource.html",
            {
                "view": view,
                "alternates": alternates,
                "explorer": f"/explorer?focus={iri}",
                **says,
            },
            headers=chosen.headers(alternates),
        )
    return chosen.rdf(
        serialize(describer.resource_triples(iri, include_inferred=include_inferred), variant)
    )


@get_and_head(router, "/evidence/{name}")
def evidence(request: Request, name: str) -> Response:
    """An evidence unit: its quote, who says it, and the triples it supports."""
    variants = [*TRIPLE_VARIANTS, *QUAD_VARIANTS, HTML]
    stem, explicit = split_extension(name, variants)
    variant = _choose(request, variants, explicit)
    if isinstance(variant, Response):
        return variant
    iri = KGE + stem
    describer = _describer(request)
    valid = stem and len(stem) <= MAX_NAME_LENGTH and _is_iri(iri)
    found = describer.evidence_view(iri) if valid else None
    if found is None:
        return _not_found(request, "evidence unit", stem, iri, variant is HTML)
    base = f"/evidence/{stem}"
    chosen = _chosen(request, variant, explicit, base, f"evidence-{stem}.{variant.key}")
    if isinstance(chosen, Response):
        return chosen
    if variant is HTML:
        info, facts = found
        alternates = _alternates(base, [*TRIPLE_VARIANTS, *QUAD_VARIANTS])
        return pages.render(
            request,
            "evidence.html",
            {"info": info, "facts": facts, "alternates": alternates, "curie": stem},
            headers=chosen.headers(alternates),
        )
    return chosen.rdf(serialize(describer.evidence_quads(iri), variant))


@get_and_head(router, "/ontology")
def ontology(request: Request) -> Response:
    """The ontology: an HTML listing of classes and properties, or the OWL document."""
    return _ontology(request, None)


@router.api_route("/ontology.{ext}", methods=["GET", "HEAD"], include_in_schema=False)
def ontology_variant(request: Request, ext: str) -> Response:
    """One fixed representation of the ontology (``/ontology.ttl`` ...)."""
    variant = {v.key: v for v in [*TRIPLE_VARIANTS, HTML]}.get(ext)
    if variant is None:
        return _error(request, 404, "unknown-format", f"no ontology document with extension .{ext}")
    return _ontology(request, variant)


@router.api_route("/ontology/{term}", methods=["GET", "HEAD"], include_in_schema=False)
def ontology_term(request: Request, term: str) -> Response:
    """``/ontology/Meeting`` → ``/ontology#Meeting`` (terms are fragments of one document);
    a name the ontology does not define is a 404 (it was sent to a fragment that is not
    there), one too long to look up a 414."""
    iri = str(vocab.KGO) + term
    known = len(term) <= MAX_NAME_LENGTH and _is_iri(iri)
    if known:  # the ontology page's own reading (over an engine, its ontology graph)
        source = _describer(request).ontology_source().store
        node = ox.NamedNode(iri)
        known = any(True for _ in source.quads_for_pattern(node, None, None, ONTOLOGY))
    if not known:
        return _not_found(request, "ontology term", term, iri, _wants_html(request))
    return RedirectResponse(f"/ontology#{term}", status_code=303)


def _ontology(request: Request, explicit: Variant | None) -> Response:
    variant = _choose(request, [*TRIPLE_VARIANTS, HTML], explicit)
    if isinstance(variant, Response):
        return variant
    chosen = _chosen(request, variant, explicit, "/ontology", f"ontology.{variant.key}")
    if isinstance(chosen, Response):
        return chosen
    alternates = _alternates("/ontology", TRIPLE_VARIANTS)
    if variant is HTML:
        classes, properties, individuals = ontology_terms(_describer(request).ontology_source())
        return pages.render(
            request,
            "ontology.html",
            {
                "classes": classes,
                "properties": properties,
                "individuals": individuals,
                "alternates": alternates,
                "namespace": str(vocab.KGO),
            },
            headers=chosen.headers(alternates),
        )
    kg = _kg(request)
    path = vocab.ontology_file()
    if given_ontology(kg):
        return chosen.rdf(serialize(served_ontology(kg), variant))
    if variant.key == "ttl":
        return chosen.rdf(path.read_bytes())  # the curated file itself, comments and all
    return chosen.rdf(serialize(list(ox.parse(path=path, format=ox.RdfFormat.TURTLE)), variant))


def served_ontology(kg: KnowledgeGraph) -> list[ox.Triple]:
    """The ontology graph of ``kg`` as served, without the project's domain rules (loaded
    beside a given ontology unless ``--no-rules``): the given ontology's own triples, read
    once per data version."""
    return derived_view(kg, "served-ontology", lambda: _served_ontology(kg))


def _served_ontology(kg: KnowledgeGraph) -> list[ox.Triple]:
    rules: set[ox.Triple] = set()
    if vocab.rules_file() in kg.files:  # the rules have no blank nodes: compared as triples
        rules = {q.triple for q in ox.parse(path=vocab.rules_file(), format=ox.RdfFormat.TURTLE)}
    return [
        q.triple
        for q in kg.store.quads_for_pattern(None, None, None, ONTOLOGY)
        if q.triple not in rules
    ]


# -- explanations ----------------------------------------------------------------------------


def _display_term(describer: Describer, text: str) -> Term:
    """A display term for an explanation's N-Triples text (``<iri>``, ``"lit"``, ``_:b``)."""
    if text.startswith("<") and text.endswith(">"):
        return describer.term(ox.NamedNode(text[1:-1]))
    if text.startswith("_:"):
        return describer.term(ox.BlankNode(text[2:]))
    try:
        return describer.term(parse_term(text))
    except (ValueError, SyntaxError):
        return Term(text, "literal", text)


def _explanation_view(describer: Describer, node: dict[str, Any]) -> dict[str, Any]:
    """The explanation tree with display terms in place of N-Triples text."""
    view = dict(node)
    for key in ("subject", "predicate", "object"):
        view[key] = _display_term(describer, str(node[key]))
    view["premises"] = [_explanation_view(describer, p) for p in node.get("premises", [])]
    view["derivations"] = [
        {**d, "premises": [_explanation_view(describer, p) for p in d["premises"]]}
        for d in node.get("derivations", [])
    ]
    view["evidence"] = [
        describer.evidence_info(
            ox.NamedNode(e["graph"][1:-1])
            if str(e["graph"]).startswith("<")
            else ox.BlankNode(str(e["graph"])[2:])
        )
        for e in node.get("evidence", [])
    ]
    return view


@get_and_head(router, "/explain")
def explain(
    request: Request,
    s: str = "",
    p: str = "",
    o: str = "",
    every: Annotated[str, Query(alias="all")] = "",
) -> Response:
    """Why a triple holds: the rule or axiom and its premises, down to the seed quotes.

    ``s``, ``p`` and ``o`` are IRIs, CURIEs (``kg:sergei-lavrov``, ``kgo:metWith``) or names,
    as ``karabakh-kg explain`` takes them; ``o`` may be a literal in Turtle syntax, ``p``
    may be ``a``. ``all=true`` lists every one-step derivation, not only the recorded one.
    """
    try:
        as_page = conneg.page_or_json(request.headers.get("accept"), query_value(request, "format"))
    except ValueError as error:  # as the resource pages answer (NegotiationError)
        refused = NegotiationError.of(error)
        return _error(request, refused.status, refused.code, refused.message, html=False)
    missing = [name for name, value in (("s", s), ("p", p), ("o", o)) if not value.strip()]
    if missing:
        return _error(
            request,
            400,
            "missing-parameter",
            f"missing parameter(s) {', '.join(missing)}: give s, p and o",
        )
    flag = every.strip().lower()
    if flag not in ("", "true", "false", "1", "0", "yes", "no"):
        return _error(request, 400, "bad-parameter", f"all must be true or false, not {every!r}")
    too_long = [
        name for name, value in (("s", s), ("p", p), ("o", o)) if len(value) > MAX_TERM_LENGTH
    ]
    if too_long:
        return _error(
            request,
            414,
            "name-too-long",
            f"{too_long[0]} is longer than {MAX_TERM_LENGTH} characters",
        )
    from karabakh_kg.server.web.engine_graph import engine_graph

    kg = _kg(request)
    every_derivation = flag in ("true", "1", "yes")
    over_engine = engine_graph(request)
    describer: Describer | None = None
    try:
        if over_engine is not None:  # serve --backend, no local copy: the published records
            from karabakh_kg.server.web.engine_explain import explain_over_engine

            result, describer = explain_over_engine(
                over_engine, s, p, o, all_derivations=every_derivation, page=as_page
            )
        else:
            triple = (
                resolve_term(kg, s),
                resolve_term(kg, p, predicate=True),
                resolve_term(kg, o),
            )
            result = explain_triple(kg, *triple, all_derivations=every_derivation)
    except TermError as error:
        return _error(request, 400, "bad-term", f"cannot read the triple: {error}")
    data: dict[str, Any] = result.to_dict()
    status = 200 if result.holds else 404
    if not as_page:
        if not result.holds:
            return problem_response(
                404,
                "not-entailed",
                "this triple is neither asserted nor derived",
                triple={
                    "subject": data["subject"],
                    "predicate": data["predicate"],
                    "object": data["object"],
                },
            )
        return JSONResponse(data, status_code=status)
    return pages.render(
        request,
        "explain.html",
        {
            "tree": _explanation_view(describer or _describer(request), data),
            "text": result.to_text(),
            "holds": result.holds,
        },
        status_code=status,
    )
