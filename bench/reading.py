"""The one reading of SPARQL text (server/sparql/inspect.py) beside pyoxigraph's own parse.

For each query of bench/server.py's mix and each example query of the UI
(server/web/queries/*.rq), and for one large INSERT DATA: the CPU time of
``inspect(text)`` (lark's LALR parse of the SPARQL 1.1 grammar) and of pyoxigraph reading
the same text (``Store().query`` on an empty store, or ``update``, which is its parse and
next to no evaluation), best of several rounds, and their ratio. The grammar is built and
warmed up first (the server does that once per process).

    python bench/reading.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from karabakh_kg.server.sparql.inspect import inspect, warm_up  # noqa: E402
from karabakh_kg.server.web.examples import EXAMPLES  # noqa: E402
from server import QUERIES  # noqa: E402


def cpu_time(action: Callable[[], object], repeat: int, rounds: int) -> float:
    """Seconds of CPU per call, the best of ``rounds`` runs of ``repeat`` calls."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(repeat):
            action()
        best = min(best, (time.process_time() - start) / repeat)
    return best


def engine_reads(text: str, update: bool = False) -> Callable[[], object]:
    def read() -> object:
        store = ox.Store()
        if update:
            store.update(text)
            return None
        result = store.query(text)
        return list(result) if isinstance(result, ox.QuerySolutions | ox.QueryTriples) else result

    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    start = time.process_time()
    warm_up()
    print(f"grammar built and warmed up: {(time.process_time() - start) * 1e3:.0f} ms of CPU")
    texts = [(f"server.py #{i + 1}", q) for i, q in enumerate(QUERIES)]
    texts += [(example.id, example.sparql) for example in EXAMPLES]
    ratios: dict[str, list[float]] = {"server.py": [], "examples": []}
    reading_times: dict[str, list[float]] = {"server.py": [], "examples": []}
    print(f"{'text':28} {'chars':>6} {'reading µs':>11} {'pyoxigraph µs':>14} {'ratio':>6}")
    for name, text in texts:
        assert inspect(text).error is None, name
        ours = cpu_time(functools.partial(inspect, text), 50, rounds)
        theirs = cpu_time(engine_reads(text), 50, rounds)
        group = "server.py" if name.startswith("server.py") else "examples"
        ratios[group].append(ours / theirs)
        reading_times[group].append(ours)
        times = f"{ours * 1e6:11.0f} {theirs * 1e6:14.0f} {ours / theirs:6.1f}"
        print(f"{name:28} {len(text):6} {times}")
    for group, values in ratios.items():
        print(
            f"{group}: reading median {statistics.median(reading_times[group]) * 1e6:.0f} µs, "
            f"max {max(reading_times[group]) * 1e6:.0f} µs; median ratio to pyoxigraph "
            f"{statistics.median(values):.1f}"
        )
    triples = " ".join(f'<http://x/s{i}> <http://x/p> "value {i}" .' for i in range(10_000))
    big = f"INSERT DATA {{ {triples} }}"
    ours = cpu_time(lambda: inspect(big), 1, 3)
    theirs = cpu_time(engine_reads(big, update=True), 1, 3)
    print(
        f"INSERT DATA of 10,000 triples ({len(big) // 1024} kB): reading {ours * 1e3:.0f} ms, "
        f"pyoxigraph {theirs * 1e3:.0f} ms, ratio {ours / theirs:.1f}"
    )


if __name__ == "__main__":
    main()
