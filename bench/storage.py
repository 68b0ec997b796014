"""Storage benchmark: one-triple SPARQL updates per second, ours against the Oxigraph server.

Each server starts on the same data (the curated graph, reasoned, dumped as N-Quads): ours
on a durable store (``serve --store``, incremental reasoning after every update, the
journal, the query workers following the change) and in memory (``--ephemeral-updates``);
the Oxigraph server (``oxigraph serve``, RocksDB, no reasoning) as the baseline. All three
run at once; one client sends ``INSERT DATA`` of one new triple at a time (``--clients N``:
N at once, to every server alike), in turns of ``--turn`` updates to each server in
rotation (so a change in the shared machine's load falls on all of them alike), then checks
that every triple arrived. Prints updates per second and latency, the CPU time each
server's processes (workers included) spent per update (and in three parts: main thread,
other threads, other processes), and the ratios to the Oxigraph server in the same run.
Both servers commit each update to RocksDB without flushing it to the disk (the same
durability: a killed server loses nothing). With ``--store-costs``, the CPU that
pyoxigraph's transactions of an update's quads take on disk and in memory, alone and ten at
a time (what a group commit would save).
Then, on the Oxigraph server and Virtuoso (started as the tests start them): how long
``karabakh-kg publish`` takes for the curated graph, and reasoning in the engine
(``graph/store/reasoning.py``) against the embedded reasoner.

    python bench/storage.py --updates 300 [--turn 50] [--no-engines] [--store-costs] [--clients 4]
    python bench/storage.py --updates 300 --size 10k   # on a generated graph
    python bench/storage.py --updates 300 --no-engines --baseline eb1613e  # before/after

``--baseline REV`` adds our two servers as the code stood at the git revision ``REV``
(exported with ``git archive``, imported ahead of the installed package), in the same
turns, so a change is measured against the code before it in one run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

TOKEN = "bench-token"
ASK_ALL = "ASK {{ <https://w3id.org/karabakh-kg/resource/bench-{n}> ?p ?o }}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], limit: float = 300) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the server exited ({process.returncode})")
        try:
            httpx.get(url, params={"query": "ASK {}"}, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url}: not ready after {limit} s")


@contextlib.contextmanager
def running(
    command: list[str], url: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        command,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_ready(url, process)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _ticks(stat: Path) -> tuple[int, int]:
    """(process group, user + system clock ticks) from a ``/proc/…/stat`` file."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[2]), int(fields[11]) + int(fields[12])


def cpu_parts(group: int) -> tuple[float, float, float]:
    """CPU time (user + system, seconds) of the live processes of process group ``group``,
    in three parts: the main thread of its leader (our server's event loop), the leader's
    other threads (our update thread among them), and the other processes (our zygote and
    query workers)."""
    main = leader = total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            owner, ticks = _ticks(stat)
            if owner == group and stat.parent.name == str(group):
                main = _ticks(stat.parent / "task" / str(group) / "stat")[1]
                leader = ticks
        except OSError:
            continue
        if owner == group:
            total += ticks
    tick = os.sysconf("SC_CLK_TCK")
    return main / tick, (leader - main) / tick, (total - leader) / tick


def cpu_seconds(group: int) -> float:
    """CPU time (user + system) of the live processes of process group ``group``."""
    return sum(cpu_parts(group))


def update_text(n: int) -> bytes:
    """Update number ``n``: one new triple."""
    return (
        f"INSERT DATA {{ <https://w3id.org/karabakh-kg/resource/bench-{n}> "
        "a <https://w3id.org/karabakh-kg/ontology#Person> }"
    ).encode()


def update_headers(headers: dict[str, str]) -> dict[str, str]:
    return {"Content-Type": "application/sparql-update", **headers}


def check_answer(update_url: str, response: httpx.Response) -> None:
    """Stop the run on an update a server did not accept."""
    if response.status_code not in (200, 204):
        raise SystemExit(f"{update_url}: HTTP {response.status_code}: {response.text}")


def drive(
    client: httpx.Client, update_url: str, first: int, count: int, headers: dict[str, str]
) -> list[float]:
    """Send ``count`` one-triple updates in a row (numbered from ``first``); the latency
    of each (seconds)."""
    latencies = []
    for n in range(first, first + count):
        start = time.perf_counter()
        response = client.post(update_url, content=update_text(n), headers=update_headers(headers))
        latencies.append(time.perf_counter() - start)
        check_answer(update_url, response)
    return latencies


def drive_concurrently(
    update_url: str, first: int, count: int, headers: dict[str, str], clients: int
) -> list[float]:
    """:func:`drive` with ``clients`` connections each sending its next update as soon as
    its last one is answered (one asyncio client: threads of a Python client slowed every
    server down, the client's own interpreter lock being the bottleneck)."""
    import asyncio

    numbers = iter(range(first, first + count))
    latencies: list[float] = []

    async def one_client(client: httpx.AsyncClient) -> None:
        for n in numbers:
            start = time.perf_counter()
            response = await client.post(
                update_url, content=update_text(n), headers=update_headers(headers)
            )
            latencies.append(time.perf_counter() - start)
            check_answer(update_url, response)

    async def run() -> None:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            await asyncio.gather(*(one_client(client) for _ in range(clients)))

    asyncio.run(run())
    return latencies


def check_arrived(client: httpx.Client, query_url: str, count: int) -> None:
    for n in (0, count // 2, count - 1):
        answer = client.get(query_url, params={"query": ASK_ALL.format(n=n)})
        if '"boolean":true' not in answer.text.replace(" ", ""):
            raise SystemExit(f"{query_url}: update {n} is missing")


def checkout(revision: str, folder: Path) -> dict[str, str]:
    """The code at git ``revision``, exported into ``folder``, and the environment that
    runs it instead of the installed package (its packages linked under ``karabakh_kg``)."""
    root = Path(__file__).resolve().parents[1]
    tree = folder / "baseline"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", revision], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    package = tree / "import" / "karabakh_kg"
    package.mkdir(parents=True)
    for name in ("ontology", "graph", "server", "seeds"):
        (package / name).symlink_to(tree / name)
    return {"PYTHONPATH": str(package.parent)}


def engines_section(folder: Path) -> None:
    """Publish time and in-engine reasoning time on each engine, against the embedded
    reasoner on the same curated graph, in one run."""
    import importlib.util

    from karabakh_kg.graph import reasoning
    from karabakh_kg.graph.dataset import ASSERTED, ONTOLOGY
    from karabakh_kg.graph.loading import load_graph
    from karabakh_kg.graph.store.publish import publish
    from karabakh_kg.graph.store.reasoning import materialize_in_engine

    spec = importlib.util.spec_from_file_location(
        "bench_engines", Path(__file__).resolve().parents[1] / "tests" / "engines.py"
    )
    assert spec and spec.loader
    engines = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = engines  # its dataclasses look their module up
    spec.loader.exec_module(engines)
    kg = load_graph(reason=False)
    start = time.perf_counter()
    reasoning.materialize(kg)
    embedded = time.perf_counter() - start
    print(f"\ncurated graph: {len(kg.store)} quads; embedded reasoner {embedded:.2f} s")
    print(f"{'engine':10} {'publish s':>10} {'reason s':>9} {'rounds':>7} {'vs embedded':>12}")
    starters = {
        "oxigraph": lambda where: engines.oxigraph_server(where),
        "virtuoso": lambda where: engines.virtuoso_server(where, "bench-password"),
    }
    for name, starter in starters.items():
        where = folder / name
        where.mkdir()
        with starter(where) as engine:
            store = engine.store()
            start = time.perf_counter()
            publish(kg, store)
            published = time.perf_counter() - start
            for graph in (ASSERTED, ONTOLOGY):  # reasoning reads these two
                assert store.get_graph(graph.value)
            report = materialize_in_engine(store)
            print(
                f"{name:10} {published:10.2f} {report.seconds:9.2f} {report.rounds:7d} "
                f"{report.seconds / embedded:12.1f}"
            )


def update_quads(n: int) -> list[Any]:
    """Quads shaped like what one durable one-triple update writes (bench/README.md,
    Storage): the triple in the asserted and the contributor's graph, five log quads, seven
    inferred types and their seven support nodes of five quads each; numbered ``n``."""
    import pyoxigraph as ox

    base = "https://w3id.org/karabakh-kg/"
    rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    node, graph = ox.NamedNode, lambda name: ox.NamedNode(base + "graph/" + name)
    entity, kind = node(f"{base}resource/bench-{n}"), node(rdf + "type")
    activity = node(f"{base}contribution/bench/{n:020d}")
    quads = [
        ox.Quad(entity, kind, node(base + "ontology#Person"), graph(g))
        for g in ("asserted", "contributions/bench")
    ]
    quads += [
        ox.Quad(
            activity,
            node(f"http://www.w3.org/ns/prov#p{i}"),
            ox.Literal(f"value {n} {i}"),
            graph("contribution-log"),
        )
        for i in range(5)
    ]
    for i in range(7):
        cls = node(f"{base}ontology#Class{i}")
        quads.append(ox.Quad(entity, kind, cls, graph("inferred")))
        support = node(f"{base}support/{n:016x}{i:08x}")
        quads += [
            ox.Quad(support, kind, node(base + "ontology#Support"), graph("support")),
            ox.Quad(support, node(rdf + "subject"), entity, graph("support")),
            ox.Quad(support, node(rdf + "predicate"), kind, graph("support")),
            ox.Quad(support, node(rdf + "object"), cls, graph("support")),
            ox.Quad(
                support,
                node(base + "ontology#restsOn"),
                graph("contributions/bench"),
                graph("support"),
            ),
        ]
    return quads


def store_costs(folder: Path, dump: Path, updates: int = 200) -> None:
    """CPU per update of writing its quads to pyoxigraph's on-disk store (RocksDB) and to
    an in-memory one, each holding the served data, one transaction per update or one per
    ten updates (a group commit), and rewriting quads already there: what the durable
    store's transactions cost, and what coalescing them would save."""
    import pyoxigraph as ox

    print(f"\n{'Store.extend, one update = 49 quads':40} {'ms CPU/update':>14} {'us/quad':>8}")
    for where in ("on disk", "in memory"):
        store = ox.Store(str(folder / "costs")) if where == "on disk" else ox.Store()
        store.bulk_load(path=str(dump), format=ox.RdfFormat.N_QUADS)
        numbers = iter(range(10**9))
        for label, group in (("one transaction per update", 1), ("one per ten updates", 10)):
            batches = [
                [q for _ in range(group) for q in update_quads(next(numbers))]
                for _ in range(updates // group)
            ]
            start = time.process_time()
            for batch in batches:
                store.extend(batch)
            spent = (time.process_time() - start) / updates
            per_quad = spent / len(batches[0]) * group
            print(f"{where + ', ' + label:40} {spent * 1000:14.3f} {per_quad * 1e6:8.1f}")
        again = update_quads(0)
        start = time.process_time()
        for _ in range(updates):
            store.extend(again)
        spent = (time.process_time() - start) / updates
        label = f"{where}, the same quads again"
        print(f"{label:40} {spent * 1000:14.3f} {spent / len(again) * 1e6:8.1f}")
        del store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument(
        "--turn", type=int, default=50, help="updates sent to one server before the next"
    )
    parser.add_argument(
        "--warm-up", type=int, default=20, help="updates sent to each server first, not counted"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--clients",
        type=int,
        default=1,
        help="updates in flight at once, for every server alike (default 1: one in a row)",
    )
    parser.add_argument("--no-engines", action="store_true", help="skip publish and reasoning")
    parser.add_argument(
        "--store-costs",
        action="store_true",
        help="also time pyoxigraph's transactions of update-shaped quads, on disk and in memory",
    )
    parser.add_argument(
        "--baseline",
        default="",
        metavar="REV",
        help="also run our servers as the code stood at this git revision, in the same turns",
    )
    parser.add_argument(
        "--size",
        default="",
        help="updates on a generated graph of this many asserted triples (10k, 100k, ...: "
        "bench/generate.py) instead of the curated graph; implies --no-engines",
    )
    args = parser.parse_args()
    from karabakh_kg.graph.loading import load_graph

    python = sys.executable
    oxigraph = str(Path(python).with_name("oxigraph"))
    with tempfile.TemporaryDirectory(prefix="karabakh-kg-bench-") as tmp:
        folder = Path(tmp)
        dump = folder / "data.nq"
        data_dir = None
        if args.size:
            sys.path.insert(0, str(Path(__file__).parent))
            import generate  # type: ignore[import-not-found]

            data_dir = folder / "generated"
            generate.write(generate.generate(generate.parse_size(args.size)), data_dir)
            args.no_engines = True
        start = time.perf_counter()
        load_graph(data_dir).store.dump(dump, format=__import__("pyoxigraph").RdfFormat.N_QUADS)
        print(f"loaded and reasoned in {time.perf_counter() - start:.1f} s")
        subprocess.run(
            [oxigraph, "load", "--location", str(folder / "oxi"), "--file", str(dump)],
            check=True,
            capture_output=True,
        )
        auth = {"Authorization": f"Bearer {TOKEN}"}
        env = {"KARABAKH_KG_UPDATE_TOKEN": TOKEN}
        ours = [python, "-m", "karabakh_kg.server", "serve", "--enable-update"]
        ours += ["--workers", str(args.workers), "--log-level", "warning"]
        if data_dir is not None:
            ours += ["--data-dir", str(data_dir)]
        runs: list[tuple[str, list[str], str, str, dict[str, str], dict[str, str]]] = []
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        runs.append(
            (
                "oxigraph server (no reasoning)",
                [
                    oxigraph,
                    "serve",
                    "--location",
                    str(folder / "oxi"),
                    "--bind",
                    f"127.0.0.1:{port}",
                ],
                base + "/update",
                base + "/query",
                {},
                {},
            )
        )
        versions = [("", env)]
        if args.baseline:
            versions.append((f" at {args.baseline}", {**env, **checkout(args.baseline, folder)}))
        for label, version_env in versions:
            for mode, options in (
                ("--store", ["--store", str(folder / f"ours{len(runs)}")]),
                ("in memory", ["--ephemeral-updates"]),
            ):
                port = free_port()
                base = f"http://127.0.0.1:{port}"
                runs.append(
                    (
                        f"karabakh-kg {mode}{label}",
                        [*ours, *options, "--port", str(port)],
                        base + "/sparql/update",
                        base + "/sparql",
                        auth,
                        version_env,
                    )
                )
        results: dict[str, list[float]] = {name: [] for name, *_ in runs}
        walls = dict.fromkeys(results, 0.0)
        cpu = dict.fromkeys(results, 0.0)
        parts = {name: [0.0, 0.0, 0.0] for name in results}
        with contextlib.ExitStack() as servers, httpx.Client(timeout=60) as client:
            groups = [
                servers.enter_context(running(command, query_url, extra)).pid
                for _, command, _, query_url, _, extra in runs
            ]
            for _, _, update_url, _, headers, _ in runs:
                drive(client, update_url, args.updates, args.warm_up, headers)
            load = os.getloadavg()[0]
            for first in range(0, args.updates, args.turn):
                count = min(args.turn, args.updates - first)
                for group, (name, _, update_url, _, headers, _) in zip(groups, runs, strict=True):
                    before = cpu_parts(group)
                    started = time.perf_counter()
                    if args.clients > 1:
                        results[name] += drive_concurrently(
                            update_url, first, count, headers, args.clients
                        )
                    else:
                        results[name] += drive(client, update_url, first, count, headers)
                    walls[name] += time.perf_counter() - started
                    after = cpu_parts(group)
                    for i in range(3):
                        parts[name][i] += after[i] - before[i]
                    cpu[name] += sum(after) - sum(before)
            for _, _, _, query_url, *_ in runs:
                check_arrived(client, query_url, args.updates)
        baseline = args.updates / walls[runs[0][0]]
        base_cpu = cpu[runs[0][0]]
        print(
            f"{args.updates} one-triple INSERT DATA, "
            + ("in a row, one client" if args.clients == 1 else f"{args.clients} at once")
            + f", turns of {args.turn} "
            f"(load average {load:.1f} before, {os.getloadavg()[0]:.1f} after)"
        )
        print(
            f"{'server':32} {'updates/s':>10} {'p50 ms':>8} {'p95 ms':>8} {'vs oxigraph':>12} "
            f"{'CPU ms/update':>14} {'CPU vs oxigraph':>16}"
        )
        for name, latencies in results.items():
            rate = len(latencies) / walls[name]
            ordered = sorted(latencies)
            p50 = statistics.median(ordered) * 1000
            p95 = ordered[int(0.95 * (len(ordered) - 1))] * 1000
            per_update = cpu[name] / len(latencies) * 1000
            ratio = cpu[name] / base_cpu if base_cpu else float("nan")
            print(
                f"{name:32} {rate:10.1f} {p50:8.1f} {p95:8.1f} {rate / baseline:12.2f} "
                f"{per_update:14.2f} {ratio:16.1f}"
            )
        print(
            f"\n{'CPU ms/update by part':32} {'main thread':>12} {'other threads':>14} "
            f"{'other processes':>16}"
        )
        for name, (main, threads, others) in parts.items():
            ms = [part / len(results[name]) * 1000 for part in (main, threads, others)]
            print(f"{name:32} {ms[0]:12.2f} {ms[1]:14.2f} {ms[2]:16.2f}")
        if args.store_costs:
            store_costs(folder, dump)
        if not args.no_engines:
            engines_section(folder)


if __name__ == "__main__":
    main()
