"""Hostile-load benchmark: does one client's flood of expensive queries starve another's
cheap ones?

Starts ``karabakh-kg serve`` (the real command, its uvicorn settings included) on the
curated graph, then in one run:

1. idle: a "cheap" client (connecting from 127.0.0.2) sends cheap queries one after the
   other for ``--seconds``: the baseline;
2. hostile: a "hostile" client (from 127.0.0.1) keeps ``--hostile`` expensive queries in
   flight (each one running until the server's time limit stops it, re-sent as soon as it
   is answered) while the cheap client does exactly what it did in 1.

Prints the cheap client's p50, p95 and error rate in both phases and their ratios (hostile /
idle), and what the hostile client got. Goal: cheap p95 within 5 times the idle p95, no
errors for the cheap client. The two clients differ by source address because the server's
per-client limits go by address (127.0.0.0/8 is all loopback on Linux).

    python bench/hostile.py --seconds 20 [--hostile 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx

CHEAP = [
    "ASK { kg:sergei-lavrov a kgo:Person }",
    "SELECT ?label WHERE { kg:sergei-lavrov rdfs:label ?label }",
    "SELECT (COUNT(?p) AS ?n) WHERE { ?p a kgo:Person }",
    "SELECT ?e ?d WHERE { ?e kgo:date ?d } ORDER BY ?d LIMIT 10",
]
HOSTILE = [
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }",
    "SELECT (COUNT(*) AS ?n) WHERE { ?a (!rdf:type)* ?b . ?c (!rdf:type)* ?d . ?e ?f ?g }",
]
HOSTILE_ADDRESS = "127.0.0.1"
CHEAP_ADDRESS = "127.0.0.2"


@dataclass
class Phase:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)

    @property
    def error_rate(self) -> float:
        total = sum(self.statuses.values())
        return self.errors / total if total else float("nan")


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client(address: str, connections: int) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(
        local_address=address,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )
    return httpx.AsyncClient(transport=transport, timeout=120)


async def cheap_loop(url: str, seconds: float) -> Phase:
    """Cheap queries one after the other for ``seconds``."""
    phase = Phase()
    async with client(CHEAP_ADDRESS, 1) as http:
        deadline = time.perf_counter() + seconds
        index = 0
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                response = await http.get(url, params={"query": CHEAP[index % len(CHEAP)]})
                status = response.status_code
            except httpx.HTTPError:
                status = 0
            phase.latencies.append(time.perf_counter() - began)
            phase.statuses[status] += 1
            index += 1
    return phase


async def hostile_loop(url: str, count: int, stop: asyncio.Event) -> Counter[int]:
    """``count`` expensive queries in flight until ``stop``; the statuses they got."""
    statuses: Counter[int] = Counter()
    async with client(HOSTILE_ADDRESS, count) as http:

        async def one(index: int) -> None:
            while not stop.is_set():
                try:
                    response = await http.get(url, params={"query": HOSTILE[index % len(HOSTILE)]})
                    statuses[response.status_code] += 1
                    if response.status_code in (429, 503):
                        await asyncio.sleep(0.05)  # told to wait: a short pause, then again
                except httpx.HTTPError:
                    statuses[0] += 1

        tasks = [asyncio.create_task(one(i)) for i in range(count)]
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return statuses


async def under_attack(url: str, seconds: float, count: int) -> tuple[Phase, Counter[int]]:
    stop = asyncio.Event()
    attack = asyncio.create_task(hostile_loop(url, count, stop))
    await asyncio.sleep(1.0)  # let the hostile queries take their workers first
    phase = await cheap_loop(url, seconds)
    stop.set()
    return phase, await attack


@contextlib.contextmanager
def serving(workers: int) -> Iterator[str]:
    port = free_port()
    command = ["karabakh-kg", "serve", "--port", str(port)]
    if workers:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}/sparql"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"karabakh-kg serve exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, params={"query": "ASK {}"}, timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer within 120 s")
            time.sleep(0.1)
        time.sleep(1.0)  # every worker loaded
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def report(idle: Phase, attacked: Phase, hostile: Counter[int], count: int) -> None:
    rows = [("idle", idle), (f"{count} hostile queries from another client", attacked)]
    print(f"{'cheap client':<44} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}")
    for name, phase in rows:
        print(
            f"{name:<44} {len(phase.latencies):>8} "
            f"{percentile(phase.latencies, 50) * 1000:>8.1f} "
            f"{percentile(phase.latencies, 95) * 1000:>8.1f} "
            f"{phase.error_rate:>7.1%}"
        )
    p50 = percentile(attacked.latencies, 50) / percentile(idle.latencies, 50)
    p95 = percentile(attacked.latencies, 95) / percentile(idle.latencies, 95)
    print(f"ratio under attack / idle: p50 {p50:.2f}x, p95 {p95:.2f}x (goal: p95 under 5x)")
    print(f"cheap client errors under attack: {attacked.errors} (goal: 0)")
    shown = ", ".join(
        f"{status or 'connection error'}: {n}" for status, n in sorted(hostile.items())
    )
    print(f"hostile client's answers: {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--hostile", type=int, default=8, help="hostile queries in flight")
    parser.add_argument("--workers", type=int, default=0, help="query workers (0: default)")
    args = parser.parse_args()
    with serving(args.workers) as url:
        idle = asyncio.run(cheap_loop(url, args.seconds))
        attacked, hostile = asyncio.run(under_attack(url, args.seconds, args.hostile))
    report(idle, attacked, hostile, args.hostile)


if __name__ == "__main__":
    main()
