"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) from the vendored copies, so the API
documentation works offline: FastAPI's own pages load both from a CDN.

The versions and licences are in ``server/web/static/vendor/README.md``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from karabakh_kg.server.web.common import get_and_head

router = APIRouter(include_in_schema=False)

VENDOR = "/static/vendor"


def _openapi_url(request: Request) -> str:
    return str(request.app.openapi_url or "/openapi.json")


@get_and_head(router, "/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over this server's OpenAPI document."""
    return get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title}: API",
        swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
        swagger_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
        # No validator badge: Swagger UI would send the document to an online validator.
        swagger_ui_parameters={"validatorUrl": None},
    )


@get_and_head(router, "/redoc")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc over this server's OpenAPI document."""
    return get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title}: API",
        redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
        redoc_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
        with_google_fonts=False,
    )
