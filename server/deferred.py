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

``serve`` goes one step further (:class:`FirstAnswers`): FastAPI itself is imported after the
first answer. Importing it costs about 0.2-0.45 s of CPU (pydantic building FastAPI's own
models, OpenTelemetry's API), which held the first answer back, although the SPARQL queries
and updates are plain Starlette routes whose handlers take the bare request. Their module
declares its FastAPI routes (for the API document and the methods the plain routes do not
take) on a :class:`DeclaredRouter`, which records them without importing FastAPI, so those
plain routes can answer from a Starlette app with the same middleware, in the same order, and
the same error handlers (``app.first_app``) while a thread builds the FastAPI app and
imports the pages; then the FastAPI app answers everything. What FastAPI adds around a
request besides (its OpenTelemetry spans and metrics, a per-request exit stack for uploaded
files, its own body limit, off by default) does nothing for those routes unless
OpenTelemetry is set up, so when the environment asks for it (``OTEL_*``,
``FASTAPI_OTEL_AUTO_CONFIGURE``) ``serve`` builds the FastAPI app before it listens, as before.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from karabakh_kg.server.problems import problem_response

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI
    from starlette.applications import Starlette
    from starlette.routing import BaseRoute
    from starlette.types import ASGIApp, Message, Receive, Scope, Send


IDLE_START = 2.0
"""Seconds after the server starts at which the routers are imported if no request came."""


class RouterImportError(ImportError):
    """A router's module could not be imported (its name, and the error, in the message)."""


class PagesUnavailable(RuntimeError):
    """The routers could not be built; the message says why (:attr:`DeferredRouters.failure`)."""


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
                # a new exception each time: raising the kept one again would add every
                # request's frames to its traceback, and keep them
                raise PagesUnavailable(self.failure or "") from self._error
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


class DeclaredRouter:
    """Routes declared as on FastAPI's ``APIRouter`` (its ``get``, ``head``, ``post``,
    ``put``, ``delete`` and ``api_route`` decorators, and plain Starlette routes placed in
    :attr:`routes`, ahead of them), recorded without importing FastAPI; :meth:`build` makes
    the ``APIRouter``, the declarations replayed in their order, the plain routes first."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.routes: list[BaseRoute] = []
        """The plain Starlette routes, which answer without FastAPI (:class:`FirstAnswers`)."""
        self._declared: list[tuple[str, tuple[Any, ...], dict[str, Any], Callable[..., Any]]] = []
        self._lock = threading.Lock()
        self._built: APIRouter | None = None

    def _declare(self, method: str, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            self._declared.append((method, args, kwargs, handler))
            return handler

        return register

    def get(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        return self._declare("get", *args, **kwargs)

    def head(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        return self._declare("head", *args, **kwargs)

    def post(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        return self._declare("post", *args, **kwargs)

    def put(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        return self._declare("put", *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        return self._declare("delete", *args, **kwargs)

    def api_route(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        return self._declare("api_route", *args, **kwargs)

    def build(self) -> APIRouter:
        """The ``APIRouter`` (made once)."""
        with self._lock:
            if self._built is None:
                from fastapi import APIRouter

                router = APIRouter(**self.options)
                for method, args, kwargs, handler in self._declared:
                    getattr(router, method)(*args, **kwargs)(handler)
                router.routes[:0] = self.routes
                self._built = router
            return self._built


def api_router(router: Any) -> APIRouter:
    """A module's ``router``: FastAPI's, or the one a :class:`DeclaredRouter` builds."""
    return router.build() if isinstance(router, DeclaredRouter) else router


def telemetry_requested(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment sets up OpenTelemetry (``OTEL_*``, FastAPI's
    ``FASTAPI_OTEL_AUTO_CONFIGURE``), whose spans FastAPI makes around every request: then
    the FastAPI app is built before the server listens (no :class:`FirstAnswers`)."""
    names = os.environ if environ is None else environ
    return any(name.startswith("OTEL_") or name == "FASTAPI_OTEL_AUTO_CONFIGURE" for name in names)


class FirstAnswers:
    """The ASGI app ``serve`` starts with: ``first`` (a Starlette app holding the SPARQL
    endpoint's plain routes, the same middleware and error handlers as the whole app)
    answers the requests one of its routes takes whole, but a ``GET``/``HEAD`` without a
    query (the service description, or the query UI, a page); ``build()`` (the FastAPI
    app, its pages included) runs on a thread started once the first answer is sent, or
    :data:`IDLE_START` seconds after the server started, or by a request ``first`` does
    not take, which waits for it. Once built, its lifespan is started (the server's own was
    acknowledged at once) and it answers every request; at shutdown its lifespan ends, or
    ``close()`` runs if it never started. If ``build()`` fails, ``first`` goes on answering
    and every other request is answered 503 ``pages-unavailable`` naming the error."""

    def __init__(
        self, first: Starlette, build: Callable[[], ASGIApp], close: Callable[[], None]
    ) -> None:
        self.first = first
        self.state = first.state
        """The app's state (what ``build()`` makes is given what is set here, ``served``)."""
        self._build = build
        self._close = close
        self._ready = tuple(first.router.routes)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._built = threading.Event()
        self._whole: ASGIApp | None = None
        self._error: BaseException | None = None
        self.app: ASGIApp | None = None
        """The whole app, once it answers (None before)."""
        self._switching: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lifespan_scope: Scope | None = None
        self._inner: tuple[asyncio.Task[None], asyncio.Queue[Message], asyncio.Queue[Message]]
        self._inner_started = False
        self._stopping = False

    # -- building the whole app -----------------------------------------------------
    def start(self) -> None:
        """Start building the whole app (once)."""
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="karabakh-kg-app", daemon=True
                )
                self._thread.start()

    @property
    def started(self) -> bool:
        """Whether the whole app is being (or was) built."""
        return self._thread is not None

    def _run(self) -> None:
        try:
            self._whole = self._build()
        except BaseException as error:  # answered 503 to the requests that need it
            self._error = error
            logging.getLogger(__name__).error("the server's app cannot be built", exc_info=error)
        finally:
            self._built.set()

    def _started_by_timer(self) -> None:
        self.start()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._switch_soon)

    def _switch_soon(self) -> None:
        """Switch to the whole app once it is built, without a request waiting for it."""
        if self._switching is None:
            self._switching = asyncio.ensure_future(self._switch())

    async def _switch(self) -> None:
        import anyio.to_thread

        self.start()
        await anyio.to_thread.run_sync(self._built.wait)
        if self._whole is None or self.app is not None or self._stopping:
            return
        await self._start_inner_lifespan(self._whole)
        self.app = self._whole

    async def _whole_app(self) -> ASGIApp | None:
        """The whole app, built and started (None: it could not be built)."""
        if self.app is None:
            self._switch_soon()
            assert self._switching is not None
            try:
                await asyncio.shield(self._switching)
            except Exception:
                logging.getLogger(__name__).exception("the server's app cannot be started")
        return self.app

    # -- the lifespan ---------------------------------------------------------------
    async def _start_inner_lifespan(self, app: ASGIApp) -> None:
        if self._lifespan_scope is None:
            return  # the server runs no lifespan (a test client used without its context)
        inbox: asyncio.Queue[Message] = asyncio.Queue()
        outbox: asyncio.Queue[Message] = asyncio.Queue()
        await inbox.put({"type": "lifespan.startup"})
        task = asyncio.ensure_future(app(dict(self._lifespan_scope), inbox.get, outbox.put))
        self._inner = (task, inbox, outbox)
        self._inner_started = True
        getting = asyncio.ensure_future(outbox.get())
        await asyncio.wait([getting, task], return_when=asyncio.FIRST_COMPLETED)
        if not getting.done():  # its lifespan ended (raised) without a word
            getting.cancel()
            task.result()
            raise RuntimeError("the server's app ended its lifespan before it started")
        message = getting.result()
        if message["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"the server's app did not start: {message.get('message', '')}")

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._lifespan_scope = scope
        self._loop = asyncio.get_running_loop()
        await receive()  # lifespan.startup
        timer = threading.Timer(IDLE_START, self._started_by_timer)
        timer.daemon = True
        timer.start()
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        self._stopping = True
        timer.cancel()
        if self._switching is not None and not self._switching.done():
            await asyncio.wait([self._switching])
        if self._inner_started:
            task, inbox, _ = self._inner
            if not task.done():
                await inbox.put({"type": "lifespan.shutdown"})
                await task  # returns once its shutdown is complete
        else:
            self._close()
        await send({"type": "lifespan.shutdown.complete"})

    # -- requests -------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        app = self.app
        if app is None:
            if self._takes(scope):
                try:
                    await self.first(scope, receive, send)
                finally:
                    self._switch_soon()  # answered: the whole app's turn
                return
            app = await self._whole_app()
        if app is None:
            if scope["type"] != "http":
                raise RuntimeError("the server's app could not be built") from self._error
            detail = (
                f"the server's pages could not be loaded ({type(self._error).__name__}: "
                f"{self._error}); the SPARQL endpoint at /sparql still answers"
            )
            await problem_response(503, "pages-unavailable", detail)(scope, receive, send)
            return
        await app(scope, receive, send)

    def _takes(self, scope: Scope) -> bool:
        """Whether ``first`` answers the request as the whole app would: one of its routes
        takes it whole, and it is not a GET or HEAD without a query (a page)."""
        from starlette.datastructures import QueryParams
        from starlette.routing import Match

        if scope["type"] != "http":
            return False
        if not any(route.matches(scope)[0] is Match.FULL for route in self._ready):
            return False
        if scope["method"] in {"GET", "HEAD"}:
            return "query" in QueryParams(scope.get("query_string", b""))
        return True
