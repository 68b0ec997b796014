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
