"""Helpers shared by the route modules: GET with HEAD, bounded names, conditional GET."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator, Mapping
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, Union, get_args, get_origin

from starlette.requests import Request  # FastAPI's are these: the SPARQL routes import this
from starlette.responses import Response  # module before FastAPI (server/deferred.py)

from karabakh_kg.server.problems import Problem

if TYPE_CHECKING:
    from fastapi import APIRouter
    from fastapi.dependencies.models import Dependant

Handler = TypeVar("Handler", bound=Callable[..., Any])

MAX_NAME_LENGTH = 300
"""Longest entity name, IRI or evidence name a page or route looks up (the longest curated
IRI is far shorter). Longer names are refused with 414 before any lookup or suggestion."""
MAX_TERM_LENGTH = 2000
"""Longest term ``/explain`` reads (a literal may quote a sentence of the article)."""


def get_and_head(router: APIRouter, path: str, **options: Any) -> Callable[[Handler], Handler]:
    """Serve ``path`` for GET (documented in OpenAPI) and HEAD (same handler, undocumented).

    FastAPI gives one operationId per route, so a single route registered for GET and
    HEAD documents two operations under the same id ("Duplicate Operation ID"), which
    OpenAPI forbids and client generators reject. Two routes keep the ids unique.
    """

    def register(handler: Handler) -> Handler:
        router.get(path, **options)(handler)
        head = {**options, "include_in_schema": False}
        if "name" in options:
            head["name"] = f"{options['name']}_head"
        router.head(path, **head)(handler)
        return handler

    return register


def check_name(name: str, what: str = "name") -> str:
    """``name`` unchanged, or :class:`Problem` 414 when it is longer than MAX_NAME_LENGTH."""
    if len(name) > MAX_NAME_LENGTH:
        raise Problem(
            414,
            "name-too-long",
            f"the {what} is {len(name)} characters long; names are at most "
            f"{MAX_NAME_LENGTH} characters",
            limit=MAX_NAME_LENGTH,
        )
    return name


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` header matches ``etag`` (RFC 9110, 13.1.2).

    ``*`` matches any current representation; entity tags are compared weakly (``W/"x"``
    matches ``"x"``), as the standard requires for If-None-Match.

    >>> etag_matches('W/"v1-a", "v1-b"', '"v1-a"')
    True
    >>> etag_matches('*', 'W/"anything"')
    True
    >>> etag_matches('"v2-a"', '"v1-a"')
    False
    """
    wanted = etag.strip().removeprefix("W/")
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == wanted:
            return True
    return False


def not_modified(request: Request, etag: str, modified: float | None = None) -> bool:
    """Whether a GET or HEAD may be answered ``304 Not Modified`` (RFC 9110, 13.1.2-13.1.3).

    ``If-None-Match`` decides when present; otherwise ``If-Modified-Since`` against
    ``modified`` (a POSIX time, when the representation last changed), if given.
    """
    if request.method not in ("GET", "HEAD"):
        return False
    header = request.headers.get("if-none-match")
    if header is not None:
        return etag_matches(header, etag)
    since = request.headers.get("if-modified-since")
    if since and modified is not None:
        try:
            return int(modified) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError, IndexError):
            return False
    return False


def not_modified_response(etag: str, headers: Mapping[str, str] | None = None) -> Response:
    """The ``304`` answer: no body, the ETag and the headers a 200 would carry."""
    return Response(status_code=304, headers={**(headers or {}), "ETag": etag})


async def single_valued_parameters(request: Request) -> None:
    """Refuse a parameter that a route takes once but the request gives twice (400
    ``repeated-parameter``, as the SPARQL endpoint does), where FastAPI would silently take
    the last value: ``/resource/x?format=ttl&format=nt``, two ``queries`` form fields.
    Parameters declared as lists (``nodes``, ``kind``) repeat as they are meant to."""
    from karabakh_kg.server.sparql.execute import single

    query_names, form_names = _single_valued(request.scope.get("route"))
    for name in query_names:
        query_value(request, name)
    if form_names:
        form = await request.form()  # FastAPI has read it already: this is its copy
        for name in form_names:
            single({name: [str(value) for value in form.getlist(name)]}, name)


def query_value(request: Request, name: str) -> str | None:
    """The one value of the query parameter ``name`` (None when absent), for the routes that
    read a parameter they do not declare; given twice, 400 ``repeated-parameter``."""
    from karabakh_kg.server.sparql.execute import single

    return single({name: request.query_params.getlist(name)}, name)


def _single_valued(route: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names of the query parameters and form fields ``route`` reads as one value,
    found once and kept on the route (routes are not hashable)."""
    kept = getattr(route, _SINGLE_VALUED, None)
    if kept is None:
        kept = _find_single_valued(getattr(route, "dependant", None))
        if route is not None:
            setattr(route, _SINGLE_VALUED, kept)
    return kept


_SINGLE_VALUED = "karabakh_kg_single_valued"


def _find_single_valued(dependant: Dependant | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    from fastapi import params

    query: set[str] = set()
    form: set[str] = set()
    for part in _dependants(dependant) if dependant is not None else ():
        for field in part.query_params:
            if not _takes_many(field.field_info.annotation):
                query.add(field.alias)
        for field in part.body_params:
            if isinstance(field.field_info, params.Form) and not _takes_many(
                field.field_info.annotation
            ):
                form.add(field.alias)
    return tuple(sorted(query)), tuple(sorted(form))


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _takes_many(annotation: object) -> bool:
    """Whether a parameter of this type is a list of values (``list[str] | None``).

    >>> _takes_many(list[str] | None), _takes_many(str | None), _takes_many(int)
    (True, False, False)
    """
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_takes_many(argument) for argument in get_args(annotation))
    if origin is Annotated:
        return _takes_many(get_args(annotation)[0])
    return origin in (list, tuple, set, frozenset)
