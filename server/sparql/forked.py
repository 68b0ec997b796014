"""One query at a time in a forked child of this process, killed at its time limit: the
query worker of ``karabakh-kg query``.

The server's pool (:mod:`karabakh_kg.server.sparql.pool`) starts a second interpreter that
loads its own copy of the data and forks workers from it: worth it for a server, but for a
command that answers one query it cost more than most queries (a second start, a dump of the
store written and parsed again). This process already holds the data, so the worker is a
fork of it: it shares every page, starts in a millisecond or two, evaluates the job with
the workers' own code (:func:`~karabakh_kg.server.sparql.protocol.run_job`) and sends the
same messages (``("chunk", bytes)`` as the answer is written, then the answer) through a
pipe. Like a pool worker, it is killed (SIGKILL) when it overruns its time limit, so the
work really stops (pyoxigraph cannot interrupt a query from another thread), and its
memory is bounded, so a query that needs too much fails alone.

Forking a process with threads is safe here because the child only evaluates, writes to
its pipe and ends with :func:`os._exit`: it takes no lock another thread may hold (it
neither logs nor prints, and Python renews its import lock in a forked child), and an
on-disk store opened read-only has no background work in flight (no flush, no compaction).
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, Pipe
from typing import Any

import pyoxigraph as ox

from karabakh_kg.graph import QuadChange
from karabakh_kg.server.sparql.protocol import (
    CHUNK_BYTES,
    MEMORY_EXHAUSTED,
    AnswerStream,
    QueryAnswer,
    QueryFailed,
    QueryJob,
    answer_from,
    difference_from,
    run_job,
    update_job,
)

MEMORY_MESSAGE = (
    "the query needed more memory than a query worker may use ({mb} MB, "
    "KARABAKH_KG_WORKER_MEMORY_MB) and was stopped; make it select less"
)


class ForkedStore:
    """:class:`~karabakh_kg.server.sparql.protocol.SparqlStore` evaluating each job in a
    child forked from this process, over ``store`` as it is at the fork.

    ``memory_mb``: what a query's own allocations may add to the child's address space
    (0: no bound); as for the server's workers, past it the allocation fails and the child
    stops alone."""

    def __init__(self, store: ox.Store, memory_mb: int = 0) -> None:
        self.store = store
        self.memory_mb = memory_mb

    def execute(self, job: QueryJob, timeout: float) -> QueryAnswer:
        *_, last = self._messages(job.to_dict(), timeout)
        return answer_from(last)

    def stream(self, job: QueryJob, timeout: float) -> AnswerStream:
        """The answer in chunks as the child writes them; ``timeout`` covers the whole
        stream, and closing the stream early stops the child."""
        chunked = {**job.to_dict(), "chunk_bytes": job.chunk_bytes or CHUNK_BYTES}
        return AnswerStream(self._messages(chunked, timeout))

    def update_difference(
        self,
        update: str,
        graph: str,
        prefixes: dict[str, str],
        timeout: float,
        allowlist: Sequence[str] = (),
    ) -> tuple[list[ox.Triple], list[ox.Triple]]:
        *_, last = self._messages(update_job(update, graph, prefixes, allowlist), timeout)
        return difference_from(last)

    def refresh(
        self, change: QuadChange | None = None, before_copy: Callable[[], None] | None = None
    ) -> None:
        return None  # each job forks from the store as it is then

    def close(self) -> None:
        return None

    def _messages(self, job: dict[str, Any], timeout: float) -> Iterator[tuple[Any, ...]]:
        reader, writer = Pipe(duplex=False)
        pid = os.fork()
        if pid == 0:  # the child: never returns to the caller's code
            status = 1
            try:
                reader.close()
                _quiet_errors()
                self._bound_memory()
                status = _answer(self.store, job, writer)
            except MemoryError:
                status = MEMORY_EXHAUSTED
            finally:
                os._exit(status)
        writer.close()
        ended = reaped = False
        try:
            deadline = time.monotonic() + timeout
            while (remaining := deadline - time.monotonic()) > 0:
                if not reader.poll(remaining):
                    continue
                try:
                    message = reader.recv()
                except (EOFError, OSError):
                    reaped = True
                    raise self._crashed(_reap(pid)) from None
                if message[0] != "chunk":
                    ended = True
                    yield message
                    return
                yield message
            raise QueryFailed("timeout", f"the query did not finish within {timeout:g} s")
        finally:
            if not reaped:
                if not ended:  # overrun, or the caller stopped reading
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                _reap(pid)
            reader.close()

    def _bound_memory(self) -> None:
        if self.memory_mb > 0:
            used = _address_space()
            size = used + self.memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    def _crashed(self, code: int) -> QueryFailed:
        """Why the child ended, with exit ``code``, without an answer."""
        if code in (-signal.SIGABRT, MEMORY_EXHAUSTED) and self.memory_mb:
            return QueryFailed("crashed", MEMORY_MESSAGE.format(mb=self.memory_mb))
        return QueryFailed("crashed", "the query worker stopped unexpectedly")


def _reap(pid: int) -> int:
    """Wait for child ``pid`` to end; its exit code (negative: the signal that ended it)."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return 0
    return os.waitstatus_to_exitcode(status)


def _answer(store: ox.Store, job: dict[str, Any], outbox: Connection) -> int:
    """Evaluate ``job`` and send its chunks and answer on ``outbox``; the exit status."""

    def send_chunk(piece: bytes) -> None:
        try:
            outbox.send(("chunk", piece))
        except OSError:
            raise EOFError from None  # past run_job's handling of failed SERVICE calls

    try:
        outbox.send(run_job(store, job, emit=send_chunk))
    except (EOFError, OSError):  # the caller went away
        return 1
    return 0


def _quiet_errors() -> None:
    """Leave the child's failures to the caller to word: the engine's own report of an
    allocation that failed (with a backtrace, whose symbols take seconds to resolve) would
    be a second error line, and late."""
    os.environ["RUST_BACKTRACE"] = "0"
    handler = sys.modules.get("faulthandler")  # enabled by some hosts (pytest)
    if handler is not None:
        handler.disable()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _address_space() -> int:
    """This process's address space in bytes (0 when /proc does not tell)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")
