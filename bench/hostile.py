"""Heavy-load benchmark: do a few clients' long queries slow down another client's cheap ones?
Ours against the Oxigraph server, on the same data, in one run.

Both servers get the same generated graph (``bench/generate.py``) as N-Triples (ours through
``karabakh-kg serve --data FILE --no-reason``, its uvicorn settings and defaults included).
A heavy query is calibrated on the Oxigraph server to take about ``--heavy-seconds`` there
(a count over the product of two LIMITed subqueries: its cost grows with the square of the
limit). Then, for each server in turn:

1. idle: a "cheap" client (from 127.0.0.2) sends cheap queries one after the other for
   ``--seconds``: the baseline;
2. loaded: ``--heavy-clients`` clients (from 127.0.0.10, .11 ...) each keep ``--in-flight``
   heavy queries running (re-sent as soon as answered) while the cheap client does exactly
   what it did in 1.

Prints the cheap client's p50, p95 and errors per server and phase, our loaded p95 against
the Oxigraph server's (goal: at most 2x), and what the heavy clients got. The clients differ
by source address because our per-client limits go by address (127.0.0.0/8 is all loopback
on Linux).

    python bench/hostile.py --size 10k --seconds 10 [--heavy-clients 2] [--in-flight 1]
    python bench/hostile.py --size 100k --rounds 3 --against /tmp/base  # and another checkout

``--against DIR`` serves ours a second time with the package of another checkout (as
``bench/server.py --against`` does); ``--rounds`` has the servers take that many turns
at each phase, one after the other, so that the shared machine's load falls on all alike
(the latencies of all turns are pooled).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import server as bench  # noqa: E402  (bench/server.py: data, servers, percentiles)

PREFIXES = (
    "PREFIX kgo: <https://w3id.org/karabakh-kg/ontology#> "
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
)
CHEAP = [
    PREFIXES + "ASK { ?s a kgo:State }",
    PREFIXES + "SELECT ?l WHERE { ?s a kgo:State ; rdfs:label ?l } ORDER BY ?l LIMIT 5",
    PREFIXES + "SELECT (COUNT(?s) AS ?n) WHERE { ?s a kgo:State }",
    PREFIXES + "SELECT ?e ?d WHERE { ?e kgo:date ?d } LIMIT 10",
]
HEAVY = (
    "SELECT (COUNT(*) AS ?n) WHERE {{ {{ SELECT ?a WHERE {{ ?a ?p ?o }} LIMIT {n} }} "
    "{{ SELECT ?b WHERE {{ ?b ?q ?r }} LIMIT {n} }} FILTER(?a != ?b) }}"
)
CHEAP_ADDRESS = "127.0.0.2"
JSON = {"Accept": "application/sparql-results+json"}


@dataclass
class Phase:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)

    def p(self, q: int) -> float:
        return bench.percentile(self.latencies, q) * 1000


def client(address: str, connections: int) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(
        local_address=address,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )
    return httpx.AsyncClient(transport=transport, timeout=120, headers=JSON)


def calibrate(url: str, target: float) -> tuple[str, float]:
    """The heavy query taking about ``target`` seconds at ``url``, and its time there."""
    limit, took = 200, 0.0
    for _ in range(12):
        query = HEAVY.format(n=limit)
        began = time.perf_counter()
        httpx.get(url, params={"query": query}, headers=JSON, timeout=300).raise_for_status()
        took = time.perf_counter() - began
        if 0.7 * target <= took <= 1.4 * target:
            break
        limit = max(10, int(limit * min(4.0, (target / max(took, 1e-3)) ** 0.5)))
    return HEAVY.format(n=limit), took


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


async def heavy_loop(
    url: str, query: str, clients: int, in_flight: int, stop: asyncio.Event
) -> Counter[int]:
    """``clients`` clients, each keeping ``in_flight`` heavy queries running until ``stop``."""
    statuses: Counter[int] = Counter()

    async def one(http: httpx.AsyncClient) -> None:
        while not stop.is_set():
            try:
                response = await http.get(url, params={"query": query})
                statuses[response.status_code] += 1
                if response.status_code in (429, 503):
                    await asyncio.sleep(0.05)  # told to wait: a short pause, then again
            except httpx.HTTPError:
                statuses[0] += 1

    async with contextlib.AsyncExitStack() as stack:
        https = [
            await stack.enter_async_context(client(f"127.0.0.{10 + i}", in_flight))
            for i in range(clients)
        ]
        tasks = [asyncio.create_task(one(http)) for http in https for _ in range(in_flight)]
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return statuses


async def loaded(
    url: str, query: str, seconds: float, clients: int, in_flight: int
) -> tuple[Phase, Counter[int]]:
    stop = asyncio.Event()
    heavy = asyncio.create_task(heavy_loop(url, query, clients, in_flight, stop))
    await asyncio.sleep(1.0)  # let the heavy queries start first
    phase = await cheap_loop(url, seconds)
    stop.set()
    return phase, await heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="10k", help="generated graph size (10k, 100k ...)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument(
        "--heavy-clients", type=int, default=2, help="clients running heavy queries"
    )
    parser.add_argument("--in-flight", type=int, default=1, help="heavy queries per heavy client")
    parser.add_argument(
        "--heavy-seconds", type=float, default=2.0, help="the heavy query's time on Oxigraph"
    )
    parser.add_argument("--workers", type=int, default=0, help="our query workers (0: default)")
    parser.add_argument("--cache", action="store_true", help="our result cache on")
    parser.add_argument("--rounds", type=int, default=1, help="turns each server gets per phase")
    parser.add_argument(
        "--against", type=Path, help="a checkout of another version, served too (as ours)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="karabakh-bench-hostile-"))
    try:
        triples = bench.prepare_data(args.size, folder)
        commands = {
            "oxigraph": bench.serve_oxigraph(triples, folder / "oxigraph", bench.free_port()),
            "karabakh-kg": bench.serve_ours(triples, bench.free_port(), args.workers, args.cache),
        }
        if args.against is not None:
            command, url, env = bench.serve_ours(
                triples, bench.free_port(), args.workers, args.cache
            )
            env.update(bench.checkout_environment(args.against, folder / "against"))
            commands[f"karabakh-kg ({args.against.name})"] = (command, url, env)
        phases: dict[str, tuple[Phase, Phase, Counter[int]]] = {}
        with contextlib.ExitStack() as stack:
            servers = {
                name: stack.enter_context(bench.running(name, *command))
                for name, command in commands.items()
            }
            query, took = calibrate(servers["oxigraph"].url, args.heavy_seconds)
            print(f"heavy query: {took:.2f} s on the Oxigraph server", end="")
            for name, server in servers.items():
                if name == "oxigraph":
                    continue
                began = time.perf_counter()
                response = httpx.get(server.url, params={"query": query}, headers=JSON, timeout=300)
                print(
                    f", {time.perf_counter() - began:.2f} s on {name} "
                    f"(status {response.status_code})",
                    end="",
                )
            print(f"; {args.heavy_clients} clients x {args.in_flight} in flight")
            for name in servers:
                phases[name] = (Phase(), Phase(), Counter())
            for _ in range(args.rounds):
                for name, server in servers.items():
                    quiet = asyncio.run(cheap_loop(server.url, args.seconds))
                    phases[name][0].latencies.extend(quiet.latencies)
                    phases[name][0].statuses.update(quiet.statuses)
                for name, server in servers.items():
                    busy, heavy = asyncio.run(
                        loaded(server.url, query, args.seconds, args.heavy_clients, args.in_flight)
                    )
                    phases[name][1].latencies.extend(busy.latencies)
                    phases[name][1].statuses.update(busy.statuses)
                    phases[name][2].update(heavy)
        print()
        print(
            f"{'cheap client':<34} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7} "
            f"{'p95 vs idle':>11}"
        )
        for name, (quiet, busy, _) in phases.items():
            for label, phase in (("idle", quiet), ("loaded", busy)):
                print(
                    f"{name + ', ' + label:<34} {len(phase.latencies):>8} {phase.p(50):>8.1f} "
                    f"{phase.p(95):>8.1f} {phase.errors:>7} {phase.p(95) / quiet.p(95):>10.2f}x"
                )
        for name in phases:
            if name != "oxigraph":
                ratio = phases[name][1].p(95) / phases["oxigraph"][1].p(95)
                print(
                    f"loaded cheap p95, {name} / the Oxigraph server's: {ratio:.2f}x "
                    "(goal: at most 2x)"
                )
        for name, (_, _, heavy) in phases.items():
            shown = ", ".join(
                f"{status or 'connection error'}: {n}" for status, n in sorted(heavy.items())
            )
            print(f"{name}: heavy clients' answers: {shown}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
