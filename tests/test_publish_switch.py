"""Publishing large graphs without one large transaction: graphs the engine lacks are
written in place in batches before the switch, a small change goes into the switch (so
readers see the previous version or the new one), a large one is applied in batches and
completed by the next publish if it fails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from engines import TINY_DATA, Engine, dataset

from karabakh_kg.graph.dataset import KnowledgeGraph
from karabakh_kg.graph.loading import load_graph
from karabakh_kg.graph.store import StoreError
from karabakh_kg.graph.store import publish as publishing
from karabakh_kg.graph.store.publish import (
    PUBLICATION,
    REWRITTEN_DATATYPES,
    STAGING_PREFIX,
    dataset_graphs,
    digest,
    publish,
    published,
)
from karabakh_kg.graph.store.remote import RemoteStore
from karabakh_kg.ontology import vocab

RDF_TYPE = ox.NamedNode(vocab.PREFIXES["rdf"] + "type")
CONTRIBUTIONS = vocab.BASE + "graph/contributions/"


def people(names: range, kind: str = "Person") -> list[ox.Triple]:
    kg, kgo = str(vocab.KG), str(vocab.KGO)
    return [
        ox.Triple(ox.NamedNode(f"{kg}switch-{i}"), RDF_TYPE, ox.NamedNode(kgo + kind))
        for i in names
    ]


def same_as_published(store: Any, kg: KnowledgeGraph) -> None:
    for name, triples in dataset_graphs(kg).items():
        assert digest(store.get_graph(name)) == digest(triples), name
    assert set(published(store)) == set(dataset_graphs(kg))


class Recording(RemoteStore):
    """A remote store that keeps every update it sends and every graph it writes, and
    refuses the updates ``refuse`` says."""

    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self.sent: list[str] = []
        self.refuse: Any = None

    def update(self, sparql: str, *, timeout: float | None = None) -> None:
        self.sent.append(sparql)
        if self.refuse is not None and self.refuse(sparql):
            raise StoreError(f"{self.location}: refused")
        super().update(sparql, timeout=timeout)

    def put_graph(self, name: str, triples: list[ox.Triple]) -> None:
        self.sent.append(f"PUT <{name}>")
        super().put_graph(name, triples)


def test_a_small_change_reaches_the_graphs_only_in_the_switch(oxigraph_engine: Engine) -> None:
    graph, other = CONTRIBUTIONS + "switch-small", CONTRIBUTIONS + "switch-other"
    store = oxigraph_engine.store(Recording)
    publish(dataset({graph: people(range(300)), other: people(range(1))}), store)
    kg = dataset({graph: people(range(5, 305)), other: people(range(1))})
    store.sent.clear()
    report = publish(kg, store)
    assert report.written == [graph]
    touching = [sent for sent in store.sent if f"<{graph}>" in sent]
    assert len(touching) == 1 and f"GRAPH <{PUBLICATION}>" in touching[0], touching
    assert "DELETE DATA" in touching[0] and "INSERT DATA" in touching[0]
    same_as_published(store, kg)


def test_a_large_change_is_applied_in_batches_and_the_next_publish_completes_it(
    oxigraph_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publishing, "SWITCH_DIFFERENCE", 50)
    monkeypatch.setattr(publishing, "DIFFERENCE_BATCH", 40)
    monkeypatch.setattr(publishing, "SWITCH_MOVED", 100)  # (the graph is larger)
    graph = CONTRIBUTIONS + "switch-large"
    store = oxigraph_engine.store(Recording)
    publish(dataset({graph: people(range(200))}), store)
    before = published(store)
    # Every person becomes an organization: 200 triples out, 200 in.
    kg = dataset({graph: people(range(200), "Organization")})
    batches = [0]

    def third_batch(sparql: str) -> bool:
        if f"DATA {{ GRAPH <{graph}>" in sparql and PUBLICATION not in sparql:
            batches[0] += 1
        return batches[0] == 3

    store.refuse = third_batch
    with pytest.raises(StoreError, match="refused"):
        publish(kg, store)
    assert published(store) == before  # the manifest names the previous version
    store.refuse = None
    store.sent.clear()
    publish(kg, store)
    same_as_published(store, kg)
    applied = [s for s in store.sent if f"DATA {{ GRAPH <{graph}>" in s and PUBLICATION not in s]
    assert applied and all(s.count(" .\n") <= 40 for s in applied), applied


def test_a_graph_larger_than_one_transaction_publishes_into_virtuoso(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Virtuoso whose ``TransactionAfterImageLimit`` (400 kB) is below what 8 000 new
    triples need in one transaction: the publish, in batches of 1 000, succeeds; and so
    does a change of 1 500 of them, in batches too."""
    from engines import virtuoso_server

    monkeypatch.setattr(publishing, "SWITCH_DIFFERENCE", 500)
    monkeypatch.setattr(publishing, "DIFFERENCE_BATCH", 1_000)
    monkeypatch.setattr(publishing, "SWITCH_MOVED", 1_000)  # (the graph is larger)
    graph = CONTRIBUTIONS + "switch-virtuoso"
    (tmp_path / "virtuoso").mkdir()
    with virtuoso_server(tmp_path / "virtuoso", "switch-password", after_image=400_000) as limited:
        store = limited.store(Recording, upload_triples=1_000)
        kg = dataset({graph: people(range(8_000))})
        publish(kg, store)
        same_as_published(store, kg)
        kg = dataset({graph: people(range(1_500), "Organization") + people(range(1_500, 8_000))})
        publish(kg, store)
        same_as_published(store, kg)
        # One transaction for it all is refused: the limit is real.
        with pytest.raises(StoreError, match="TransactionAfterImageLimit"):
            whole = limited.store(upload_triples=100_000)
            whole.put_graph(vocab.BASE + "graph/switch-one-transaction", people(range(8_000)))


def test_language_tagged_literals_leave_every_graph_they_are_removed_from(
    virtuoso_engine: Engine,
) -> None:
    """Virtuoso 7.2 leaves a language-tagged literal in place when one ``DELETE DATA``
    names several graphs (``capabilities.probe``: docs/deployment.md, known gaps): a change
    removing labels from two graphs at once reaches both."""
    first, second = CONTRIBUTIONS + "switch-label-a", CONTRIBUTIONS + "switch-label-b"
    label = ox.Triple(
        ox.NamedNode(f"{vocab.KG}switch-0"),
        ox.NamedNode(vocab.PREFIXES["rdfs"] + "label"),
        ox.Literal("Switch Zero", language="en"),
    )
    store = virtuoso_engine.store()
    kept = people(range(20))
    publish(dataset({first: [*kept, label], second: [*kept, label]}), store)
    kg = dataset({first: kept, second: kept})
    publish(kg, store)
    same_as_published(store, kg)
    for name in (first, second):
        assert label not in store.get_graph(name), name


def test_a_change_of_thousands_of_triples_reaches_virtuoso(virtuoso_engine: Engine) -> None:
    """Virtuoso 7.2 refuses an ``INSERT DATA`` of 5 000 triples or more (``SP030``): a
    change of 6 000 triples, within what the switch applies, is sent in smaller operations."""
    graph = CONTRIBUTIONS + "switch-thousands"
    store = virtuoso_engine.store()
    publish(dataset({graph: people(range(10))}), store)
    kg = dataset({graph: people(range(10)) + people(range(6_000), "Organization")})
    publish(kg, store)
    same_as_published(store, kg)


@pytest.fixture
def emptied(virtuoso_engine: Engine) -> Iterator[Any]:
    """The shared Virtuoso, with what a test published there dropped after it (the next
    tests expect other publications)."""
    store = virtuoso_engine.store()
    yield store
    unpublish(store)


def unpublish(store: Any) -> None:
    """Drop the publication on ``store``, in one request (hundreds of graphs)."""
    store.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in [*published(store), PUBLICATION]))


def as_held(store: Any) -> dict[str, str]:
    """The digest of each published graph as the engine gives it back (Virtuoso keeps some
    literals in forms of its own: docs/deployment.md, known gaps)."""
    return {name: digest(store.get_graph(name)) for name in published(store)}


def rewritten(triples: list[ox.Triple]) -> bool:
    return any(
        isinstance(t.object, ox.Literal) and t.object.datatype.value in REWRITTEN_DATATYPES
        for t in triples
    )


def test_a_very_different_publication_replaces_another_on_virtuoso(
    emptied: Any, virtuoso_engine: Engine, tmp_path: Path, kg: KnowledgeGraph
) -> None:
    """The curated graph published over a small one, and the small one back over it, are
    what a fresh publish of each writes: every graph, the manifest, nothing left of the
    other (the curated graph's one ``xsd:duration``, which a data operation cannot name on
    Virtuoso, SR066 or SP031 in the switch, is moved in its graph whole); and a switch
    refused on the way leaves the small one as it was."""
    (tmp_path / "tiny.trig").write_text(TINY_DATA, encoding="utf-8")
    tiny = load_graph(tmp_path)
    curated, small = dataset_graphs(kg), dataset_graphs(tiny)
    unpublish(emptied)
    publish(tiny, emptied)
    before = as_held(emptied)
    refusing = virtuoso_engine.store(Recording)
    refusing.refuse = lambda sparql: f"GRAPH <{PUBLICATION}>" in sparql
    with pytest.raises(StoreError, match="refused"):
        publish(kg, refusing)
    assert published(emptied) == {name: digest(t) for name, t in small.items()}
    assert as_held(emptied) == before
    staged = [s for s in refusing.sent if s.startswith("PUT <" + STAGING_PREFIX)]
    assert staged  # the switch was to move staged graphs: they are gone with the rest
    gone = " ".join(f"<{name}>" for name in sorted(set(curated) - set(small)))
    gone += " " + " ".join(s[len("PUT ") :] for s in staged)
    any_gone = f"ASK {{ VALUES ?g {{ {gone} }} GRAPH ?g {{ ?s ?p ?o }} }}"
    assert not emptied.ask(any_gone)
    publish(kg, emptied)
    held = as_held(emptied)
    # Listing the graphs is quick (Virtuoso took minutes to answer it with DISTINCT)
    assert set(curated) <= emptied.bounded(10).graph_names()
    assert published(emptied) == {name: digest(t) for name, t in curated.items()}
    kept_otherwise = {name for name, triples in curated.items() if rewritten(triples)}
    assert kept_otherwise  # the curated graph has such literals: this test is about them
    for name, triples in curated.items():
        if name not in kept_otherwise:
            assert held[name] == digest(triples), name
    assert emptied.ask(any_gone)
    publish(tiny, emptied)
    same_as_published(emptied, tiny)
    assert published(emptied) == {name: digest(t) for name, t in small.items()}
    assert not emptied.ask(any_gone)
    # The graphs Virtuoso keeps otherwise are as a fresh publish of them leaves them.
    unpublish(emptied)
    publish(dataset({name: curated[name] for name in kept_otherwise}), emptied)
    assert {name: held[name] for name in kept_otherwise} == as_held(emptied)
