"""Reasoning benchmark: our engine, a naive SPARQL-rules fixpoint, owlrl and reasonable
side by side on one generated graph, then one-triple incremental updates.

    python bench/reasoning.py --size 100k [--repeat 5] [--json 100k.json] [--skip owlrl,reasonable]
    python bench/reasoning.py --size 1m --repeat 3 --against 100k.json   # + the time exponent

Each engine runs in its own process on the same input (ontology + a graph from
bench/generate.py), one after the other; the table shows the reasoning's CPU time (the
ratios use it: on a shared machine a process waiting for a core has a long wall time that
says nothing of the engine) and wall time, peak memory (the process's max RSS), the number
of instance-level triples in the closure, the speed ratios to owlrl and to reasonable, and
whether the closures agree (compared by a digest of the instance-level triples, the sum of
each one's hash, streamed from the closure file, with the same noise filter as
tests/reasoning_support.py; each engine's digest is printed, to compare runs):
OWL 2 RL closures with owlrl's, closures with the domain rules with each other. An engine
that does not finish in its time limit is stopped and reported as such, with the memory it
had reached.

Our closures are computed as users compute them, by the public command
``karabakh-kg reason FILE [--no-rules] --no-consistency --output closure.nt --format json`` on
the generated TriG file (its reported reasoning time and peak memory; the closure's digest
streamed from the file).
The memory baselines are pyoxigraph stores holding that OWL 2 RL closure and our closure
with the domain rules (each loaded from its file in a fresh interpreter). The run ends
with the goals of issue 15 (``GOALS``) checked on its figures; ``--against`` a run at
another size (its ``--json``) adds the time exponent between the two.
"ours (+ rules, served)" is what the server does: ``reasoning.materialize`` with the
supports of every derived triple and the perspective graphs, its phases timed.

Then, in that served reasoner's process, single asserted triples of four kinds (a
participant, a post, a locatedIn, a type; plus the type of a state, the stress case) are
deleted and added back one at a time through ``reasoning.update``; the median and worst
times are reported as ratios to the full recomputation measured in the same process.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import multiprocessing as mp
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def _module(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


generate = _module(ROOT / "bench" / "generate.py", "bench_generate")
sparql_rules = _module(ROOT / "bench" / "sparql_rules.py", "bench_sparql_rules")
support = _module(ROOT / "tests" / "reasoning_support.py", "reasoning_support")

KGO = "https://w3id.org/karabakh-kg/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
UPDATE_KINDS: dict[str, tuple[str, str | None]] = {
    "participant": (KGO + "participant", None),
    "post": (KGO + "holdsPost", None),
    "locatedIn": (KGO + "locatedIn", None),
    "type": (RDF_TYPE, None),
    "type: State": (RDF_TYPE, KGO + "State"),
}
"""The kinds of asserted triples whose single-triple updates are timed: (predicate, object).
The last is the stress case: hundreds of inferred triples depend on the type of a state."""


def _digest(triples: Iterable[tuple[str, str, str]], schema: set[str]) -> dict[str, Any]:
    """The instance-level triples of ``triples`` (each once: a set, or a closure file, which
    holds each triple once) counted, and their digest: the sum of each triple's hash, which
    needs neither the whole closure in memory nor a sort (reading the 1M closures back into
    sorted sets took minutes). Filtered by ``support.instance_level`` in chunks."""
    count = total = 0
    chunk: list[tuple[str, str, str]] = []

    def flush() -> None:
        nonlocal count, total
        level = support.instance_level(chunk, schema)
        count += len(level)
        for t in level:
            total += int.from_bytes(
                hashlib.blake2b("\t".join(t).encode(), digest_size=16).digest(), "big"
            )
        chunk.clear()

    for t in triples:
        chunk.append(t)
        if len(chunk) >= 100_000:
            flush()
    flush()
    return {"instance_triples": count, "digest": f"{total % (1 << 128):032x}"[:16]}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _kg(size: int, rules: bool) -> Any:
    from karabakh_kg.ontology import vocab

    quads = generate.generate(size, seed=0)
    return support.make_kg(
        ontology=vocab.ontology_file(), data=quads, rules=support.RULES if rules else None
    )


def _input_triples(kg: Any) -> list[ox.Triple]:
    from karabakh_kg.graph.dataset import ASSERTED, ONTOLOGY

    return [
        ox.Triple(q.subject, q.predicate, q.object)
        for g in (ONTOLOGY, ASSERTED)
        for q in kg.store.quads_for_pattern(None, None, None, g)
    ]


def _summary(kg: Any, closure: set[tuple[str, str, str]]) -> dict[str, Any]:
    return _digest(closure, support.ontology_subjects(kg))


def _schema_subjects() -> set[str]:
    """Subjects of the ontology and rules files (the schema, not individuals)."""
    from karabakh_kg.ontology import vocab

    return {
        str(t.subject) for path in (vocab.ontology_file(), vocab.rules_file()) for t in _parse(path)
    }


def _parse(path: Path) -> Any:
    return ox.parse(path=path)


def _file_summary(path: Path) -> dict[str, Any]:
    """The digest of a closure file, streamed (it holds each triple once)."""
    closure = ((str(q.subject), str(q.predicate), str(q.object)) for q in _parse(path))
    return _digest(closure, _schema_subjects())


def run_repeated(data: Path, rules: bool, out: Path, repeat: int) -> dict[str, Any]:
    """:func:`run_command` ``repeat`` times: the median CPU and wall time (each run's CPU
    time listed in ``cpu_runs``), the highest peak."""
    runs = [run_command(data, rules, out) for _ in range(repeat)]
    failed = [r for r in runs if "error" in r]
    if failed or repeat == 1:
        return failed[0] if failed else runs[0]
    middle = sorted(runs, key=lambda r: r["cpu"])[len(runs) // 2]
    return {
        **middle,
        "cpu_runs": [r["cpu"] for r in runs],
        "peak_mb": max(r["peak_mb"] for r in runs),
    }


def run_command(data: Path, rules: bool, out: Path) -> dict[str, Any]:
    """``karabakh-kg reason`` on the generated file, as users run it."""
    command = [str(Path(sys.executable).parent / "karabakh-kg"), "reason", str(data)]
    command += [*([] if rules else ["--no-rules"]), "--no-consistency"]
    command += ["--output", str(out), "--format", "json"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    report = json.loads(done.stdout)
    return {
        "seconds": report["reasoning_seconds"],
        "cpu": report["reasoning_cpu_seconds"],
        "command_seconds": report["total_seconds"],
        "derived": report["inferred_triples"],
        **_file_summary(out),
        "peak_mb": report["peak_memory_mib"],
    }


_STORE_LOAD = """
import json, resource, sys, time
import pyoxigraph as ox
start, cpu = time.perf_counter(), time.process_time()
store = ox.Store()
store.load(path=sys.argv[1], format=ox.RdfFormat.N_TRIPLES)
print(json.dumps({
    "seconds": time.perf_counter() - start,
    "cpu": time.process_time() - cpu,
    "derived": len(store),
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def run_store(closure_file: Path) -> dict[str, Any]:
    """The memory baseline: a pyoxigraph store holding the closure, loaded in a fresh
    interpreter (a forked child would start with the benchmark's own heap, which held the
    generated graph, and inflate the baseline)."""
    if not closure_file.exists():
        return {"error": f"no closure to load ({closure_file.name} was not written)"}
    done = subprocess.run(
        [sys.executable, "-c", _STORE_LOAD, str(closure_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return {**json.loads(done.stdout), **_file_summary(closure_file)}


def run_ours(size: int, rules: bool, updates: int) -> dict[str, Any]:
    """Our served reasoner (supports and perspectives included), then ``updates``
    single-triple deletions and re-additions of each kind."""
    from karabakh_kg.graph import reasoning

    kg = _kg(size, rules)
    start, cpu = time.perf_counter(), time.process_time()
    report = reasoning.materialize(kg)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    peak = _peak_mb()
    r = reasoning.reasoner(kg)
    closure = {tuple(str(x) for x in r.decode(t)) for t in r.engine.facts}
    out: dict[str, Any] = {
        "seconds": seconds,
        "cpu": cpu,
        "derived": report.derived,
        "phases": report.phases,
        **_summary(kg, closure),
        "peak_mb": peak,
    }
    del closure
    if updates:
        out["updates"] = _time_updates(kg, updates)
        out["peak_after_updates_mb"] = _peak_mb()
    return out


def _time_updates(kg: Any, per_kind: int) -> dict[str, Any]:
    """Delete then re-add sampled asserted triples one at a time; check the closure is back."""
    from karabakh_kg.graph import reasoning
    from karabakh_kg.graph.dataset import ASSERTED

    r = reasoning.reasoner(kg)
    before = set(r.engine.facts)
    output_before = set(r.output)
    rng = random.Random(1)
    timings: dict[str, dict[str, list[float]]] = {}
    changed: dict[str, list[int]] = {}
    for kind, (predicate, obj) in UPDATE_KINDS.items():
        pool = sorted(
            (q.subject, q.predicate, q.object)
            for q in kg.store.quads_for_pattern(
                None, ox.NamedNode(predicate), ox.NamedNode(obj) if obj else None, ASSERTED
            )
        )
        sample = rng.sample(pool, min(per_kind, len(pool)))
        timings[kind] = {"delete": [], "add": []}
        changed[kind] = []
        for s, p, o in sample:
            t = ox.Triple(s, p, o)
            quad = ox.Quad(s, p, o, ASSERTED)
            kg.store.remove(quad)
            start = time.perf_counter()
            report = reasoning.update(kg, [], [t])
            timings[kind]["delete"].append(time.perf_counter() - start)
            changed[kind].append(report.inferred_removed)
            assert not report.full, "a data update fell back to full recomputation"
            kg.store.add(quad)
            start = time.perf_counter()
            reasoning.update(kg, [t], [])
            timings[kind]["add"].append(time.perf_counter() - start)
    restored = r.engine.facts == before and r.output == output_before
    return {"timings": timings, "inferred_removed": changed, "restored": restored}


def run_sparql(size: int, rules: bool) -> dict[str, Any]:
    """The naive fixpoint of generic SPARQL rules on pyoxigraph (loading not timed)."""
    from karabakh_kg.graph.dataset import ONTOLOGY

    kg = _kg(size, rules)
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in _input_triples(kg))
    updates = dict(sparql_rules.OWL_RL)
    if rules:
        updates.update(
            sparql_rules.domain_rules(kg.store.quads_for_pattern(None, None, None, ONTOLOGY))
        )
    cpu = time.process_time()
    report = sparql_rules.fixpoint(store, updates)
    cpu = time.process_time() - cpu
    peak = _peak_mb()  # before the closure is read back to be compared
    closure = {
        (str(q.subject), str(q.predicate), str(q.object))
        for q in store
        if not isinstance(q.subject, ox.BlankNode)
    }
    return {
        "seconds": report.seconds,
        "cpu": cpu,
        "derived": report.triples,
        "rounds": report.rounds,
        **_summary(kg, closure),
        "peak_mb": peak,
    }


def _rdflib_graph(kg: Any) -> Any:
    import rdflib

    graph = rdflib.Graph()
    graph.parse(data=ox.serialize(_input_triples(kg), format=ox.RdfFormat.N_TRIPLES), format="nt")
    return graph


def run_owlrl(size: int) -> dict[str, Any]:
    """owlrl's OWL 2 RL closure (input conversion not timed)."""
    import owlrl
    import rdflib

    kg = _kg(size, False)
    graph = _rdflib_graph(kg)
    start, cpu = time.perf_counter(), time.process_time()
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    peak = _peak_mb()
    closure = {(s.n3(), p.n3(), o.n3()) for s, p, o in graph if not isinstance(s, rdflib.BNode)}
    return {
        "seconds": seconds,
        "cpu": cpu,
        "derived": len(graph),
        **_summary(kg, closure),
        "peak_mb": peak,
    }


def run_reasonable(size: int) -> dict[str, Any]:
    """The compiled ``reasonable`` OWL 2 RL reasoner (ignores property chains)."""
    import rdflib
    import reasonable

    kg = _kg(size, False)
    graph = _rdflib_graph(kg)
    start, cpu = time.perf_counter(), time.process_time()
    r = reasonable.PyReasoner()
    r.from_graph(graph)
    triples = r.reason()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    peak = _peak_mb()
    closure = {
        (s.n3(), p.n3(), o.n3()) for s, p, o in triples if not isinstance(s, rdflib.BNode)
    } | {(s.n3(), p.n3(), o.n3()) for s, p, o in graph if not isinstance(s, rdflib.BNode)}
    return {
        "seconds": seconds,
        "cpu": cpu,
        "derived": len(triples),
        **_summary(kg, closure),
        "peak_mb": peak,
    }


OURS_OWL, OURS_RULES = "ours (OWL 2 RL)", "ours (OWL 2 RL + rules)"
OURS_SERVED = "ours (+ rules, served)"
STORE, STORE_RULES = "pyoxigraph store of it", "pyoxigraph store (+ rules)"
SPARQL_OWL, SPARQL_RULES = "sparql fixpoint (OWL 2 RL)", "sparql fixpoint (+ rules)"
OWLRL, REASONABLE = "owlrl", "reasonable"
ENGINES = [
    OURS_OWL,
    STORE,
    OURS_RULES,
    STORE_RULES,
    OURS_SERVED,
    SPARQL_OWL,
    SPARQL_RULES,
    OWLRL,
    REASONABLE,
]
WITH_RULES = {OURS_RULES, STORE_RULES, OURS_SERVED, SPARQL_RULES}
STORES = {STORE, STORE_RULES}
"""The memory baselines: a pyoxigraph store holding our OWL 2 RL closure, and one holding
our closure with the domain rules (what the ``x store`` column divides by)."""
GOALS = {
    "owlrl": 150.0,
    "reasonable": 1.5,
    "exponent": 1.05,
    "memory_owl": 1.5,
    "rules_mib_at_1m": 2e9 / 2**20,
}
"""The goals of issue 15: at least 150 times owlrl's speed (100k) and 1.5 times
reasonable's (every size), time growing at most as n^1.05 from 100k to 1M, peak memory at
most 1.5 times the store holding the OWL 2 RL closure, and at most 2 GB (1 907 MiB) at 1M
with the domain rules."""


def _child(conn: Any, name: str, size: int, updates: int, folder: Path, repeat: int) -> None:
    data, owl_closure = folder / "generated.trig", folder / "closure-owl.nt"
    try:
        if name == OURS_OWL:
            conn.send(run_repeated(data, False, owl_closure, repeat))
        elif name == STORE:
            conn.send(run_store(owl_closure))
        elif name == STORE_RULES:
            conn.send(run_store(folder / "closure-rules.nt"))
        elif name == OURS_RULES:
            conn.send(run_command(data, True, folder / "closure-rules.nt"))
        elif name == OURS_SERVED:
            conn.send(run_ours(size, rules=True, updates=updates))
        elif name == SPARQL_OWL:
            conn.send(run_sparql(size, rules=False))
        elif name == SPARQL_RULES:
            conn.send(run_sparql(size, rules=True))
        elif name == OWLRL:
            conn.send(run_owlrl(size))
        else:
            conn.send(run_reasonable(size))
    except Exception as error:  # report, do not hide, a failing engine
        conn.send({"error": f"{type(error).__name__}: {error}"})


def _rss_peak_mb(pid: int | None) -> float | None:
    """The peak resident memory of a running process (Linux), before it is stopped."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def measure(
    name: str, size: int, timeout: float, updates: int, folder: Path, repeat: int = 1
) -> dict[str, Any]:
    """Run one engine in a forked process, stopped after ``timeout`` seconds."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_child, args=(child, name, size, updates, folder, repeat))
    start = time.perf_counter()
    process.start()
    if parent.poll(timeout):
        result: dict[str, Any] = parent.recv()
    else:
        peak = _rss_peak_mb(process.pid)
        process.kill()
        reached = f", {peak:.0f} MB reached" if peak else ""
        result = {"error": f"did not finish in {timeout:.0f} s (stopped{reached})"}
    process.join()
    result["wall"] = time.perf_counter() - start
    return result


def _agreement(name: str, r: dict[str, Any], results: dict[str, dict[str, Any]]) -> str:
    reference = (
        [OURS_RULES, OURS_SERVED, SPARQL_RULES]
        if name in WITH_RULES
        else [OWLRL, OURS_OWL, SPARQL_OWL]
    )
    for other in reference:
        found = results.get(other, {})
        if other != name and "digest" in found:
            return f"{'yes' if found['digest'] == r['digest'] else 'NO'} (vs {other})"
    return "-"


def _ratio(other: dict[str, Any], r: dict[str, Any], width: int, name: str) -> str:
    """How many times faster than ``other`` this engine is."""
    if "cpu" not in other or name in STORES:
        return " " * (width - 1) + "-"
    return f"{other['cpu'] / r['cpu']:{width}.1f}"


def print_table(size: int, results: dict[str, dict[str, Any]]) -> None:
    """The comparison table: speed ratios to owlrl and to reasonable (how many times
    faster than each this engine is), memory as a ratio to the store of the closure."""
    owlrl, fast = results.get(OWLRL, {}), results.get(REASONABLE, {})
    print(f"\nsize: {size} generated asserted triples (+ ontology)\n")
    print(
        f"{'engine':28} {'CPU s':>8} {'wall s':>8} {'peak MB':>8} {'x store':>7} "
        f"{'instance triples':>17} "
        f"{'x owlrl':>8} {'x reasonable':>12}  closure agrees"
    )
    for name, r in results.items():
        if "error" in r:
            print(f"{name:28} {r['error']}")
            continue

        store = results.get(STORE_RULES if name in WITH_RULES else STORE, {})
        memory = f"{r['peak_mb'] / store['peak_mb']:7.2f}" if "peak_mb" in store else "      -"
        extra = f", digest {r['digest']}" if "digest" in r else ""
        extra += f", {r['rounds']} rounds" if "rounds" in r else ""
        if "command_seconds" in r:
            extra += f", command {r['command_seconds']:.1f} s in all"
        if "cpu_runs" in r:
            extra += ", median CPU of " + " / ".join(f"{c:.2f}" for c in r["cpu_runs"])
        if "phases" in r:
            extra += ", " + ", ".join(f"{k} {v:.1f} s" for k, v in r["phases"].items())
        print(
            f"{name:28} {r['cpu']:8.2f} {r['seconds']:8.2f} {r['peak_mb']:8.0f} {memory} "
            f"{r['instance_triples']:17d} {_ratio(owlrl, r, 8, name)} {_ratio(fast, r, 12, name)}  "
            f"{_agreement(name, r, results)}{extra}"
        )


def print_updates(full: dict[str, Any]) -> None:
    """Single-triple update times as ratios to the full recomputation of the same run."""
    updates = full.get("updates")
    if not updates:
        return
    recompute = full["seconds"]
    print(
        f"\nsingle-triple updates vs full recomputation ({recompute:.2f} s, same process); "
        f"closure restored after all: {updates['restored']}\n"
    )
    print(
        f"{'kind':12} {'op':7} {'n':>3} {'median ms':>10} {'worst ms':>9} "
        f"{'x (median)':>11} {'x (worst)':>10}  inferred removed (median / max)"
    )
    for kind, ops in updates["timings"].items():
        for op, times in ops.items():
            if not times:
                continue
            median, worst = statistics.median(times), max(times)
            removed = updates["inferred_removed"][kind]
            extra = (
                f"  {statistics.median(removed):.0f} / {max(removed)}"
                if op == "delete" and removed
                else ""
            )
            print(
                f"{kind:12} {op:7} {len(times):3d} {median * 1000:10.1f} {worst * 1000:9.1f} "
                f"{recompute / median:11.0f} {recompute / worst:10.0f}{extra}"
            )


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def goals(
    size: int, results: dict[str, dict[str, Any]], against: dict[str, Any] | None
) -> list[str]:
    """The goals of issue 15 (:data:`GOALS`) checked on this run's figures, one line each;
    the time exponent needs ``against``, the JSON of a run at another size."""
    ours, rules = results.get(OURS_OWL, {}), results.get(OURS_RULES, {})
    lines = []
    if "cpu" not in ours:
        return ["ours (OWL 2 RL) did not run: no goal checked"]
    for name, goal in ((OWLRL, GOALS["owlrl"]), (REASONABLE, GOALS["reasonable"])):
        other = results.get(name, {})
        if "cpu" not in other:
            lines.append(f"x {name}: not measured in this run")
            continue
        ratio = other["cpu"] / ours["cpu"]
        same = other.get("digest") == ours.get("digest")
        closure = "identical closure" if same else "closures differ"
        met = ratio >= goal and (same or name == REASONABLE)
        lines.append(f"x {name}: {ratio:.1f} (goal >= {goal:g}, {closure}): {_verdict(met)}")
    if against is not None:
        other_size, earlier = against["size"], against["results"]
        small, large = sorted([(size, results), (other_size, earlier)], key=lambda x: x[0])
        for name in (OURS_OWL, OURS_RULES, REASONABLE):
            a, b = small[1].get(name, {}), large[1].get(name, {})
            if "cpu" in a and "cpu" in b and small[0] != large[0]:
                exponent = math.log(b["cpu"] / a["cpu"]) / math.log(large[0] / small[0])
                verdict = f": {_verdict(exponent <= GOALS['exponent'])}" if name == OURS_OWL else ""
                lines.append(
                    f"time exponent {name}, {small[0]} -> {large[0]}: n^{exponent:.3f} "
                    f"({a['cpu']:.2f} -> {b['cpu']:.2f} s CPU; goal <= n^{GOALS['exponent']:g})"
                    f"{verdict}"
                )
    store, store_rules = results.get(STORE, {}), results.get(STORE_RULES, {})
    if "peak_mb" in store:
        ratio = ours["peak_mb"] / store["peak_mb"]
        lines.append(
            f"peak memory, OWL 2 RL: {ours['peak_mb']:.0f} MiB = {ratio:.2f} x the store "
            f"({store['peak_mb']:.0f} MiB; goal <= {GOALS['memory_owl']:g}): "
            f"{_verdict(ratio <= GOALS['memory_owl'])}"
        )
    if "peak_mb" in rules:
        limit = GOALS["rules_mib_at_1m"]
        versus = (
            f", {rules['peak_mb'] / store_rules['peak_mb']:.2f} x its store "
            f"({store_rules['peak_mb']:.0f} MiB)"
            if "peak_mb" in store_rules
            else ""
        )
        verdict = _verdict(rules["peak_mb"] <= limit) if size >= 1_000_000 else "checked at 1M"
        lines.append(
            f"peak memory, OWL 2 RL + rules: {rules['peak_mb']:.0f} MiB{versus} "
            f"(goal at 1M: <= 2 GB, {limit:.0f} MiB): {verdict}"
        )
    return lines


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="10k", help="asserted triples: 10k, 100k, 1m ...")
    parser.add_argument("--owlrl-timeout", type=float, default=900, help="seconds")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds, other engines")
    parser.add_argument("--updates", type=int, default=10, help="updates timed per kind")
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated engine names or: owlrl, reasonable, sparql, served, store",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run ours (OWL 2 RL) this many times: its median CPU time (steadier ratios)",
    )
    parser.add_argument(
        "--against",
        type=Path,
        help="the --json of a run at another size: the time exponent between the two",
    )
    args = parser.parse_args()
    against = json.loads(args.against.read_text()) if args.against else None
    size = generate.parse_size(args.size)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    results = {}
    load = [os.getloadavg()[0]]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    folder = Path(tempfile.mkdtemp(prefix="kg-reasoning-bench-"))
    try:
        generate.write(generate.generate(size, seed=0), folder)
        for name in ENGINES:
            tags = {name, name.split(" ")[0], *(t for t in ("served", "store") if t in name)}
            if tags & skip:
                continue
            timeout = args.owlrl_timeout if name == OWLRL else args.timeout
            results[name] = measure(name, size, timeout, args.updates, folder, args.repeat)
            load.append(os.getloadavg()[0])
            print(f"  {name}: done in {results[name]['wall']:.0f} s", file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    ended = time.strftime("%H:%M UTC", time.gmtime())
    print(
        f"\nrun {started} - {ended}, load average (1 min) {min(load):.1f}-{max(load):.1f} "
        "at the start and after each engine"
    )
    print_table(size, results)
    print_updates(results.get(OURS_SERVED, {}))
    print("\ngoals (issue 15):")
    for line in goals(size, results, against):
        print(f"  {line}")
    if args.json:
        args.json.write_text(json.dumps({"size": size, "load": load, "results": results}, indent=2))


if __name__ == "__main__":
    main()
