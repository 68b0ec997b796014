"""Backend benchmark: the server on the embedded store against the server on remote engines.

For each size, one generated graph (``bench/generate.py``, one N-Triples file) is

1. published (``karabakh_kg.graph.store.publish.publish``, what ``karabakh-kg publish --to``
   runs once the data is loaded) into the Oxigraph server and into Virtuoso, both started as
   the tests start them (``tests/engines.py``), then published again (nothing changed);
2. served by ``karabakh-kg serve --data FILE --no-reason`` (the embedded store) and by
   ``karabakh-kg serve --backend URL`` on each engine, and the query mix of
   ``bench/server.py`` is sent to all three, taking turns (``--rounds``) at each
   concurrency, in one run: requests per second and latency, ratios to the embedded store;
3. reasoned in each engine (``graph/store/reasoning.py``: OWL 2 RL and the domain rules as a
   fixpoint of SPARQL ``INSERT … WHERE``) and by the embedded reasoner on the same data
   (``reasoning.closure.compute``, what ``karabakh-kg reason FILE`` runs): time, ratio to
   the embedded reasoner, and whether the engine's inferred graph is the embedded closure;
   then a change of 10 added and 10 removed triples maintained in the engine, timed as a
   fraction of the full run, its closure compared with the embedded reasoner's.

    python bench/backends.py --sizes 100k --rounds 3 --seconds 6
    python bench/backends.py --sizes 100k,1m --skip virtuoso --no-queries
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import os
import queue
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))  # the engines the tests start

import engines  # type: ignore[import-not-found]  # noqa: E402

import server  # noqa: E402

ENGINES = ("oxigraph", "virtuoso")
VIRTUOSO_PASSWORD = "bench-password"
VIRTUOSO_BUFFERS = 250_000
"""Virtuoso's ``NumberOfBuffers`` here (pages of 8 kB: 2 GB, on a machine of 24 GB): with
the tests' 80 MB, in-engine reasoning at 100k triples waited on the disk (155 s against
104 s with 1.3 GB, the engine's CPU time the same)."""


@dataclass
class Published:
    """One publish into one engine."""

    engine: str
    seconds: float
    again_seconds: float
    graphs: int
    triples: int


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its descendants so far (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for member in server.process_tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{member}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])
    return total / tick


@contextlib.contextmanager
def started(name: str, folder: Path, buffers: int = VIRTUOSO_BUFFERS) -> Iterator[Any]:
    """The engine ``name`` on a fresh database in ``folder`` (Virtuoso with ``buffers``)."""
    folder.mkdir(parents=True)
    if name == "oxigraph":
        with engines.oxigraph_server(folder) as engine:
            yield engine
    else:
        with engines.virtuoso_server(folder, VIRTUOSO_PASSWORD, buffers=buffers) as engine:
            yield engine


def publish_into(kg: Any, engine: Any) -> Published:
    from karabakh_kg.graph.store.publish import publish

    store = engine.store()
    try:
        first = publish(kg, store)
        again = publish(kg, store)
    finally:
        store.close()
    assert not again.changed, "publishing twice changed something"
    return Published(engine.name, first.seconds, again.seconds, first.graphs, first.triples)


def time_limit(seconds: float) -> dict[str, str]:
    """The environment giving every server's queries ``seconds`` (the default 5 s is less
    than some queries of the mix take at 1M triples: they would count as errors)."""
    return {
        "KARABAKH_KG_QUERY_TIMEOUT": f"{seconds:g}",
        "KARABAKH_KG_MAX_QUERY_TIMEOUT": f"{seconds:g}",
    }


@contextlib.contextmanager
def patient_sizes() -> Iterator[None]:
    """:func:`server.measure` checking answer sizes with a query refused (503: past the
    time limit, at 1M triples) counted as its status instead of stopping the run: the timed
    turns count such answers as errors."""
    strict = server.answer_sizes

    def sizes(url: str) -> list[object]:
        found: list[object] = []
        for query in server.QUERIES:
            accept = {"Accept": "application/sparql-results+json"}
            response = httpx.get(url, params={"query": query}, headers=accept, timeout=300)
            if response.status_code != 200:
                found.append(f"HTTP {response.status_code}")
                continue
            body = response.json()
            found.append(body.get("boolean", len(body.get("results", {}).get("bindings", []))))
        print(f"answer sizes {url}: {found}")
        return found

    server.answer_sizes = sizes
    try:
        yield
    finally:
        server.answer_sizes = strict


def serve_backend(engine: Any, port: int) -> tuple[list[str], str, dict[str, str]]:
    """(command, query URL, environment) of ``karabakh-kg serve --backend`` on ``engine``,
    with the limits and cache settings of :func:`server.serve_ours`."""
    command = [server.karabakh_kg(), "serve", "--port", str(port), "--log-level", "warning"]
    command += ["--backend", engine.query_url, "--backend-gsp-url", engine.gsp_url]
    command += ["--max-rows", "1000000"]
    environment = {"KARABAKH_KG_RESULT_CACHE_MB": "0", "KARABAKH_KG_BACKEND_REFRESH": "0"}
    if engine.user:
        command += ["--backend-user", engine.user, "--backend-auth", engine.auth]
        environment["KARABAKH_KG_BACKEND_PASSWORD"] = engine.password
    return command, f"http://127.0.0.1:{port}/sparql", environment


def query_mix(
    data: Path,
    running: dict[str, Any],
    levels: list[int],
    rounds: int,
    seconds: float,
    query_seconds: float,
) -> None:
    commands = {"embedded": server.serve_ours(data, server.free_port())}
    for name, engine in running.items():
        commands[f"backend {name}"] = serve_backend(engine, server.free_port())
    with contextlib.ExitStack() as stack:
        servers: dict[str, server.Server] = {}
        for name, (command, url, env) in commands.items():
            env = {**env, **time_limit(query_seconds)}
            servers[name] = stack.enter_context(server.running(name, command, url, env))
            print(f"{name}: ready in {servers[name].start_seconds:.2f} s")
        with patient_sizes():
            results, memory = server.measure(servers, levels, rounds, seconds)
    server.print_results(results, memory, ["embedded"])


PAGE_TRIPLES = 200_000
"""Triples per page when an engine's inferred graph is read for the comparison: Virtuoso
answers at most 1M rows (``ResultSetMaxRows``) and its Graph Store at most 1M triples
(``FRVEC``), so the 4.2M inferred triples at 1M are read predicate by predicate, a large
predicate in ranges of subjects (``reasoning.subject_part``)."""
Digest = dict[str, tuple[int, int]]
"""Per predicate: (triples, sum of their hashes modulo 2**128): a digest of a set that
does not depend on the order its triples are read in, so pages in any order add up."""


def _term(term: Any) -> str:
    import pyoxigraph as ox

    return "_:b" if isinstance(term, ox.BlankNode) else str(term)  # labels differ by store


def _hash(subject: Any, obj: Any) -> int:
    line = f"{_term(subject)} {_term(obj)}".encode()
    return int.from_bytes(hashlib.blake2b(line, digest_size=16).digest(), "big")


def closure_digest(triples: Any) -> Digest:
    """The :data:`Digest` of ``triples``, streamed (at 1M triples, the embedded closure as a
    set of strings took more than a gigabyte)."""
    found: dict[str, list[int]] = {}
    for t in triples:
        entry = found.setdefault(str(t.predicate), [0, 0])
        entry[0] += 1
        entry[1] = (entry[1] + _hash(t.subject, t.object)) % 2**128
    return {p: (n, h) for p, (n, h) in found.items()}


def engine_digest(store: Any, graph: str) -> Digest:
    """The :data:`Digest` of the engine's ``graph`` read in pages of at most
    :data:`PAGE_TRIPLES` (about), each page checked against the predicate's count."""
    from karabakh_kg.graph.store.reasoning import PARTS, part_bounds, subject_part

    counts = store.select(
        f"SELECT ?p (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }} GROUP BY ?p"
    )
    found: Digest = {}
    for row in counts:
        predicate, size = row["p"], int(row["n"].value)
        bounds = part_bounds(-(-size // PAGE_TRIPLES)) if size > PAGE_TRIPLES else [0, PARTS]
        read, total = 0, 0
        for low, high in itertools.pairwise(bounds):
            rows = store.select(
                f"SELECT ?s ?o WHERE {{ GRAPH <{graph}> {{ ?s {predicate} ?o }} "
                f"{subject_part('?s', low, high)} }}"
            )
            read += len(rows)
            for answer in rows:
                total = (total + _hash(answer["s"], answer["o"])) % 2**128
        if read != size:
            raise RuntimeError(f"{predicate}: {read} triples read in pages, {size} counted")
        found[str(predicate)] = (size, total)
    return found


def sample_change(kg: Any, size: int = 10) -> tuple[list[Any], list[Any]]:
    """A change of the asserted graph: ``size`` asserted triples spread over it removed, and
    copies of them about new subjects added (they derive what the removed ones did)."""
    import pyoxigraph as ox

    from karabakh_kg.graph.dataset import ASSERTED

    asserted = [
        ox.Triple(q.subject, q.predicate, q.object)
        for q in kg.store.quads_for_pattern(None, None, None, ASSERTED)
        if isinstance(q.subject, ox.NamedNode)
    ]
    removed = asserted[:: max(1, len(asserted) // size)][:size]
    added = [
        ox.Triple(ox.NamedNode(t.subject.value + "-added"), t.predicate, t.object)
        for t in removed
        if isinstance(t.subject, ox.NamedNode)
    ]
    return added, removed


def reason(
    kg: Any,
    running: dict[str, Any],
    limit: float,
    change: bool = True,
    request_seconds: float = 0,
) -> None:
    """In-engine reasoning on each engine (at most ``limit`` seconds) against the embedded
    reasoner, closures compared; then one change (:func:`sample_change`) maintained in the
    engine (additions, then removals), timed against the full run, and the closure after it
    compared with the embedded reasoner's on the changed data (unless not ``change``)."""
    import pyoxigraph as ox

    from karabakh_kg.graph.dataset import ASSERTED
    from karabakh_kg.graph.reasoning import closure

    wall, cpu = time.perf_counter(), time.process_time()
    reasoner = closure.compute(kg)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    expected = closure_digest(closure.triples(reasoner, inferred_only=True))
    del reasoner
    added, removed = sample_change(kg)
    for t in removed:
        kg.store.remove(ox.Quad(t.subject, t.predicate, t.object, ASSERTED))
    kg.store.extend(ox.Quad(t.subject, t.predicate, t.object, ASSERTED) for t in added)
    changed = (
        closure_digest(closure.triples(closure.compute(kg), inferred_only=True)) if change else {}
    )
    inferred = sum(n for n, _ in expected.values())
    print(f"\nembedded reasoner: {inferred} inferred triples, {wall:.2f} s ({cpu:.2f} s CPU)")
    print(f"change: {len(added)} triples added, then {len(removed)} removed")
    header = (
        f"{'engine':10} {'wall s':>8} {'engine CPU s':>12} {'rounds':>6} {'inferred':>9} "
        f"{'x embedded':>10} {'closure agrees':>15} {'add s':>7} {'remove s':>8} "
        f"{'x full':>12} {'agrees after':>13} {'longest request s':>17}"
    )
    print(header)
    print("-" * len(header))
    for name, engine in running.items():
        before = cpu_seconds(engine.process.pid)
        outcome = in_engine(engine, limit, added if change else None, removed, request_seconds)
        used = cpu_seconds(engine.process.pid) - before
        if isinstance(outcome, str):
            print(f"{name:10} {outcome} (engine CPU {used:.2f} s)")
            continue
        report, found, longest, maintained = outcome
        line = (
            f"{name:10} {report.seconds:8.2f} {used:12.2f} {report.rounds:6d} "
            f"{report.inferred:9d} {report.seconds / wall:10.1f} {agreement(found, expected):>15} "
        )
        slowest = f"{longest[0]:17.2f} ({report.requests} requests; slowest: {longest[1]})"
        if isinstance(maintained, str):
            print(f"{line}change: {maintained} {slowest}")
            continue
        adding, removing, after = maintained
        print(
            f"{line}{adding.seconds:7.2f} {removing.seconds:8.2f} "
            f"{adding.seconds / report.seconds:5.3f}/{removing.seconds / report.seconds:5.3f} "
            f"{agreement(after, changed):>13} {slowest}"
        )


def agreement(found: Digest | str, expected: Digest) -> str:
    if isinstance(found, str):
        return found
    if found == expected:
        return "yes"
    differ = sorted(p for p in set(found) | set(expected) if found.get(p) != expected.get(p))
    more = sum(found.get(p, (0, 0))[0] for p in differ)
    fewer = sum(expected.get(p, (0, 0))[0] for p in differ)
    return f"no ({len(differ)} predicates differ: {more} triples found, {fewer} expected)"


SLOW_REQUEST = 30.0
"""Seconds past which a request of in-engine reasoning is printed when it ends."""


class Timed:
    """A store whose requests are timed: the longest, with the start of its text (and each
    one longer than :data:`SLOW_REQUEST`, printed)."""

    def __init__(self, store: Any) -> None:
        self.store, self.longest = store, (0.0, "")
        for name in ("update", "select", "ask", "get_graph", "put_graph", "drop_graph"):
            setattr(self, name, self._timed(getattr(store, name)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def _timed(self, method: Any) -> Any:
        def timed(*args: Any, **options: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **options)
            finally:
                took = time.perf_counter() - started
                if took > self.longest[0] or took > SLOW_REQUEST:
                    text = " ".join(str(args[0]).split()) if args else ""
                    head = text[text.find("INSERT") :] if "INSERT" in text else text
                    what = f"{method.__name__} {head[:90]}"
                    if took > self.longest[0]:
                        self.longest = (took, what)
                    if took > SLOW_REQUEST:  # seen during a long run, not only at its end
                        print(f"  slow request, {took:.1f} s: {what}", flush=True)

        return timed


def in_engine(
    engine: Any,
    limit: float,
    added: list[Any] | None,
    removed: list[Any],
    request_seconds: float = 0,
) -> Any:
    """``materialize_in_engine`` on ``engine`` in a process of its own (each request allowed
    ``request_seconds``, else the store's default), then (unless
    ``added`` is None) ``update_in_engine`` with ``added``, then with ``removed``, all
    stopped after ``limit`` seconds: (the full run's report, its inferred graph's digest,
    its longest request (seconds, what), and the change's reports with the digest after
    it, or why there are none), or why there is nothing."""
    import multiprocessing

    def run(answers: Any) -> None:
        from karabakh_kg.graph.dataset import INFERRED
        from karabakh_kg.graph.store.reasoning import materialize_in_engine, update_in_engine

        options = {"timeout": request_seconds} if request_seconds else {}
        store = Timed(engine.store(**options))
        try:
            report = materialize_in_engine(store)
            answers.put((report, store.longest))
            try:
                found: Any = engine_digest(store.store, INFERRED.value)
            except Exception as error:  # reported with the run's figures
                found = f"not read back: {error}"
            answers.put(found)
            if isinstance(found, str):
                return
            if added is None:
                return
            adding = update_in_engine(store, added, [])
            removing = update_in_engine(store, [], removed)
            answers.put((adding, removing, engine_digest(store.store, INFERRED.value)))
        except Exception as error:  # reported: the other engines still run
            answers.put(f"failed: {error}")

    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    worker = context.Process(target=run, args=(answers,))
    worker.start()
    try:
        ran = answers.get(timeout=limit)
    except queue.Empty:
        worker.kill()
        worker.join()
        return f"did not finish in {limit:g} s; {progress(engine)}"
    try:
        if isinstance(ran, str):
            return ran
        report, longest = ran
        try:  # the read-back is not part of the run's time limit
            found = answers.get(timeout=READ_BACK_SECONDS)
        except queue.Empty:
            found = f"not read back in {READ_BACK_SECONDS} s"
        if added is None or isinstance(found, str):
            return report, found, longest, "not run"
        try:
            maintained = answers.get(timeout=limit)
        except queue.Empty:
            maintained = f"did not finish in {limit:g} s"
        return report, found, longest, maintained
    finally:
        worker.kill()
        worker.join()


READ_BACK_SECONDS = 1_200


def progress(engine: Any) -> str:
    """How far a run stopped at its time limit had got: the sizes of the graphs it writes."""
    from karabakh_kg.graph.dataset import INFERRED, INFERRED_WITHHELD
    from karabakh_kg.graph.store.reasoning import DELTA

    graphs = {"inferred": INFERRED, "withheld": INFERRED_WITHHELD}
    graphs |= {g.value.rsplit("/", 1)[-1]: g for g in DELTA}
    store = engine.store()
    try:
        sizes = store.select(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { VALUES ?g { "
            + " ".join(f"<{g.value}>" for g in graphs.values())
            + " } GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
        )
    except Exception as error:  # the engine may be busy still
        return f"graph sizes not read ({error})"
    finally:
        store.close()
    names = {g.value: name for name, g in graphs.items()}
    return ", ".join(f"{names[row['g'].value]} {row['n'].value}" for row in sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k", help="generated sizes, e.g. 100k,1m")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each server per level")
    parser.add_argument("--seconds", type=float, default=6.0, help="per concurrency level")
    parser.add_argument("--concurrency", default="1,8", help="e.g. 1,8,32")
    parser.add_argument("--skip", default="", help="engines to leave out: oxigraph,virtuoso")
    parser.add_argument("--no-queries", action="store_true", help="skip the query mix")
    parser.add_argument(
        "--virtuoso-buffers", type=int, default=VIRTUOSO_BUFFERS, help="its NumberOfBuffers"
    )
    parser.add_argument(
        "--query-timeout", type=float, default=30, help="seconds each server gives a query"
    )
    parser.add_argument("--no-reasoning", action="store_true", help="skip in-engine reasoning")
    parser.add_argument(
        "--no-change", action="store_true", help="no change maintained after in-engine reasoning"
    )
    parser.add_argument(
        "--reasoning-limit", type=float, default=600, help="seconds of in-engine reasoning"
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=0,
        help="seconds the client gives each request of in-engine reasoning (default: "
        "RemoteStore's, 120)",
    )
    args = parser.parse_args()
    skipped = {name for name in args.skip.split(",") if name}
    if skipped - set(ENGINES):
        parser.error(f"unknown engines to skip: {', '.join(sorted(skipped - set(ENGINES)))}")
    levels = [int(c) for c in args.concurrency.split(",")]

    from karabakh_kg.graph import rdf_files

    for size in args.sizes.split(","):
        folder = Path(tempfile.mkdtemp(prefix=f"karabakh-bench-backends-{size}-"))
        try:
            print(f"\n== {size} ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
            data = server.prepare_data(size, folder)
            kg = rdf_files.load_files([data])
            with contextlib.ExitStack() as stack:
                running = {
                    name: stack.enter_context(started(name, folder / name, args.virtuoso_buffers))
                    for name in ENGINES
                    if name not in skipped
                }
                print(f"\n{'publish into':12} {'graphs':>6} {'triples':>9} {'s':>8} {'again s':>8}")
                for engine in running.values():
                    done = publish_into(kg, engine)
                    print(
                        f"{done.engine:12} {done.graphs:6d} {done.triples:9d} "
                        f"{done.seconds:8.2f} {done.again_seconds:8.2f}"
                    )
                if not args.no_queries:
                    query_mix(data, running, levels, args.rounds, args.seconds, args.query_timeout)
                if not args.no_reasoning:
                    reason(
                        kg,
                        running,
                        args.reasoning_limit,
                        not args.no_change,
                        args.request_timeout,
                    )
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
