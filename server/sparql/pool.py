"""A pool of query worker processes with a hard time limit per query.

One process, the zygote, loads the store from an N-Quads dump and forks the workers,
which share its pages (copy on write), so workers cost little memory each and there may be
more of them than cores. Evaluating a query writes to the pages it reads (pyoxigraph's
reference counts), which the worker then holds as its own copies: a worker holding more
than ``KARABAKH_KG_WORKER_PRIVATE_MB`` of its own after a job is replaced by a fresh fork.
After an update the pool does not restart them but logs the changed quads (as N-Quads):
each worker applies what it has not seen before its next job, and the zygote gets the
changes in batches and before each fork (for the workers it forks later); the log keeps
only the last changes the zygote has (a worker further behind is replaced by a fresh
fork), and one the zygote lags far behind is folded into a new dump and a new zygote. A
query that overruns its limit gets its worker killed (SIGKILL) and replaced, so the work
really stops and other clients keep being served by the other workers. A job still
running after :data:`DEMOTE_AFTER` (or whose text used :data:`LONG_CPU` before) has its
worker's CPU priority lowered while the pool holds more queries than cores, so that short queries
keep their speed while long ones run (it gets its priority back afterwards, or is
replaced where the server may not raise a priority).
The pool bounds how many queries run (one per worker) and wait. A job with
``chunk_bytes`` is answered as a stream (:meth:`WorkerPool.stream`): the worker's chunks
are handed on as they arrive, under the same time limit, which covers the whole stream.

Calls are blocking and thread-safe: the server runs them in threads so that the
event loop never waits on a query, whichever loop (or test client) calls. Which query gets
a worker, and when, is decided before that, fairly across clients
(:mod:`karabakh_kg.server.sparql.admission`); a query's time limit starts when a worker
takes it.

Own code rather than ``pebble`` (whose ``ProcessPool`` has per-task timeouts that kill the
worker): the zygote is a fresh interpreter started with ``subprocess`` (pebble forks the
server itself or uses multiprocessing's spawn, which re-imports the server's main module,
and forking a server with threads and locks is unsafe), each worker must be chosen by what
it holds (the data generation, the changes it has applied), and a job goes to one known
worker whose process is killed on overrun while its peers keep serving. pebble schedules
tasks on any worker from its own queue, so none of that could be expressed without
wrapping it as much code as this.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from karabakh_kg.graph import WORKERS_SUFFIX, QuadChange, reasoned_cache, workers_key
from karabakh_kg.server.sparql.protocol import (
    CHUNK_BYTES,
    MEMORY_EXHAUSTED,
    AnswerStream,
    QueryAnswer,
    QueryFailed,
    QueryJob,
    answer_from,
    difference_from,
    update_job,
)
from karabakh_kg.server.sparql.worker import (
    MEMORY_VARIABLE,
    SHARED_OPTION,
    TRIM_AFTER,
    EncodedChange,
    encode_change,
    write_dump,
)

WORKER_MODULE = "karabakh_kg.server.sparql.worker"
START_TIMEOUT = 120.0
WAIT_TIMEOUT = 30.0
"""Seconds a job may wait for an idle worker (a respawn after a kill) before PoolBusy;
not counted in the job's own time limit."""
FOLDER_PREFIX = "karabakh-kg-pool-"
OWNER_FILE = "owner.pid"
COMPACT_ABOVE = 50_000
"""Logged quads beyond which the pool writes a fresh dump and replaces its workers (only
when the zygote falls that far behind: the log keeps no more than :data:`KEPT_BEHIND`
changes the zygote has)."""
KEPT_BEHIND = 64
"""Logged changes kept once the zygote has them, for the workers behind it: a worker
further behind is replaced by a fresh fork, quicker than applying a long backlog, so the
log stays short and does not grow to a new dump and zygote every thousand updates."""
ZYGOTE_BATCH = 32
"""Logged changes sent to the zygote together, by a thread of their own: it needs them only
for the workers it forks later (and gets the rest before each fork), so it is not woken for
every update, and an update never waits for it to read them."""
DEMOTE_AFTER = 0.1
"""Seconds after which a running job's worker gets a lower CPU priority, so that short
queries on the other workers keep their speed under heavy load (the short lane), once
queries contend for the cores (:meth:`WorkerPool._contended`). A long job that leaves a
core free keeps its priority: lowering it would only hand its CPU to other programs on
the machine (one client, 100k triples, a machine loaded by other work: 0.53 of the
Oxigraph server's throughput when lowered, 0.91 when not, in one run). Once the job ends
the worker gets its priority back, or, where the server may not raise a priority
(unprivileged, without CAP_SYS_NICE), is replaced by a new one."""
DEMOTED_NICENESS = 5
"""The niceness of a lowered worker: cheap queries at niceness 0 beside it get about three
quarters of a core they share with it (CPU weights 1024 against 335), while it keeps a
share of the machine against other programs. At 19 (weight 15) a long job on a machine
loaded by other work hardly ran, so long queries waited in line and ran out of time: with
every worker but one open to long jobs (admission), 0.89 and 1.18 of the Oxigraph server's
throughput at 8 clients against 0.72 and 0.93, and a cheap client's p95 beside two heavy
ones 1.01 of the Oxigraph server's against 1.05 (bench/README.md, 2026-12-02)."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CONTENDED_CHECK = 0.05
"""Seconds between two looks, while a long job runs at normal priority, at whether other
queries now contend with it for the CPU (:attr:`WorkerPool.cores`)."""
RECYCLE_ABOVE_MB = 64
"""The default of ``private_mb``: a worker holding more memory of its own than this after a
job (MiB) is replaced by a fresh fork. Reading pyoxigraph's in-memory store writes to it
(reference counts), so the pages a worker's queries touch become its own copies; replacing
it gives them back (at the price of copying them again: at 100k triples, about half the
throughput of workers kept whatever they hold)."""
SHARED_RECYCLE_ABOVE_MB = 9
"""The most memory of its own a worker reading the shared on-disk copy keeps after a job
(MiB; lower ``private_mb`` bounds win, 0 still means never): what it holds is the engine's
cache of that copy (pyoxigraph's own block cache, one per process, of a size Python cannot
set) and what its queries left on the heap, and a fresh fork costs no copying, so
replacing it is cheap. A worker idles at 2 MiB and holds 5-8 after its first cheap query
on the curated graph (kept: the bound is above that); after one of the benchmark's long
queries at 100k it holds about 10.5, so with 12 MiB every worker that ran one kept it and
the server's memory grew by that much per worker (100k triples, four workers, interleaved
run of 2026-12-02 01:14 UTC: 149 MiB PSS for the server with 12, 127 with 6, throughput
0.87, 1.10 and 0.68 of the Oxigraph server's at 1, 8 and 32 clients with 12, 0.88, 1.05
and 0.63 with 6; a fork's cold cache costs a few percent more CPU per request)."""
MEMORY_LOOK_EVERY = 16
"""After a job shorter than :data:`~karabakh_kg.server.sparql.worker.TRIM_AFTER`, a worker's
own memory is read only every this many jobs (and after its first): reading
``smaps_rollup`` costs the server about 0.5 ms, a third of its CPU for a cheap query, and a
short job adds little to what a worker holds (the engine's cache of the blocks it read), so
the bound is still kept within a few jobs' worth."""
LONG_CPU = 0.05
"""CPU seconds (the worker's own, so not the time a busy machine kept it waiting) from
which a job's text counts as long: its next jobs start at the lower priority (a client
repeating a heavy query does not get the first :data:`DEMOTE_AFTER` each time), and
admission keeps them to every worker but one, two per core at most
(:meth:`WorkerPool.known_long`). A text whose
job then uses less is no longer long. At 100k triples on disk the benchmark's mix has one
query of about 0.45 s of CPU, one of 0.08-0.11 s, one of 0.03-0.05 s and three of a few
milliseconds; at 32 clients on the loaded machine, 10 s each, the co-participation query
timed out 0 and 1 times with this bound, 5, 5 and 2 times with 0.2 s (the 0.1 s query then
shared the cheap workers with it at a higher priority)."""
REMEMBERED_LONG = 256
"""Texts remembered as long (:data:`LONG_CPU`), the most recent."""


class PoolBusy(RuntimeError):
    """Too many queries are running or waiting."""


class QueryTimeout(TimeoutError):
    """The query overran its time limit; its worker was stopped."""


class WorkerCrashed(RuntimeError):
    """A worker died while evaluating a query (for instance out of memory)."""


class Zygote:
    """The process that loads the data once and forks the workers sharing it
    (:func:`karabakh_kg.server.sparql.worker.zygote_main`), seen from the server.

    A thread reads its messages: that it is ready, the workers it forked (each with the
    server's end of the worker's socket) and the exit status of each of its workers."""

    def __init__(
        self,
        dump: Path,
        union: list[str],
        memory_mb: int = 0,
        shared: Path | None = None,
        owned: bool = True,
    ) -> None:
        env = {**os.environ, "RUST_BACKTRACE": "0"}  # an allocation failure: one line, not 30
        if memory_mb:
            env[MEMORY_VARIABLE] = str(memory_mb)  # each forked worker bounds itself
        self.shared = shared
        """The folder of the on-disk store its workers share (built there unless it exists;
        removed once this process has ended if ``owned``), or None when they share its
        in-memory copy."""
        self._owned = owned
        options = [SHARED_OPTION, str(shared)] if shared is not None else []
        ours, theirs = socket.socketpair()
        # A fresh interpreter (not fork: the server has threads and locks, and not
        # multiprocessing's spawn, which re-imports the caller's main module).
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    WORKER_MODULE,
                    str(theirs.fileno()),
                    str(dump),
                    *options,
                    *union,
                ],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                close_fds=True,
                env=env,
            )
        finally:
            theirs.close()
        self._socket = ours
        self._connection = Connection(os.dup(ours.fileno()))
        self._send_lock = threading.Lock()
        self._changed = threading.Condition()
        self._tokens = itertools.count()
        self._forked: dict[int, tuple[int, int, int]] = {}
        self._exits: dict[int, int] = {}
        self.ready = False
        self.alive = True
        self.sent = 0
        """How many of the pool's logged changes it was sent (the pool sets it)."""
        threading.Thread(target=self._read, daemon=True, name="karabakh-kg-zygote").start()

    def _read(self) -> None:
        try:
            while True:
                message = self._connection.recv()
                with self._changed:
                    if message[0] == "ready":
                        self.ready = True
                    elif message[0] == "forked":
                        _, fds, _, _ = socket.recv_fds(self._socket, 1, 1)
                        self._forked[message[1]] = (message[2], message[3], fds[0])
                    elif message[0] == "exited":
                        self._exits[message[1]] = message[2]
                    self._changed.notify_all()
        except (EOFError, OSError, IndexError):
            pass
        with self._changed:
            self.alive = False
            self._changed.notify_all()
        with contextlib.suppress(Exception):
            self.process.wait(timeout=5)
        self._close_channels()
        if self.shared is not None and self._owned:  # its workers ended before it
            shutil.rmtree(self.shared, ignore_errors=True)

    def _close_channels(self) -> None:
        for channel in (self._connection, self._socket):
            with contextlib.suppress(Exception):
                channel.close()

    def _send(self, message: tuple[Any, ...]) -> None:
        with self._send_lock:
            self._connection.send(message)

    def wait_ready(self, timeout: float) -> bool:
        """Whether it has loaded the data and runs, waiting at most ``timeout`` seconds."""
        with self._changed:
            self._changed.wait_for(lambda: self.ready or not self.alive, timeout)
            return self.ready and self.alive

    def fork(self, timeout: float) -> tuple[int, int, Connection]:
        """A new worker: (pid, how many logged changes its copy holds, its connection);
        :class:`WorkerCrashed` when none came within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        if not self.wait_ready(timeout):
            raise WorkerCrashed("the query workers' process failed to start or to load the data")
        token = next(self._tokens)
        try:
            self._send(("fork", token))
        except OSError:
            raise WorkerCrashed("the query workers' process stopped") from None
        with self._changed:
            self._changed.wait_for(
                lambda: token in self._forked or not self.alive, deadline - time.monotonic()
            )
            found = self._forked.pop(token, None)
        if found is None:
            raise WorkerCrashed("the query workers' process did not start a worker")
        pid, applied, fd = found
        return pid, applied, Connection(fd)

    def patch(self, changes: list[EncodedChange]) -> None:
        """Apply logged changes to the shared copy (for the workers forked later)."""
        with contextlib.suppress(OSError):
            self._send(("patch", changes))

    def retire(self) -> None:
        """Fork no more; the process ends once its workers have."""
        with contextlib.suppress(OSError):
            self._send(("retire",))

    def exit_code(self, pid: int) -> int | None:
        with self._changed:
            return self._exits.get(pid)

    def wait_exit(self, pid: int, timeout: float | None) -> int | None:
        with self._changed:
            self._changed.wait_for(lambda: pid in self._exits or not self.alive, timeout)
            return self._exits.get(pid)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.process.wait(timeout=5)
        self._close_channels()


class ForkedProcess:
    """A worker process forked by a :class:`Zygote`, with the part of
    :class:`subprocess.Popen` the pool uses (its zygote reaps it and reports its status)."""

    def __init__(self, pid: int, zygote: Zygote) -> None:
        self.pid = pid
        self.zygote = zygote
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.exit_code(self.pid)
            if self.returncode is None and not self.zygote.alive and not _exists(self.pid):
                self.returncode = -signal.SIGKILL  # its zygote is gone: no status to read
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:  # never signal a pid that may have been reused
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        if self.poll() is None:
            self.returncode = self.zygote.wait_exit(self.pid, timeout)
        if self.poll() is None:
            raise subprocess.TimeoutExpired(f"query worker {self.pid}", timeout or 0)
        assert self.returncode is not None
        return self.returncode


def plain_copy(shared: Path, target: Path) -> ox.Store:
    """The on-disk copy ``shared`` of the workers (:func:`~karabakh_kg.server.sparql.worker.
    build_shared_store`) as the server's own store holds it, with an empty default graph
    (where theirs holds the union), opened read-only.

    A read-only server's process then needs no in-memory store of the data (35 MiB at 100k
    triples): ``target`` is a checkpoint of ``shared`` (the engine's files hard-linked
    where the file system allows, so the page cache holds them once for every process, in
    milliseconds), its default graph cleared once (about 0.3 s at 100k) and closed before
    it is opened read-only."""
    ox.Store.read_only(str(shared)).backup(str(target))
    writable = ox.Store(str(target))
    writable.clear_graph(ox.DefaultGraph())
    writable.flush()
    del writable  # closed: a folder open for writing may not be opened read-only too
    return ox.Store.read_only(str(target))


def private_memory_mb(pid: int) -> float:
    """The memory process ``pid`` holds alone (written pages: its own allocations, and its
    copies of the zygote's pages), in MiB; 0 when it cannot be read."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0.0
    for line in rollup.splitlines():
        if line.startswith("Private_Dirty:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) process ``pid`` has used, in seconds; 0 when it cannot
    be read (``/proc/PID/stat``, about 20 µs)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def _exists(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@dataclass
class Worker:
    """One worker process and its connection (jobs to it, answers from it)."""

    process: ForkedProcess
    inbox: Connection
    """Answers from the worker."""
    outbox: Connection
    """Jobs to the worker (the same connection as ``inbox``)."""
    generation: int
    applied: int = 0
    """How many logged changes this worker's copy holds."""
    demoted: bool = False
    jobs: int = 0
    """Jobs it answered."""
    held_mb: float | None = None
    """Its own memory when last read (None: not read yet)."""
    """Its priority was lowered while it ran a long job (:data:`DEMOTE_AFTER`)."""

    def is_alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Kill the process (its zygote reaps it) and close the connection."""
        with contextlib.suppress(Exception):
            self.process.kill()
        for conn in (self.inbox, self.outbox):
            with contextlib.suppress(Exception):
                conn.close()


def start_worker(zygote: Zygote, generation: int, timeout: float = START_TIMEOUT) -> Worker:
    """Fork a worker from ``zygote`` (waiting, at most ``timeout`` seconds, for it to have
    loaded the data)."""
    pid, applied, connection = zygote.fork(timeout)
    return Worker(ForkedProcess(pid, zygote), connection, connection, generation, applied)


def remove_stale_folders(parent: Path) -> None:
    """Remove the data folders that pools of stopped servers left behind (``kill -9``).

    A folder is stale when the process named in its owner file no longer runs; a folder
    without one (a pool still writing it, or an older version's) when it is over an hour old.
    """
    for folder in parent.glob(FOLDER_PREFIX + "*"):
        try:
            owner = int((folder / OWNER_FILE).read_text())
        except (OSError, ValueError):
            owner = None
        if owner is not None:
            try:
                os.kill(owner, 0)
                continue  # still running
            except ProcessLookupError:
                pass
            except OSError:
                continue  # someone else's process
        else:
            try:
                if time.time() - folder.stat().st_mtime < 3600:
                    continue
            except OSError:
                continue
        shutil.rmtree(folder, ignore_errors=True)


class WorkerPool:
    """``size`` worker processes answering query jobs (see :mod:`sparql_worker`)."""

    def __init__(
        self,
        store: ox.Store,
        size: int,
        max_queued: int,
        union: list[str] | None = None,
        memory_mb: int = 0,
        private_mb: int = RECYCLE_ABOVE_MB,
        shared: bool = False,
        version: str | None = None,
    ) -> None:
        self.size = size
        self.shared = shared
        """The workers share one on-disk copy, read-only (:func:`~karabakh_kg.server.sparql.
        worker.build_shared_store`): memory grows little with their number, and a change starts a
        new zygote with a new copy (:meth:`reload`) instead of being applied in place."""
        self._kept_key: str | None = None
        """The key under which the reasoned-store cache keeps that copy for the next start
        (from ``version``, the data version of ``store``), until the store changes."""
        if shared and version is not None and reasoned_cache() is not None:
            self._kept_key = workers_key(version, list(union or []), len(store))
        self._zygote_numbers = itertools.count()
        self.private_mb = min(private_mb, SHARED_RECYCLE_ABOVE_MB) if shared else private_mb
        """Replace a worker holding more than this many MiB of its own (0: never)."""
        self.union = list(union or [])
        self.cores = len(os.sched_getaffinity(0))
        """A long job is lowered in priority only while the pool holds more queries than
        this (:data:`DEMOTE_AFTER`)."""
        self.max_queued = max_queued
        self.memory_mb = memory_mb
        remove_stale_folders(Path(tempfile.gettempdir()))
        self._folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
        (self._folder / OWNER_FILE).write_text(str(os.getpid()))
        self._lock = threading.Lock()
        self._idle: queue.Queue[Worker] = queue.LifoQueue()
        """Idle workers, the one that answered last taken first: its engine cache holds
        the blocks recent queries read (a fork starts with an empty one, and a mid-sized
        query of the benchmark's mix costs a fresh fork 20-40% more CPU), and the workers
        a light load leaves idle hold only their 2 MiB."""
        self._returning: queue.Queue[tuple[Worker, bool] | None] = queue.Queue()
        threading.Thread(target=self._keep, daemon=True, name="karabakh-kg-keeper").start()
        self._feed = threading.Event()
        """Set when the zygote lacks :data:`ZYGOTE_BATCH` logged changes (or the pool closes)."""
        self._feeding = threading.Lock()
        """Held while logged changes are sent to the zygote: one sender at a time, in order."""
        threading.Thread(target=self._feed_zygote, daemon=True, name="karabakh-kg-feed").start()
        self._pending = 0
        self._long_running = 0
        """Jobs running past :data:`DEMOTE_AFTER` (or known to run long) now."""
        self._generation = 0
        self._long_texts: OrderedDict[str, None] = OrderedDict()
        """Texts whose jobs ran past DEMOTE_AFTER (the last REMEMBERED_LONG)."""
        self._changes: list[EncodedChange] = []
        """Changes since the dump, in order (added, removed quads, as sent to workers)."""
        self._logged = 0
        """How many quads ``_changes`` holds."""
        self._base = 0
        """The number of the first change in ``_changes`` (those before it, which the
        zygote has, were dropped; workers count changes from the dump: ``applied``)."""
        self._store = store
        self._dump = self._folder / "store-0.nq"
        self._dumped = False
        """Whether ``_dump`` was written (not needed while the cache keeps the workers' copy)."""
        self._closed = False
        self._processes: set[ForkedProcess] = set()
        self._zygote = self._new_zygote()
        self._zygotes = [self._zygote]
        self.timeouts = 0
        for _ in range(size):
            self._spawn_async()

    # -- lifecycle -------------------------------------------------------------------
    def _write_dump(self, store: ox.Store, generation: int) -> Path:
        path = self._folder / f"store-{generation}.nq"
        write_dump(store, path, self.union)
        self._dumped = True
        return path

    def _new_zygote(self) -> Zygote:
        """A zygote of the current dump; when shared, with the on-disk copy the cache keeps
        for this content, or one it builds (and the cache then keeps, off the request path)."""
        cache, key = reasoned_cache(), self._kept_key
        kept = cache.trusted_folder(key, WORKERS_SUFFIX) if cache and key else None
        if kept is not None:
            return Zygote(self._dump, self.union, self.memory_mb, kept, owned=False)
        if not self._dumped:
            self._dump = self._write_dump(self._store, self._generation)
        if not self.shared:
            return Zygote(self._dump, self.union, self.memory_mb)
        built = self._folder / f"shared-{next(self._zygote_numbers)}"
        zygote = Zygote(self._dump, self.union, self.memory_mb, built)
        if cache is not None and key is not None:

            def keep() -> None:
                if zygote.wait_ready(START_TIMEOUT) and key == self._kept_key:
                    cache.keep_folder(key, WORKERS_SUFFIX, built)

            threading.Thread(target=keep, daemon=True, name="karabakh-kg-keep-copy").start()
        return zygote

    def _track(self, process: ForkedProcess) -> None:
        with self._lock:
            self._processes = {p for p in self._processes if p.poll() is None}
            self._processes.add(process)
            closed = self._closed
        if closed:
            process.kill()

    def _spawn_async(self, attempt: int = 0) -> None:
        def start() -> None:
            if attempt:
                time.sleep(min(30.0, 0.5 * 2**attempt))  # back off if starting keeps failing
            if self._closed:
                return
            with self._lock:
                zygote, generation = self._zygote, self._generation
            if not zygote.alive and attempt:
                self._restart_zygote(zygote)
            try:
                if zygote.wait_ready(START_TIMEOUT):
                    self._send_to_zygote(zygote, 1)  # the worker starts with all of them
                worker = start_worker(zygote, generation)
            except (WorkerCrashed, OSError):
                if not self._closed:
                    self._spawn_async(attempt + 1)
                return
            self._track(worker.process)
            if self._closed or worker.generation != self._generation:
                worker.stop()
                if not self._closed:
                    self._spawn_async()
            else:
                self._idle.put(worker)  # applied = 0: the dump, then every logged change

        threading.Thread(target=start, daemon=True, name="karabakh-kg-spawn").start()

    def _restart_zygote(self, dead: Zygote) -> None:
        """Replace a zygote that died (its workers keep serving until replaced)."""
        with self._lock:
            if self._zygote is not dead or self._closed:
                return
            trimmed = self._base > 0
            if not trimmed:
                self._generation += 1
                # The log stays: the new zygote loads the dump and gets every logged change.
                self._zygote = self._new_zygote()
                self._zygotes = [z for z in self._zygotes if z.alive] + [self._zygote]
        if trimmed:  # the log no longer goes back to the dump: a fresh one
            self.reload(self._store)

    def reload(self, store: ox.Store) -> None:
        """Serve ``store``'s new content: every worker is replaced by one forked from a
        zygote holding a fresh copy (the old zygote ends with its last worker)."""
        with self._lock:
            self._kept_key = None  # the content is no longer that of the data version
            self._generation += 1
            old = self._dump
            self._dump = self._write_dump(store, self._generation)
            self._changes, self._logged, self._base = [], 0, 0
            retired = self._zygote
            self._zygote = self._new_zygote()
            self._zygotes = [z for z in self._zygotes if z.alive] + [self._zygote]
        retired.retire()
        with contextlib.suppress(OSError):
            old.unlink()
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            worker.stop()
            self._spawn_async()

    def patch(
        self,
        store: ox.Store,
        added: list[ox.Quad],
        removed: list[ox.Quad],
        before_copy: Callable[[], None] | None = None,
    ) -> None:
        """Serve ``store`` after a change of these quads: workers apply it before their next
        job (no restart); a long log is folded into a new dump (:meth:`reload`), after
        ``before_copy`` (the log holds quads the store may not hold yet: the derived quads
        of an update, written after its answer; a dump without them, and the log emptied,
        would lose them for the workers).

        The change is encoded once (:func:`~karabakh_kg.server.sparql.worker.encode_change`)
        and logged; each worker gets what it lacks with its next job, the zygote
        :data:`ZYGOTE_BATCH` changes at a time and the rest before it forks."""
        if self.shared:  # the workers' copy takes no change: a new one
            if before_copy is not None:
                before_copy()
            self.reload(store)
            return
        encoded = encode_change(added, removed)
        with self._lock:
            self._changes.append(encoded)
            self._logged += len(added) + len(removed)
            behind = self._base + len(self._changes) - self._zygote.sent
            if behind >= ZYGOTE_BATCH:
                self._feed.set()
            drop = len(self._changes) - behind - KEPT_BEHIND  # those the zygote has
            if drop > 0:
                for gone in self._changes[:drop]:
                    self._logged -= gone[0].count(b"\n") + gone[1].count(b"\n")
                del self._changes[:drop]
                self._base += drop
            logged = self._logged
        if logged > COMPACT_ABOVE:
            if before_copy is not None:
                before_copy()
            self.reload(store)

    def _feed_zygote(self) -> None:
        while True:
            self._feed.wait()
            self._feed.clear()
            if self._closed:
                return
            with self._lock:
                zygote = self._zygote
            self._send_to_zygote(zygote, ZYGOTE_BATCH)

    def _send_to_zygote(self, zygote: Zygote, at_least: int) -> None:
        """Send ``zygote``, if it is the current one and has loaded the data, the logged
        changes it lacks, in order, once there are ``at_least`` of them. Not under the
        pool's lock: a zygote slow to read them (a busy machine) holds up no update."""
        with self._feeding:
            with self._lock:
                if zygote is not self._zygote or not zygote.ready:
                    return
                missing = self._changes[zygote.sent - self._base :]
            if missing and len(missing) >= at_least:
                zygote.patch(missing)
                zygote.sent += len(missing)

    def _catch_up(self, worker: Worker, job: dict[str, Any]) -> tuple[dict[str, Any], int] | None:
        """``job`` carrying, in order, the changes ``worker`` has not applied yet (under
        ``"patch"``), and the number of changes its copy holds once it has; None when some
        of them are no longer logged (the worker is to be replaced)."""
        with self._lock:
            if worker.applied < self._base:
                return None
            changes = self._changes[worker.applied - self._base :]
            count = self._base + len(self._changes)
        return ({**job, "patch": changes} if changes else job), count

    def close(self) -> None:
        """Stop every worker process (idle, starting or busy) and forget the data dump."""
        with self._lock:
            self._closed = True
            starting = list(self._processes)
        self._returning.put(None)
        self._feed.set()
        while True:
            try:
                self._idle.get_nowait().stop()
            except queue.Empty:
                break
        busy = self._pending > 0
        for process in starting:
            if busy and process.poll() is None:
                continue  # may be answering a query: stopped when released
            with contextlib.suppress(Exception):
                process.kill()
                process.wait(timeout=5)
        for zygote in self._zygotes:
            if busy:
                zygote.retire()  # ends once its busy workers are stopped
            else:
                zygote.stop()
        shutil.rmtree(self._folder, ignore_errors=True)

    def read_only_store(self, timeout: float = START_TIMEOUT) -> ox.Store | None:
        """The data as an on-disk store read-only (:func:`plain_copy` of the workers' copy,
        in this pool's folder), which then replaces the store the pool dumps from; None when
        the workers hold an in-memory copy, the zygote did not start within ``timeout``
        seconds, the copy could not be made, or it holds other quads than the store."""
        with self._lock:
            zygote, number = self._zygote, next(self._zygote_numbers)
        if not self.shared or not zygote.wait_ready(timeout) or zygote.shared is None:
            return None
        target = self._folder / f"plain-{number}"
        try:
            plain = plain_copy(zygote.shared, target)
            same = len(plain) == len(self._store)
        except OSError:
            same = False
        if not same or self._closed:
            shutil.rmtree(target, ignore_errors=True)
            return None
        self._store = plain
        return plain

    # -- queries ---------------------------------------------------------------------
    def run(
        self, job: dict[str, Any], timeout: float, wait: float = WAIT_TIMEOUT
    ) -> tuple[Any, ...]:
        """Evaluate ``job`` in a worker within ``timeout`` seconds, counted from when a
        worker takes it (waiting for one is bounded by ``wait``, and never kills it)."""
        *_, answer = self.stream(job, timeout, wait)
        return answer

    def stream(
        self, job: dict[str, Any], timeout: float, wait: float = WAIT_TIMEOUT
    ) -> Iterator[tuple[Any, ...]]:
        """As :meth:`run`, giving the worker's ``("chunk", bytes)`` messages as they
        arrive, then its answer; ``timeout`` covers the whole stream. A caller that stops
        reading early (closes the iterator) has the worker stopped and replaced."""
        with self._lock:
            if self._pending >= self.size + self.max_queued:
                raise PoolBusy(
                    f"{self._pending} queries are running or waiting (the limit is "
                    f"{self.size + self.max_queued}); retry later"
                )
            self._pending += 1
        try:
            yield from self._stream(job, timeout, wait)
        finally:
            with self._lock:
                self._pending -= 1

    def _acquire(self, deadline: float, job: dict[str, Any]) -> tuple[Worker, dict[str, Any], int]:
        """An idle worker of this generation with ``job`` as it is to be sent to it and the
        changes it will hold (:meth:`_catch_up`)."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PoolBusy("no query worker became free in time; retry later")
            try:
                worker = self._idle.get(timeout=remaining)
            except queue.Empty:
                raise PoolBusy("no query worker became free in time; retry later") from None
            if worker.generation == self._generation and worker.is_alive():
                caught_up = self._catch_up(worker, job)
                if caught_up is not None:
                    return worker, *caught_up
            worker.stop()  # stale data, too far behind the log, or dead: replace it
            self._spawn_async()

    def _release(self, worker: Worker, short: bool = False) -> None:
        """Back to the idle ones, or replaced; ``short``: the job ended within
        :data:`TRIM_AFTER` (its memory need not be read, :data:`MEMORY_LOOK_EVERY`)."""
        if worker.demoted:
            try:
                os.setpriority(os.PRIO_PROCESS, worker.process.pid, 0)
                worker.demoted = False
            except OSError:
                pass  # not allowed to: replaced below
        if self._closed or worker.generation != self._generation or worker.demoted:
            self._replace(worker)
        else:
            worker.jobs += 1
            look = not short or worker.held_mb is None or worker.jobs % MEMORY_LOOK_EVERY == 0
            self._returning.put((worker, look))  # back to the idle ones once looked at

    def _replace(self, worker: Worker) -> None:
        worker.stop()
        if not self._closed:
            self._spawn_async()

    def _keep(self) -> None:
        """Return released workers to the idle ones, replacing those that hold too much
        memory of their own (reading it takes a millisecond or two: not on the request's
        path; after short jobs only now and then, :data:`MEMORY_LOOK_EVERY`)."""
        while (returned := self._returning.get()) is not None:
            worker, look = returned
            if look and self.private_mb and not self._closed:
                worker.held_mb = private_memory_mb(worker.process.pid)
            if self._closed or (self.private_mb and (worker.held_mb or 0.0) > self.private_mb):
                self._replace(worker)
            else:
                self._idle.put(worker)

    def _stream(
        self, job: dict[str, Any], timeout: float, wait: float
    ) -> Iterator[tuple[Any, ...]]:
        worker, sent, applied = self._acquire(time.monotonic() + wait, job)
        started = time.monotonic()
        deadline, demote_at = started + timeout, started + DEMOTE_AFTER
        text = job.get("sparql") or job.get("update") or ""
        cpu_began = cpu_seconds(worker.process.pid)
        remembered = self._ran_long(text)
        if remembered:
            demote_at = started  # it ran long before: in the low lane from the start
        running = True  # until the worker is released or replaced
        long = False  # counted in _long_running
        try:
            worker.outbox.send(sent)
            while (remaining := deadline - time.monotonic()) > 0:
                if not worker.demoted:
                    due = demote_at - time.monotonic()
                    remaining = min(remaining, max(0.0, due if due > 0 else CONTENDED_CHECK))
                if not worker.inbox.poll(remaining):
                    if not worker.demoted and time.monotonic() >= demote_at:
                        if not long:
                            long = True
                            with self._lock:
                                self._long_running += 1
                        if self._contended():
                            self._demote(worker)
                    continue
                message: tuple[Any, ...] = worker.inbox.recv()
                if message[0] != "chunk":
                    worker.applied = applied
                    running = False
                    took = time.monotonic() - started
                    self._note_cost(text, remembered, worker, cpu_began, took)
                    self._release(worker, short=took < TRIM_AFTER)
                    yield message
                    return
                yield message
        except (EOFError, OSError):
            running = False
            raise self._crash(worker) from None
        finally:
            if long:
                with self._lock:
                    self._long_running -= 1
            if running:  # it overran its time limit, or the caller stopped reading
                self._note_cost(text, remembered, worker, cpu_began, time.monotonic() - started)
                worker.stop()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    worker.process.wait(timeout=2)  # the work has really stopped
                self._spawn_async()
        self.timeouts += 1
        raise QueryTimeout(f"the query did not finish within {timeout:g} s and was stopped")

    def _contended(self) -> bool:
        """Whether queries contend for the cores: the pool holds more queries (running or
        waiting) than :attr:`cores`, or long ones take them all (a short query arriving
        would find none free, and cheap queries come and go between two looks)."""
        with self._lock:
            return self._pending > self.cores or self._long_running >= self.cores

    def known_long(self, text: str) -> bool:
        """Whether the last job of ``text`` used :data:`LONG_CPU` or more (among the last
        :data:`REMEMBERED_LONG` such texts): admission's long lane."""
        with self._lock:
            return text in self._long_texts

    def _note_cost(
        self, text: str, remembered: bool, worker: Worker, cpu_began: float, took: float
    ) -> None:
        """Remember ``text`` as long, or forget it, by the CPU its job used on ``worker``
        (:data:`LONG_CPU`; a job shorter than that in wall time cannot have used more)."""
        used = cpu_seconds(worker.process.pid) - cpu_began if took >= LONG_CPU else 0.0
        if used >= LONG_CPU:
            if not remembered:
                self._remember_long(text)
        elif remembered:
            with self._lock:
                self._long_texts.pop(text, None)

    def _ran_long(self, text: str) -> bool:
        with self._lock:
            if text in self._long_texts:
                self._long_texts.move_to_end(text)
                return True
            return False

    def _remember_long(self, text: str) -> None:
        with self._lock:
            self._long_texts[text] = None
            while len(self._long_texts) > REMEMBERED_LONG:
                self._long_texts.popitem(last=False)

    @staticmethod
    def _demote(worker: Worker) -> None:
        """Lower the CPU priority of a worker running a long job (the short lane)."""
        worker.demoted = True
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, worker.process.pid, DEMOTED_NICENESS)

    def _crash(self, worker: Worker) -> WorkerCrashed:
        """Replace a worker that died on a job; the error saying why it died."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.process.wait(timeout=5)
        aborted = worker.process.returncode in (-signal.SIGABRT, MEMORY_EXHAUSTED)
        worker.stop()
        self._spawn_async()
        if aborted and self.memory_mb:
            return WorkerCrashed(
                f"the query needed more memory than a query worker may use "
                f"({self.memory_mb} MB, KARABAKH_KG_WORKER_MEMORY_MB) and was stopped; "
                "make it select less"
            )
        return WorkerCrashed("the query worker stopped unexpectedly")


def _failed(error: Exception) -> QueryFailed:
    """The store failure of a pool error."""
    if isinstance(error, QueryTimeout):
        return QueryFailed("timeout", str(error))
    if isinstance(error, PoolBusy):
        return QueryFailed("busy", str(error))
    return QueryFailed("crashed", str(error))


POOL_ERRORS = (QueryTimeout, PoolBusy, WorkerCrashed)


class PooledStore:
    """:class:`karabakh_kg.server.sparql.protocol.SparqlStore` over a :class:`WorkerPool`."""

    def __init__(
        self,
        store: ox.Store,
        size: int,
        max_queued: int,
        union: list[str] | None = None,
        memory_mb: int = 0,
        private_mb: int = RECYCLE_ABOVE_MB,
        shared: bool = False,
        version: str | None = None,
    ) -> None:
        self.store = store
        self.pool = WorkerPool(
            store, size, max_queued, union, memory_mb, private_mb, shared, version
        )
        self.revision = 0
        """Bumped each time the workers are told of a change (answers of an earlier
        revision may not hold any more)."""

    def _job(self, job: QueryJob) -> dict[str, Any]:
        """``job`` as sent to a worker: a job on the standard dataset goes without its
        lists of graphs (every named graph, at 100k triples some 600 kB pickled), since
        the workers' default graph already is the union and every graph is named."""
        sent = job.to_dict()
        if job.union_default and self.pool.union and job.exclude_graphs is None:
            sent["default_graph"] = sent["named_graphs"] = None
        return sent

    def read_only_store(self) -> ox.Store | None:
        """:meth:`WorkerPool.read_only_store`, which then is this store's too."""
        plain = self.pool.read_only_store()
        if plain is not None:
            self.store = plain
        return plain

    def known_long(self, text: str) -> bool:
        """Whether a query of ``text`` ran long lately (:meth:`WorkerPool.known_long`)."""
        return self.pool.known_long(text)

    def execute(self, job: QueryJob, timeout: float) -> QueryAnswer:
        try:
            raw = self.pool.run(self._job(job), timeout)
        except POOL_ERRORS as error:
            raise _failed(error) from None
        return answer_from(raw)

    def stream(self, job: QueryJob, timeout: float) -> AnswerStream:
        """The answer to ``job`` in chunks (of at most ``job.chunk_bytes``, or
        :data:`~karabakh_kg.server.sparql.protocol.CHUNK_BYTES`) as the worker writes
        them, within ``timeout`` seconds for the whole answer."""
        chunked = {**self._job(job), "chunk_bytes": job.chunk_bytes or CHUNK_BYTES}

        def messages() -> Iterator[tuple[Any, ...]]:
            try:
                yield from self.pool.stream(chunked, timeout)
            except POOL_ERRORS as error:
                raise _failed(error) from None

        return AnswerStream(messages())

    def update_difference(
        self,
        update: str,
        graph: str,
        prefixes: dict[str, str],
        timeout: float,
        allowlist: Sequence[str] = (),
    ) -> tuple[list[ox.Triple], list[ox.Triple]]:
        """Evaluate the update in a worker (on its copy), killed if it overruns."""
        try:
            raw = self.pool.run(update_job(update, graph, prefixes, allowlist), timeout)
        except POOL_ERRORS as error:
            raise _failed(error) from None
        return difference_from(raw)

    def refresh(
        self, change: QuadChange | None = None, before_copy: Callable[[], None] | None = None
    ) -> None:
        """Serve the store's new content: apply ``change`` in the workers, or reload them
        all when there is none (or it rewrote whole graphs); ``before_copy`` runs before
        the workers' copy is made from the store again."""
        if change is None or change.reset:
            if before_copy is not None:
                before_copy()
            self.pool.reload(self.store)
        elif change:
            self.pool.patch(self.store, change.added, change.removed, before_copy)
        self.revision += 1

    def close(self) -> None:
        self.pool.close()
