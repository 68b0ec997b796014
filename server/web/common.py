"""Helpers shared by the route modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter

Handler = TypeVar("Handler", bound=Callable[..., Any])


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
