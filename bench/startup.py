"""Start-up benchmark: how long a command, or a server, takes to its first answer.

In one run, interleaved round by round (so a drift of the shared machine hits every case
alike), it times from process start:

* ``karabakh-kg query 'ASK {}'`` to its exit, with an empty cache (it reasons and writes
  the reasoned store) and with a warm one (it reads it back), and a SELECT of a few lines
  with a warm cache;
* ``karabakh-kg serve`` to its first SPARQL answer, in memory (cold and warm cache) and with
  ``--store DIR`` (a new store, and a restart on an existing one);
* the baselines: ``python -c pass`` (the interpreter alone), and the Oxigraph server on the
  same data (the reasoned store, as N-Quads): ``oxigraph serve`` on an existing store to its
  first answer, and ``oxigraph load`` of a new store then ``serve`` to its first answer.

It prints the median and spread of each case, and ratios to the interpreter and to the
Oxigraph server's restart, then the CPU seconds of each case (a command to its exit, a
server with its worker processes at its first answer), which a loaded machine inflates less,
and the memory of each server at its first answer (the server process, and with its
processes).

With ``--baseline TREE`` (a checkout of another version, e.g. ``git worktree add
/tmp/baseline HEAD``) every ``karabakh-kg`` case also runs that version, interleaved in the
same rounds, with this environment's libraries and a cache folder of its own, and the
ratios of the two versions are printed; ``--tree TREE`` runs this version from a copy too
(an edit of the working tree during the run, by anyone, would change the reasoned store's
cache key and make a warm case cold).

    python bench/startup.py --rounds 5
    python bench/startup.py --rounds 5 --baseline /tmp/baseline
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from server import Server, free_port, process_tree, stop  # noqa: E402  (the server benchmark's helpers)

BIN = Path(sys.executable).parent
KARABAKH = str(BIN / "karabakh-kg")
OXIGRAPH = shutil.which("oxigraph", path=str(BIN)) or "oxigraph"
ASK = "ASK {}"
SELECT = (
    "SELECT ?who ?meeting WHERE { ?who kgo:participatedIn ?meeting ; kgo:actsFor kg:russia . "
    "?meeting a kgo:Meeting FILTER(?who != kg:vladimir-putin) } ORDER BY ?who LIMIT 10"
)
"""A query of a few lines, as users type them (its reading reaches more parser states)."""


CPU: dict[str, list[float]] = {}
"""CPU seconds (user + system) per case: of the command and the processes it waited for, run
to its exit; of a server and its processes (query workers) when it gave its first answer.
Steadier than wall time on a loaded machine."""
TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by ``root`` and its descendants (from /proc)."""
    total = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


MEMORY: dict[str, list[float]] = {}
"""MiB resident, per server case at its first answer: the server process alone, and it with
its processes (the query workers' zygote and workers)."""


def resident_mib(pid: int) -> float:
    """The resident set of process ``pid`` in MiB (0 when it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], env: dict[str, str], case: str = "") -> float:
    """Seconds from start to exit of ``command`` (which must succeed)."""
    cpu = children_cpu()
    began = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - began
    if case:
        CPU.setdefault(case, []).append(children_cpu() - cpu)
    return wall


PROBE_INTERVAL = 0.005
"""Seconds between two attempts to connect to a starting server."""
PROBE_LIMIT = 300.0
"""Seconds a server is given to answer its first query."""


def first_answer(port: int, path: str, process: subprocess.Popen[bytes]) -> None:
    """Return once the server on ``port`` answers ``ASK {}`` at ``path`` with 200.

    Why not the server benchmark's ``wait_ready``: it tries every 50 ms with a new httpx
    client each time (building its TLS context costs the benchmark some 10-20 ms of CPU per
    attempt, on the two cores the server starts on), so the first answer was seen up to
    50 ms late and the server started beside a busy prober. Here a refused connection is
    retried every :data:`PROBE_INTERVAL` seconds (a system call), and once one is accepted
    a single plain HTTP/1.1 request waits for the answer."""
    request = (
        f"GET {path}?query=ASK%20%7B%7D HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Accept: application/sparql-results+json\r\nConnection: close\r\n\r\n"
    ).encode()
    deadline = time.monotonic() + PROBE_LIMIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=PROBE_LIMIT) as sock:
                sock.sendall(request)
                status = sock.recv(12)
                while sock.recv(65536):  # the whole answer
                    pass
        except OSError:
            time.sleep(PROBE_INTERVAL)
            continue
        if status.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")):
            return
        time.sleep(PROBE_INTERVAL)
    raise RuntimeError(f"the server on port {port} did not answer within {PROBE_LIMIT} s")


def stop_all(process: subprocess.Popen[bytes]) -> None:
    """Stop a server started in a session of its own and wait until every process of that
    session has ended (its query workers too), so that none is still exiting, and taking a
    core, when the next case starts."""
    group = process.pid
    stop(Server("", "", process, 0.0))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


def to_first_answer(command: list[str], port: int, env: dict[str, str], case: str = "") -> float:
    """Seconds from start of the server ``command`` to its first answer to ``ASK {}``."""
    began = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    try:
        first_answer(port, "/query" if command[0] == OXIGRAPH else "/sparql", process)
        seconds = time.perf_counter() - began
        if case:
            CPU.setdefault(case, []).append(tree_cpu(process.pid))
            parent = resident_mib(process.pid)
            tree = sum(resident_mib(pid) for pid in process_tree(process.pid))
            MEMORY.setdefault(case + ", server process", []).append(parent)
            MEMORY.setdefault(case + ", with its processes", []).append(tree)
    finally:
        stop_all(process)
    return seconds


def baseline_command(tree: Path, work: Path, name: str = "baseline") -> str:
    """A ``karabakh-kg`` command running the checkout ``tree``: a virtual environment that
    reads this one's libraries and maps the ``karabakh_kg`` packages to ``tree`` (through the
    editable install's finder, so its worker processes run ``tree`` too)."""
    venv = work / f"{name}-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    ours = Path(sysconfig.get_paths()["purelib"])
    finders = sorted(ours.glob("__editable___karabakh_kg_*_finder.py"))
    if not finders:
        sys.exit("--baseline needs karabakh-kg installed editable (pip install -e .)")
    (theirs,) = (venv / "lib").glob("python*/site-packages")
    mapping = {f"karabakh_kg.{name}": str(tree / name) for name in ("graph", "ontology", "server")}
    mapping["karabakh_kg.seeds"] = str(tree / "seeds")
    (theirs / "karabakh_kg_baseline.pth").write_text(
        f"import site; site.addsitedir({str(ours)!r}); "
        f"import {finders[0].stem} as finder; finder.MAPPING.update({mapping!r})\n"
    )
    command = venv / "bin" / "karabakh-kg"
    command.write_text(
        f"#!{venv / 'bin' / 'python'}\nfrom karabakh_kg.server.cli import main\nmain()\n"
    )
    command.chmod(0o755)
    return str(command)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each case (default 5)")
    parser.add_argument(
        "--baseline", type=Path, metavar="TREE", help="a checkout of the version to compare with"
    )
    parser.add_argument(
        "--tree",
        type=Path,
        metavar="TREE",
        help="run this version from a copy of its tree (as the baseline is run), so that "
        "edits made to the working tree during the run do not reach it",
    )
    parser.add_argument(
        "--warm-only",
        action="store_true",
        help="only the cases that start warm (a shorter run): query and serve with a warm "
        "cache, serve --store restart, and the baselines",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="karabakh-kg-startup-"))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("KARABAKH_KG_")}
    # Compiled modules kept, as an installed package has them: without, every start would
    # compile the modules it imports from their source.
    base_env.pop("PYTHONDONTWRITEBYTECODE", None)
    base_env["KARABAKH_KG_QUERY_WORKERS"] = "2"
    counter = iter(range(10**6))
    versions = {"": KARABAKH}
    try:
        if args.tree is not None:
            versions[""] = baseline_command(args.tree.resolve(), work, "this")
        if args.baseline is not None:
            versions[" [baseline]"] = baseline_command(args.baseline.resolve(), work)
        dump = work / "reasoned.nq"
        timed(
            [
                sys.executable,
                "-c",
                "import sys, pyoxigraph as ox; from karabakh_kg.graph import load_graph; "
                "load_graph().store.dump(sys.argv[1], format=ox.RdfFormat.N_QUADS)",
                str(dump),
            ],
            base_env,
        )
        oxigraph_store = work / "oxigraph"
        timed([OXIGRAPH, "load", "--location", str(oxigraph_store), "--file", str(dump)], base_env)

        def cold_env() -> dict[str, str]:
            return {**base_env, "KARABAKH_KG_CACHE_DIR": str(work / f"cold-{next(counter)}")}

        warm_envs: list[tuple[str, dict[str, str]]] = []
        cases: dict[str, Callable[[], float]] = {
            "python -c pass": lambda: timed([sys.executable, "-c", "pass"], base_env, "python"),
        }
        for tag, karabakh in versions.items():
            # The warm cache and the existing store of this version.
            warm_env = {
                **base_env,
                "KARABAKH_KG_CACHE_DIR": str(work / f"warm-cache{next(counter)}"),
            }
            warm_envs.append((karabakh, warm_env))
            timed([karabakh, "query", ASK], warm_env)
            existing_store = work / f"store-{next(counter)}"
            port = free_port()
            to_first_answer(
                [karabakh, "serve", "--port", str(port), "--store", str(existing_store)],
                port,
                warm_env,
            )
            made = karabakh_cases(karabakh, tag, warm_env, cold_env, existing_store, work)
            cases.update(
                (name, case)
                for name, case in made.items()
                if not args.warm_only or "warm" in name or "restart" in name
            )

        def oxigraph_serve(location: Path) -> float:
            port = free_port()
            return to_first_answer(
                [OXIGRAPH, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
                port,
                base_env,
                "oxigraph serve" if location == oxigraph_store else "",
            )

        def oxigraph_load_and_serve() -> float:
            location = work / f"oxigraph-{next(counter)}"
            began = time.perf_counter()
            timed([OXIGRAPH, "load", "--location", str(location), "--file", str(dump)], base_env)
            return time.perf_counter() - began + oxigraph_serve(location)

        cases["oxigraph serve, restart"] = lambda: oxigraph_serve(oxigraph_store)
        if not args.warm_only:
            cases["oxigraph load + serve"] = oxigraph_load_and_serve
        times: dict[str, list[float]] = {name: [] for name in cases}
        for round_number in range(args.rounds):
            # Warm again (untimed): an edit of the reasoning code between rounds changes the
            # cache key, and "warm" must mean warm.
            for karabakh, warm_env in warm_envs:
                timed([karabakh, "query", ASK], warm_env)
            for name, case in cases.items():
                times[name].append(case())
            print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)
        report(times, versions)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def karabakh_cases(
    karabakh: str,
    tag: str,
    warm_env: dict[str, str],
    cold_env: Callable[[], dict[str, str]],
    existing_store: Path,
    work: Path,
) -> dict[str, Callable[[], float]]:
    """The cases of one version (``tag`` appended to their names)."""

    def serve(
        extra: Callable[[], list[str]], env: Callable[[], dict[str, str]], case: str
    ) -> Callable[[], float]:
        def run() -> float:
            port = free_port()
            return to_first_answer(
                [karabakh, "serve", "--port", str(port), "--log-level", "warning", *extra()],
                port,
                env(),
                case + tag,
            )

        return run

    stores = iter(range(10**6))
    return {
        f"query ASK {{}}, cold cache{tag}": lambda: timed(
            [karabakh, "query", ASK], cold_env(), "query cold" + tag
        ),
        f"query ASK {{}}, warm cache{tag}": lambda: timed(
            [karabakh, "query", ASK], warm_env, "query warm" + tag
        ),
        f"query SELECT, warm cache{tag}": lambda: timed(
            [karabakh, "query", "--format", "csv", SELECT], warm_env, "query SELECT warm" + tag
        ),
        f"serve, cold cache{tag}": serve(list, cold_env, "serve cold"),
        f"serve, warm cache{tag}": serve(list, lambda: warm_env, "serve warm"),
        f"serve --store, new store{tag}": serve(
            lambda: ["--store", str(work / f"new-store{tag.strip(' []')}-{next(stores)}")],
            cold_env,
            "serve new store",
        ),
        f"serve --store, restart{tag}": serve(
            lambda: ["--store", str(existing_store)], lambda: warm_env, "serve restart"
        ),
    }


def report(times: dict[str, list[float]], versions: dict[str, str]) -> None:
    python = statistics.median(times["python -c pass"])
    oxigraph = statistics.median(times["oxigraph serve, restart"])
    print(
        f"{'case':42} {'median s':>9} {'min s':>7} {'max s':>7} {'× python':>9} "
        f"{'× oxigraph restart':>19}"
    )
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:42} {median:>9.3f} {min(values):>7.3f} {max(values):>7.3f} "
            f"{median / python:>9.1f} {median / oxigraph:>19.1f}"
        )
    print()
    for label, values in CPU.items():
        print(f"cpu s, {label:36} median {statistics.median(values):.3f}")
    print()
    for label, values in MEMORY.items():
        print(f"MiB at first answer, {label:56} median {statistics.median(values):.0f}")
    baseline = next((tag for tag in versions if tag), None)
    if baseline is None:
        return
    print("\nthis version against the baseline (baseline median / this median: > 1 is faster)")
    for name, values in times.items():
        if name + baseline in times:
            ratio = statistics.median(times[name + baseline]) / statistics.median(values)
            print(f"wall, {name:36} {ratio:>6.2f}")
    for label, values in CPU.items():
        if label + baseline in CPU:
            ratio = statistics.median(CPU[label + baseline]) / statistics.median(values)
            print(f"cpu,  {label:36} {ratio:>6.2f}")
    for label, values in MEMORY.items():
        case, _, part = label.partition(", ")
        theirs = MEMORY.get(f"{case}{baseline}, {part}")
        if theirs and not case.endswith(baseline):
            ratio = statistics.median(theirs) / statistics.median(values)
            print(f"MiB,  {label:56} {ratio:>6.2f}")


if __name__ == "__main__":
    main()
