"""The /graph JSON endpoints, /export/{format} and the graph commands, on a small graph."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest
import rdflib
from fastapi.testclient import TestClient
from graph_sample import KG, KGO, SAMPLE_TRIG, sample_kg
from typer.testing import CliRunner

from karabakh_kg.graph import export as exports
from karabakh_kg.server.app import create_app
from karabakh_kg.server.cli import app as cli_app


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(sample_kg())) as test_client:
        yield test_client


def test_lookup_resolves_names_and_404s_with_suggestions(client: TestClient) -> None:
    found = client.get("/graph/lookup", params={"name": "Mingachevir"})
    assert found.status_code == 200
    assert found.json()["iri"] == KG + "mingechevir"
    assert found.json()["altLabels"] == ["Mingachevir"]
    missing = client.get("/graph/lookup", params={"name": "Lavrof"})
    assert missing.status_code == 404
    body = missing.json()
    assert body["status"] == 404 and "Lavrof" in body["detail"]
    assert body["suggestions"][0] == {"iri": KG + "sergei-lavrov", "label": "Sergei Lavrov"}
    ambiguous = client.get("/graph/lookup", params={"name": "phone call"})
    assert ambiguous.status_code == 409
    assert len(ambiguous.json()["suggestions"]) == 2


def test_search_ranks_matches(client: TestClient) -> None:
    body = client.get("/graph/search", params={"q": "lavrov"}).json()
    assert body["results"][0]["label"] == "Sergei Lavrov"
    # out of range: 400 bad-parameter naming the bounds, as every /graph route answers
    # (docs/traversal-and-exports.md), not FastAPI's 422
    for limit in (0, 51):
        refused = client.get("/graph/search", params={"q": "x", "limit": limit})
        assert refused.status_code == 400 and refused.json()["code"] == "bad-parameter"
        assert "between 1 and 50" in refused.json()["detail"]


@pytest.mark.parametrize(("name", "value"), [("limit", -1), ("max_length", 0), ("limit", 101)])
def test_path_bounds_hold_without_all_too(client: TestClient, name: str, value: int) -> None:
    """A shortest path ignored ``limit`` and ``max_length`` out of range (200)."""
    refused = client.get("/graph/path", params={"from": "Lavrov", "to": "Aliyev", name: value})
    assert refused.status_code == 400 and refused.json()["code"] == "bad-parameter"
    assert name in refused.json()["detail"]


def test_neighbours_gives_edges_with_quotes_and_elements(client: TestClient) -> None:
    response = client.get("/graph/neighbours", params={"node": "Lavrov"})
    assert response.status_code == 200
    body = response.json()
    assert "Mnatsakanyan–Lavrov meeting" in {n["label"] for n in body["neighbours"]}
    assert any(e.get("quote") for e in body["edges"])
    ids = {n["data"]["id"] for n in body["elements"]["nodes"]}
    assert ids == {KG + "sergei-lavrov"} | {n["iri"] for n in body["neighbours"]}
    asserted = client.get("/graph/neighbours", params={"node": "Lavrov", "inferred": "false"})
    assert {e["kind"] for e in asserted.json()["edges"]} == {"asserted"}


@pytest.mark.parametrize(
    ("path", "params", "status", "needle"),
    [
        ("/graph/neighbours", {"node": "Lavrov", "k": 9}, 400, "k must be between"),
        ("/graph/neighbours", {"node": "Lavrov", "predicate": "kgo:metwith"}, 400, "kgo:metWith"),
        ("/graph/neighbours", {"node": "Lavrov", "from": "yesterday"}, 400, "ISO date"),
        ("/graph/neighbours", {"node": "Nobody Atall"}, 404, "no entity"),
        (
            "/graph/path",
            {"from": "Macron", "to": "Lavrov", "all": "true", "limit": 1000},
            400,
            "limit",
        ),
        (
            "/graph/path",
            {"from": "Macron", "to": "Lavrov", "all": "true", "max_length": 50},
            400,
            "max_length",
        ),
        ("/graph/ego", {"node": "Lavrov", "radius": 0}, 400, "radius"),
        ("/graph/centrality", {"top": 0}, 400, "top"),
        ("/graph/components", {"class": "kgo:Nothing"}, 400, "unknown class"),
        ("/graph/communities", {"class": ["Person"] * 51}, 400, "at most 50 class values"),
        ("/graph/network", {"from": "2" * 301}, 400, "the start is 301 characters long"),
        (
            "/graph/path",
            {"from": "Macron", "to": "Lavrov", "predicate": "x" * 301},
            400,
            "at most 300",
        ),
        ("/export/nt", {"predicate": "kgo:metwith"}, 400, "kgo:metWith"),
        ("/export/xlsx", {}, 404, "unknown export format"),
        ("/export/gexf", {"focus": "Lavrof"}, 404, "Lavrof"),
    ],
)
def test_bad_requests_get_clear_errors(
    client: TestClient, path: str, params: dict, status: int, needle: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == status
    assert needle in response.json()["detail"]


def test_path_endpoint_draws_the_call_between_macron_and_aliyev(client: TestClient) -> None:
    body = client.get(
        "/graph/path", params={"from": "Macron", "to": "Aliyev", "predicate": "kgo:participant"}
    ).json()
    [found] = body["paths"]
    assert [n["label"] for n in found["nodes"]][1] == "Macron–Aliyev phone call"
    assert all(step["edge"]["quote"] for step in found["steps"])
    assert len(body["elements"]["edges"]) == 2
    many = client.get(
        "/graph/path", params={"from": "Macron", "to": "Lavrov", "all": "true", "limit": 2,
                               "max_length": 6},
    ).json()  # fmt: skip
    assert len(many["paths"]) == 2 and many["truncated"] is True
    none = client.get("/graph/path", params={"from": "Macron", "to": "нагорный"}).json()
    assert none["paths"] == []


def test_ego_components_centrality_communities_network(client: TestClient) -> None:
    ego = client.get("/graph/ego", params={"node": "kg:sergei-lavrov"}).json()
    assert len(ego["elements"]["nodes"]) == 3  # Lavrov, the planned meeting, Russia
    components = client.get("/graph/components").json()["components"]
    assert components[0]["size"] >= components[-1]["size"]
    ranked = client.get("/graph/centrality", params={"measure": "pagerank", "top": 2}).json()
    assert len(ranked["results"]) == 2
    groups = client.get("/graph/communities", params={"method": "greedy"}).json()
    assert groups["communities"]
    network = client.get("/graph/network", params={"level": "state"}).json()
    assert ("Azerbaijan", "France") in {
        (r["sourceLabel"], r["targetLabel"]) for r in network["rows"]
    }
    assert client.get("/graph/network", params={"level": "galaxy"}).status_code == 422
    person = client.get("/graph/network").json()["rows"]
    assert not any(r["targetLabel"] == "Sergei Lavrov" for r in person)
    planned = client.get("/graph/network", params={"unrealised": "true"}).json()["rows"]
    assert ("Sergei Lavrov", "planned meeting", "Zohrab Mnatsakanyan", "2020-10-12") in {
        (r["sourceLabel"], r["relation"], r["targetLabel"], r["date"]) for r in planned
    }


@pytest.mark.parametrize("fmt", list(exports.REGISTRY))
def test_every_export_format_is_served_with_its_media_type(client: TestClient, fmt: str) -> None:
    response = client.get(f"/export/{fmt}")
    assert response.status_code == 200
    exporter = exports.REGISTRY[fmt]
    assert response.headers["content-type"].split(";")[0] == exporter.media_type
    assert f'filename="karabakh-kg.{exporter.extension}"' in response.headers["content-disposition"]
    assert response.content


def test_export_filters_focus_nodes_and_network(client: TestClient) -> None:
    focused = client.get("/export/d3", params={"focus": "Lavrov", "radius": 1}).json()
    assert len(focused["nodes"]) == 3
    chosen = client.get(
        "/export/cytoscape",
        params={"node": [KG + "sergei-lavrov", KG + "zohrab-mnatsakanyan"], "inferred": "false"},
    ).json()
    assert len(chosen["elements"]["nodes"]) == 2 and chosen["elements"]["edges"] == []
    network = client.get("/export/ttl", params={"network": "person"})
    parsed = rdflib.Graph().parse(data=network.content, format="turtle")
    spoke = rdflib.URIRef("https://w3id.org/karabakh-kg/ontology#spokeWith")
    assert (
        rdflib.URIRef(KG + "emmanuel-macron"),
        spoke,
        rdflib.URIRef(KG + "ilham-aliyev"),
    ) in parsed
    # Edges through officials (Macron spoke with Aliyev) stand for no triple between the
    # states: the only one exported is the rules' (France co-chairs the Minsk Group, which
    # mediates for Azerbaijan).
    states = client.get("/export/nt", params={"network": "state", "unrealised": "true"})
    parsed = rdflib.Graph().parse(data=states.content, format="nt")
    france, azerbaijan = rdflib.URIRef(KG + "france"), rdflib.URIRef(KG + "azerbaijan")
    assert (azerbaijan, None, france) not in parsed
    assert set(parsed.predicates(france, azerbaijan)) == {rdflib.URIRef(KGO + "mediatedFor")}
    assert client.get("/export/nt", params={"unrealised": "true"}).status_code == 400
    zipped = client.get("/export/csv")
    assert zipfile.ZipFile(io.BytesIO(zipped.content)).namelist() == ["nodes.csv", "edges.csv"]


def test_openapi_documents_the_graph_endpoints(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/graph/lookup", "/graph/neighbours", "/graph/path", "/graph/ego",
                 "/graph/components", "/graph/centrality", "/graph/communities",
                 "/graph/network", "/export/{fmt}"):  # fmt: skip
        assert path in spec["paths"], path
        responses = spec["paths"][path]["get"]["responses"]
        assert {"400", "404"} <= set(responses)
    assert "k" in {p["name"] for p in spec["paths"]["/graph/neighbours"]["get"]["parameters"]}


# --- the command line, on the same sample loaded from a data folder ------------------------


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample-data")
    (folder / "sample.trig").write_text(SAMPLE_TRIG, encoding="utf-8")
    return folder


runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli_app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_path_table_and_json(data_dir: Path) -> None:
    code, out, _ = run(
        "path", "Macron", "Aliyev", "-p", "kgo:participant", "--data-dir", str(data_dir)
    )
    assert code == 0
    assert "Emmanuel Macron → Macron–Aliyev phone call → Ilham Aliyev" in out
    assert "Macron had spoken with" in out
    code, out, _ = run("path", "Macron", "Aliyev", "--format", "json", "--data-dir", str(data_dir))
    assert code == 0 and json.loads(out)["length"] >= 1


def test_cli_neighbours_network_centrality(data_dir: Path) -> None:
    code, out, _ = run("neighbours", "lavrov", "--format", "json", "--data-dir", str(data_dir))
    assert code == 0
    assert "Mnatsakanyan–Lavrov meeting" in {n["label"] for n in json.loads(out)["neighbours"]}
    code, out, _ = run("network", "--data-dir", str(data_dir))
    assert code == 0 and "mediatedFor" in out
    # With the real reasoner: the planned meeting gives no metWith, only a labelled edge.
    assert "Lavrov" not in out and "Bayramov" in out
    code, out, _ = run("network", "--unrealised", "--format", "json", "--data-dir", str(data_dir))
    planned = [r for r in json.loads(out) if r["targetLabel"] == "Zohrab Mnatsakanyan"]
    assert code == 0 and ("planned meeting", "kgo:Planned") in {
        (r["relation"], r["status"]) for r in planned
    }
    code, out, _ = run("centrality", "--measure", "betweenness", "--top", "2", "--format", "json",
                       "--data-dir", str(data_dir))  # fmt: skip
    assert code == 0 and len(json.loads(out)) == 2
    code, out, _ = run("communities", "--data-dir", str(data_dir))
    assert code == 0 and out.startswith("0 (")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["neighbours", "Lavrof"], "did you mean: Sergei Lavrov"),
        (["neighbours", "Lavrov", "-k", "9"], "k must be between 1 and"),
        (["path", "Macron", "Lavrov", "--all", "--limit", "0"], "limit"),
        (["export", "--format", "xlsx"], "unknown export format"),
        (["neighbours", "Lavrov", "--from", "soon"], "ISO date"),
        (["export", "-f", "nt", "--unrealised"], "--network"),
        (["centrality", *["-p", "kgo:metWith"] * 51], "at most 50 predicate values"),
        (["communities", "--to", "2" * 301], "the end is 301 characters long"),
        (["network", "--class", "kgo:Persn"], "kgo:Person"),
    ],
)
def test_cli_errors_are_one_line(data_dir: Path, args: list[str], needle: str) -> None:
    code, out, err = run(*args, "--data-dir", str(data_dir))
    assert code != 0
    assert needle in err and err.startswith("error: ") and err.count("\n") == 1
    assert "Traceback" not in out + err


def test_cli_export_to_file_and_stdout(data_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "sample.gexf"
    code, _, err = run("export", "-f", "gexf", "-o", str(target), "--data-dir", str(data_dir))
    assert code == 0 and "wrote" in err
    back = nx.read_gexf(target)
    assert "нагорный" in {d["label"] for _, d in back.nodes(data=True)}
    code, out, _ = run("export", "-f", "nt", "--focus", "Lavrov", "--data-dir", str(data_dir))
    assert code == 0
    parsed = rdflib.Graph().parse(data=out, format="nt")
    assert rdflib.URIRef(KG + "sergei-lavrov") in set(parsed.subjects())
    code, _, err = run("export", "-f", "dot", "-o", str(tmp_path / "no" / "x.gv"),
                       "--data-dir", str(data_dir))  # fmt: skip
    assert code != 0 and "does not exist" in err
