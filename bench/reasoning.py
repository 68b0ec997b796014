"""Reasoning benchmark: our engine, owlrl and reasonable side by side on one generated graph.

    python bench/reasoning.py --size 100k [--owlrl-timeout 600] [--skip owlrl,reasonable]

Each engine runs in its own forked process on the same input (ontology + a graph from
bench/generate.py); the table shows wall time, peak memory (the process's max RSS), the
number of instance-level triples in the closure, the speed ratio to owlrl and whether the
OWL 2 RL closures are equal (compared as a hash of the sorted instance-level triples, with
the same noise filter as tests/reasoning_support.py). Our engine is timed twice: OWL 2 RL
alone (what owlrl and reasonable compute) and with the domain rules; then one-triple
incremental updates are timed against the full recomputation.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path
from typing import Any

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def _module(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _module(ROOT / "bench" / "generate.py", "bench_generate")
support = _module(ROOT / "tests" / "reasoning_support.py", "reasoning_support")


def _digest(triples: set[tuple[str, str, str]]) -> str:
    h = hashlib.sha256()
    for t in sorted(triples):
        h.update("\t".join(t).encode())
        h.update(b"\n")
    return h.hexdigest()[:16]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _kg(size: int, rules: bool) -> Any:
    from karabakh_kg.ontology import vocab

    quads = generate.generate(size, seed=0)
    return support.make_kg(
        ontology=vocab.ontology_file(), data=quads, rules=support.RULES if rules else None
    )


def run_ours(size: int, rules: bool, incremental: bool) -> dict[str, Any]:
    """Our engine; OWL only when not ``rules``."""
    from karabakh_kg.graph import reasoning
    from karabakh_kg.graph.dataset import ASSERTED

    kg = _kg(size, rules)
    start = time.perf_counter()
    report = reasoning.materialize(kg)
    seconds = time.perf_counter() - start
    r = reasoning.reasoner(kg)
    closure = {tuple(str(x) for x in r.decode(t)) for t in r.engine.facts}
    level = support.instance_level(closure, support.ontology_subjects(kg))
    out: dict[str, Any] = {
        "seconds": seconds,
        "derived": report.derived,
        "instance_triples": len(level),
        "digest": _digest(level) if not rules else "",
        "peak_mb": _peak_mb(),
    }
    if incremental:
        kgo, kgr = (
            "https://w3id.org/karabakh-kg/ontology#",
            "https://w3id.org/karabakh-kg/resource/",
        )
        times = []
        for i in range(5):
            t = ox.Triple(
                ox.NamedNode(kgr + f"event-{i}"),
                ox.NamedNode(kgo + "participant"),
                ox.NamedNode(kgr + f"person-{i + 7}"),
            )
            kg.store.add(ox.Quad(t.subject, t.predicate, t.object, ASSERTED))
            start = time.perf_counter()
            reasoning.update(kg, [t], [])
            times.append(time.perf_counter() - start)
            kg.store.remove(ox.Quad(t.subject, t.predicate, t.object, ASSERTED))
            start = time.perf_counter()
            reasoning.update(kg, [], [t])
            times.append(time.perf_counter() - start)
        out["update_seconds"] = sorted(times)[len(times) // 2]
    return out


def run_owlrl(size: int) -> dict[str, Any]:
    """owlrl's OWL 2 RL closure (input conversion not timed)."""
    import owlrl
    import rdflib

    from karabakh_kg.graph.dataset import ASSERTED, ONTOLOGY

    kg = _kg(size, False)
    data = ox.serialize(
        [
            ox.Triple(q.subject, q.predicate, q.object)
            for g in (ONTOLOGY, ASSERTED)
            for q in kg.store.quads_for_pattern(None, None, None, g)
        ],
        format=ox.RdfFormat.N_TRIPLES,
    )
    graph = rdflib.Graph()
    graph.parse(data=data, format="nt")
    start = time.perf_counter()
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
    seconds = time.perf_counter() - start
    closure = {(s.n3(), p.n3(), o.n3()) for s, p, o in graph if not isinstance(s, rdflib.BNode)}
    level = support.instance_level(closure, support.ontology_subjects(kg))
    return {
        "seconds": seconds,
        "derived": len(graph),
        "instance_triples": len(level),
        "digest": _digest(level),
        "peak_mb": _peak_mb(),
    }


def run_reasonable(size: int) -> dict[str, Any]:
    """The compiled ``reasonable`` OWL 2 RL reasoner (ignores property chains)."""
    import rdflib
    import reasonable

    from karabakh_kg.graph.dataset import ASSERTED, ONTOLOGY

    kg = _kg(size, False)
    graph = rdflib.Graph()
    data = ox.serialize(
        [
            ox.Triple(q.subject, q.predicate, q.object)
            for g in (ONTOLOGY, ASSERTED)
            for q in kg.store.quads_for_pattern(None, None, None, g)
        ],
        format=ox.RdfFormat.N_TRIPLES,
    )
    graph.parse(data=data, format="nt")
    start = time.perf_counter()
    r = reasonable.PyReasoner()
    r.from_graph(graph)
    triples = r.reason()
    seconds = time.perf_counter() - start
    closure = {
        (s.n3(), p.n3(), o.n3()) for s, p, o in triples if not isinstance(s, rdflib.BNode)
    } | {(s.n3(), p.n3(), o.n3()) for s, p, o in graph if not isinstance(s, rdflib.BNode)}
    level = support.instance_level(closure, support.ontology_subjects(kg))
    return {
        "seconds": seconds,
        "derived": len(triples),
        "instance_triples": len(level),
        "digest": _digest(level),
        "peak_mb": _peak_mb(),
    }


def _child(conn: Any, name: str, size: int) -> None:
    try:
        if name == "ours (OWL 2 RL)":
            conn.send(run_ours(size, rules=False, incremental=False))
        elif name == "ours (OWL 2 RL + rules)":
            conn.send(run_ours(size, rules=True, incremental=True))
        elif name == "owlrl":
            conn.send(run_owlrl(size))
        else:
            conn.send(run_reasonable(size))
    except Exception as error:  # report, do not hide, a failing engine
        conn.send({"error": f"{type(error).__name__}: {error}"})


def measure(name: str, size: int, timeout: float) -> dict[str, Any]:
    """Run one engine in a forked process, killed after ``timeout`` seconds."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_child, args=(child, name, size))
    start = time.perf_counter()
    process.start()
    if parent.poll(timeout):
        result: dict[str, Any] = parent.recv()
    else:
        process.kill()
        result = {"error": f"did not finish in {timeout:.0f} s (stopped)"}
    process.join()
    result["wall"] = time.perf_counter() - start
    return result


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="10k", help="asserted triples: 10k, 100k, 1m ...")
    parser.add_argument("--owlrl-timeout", type=float, default=900)
    parser.add_argument("--skip", default="", help="comma-separated: owlrl, reasonable")
    args = parser.parse_args()
    size = generate.parse_size(args.size)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    engines = ["ours (OWL 2 RL)", "ours (OWL 2 RL + rules)", "owlrl", "reasonable"]
    results = {}
    for name in engines:
        if name in skip:
            continue
        timeout = args.owlrl_timeout if name == "owlrl" else 3600
        results[name] = measure(name, size, timeout)
        print(f"  {name}: done", file=sys.stderr)
    reference = results.get("owlrl", {})
    print(f"\nsize: {size} generated asserted triples (+ ontology)\n")
    print(
        f"{'engine':26} {'seconds':>9} {'peak MB':>8} {'instance triples':>17} "
        f"{'x owlrl':>8}  closure = owlrl"
    )
    for name, r in results.items():
        if "error" in r:
            print(f"{name:26} {r['error']}")
            continue
        ratio = (
            f"{reference['seconds'] / r['seconds']:8.1f}" if "seconds" in reference else "       -"
        )
        same = (
            "-"
            if not r["digest"] or "digest" not in reference
            else str(r["digest"] == reference["digest"])
        )
        print(
            f"{name:26} {r['seconds']:9.2f} {r['peak_mb']:8.0f} {r['instance_triples']:17d} "
            f"{ratio}  {same}"
        )
    full = results.get("ours (OWL 2 RL + rules)", {})
    if "update_seconds" in full:
        print(
            "\nincremental one-triple update (median of 10): "
            f"{full['update_seconds'] * 1000:.1f} ms"
            f" vs full recomputation {full['seconds']:.2f} s: "
            f"{full['seconds'] / full['update_seconds']:.0f}x faster"
        )


if __name__ == "__main__":
    main()
