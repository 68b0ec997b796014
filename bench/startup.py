"""Start-up benchmark: how long a command, or a server, takes to its first answer.

In one run, interleaved round by round (so a drift of the shared machine hits every case
alike), it times from process start:

* ``karabakh-kg query 'ASK {}'`` to its exit, with an empty cache (it reasons and writes
  the reasoned store) and with a warm one (it reads it back);
* ``karabakh-kg serve`` to its first SPARQL answer, in memory (cold and warm cache) and with
  ``--store DIR`` (a new store, and a restart on an existing one);
* the baselines: ``python -c pass`` (the interpreter alone), and the Oxigraph server on the
  same data (the reasoned store, as N-Quads): ``oxigraph serve`` on an existing store to its
  first answer, and ``oxigraph load`` of a new store then ``serve`` to its first answer.

It prints the median and spread of each case, and ratios to the interpreter and to the
Oxigraph server's restart, then the CPU seconds of each case (a command to its exit, a
server with its worker processes at its first answer), which a loaded machine inflates less.

    python bench/startup.py --rounds 5
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from server import free_port, process_tree, start, stop  # noqa: E402  (the server benchmark's helpers)

BIN = Path(sys.executable).parent
KARABAKH = str(BIN / "karabakh-kg")
OXIGRAPH = shutil.which("oxigraph", path=str(BIN)) or "oxigraph"
ASK = "ASK {}"


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


def to_first_answer(command: list[str], port: int, env: dict[str, str], case: str = "") -> float:
    """Seconds from start of the server ``command`` to its first answer to ``ASK {}``."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        server = start(
            command[0],
            command,
            f"http://127.0.0.1:{port}/" + ("query" if command[0] == OXIGRAPH else "sparql"),
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if case:
        CPU.setdefault(case, []).append(tree_cpu(server.process.pid))
    stop(server)
    return server.start_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each case (default 5)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="karabakh-kg-startup-"))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("KARABAKH_KG_")}
    base_env["KARABAKH_KG_QUERY_WORKERS"] = "2"
    warm_env = {**base_env, "KARABAKH_KG_CACHE_DIR": str(work / "warm-cache")}
    try:
        # The warm cache, the existing store and the Oxigraph store with the same data.
        timed([KARABAKH, "query", ASK], warm_env)
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
        existing_store = work / "store"
        port = free_port()
        to_first_answer(
            [KARABAKH, "serve", "--port", str(port), "--store", str(existing_store)],
            port,
            warm_env,
        )
        oxigraph_store = work / "oxigraph"
        timed([OXIGRAPH, "load", "--location", str(oxigraph_store), "--file", str(dump)], base_env)
        counter = iter(range(10**6))

        def cold_env() -> dict[str, str]:
            return {**base_env, "KARABAKH_KG_CACHE_DIR": str(work / f"cold-{next(counter)}")}

        def serve(
            extra: list[str], env: Callable[[], dict[str, str]], case: str
        ) -> Callable[[], float]:
            def run() -> float:
                port = free_port()
                return to_first_answer(
                    [KARABAKH, "serve", "--port", str(port), "--log-level", "warning", *extra],
                    port,
                    env(),
                    case,
                )

            return run

        def new_store() -> list[str]:
            return ["--store", str(work / f"new-store-{next(counter)}")]

        def serve_new_store() -> float:
            port = free_port()
            return to_first_answer(
                [KARABAKH, "serve", "--port", str(port), "--log-level", "warning", *new_store()],
                port,
                cold_env(),
                "serve new store",
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

        cases: dict[str, Callable[[], float]] = {
            "python -c pass": lambda: timed([sys.executable, "-c", "pass"], base_env, "python"),
            "query ASK {}, cold cache": lambda: timed(
                [KARABAKH, "query", ASK], cold_env(), "query cold"
            ),
            "query ASK {}, warm cache": lambda: timed(
                [KARABAKH, "query", ASK], warm_env, "query warm"
            ),
            "serve, cold cache": serve([], cold_env, "serve cold"),
            "serve, warm cache": serve([], lambda: warm_env, "serve warm"),
            "serve --store, new store": serve_new_store,
            "serve --store, restart": serve(
                ["--store", str(existing_store)], lambda: warm_env, "serve restart"
            ),
            "oxigraph serve, restart": lambda: oxigraph_serve(oxigraph_store),
            "oxigraph load + serve": oxigraph_load_and_serve,
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for round_number in range(args.rounds):
            # Warm again (untimed): an edit of the reasoning code between rounds changes the
            # cache key, and "warm" must mean warm.
            timed([KARABAKH, "query", ASK], warm_env)
            for name, case in cases.items():
                times[name].append(case())
            print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)
        python = statistics.median(times["python -c pass"])
        oxigraph = statistics.median(times["oxigraph serve, restart"])
        print(
            f"{'case':30} {'median s':>9} {'min s':>7} {'max s':>7} {'× python':>9} "
            f"{'× oxigraph restart':>19}"
        )
        for name, values in times.items():
            median = statistics.median(values)
            print(
                f"{name:30} {median:>9.3f} {min(values):>7.3f} {max(values):>7.3f} "
                f"{median / python:>9.1f} {median / oxigraph:>19.1f}"
            )
        print()
        for label, values in CPU.items():
            print(f"cpu s, {label:24} median {statistics.median(values):.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
