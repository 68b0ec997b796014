"""Perspectives over the curated graph, the CLI and HTTP; competency questions answered
from the article's words: which containments hold in the article's own perspective, which
conclusions rest on one side's statements only."""

from __future__ import annotations

from typing import Any

import httpx
import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

from karabakh_kg.graph import quotes
from karabakh_kg.graph.dataset import ASSERTED, INFERRED, KnowledgeGraph
from karabakh_kg.graph.reasoning import perspectives as views
from karabakh_kg.graph.reasoning.explain import explain
from karabakh_kg.ontology import vocab
from karabakh_kg.server.cli import app

KG, KGO = str(vocab.KG), str(vocab.KGO)
LACHIN_IN_NK = f"ASK {{ <{KG}lachin> <{KGO}locatedIn> <{KG}nagorno-karabakh> }}"
SHUSHA_IN_NK = f"ASK {{ <{KG}shusha> <{KGO}locatedIn> <{KG}nagorno-karabakh> }}"
ONE_SIDE = vocab.curated_data_dir().parent / "reasoning" / "queries" / "resting-on-one-side.rq"
runner = CliRunner()


def _in(kg: KnowledgeGraph, name: str, sparql: str) -> bool:
    return bool(views.view(kg, views.resolve(kg, name)).query(sparql))


# -- competency: containments in the article's own perspective ------------------------------


def test_lachin_lies_in_nagorno_karabakh_only_in_azars_words(kg: KnowledgeGraph) -> None:
    # line 27, Azar: "the cities of Shusha and Lacin (controlled by ethnic Armeni forces) in
    # Nagorno-Karabakh"; the article never places Lachin in the region in its own voice
    why = explain(kg, KG + "lachin", KGO + "locatedIn", KG + "nagorno-karabakh")
    said = [e for e in why.evidence if e.quote and "Shusha and Lacin" in e.quote]
    assert said and all(e.attributed_to == [f"<{KG}ilya-azar>"] for e in why.evidence)
    assert quotes.seed_text().count(said[0].quote) == 1
    assert kg.query(LACHIN_IN_NK)
    assert not _in(kg, "article", LACHIN_IN_NK)
    assert _in(kg, "kg:ilya-azar", LACHIN_IN_NK)
    assert _in(kg, "Ilya Azar", LACHIN_IN_NK)  # by label
    assert not _in(kg, "kg:armenia", LACHIN_IN_NK)


def test_shusha_lies_in_nagorno_karabakh_in_the_articles_own_words(kg: KnowledgeGraph) -> None:
    # line 9, the article itself: "the historic Gazançetsots Cathedral in Shusha, Nagorno-Karabakh"
    assert "Gazançetsots Cathedral in Shusha, Nagorno-Karabakh" in quotes.seed_text()
    assert _in(kg, "article", SHUSHA_IN_NK)
    assert _in(
        kg,
        "article",
        f"ASK {{ <{KG}gazanchetsots-cathedral> <{KGO}locatedIn> <{KG}nagorno-karabakh> }}",
    )


def test_nothing_is_located_through_a_claimed_containment_in_the_article(
    kg: KnowledgeGraph,
) -> None:
    through_lachin = (
        f"ASK {{ ?x <{KGO}locatedIn>|<{KGO}location> <{KG}lachin> ; "
        f"<{KGO}locatedIn>|<{KGO}location> <{KG}nagorno-karabakh> }}"
    )
    assert not _in(kg, "article", through_lachin)
    article = views.view(kg, views.resolve(kg, "article"))
    # every containment in the region the article's perspective holds rests on units in the
    # article's own voice
    rows = article.query(f"SELECT ?x WHERE {{ ?x <{KGO}locatedIn> <{KG}nagorno-karabakh> }}")
    for row in rows:
        assert views.holds(
            kg,
            views.resolve(kg, "article"),
            row[0].value,
            KGO + "locatedIn",
            KG + "nagorno-karabakh",
        )


# -- competency: which conclusions rest on one side's statements only ----------------------


def _one_side(kg: KnowledgeGraph) -> set[tuple[Any, ...]]:
    rows = kg.query(ONE_SIDE.read_text(encoding="utf-8"))
    return {tuple(row) for row in rows}


def test_macrons_calls_rest_on_the_presidents_office_alone(kg: KnowledgeGraph) -> None:
    # line 33: "the president’s office said in a statement that Macron had spoken with ...
    # Pashinyan": the calls stand on that office's word only
    found = _one_side(kg)
    office = KG + "presidents-office-line-33"
    said = (office, KG + "nikol-pashinyan", KGO + "communicatedWith", KG + "emmanuel-macron")
    assert tuple(ox.NamedNode(x) for x in said) in found
    assert "the president’s office said in a statement" in quotes.seed_text()
    # the ministers' Moscow negotiation is the article's own statement (line 1: "met")
    assert not any(
        s.value == KG + "azerbaijan"
        and p.value == KGO + "negotiatedWith"
        and o.value == KG + "armenia"
        for _, s, p, o in found
    )
    # each answer holds in its side's perspective and not in the article's
    article = views.resolve(kg, "article")
    for side, s, p, o in sorted(found, key=str)[:60]:
        assert views.holds(kg, views.resolve(kg, side.value), s, p, o)
        assert not views.holds(kg, article, s, p, o)


def test_single_claimant_matches_the_query(kg: KnowledgeGraph) -> None:
    from karabakh_kg.graph.reasoning import reasoner

    r = reasoner(kg)
    t = r.lookup(
        *(views_terms(KG + "nikol-pashinyan", KGO + "communicatedWith", KG + "emmanuel-macron"))
    )
    assert t is not None
    assert r.perspectives.single_claimant(r.support.of[t]) == KG + "presidents-office-line-33"
    t = r.lookup(*(views_terms(KG + "azerbaijan", KGO + "negotiatedWith", KG + "armenia")))
    assert t is not None and r.perspectives.single_claimant(r.support.of[t]) is None


def views_terms(*iris: str) -> list[Any]:
    return [ox.NamedNode(i) for i in iris]


# -- CLI ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _cli_uses_the_session_graph(request: pytest.FixtureRequest, monkeypatch: Any) -> None:
    """The CLI commands run in-process on the session's graph instead of loading it again."""
    if not request.node.name.startswith("test_cli"):
        return
    kg = request.getfixturevalue("kg")
    for module in ("data", "graph"):
        monkeypatch.setattr(f"karabakh_kg.server.cli.{module}.load_graph", lambda *a, **k: kg)


def test_cli_query_in_a_perspective() -> None:
    answer = runner.invoke(
        app, ["query", "--format", "json", "--perspective", "article", LACHIN_IN_NK]
    )
    assert answer.exit_code == 0, answer.output
    assert '"boolean":false' in answer.output.replace(" ", "")
    answer = runner.invoke(app, ["query", "--format", "json", "-P", "kg:ilya-azar", LACHIN_IN_NK])
    assert '"boolean":true' in answer.output.replace(" ", "")


def test_cli_unknown_perspective_is_one_line() -> None:
    answer = runner.invoke(app, ["query", "--perspective", "kg:nobody", LACHIN_IN_NK])
    assert answer.exit_code != 0
    lines = answer.output.strip().splitlines()
    assert len(lines) == 1 and "unknown perspective 'kg:nobody'" in lines[0]
    assert "Traceback" not in answer.output


def test_cli_path_and_network_accept_a_perspective() -> None:
    both = runner.invoke(app, ["network", "--format", "json", "--perspective", "article"])
    assert both.exit_code == 0, both.output
    offices = runner.invoke(
        app, ["path", "kg:emmanuel-macron", "kg:nikol-pashinyan", "--perspective", "article"]
    )
    said = runner.invoke(
        app,
        ["path", "kg:emmanuel-macron", "kg:nikol-pashinyan", "-P", "kg:presidents-office-line-33"],
    )
    assert said.exit_code == 0, said.output
    assert "communicatedWith" in said.output or "spokeWith" in said.output
    assert "communicatedWith" not in offices.output and "spokeWith" not in offices.output


def test_cli_lists_the_perspectives() -> None:
    answer = runner.invoke(app, ["perspectives"])
    assert answer.exit_code == 0
    names = [line.split()[0] for line in answer.output.splitlines()[2:] if line.strip()]
    assert names[:3] == ["all", "curated", "article"] and "kg:ilya-azar" in names


# -- HTTP -------------------------------------------------------------------------------------


def _ask(url: str, query: str, **params: Any) -> httpx.Response:
    return httpx.get(url + "/sparql", params={"query": query, **params}, timeout=60)


def test_sparql_perspective_get_and_post(live_server: Any) -> None:
    url = live_server.url
    assert _ask(url, LACHIN_IN_NK).json()["boolean"] is True
    assert _ask(url, LACHIN_IN_NK, perspective="article").json()["boolean"] is False
    assert _ask(url, LACHIN_IN_NK, perspective="kg:ilya-azar").json()["boolean"] is True
    form = httpx.post(
        url + "/sparql", data={"query": LACHIN_IN_NK, "perspective": "article"}, timeout=60
    )
    assert form.status_code == 200 and form.json()["boolean"] is False
    direct = httpx.post(
        url + "/sparql",
        params={"perspective": "article"},
        content=LACHIN_IN_NK,
        headers={"content-type": "application/sparql-query"},
        timeout=60,
    )
    assert direct.status_code == 200 and direct.json()["boolean"] is False
    tags = {_ask(url, LACHIN_IN_NK, perspective=p).headers["etag"] for p in ("all", "article")}
    assert len(tags) == 2


def test_sparql_perspective_sees_only_its_evidence_graphs(live_server: Any) -> None:
    named = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    rows = _ask(live_server.url, named, perspective="article").json()["results"]["bindings"]
    graphs = {row["g"]["value"] for row in rows}
    assert str(vocab.KGE) + "L27-azar-reason-shusha-lachin" not in graphs
    assert INFERRED.value not in graphs and ASSERTED.value not in graphs
    assert any(g.startswith(str(vocab.KGE) + "L1-") for g in graphs)


def test_sparql_unknown_perspective_is_a_400_naming_it(live_server: Any) -> None:
    bad = _ask(live_server.url, LACHIN_IN_NK, perspective="kg:nobody")
    assert bad.status_code == 400
    assert "kg:nobody" in bad.json()["detail"] and "article" in bad.json()["detail"]
    mixed = _ask(
        live_server.url,
        LACHIN_IN_NK,
        perspective="article",
        **{"default-graph-uri": ASSERTED.value},
    )
    assert mixed.status_code == 400 and "perspective" in mixed.json()["detail"]


@pytest.mark.parametrize("name", ["all", "article", "kg:ilya-azar"])
def test_perspective_infer_false_keeps_only_its_asserted_triples(
    live_server: Any, name: str
) -> None:
    derived = f"ASK {{ <{KG}shusha> a <{KGO}Place> }}"  # derived from kgo:City
    assert _ask(live_server.url, derived, perspective=name).json()["boolean"] is True
    assert (
        _ask(live_server.url, derived, perspective=name, infer="false").json()["boolean"] is False
    )


def test_the_service_description_lists_the_perspectives(live_server: Any) -> None:
    answer = httpx.get(live_server.url + "/sparql", headers={"accept": "text/turtle"}, timeout=60)
    assert answer.status_code == 200
    triples = list(ox.parse(answer.content, format=ox.RdfFormat.TURTLE))
    named = {
        t.object.value
        for t in triples
        if t.predicate.value == "http://www.w3.org/2000/01/rdf-schema#label"
        and any(u.subject == t.subject and u.object.value == KGO + "Perspective" for u in triples)
    }
    assert {"all", "article", "kg:ilya-azar", "kg:presidents-office-line-33"} <= named


def test_cli_export_in_a_perspective(tmp_path: Any) -> None:
    edges = {}
    for name in ("kg:presidents-office-line-33", "article"):
        target = tmp_path / f"{name.replace(':', '-')}.json"
        answer = runner.invoke(
            app,
            ["export", "-f", "d3", "--focus", "kg:nikol-pashinyan", "-o", str(target), "-P", name],
        )
        assert answer.exit_code == 0, answer.output
        edges[name] = target.read_text(encoding="utf-8")
    assert "Emmanuel Macron" in edges["kg:presidents-office-line-33"]
    assert "Emmanuel Macron" not in edges["article"]


def test_http_export_and_graph_routes_take_a_perspective(live_server: Any) -> None:
    url = live_server.url
    said = httpx.get(
        url + "/export/d3",
        params={"focus": "kg:nikol-pashinyan", "perspective": "kg:presidents-office-line-33"},
        timeout=60,
    )
    article = httpx.get(
        url + "/export/d3",
        params={"focus": "kg:nikol-pashinyan", "perspective": "article"},
        timeout=60,
    )
    assert said.status_code == article.status_code == 200
    assert "Emmanuel Macron" in said.text and "Emmanuel Macron" not in article.text
    bad = httpx.get(
        url + "/graph/neighbours",
        params={"node": "kg:nikol-pashinyan", "perspective": "kg:nobody"},
        timeout=60,
    )
    assert bad.status_code == 400 and "kg:nobody" in bad.json()["detail"]


def test_unknown_or_overlong_perspectives_are_refused_everywhere(live_server: Any) -> None:
    page = httpx.get(
        live_server.url + "/resource/lachin",
        params={"perspective": "kg:nobody"},
        headers={"accept": "text/html"},
        timeout=60,
    )
    assert page.status_code == 400 and "kg:nobody" in page.text
    long = _ask(live_server.url, LACHIN_IN_NK, perspective="x" * 5000)
    assert long.status_code == 400 and "characters" in long.json()["detail"]


def test_graph_routes_declare_and_apply_the_perspective(live_server: Any) -> None:
    spec = httpx.get(live_server.url + "/openapi.json", timeout=60).json()
    routes = [p for p in spec["paths"] if p.startswith(("/graph/", "/export/{"))]
    assert routes
    for path in routes:
        names = {p["name"] for p in spec["paths"][path]["get"].get("parameters", [])}
        assert "perspective" in names, path

    def neighbours(perspective: str) -> set[str]:
        got = httpx.get(
            live_server.url + "/graph/neighbours",
            params={"node": "kg:lachin", "perspective": perspective},
            timeout=60,
        )
        assert got.status_code == 200, got.text
        return {n["data"]["id"] for n in got.json()["elements"]["nodes"]}

    # line 27: only Ilya Azar places Lachin in Nagorno-Karabakh
    assert f"{KG}nagorno-karabakh" in neighbours("kg:ilya-azar")
    assert f"{KG}nagorno-karabakh" not in neighbours("article")
    bad = httpx.get(
        live_server.url + "/graph/neighbours",
        params={"node": "kg:lachin", "perspective": "kg:nobody"},
        timeout=60,
    )
    assert bad.status_code == 400 and bad.json()["code"] == "unknown-perspective"


def test_contributions_hold_in_all_and_stay_out_of_curated_and_the_sides(
    server_factory: Any,
) -> None:
    """What a contributor adds, and what reasoning derives from it, is part of ``all``;
    ``curated`` (every curated unit) and the article's and claimants' perspectives leave
    it out, while the curated facts still hold there."""
    from karabakh_kg.graph.loading import load_graph
    from karabakh_kg.server.settings import Settings

    token = "perspective-token-3c2a"
    live = server_factory(
        load_graph(),
        Settings(enable_updates=True, ephemeral_updates=True, update_tokens=(f"gil={token}",)),
    )
    added = httpx.post(
        live.url + "/sparql/update",
        content=f"INSERT DATA {{ <{KG}contributed-person> a <{KGO}Person> }}".encode(),
        headers={"Content-Type": "application/sparql-update", "Authorization": "Bearer " + token},
        timeout=60,
    )
    assert added.status_code == 200, added.text
    asserted = f"ASK {{ <{KG}contributed-person> a <{KGO}Person> }}"
    derived = f"ASK {{ <{KG}contributed-person> a <{KGO}Agent> }}"  # Person ⊑ Agent
    for query in (asserted, derived):
        assert _ask(live.url, query).json()["boolean"] is True
        for name in ("curated", "article", "kg:ilya-azar"):
            assert _ask(live.url, query, perspective=name).json()["boolean"] is False, name
    assert _ask(live.url, LACHIN_IN_NK, perspective="curated").json()["boolean"] is True
    named = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    rows = _ask(live.url, named, perspective="curated").json()["results"]["bindings"]
    graphs = {row["g"]["value"] for row in rows}
    assert not any("/graph/contributions/" in g for g in graphs)
    assert str(vocab.KGE) + "L27-azar-reason-shusha-lachin" in graphs
