"""Helpers shared by the route modules: GET with HEAD, bounded names, conditional GET."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.requests import Request  # FastAPI's are these: the SPARQL routes import this
from starlette.responses import Response  # module before FastAPI (server/deferred.py)

from karabakh_kg.server.problems import Problem

if TYPE_CHECKING:
    from fastapi import APIRouter

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
