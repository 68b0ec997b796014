"""Publishing into real SPARQL engines (the Oxigraph server and Virtuoso, started by the
fixtures): every graph arrives as it is, publishing twice changes nothing, a failed publish
leaves the previous version readable, and bad input is one line naming the URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from engines import TINY_DATA, Engine
from typer.testing import CliRunner

from karabakh_kg.graph.dataset import ASSERTED, INFERRED
from karabakh_kg.graph.loading import load_graph
from karabakh_kg.graph.store import StoreError
from karabakh_kg.graph.store.contributions import apply_change
from karabakh_kg.graph.store.publish import (
    PUBLICATION,
    STAGING_PREFIX,
    dataset_graphs,
    digest,
    has_blank_nodes,
    publish,
    published,
)
from karabakh_kg.graph.store.remote import RemoteStore
from karabakh_kg.ontology import vocab
from karabakh_kg.server.cli import app

runner = CliRunner()
RDF_TYPE = ox.NamedNode(vocab.PREFIXES["rdf"] + "type")


@pytest.fixture(params=["oxigraph_engine", "virtuoso_engine"])
def engine(request: pytest.FixtureRequest) -> Engine:
    found: Engine = request.getfixturevalue(request.param)
    return found


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "tiny.trig").write_text(TINY_DATA, encoding="utf-8")
    return folder


def ours(store: Any) -> set[str]:
    """Our graphs on the engine (engines keep system graphs of their own)."""
    return {g for g in store.graph_names() if g.startswith(vocab.BASE)}


def test_publish_writes_every_graph_once_and_twice_changes_nothing(
    engine: Engine, data: Path
) -> None:
    kg = load_graph(data)
    store = engine.store()
    first = publish(kg, store)
    graphs = dataset_graphs(kg)
    assert set(first.written) | set(published(store)) >= set(graphs)
    assert ours(store) == set(graphs) | {PUBLICATION}
    for name, triples in graphs.items():
        assert digest(store.get_graph(name)) == digest(triples), name
    # The reasoned graph is there to query, with the curated facts' consequences.
    agent = "https://w3id.org/karabakh-kg/ontology#Agent"
    assert store.ask(f"ASK {{ GRAPH <{INFERRED.value}> {{ kg:tiny-person a <{agent}> }} }}")
    again = publish(kg, store)
    assert not again.changed and again.written == [] and again.dropped == []
    assert ours(store) == set(graphs) | {PUBLICATION}


def test_a_graph_with_blank_nodes_on_the_engine_is_replaced_whole(
    engine: Engine, data: Path, tmp_path: Path
) -> None:
    """SPARQL's DELETE DATA cannot name blank nodes (Update, 3.1.2), so a graph whose
    published version holds some is rewritten whole, even when the new version has none."""
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "tiny.trig").write_text(
        TINY_DATA + "kge:tiny-unit { kg:tiny-person kgo:memberOf [ a kgo:Organization ] . }\n",
        encoding="utf-8",
    )
    store = engine.store()
    publish(load_graph(earlier), store)
    assert has_blank_nodes(store.get_graph(ASSERTED.value))
    kg = load_graph(data)
    publish(kg, store)
    for name, triples in dataset_graphs(kg).items():
        assert digest(store.get_graph(name)) == digest(triples), name


def test_a_failed_publish_leaves_the_previous_version(engine: Engine, data: Path) -> None:
    kg = load_graph(data)
    store = engine.store()
    publish(kg, store)
    before = published(store)
    asserted = digest(store.get_graph(ASSERTED.value))
    added = ox.Triple(
        ox.NamedNode(str(vocab.KG) + "publish-test"),
        RDF_TYPE,
        ox.NamedNode(str(vocab.KGO) + "Person"),
    )
    apply_change(kg, [added], [], contributor="frank")
    # The engine's update endpoint refuses (Oxigraph: the query URL; Virtuoso: no rights).
    refusing = RemoteStore(
        engine.query_url,
        update_url=engine.query_url
        if engine.name == "oxigraph"
        else engine.query_url.replace("-auth", ""),
        gsp_url=engine.gsp_url,
        user=engine.user,
        password=engine.password,
        auth=engine.auth,
    )
    with pytest.raises(StoreError) as failure:
        publish(kg, refusing)
    assert str(failure.value).startswith(refusing.update_url)
    assert published(store) == before
    assert digest(store.get_graph(ASSERTED.value)) == asserted
    assert not any(g.startswith(STAGING_PREFIX) for g in store.graph_names())
    fixed = publish(kg, store)
    assert ASSERTED.value in fixed.written
    assert vocab.BASE + "graph/contributions/frank" in fixed.written
    assert digest(store.get_graph(ASSERTED.value)) == digest(dataset_graphs(kg)[ASSERTED.value])


def test_bad_targets_are_one_line(virtuoso_engine: Engine, data: Path) -> None:
    cases = [
        (["--to", "http://127.0.0.1:9/sparql"], "http://127.0.0.1:9/sparql: ", "unreachable"),
        (["--to", "ftp://example.org/sparql"], "ftp://example.org/sparql", "not an http(s) URL"),
        (
            [
                "--to",
                virtuoso_engine.query_url,
                "--gsp-url",
                virtuoso_engine.gsp_url,
                "--user",
                virtuoso_engine.user or "",
                "--auth",
                "digest",
                "--password",
                "wrong-password",
            ],
            virtuoso_engine.query_url,
            "credentials were refused",
        ),
        (["--to", "http://127.0.0.1:9/sparql", "--auth", "kerberos"], "--auth", "basic or digest"),
    ]
    for arguments, url, reason in cases:
        result = runner.invoke(app, ["publish", *arguments, "--data-dir", str(data)])
        assert result.exit_code != 0, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1, result.output
        assert lines[0].startswith("error: ") and url in lines[0] and reason in lines[0], lines[0]


def test_publish_command_reports_what_it_did(oxigraph_engine: Engine, data: Path) -> None:
    arguments = ["publish", "--to", oxigraph_engine.query_url, "--update-url"]
    arguments += [oxigraph_engine.update_url, "--gsp-url", oxigraph_engine.gsp_url]
    first = runner.invoke(app, [*arguments, "--data-dir", str(data)])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, [*arguments, "--data-dir", str(data)])
    assert second.exit_code == 0, second.output
    assert second.output.strip().startswith(f"{oxigraph_engine.query_url}: up to date")


def test_reason_in_engine_command_recomputes_the_published_closure(
    oxigraph_engine: Engine, data: Path
) -> None:
    """``reason-in-engine`` rebuilds the inferred graph in the engine, from what is
    published there, as the embedded reasoner made it (here, with it dropped first); an
    engine that is not there is one line naming it, and a non-zero exit."""
    engine = ["--to", oxigraph_engine.query_url, "--update-url", oxigraph_engine.update_url]
    engine += ["--gsp-url", oxigraph_engine.gsp_url]
    published = runner.invoke(app, ["publish", *engine, "--data-dir", str(data)])
    assert published.exit_code == 0, published.output
    store = oxigraph_engine.store()
    closure = keyed(store.get_graph(INFERRED.value))
    assert closure
    store.drop_graph(INFERRED.value)
    result = runner.invoke(app, ["reason-in-engine", *engine])
    assert result.exit_code == 0, result.output
    assert keyed(store.get_graph(INFERRED.value)) == closure
    assert result.output.startswith(f"{oxigraph_engine.query_url}: {len(closure)} inferred")
    gone = runner.invoke(app, ["reason-in-engine", "--to", "http://127.0.0.1:9/sparql"])
    lines = gone.output.strip().splitlines()
    assert gone.exit_code == 1 and len(lines) == 1 and "127.0.0.1:9" in lines[0], gone.output


def test_publish_from_a_durable_store_includes_contributions(
    oxigraph_engine: Engine, data: Path, tmp_path: Path
) -> None:
    from karabakh_kg.graph.store.durable import open_dataset

    folder = tmp_path / "store"
    kg, _ = open_dataset(folder, data)
    added = ox.Triple(
        ox.NamedNode(str(vocab.KG) + "published-contribution"),
        RDF_TYPE,
        ox.NamedNode(str(vocab.KGO) + "Person"),
    )
    apply_change(kg, [added], [], contributor="gina")
    del kg
    arguments = ["publish", "--to", oxigraph_engine.query_url, "--update-url"]
    arguments += [oxigraph_engine.update_url, "--gsp-url", oxigraph_engine.gsp_url]
    result = runner.invoke(app, [*arguments, "--store", str(folder), "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    store = oxigraph_engine.store()
    graph = vocab.BASE + "graph/contributions/gina"
    assert keyed(store.get_graph(graph)) == keyed([added])
    assert store.ask(
        f"ASK {{ GRAPH <{ASSERTED.value}> {{ kg:published-contribution a kgo:Person }} }}"
    )


def keyed(triples: list[ox.Triple]) -> set[str]:
    return {str(t) for t in triples}


def big_graph(size: int, blank: bool = True) -> list[ox.Triple]:
    """``size`` triples about named resources, and (``blank``) three that share one blank
    node."""
    kgo, kg = str(vocab.KGO), str(vocab.KG)
    triples = [
        ox.Triple(ox.NamedNode(f"{kg}batch-{i}"), RDF_TYPE, ox.NamedNode(kgo + "Person"))
        for i in range(size)
    ]
    shared = ox.BlankNode() if blank else ox.NamedNode(kg + "batch-group")
    member = ox.NamedNode(kgo + "memberOf")
    triples += [ox.Triple(ox.NamedNode(f"{kg}batch-{i}"), member, shared) for i in range(3)]
    return triples


def test_upload_batches_keep_blank_nodes_in_one_request() -> None:
    from karabakh_kg.graph.store.remote import upload_batches

    triples = big_graph(10)
    batches = upload_batches(triples, 4)
    assert [len(b) for b in batches] == [4, 4, 4, 1]
    assert sorted(map(str, (t for b in batches for t in b))) == sorted(map(str, triples))
    blank = [t for t in triples if isinstance(t.object, ox.BlankNode)]
    assert all(t in batches[0] for t in blank)
    assert upload_batches([], 4) == [[]]  # an empty graph is still written (emptied)


@pytest.mark.parametrize("through", ["gsp", "update"])
def test_a_graph_larger_than_one_request_arrives_whole(engine: Engine, through: str) -> None:
    """Written in batches of 7 triples, by the Graph Store Protocol or by INSERT DATA: the
    engine holds every triple once, the blank node still one node, and a second, smaller
    write replaces the graph instead of adding to it. Virtuoso refuses blank nodes in
    ``INSERT DATA`` (documented): there, without the Graph Store Protocol, a graph with one
    fails in one line, and one without arrives whole."""
    store = RemoteStore(
        engine.query_url,
        update_url=engine.update_url,
        gsp_url=engine.gsp_url if through == "gsp" else None,
        user=engine.user,
        password=engine.password,
        auth=engine.auth,
        upload_triples=7,
    )
    name = vocab.BASE + f"graph/test-batches-{through}"
    refused = engine.name == "virtuoso" and through == "update"
    if refused:
        with pytest.raises(StoreError, match=r"Blank node .* is not allowed") as failure:
            store.put_graph(name, big_graph(30))
        assert str(failure.value).startswith(engine.update_url)
    triples = big_graph(30, blank=not refused)
    store.put_graph(name, triples)
    assert digest(store.get_graph(name)) == digest(triples)
    shared = store.select(
        f"SELECT (COUNT(DISTINCT ?b) AS ?n) WHERE {{ GRAPH <{name}> {{ ?s kgo:memberOf ?b }} }}"
    )
    assert int(shared[0]["n"].value) == 1
    store.put_graph(name, triples[:5])
    assert digest(store.get_graph(name)) == digest(triples[:5])
    store.drop_graph(name)


class FailingStore(RemoteStore):
    """An engine that goes away after writing its first graph: the writes and the clean-up
    after them fail, as they do when the engine stops answering."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(
            engine.query_url,
            update_url=engine.update_url,
            gsp_url=engine.gsp_url,
            user=engine.user,
            password=engine.password,
            auth=engine.auth,
        )
        self.writes = 0

    def put_graph(self, name: str, triples: list[ox.Triple]) -> None:
        self.writes += 1
        if self.writes > 1:
            raise StoreError(f"{self.location}: writing graph <{name}> failed (gone)")
        super().put_graph(name, triples)

    def drop_graph(self, name: str) -> None:
        raise StoreError(f"{self.location}: dropping graph <{name}> failed (gone)")


def test_the_next_publish_drops_what_a_failed_one_left(engine: Engine, data: Path) -> None:
    kg = load_graph(data)
    store = engine.store()
    publish(kg, store)
    before, graphs = published(store), store.graph_names()
    apply_change(kg, [big_graph(1)[0]], [], contributor="harriet")
    with pytest.raises(StoreError):
        publish(kg, FailingStore(engine))
    # A graph the engine lacked is written in place before the switch (a staging graph for
    # one with blank nodes), outside the manifest.
    assert store.graph_names() - graphs, "the failing engine was to leave a graph behind"
    assert published(store) == before
    publish(kg, store)
    assert not {g for g in store.graph_names() if g.startswith(STAGING_PREFIX)}
    assert ours(store) == set(dataset_graphs(kg)) | {PUBLICATION}


def test_the_switch_has_time_for_what_it_moves(
    oxigraph_engine: Engine, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one update switching to the new version is given one second per
    ``SWITCH_TRIPLES_PER_SECOND`` triples moved when that is longer than the store's limit;
    every other request keeps the store's limit."""
    from karabakh_kg.graph.store import publish as publishing

    limits: list[tuple[str, float | None]] = []

    class Recording(RemoteStore):
        def update(self, sparql: str, *, timeout: float | None = None) -> None:
            limits.append((sparql, timeout))
            super().update(sparql, timeout=timeout)

    monkeypatch.setattr(publishing, "SWITCH_TRIPLES_PER_SECOND", 1.0)
    kg = load_graph(data)
    store = Recording(
        oxigraph_engine.query_url,
        update_url=oxigraph_engine.update_url,
        gsp_url=oxigraph_engine.gsp_url,
        timeout=5.0,
    )
    for name in [PUBLICATION, *dataset_graphs(kg)]:  # publish everything
        store.drop_graph(name)
    publish(kg, store)
    # Graphs with blank nodes are staged and moved; the others, new to the engine, are
    # written in place before the switch.
    moved = sum(len(t) for t in dataset_graphs(kg).values() if has_blank_nodes(t))
    switches = [timeout for sparql, timeout in limits if "MOVE SILENT GRAPH" in sparql]
    assert switches == [float(moved)] and moved > 5
    assert all(timeout is None for sparql, timeout in limits if "MOVE" not in sparql)


def test_the_digest_names_the_graph_not_its_labels_or_order() -> None:
    """Without blank nodes the graph is not canonicalized, and its digest is still that of
    its canonical form (so manifests written before stay valid): the SHA-256 of its sorted
    lines."""
    import hashlib

    named = big_graph(20, blank=False)
    lines = sorted(map(str, named))  # subject, predicate and object in N-Triples
    canonical = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in named)
    canonical.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    assert sorted(map(str, canonical)) == lines
    assert digest(named) == hashlib.sha256("\n".join(lines).encode()).hexdigest()
    assert digest(list(reversed(named))) == digest(named)
    assert digest(named[:-1]) != digest(named)
    relabelled = big_graph(20)
    assert digest(relabelled) == digest(big_graph(20)) != digest(named)


def test_virtuoso_s_transaction_limit_is_named(tmp_path: Path, data: Path) -> None:
    """A Virtuoso whose ``TransactionAfterImageLimit`` is too small for what a publish
    writes in one transaction: it fails in one line naming the URL and the setting, and
    the previous version (nothing, here) stays as it was."""
    from engines import virtuoso_server

    kg = load_graph(data)
    graph = vocab.BASE + "graph/contributions/ida"
    apply_change(kg, big_graph(3_000, blank=False), [], contributor="ida")
    with virtuoso_server(tmp_path, "limited-password", after_image=100_000) as limited:
        store = limited.store()
        with pytest.raises(StoreError) as failure:
            publish(kg, store)
        message = str(failure.value)
        base = limited.query_url.rsplit("/", 1)[0]
        assert message.startswith(base) and "\n" not in message
        assert "raise it in the [Parameters] of virtuoso.ini" in message, message
        assert not published(store) and not store.get_graph(graph)
