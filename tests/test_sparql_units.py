"""The endpoint's building blocks: result writers, the query scanner, conneg, settings."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest

from karabakh_kg.server.settings import Settings, SettingsError
from karabakh_kg.server.sparql.conneg import (
    GRAPH_FORMATS,
    RESULT_FORMATS,
    MalformedAccept,
    NotAcceptable,
    negotiate,
    negotiate_page,
)
from karabakh_kg.server.sparql.inspect import inspect
from karabakh_kg.server.sparql.protocol import LocalStore, QueryFailed, QueryJob
from karabakh_kg.server.sparql.results import WRITERS

XSD = "http://www.w3.org/2001/XMLSchema#"


@pytest.fixture(scope="module")
def store() -> ox.Store:
    store = ox.Store()
    a, p = ox.NamedNode("http://e/a"), ox.NamedNode("http://e/p")
    objects = [
        ox.Literal("Ղարաբաղ", language="hy"),
        ox.Literal('quote " and <tag> & tab\tnew\nline, comma'),
        ox.Literal("12", datatype=ox.NamedNode(XSD + "integer")),
        ox.BlankNode("b0"),
        ox.NamedNode("http://e/b?x=1&y=2"),
    ]
    store.extend(ox.Quad(a, p, o) for o in objects)
    return store


QUERY = "SELECT ?s ?o ?missing WHERE { ?s ?p ?o OPTIONAL { ?s <http://e/none> ?missing } }"


def ours(store: ox.Store, name: str) -> bytes:
    result = store.query(QUERY)
    variables = [v.value for v in result.variables]  # type: ignore[union-attr]
    return WRITERS[name](variables, [tuple(s) for s in result])  # type: ignore[union-attr]


def theirs(store: ox.Store, fmt: ox.QueryResultsFormat) -> bytes:
    return store.query(QUERY).serialize(format=fmt)  # type: ignore[union-attr, no-any-return]


def test_json_writer_matches_pyoxigraph(store: ox.Store) -> None:
    assert json.loads(ours(store, "json")) == json.loads(theirs(store, ox.QueryResultsFormat.JSON))


@pytest.mark.parametrize("name", ["xml", "tsv"])
def test_xml_and_tsv_writers_parse_back_to_the_same_solutions(store: ox.Store, name: str) -> None:
    fmt = ox.QueryResultsFormat.XML if name == "xml" else ox.QueryResultsFormat.TSV
    mine = ox.parse_query_results(ours(store, name), format=fmt)
    reference = ox.parse_query_results(theirs(store, fmt), format=fmt)
    assert [v.value for v in mine.variables] == [v.value for v in reference.variables]  # type: ignore[union-attr]
    assert [tuple(s) for s in mine] == [tuple(s) for s in reference]  # type: ignore[union-attr]


def test_csv_writer_matches_pyoxigraph(store: ox.Store) -> None:
    import csv
    import io

    def rows(data: bytes) -> list[list[str]]:
        return list(csv.reader(io.StringIO(data.decode())))

    mine, reference = rows(ours(store, "csv")), rows(theirs(store, ox.QueryResultsFormat.CSV))
    assert mine[0] == reference[0]
    # Blank node labels may differ; everything else is identical.
    assert sorted(r for r in mine[1:] if not r[1].startswith("_:")) == sorted(
        r for r in reference[1:] if not r[1].startswith("_:")
    )


def test_local_store_caps_rows(store: ox.Store) -> None:
    local = LocalStore(store)
    assert local.execute(QueryJob(QUERY, max_rows=5), timeout=5).form == "SELECT"
    with pytest.raises(QueryFailed) as failure:
        local.execute(QueryJob(QUERY, max_rows=4), timeout=5)
    assert failure.value.kind == "too-many-rows"
    with pytest.raises(QueryFailed) as syntax:
        local.execute(QueryJob("SELECT WHERE"), timeout=5)
    assert syntax.value.kind == "syntax" and "1:" in syntax.value.message


def test_scanner_finds_forms_dataset_clauses_and_depth() -> None:
    found = inspect(
        """PREFIX ex: <http://ex.org/>
        # FROM <http://in-a-comment/> ((((
        select * from <http://g/> where {
          ?s ?p "FROM <http://in-a-string/> {{{{" .
          ?s ex:p <http://iri/((> .
          OPTIONAL { ?s ?p ?o FILTER((?o > 1)) }
        }"""
    )
    assert found.form == "SELECT" and found.has_dataset_clause
    assert found.depth == 4  # { OPTIONAL { FILTER( ( : comments, strings and IRIs do not count
    assert inspect("PREFIX a: <http://a/> DELETE WHERE { ?s ?p ?o }").is_update
    assert inspect("CONSTRUCT WHERE { ?s ?p ?o }").returns_graph
    assert inspect("DESCRIBE <http://x>").returns_graph
    assert inspect("ASK {}").form == "ASK"
    assert inspect("SELECT ?from WHERE { ?s <p> ?from }").has_dataset_clause is False


def test_conneg_errors() -> None:
    with pytest.raises(NotAcceptable, match="Accept"):
        negotiate(RESULT_FORMATS, "not a media type;;", None)
    with pytest.raises(NotAcceptable, match="offered"):
        negotiate(RESULT_FORMATS, "image/png", None)
    assert negotiate(RESULT_FORMATS, "image/png", "csv").name == "csv"


def test_settings_from_environment() -> None:
    settings = Settings.from_env(
        {
            "KARABAKH_KG_QUERY_TIMEOUT": "2.5",
            "KARABAKH_KG_MAX_ROWS": "7",
            "KARABAKH_KG_SERVICE_ALLOWLIST": "http://a/sparql, http://b/*",
            "KARABAKH_KG_CORS_ORIGINS": "https://x.example",
        }
    )
    assert settings.query_timeout == 2.5 and settings.max_rows == 7
    assert settings.service_allowed("http://a/sparql")
    assert settings.service_allowed("http://b/any/sparql")
    assert not settings.service_allowed("http://a/sparql/other")
    assert not Settings().service_allowed("http://a/sparql")
    assert settings.cors_origins == ("https://x.example",)
    with pytest.raises(SettingsError, match="KARABAKH_KG_MAX_ROWS"):
        Settings.from_env({"KARABAKH_KG_MAX_ROWS": "many"})
    with pytest.raises(SettingsError, match="exceeds"):
        Settings.from_env({"KARABAKH_KG_QUERY_TIMEOUT": "60"})


def test_pages_negotiate_html_beside_rdf_with_the_one_negotiation() -> None:
    """RFC 9110 q-values: HTML wins ties (a browser's */*), a client's RDF name is the
    endpoint's (SPARQLWrapper's rdf+xml), q=0 refuses HTML, a bad header is malformed."""
    rdf = tuple(f for f in GRAPH_FORMATS if f.extension in ("ttl", "rdf", "nt"))
    assert negotiate_page(rdf, None, None, html=True) is None
    assert negotiate_page(rdf, "text/html,*/*;q=0.8", None, html=True) is None
    assert negotiate_page(rdf, "*/*", None, html=True) is None
    chosen = negotiate_page(rdf, "text/turtle;q=0.9, text/html;q=0.5", None, html=True)
    assert chosen is not None and chosen.extension == "ttl"
    chosen = negotiate_page(rdf, "text/html;q=0, */*", None, html=True)
    assert chosen is not None and chosen.extension == "ttl"
    chosen = negotiate_page(rdf, None, "rdf+xml", html=True)
    assert chosen is not None and chosen.extension == "rdf"
    assert negotiate_page(rdf, None, "html", html=True) is None
    with pytest.raises(NotAcceptable):
        negotiate_page(rdf, None, "html", html=False)
    with pytest.raises(NotAcceptable):
        negotiate_page(rdf, "image/png", None, html=True)
    with pytest.raises(MalformedAccept):
        negotiate_page(rdf, "text", None, html=True)
