"""Every export format, read back with an independent reader and compared with the source.

The GEXF and GraphML XML Schemas are not shipped by any package we install, so the XML
exports are checked structurally with lxml (namespaces, declared attribute keys, edges that
point at declared nodes) and read back with networkx's readers.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import networkx as nx
import pydot
import pyoxigraph as ox
import pytest
import rdflib
from graph_sample import KG, KGO, sample_kg
from lxml import etree
from networkx.readwrite import json_graph

from karabakh_kg.graph import export as exports
from karabakh_kg.graph.categories import ontology_hierarchy
from karabakh_kg.graph.dataset import ASSERTED, INFERRED, KnowledgeGraph
from karabakh_kg.graph.projection import project

UTF8_LABELS = {KG + "gazancetsots-cathedral": "Gazançetsots Cathedral", KG + "nagorny": "нагорный"}


SAMPLE = sample_kg()


@pytest.fixture(scope="module")
def graph() -> nx.MultiDiGraph:
    return project(SAMPLE)


@pytest.fixture(scope="module")
def curated_projection(kg: KnowledgeGraph) -> nx.MultiDiGraph:
    """The whole curated graph projected (read only: several tests share it)."""
    return project(kg)


def edge_triples(graph: nx.MultiDiGraph) -> set[tuple[str, str, str]]:
    return {(s, d["predicate"], t) for s, t, d in graph.edges(data=True)}


def test_registry_names_aliases_and_media_types() -> None:
    assert exports.get("text/turtle").name == "ttl"
    assert exports.get("CYJS").name == "cytoscape"
    assert exports.get("json-ld").name == "jsonld"
    assert exports.get("application/rdf+xml").name == "rdf"
    assert exports.get("png").binary and exports.get("csv").binary
    assert not exports.get("graphml").binary
    with pytest.raises(exports.ExportError, match="graphml"):
        exports.get("xlsx")


def test_graphml_reads_back_with_networkx_and_lxml(graph: nx.MultiDiGraph) -> None:
    data = exports.export(graph, "graphml", SAMPLE)
    back = nx.read_graphml(io.BytesIO(data), force_multigraph=True)
    assert back.number_of_nodes() == graph.number_of_nodes()
    assert back.number_of_edges() == graph.number_of_edges()
    for iri, label in UTF8_LABELS.items():
        assert back.nodes[iri]["label"] == label
    meeting = KG + "mnatsakanyan-lavrov-meeting"
    edge = back.edges[meeting, KG + "sergei-lavrov", "kgo:participant"]
    assert edge["kind"] == "asserted" and edge["date"] == "2020-10-12"
    assert edge["quote"] == graph.edges[meeting, KG + "sergei-lavrov", "kgo:participant"]["quote"]
    assert back.nodes[KG + "sergei-lavrov"]["color"] == graph.nodes[KG + "sergei-lavrov"]["color"]

    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    root = etree.fromstring(data)
    assert root.tag == "{http://graphml.graphdrawing.org/xmlns}graphml"
    keys = {k.get("id") for k in root.findall("g:key", ns)}
    used = {d.get("key") for d in root.iter("{http://graphml.graphdrawing.org/xmlns}data")}
    assert used <= keys
    nodes = {n.get("id") for n in root.findall(".//g:node", ns)}
    for edge_element in root.findall(".//g:edge", ns):
        assert edge_element.get("source") in nodes and edge_element.get("target") in nodes


def test_gexf_reads_back_with_colours_and_time_intervals(graph: nx.MultiDiGraph) -> None:
    data = exports.export(graph, "gexf", SAMPLE)
    back = nx.read_gexf(io.BytesIO(data))
    assert back.number_of_nodes() == graph.number_of_nodes()
    assert back.number_of_edges() == graph.number_of_edges()
    for iri, label in UTF8_LABELS.items():
        assert back.nodes[iri]["label"] == label

    ns = {"x": "http://www.gexf.net/1.2draft", "viz": "http://www.gexf.net/1.2draft/viz"}
    root = etree.fromstring(data)
    assert root.get("version") == "1.2"
    graph_element = root.find("x:graph", ns)
    assert graph_element is not None and graph_element.get("timeformat") == "date"
    declared = {a.get("id") for a in root.iterfind(".//x:attributes/x:attribute", ns)}
    used = {v.get("for") for v in root.iterfind(".//x:attvalue", ns)}
    assert used <= declared
    for node in root.iterfind(".//x:nodes/x:node", ns):
        colour = node.find("viz:color", ns)
        assert colour is not None
        category = graph.nodes[node.get("id")]["category"]
        expected = ontology_hierarchy().colours()[category]
        assert "#{:02x}{:02x}{:02x}".format(*(int(colour.get(c)) for c in "rgb")) == expected
    meeting = root.find(f".//x:node[@id='{KG}mnatsakanyan-lavrov-meeting']", ns)
    assert meeting is not None
    assert (meeting.get("start"), meeting.get("end")) == ("2020-10-12", "2020-10-12")
    dated = [e for e in root.iterfind(".//x:edges/x:edge", ns) if e.get("start")]
    assert len(dated) == sum(1 for _, _, d in graph.edges(data=True) if d.get("date"))


def test_gexf_intervals_cover_a_month_or_a_year_not_a_day(
    kg: KnowledgeGraph, curated_projection: nx.MultiDiGraph
) -> None:
    """A date is as precise as its datatype: a month (xsd:gYearMonth) spans the month."""
    root = etree.fromstring(exports.export(curated_projection, "gexf", kg))
    ns = {"x": "http://www.gexf.net/1.2draft"}
    spans = {
        node.get("id"): (node.get("start"), node.get("end"))
        for node in root.iterfind(".//x:nodes/x:node", ns)
    }
    # Line 71: "the war with Georgia in August 2008" (kgo:date "2008-08"^^xsd:gYearMonth).
    assert spans[KG + "russia-georgia-war-2008"] == ("2008-08-01", "2008-08-31")
    # Line 53: "joined the Union of Soviet Socialist Republics in 1922" (an xsd:gYear).
    assert spans[KG + "soviet-accession-1922"] == ("1922-01-01", "1922-12-31")


def test_cytoscape_json_reads_back(graph: nx.MultiDiGraph) -> None:
    document = json.loads(exports.export(graph, "cytoscape", SAMPLE))
    back = json_graph.cytoscape_graph(document)
    assert back.number_of_nodes() == graph.number_of_nodes()
    assert back.number_of_edges() == graph.number_of_edges()
    ids = [e["data"]["id"] for e in document["elements"]["edges"]]
    assert len(set(ids)) == len(ids)
    nodes = {n["data"]["id"]: n for n in document["elements"]["nodes"]}
    assert nodes[KG + "nagorny"]["data"]["label"] == "нагорный"
    assert nodes[KG + "sergei-lavrov"]["classes"] == "Person"
    derived = [e for e in document["elements"]["edges"] if e["classes"] == "derived"]
    assert derived and all(e["data"]["kind"] == "derived" for e in derived)


def test_dot_keeps_curie_and_iri_nodes_apart_and_renders(graph: nx.MultiDiGraph) -> None:
    data = exports.export(graph, "dot", SAMPLE)
    parsed = pydot.graph_from_dot_data(data.decode("utf-8"))
    assert parsed is not None
    names = {n.get_name() for n in parsed[0].get_nodes()} - {"node", "edge", "graph"}
    assert len(names) == graph.number_of_nodes()
    assert len(parsed[0].get_edges()) == graph.number_of_edges()
    assert "Gazançetsots Cathedral" in data.decode("utf-8")
    rendered = subprocess.run(["dot", "-Tsvg"], input=data, capture_output=True, check=False)
    assert rendered.returncode == 0, rendered.stderr


def test_dot_quotes_ids_with_colons_and_quotes() -> None:
    tricky = nx.MultiDiGraph()
    tricky.add_node("wd:Q399", label="Armenia", category="PoliticalEntity")
    tricky.add_node("wd:Q227", label='Azerbaijan "AZ"', category="PoliticalEntity")
    tricky.add_edge("wd:Q399", "wd:Q227", key="kgo:x", label="x", kind="asserted")
    parsed = pydot.graph_from_dot_data(exports.export(tricky, "dot", SAMPLE).decode("utf-8"))
    assert parsed is not None
    names = {n.get_name().strip('"') for n in parsed[0].get_nodes()} - {"node", "edge"}
    assert names == {"wd:Q399", "wd:Q227"}


def test_svg_and_png_are_drawn_by_graphviz(graph: nx.MultiDiGraph) -> None:
    svg = etree.fromstring(exports.export(graph, "svg", SAMPLE))
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    drawn = svg.findall(".//{http://www.w3.org/2000/svg}g[@class='node']")
    assert len(drawn) == graph.number_of_nodes()
    png = exports.export(graph, "png", SAMPLE)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_d3_node_link_reads_back(graph: nx.MultiDiGraph) -> None:
    document = json.loads(exports.export(graph, "d3", SAMPLE))
    assert set(document) >= {"nodes", "links"}
    back = json_graph.node_link_graph(document, edges="links")
    assert back.number_of_nodes() == graph.number_of_nodes()
    assert back.number_of_edges() == graph.number_of_edges()
    assert back.nodes[KG + "gazancetsots-cathedral"]["label"] == "Gazançetsots Cathedral"


def test_csv_zip_has_nodes_and_edges(graph: nx.MultiDiGraph) -> None:
    with zipfile.ZipFile(io.BytesIO(exports.export(graph, "csv", SAMPLE))) as archive:
        assert sorted(archive.namelist()) == ["edges.csv", "nodes.csv"]
        nodes = list(csv.DictReader(io.StringIO(archive.read("nodes.csv").decode("utf-8"))))
        edges = list(csv.DictReader(io.StringIO(archive.read("edges.csv").decode("utf-8"))))
    assert len(nodes) == graph.number_of_nodes()
    assert len(edges) == graph.number_of_edges()
    by_id = {row["id"]: row for row in nodes}
    assert by_id[KG + "nagorny"]["label"] == "нагорный"
    assert by_id[KG + "sergei-lavrov"]["wikidata"] == "Q40953"
    assert {row["kind"] for row in edges} == {"asserted", "derived"}
    assert {(r["source"], r["relation"], r["target"]) for r in edges} == {
        (s, d["relation"], t) for s, t, d in graph.edges(data=True)
    }


@pytest.mark.parametrize(
    ("fmt", "rdf_format"), [("ttl", "turtle"), ("nt", "nt"), ("jsonld", "json-ld")]
)
def test_rdf_exports_parse_with_rdflib(graph: nx.MultiDiGraph, fmt: str, rdf_format: str) -> None:
    parsed = rdflib.Graph().parse(data=exports.export(graph, fmt, SAMPLE), format=rdf_format)
    edges = {(str(s), str(p), str(o)) for s, p, o in parsed if isinstance(o, rdflib.URIRef)}
    assert edge_triples(graph) <= edges
    labels = {str(s): str(o) for s, o in parsed.subject_objects(rdflib.RDFS.label)}
    for iri, label in UTF8_LABELS.items():
        assert labels[iri] == label
    assert (
        rdflib.URIRef(KG + "sergei-lavrov"),
        rdflib.SKOS.exactMatch,
        rdflib.URIRef("http://www.wikidata.org/entity/Q40953"),
    ) in parsed
    assert (
        rdflib.URIRef(KG + "sergei-lavrov"),
        rdflib.RDF.type,
        rdflib.URIRef(KGO + "Person"),
    ) in parsed


XSD = "http://www.w3.org/2001/XMLSchema#"


@pytest.fixture(scope="module")
def stored_terms(kg: KnowledgeGraph) -> set[tuple[rdflib.term.Node, ...]]:
    """The asserted and inferred triples, read back by rdflib from an N-Triples dump of
    each of the two graphs (the other graphs of the store are left out of the dump: rdflib
    reading all of them took most of this module's time)."""
    graph = rdflib.Graph()
    for name in (ASSERTED, INFERRED):
        graph.parse(data=kg.store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=name), format="nt")
    return set(graph)


@pytest.mark.parametrize(
    ("fmt", "rdf_format"),
    [("ttl", "turtle"), ("nt", "nt"), ("rdf", "xml"), ("jsonld", "json-ld")],
)
def test_rdf_exports_keep_every_term_as_stored(
    kg: KnowledgeGraph,
    curated_projection: nx.MultiDiGraph,
    stored_terms: set[tuple[rdflib.term.Node, ...]],
    fmt: str,
    rdf_format: str,
) -> None:
    """Datatypes and language tags survive: the export is a subset of the store, term for term."""
    full = curated_projection
    exported = {
        (s, p, o)
        for s, p, o in rdflib.Graph().parse(data=exports.export(full, fmt, kg), format=rdf_format)
    }
    assert exported <= stored_terms
    declaration = rdflib.URIRef(KG + "nagorno-karabakh-republic-declaration-1991")
    # graph/data/background.trig: kgo:date "1991"^^xsd:gYear (a year, not an xsd:date)
    assert (
        declaration,
        rdflib.URIRef(KGO + "date"),
        rdflib.Literal("1991", datatype=rdflib.URIRef(XSD + "gYear")),
    ) in exported
    # kgo:date "2008-08"^^xsd:gYearMonth (line 71: "in August 2008"), a month
    assert (
        rdflib.URIRef(KG + "russia-georgia-war-2008"),
        rdflib.URIRef(KGO + "date"),
        rdflib.Literal("2008-08", datatype=rdflib.URIRef(XSD + "gYearMonth")),
    ) in exported
    # graph/data/events-2020.trig: rdfs:label "Baku"@en (the tag kept)
    assert (
        rdflib.URIRef(KG + "baku"),
        rdflib.RDFS.label,
        rdflib.Literal("Baku", lang="en"),
    ) in exported
    assert edge_triples(full) <= {(str(s), str(p), str(o)) for s, p, o in exported}


def test_flatten_makes_every_value_scalar() -> None:
    tricky = nx.MultiDiGraph()
    tricky.add_node("a", label="A", types=["kgo:X", "kgo:Y"], missing=None, empty=[])
    tricky.add_edge("a", "a", key="k", quotes=["one", "two"], lines=[1, 2], extra={"x": 1})
    flat = exports.flatten(tricky)
    assert flat.nodes["a"] == {"label": "A", "types": "kgo:X | kgo:Y"}
    assert flat.edges["a", "a", "k"] == {
        "quotes": "one | two",
        "lines": "1 | 2",
        "extra": '{"x": 1}',
    }
    # The networkx writers accept the result.
    nx.write_graphml(flat, io.BytesIO())
    nx.write_gexf(flat, io.BytesIO())


def test_graphviz_failure_is_an_export_error(
    graph: nx.MultiDiGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports.shutil, "which", lambda name: None)
    with pytest.raises(exports.ExportError, match="graphviz"):
        exports.export(graph, "svg", SAMPLE)


def test_exports_of_the_curated_graph_are_reproducible_across_processes(tmp_path: Path) -> None:
    """Two runs of the command give byte-identical files (edge quotes in seed order): the
    first reasons and fills an empty start-up cache, the second reads the store back from
    it, in another order of quads (a node's dates, statuses and claimants must not follow
    that order)."""
    cache = ["--cache-dir", str(tmp_path / "cache")]
    runs = [
        subprocess.run(
            [sys.executable, "-m", "karabakh_kg.server", *cache, "export", "--format", "graphml"],
            capture_output=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout
        for seed in (1, 2)
    ]
    assert runs[0] and runs[0] == runs[1]
