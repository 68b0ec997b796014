"""The one registry of serialisations: W3C format IRIs, the names clients use, what is offered."""

from __future__ import annotations

import httpx
import pyoxigraph as ox
import pytest

from karabakh_kg.graph import formats

# The W3C list "Unique URIs for File Formats" (https://www.w3.org/ns/formats/).
W3C = "http://www.w3.org/ns/formats/"
EXPECTED_IRIS = {
    "json": W3C + "SPARQL_Results_JSON",
    "xml": W3C + "SPARQL_Results_XML",
    "csv": W3C + "SPARQL_Results_CSV",
    "tsv": W3C + "SPARQL_Results_TSV",
    "turtle": W3C + "Turtle",
    "ntriples": W3C + "N-Triples",
    "rdfxml": W3C + "RDF_XML",
    "jsonld": W3C + "JSON-LD",
    "trig": W3C + "TriG",
    "nquads": W3C + "N-Quads",
}


def test_each_format_has_its_w3c_iri() -> None:
    assert {f.name: f.iri for f in formats.ALL} == EXPECTED_IRIS


@pytest.mark.parametrize(
    ("wanted", "name"),
    [
        ("ttl", "turtle"),
        ("text/turtle", "turtle"),
        ("TURTLE", "turtle"),
        ("nt", "ntriples"),
        ("text/plain", "ntriples"),
        ("rdf", "rdfxml"),
        ("nq", "nquads"),
        ("application/sparql-results+json", "json"),
        ("srx", "xml"),
        ("text/tab-separated-values", "tsv"),
    ],
)
def test_names_media_types_and_extensions_find_the_format(wanted: str, name: str) -> None:
    assert formats.get(wanted).name == name


def test_an_unknown_name_lists_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown format 'n3'.*turtle"):
        formats.get("n3")


def test_media_types_have_no_parameters_and_content_types_say_utf8() -> None:
    # pyoxigraph gives "text/csv; charset=utf-8"; the registry keeps the bare type.
    assert formats.get("csv").media_type == "text/csv"
    assert formats.get("csv").content_type == "text/csv; charset=utf-8"


def test_the_service_description_lists_every_format_by_its_iri(live_server: object) -> None:
    url = live_server.url  # type: ignore[attr-defined]
    response = httpx.get(f"{url}/sparql", headers={"Accept": "text/turtle"}, timeout=30)
    assert response.status_code == 200
    store = ox.Store()
    store.load(response.content, format=ox.RdfFormat.TURTLE)
    listed = {
        row["f"].value
        for row in store.query(
            "PREFIX sd: <http://www.w3.org/ns/sparql-service-description#> "
            "SELECT ?f WHERE { ?s sd:resultFormat ?f }"
        )
    }
    assert listed == set(EXPECTED_IRIS.values())


def test_the_service_description_says_what_each_system_graph_holds(live_server: object) -> None:
    """The descriptions come from the ontology file, where the system graphs are described."""
    import rdflib

    from karabakh_kg.ontology import vocab

    ontology = rdflib.Graph().parse(vocab.ontology_file(), format="turtle")
    url = live_server.url  # type: ignore[attr-defined]
    response = httpx.get(f"{url}/sparql", headers={"Accept": "text/turtle"}, timeout=30)
    described = rdflib.Graph().parse(data=response.content, format="turtle")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    found = {}
    for named in described.subjects(sd.name, None):
        name = described.value(named, sd.name)
        note = described.value(named, rdflib.namespace.DCTERMS.description)
        if note is not None:
            found[str(name)] = str(note)
    expected = {
        str(g): str(d)
        for g, d in ontology.subject_objects(rdflib.namespace.DCTERMS.description)
        if str(g).startswith(vocab.BASE + "graph/")
    }
    assert len(expected) == 5
    assert {g: d for g, d in found.items() if g in expected} == {
        g: d for g, d in expected.items() if g in found
    }
    assert vocab.BASE + "graph/asserted" in found
