"""Resource pages over an engine: with a local copy of the publication and without one.

One generated graph (``bench/generate.py``) is published into the Oxigraph server (started
as the tests start it, ``tests/engines.py``), then served, in one run, by

* ``karabakh-kg serve --data FILE --no-reason``: the embedded store (the baseline);
* ``karabakh-kg serve --backend URL``: pages read the engine, and the server keeps a local
  copy of the publication for the features that need the whole graph;
* the same with ``KARABAKH_KG_BACKEND_COPY_MAX_TRIPLES=0``: no copy.

For each: seconds until the server answers, its memory (PSS of the process tree) once it
has, and the latency of ``--pages`` resource pages (HTML) fetched one after the other, the
first time (the engine is asked) and again (pages kept per data version), as ratios to
the embedded store. Then the analysts' views (:data:`VIEWS`: the event table, the
timeline, the map, reconciliation), each fetched twice, with their status (without the
copy they read the graph from the engine, up to ``WHOLE_GRAPH_QUADS``: past it, 400), and
the memory after them.

    python bench/backend_pages.py --size 100k --pages 40
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import backends  # noqa: E402

import server  # noqa: E402


def page_latencies(base: str, names: list[str]) -> list[float]:
    """Seconds of each ``/resource/{name}`` page, fetched in turn."""
    seconds = []
    with httpx.Client(timeout=120) as client:
        for name in names:
            began = time.perf_counter()
            response = client.get(f"{base}/resource/{name}", headers={"Accept": "text/html"})
            seconds.append(time.perf_counter() - began)
            if response.status_code != 200:
                raise RuntimeError(f"{base}/resource/{name}: HTTP {response.status_code}")
    return seconds


VIEWS = [
    "/timeline/items",
    "/export/events.csv",
    "/map/places",
    "/reconcile?queries=" + '{"q0":{"query":"person 1","limit":3}}',
]
"""The views fetched: what reads every event or place, and one reconciliation batch."""


def view_latencies(base: str) -> list[tuple[str, int, float, float]]:
    """(path, status, seconds the first time, seconds again) of each of :data:`VIEWS`."""
    found = []
    with httpx.Client(timeout=600) as client:
        for path in VIEWS:
            times = []
            for _ in range(2):
                began = time.perf_counter()
                response = client.get(base + path)
                times.append(time.perf_counter() - began)
            found.append((path.split("?")[0], response.status_code, times[0], times[1]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100k", help="generated size, e.g. 10k, 100k")
    parser.add_argument("--pages", type=int, default=40, help="resource pages per server")
    args = parser.parse_args()

    from karabakh_kg.graph import rdf_files

    folder = Path(tempfile.mkdtemp(prefix=f"karabakh-bench-pages-{args.size}-"))
    try:
        print(f"== {args.size} ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
        data = server.prepare_data(args.size, folder)
        kg = rdf_files.load_files([data])
        names = [f"person-{i}" for i in range(args.pages)]
        with backends.started("oxigraph", folder / "oxigraph") as engine:
            done = backends.publish_into(kg, engine)
            print(f"published {done.triples} triples in {done.seconds:.1f} s")
            del kg
            port = server.free_port()
            commands = {"embedded": server.serve_ours(data, port)}
            command, url, env = backends.serve_backend(engine, server.free_port())
            env["KARABAKH_KG_BACKEND_COPY_MAX_TRIPLES"] = "1000000000"
            commands["backend, copy"] = (command, url, env)
            command, url, env = backends.serve_backend(engine, server.free_port())
            env["KARABAKH_KG_BACKEND_COPY_MAX_TRIPLES"] = "0"
            commands["backend, no copy"] = (command, url, env)
            rows = {}
            views: dict[str, list[tuple[str, int, float, float]]] = {}
            views_pss: dict[str, float] = {}
            for name, (command, url, env) in commands.items():
                with server.running(name, command, url, env) as running:
                    _, pss, _ = server.tree_memory(running.process.pid)
                    base = url.rsplit("/sparql", 1)[0]
                    first = page_latencies(base, names)
                    again = page_latencies(base, names)
                    rows[name] = (running.start_seconds, pss, first, again)
                    views[name] = view_latencies(base)
                    views_pss[name] = server.tree_memory(running.process.pid)[1]
        print(
            f"\n{'server':18} {'ready s':>8} {'PSS MiB':>8} {'page ms':>8} {'p90 ms':>7} "
            f"{'again ms':>8} {'ready x':>8} {'PSS x':>6} {'page x':>7}"
        )
        ready0, pss0, first0, _ = rows["embedded"]
        for name, (ready, pss, first, again) in rows.items():
            median = server.percentile(first, 50) * 1000
            ratio = median / (server.percentile(first0, 50) * 1000)
            print(
                f"{name:18} {ready:8.2f} {pss:8.0f} {median:8.1f} "
                f"{server.percentile(first, 90) * 1000:7.1f} "
                f"{server.percentile(again, 50) * 1000:8.1f} {ready / ready0:8.2f} "
                f"{pss / pss0:6.2f} {ratio:7.2f}"
            )
        print(
            f"\n{'server':18} {'view':20} {'HTTP':>4} {'first s':>8} {'again s':>8} {'first x':>8}"
        )
        baseline = {path: first for path, _, first, _ in views["embedded"]}
        for name, measured in views.items():
            for path, status, first, again in measured:
                print(
                    f"{name:18} {path:20} {status:4} {first:8.2f} {again:8.2f} "
                    f"{first / baseline[path]:8.2f}"
                )
            print(f"{name:18} {'PSS after, MiB':20} {views_pss[name]:13.0f}")
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
