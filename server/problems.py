"""One error shape for the whole server: RFC 9457 problem details.

Every error answer is ``application/problem+json; charset=utf-8`` with

* ``type``: ``https://w3id.org/karabakh-kg/problems#<code>`` (documented in
  ``docs/sparql-endpoint.md``, section Errors);
* ``title``: the HTTP status phrase (``Bad Request``);
* ``status``: the HTTP status code, as in the status line;
* ``detail``: one or two sentences saying what is wrong with *this* request;
* ``code``: a short stable name of the problem (``malformed-query``), for programs;

plus extension members where they help (``suggestions``, ``errors``, ``limit``).

Routes raise :class:`Problem`; :func:`install` makes :func:`create_app
<karabakh_kg.server.app.create_app>` answer Starlette's own errors (404, 405, form
parsing), FastAPI's request validation errors and any unexpected exception in the same
shape: a 500 says nothing of the code, only that the error was logged.

FastAPI is imported when a response is built, not with this module: the command line
raises :class:`Problem` too (``karabakh-kg query``), and should not pay for the web stack.
"""

from __future__ import annotations

import functools
import http
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, Response

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://w3id.org/karabakh-kg/problems#"

CODES_BY_STATUS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    408: "request-timeout",
    409: "conflict",
    413: "body-too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
    422: "invalid-request",
    429: "too-many-requests",
    500: "internal-error",
    502: "bad-gateway",
    503: "unavailable",
}
"""The code of an error that carries none of its own (Starlette's 404, for instance)."""

METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "DELETE")


class Problem(Exception):
    """An error answered with ``status`` as a problem document (see the module docs).

    ``extensions`` become extra members of the document (``suggestions=[...]``);
    ``headers`` are sent with it (``Retry-After``, ``Allow``, ``WWW-Authenticate``).
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = extensions

    @property
    def message(self) -> str:
        """The detail (the name the SPARQL code used before)."""
        return self.detail

    def response(self) -> JSONResponse:
        return problem_response(
            self.status, self.code, self.detail, self.headers, **self.extensions
        )


def title_of(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_document(status: int, code: str, detail: str, **extensions: Any) -> dict[str, Any]:
    """The problem document as a dict (``type``, ``title``, ``status``, ``detail``, ``code``)."""
    document: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title_of(status),
        "status": status,
        "detail": detail,
        "code": code,
    }
    for key, value in extensions.items():
        if key not in document and value is not None:
            document[key] = value
    return document


@functools.cache
def _response_class() -> type[JSONResponse]:
    from starlette.responses import JSONResponse  # FastAPI's is this one

    class ProblemResponse(JSONResponse):
        media_type = MEDIA_TYPE

        def render(self, content: Any) -> bytes:
            return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()

    return ProblemResponse


def problem_response(
    status: int,
    code: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """The one error response of the server (also usable as a raw ASGI app)."""
    return _response_class()(
        problem_document(status, code, detail, **extensions),
        status_code=status,
        headers=dict(headers or {}),
        media_type=f"{MEDIA_TYPE}; charset=utf-8",
    )


# -- handlers -----------------------------------------------------------------------------


async def handle_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return exc.response()


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's and FastAPI's HTTP errors; a 405 names every method the path takes.

    With GET, HEAD and POST served by separate routes, Starlette's 405 lists only the
    methods of the first route that matched the path (``Allow: GET`` on ``/sparql``).
    """
    from starlette.exceptions import HTTPException
    from starlette.routing import Match

    assert isinstance(exc, HTTPException)
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status == 405:
        allowed = [
            method
            for method in METHOD_ORDER
            if any(
                route.matches({**request.scope, "method": method})[0] == Match.FULL
                for route in request.app.router.routes
            )
        ]
        listed = ", ".join(allowed)
        headers["Allow"] = listed
        return problem_response(
            405,
            "method-not-allowed",
            f"{request.method} is not allowed on {request.url.path}; use {listed or 'nothing'}",
            headers,
        )
    detail = exc.detail if isinstance(exc.detail, str) else title_of(status)
    if status == 404 and detail == title_of(404):
        detail = f"there is nothing at {request.url.path}"
    if status >= 500:
        detail = title_of(status)
    return problem_response(status, CODES_BY_STATUS.get(status, "error"), detail, headers)


async def handle_form_error(request: Request, exc: Exception) -> Response:
    from starlette.formparsers import MultiPartException

    assert isinstance(exc, MultiPartException)
    return problem_response(400, "bad-form", f"the form could not be read: {exc.message}")


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    """FastAPI's parameter validation: which parameter, what is wrong (never the input)."""
    from fastapi.exceptions import RequestValidationError

    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "location": ".".join(str(part) for part in error.get("loc", ())),
            "message": str(error.get("msg", "")),
        }
        for error in exc.errors()
    ][:20]
    summary = "; ".join(f"{e['location']}: {e['message']}" for e in errors[:3])
    return problem_response(
        422, "invalid-request", f"invalid request parameters: {summary}", errors=errors
    )


async def handle_store_error(request: Request, exc: Exception) -> Response:
    """The store holding the data (an engine, for ``serve --backend``) failed while a
    request read it: 504 when it did not answer in time, else 502, naming it."""
    from karabakh_kg.graph import StoreTimeout

    timed_out = isinstance(exc, StoreTimeout)
    status, code = (504, "engine-timeout") if timed_out else (502, "engine-failed")
    return problem_response(status, code, str(exc), {"Retry-After": "5"})


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Any other exception, answered without its traceback (Starlette re-raises it
    after this answer, so the server logs it with the traceback)."""
    return problem_response(
        500,
        "internal-error",
        "the server failed to answer this request; the error was logged",
    )


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem document."""
    from fastapi.exceptions import RequestValidationError

    for error, handler in handlers().items():
        app.add_exception_handler(error, handler)
    app.add_exception_handler(RequestValidationError, handle_validation_error)


def handlers() -> dict[type[Exception], Any]:
    """The handlers :func:`install` adds but FastAPI's request validation's (raised by
    FastAPI's routes alone), importing no FastAPI: also those of the Starlette app that
    answers SPARQL before FastAPI is imported (``server/deferred.py: FirstAnswers``)."""
    from starlette.exceptions import HTTPException
    from starlette.formparsers import MultiPartException

    from karabakh_kg.graph import StoreError

    return {
        Problem: handle_problem,
        HTTPException: handle_http_exception,
        MultiPartException: handle_form_error,
        StoreError: handle_store_error,
        Exception: handle_unexpected,
    }
