"""Link check, suggest, confirm, enrich, export and federation against a real SPARQL server.

The server is Oxigraph's (the ``oxigraph`` command of the PyPI package) on 127.0.0.1, loaded
with the Wikidata-shaped fixture ``tests/fixtures/wikidata/wikidata.ttl``. Our side is a small
data folder (``ours.trig`` plus a links file written by each test), so the tests do not depend
on the curation of the article.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

from karabakh_kg.graph.dataset import ASSERTED, WIKIDATA, KnowledgeGraph
from karabakh_kg.graph.loading import load_graph
from karabakh_kg.graph.wikidata.client import WikidataClient
from karabakh_kg.graph.wikidata.enrich import enrich, enrichment_quads, write_enrichment
from karabakh_kg.graph.wikidata.link import (
    Link,
    LinkError,
    check,
    confirm,
    entity_infos,
    linked_entities,
    links_file,
    mapping_csv,
    names_fit,
    quickstatements,
    read_links,
    suggest,
    write_links,
)
from karabakh_kg.ontology import vocab
from karabakh_kg.server.cli import app

FIXTURES = Path(__file__).parent / "fixtures" / "wikidata"
KG = str(vocab.KG)
DAY = date(2020, 10, 12)

#: Links with one problem of each kind planted among good ones.
PLANTED = {
    "moscow": "Q649",  # ok: its class reaches "city" only through P279*
    "united-states": "Q30",  # ok
    "soviet-union": "Q15180",  # ok: historical country
    "osce": "Q81299",  # ok: our label is their label, OSCE an alias on both sides
    "reuters": "Q130879",  # ok
    "vladimir-putin": "Q7747",  # ok
    "baku": "Q7747",  # type mismatch: a human linked to a city
    "azerbaijan": "Q399",  # label mismatch: Armenia
    "armenia": "Q900000201",  # redirected to Q649
    "emmanuel-macron": "Q900000998",  # missing
    "nobody": "Q30",  # not one of our entities
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Oxigraph's SPARQL server with the fixture, read-only, on a free local port."""
    command = shutil.which("oxigraph")
    assert command, "the `oxigraph` command (PyPI package oxigraph) is needed for these tests"
    location = tmp_path_factory.mktemp("wikidata-store")
    subprocess.run(
        [command, "load", "--location", str(location), "--file", str(FIXTURES / "wikidata.ttl")],
        check=True,
        capture_output=True,
    )
    port = free_port()
    process = subprocess.Popen(
        [command, "serve-read-only", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/query"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url, params={"query": "ASK {}"}, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the Oxigraph test server did not start")
        time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


class HtmlHandler(BaseHTTPRequestHandler):
    """Answers every query with a login page: a malformed SPARQL response."""

    def do_GET(self) -> None:
        body = b"<html><body>Please log in</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def html_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), HtmlHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sparql"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep cached answers out of the user's cache directory."""
    monkeypatch.setenv("KARABAKH_KG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KARABAKH_KG_WIKIDATA_ENDPOINT", raising=False)


def make_data(folder: Path, links: dict[str, str]) -> Path:
    """A data folder with our test entities and ``links`` (local name → QID)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / "ours.trig", folder / "ours.trig")
    write_links(
        [Link(KG + name, qid, DAY, "test link") for name, qid in links.items()],
        folder / "wikidata-links.trig",
        DAY,
    )
    return folder


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return make_data(tmp_path / "data", PLANTED)


def client_for(url: str) -> WikidataClient:
    return WikidataClient(url)  # no cache: every test asks the server


def test_check_reports_each_kind_of_problem(data: Path, endpoint: str) -> None:
    kg = load_graph(data, reason=False)
    with client_for(endpoint) as client:
        report = check(kg, client, read_links(links_file(data)))
        assert client.requests <= 4  # one batched query for items, one for classes
    status = {s.entity[len(KG) :]: s.status for s in report.statuses}
    assert status == {
        "moscow": "ok",
        "united-states": "ok",
        "soviet-union": "ok",
        "osce": "ok",
        "reuters": "ok",
        "vladimir-putin": "ok",
        "baku": "type-mismatch",
        "azerbaijan": "label-mismatch",
        "armenia": "redirected",
        "emmanuel-macron": "missing",
        "nobody": "unknown-entity",
    }
    details = {s.entity[len(KG) :]: s.detail for s in report.statuses}
    assert "Q900000201 redirects to Q649" in details["armenia"]
    assert "Q5 (human)" in details["baku"]
    assert "'Azerbaijan' vs their 'Armenia'" in details["azerbaijan"]


def test_check_command_prints_problems_and_fails(data: Path, endpoint: str) -> None:
    before = (data / "wikidata-links.trig").read_bytes()
    result = CliRunner().invoke(
        app, ["link", "check", "--endpoint", endpoint, "--data-dir", str(data), "--no-cache"]
    )
    assert result.exit_code == 1, result.output
    assert "redirected      kg:armenia" in result.output
    assert "11 links checked" in result.output and "5 problem(s)" in result.output
    assert (data / "wikidata-links.trig").read_bytes() == before


def test_check_command_passes_on_good_links(tmp_path: Path, endpoint: str) -> None:
    folder = make_data(tmp_path / "good", {"moscow": "Q649", "osce": "Q81299"})
    result = CliRunner().invoke(
        app,
        ["link", "check", "--json", "--data-dir", str(folder), "--no-cache"],
        env={"KARABAKH_KG_WIKIDATA_ENDPOINT": endpoint},
    )
    assert result.exit_code == 0, result.output
    assert '"status": "ok"' in result.output and endpoint in result.output


def test_check_caches_answers_between_runs(tmp_path: Path, endpoint: str) -> None:
    folder = make_data(tmp_path / "cached", {"moscow": "Q649"})
    args = ["link", "check", "--endpoint", endpoint, "--data-dir", str(folder)]
    args += ["--cache-dir", str(tmp_path / "cache")]
    assert CliRunner().invoke(app, args).exit_code == 0
    stored = sorted(p.name for p in (tmp_path / "cache").glob("*.json"))
    assert len(stored) == 2  # the item query and the class query
    assert CliRunner().invoke(app, args).exit_code == 0
    assert sorted(p.name for p in (tmp_path / "cache").glob("*.json")) == stored


def test_offline_check_is_one_line_and_touches_nothing(data: Path) -> None:
    before = (data / "wikidata-links.trig").read_bytes()
    url = f"http://127.0.0.1:{free_port()}/sparql"
    result = CliRunner().invoke(
        app, ["link", "check", "--endpoint", url, "--data-dir", str(data), "--no-cache"]
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot reach {url}")
    assert "Traceback" not in result.output
    assert (data / "wikidata-links.trig").read_bytes() == before


def test_malformed_answer_is_one_line(data: Path, html_endpoint: str) -> None:
    result = CliRunner().invoke(
        app, ["link", "check", "--endpoint", html_endpoint, "--data-dir", str(data), "--no-cache"]
    )
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"error: {html_endpoint} did not answer SPARQL JSON results (got text/html)"
    )


def test_suggest_ranks_by_label_class_and_sitelinks(tmp_path: Path, endpoint: str) -> None:
    folder = make_data(tmp_path / "data", {"moscow": "Q649"})
    kg = load_graph(folder, reason=False)
    with client_for(endpoint) as client:
        found = {s.entity[len(KG) :]: s for s in suggest(kg, client)}
    assert "moscow" not in found  # already linked
    lavrov = [c.qid for c in found["sergei-lavrov"].candidates]
    assert lavrov == ["Q900000301", "Q900000302"]  # the human before the disambiguation page
    assert "disambiguation page" in found["sergei-lavrov"].candidates[1].reasons
    city = [c.qid for c in found["mingachevir"].candidates]
    assert city == ["Q900000311", "Q900000312"]  # the city before the reservoir
    assert found["mingachevir"].candidates[0].label == "Mingachevir"
    assert found["ilyas-ahmedov"].candidates == []


def test_suggest_command_for_one_entity(tmp_path: Path, endpoint: str) -> None:
    folder = make_data(tmp_path / "data", {})
    result = CliRunner().invoke(
        app,
        ["link", "suggest", "Mingechevir", "--endpoint", endpoint, "--data-dir", str(folder)],
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "kg:mingachevir (Mingachevir, settlement):"
    assert "1. Q900000311" in result.output
    assert "confirm: karabakh-kg link confirm kg:mingachevir Q900000311" in result.output


def test_confirm_writes_link_with_source_and_date(tmp_path: Path, endpoint: str) -> None:
    folder = make_data(tmp_path / "data", {"moscow": "Q649"})
    kg = load_graph(folder, reason=False)
    path = links_file(folder)
    with client_for(endpoint) as client:
        link = confirm(kg, KG + "mingachevir", "wd:Q900000311", path=path, client=client, today=DAY)
    assert link.qid == "Q900000311"
    links = {x.entity[len(KG) :]: x for x in read_links(path)}
    assert set(links) == {"moscow", "mingachevir"}
    assert links["mingachevir"].date == DAY
    reloaded = load_graph(folder, reason=False)
    ask = """ASK {
        GRAPH kge:wikidata-links { kg:mingachevir skos:exactMatch wd:Q900000311 }
        kge:wikidata-links kgo:stance kgo:ExternalSource ;
            dcterms:source <https://www.wikidata.org/> ; dcterms:date ?date .
        ?note rdf:subject kg:mingachevir ; rdf:object wd:Q900000311 ;
            kgo:externalSource <https://www.wikidata.org/> ; dcterms:date "2020-10-12"^^xsd:date .
    }"""
    assert bool(reloaded.query(ask, include_inferred=False))
    assert not list(folder.glob(".*.tmp"))  # the atomic write left nothing behind


@pytest.mark.parametrize(
    ("entity", "qid", "message"),
    [
        ("armenia", "Q900000201", "Q900000201 redirects to Q649; link Q649 instead"),
        ("mingachevir", "Q900000312", "is not of a class that fits our settlement"),
        ("mingachevir", "Q900000999", "has no item Q900000999"),
        ("moscow", "Q9248", "kg:moscow is already linked to Q649; add --replace"),
        ("baku", "Q649", "Q649 is already linked to kg:moscow"),
        ("nobody", "Q42", "kg:nobody is not a labelled"),
    ],
)
def test_confirm_refuses_bad_links(
    tmp_path: Path, endpoint: str, entity: str, qid: str, message: str
) -> None:
    folder = make_data(tmp_path / "data", {"moscow": "Q649"})
    kg = load_graph(folder, reason=False)
    before = links_file(folder).read_bytes()
    with client_for(endpoint) as client, pytest.raises(LinkError, match=message):
        confirm(kg, KG + entity, qid, path=links_file(folder), client=client)
    assert links_file(folder).read_bytes() == before


def test_confirm_command_replace_and_bad_qid(tmp_path: Path, endpoint: str) -> None:
    folder = make_data(tmp_path / "data", {"baku": "Q7747"})
    runner = CliRunner()
    base = ["--endpoint", endpoint, "--data-dir", str(folder), "--no-cache"]
    bad = runner.invoke(app, ["link", "confirm", "kg:baku", "Baku", *base])
    assert bad.exit_code == 1 and bad.output.startswith("error: not a Wikidata item identifier")
    kept = runner.invoke(app, ["link", "confirm", "Baku", "Q9248", *base])
    assert kept.exit_code == 1 and "add --replace" in kept.output
    done = runner.invoke(app, ["link", "confirm", "Baku", "Q9248", "--replace", *base])
    assert done.exit_code == 0, done.output
    assert [(x.entity, x.qid) for x in read_links(links_file(folder))] == [(KG + "baku", "Q9248")]


def test_enrich_imports_facts_with_provenance(tmp_path: Path, endpoint: str) -> None:
    links = [Link(KG + n, q) for n, q in PLANTED.items() if n in ("moscow", "vladimir-putin")]
    links.append(Link(KG + "emmanuel-macron", "Q3052772"))
    links.append(Link(KG + "azerbaijan", "Q227"))
    with client_for(endpoint) as client:
        result = enrich(client, links)
    assert result.counts["P625"] == 1 and result.counts["P569"] == 2
    assert all(q.graph_name == WIKIDATA for q in result.quads)
    target = tmp_path / "enrichment.trig"
    write_enrichment(result, target)
    assert enrichment_quads(target)
    folder = make_data(tmp_path / "data", {"moscow": "Q649"})
    kg = load_graph(folder, reason=False, wikidata=target)
    position = """SELECT ?label ?start ?end WHERE { GRAPH <%s> {
        wd:Q3052772 p:P39 ?s . ?s ps:P39 ?position .
        OPTIONAL { ?s pq:P580 ?start } OPTIONAL { ?s pq:P582 ?end }
        ?position rdfs:label ?label } } ORDER BY ?start"""
    prefixes = (
        "PREFIX p: <http://www.wikidata.org/prop/>\n"
        "PREFIX ps: <http://www.wikidata.org/prop/statement/>\n"
        "PREFIX pq: <http://www.wikidata.org/prop/qualifier/>\n"
    )
    rows = list(kg.query(prefixes + position % WIKIDATA.value))
    assert [r["label"].value for r in rows] == [
        "fixture position: Minister of the Economy",
        "fixture position: President of France",
    ]
    assert rows[0]["end"].value.startswith("2016-08-30")
    members = "SELECT ?org WHERE { GRAPH <%s> { wd:Q227 wdt:P463 ?org } } ORDER BY ?org"
    assert len(list(kg.query(members % WIKIDATA.value))) == 2
    provenance = """ASK { GRAPH <%s> { <%s> prov:wasGeneratedBy ?a . ?a a prov:Activity ;
        prov:used <%s> ; prov:startedAtTime ?t ; prov:used ?q . ?q prov:value ?text .
        FILTER(CONTAINS(?text, "wdt:P625")) } }"""
    assert bool(kg.query(provenance % (WIKIDATA.value, WIKIDATA.value, endpoint)))
    # Excluded from the default graph and from the curated (asserted) graph:
    coordinates = "ASK { wd:Q649 wdt:P625 ?where }"
    assert not bool(kg.query(coordinates))
    assert bool(kg.query(coordinates, default_graph=[*kg.default_graphs(), WIKIDATA]))
    item = ox.NamedNode(str(vocab.WD) + "Q649")
    assert not list(kg.store.quads_for_pattern(item, None, None, ASSERTED))


def test_enrich_command_writes_the_chosen_properties(tmp_path: Path, endpoint: str) -> None:
    folder = make_data(tmp_path / "data", {"moscow": "Q649", "baku": "Q9248"})
    target = tmp_path / "out" / "wd.trig"
    result = CliRunner().invoke(
        app,
        [
            "link",
            "enrich",
            "--endpoint",
            endpoint,
            "--data-dir",
            str(folder),
            "-p",
            "P625",
            "-o",
            str(target),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "(P625: 2)" in result.output
    bad = CliRunner().invoke(app, ["link", "enrich", "-p", "P18", "--data-dir", str(folder)])
    assert bad.exit_code == 1 and "cannot import P18" in bad.output


def test_export_csv_and_quickstatements(tmp_path: Path) -> None:
    folder = make_data(tmp_path / "data", {"moscow": "Q649", "osce": "Q81299"})
    runner = CliRunner()
    csv_out = runner.invoke(app, ["link", "export", "--data-dir", str(folder)])
    assert csv_out.exit_code == 0, csv_out.output
    assert csv_out.output.splitlines() == [
        "iri,label,qid,wikidata_iri",
        f"{KG}moscow,Moscow,Q649,http://www.wikidata.org/entity/Q649",
        f"{KG}osce,Organization for Security and Co-operation in Europe,Q81299,"
        "http://www.wikidata.org/entity/Q81299",
    ]
    target = tmp_path / "links.qs"
    qs = runner.invoke(
        app,
        ["link", "export", "-f", "quickstatements", "-o", str(target), "--data-dir", str(folder)],
    )
    assert qs.exit_code == 0, qs.output
    assert target.read_text().splitlines() == [
        f'Q649\tP973\t"{KG}moscow"',
        f'Q81299\tP973\t"{KG}osce"',
    ]
    bad = runner.invoke(app, ["link", "export", "-f", "xlsx", "--data-dir", str(folder)])
    assert bad.exit_code == 1 and "unknown export format" in bad.output


def test_mapping_and_quickstatements_functions() -> None:
    links = [Link(KG + "baku", "Q9248")]
    assert mapping_csv(links, {}).splitlines()[1] == f"{KG}baku,,Q9248,{vocab.WD}Q9248"
    with pytest.raises(LinkError, match="not a Wikidata property"):
        quickstatements(links, "973")


def test_federated_query_joins_our_network_with_the_endpoint(tmp_path: Path, endpoint: str) -> None:
    """The example of docs/wikidata.md, run by our store against the local endpoint."""
    folder = make_data(tmp_path / "data", {"azerbaijan": "Q227", "armenia": "Q399"})
    kg = load_graph(folder, reason=False)
    text = (Path(__file__).parents[1] / "docs" / "wikidata.md").read_text(encoding="utf-8")
    example = text.split("```sparql\n", 1)[1].split("```", 1)[0]
    query = example.replace("https://query.wikidata.org/sparql", endpoint)
    rows = list(kg.query(query, include_inferred=False))
    pairs = sorted({(r["partyLabel"].value, r["orgLabel"].value) for r in rows})
    assert pairs == [
        ("Armenia", "Organization for Security and Co-operation in Europe"),
        ("Armenia", "United Nations"),
        ("Azerbaijan", "Organization for Security and Co-operation in Europe"),
        ("Azerbaijan", "United Nations"),
    ]


def test_names_fit_ignores_case_diacritics_and_hyphens() -> None:
    assert names_fit(
        ["Organization for Security and Cooperation in Europe"],
        ["Organization for Security and Co-operation in Europe"],
    )
    assert names_fit(["Gazançetsots Cathedral"], ["Ghazanchetsots", "gazancetsots cathedral"])
    assert names_fit(["Vladimir Putin"], ["Vladimir Vladimirovich Putin", "Putin"])
    assert not names_fit(["Azerbaijan"], ["Armenia", "Republic of Armenia"])


def test_curated_links_name_curated_entities(kg: KnowledgeGraph) -> None:
    """Every link of graph/data/wikidata-links.trig is an entity of the curated data."""
    links = read_links()
    assert len(links) >= 28
    infos = entity_infos(kg)
    unknown = [x.entity for x in links if x.entity not in infos]
    assert unknown == []
    assert len({x.qid for x in links}) == len(links)  # one entity per item
    assert linked_entities(kg) == {x.entity: x.qid for x in links}
    assert all(x.date is not None and x.comment for x in links)
    evidence = """SELECT ?p ?o WHERE { kge:wikidata-links ?p ?o } ORDER BY ?p"""
    found = {(r["p"].value, r["o"].value) for r in kg.query(evidence, include_inferred=False)}
    names = {p.rsplit("/", 1)[-1].rsplit("#", 1)[-1] for p, _ in found}
    assert names == {"type", "stance", "source", "date", "comment"}
    assert (str(vocab.KGO) + "stance", str(vocab.KGO) + "ExternalSource") in found
    assert ("http://purl.org/dc/terms/source", "https://www.wikidata.org/") in found


def test_curated_links_fit_the_fixture(kg: KnowledgeGraph, endpoint: str) -> None:
    """The real links, checked against the fixture (which has their real QIDs)."""
    with client_for(endpoint) as client:
        report = check(kg, client)
    assert len(report.statuses) >= 28
    assert [(s.entity, s.status, s.detail) for s in report.problems] == []


def test_languages_and_wars_are_checked_by_their_class(kg: KnowledgeGraph, endpoint: str) -> None:
    """Languages and wars link to Wikidata like places do: the item's class must fit ours."""
    links = [
        Link(KG + "persian-language", "Q9168", DAY, "test link"),
        Link(KG + "first-world-war", "Q361", DAY, "test link"),
        Link(KG + "russian-language", "Q361", DAY, "test link"),  # a war, not a language
        Link(KG + "turkish-language", "Q7747", DAY, "test link"),  # a human
    ]
    with client_for(endpoint) as client:
        report = check(kg, client, links)
    status = {s.entity[len(KG) :]: s.status for s in report.statuses}
    assert status == {
        "persian-language": "ok",
        "first-world-war": "ok",
        "russian-language": "type-mismatch",
        "turkish-language": "type-mismatch",
    }
    details = {s.entity[len(KG) :]: s.detail for s in report.statuses}
    assert "our language" in details["russian-language"]


def test_federation_through_our_endpoint_follows_the_allowlist(
    tmp_path: Path, endpoint: str
) -> None:
    """``SERVICE <wikidata>`` through ``/sparql``: answered when allowed, 403 otherwise."""
    from fastapi.testclient import TestClient

    from karabakh_kg.server.app import create_app
    from karabakh_kg.server.settings import Settings

    folder = make_data(tmp_path / "data", {"azerbaijan": "Q227", "armenia": "Q399"})
    kg = load_graph(folder, reason=False)
    text = (Path(__file__).parents[1] / "docs" / "wikidata.md").read_text(encoding="utf-8")
    query = text.split("```sparql\n", 1)[1].split("```", 1)[0]
    query = query.replace("https://query.wikidata.org/sparql", endpoint)
    accept = {"Accept": "application/sparql-results+json"}
    allowed = Settings(service_allowlist=(endpoint,), query_workers=1)
    other = f"http://127.0.0.1:{free_port()}/sparql"
    with TestClient(create_app(kg, allowed)) as http:
        answer = http.post("/sparql", data={"query": query}, headers=accept)
        refused = http.post(
            "/sparql", data={"query": query.replace(endpoint, other)}, headers=accept
        )
    assert answer.status_code == 200, answer.text
    rows = answer.json()["results"]["bindings"]
    assert sorted((r["partyLabel"]["value"], r["org"]["value"]) for r in rows) == [
        ("Armenia", "http://www.wikidata.org/entity/Q1065"),
        ("Armenia", "http://www.wikidata.org/entity/Q81299"),
        ("Azerbaijan", "http://www.wikidata.org/entity/Q1065"),
        ("Azerbaijan", "http://www.wikidata.org/entity/Q81299"),
    ]
    assert refused.status_code == 403
    assert "allowlist" in refused.text and other in refused.text
