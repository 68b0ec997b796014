"""Routers included once a thread has imported them, so the server answers SPARQL sooner.

Importing the pages' modules makes FastAPI build the routes of some eighty operations (each
parameter becomes a pydantic field) and imports networkx, Jinja2 and rapidfuzz: about 0.4 s
of CPU, which ``serve`` used to spend before it listened. The app includes the SPARQL
endpoint's router when it is built and the others once :class:`DeferredRouters` has
imported them on a thread of its own, started once the server has answered its first
request, or :data:`IDLE_START` seconds after it started, or by the first request that
needs them, whichever comes first: the import holds the interpreter for most of its 0.4 s,
and a request the event loop serves meanwhile waits for it at each turn (started with the
server, the import delayed its first SPARQL answer by 8-17 % in two runs on a loaded
machine, and added 13 MiB to the server at that answer; bench/README.md, Start-up). Meanwhile
:class:`WaitForRouters` lets a request through that a route already included takes whole
(path and method: ``/sparql``), and holds any other until the rest is included; it is then
routed by the whole app, whose routes stand in the order they always had
(``app.ROUTE_MODULES``), the static files last. Nothing is served differently: a request
either meets a route that the whole app would also have chosen first, or waits for the
whole app.

Should the import fail (a library missing or broken), the SPARQL routes go on answering
and every other request is answered 503 ``pages-unavailable``, naming the module and the
error (logged once), rather than a 500 saying nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from karabakh_kg.server.problems import problem_response

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI
    from starlette.routing import BaseRoute
    from starlette.types import ASGIApp, Receive, Scope, Send


IDLE_START = 2.0
"""Seconds after the server starts at which the routers are imported if no request came."""


class RouterImportError(ImportError):
    """A router's module could not be imported (its name, and the error, in the message)."""


class DeferredRouters:
    """The routers ``build()`` imports, on a thread, included into ``app`` once (then
    ``after(app)``: the static files' mount, which must come after every route)."""

    def __init__(
        self,
        app: FastAPI,
        build: Callable[[], list[APIRouter]],
        after: Callable[[FastAPI], None],
    ) -> None:
        self._app = app
        self._build = build
        self._after = after
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._built = threading.Event()
        self._routers: list[APIRouter] = []
        self._error: BaseException | None = None
        self.included = False

    def start(self) -> None:
        """Start importing the routers (once; at once if already started)."""
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="karabakh-kg-routes", daemon=True
                )
                self._thread.start()

    def start_later(self) -> None:
        """:meth:`start` in :data:`IDLE_START` seconds, unless a request has by then."""
        timer = threading.Timer(IDLE_START, self.start)
        timer.daemon = True
        timer.start()

    @property
    def started(self) -> bool:
        """Whether the import has started."""
        return self._thread is not None

    def _run(self) -> None:
        try:
            self._routers = self._build()
        except BaseException as error:  # raised to every request that needed them
            self._error = error
            logging.getLogger(__name__).error("the pages cannot be served", exc_info=error)
        finally:
            self._built.set()

    @property
    def failure(self) -> str | None:
        """Why the routers could not be imported (None: they were, or are not yet)."""
        if self._error is None:
            return None
        if isinstance(self._error, RouterImportError):
            return str(self._error)
        return f"{type(self._error).__name__}: {self._error}"

    def include(self) -> None:
        """Wait for the routers and include them (once)."""
        if self.included:
            return
        self.start()
        self._built.wait()
        with self._lock:
            if self._error is not None:
                raise self._error
            if not self.included:
                for router in self._routers:
                    self._app.include_router(router)
                self._after(self._app)
                self.included = True

    async def wait(self) -> None:
        """:meth:`include`, waiting for the thread without holding up the event loop."""
        if not self.included:
            import anyio.to_thread

            self.start()
            await anyio.to_thread.run_sync(self._built.wait)
            self.include()


class WaitForRouters:
    """ASGI middleware: a request that one of ``ready`` takes whole goes on (and, once
    answered, starts the routers' import); any other waits until ``routers`` are included."""

    def __init__(self, app: ASGIApp, routers: DeferredRouters, ready: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routers = routers
        self.ready = tuple(ready)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        waits = not self.routers.included and scope["type"] in {"http", "websocket"}
        if waits and self._taken_whole(scope):
            try:
                await self.app(scope, receive, send)
            finally:
                self.routers.start()  # answered: the pages' turn
            return
        if waits:
            try:
                await self.routers.wait()
            except Exception:
                if scope["type"] != "http" or self.routers.failure is None:
                    raise
                detail = (
                    f"the server's pages could not be loaded ({self.routers.failure}); "
                    "the SPARQL endpoint at /sparql still answers"
                )
                await problem_response(503, "pages-unavailable", detail)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _taken_whole(self, scope: dict[str, Any] | Scope) -> bool:
        from starlette.routing import Match

        return any(route.matches(scope)[0] is Match.FULL for route in self.ready)
