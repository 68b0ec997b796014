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
