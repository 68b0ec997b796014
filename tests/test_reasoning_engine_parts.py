"""In-engine reasoning at scale: an update over a large delta graph is sent in parts by the
share of the delta it reads (the triples of its delta atom's predicate), and the parts
together derive what one request would."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from karabakh_kg.graph.store import reasoning
from karabakh_kg.graph.store.embedded import EmbeddedStore
from karabakh_kg.graph.store.reasoning import EngineReasoningReport, RuleUpdate

EX = "http://example.org/"
DELTA = f"{EX}delta"
OUT = f"{EX}out"


def rule(source: str, target: str, reads: str | None) -> RuleUpdate:
    """``?x source ?y`` in the delta graph → ``?x target ?y`` in the output graph."""
    head = (
        f"INSERT {{ GRAPH <{OUT}> {{ ?x <{target}> ?y }} }} "
        f"WHERE {{ GRAPH <{DELTA}> {{ ?x <{source}> ?y }} "
    )
    return RuleUpdate(f"{head}}}", "?x", (head, " }"), reads)


def test_an_update_reading_a_small_share_of_a_large_delta_goes_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = EmbeddedStore()
    big = [
        ox.Triple(ox.NamedNode(f"{EX}s{n}"), ox.NamedNode(f"{EX}big"), ox.Literal(n))
        for n in range(40)
    ]
    small = [
        ox.Triple(ox.NamedNode(f"{EX}t{n}"), ox.NamedNode(f"{EX}small"), ox.Literal(n))
        for n in range(3)
    ]
    store.put_graph(DELTA, big + small)
    monkeypatch.setattr(reasoning, "BATCH", 5)  # a delta this small would go in one request
    monkeypatch.setattr(reasoning, "PART_ABOVE", 10)
    monkeypatch.setattr(reasoning, "PART_TRIPLES", 10)
    sent: list[str] = []
    update = store.update
    monkeypatch.setattr(store, "update", lambda sparql, **kw: sent.append(sparql) or update(sparql))
    updates = [
        rule(f"{EX}small", f"{EX}small-out", f"{EX}small"),  # its share: 3 triples
        rule(f"{EX}big", f"{EX}big-out", f"{EX}big"),  # 40
        rule(f"{EX}small", f"{EX}any-out", None),  # a variable predicate there: all 43
    ]
    shares = {f"{EX}big": 40, f"{EX}small": 3}
    report = EngineReasoningReport(rounds=1, inferred=0, seconds=0.0, full=True)
    reasoning._send(store, report, updates, 43, shares=shares)
    by_target = {
        target: [text for text in sent if f"<{EX}{target}>" in text]
        for target in ("small-out", "big-out", "any-out")
    }
    assert len(by_target["small-out"]) == 1 and "MD5(" not in by_target["small-out"][0]
    assert len(by_target["big-out"]) >= 3 and all("MD5(" in t for t in by_target["big-out"])
    assert len(by_target["any-out"]) >= 4
    assert report.requests == len(sent) and report.updates == 3
    # The parts together wrote every conclusion once.
    out = store.get_graph(OUT)
    assert sorted(t.predicate.value for t in out).count(f"{EX}big-out") == 40
    assert {t.subject for t in out if t.predicate.value == f"{EX}small-out"} == {
        t.subject for t in small
    }
    assert len(out) == 40 + 3 + 3
