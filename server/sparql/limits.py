"""Limits on requests and connections: body size (413), body read pauses (408), and the
time a connection may take to send its headers or stay idle (closed).

The first two are pure ASGI middleware; the last two need the HTTP protocol itself
(:class:`TimedH11Protocol`, passed to uvicorn by ``karabakh-kg serve`` with
:func:`uvicorn_options`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from starlette.responses import Response
from uvicorn.protocols.http.h11_impl import H11Protocol

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


class TimedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing connections that take longer than
    ``header_timeout`` seconds to send a request's headers, from their first byte (or from
    the connection, for one that sends nothing). uvicorn bounds idle keep-alive connections
    (``timeout_keep_alive``) but neither of these."""

    header_timeout = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._arm_header_timer()  # reading a request's head: bounded from its start
        elif self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._header_timer is not None:  # the keep-alive timer takes over
            self._header_timer.cancel()
            self._header_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What ``karabakh-kg serve`` passes to uvicorn: the connection time limits."""
    protocol = type(
        "HeaderTimedH11Protocol", (TimedH11Protocol,), {"header_timeout": settings.header_timeout}
    )
    return {"http": protocol, "timeout_keep_alive": settings.keepalive_timeout}
