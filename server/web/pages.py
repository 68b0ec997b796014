"""Jinja2 templates and static files for the pages people read.

Templates and static files are package data, found through :mod:`importlib.resources`, so
an installed (non-editable) copy serves them too. Autoescaping is on for every template:
labels come from the data and are never trusted as HTML.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from karabakh_kg.server.web import resource_data


def package_dir(name: str) -> Path:
    """A folder of the installed ``karabakh_kg.server.web`` package."""
    return Path(str(resources.files("karabakh_kg.server.web").joinpath(name)))


@cache
def environment() -> Environment:
    """The shared Jinja2 environment (autoescaping HTML)."""
    env = Environment(
        loader=FileSystemLoader(str(package_dir("templates"))),
        autoescape=select_autoescape(["html", "xml"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["local_path"] = resource_data.local_path
    env.globals["curie"] = resource_data.curie
    return env


def static_files() -> StaticFiles:
    """The ``/static`` mount: CSS, scripts and vendored front-end libraries."""
    return StaticFiles(directory=str(package_dir("static")))


def data_info(request: Request) -> dict[str, str]:
    """The data version and when the data last changed (load or update), for page footers."""
    kg = request.app.state.kg
    version = str(getattr(kg, "version", ""))
    stamp = getattr(kg, "modified", None)
    updated = (
        dt.datetime.fromtimestamp(float(stamp), tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        if stamp
        else "unknown"
    )
    return {"version": version, "short_version": version[:12], "updated": updated}


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``template`` to an HTML response (UTF-8)."""
    values: dict[str, Any] = {"request": request, "data": data_info(request)}
    values.update(context or {})
    html = environment().get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers=headers)
