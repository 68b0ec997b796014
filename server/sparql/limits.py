"""Limits on requests and connections: body size (413), body read pauses (408), and the
time a connection may take to send its headers or stay idle (closed).

The first two are pure ASGI middleware; the last two, and the size of a request's head,
need the HTTP protocol itself (:class:`TimedHttpToolsProtocol`, passed to uvicorn by
``karabakh-kg serve`` with :func:`uvicorn_options`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from karabakh_kg.server.problems import problem_response
from karabakh_kg.server.settings import PREFIX, Settings

Scope = dict[str, Any]
Receive = Any
Send = Any


class BodyRefused(Exception):
    """Raised by a guarded ``receive``: the body breaks the limit of ``guard``."""

    def __init__(self, guard: BodyGuard) -> None:
        super().__init__(guard)
        self.guard = guard


class BodyGuard:
    """ASGI middleware guarding how a request body arrives: :meth:`guard` wraps each
    request's ``receive`` and raises :class:`BodyRefused` when the body breaks the limit;
    the request is then answered with :meth:`refusal` (and closed), unless the application
    already started its response. :meth:`refused_early` may refuse from the headers alone.
    Guards nest: each answers only its own refusals."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def guard(self, receive: Receive) -> Receive:
        raise NotImplementedError

    def refusal(self) -> Response:
        raise NotImplementedError

    def refused_early(self, scope: Scope) -> bool:
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.refused_early(scope):
            await self.refusal()(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, self.guard(receive), tracking_send)
        except BodyRefused as refused:
            if refused.guard is not self:  # another guard's limit, further out
                raise
            if not started:
                await self.refusal()(scope, receive, send)


class BodySizeLimit(BodyGuard):
    """Refuse request bodies larger than ``max_bytes`` with 413 (a problem document): by
    their declared ``Content-Length``, or as they arrive (chunked bodies)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    def refused_early(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    return int(value) > self.max_bytes
                except ValueError:
                    return False
        return False

    def guard(self, receive: Receive) -> Receive:
        seen = 0

        async def counting_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyRefused(self)
            return message

        return counting_receive

    def refusal(self) -> Response:
        return problem_response(
            413,
            "body-too-large",
            f"the request body exceeds {self.max_bytes} bytes ({PREFIX}MAX_BODY_BYTES)",
            {"Connection": "close"},
            limit=self.max_bytes,
        )


class BodyReadTimeout(BodyGuard):
    """Answer 408 (and close) when a client pauses more than ``seconds`` while sending its
    request body: a slow client must not hold a connection and a request open forever."""

    def __init__(self, app: Any, seconds: float) -> None:
        super().__init__(app)
        self.seconds = seconds

    def guard(self, receive: Receive) -> Receive:
        async def timed_receive() -> Any:
            try:
                return await asyncio.wait_for(receive(), self.seconds)
            except TimeoutError:
                raise BodyRefused(self) from None

        return timed_receive

    def refusal(self) -> Response:
        return problem_response(
            408,
            "request-timeout",
            f"the request body stopped arriving for {self.seconds:g} s ({PREFIX}BODY_TIMEOUT)",
            {"Connection": "close"},
        )


class HeaderTimer:
    """Closes a connection that takes longer than ``seconds`` to send a request's headers,
    from their first byte (or from the connection, for one that sends nothing). uvicorn
    bounds idle keep-alive connections (``timeout_keep_alive``) but neither of these: the
    protocol keeps one of these and tells it when the connection is ``reading_head``."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        transport: asyncio.Transport,
        seconds: float,
        reading_head: Callable[[], bool],
    ) -> None:
        self._loop = loop
        self._transport = transport
        self._seconds = seconds
        self._reading_head = reading_head
        self._timer: asyncio.TimerHandle | None = None
        self._arm()

    def data_received(self) -> None:
        """After the protocol read ``data``: bounded from a head's start, until its end."""
        if self._reading_head() and not self._transport.is_closing():
            self._arm()
        else:
            self.cancel()

    def cancel(self) -> None:
        """A response is complete (the keep-alive timer takes over), or the connection lost."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self) -> None:
        if self._timer is None:
            self._timer = self._loop.call_later(self._seconds, self._late)

    def _late(self) -> None:
        self._timer = None
        if self._reading_head() and not self._transport.is_closing():
            self._transport.close()


MAX_HEAD_BYTES = 16 * 1024
"""The most bytes of target and headers a request may send (the limit of uvicorn's other
protocol, h11, on a request's head)."""


class HeadTooLarge(Exception):
    """Raised in the parser's callbacks: the request's head is over :data:`MAX_HEAD_BYTES`
    (httptools then reports a parser error, which uvicorn answers with 400 and a close)."""


class TimedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol on httptools (llhttp, Node.js's C parser; 20-35 % less
    event-loop CPU per request than its pure-Python h11 protocol: bench/README.md), with a
    :class:`HeaderTimer` and a limit on a request's head (:data:`MAX_HEAD_BYTES`), which
    httptools does not have: without it a client could grow a head, and the server's
    memory, for as long as the header timer lets it."""

    header_timeout = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0
        self._head_complete = False
        self._header_timer = HeaderTimer(
            self.loop, transport, self.header_timeout, self._reading_head
        )

    def _reading_head(self) -> bool:
        return not self._head_complete

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._header_timer.data_received()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self._head_complete = False

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head_complete = True
        super().on_headers_complete()

    def _count_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD_BYTES:
            raise HeadTooLarge(MAX_HEAD_BYTES)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._header_timer.cancel()

    def connection_lost(self, exc: Exception | None) -> None:
        self._header_timer.cancel()
        super().connection_lost(exc)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What ``karabakh-kg serve`` passes to uvicorn: its HTTP protocol, with the
    connection time limits."""
    protocol = type(
        "HeaderTimedHttpToolsProtocol",
        (TimedHttpToolsProtocol,),
        {"header_timeout": settings.header_timeout},
    )
    return {"http": protocol, "timeout_keep_alive": settings.keepalive_timeout}
