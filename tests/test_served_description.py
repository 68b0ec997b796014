"""What a server describes of itself is what it serves: under ``serve --data FILE...
--ontology FILE``, the SPARQL 1.1 Service Description (GET /sparql), /openapi.json and
/ontology.ttl describe the given files and the given ontology, not the curated graph; and
``karabakh-kg stats`` and the home page count entities by one definition
(``karabakh_kg.graph.entities``: IRIs the asserted graph gives a class).

Expected answers come from the Service Description spec (a sd:Dataset's sd:namedGraph is
a sd:NamedGraph with a sd:name and a sd:graph; void:triples its size) and from the files'
own content, counted by hand: MEETING has 11 triples (4 of them in the named graph
<http://example.org/places>), FAMILY 2, the ontology file 1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox
import pytest
from test_cli_serve_data import FAMILY, MEETING, MEETING_TRIPLES, Served
from typer.testing import CliRunner

from karabakh_kg.graph import ASSERTED, INFERRED, ONTOLOGY, PROVENANCE, WIKIDATA, rdf_files
from karabakh_kg.ontology import vocab
from karabakh_kg.server.cli import app
from karabakh_kg.server.cli.data import compute_stats
from karabakh_kg.server.web.resource_data import graph_stats

SD = "http://www.w3.org/ns/sparql-service-description#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
DESCRIPTION = ox.NamedNode("http://purl.org/dc/terms/description")
VOID_TRIPLES = ox.NamedNode("http://rdfs.org/ns/void#triples")
PLACES = "http://example.org/places"
TRANSITIVE = ox.Triple(
    ox.NamedNode(vocab.KGO + "locatedIn"),
    RDF_TYPE,
    ox.NamedNode("http://www.w3.org/2002/07/owl#TransitiveProperty"),
)
ASSERTED_TRIPLES = MEETING_TRIPLES + 2  # both files, each triple once
PLACES_TRIPLES = 4
# kg:talk-1 (a kgo:Meeting), kg:ann-a (a kgo:Person), <http://example.org/tom> (a Cat);
# not kg:bob-b, kg:town-t, kg:region-r (described or named, never typed), nor ex:Cat
# (the subject of a sub-class axiom only)
ENTITIES = 3


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("served")
    (folder / "meeting.trig").write_text(MEETING, encoding="utf-8")
    (folder / "family.nt").write_text(FAMILY, encoding="utf-8")
    (folder / "places.ttl").write_text(
        f"<{TRANSITIVE.subject.value}> a <{TRANSITIVE.object.value}> .\n", encoding="utf-8"
    )
    return [folder / "meeting.trig", folder / "family.nt", folder / "places.ttl"]


@pytest.fixture(scope="module")
def served(files: list[Path]) -> Iterator[Served]:
    """One server (its checks only read): both data files, the given ontology, the rules."""
    meeting, family, ontology = files
    server = Served("--data", str(meeting), "--data", str(family), "--ontology", str(ontology))
    yield server
    server.stop()


def rules_triples() -> int:
    """The triples of the project's rules file, which a given ontology is loaded with."""
    return sum(1 for _ in ox.parse(path=vocab.rules_file(), format=ox.RdfFormat.TURTLE))


def described_graphs(triples: list[ox.Quad]) -> dict[str, int]:
    """Each sd:namedGraph of the default dataset: its sd:name and its graph's void:triples."""

    def one(subject: Any, predicate: str) -> Any:
        found = [
            t.object for t in triples if t.subject == subject and t.predicate.value == predicate
        ]
        assert len(found) == 1, (subject, predicate, found)
        return found[0]

    service = next(t.subject for t in triples if t.object == ox.NamedNode(SD + "Service"))
    dataset = one(service, SD + "defaultDataset")
    graphs = {}
    for named in [
        t.object for t in triples if t.subject == dataset and t.predicate.value == SD + "namedGraph"
    ]:
        assert ox.Quad(named, RDF_TYPE, ox.NamedNode(SD + "NamedGraph")) in triples
        size = one(one(named, SD + "graph"), VOID_TRIPLES.value)
        graphs[one(named, SD + "name").value] = int(size.value)
    return graphs


def test_service_description_names_the_served_graphs_and_their_sizes(served: Served) -> None:
    response = httpx.get(served.url + "sparql", headers={"Accept": "text/turtle"}, timeout=30)
    assert response.status_code == 200, response.text
    triples = list(ox.parse(response.content, format=ox.RdfFormat.TURTLE))
    described = described_graphs(triples)
    # every graph a GRAPH clause sees (the reasoner's too), with the size SPARQL COUNT gives
    rows = httpx.get(
        served.url + "sparql",
        params={"query": "SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"},
        timeout=30,
    ).json()["results"]["bindings"]
    assert described == {row["g"]["value"]: int(row["n"]["value"]) for row in rows}
    # the files' graphs by hand; no provenance and no Wikidata graph: the files hold none
    assert described[ASSERTED.value] == ASSERTED_TRIPLES
    assert described[ONTOLOGY.value] == 1 + rules_triples()
    assert described[PLACES] == PLACES_TRIPLES
    assert described[INFERRED.value] > 0
    assert PROVENANCE.value not in described and WIKIDATA.value not in described
    notes = {t.object.value for t in triples if t.predicate == DESCRIPTION}
    default = next(note for note in notes if note.startswith("The union of"))
    for graph in (ASSERTED, ONTOLOGY, INFERRED):
        assert f"<{graph.value}>" in default
    assert PROVENANCE.value not in default and WIKIDATA.value not in default
    assert not any("curators" in note for note in notes)  # the curated graph's note
    # what the options put into the ontology graph; the project's note on the inferred one
    assert "The ontology given with --ontology and the project's domain rules." in notes
    assert "What reasoning derives (left out with infer=false)." in notes


def test_openapi_describes_the_served_data(served: Served) -> None:
    document = httpx.get(served.url + "openapi.json", timeout=30).json()
    description = document["info"]["description"]
    assert f"2 data files ({ASSERTED_TRIPLES} triples" in description
    assert "curated from one news article" not in description
    parameters = {
        p["name"]: p["description"] for p in document["paths"]["/sparql"]["get"]["parameters"]
    }
    assert f"<{ASSERTED.value}>" in parameters["default-graph-uri"]
    assert PROVENANCE.value not in parameters["default-graph-uri"]
    assert "No Wikidata graph is loaded here" in parameters["wikidata"]
    assert "Nothing is inferred" not in parameters["infer"]


@pytest.mark.parametrize(
    ("extension", "syntax"), [("ttl", ox.RdfFormat.TURTLE), ("nt", ox.RdfFormat.N_TRIPLES)]
)
def test_ontology_document_is_the_given_ontology(
    served: Served, extension: str, syntax: ox.RdfFormat
) -> None:
    response = httpx.get(served.url + f"ontology.{extension}", timeout=30)
    assert response.status_code == 200, response.text
    # the given file's one triple: neither the project ontology nor the rules loaded beside it
    assert [q.triple for q in ox.parse(response.content, format=syntax)] == [TRANSITIVE]


def home_entities(url: str) -> int:
    home = httpx.get(url, headers={"Accept": "text/html"}, timeout=30).text
    found = re.search(r"<th>entities</th><td>(\d+)</td>", home)
    assert found, home
    return int(found.group(1))


def test_home_page_and_stats_count_entities_by_the_definition(
    served: Served, files: list[Path]
) -> None:
    assert home_entities(served.url) == ENTITIES
    kg = rdf_files.load_files(files[:2])  # the same data, as ``stats`` counts a graph
    assert compute_stats(kg)["entities"] == ENTITIES
    assert graph_stats(kg)["entities"] == ENTITIES


def test_home_page_and_stats_agree_on_the_curated_graph(live_server: Any) -> None:
    result = CliRunner().invoke(app, ["stats", "--format", "json"])
    assert result.exit_code == 0, result.output
    counted = json.loads(result.output)["entities"]
    assert counted > 0 and home_entities(live_server.url + "/") == counted


def test_curated_graph_keeps_the_ontology_notes_on_its_graphs(live_server: Any) -> None:
    response = httpx.get(live_server.url + "/sparql", headers={"Accept": "text/turtle"}, timeout=30)
    triples = list(ox.parse(response.content, format=ox.RdfFormat.TURTLE))
    assert PROVENANCE.value in described_graphs(triples)
    notes = {t.object.value for t in triples if t.predicate == DESCRIPTION}
    assert "What the curators assert: the union of every evidence graph." in notes  # karabakh.ttl
    assert not any("data files" in note for note in notes)


def test_data_not_reasoned_is_described_without_inference(files: list[Path]) -> None:
    """``serve --data FILE --no-reason``, in process: no inferred graph is described, nor a
    perspective (there are no evidence units), and describing it reasons nothing."""
    from fastapi.testclient import TestClient

    from karabakh_kg.server.cli.rdf_files import data_app
    from karabakh_kg.server.settings import Settings

    built, _ = data_app([files[1]], None, reason=False, rules=True, settings=Settings())
    client = TestClient(built)  # type: ignore[arg-type]
    response = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200, response.text
    triples = list(ox.parse(response.content, format=ox.RdfFormat.TURTLE))
    described = described_graphs(triples)
    assert described[ASSERTED.value] == 2  # FAMILY's two triples
    assert INFERRED.value not in described
    assert not any(t.predicate.value == vocab.KGO + "perspective" for t in triples)
    parameters = {
        p["name"]: p["description"]
        for p in client.get("/openapi.json").json()["paths"]["/sparql"]["get"]["parameters"]
    }
    assert "Nothing is inferred here" in parameters["infer"]
    assert INFERRED.value not in parameters["default-graph-uri"]
    assert INFERRED.value not in built.state.kg.triples_per_graph()  # type: ignore[attr-defined]
