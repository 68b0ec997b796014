"""SPARQL server benchmark: our endpoint against the Oxigraph server and rdflib-endpoint.

Every server gets the same generated graph (``bench/generate.py``) as one N-Triples file
(ours through ``karabakh-kg serve --data FILE --no-reason``) and the same six-query mix;
each is driven at concurrency 1, 8 and 32 (simulated users, each from its own loopback
address), the servers taking turns (``--rounds``) so that the shared machine's load falls
on all alike. Prints requests per second and p50/p95 latency, ratios to the Oxigraph server
and to rdflib-endpoint measured in the same run, each server's memory (RSS and PSS summed
over its processes, then PSS, USS and private dirty memory per process at the end), then
how long our server takes to start with the curated graph. CPU ms per request sums user and
system time over all of a server's processes (the machine's other load is not in it, so it
compares servers more steadily than throughput does on a shared machine).

    pip install -e '.[bench]'
    python bench/server.py --size 100k --seconds 9 [--skip rdflib-endpoint] [--cache both]
    python bench/server.py --size 10k --workers 2,4,8     # compare worker counts
    python bench/server.py --size 100k --against /tmp/base  # and another checkout's server
    python bench/server.py --size 100k --copies   # and ours with a copy of the data per worker

``--against DIR`` serves the same data with the package of another checkout (a ``git
worktree`` of an earlier commit, say) as ``karabakh-kg (DIR)``, in the same interleaved run,
so that a change is measured against what it replaces.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyoxigraph as ox

HERE = Path(__file__).resolve().parent
PREFIXES = (
    "PREFIX kgo: <https://w3id.org/karabakh-kg/ontology#> "
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
)
QUERIES = [
    PREFIXES + "SELECT (COUNT(?p) AS ?n) WHERE { ?p a kgo:Person }",
    PREFIXES + "SELECT ?p ?l WHERE { ?p a kgo:Person ; rdfs:label ?l } ORDER BY ?l LIMIT 20",
    PREFIXES + "SELECT ?e ?d ?place WHERE { ?e kgo:date ?d ; kgo:location ?place }"
    " ORDER BY DESC(?d) LIMIT 25",
    PREFIXES + "SELECT ?a ?b (COUNT(?e) AS ?n) WHERE { ?e kgo:participant ?a , ?b ."
    " FILTER(STR(?a) < STR(?b)) } GROUP BY ?a ?b ORDER BY DESC(?n) LIMIT 10",
    PREFIXES
    + "SELECT ?v ?r WHERE { ?v a kgo:Village ; kgo:locatedIn+ ?r . ?r a kgo:Region } LIMIT 50",
    PREFIXES + "ASK { ?p kgo:holdsPost ?post . ?post kgo:postIn ?s . ?s a kgo:State }",
]
CONCURRENCY = (1, 8, 32)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    start_seconds: float


def process_tree(root: int) -> list[int]:
    """``root`` and every process descended from it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_memory(root: int) -> tuple[float, float, int]:
    """(RSS, PSS in MiB, processes) of ``root`` and its descendants. RSS counts a page shared
    by several processes once per process; PSS divides it among them, so the PSS sum is what
    the server really holds."""
    rss = pss = 0
    pids = process_tree(root)
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
    return rss / 1024, pss / 1024, len(pids)


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user and system) used so far by ``root`` and its descendants, with the
    children they have reaped (our query workers, reaped by their zygote when replaced)."""
    total = 0
    for pid in process_tree(root):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


def process_memory(root: int) -> list[tuple[int, str, float, float, float]]:
    """Per process of ``root``'s tree: (pid, what it runs, PSS, USS, private dirty MiB), USS
    being what it alone maps (private clean and dirty), private dirty what it wrote: its own
    allocations and its copies of pages it shared. A process running the same command as
    its parent is named a fork of it (our query workers, forks of the zygote)."""
    rows = []
    for pid in process_tree(root):
        with contextlib.suppress(OSError, ValueError):
            found: dict[str, int] = {}
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
                name, value, *_ = line.split()
                found[name.rstrip(":")] = int(value)
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            stat = Path(f"/proc/{pid}/stat").read_text()
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            with contextlib.suppress(OSError):
                if pid != root and Path(f"/proc/{parent}/cmdline").read_bytes() == command:
                    command = f"fork of {parent}".encode()
            words = [w.decode(errors="replace") for w in command.split(b"\0") if w]
            if words and Path(words[0]).name.startswith("python"):
                words = [w for w in words[1:] if w != "-m"]  # the program, not the interpreter
            what = " ".join(Path(word).name.rsplit(".", 1)[-1] for word in words[:2])
            private = found["Private_Clean"] + found["Private_Dirty"]
            rows.append(
                (pid, what, found["Pss"] / 1024, private / 1024, found["Private_Dirty"] / 1024)
            )
    return rows


def print_errors(servers: dict[str, Server]) -> None:
    """Each server's error answers by query of the mix (1-6, in QUERIES' order) and kind."""
    names = {server.url: name for name, server in servers.items()}
    if not ERRORS:
        return
    print()
    print(f"{'errors':28} {'query':>5} {'status':>6} {'code':16} {'count':>5}")
    for (url, number, status, code), count in sorted(ERRORS.items()):
        print(f"{names.get(url, url)[:28]:28} {number:>5} {status:>6} {code[:16]:16} {count:>5}")


def print_process_memory(servers: dict[str, Server]) -> None:
    """Each server's processes and their memory (:func:`process_memory`), now."""
    print()
    print(f"{'per process':40} {'PSS MiB':>8} {'USS MiB':>8} {'dirty MiB':>9}")
    for name, server in servers.items():
        for pid, what, pss, uss, dirty in process_memory(server.process.pid):
            print(f"{name[:14]:14} {pid:>7} {what[-17:]:17} {pss:>8.1f} {uss:>8.1f} {dirty:>9.1f}")


def wait_ready(url: str, process: subprocess.Popen[bytes], limit: float = 300) -> None:
    deadline = time.monotonic() + limit
    query = {"query": "ASK {}"}
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server behind {url} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.get(url, params=query, timeout=2)
            if response.status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {limit} s")


def start(name: str, command: list[str], url: str, env: dict[str, str] | None = None) -> Server:
    began = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    wait_ready(url, process)
    return Server(name, url, process, time.perf_counter() - began)


def stop(server: Server) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()


@contextlib.contextmanager
def running(
    name: str, command: list[str], url: str, env: dict[str, str] | None = None
) -> Iterator[Server]:
    server = start(name, command, url, env)
    try:
        yield server
    finally:
        stop(server)


ERRORS: Counter[tuple[str, int, int, str]] = Counter()
"""(server URL, query number, status, problem code) of every error answer, for the table of
errors printed at the end (which query failed, and how)."""


def problem_code(response: httpx.Response) -> str:
    with contextlib.suppress(ValueError, AttributeError):
        return str(response.json().get("code", ""))
    return ""


async def drive(url: str, concurrency: int, seconds: float) -> tuple[float, list[float], int]:
    """Send the query mix from ``concurrency`` tasks for ``seconds``; (rps, latencies, errors).

    The clients are made before the clock starts: each transport builds its own TLS
    context (tens of milliseconds of CPU), and at 32 clients that setup took more than a
    second of a three-second turn, so the client, not the server, set the rate."""
    latencies: list[float] = []
    errors = 0
    headers = {"Accept": "application/sparql-results+json"}

    async def worker(offset: int, client: httpx.AsyncClient) -> None:
        nonlocal errors
        index = offset
        while time.perf_counter() < deadline:
            number = index % len(QUERIES)
            index += 1
            began = time.perf_counter()
            response = await client.get(url, params={"query": QUERIES[number]})
            latencies.append(time.perf_counter() - began)
            if response.status_code != 200:
                errors += 1
                ERRORS[(url, number + 1, response.status_code, problem_code(response))] += 1

    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for offset in range(concurrency):
            # Each simulated user connects from its own loopback address, as separate
            # users do: per-client limits (ours) see them as the different clients they are.
            transport = httpx.AsyncHTTPTransport(local_address=f"127.0.0.{10 + offset}")
            client = httpx.AsyncClient(transport=transport, timeout=60, headers=headers)
            clients.append(await stack.enter_async_context(client))
        deadline = time.perf_counter() + seconds
        began = time.perf_counter()
        await asyncio.gather(*(worker(i, client) for i, client in enumerate(clients)))
        elapsed = time.perf_counter() - began
    return len(latencies) / elapsed, latencies, errors


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100)[int(q) - 1]


def answer_sizes(url: str) -> list[object]:
    """Rows (or the boolean) of each query, to check that every server does the same work
    (waiting as long as :func:`drive` does: at 1M triples a query takes more than 5 s)."""
    sizes: list[object] = []
    for query in QUERIES:
        response = httpx.get(
            url,
            params={"query": query},
            headers={"Accept": "application/sparql-results+json"},
            timeout=60,
        )
        response.raise_for_status()
        body = response.json()
        sizes.append(body.get("boolean", len(body.get("results", {}).get("bindings", []))))
    return sizes


Results = dict[tuple[str, int], tuple[float, float, float, int, float, float]]
"""(server, concurrency) → (requests per second, p50 ms, p95 ms, errors, CPU ms per
request, over all the server's processes, answers other than errors per second)."""
Memory = dict[str, tuple[float, float, int]]
"""server → the largest (RSS MiB, PSS MiB, processes) seen between turns."""


def measure(
    servers: dict[str, Server],
    levels: list[int],
    rounds: int,
    seconds: float,
    slow: Collection[str] = (),
) -> tuple[Results, Memory]:
    """The query mix on every server at each concurrency in ``levels``, the servers taking
    turns (``rounds`` turns of ``seconds / rounds`` each) so that the shared machine's load
    changes affect every server alike. Checks first that all give answers of the same sizes
    (a warning otherwise). ``slow``: servers given at least 10 s in all above concurrency 8,
    so that they answer some requests."""
    sizes: dict[str, list[object]] = {}
    for name, server in servers.items():
        sizes[name] = answer_sizes(server.url)
        asyncio.run(drive(server.url, 1, 0.5))  # warm up
    if len({tuple(v) for v in sizes.values()}) != 1:
        print(f"warning: the servers' answers differ in size: {sizes}")
    results: Results = {}
    memory: Memory = {}
    for level in levels:
        runs: dict[str, list[tuple[float, list[float], int]]] = {n: [] for n in servers}
        cpu = dict.fromkeys(servers, 0.0)
        for _ in range(rounds):
            for name, server in servers.items():
                turn = seconds / rounds
                if name in slow and level > 8:
                    turn = max(turn, 10 / rounds)
                used = tree_cpu_seconds(server.process.pid)
                runs[name].append(asyncio.run(drive(server.url, level, turn)))
                cpu[name] += tree_cpu_seconds(server.process.pid) - used
                rss, pss, count = tree_memory(server.process.pid)
                before = memory.get(name, (0.0, 0.0, 0))
                memory[name] = max(before, (rss, pss, count), key=lambda m: m[1])
        for name, parts in runs.items():
            latencies = [t for _, lat, _ in parts for t in lat]
            elapsed = sum(len(lat) / rps for rps, lat, _ in parts if rps)
            results[(name, level)] = (
                len(latencies) / elapsed if elapsed else 0.0,
                percentile(latencies, 50) * 1000,
                percentile(latencies, 95) * 1000,
                sum(errors for _, _, errors in parts),
                cpu[name] * 1000 / len(latencies) if latencies else float("nan"),
                (len(latencies) - sum(e for _, _, e in parts)) / elapsed if elapsed else 0.0,
            )
    return results, memory


def print_results(results: Results, memory: Memory, baselines: list[str]) -> None:
    """The table of :func:`measure`: throughput as ratios to each of ``baselines`` at the
    same concurrency (every answer counted, errors too: a 503 after waiting in line is an
    answer), then answers without the errors per second and their ratio to the first
    baseline's, then each server's memory."""
    print()
    header = f"{'server':28} {'conc':>4} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6} "
    header += f"{'CPU ms/req':>10} "
    header += " ".join(f"{'vs ' + name[:12]:>15}" for name in baselines)
    header += f" {'ok/s':>7} {'ok vs ' + baselines[0][:9]:>15}"
    print(header)
    print("-" * len(header))
    for (name, level), (rps, p50, p95, errors, cpu, ok) in results.items():
        ratios = []
        for baseline in baselines:
            other = results.get((baseline, level), (float("nan"),))[0]
            ratios.append(f"{rps / other:>15.2f}" if other else f"{'-':>15}")
        first_ok = results.get((baselines[0], level), (float("nan"),) * 6)[5]
        ratios.append(f"{ok:>7.1f} " + (f"{ok / first_ok:>15.2f}" if first_ok else f"{'-':>15}"))
        print(
            f"{name:28} {level:>4} {rps:>9.1f} {p50:>8.1f} {p95:>8.1f} {errors:>6} {cpu:>10.1f} "
            + " ".join(ratios)
        )
    print()
    print(f"{'server memory (all processes)':32} {'RSS MiB':>8} {'PSS MiB':>8} {'processes':>9}")
    for name, (rss, pss, count) in memory.items():
        print(f"{name:32} {rss:>8.0f} {pss:>8.0f} {count:>9}")


def prepare_data(size: str, folder: Path) -> Path:
    """Generated triples (``bench/generate.py``) as one N-Triples file, for every server."""
    sys.path.insert(0, str(HERE))
    import generate

    quads = generate.generate(generate.parse_size(size))
    triples = folder / "data.nt"
    ox.serialize(
        [ox.Triple(q.subject, q.predicate, q.object) for q in quads],
        str(triples),
        format=ox.RdfFormat.N_TRIPLES,
    )
    print(f"data: {len(quads)} triples ({size})")
    return triples


def karabakh_kg() -> str:
    """The ``karabakh-kg`` command of this interpreter's environment."""
    beside = Path(sys.executable).parent / "karabakh-kg"
    return str(beside) if beside.exists() else shutil.which("karabakh-kg") or "karabakh-kg"


def serve_oxigraph(data: Path, location: Path, port: int) -> tuple[list[str], str, dict[str, str]]:
    """Load ``data`` into a new Oxigraph store at ``location``; (command, query URL,
    environment) of ``oxigraph serve-read-only`` on it."""
    subprocess.run(
        ["oxigraph", "load", "--location", str(location), "--file", str(data)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    command = ["oxigraph", "serve-read-only", "--location", str(location)]
    return [*command, "--bind", f"127.0.0.1:{port}"], f"http://127.0.0.1:{port}/query", {}


def serve_ours(
    data: Path | None, port: int, workers: int = 0, cache: bool = False
) -> tuple[list[str], str, dict[str, str]]:
    """(command, query URL, environment) of ``karabakh-kg serve`` on ``data`` as it is, not
    reasoned (raw query speed), or on the curated graph (reasoned) when ``data`` is None;
    the result cache on or off."""
    command = [karabakh_kg(), "serve", "--port", str(port), "--log-level", "warning"]
    if data is not None:
        command += ["--data", str(data), "--no-reason", "--max-rows", "1000000"]
    if workers:
        command += ["--workers", str(workers)]
    environment = {"KARABAKH_KG_RESULT_CACHE_MB": "64" if cache else "0"}
    return command, f"http://127.0.0.1:{port}/sparql", environment


def checkout_environment(checkout: Path, folder: Path) -> dict[str, str]:
    """The environment that makes ``karabakh-kg`` run the package of ``checkout`` (its
    ``ontology``, ``graph`` and ``server`` folders, linked under ``folder`` as the
    ``karabakh_kg`` namespace and put first on ``PYTHONPATH``)."""
    package = folder / "karabakh_kg"
    package.mkdir(parents=True, exist_ok=True)
    for name in ("ontology", "graph", "server"):
        if not (package / name).exists():
            (package / name).symlink_to(checkout.resolve() / name)
    return {"PYTHONPATH": str(folder)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100k", help="generated graph size (10k, 100k ...)")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each run")
    parser.add_argument("--workers", default="", help="our worker counts to compare, e.g. 1,2,4")
    parser.add_argument("--concurrency", default=",".join(map(str, CONCURRENCY)))
    parser.add_argument(
        "--cache",
        choices=("off", "on", "both"),
        default="off",
        help="our result cache: off (the goals are measured so), on, or both side by side",
    )
    parser.add_argument(
        "--skip", default="", help="servers to leave out, comma-separated (rdflib-endpoint)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="turns each server gets at each concurrency"
    )
    parser.add_argument(
        "--no-start", action="store_true", help="do not time the start with the curated graph"
    )
    parser.add_argument(
        "--copies",
        action="store_true",
        help="serve ours also with a copy of the data per worker (KARABAKH_KG_WORKER_COPIES)",
    )
    parser.add_argument(
        "--against",
        type=Path,
        help="a checkout of another version, served too (as 'karabakh-kg (DIR)')",
    )
    args = parser.parse_args()
    skipped = {name for name in args.skip.split(",") if name}
    if "oxigraph" in skipped:
        parser.error("the Oxigraph server is the baseline: it cannot be skipped")
    levels = [int(c) for c in args.concurrency.split(",")]
    worker_counts = [int(w) for w in args.workers.split(",") if w] or [0]
    folder = Path(tempfile.mkdtemp(prefix="karabakh-bench-server-"))
    try:
        triples = prepare_data(args.size, folder)
        commands: dict[str, tuple[list[str], str, dict[str, str]]] = {}
        commands["oxigraph"] = serve_oxigraph(triples, folder / "oxigraph", free_port())
        port = free_port()
        commands["rdflib-endpoint"] = (
            [
                shutil.which("rdflib-endpoint") or "rdflib-endpoint",
                "serve",
                str(triples),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            f"http://127.0.0.1:{port}/",
            {},
        )
        caches = {"off": [False], "on": [True], "both": [False, True]}[args.cache]
        for workers in worker_counts:
            for cache in caches:
                label = "karabakh-kg" + (f" ({workers} workers)" if workers else "")
                label += " cache" if cache else ""
                commands[label] = serve_ours(triples, free_port(), workers, cache)
                if args.copies:
                    command, url, env = serve_ours(triples, free_port(), workers, cache)
                    env["KARABAKH_KG_WORKER_COPIES"] = "true"
                    commands[label + " copies"] = (command, url, env)
                if args.against is not None:
                    command, url, env = serve_ours(triples, free_port(), workers, cache)
                    env.update(checkout_environment(args.against, folder / "against"))
                    commands[label.replace("karabakh-kg", f"karabakh-kg ({args.against.name})")] = (
                        command,
                        url,
                        env,
                    )
        with contextlib.ExitStack() as stack:
            servers: dict[str, Server] = {}
            for name, (command, url, env) in commands.items():
                if name not in skipped:
                    servers[name] = stack.enter_context(running(name, command, url, env))
                    print(f"{name}: ready in {servers[name].start_seconds:.2f} s")
            results, memory = measure(
                servers, levels, args.rounds, args.seconds, slow={"rdflib-endpoint"}
            )
            print_results(results, memory, ["oxigraph", "rdflib-endpoint"])
            print_errors(servers)
            print_process_memory(servers)
        print()
        if args.no_start:
            return
        with running("curated", *serve_ours(None, free_port())) as server:
            print(
                "start with the curated graph (reasoned), process start to first answer: "
                f"{server.start_seconds:.2f} s"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
