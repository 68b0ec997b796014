"""Linked Data pages over real HTTP: HTML for people, RDF for clients, 404 suggestions."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from conftest import LiveServer, start_server, stop_server

from karabakh_kg.graph.dataset import ASSERTED, INFERRED, PROVENANCE, KnowledgeGraph
from karabakh_kg.ontology import vocab
from karabakh_kg.server.web.examples import EXAMPLES

KG = str(vocab.KG)
KGE = str(vocab.KGE)
KGO = str(vocab.KGO)
RDFS_LABEL = rdflib.RDFS.label

RDF_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
}


# -- picking real facts from the curated data -------------------------------------------------


def _rows(kg: KnowledgeGraph, sparql: str) -> list[dict[str, str]]:
    result = kg.query(vocab.sparql_prefixes() + sparql)
    assert isinstance(result, ox.QuerySolutions)
    names = [v.value for v in result.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in result]


@pytest.fixture(scope="module")
def quoted_fact(kg: KnowledgeGraph) -> dict[str, str]:
    """An asserted entity-to-entity fact with its evidence quote and line."""
    rows = _rows(
        kg,
        """SELECT ?s ?p ?o ?e ?quote ?line ?label WHERE {
          GRAPH ?e { ?s ?p ?o }
          ?e prov:value ?quote ; kgo:line ?line .
          ?s rdfs:label ?label .
          FILTER(isIRI(?o) && STRSTARTS(STR(?s), STR(kg:)) && STRSTARTS(STR(?o), STR(kg:)))
          FILTER(?p != rdf:type)
        } ORDER BY ?s ?p ?o LIMIT 1""",
    )
    assert rows, "the curated data has no quoted entity-to-entity fact"
    return rows[0]


@pytest.fixture(scope="module")
def derived_fact(kg: KnowledgeGraph) -> tuple[str, str, str]:
    """A derived entity-to-entity triple that no curator asserted."""
    for quad in kg.store.quads_for_pattern(None, None, None, INFERRED):
        s, p, o = quad.subject, quad.predicate, quad.object
        if (
            isinstance(s, ox.NamedNode)
            and isinstance(o, ox.NamedNode)
            and s.value.startswith(KG)
            and o.value.startswith(KG)
            and not any(True for _ in kg.store.quads_for_pattern(s, p, o, ASSERTED))
        ):
            return s.value, p.value, o.value
    pytest.fail("the reasoner derived no entity-to-entity triple")


def _name(iri: str) -> str:
    assert iri.startswith(KG), iri
    return iri[len(KG) :]


def _get(live: LiveServer, path: str, accept: str | None = None, **kw: object) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return httpx.get(live.url + path, headers=headers, timeout=10, **kw)  # type: ignore[arg-type]


# -- HTML -------------------------------------------------------------------------------------


def test_html_page_shows_label_types_facts_quotes_and_links(
    live_server: LiveServer, kg: KnowledgeGraph, quoted_fact: dict[str, str]
) -> None:
    name = _name(quoted_fact["s"])
    response = _get(live_server, f"/resource/{name}", "text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "Accept" in response.headers["vary"]
    page = response.text
    assert f"<h1>{html.escape(quoted_fact['label'], quote=False)}</h1>" in page
    assert html.escape(quoted_fact["quote"], quote=False) in page
    assert f"seed line {quoted_fact['line']}" in page
    evidence_path = "/evidence/" + quoted_fact["e"][len(KGE) :]
    assert f'href="{evidence_path}"' in page
    assert f'href="/resource/{_name(quoted_fact["o"])}"' in page
    assert f"/explorer?focus={quoted_fact['s']}" in page
    assert 'class="badge asserted"' in page
    # Every rdf:type of the entity is listed (by label), asserted or derived.
    for quad in kg.store.quads_for_pattern(
        ox.NamedNode(quoted_fact["s"]), ox.NamedNode(str(rdflib.RDF.type)), None, ASSERTED
    ):
        assert f'title="{quad.object.value}"' in page


def test_incoming_facts_and_neighbours_are_listed(
    live_server: LiveServer, quoted_fact: dict[str, str]
) -> None:
    page = _get(live_server, f"/resource/{_name(quoted_fact['o'])}", "text/html").text
    assert 'id="incoming"' in page
    assert f'href="/resource/{_name(quoted_fact["s"])}"' in page
    assert "Neighbours" in page


def test_derived_fact_is_marked_and_explained(
    live_server: LiveServer, derived_fact: tuple[str, str, str]
) -> None:
    s, p, o = derived_fact
    page = _get(live_server, f"/resource/{_name(s)}", "text/html").text
    assert 'class="badge derived"' in page
    links = [html.unescape(part.split('"', 1)[0]) for part in page.split('href="/explain?')[1:]]
    wanted = [q for q in links if parse_qs(q) == {"s": [s], "p": [p], "o": [f"<{o}>"]}]
    assert wanted, f"no explanation link for the derived triple {derived_fact}"
    explanation = _get(live_server, "/explain?" + wanted[0], "text/html")
    assert explanation.status_code == 200
    assert "derived" in explanation.text
    as_json = _get(live_server, "/explain?" + wanted[0], "application/json").json()
    assert as_json["status"] == "derived"
    assert as_json["premises"], "a derived triple has premises"


def test_wikidata_links_shown(live_server: LiveServer, kg: KnowledgeGraph) -> None:
    match = next(
        q
        for q in kg.store.quads_for_pattern(
            None, ox.NamedNode(str(rdflib.SKOS.exactMatch)), None, ASSERTED
        )
        if q.object.value.startswith(str(vocab.WD))
    )
    page = _get(live_server, f"/resource/{_name(match.subject.value)}", "text/html").text
    qid = match.object.value.rsplit("/", 1)[-1]
    assert f'href="{match.object.value}"' in page
    assert f"Wikidata {qid}" in page


# -- RDF by content negotiation ---------------------------------------------------------------


@pytest.mark.parametrize("media_type", sorted(RDF_TYPES))
def test_rdf_by_accept_parses_and_holds_the_facts(
    live_server: LiveServer, quoted_fact: dict[str, str], media_type: str
) -> None:
    name = _name(quoted_fact["s"])
    response = _get(live_server, f"/resource/{name}", media_type)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert "Accept" in response.headers["vary"]
    extension = response.headers["content-location"].rsplit(".", 1)[-1]
    assert response.headers["content-location"] == f"/resource/{name}.{extension}"
    graph = rdflib.Graph().parse(data=response.content, format=RDF_TYPES[media_type])
    s, p, o = (rdflib.URIRef(quoted_fact[k]) for k in "spo")
    assert (s, p, o) in graph
    assert (s, RDFS_LABEL, None) in graph
    # The fixed-format address gives the same graph, without Vary.
    fixed = _get(live_server, response.headers["content-location"])
    assert fixed.headers["content-type"].split(";")[0] == media_type
    assert "Accept" not in fixed.headers.get("vary", "")
    assert rdflib.Graph().parse(data=fixed.content, format=RDF_TYPES[media_type]).isomorphic(graph)


def test_q_values_decide(live_server: LiveServer, quoted_fact: dict[str, str]) -> None:
    path = f"/resource/{_name(quoted_fact['s'])}"
    turtle = _get(live_server, path, "text/html;q=0.5, text/turtle")
    assert turtle.headers["content-type"].startswith("text/turtle")
    browser = _get(live_server, path, "text/turtle;q=0.4, text/html")
    assert browser.headers["content-type"].startswith("text/html")
    by_param = _get(live_server, path + "?format=ntriples", "text/html")
    assert by_param.headers["content-type"].startswith("application/n-triples")


def test_rdf_of_a_resource_is_given_in_the_perspective_asked(live_server: LiveServer) -> None:
    """The page's perspective switch applies to its RDF too (it was ignored: every source's
    triples). Line 27: Shusha and "Lacin" "in Nagorno-Karabakh" are Azar's words, so the
    article's own voice does not place Lachin there; an unknown perspective and a bad
    ``infer=`` are refused as /sparql refuses them."""
    located = (
        rdflib.URIRef(KG + "lachin"),
        rdflib.URIRef(KGO + "locatedIn"),
        rdflib.URIRef(KG + "nagorno-karabakh"),
    )
    every = rdflib.Graph().parse(data=_get(live_server, "/resource/lachin.nt").content, format="nt")
    article = _get(live_server, "/resource/lachin.nt?perspective=article")
    assert article.status_code == 200, article.text[:200]
    in_article = rdflib.Graph().parse(data=article.content, format="nt")
    assert located in every and located not in in_article
    assert set(in_article) < set(every)
    unknown = _get(live_server, "/resource/lachin.nt?perspective=nobody")
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown-perspective"
    bad = _get(live_server, "/resource/lachin.nt?infer=perhaps")
    assert bad.status_code == 400 and "infer" in bad.json()["detail"]


def test_asserted_only_rdf_leaves_derived_triples_out(
    live_server: LiveServer, derived_fact: tuple[str, str, str]
) -> None:
    s, p, o = (rdflib.URIRef(x) for x in derived_fact)
    path = f"/resource/{_name(derived_fact[0])}.nt"
    with_inferred = rdflib.Graph().parse(data=_get(live_server, path).content, format="nt")
    asserted = rdflib.Graph().parse(
        data=_get(live_server, path + "?infer=false").content, format="nt"
    )
    assert (s, p, o) in with_inferred
    assert (s, p, o) not in asserted
    # two answers, two entity tags: one's tag must not revalidate the other (RFC 9110 8.8.3)
    tag = _get(live_server, path).headers["etag"]
    again = httpx.get(
        live_server.url + path + "?infer=false", headers={"If-None-Match": tag}, timeout=10
    )
    assert again.status_code == 200 and again.headers["etag"] != tag


def test_unacceptable_and_unknown_formats(
    live_server: LiveServer, quoted_fact: dict[str, str]
) -> None:
    path = f"/resource/{_name(quoted_fact['s'])}"
    refused = _get(live_server, path, "image/png")
    assert refused.status_code == 406
    assert "text/turtle" in refused.json()["detail"]
    unknown = _get(live_server, path + "?format=docx", "application/json")
    assert unknown.status_code == 400
    assert "docx" in unknown.json()["detail"]


def test_head_and_etag(live_server: LiveServer, quoted_fact: dict[str, str]) -> None:
    path = live_server.url + f"/resource/{_name(quoted_fact['s'])}.ttl"
    head = httpx.head(path, timeout=10)
    assert head.status_code == 200
    assert head.content == b""
    etag = head.headers["etag"]
    again = httpx.get(path, headers={"If-None-Match": etag}, timeout=10)
    assert again.status_code == 304


# -- 404 with suggestions ---------------------------------------------------------------------


def test_unknown_resource_suggests_close_matches(
    live_server: LiveServer, quoted_fact: dict[str, str]
) -> None:
    name = _name(quoted_fact["s"])
    typo = name[:-1] if len(name) > 4 else name + "x"
    page = _get(live_server, f"/resource/{typo}", "text/html")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert f'href="/resource/{name}"' in page.text
    as_json = _get(live_server, f"/resource/{typo}", "application/json")
    assert as_json.status_code == 404
    body = as_json.json()
    assert typo in body["detail"]
    assert quoted_fact["s"] in [s["iri"] for s in body["suggestions"]]


def test_unknown_evidence_is_404(live_server: LiveServer) -> None:
    response = _get(live_server, "/evidence/no-such-passage", "application/json")
    assert response.status_code == 404
    assert "no-such-passage" in response.json()["detail"]


# -- evidence and ontology --------------------------------------------------------------------


def test_evidence_page_quote_and_supported_triples(
    live_server: LiveServer, quoted_fact: dict[str, str]
) -> None:
    name = quoted_fact["e"][len(KGE) :]
    page = _get(live_server, f"/evidence/{name}", "text/html").text
    assert html.escape(quoted_fact["quote"], quote=False) in page
    assert f'href="/resource/{_name(quoted_fact["s"])}"' in page
    trig = _get(live_server, f"/evidence/{name}", "application/trig")
    assert trig.headers["content-type"].startswith("application/trig")
    dataset = rdflib.Dataset()
    dataset.parse(data=trig.content, format="trig")
    named = dataset.graph(rdflib.URIRef(quoted_fact["e"]))
    s, p, o = (rdflib.URIRef(quoted_fact[k]) for k in "spo")
    assert (s, p, o) in named
    quote = rdflib.Literal(quoted_fact["quote"])
    assert (rdflib.URIRef(quoted_fact["e"]), rdflib.PROV.value, quote) in dataset.default_graph


def test_ontology_html_and_rdf(live_server: LiveServer) -> None:
    page = _get(live_server, "/ontology", "text/html").text
    for term in ("Meeting", "Person", "negotiatedWith", "locatedIn"):
        assert f'id="{term}"' in page
    turtle = _get(live_server, "/ontology", "text/turtle")
    graph = rdflib.Graph().parse(data=turtle.content, format="turtle")
    assert (rdflib.URIRef(KGO + "Meeting"), rdflib.RDF.type, rdflib.OWL.Class) in graph
    jsonld = _get(live_server, "/ontology.jsonld")
    assert len(rdflib.Graph().parse(data=jsonld.content, format="json-ld")) == len(graph)
    redirect = httpx.get(live_server.url + "/ontology/Meeting", timeout=10)
    assert redirect.status_code == 303
    assert redirect.headers["location"] == "/ontology#Meeting"
    # a term the ontology does not define was sent to a fragment that is not there
    for term, status in (("NoSuchTerm", 404), ("%FF", 404), ("x" * 400, 414)):
        refused = httpx.get(
            f"{live_server.url}/ontology/{term}", headers={"Accept": "application/json"}
        )
        assert refused.status_code == status, (term, refused.text[:200])
        assert refused.headers["content-type"].startswith("application/problem+json")


# -- home and query pages ---------------------------------------------------------------------


def test_home_links_and_stats(live_server: LiveServer, kg: KnowledgeGraph) -> None:
    page = _get(live_server, "/", "text/html").text
    for href in ("/query", "/explorer", "/docs", "/ontology"):
        assert f'href="{href}"' in page
    asserted = sum(1 for _ in kg.store.quads_for_pattern(None, None, None, ASSERTED))
    assert f"<td>{asserted}</td>" in page
    assert kg.version[:12] in page


def test_query_page_is_offline_and_lists_examples(live_server: LiveServer) -> None:
    page = _get(live_server, "/query", "text/html").text
    assert "/static/vendor/yasgui/yasgui.min.js" in page
    for example in EXAMPLES:
        assert f'data-example="{example.id}"' in page
    for attribute in ('src="http', "src='http", 'href="http', "href='http", 'src="//'):
        assert attribute not in page
    for asset, media in (
        ("/static/vendor/yasgui/yasgui.min.js", "javascript"),
        ("/static/vendor/yasgui/yasgui.min.css", "text/css"),
        ("/static/query.js", "javascript"),
        ("/static/site.css", "text/css"),
    ):
        response = _get(live_server, asset)
        assert response.status_code == 200, asset
        assert media in response.headers["content-type"]


def test_explain_needs_a_triple(live_server: LiveServer) -> None:
    response = _get(live_server, "/explain?s=x", "application/json")
    assert response.status_code == 400
    assert "p, o" in response.json()["detail"]


# -- escaping and UTF-8, on a graph made for it ------------------------------------------------

HOSTILE = """
@prefix kgo: <https://w3id.org/karabakh-kg/ontology#> .
@prefix kg: <https://w3id.org/karabakh-kg/resource/> .
@prefix kge: <https://w3id.org/karabakh-kg/evidence/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
kge:L1-test {
    kg:armenia a kgo:State ; rdfs:label "Armenia <script>alert('x')</script>"@en ;
        skos:altLabel "Հայաստան"@hy , "Армения"@ru , "Ermənistan"@az .
    kg:yerevan kgo:locatedIn kg:armenia ; rdfs:label "Yerevan & \\"co\\""@en .
}
kge:L1-test prov:value "A quote with <b>markup</b> & ampersands" ; kgo:line 1 .
"""


@pytest.fixture(scope="module")
def hostile_server() -> Iterator[LiveServer]:
    from karabakh_kg.server.app import create_app

    store = ox.Store()
    for quad in ox.parse(HOSTILE, format=ox.RdfFormat.TRIG):
        if isinstance(quad.graph_name, ox.DefaultGraph):
            store.add(ox.Quad(quad.subject, quad.predicate, quad.object, PROVENANCE))
        else:
            store.add(quad)
            store.add(ox.Quad(quad.subject, quad.predicate, quad.object, ASSERTED))
    live = start_server(create_app(KnowledgeGraph(store=store, version="hostile")))
    yield live
    stop_server(live)


def test_labels_and_quotes_are_escaped(hostile_server: LiveServer) -> None:
    page = _get(hostile_server, "/resource/armenia", "text/html").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(" in page
    assert "<b>markup</b>" not in page
    assert "&lt;b&gt;markup&lt;/b&gt; &amp; ampersands" in page
    other = _get(hostile_server, "/resource/yerevan", "text/html").text
    assert "Yerevan &amp; &#34;co&#34;" in other or "Yerevan &amp; &quot;co&quot;" in other


def test_non_latin_labels_round_trip(hostile_server: LiveServer) -> None:
    page = _get(hostile_server, "/resource/armenia", "text/html")
    assert page.encoding == "utf-8"
    for label in ("Հայաստան", "Армения", "Ermənistan"):
        assert label in page.text
    for media_type, fmt in RDF_TYPES.items():
        data = _get(hostile_server, "/resource/armenia", media_type).content
        graph = rdflib.Graph().parse(data=data, format=fmt)
        assert rdflib.Literal("Հայաստան", lang="hy") in set(graph.objects()), media_type
    suggestions = _get(hostile_server, "/resource/armenai", "application/json").json()
    assert json.dumps(suggestions, ensure_ascii=False)
    assert urlparse(suggestions["suggestions"][0]["href"]).path == "/resource/armenia"
