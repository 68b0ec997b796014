"""Derived-data benchmark: what the served reasoner's supports and perspectives cost beside
the closure, and what that makes of ``karabakh-kg serve --data``.

For each size, a graph from ``bench/generate.py`` is written twice: as TriG (one evidence
unit per event, as the curated files have) and as N-Triples (the same triples outside any
named graph: data without evidence units, where every asserted triple rests on the asserted
graph). Each file is reasoned in a process of its own by the reasoner service as
``serve --data`` runs it (``rdf_files.load_files`` then ``reasoning.materialize``), which
times its own phases (here in CPU seconds: the machine is shared): the closure, the
supports, the inferred graph, and the perspectives (the support graph and every
perspective's graphs). The table gives each phase and the supports and the perspectives as
ratios to the closure. With ``--serve``, each file
is also served (``karabakh-kg serve --data FILE``, reasoning on, then ``--no-reason``) and
timed to its first SPARQL answer.

    python bench/derived.py --sizes 10k,100k [--serve]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate, parse_size, write  # noqa: E402

from server import free_port, start, stop  # noqa: E402  (the server benchmark's helpers)

KARABAKH = str(Path(sys.executable).parent / "karabakh-kg")


def reason_child(path: Path) -> dict[str, Any]:
    """In this process: load ``path`` as ``serve --data`` does and materialise it."""
    import resource

    from karabakh_kg.graph import reasoning
    from karabakh_kg.graph.rdf_files import load_files

    kg = load_files([path])
    wall = time.perf_counter
    # The reasoner times its phases with time.perf_counter; in this process that clock is
    # the process's CPU time (its threads included): on the shared machine a wall clock
    # would measure the neighbours' load as much as the reasoner.
    time.perf_counter = time.process_time
    began = wall()
    report = reasoning.materialize(kg)
    seconds = wall() - began
    time.perf_counter = wall
    r = reasoning.reasoner(kg)
    return {
        "phases": report.phases,
        "wall": seconds,
        "asserted": len(r.engine.base),
        "facts": len(r.engine.facts),
        "inferred": report.derived,
        "units": len(r.support.units),
        "support_nodes": sum(len(r.support.of.get(t, ())) for t in r.output),
        "quads": len(kg.store),
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def reason(path: Path) -> dict[str, Any]:
    """:func:`reason_child` in a fresh process (each size starts from the same memory)."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def serve(path: Path, *, reasoned: bool) -> float:
    """Seconds from starting ``karabakh-kg serve --data path`` to its first SPARQL answer."""
    port = free_port()
    command = [KARABAKH, "serve", "--data", str(path), "--port", str(port)]
    if not reasoned:
        command.append("--no-reason")
    server = start("serve --data", command, f"http://127.0.0.1:{port}/sparql")
    stop(server)
    return server.start_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated: 10k, 100k ...")
    parser.add_argument("--serve", action="store_true", help="also time serve --data")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(reason_child(args.child)))
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="karabakh-derived-") as folder:
        for size in args.sizes.split(","):
            trig = write(generate(parse_size(size)), Path(folder) / size)
            ntriples = trig.with_suffix(".nt")
            import pyoxigraph as ox

            ox.serialize(
                (ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(path=trig)),
                ntriples,
                format=ox.RdfFormat.N_TRIPLES,
            )
            for kind, path in (("TriG, a unit per event", trig), ("N-Triples, no units", ntriples)):
                result = reason(path)
                if args.serve:
                    result["serve"] = serve(path, reasoned=True)
                    result["serve_no_reason"] = serve(path, reasoned=False)
                rows.append((size, kind, result))
                print(json.dumps({"size": size, "data": kind, **result}), file=sys.stderr)
    print(
        "| size | data | units | inferred | support nodes | closure | supports | "
        "inferred graph | perspectives | materialize wall s | supports ÷ closure | "
        "perspectives ÷ closure | (supports + perspectives) ÷ closure |"
        + (" serve s | serve --no-reason s |" if args.serve else "")
    )
    print(
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" * args.serve)
    )
    for size, kind, result in rows:
        phases = result["phases"]
        closure = phases["closure"]
        line = (
            f"| {size} | {kind} | {result['units']} | {result['inferred']} | "
            f"{result['support_nodes']} | {closure:.2f} | {phases['support']:.2f} | "
            f"{phases['inferred graph']:.2f} | {phases['perspectives']:.2f} | "
            f"{result['wall']:.1f} | "
            f"{phases['support'] / closure:.2f} | {phases['perspectives'] / closure:.2f} | "
            f"{(phases['support'] + phases['perspectives']) / closure:.2f} |"
        )
        if args.serve:
            line += f" {result['serve']:.1f} | {result['serve_no_reason']:.1f} |"
        print(line)


if __name__ == "__main__":
    main()
