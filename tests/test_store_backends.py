"""The same feature tests on three stores: the embedded one, the Oxigraph server and
Virtuoso (``serve --backend``), each holding what ``karabakh-kg publish`` wrote; and the
SPARQL features each engine lacks, found by the probe, are the ones the docs list."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import LiveServer, start_server, stop_server
from engines import TINY_DATA, Engine

from karabakh_kg.graph.loading import load_graph
from karabakh_kg.graph.store.capabilities import probe
from karabakh_kg.graph.store.embedded import EmbeddedStore
from karabakh_kg.graph.store.publish import publish, read_published
from karabakh_kg.graph.store.remote import RemoteStore
from karabakh_kg.ontology import vocab
from karabakh_kg.server.app import create_app
from karabakh_kg.server.settings import Settings
from karabakh_kg.server.sparql.backend import BackendStore

DEPLOYMENT = Path(__file__).resolve().parents[1] / "docs" / "deployment.md"
KGO = str(vocab.KGO)
KGE = str(vocab.KGE)


@pytest.fixture(scope="module", params=["embedded", "oxigraph", "virtuoso"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Our server over the small curated folder, answering from one of the stores."""
    folder = tmp_path_factory.mktemp("data")
    (folder / "tiny.trig").write_text(TINY_DATA, encoding="utf-8")
    kg = load_graph(folder)
    settings = Settings(query_workers=1, max_rows=200)
    if request.param == "embedded":
        app = create_app(kg, settings)
    else:
        engine: Engine = request.getfixturevalue(f"{request.param}_engine")
        remote = engine.store()
        assert isinstance(remote, RemoteStore)
        publish(kg, remote)
        app = create_app(read_published(remote), settings, BackendStore(remote))
    live = start_server(app)
    yield live
    stop_server(live)


def select(live: LiveServer, query: str, **params: str) -> list[dict[str, str]]:
    response = httpx.get(live.url + "/sparql", params={"query": query, **params}, timeout=30)
    assert response.status_code == 200, response.text
    rows = response.json()["results"]["bindings"]
    return [{k: v["value"] for k, v in row.items()} for row in rows]


def test_queries_see_asserted_and_inferred_graphs(served: LiveServer) -> None:
    query = "SELECT ?type WHERE { kg:tiny-person a ?type } ORDER BY ?type"
    types = {row["type"] for row in select(served, query)}
    assert {KGO + "Person", KGO + "Agent"} <= types
    curated_only = {row["type"] for row in select(served, query, infer="false")}
    assert KGO + "Person" in curated_only and KGO + "Agent" not in curated_only
    graphs = {
        row["g"]
        for row in select(served, "SELECT ?g WHERE { GRAPH ?g { kg:tiny-person a kgo:Person } }")
    }
    assert {KGE + "tiny-unit", vocab.BASE + "graph/asserted"} <= graphs


def test_the_servers_own_limits_apply(served: LiveServer) -> None:
    too_many = httpx.get(
        served.url + "/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"}, timeout=30
    )
    assert too_many.status_code == 422, too_many.text
    service = httpx.get(
        served.url + "/sparql",
        params={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"},
        timeout=30,
    )
    assert service.status_code == 403
    turtle = httpx.get(
        served.url + "/sparql",
        params={"query": "CONSTRUCT WHERE { kg:tiny-person ?p ?o }"},
        headers={"Accept": "text/turtle"},
        timeout=30,
    )
    assert turtle.status_code == 200 and "tiny-group" in turtle.text


def test_pages_and_traversal(served: LiveServer) -> None:
    page = httpx.get(served.url + "/resource/tiny-person", timeout=30)
    assert page.status_code == 200 and "tiny-group" in page.text
    neighbours = httpx.get(
        served.url + "/graph/neighbours", params={"node": "kg:tiny-person"}, timeout=30
    )
    assert neighbours.status_code == 200, neighbours.text
    found = {n["iri"] for n in neighbours.json()["neighbours"]}
    assert str(vocab.KG) + "tiny-group" in found


def test_explanations_and_perspectives(served: LiveServer) -> None:
    """kg:tiny-person is a kgo:Agent because the ontology makes every kgo:Person one, and the
    unit kge:tiny-unit says it is a person; that unit is the article's, so the curated and
    article perspectives both hold its membership."""
    why = httpx.get(
        served.url + "/explain",
        params={"s": "kg:tiny-person", "p": "a", "o": "kgo:Agent", "all": "true"},
        headers={"Accept": "application/json"},
        timeout=60,
    )
    assert why.status_code == 200, why.text
    explanation = why.json()
    assert explanation["status"] == "derived"
    # one of its derivations: sub-class, from the asserted kgo:Person of kge:tiny-unit
    by_rule = {d["rule"]: d for d in explanation["derivations"]}
    premises = {p["object"]: p for p in by_rule["cax-sco"]["premises"]}
    person = premises[f"<{KGO}Person>"]
    assert person["status"] == "asserted"
    assert [e["graph"] for e in person["evidence"]] == [f"<{KGE}tiny-unit>"]
    member = "ASK { kg:tiny-person kgo:memberOf kg:tiny-group }"
    for name in ("curated", "article"):
        answer = httpx.get(
            served.url + "/sparql", params={"query": member, "perspective": name}, timeout=60
        )
        assert answer.status_code == 200 and answer.json()["boolean"] is True, answer.text
        page = httpx.get(
            served.url + "/resource/tiny-person", params={"perspective": name}, timeout=60
        )
        assert page.status_code == 200 and "tiny-group" in page.text


def documented_gaps(engine: str) -> set[str]:
    """The features docs/deployment.md says ``engine`` lacks (its table of gaps)."""
    text = DEPLOYMENT.read_text(encoding="utf-8")
    section = text.split("## Known gaps", 1)[1].split("\n## ", 1)[0]
    return {
        feature.strip()
        for name, feature in re.findall(r"^\| *([^|]+?) *\| *([^|]+?) *\|", section, re.M)
        if name.lower() == engine
    }


def test_the_probe_finds_the_documented_gaps(
    oxigraph_engine: Engine, virtuoso_engine: Engine
) -> None:
    assert probe(EmbeddedStore()) == {}
    assert set(probe(oxigraph_engine.store())) == documented_gaps("oxigraph")  # type: ignore[arg-type]
    gaps = probe(virtuoso_engine.store())  # type: ignore[arg-type]
    assert set(gaps) == documented_gaps("virtuoso") and gaps
    # Read-only (serve --backend), what needs the scratch graph is not probed, never
    # reported lacking for want of it.
    assert probe(oxigraph_engine.store(), write=False) == {}  # type: ignore[arg-type]


def test_a_backend_takes_no_updates() -> None:
    from karabakh_kg.server.settings import SettingsError

    with pytest.raises(SettingsError, match="publish"):
        Settings(
            backend_url="http://127.0.0.1:9/sparql", enable_updates=True, update_token="x"
        ).check()


def test_backend_queries_name_the_engine_when_it_fails() -> None:
    from karabakh_kg.server.sparql.protocol import QueryFailed, QueryJob

    store = BackendStore(RemoteStore("http://127.0.0.1:9/sparql"))
    with pytest.raises(QueryFailed) as failure:
        store.execute(QueryJob("ASK { ?s ?p ?o }"), timeout=5)
    assert failure.value.kind == "engine" and "127.0.0.1:9" in failure.value.message


def test_serve_backend_errors_are_one_line(oxigraph_engine: Engine) -> None:
    from conftest import free_port
    from typer.testing import CliRunner

    from karabakh_kg.server.cli import app

    runner = CliRunner()
    # (a port of its own: serve checks it can listen first, and 8000 may be taken)
    port = ["--port", str(free_port())]
    unreachable = runner.invoke(app, ["serve", "--backend", "http://127.0.0.1:9/sparql", *port])
    lines = unreachable.output.strip().splitlines()
    assert unreachable.exit_code != 0 and len(lines) == 1, unreachable.output
    assert lines[0].startswith("error: http://127.0.0.1:9/sparql") and "unreachable" in lines[0]
    empty = RemoteStore(oxigraph_engine.query_url, update_url=oxigraph_engine.update_url)
    empty.update(f"DROP SILENT GRAPH <{vocab.BASE}graph/publication>")
    nothing = runner.invoke(app, ["serve", "--backend", oxigraph_engine.query_url, *port])
    assert nothing.exit_code != 0 and "nothing published there yet" in nothing.output
    writable = runner.invoke(
        app,
        ["serve", "--backend", oxigraph_engine.query_url, "--enable-update", *port],
        env={"KARABAKH_KG_UPDATE_TOKEN": "t"},
    )
    assert writable.exit_code != 0 and "does not take updates" in writable.output
