"""Fair admission of queries to the workers: per-client limits, round-robin between clients.

A worker slot is given to one waiting query at a time, taking clients in turn, and no
client runs more than ``per_client`` queries at once: a client sending many slow queries
waits behind itself, while another client's cheap query gets the next free worker. Waiting
happens here, in the event loop, without a thread, and has its own bound (``wait``): the
query's time limit starts when it reaches a worker, so a worker is never killed for time a
query spent in line.

The long lane: queries known to run long (their text ran long before, by the pool's
record) take every slot but the last, and at most two per core (:attr:`Admission.
long_slots`), so that however many long queries arrive, a cheap one always finds a worker,
as it would on a server running every request at once, and long ones running side by side
do not run out of time merely sharing the cores; the others wait in line (not counted in
their time limit).

Own code rather than a library: the limits are per client and the order is fair across
clients, which neither ``asyncio.Semaphore`` nor anyio's capacity limiter offer.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from karabakh_kg.server.problems import Problem
from karabakh_kg.server.settings import PREFIX

if TYPE_CHECKING:
    import asyncio


class Admission:
    """``slots`` running queries in all, ``per_client`` per client, ``per_client_waiting``
    waiting per client and ``max_waiting`` waiting in all."""

    def __init__(
        self, slots: int, per_client: int, per_client_waiting: int, max_waiting: int
    ) -> None:
        self.slots = slots
        self.per_client = per_client
        self.per_client_waiting = per_client_waiting
        self.max_waiting = max_waiting
        self.running: Counter[str] = Counter()
        self.waiting: OrderedDict[str, deque[tuple[asyncio.Future[None], bool]]] = OrderedDict()
        self.in_use = 0
        self.long_slots = max(1, min(slots - 1, 2 * len(os.sched_getaffinity(0))))
        """Slots queries known to run long may take at once: all but one, and at most two
        per core. One per core left the cores, on a machine shared with other programs, to
        those programs while long queries waited in line; more than two per core had them
        run out of time side by side, each lowered in priority beside the others' load
        (100k triples, 2 cores, 2026-12-02 01:22-01:42 UTC, interleaved with the Oxigraph
        server: with four workers, every one but the last, 0.89, 1.18 and 0.84 of its
        throughput at 8 clients against 0.72 and 0.93 with one per core, and 0.78, 0.74
        and 0.59 at 32 against 0.77 and 0.75; with eight workers and seven long slots, 25
        of the co-participation query's answers at 32 clients were 503 timeouts)."""
        self.long_in_use = 0

    @property
    def queued(self) -> int:
        return sum(len(line) for line in self.waiting.values())

    @asynccontextmanager
    async def admit(self, client: str, wait: float, long: bool = False) -> AsyncIterator[None]:
        """Hold a worker slot for ``client`` (waiting at most ``wait`` seconds); ``long``:
        the query is known to run long (the long lane)."""
        await self._enter(client, wait, long)
        try:
            yield
        finally:
            self._leave(client, long)

    def _free_for(self, long: bool) -> bool:
        return self.in_use < self.slots and (not long or self.long_in_use < self.long_slots)

    async def _enter(self, client: str, wait: float, long: bool = False) -> None:
        import asyncio  # here: the command line builds an endpoint but never waits in line

        line = self.waiting.get(client)
        mine = len(line) if line else 0
        if self._free_for(long) and self.running[client] < self.per_client and not mine:
            self._take(client, long)
            return
        if mine >= self.per_client_waiting:
            raise Problem(
                429,
                "too-many-requests",
                f"this client already has {self.running[client]} queries running and {mine} "
                f"waiting (limits {self.per_client} and {self.per_client_waiting}: "
                f"{PREFIX}CLIENT_QUERIES, {PREFIX}CLIENT_QUEUED); wait for them",
                {"Retry-After": "1"},
            )
        if self.queued >= self.max_waiting:
            raise Problem(
                503,
                "busy",
                f"{self.in_use} queries are running and {self.queued} waiting (limit "
                f"{self.max_waiting}, {PREFIX}MAX_QUEUED); retry later",
                {"Retry-After": "1"},
            )
        ticket: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(client, deque()).append((ticket, long))
        try:
            await asyncio.wait_for(asyncio.shield(ticket), wait)
            return
        except asyncio.CancelledError:  # the client went away
            self._abandon(client, ticket, long)
            raise
        except TimeoutError:
            self._abandon(client, ticket, long)
        raise Problem(
            503,
            "busy",
            f"no query worker became free within {wait:g} s ({PREFIX}QUEUE_TIMEOUT); retry later",
            {"Retry-After": "1"},
        )

    def _abandon(self, client: str, ticket: asyncio.Future[None], long: bool) -> None:
        if ticket.done() and not ticket.cancelled():
            self._leave(client, long)  # admitted at the last moment: pass the slot on
        else:
            ticket.cancel()
            self._forget(client, ticket, long)

    def _leave(self, client: str, long: bool = False) -> None:
        self.in_use -= 1
        self.long_in_use -= long
        self.running[client] -= 1
        if self.running[client] <= 0:
            del self.running[client]
        self._dispatch()

    def _take(self, client: str, long: bool = False) -> None:
        self.in_use += 1
        self.long_in_use += long
        self.running[client] += 1

    def _forget(self, client: str, ticket: asyncio.Future[None], long: bool) -> None:
        line = self.waiting.get(client)
        if line is None:
            return
        with contextlib.suppress(ValueError):
            line.remove((ticket, long))
        if not line:
            del self.waiting[client]

    def _dispatch(self) -> None:
        """Give free slots to waiting clients, one query per client in turn (a client
        whose next query is long waits while the long lane is full)."""
        while self.in_use < self.slots and self.waiting:
            for client in list(self.waiting):
                if self.running[client] >= self.per_client:
                    continue
                line = self.waiting[client]
                while line and line[0][0].done():
                    line.popleft()  # timed out or cancelled meanwhile
                if not line:
                    del self.waiting[client]
                    continue
                ticket, long = line[0]
                if not self._free_for(long):
                    continue
                line.popleft()
                if not line:
                    del self.waiting[client]
                else:
                    self.waiting.move_to_end(client)  # the next turn goes to someone else
                self._take(client, long)
                ticket.set_result(None)
                break
            else:
                return  # every waiting client is at its own limit, or long in a full lane
