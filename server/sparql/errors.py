"""Errors of the SPARQL endpoint: a status, a short code and a message that says what is wrong."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from fastapi.responses import JSONResponse, Response


class SparqlHTTPError(Exception):
    """An error answered as ``{"error": code, "message": ...}`` with ``status``."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A short JSON error body."""
    return JSONResponse(
        {"error": code, "message": message},
        status_code=status,
        headers=dict(headers or {}),
        media_type="application/json",
    )


async def handle_sparql_error(request: Request, exc: Exception) -> Response:
    """FastAPI exception handler for :class:`SparqlHTTPError`."""
    assert isinstance(exc, SparqlHTTPError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's answer to HTTP errors, except 405, which names the methods the path takes.

    With GET, HEAD and POST served by separate routes, Starlette's 405 lists only the
    methods of the first route that matched the path (``Allow: GET`` on ``/sparql``).
    """
    from fastapi.exception_handlers import http_exception_handler
    from starlette.exceptions import HTTPException
    from starlette.routing import Match

    assert isinstance(exc, HTTPException)
    if exc.status_code != 405:
        return await http_exception_handler(request, exc)
    order = ["GET", "HEAD", "POST", "PUT", "DELETE"]
    allowed = [
        method
        for method in order
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]
    listed = ", ".join(allowed)
    return error_response(
        405,
        "method-not-allowed",
        f"{request.method} is not allowed on {request.url.path}; use {listed or 'nothing'}",
        {"Allow": listed},
    )
