"""Hostile and odd requests to the pages and JSON routes: bounded work, one error shape,
HEAD everywhere (issue 13)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from karabakh_kg.graph.dataset import KnowledgeGraph
from karabakh_kg.server.app import create_app


@pytest.fixture(scope="module")
def client(kg: KnowledgeGraph) -> Iterator[TestClient]:
    with TestClient(create_app(kg), raise_server_exceptions=False) as test_client:
        yield test_client


SAMPLE_PATH_VALUES = {"name": "sergei-lavrov", "fmt": "d3", "graph": "asserted"}


def test_every_documented_get_route_also_answers_head(client: TestClient) -> None:
    """RFC 9110 9.3.2: a server that answers GET answers HEAD (never 405)."""
    paths = client.get("/openapi.json").json()["paths"]
    refused = []
    for template, operations in paths.items():
        if "get" not in operations:
            continue
        path = template.format_map(SAMPLE_PATH_VALUES)
        if client.head(path).status_code == 405:
            refused.append(template)
    assert len(paths) > 10 and refused == []


@pytest.mark.parametrize(
    "path",
    [
        "/explorer",
        "/metrics",
        "/graph/components",
        "/graph/lookup?name=Lavrov",
        "/graph/centrality?top=3",
        "/export/d3",
        "/resource/sergei-lavrov",
        "/docs",
    ],
)
def test_head_gives_the_get_status_and_headers_without_a_body(
    client: TestClient, path: str
) -> None:
    got = client.get(path)
    head = client.head(path)
    assert got.status_code == head.status_code == 200
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.content == b""


PROBLEM = "application/problem+json; charset=utf-8"


def _is_problem(response: object, status: int) -> dict[str, object]:
    """The RFC 9457 document of an error response, checked for the server's one shape."""
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == PROBLEM  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status and body["detail"] and body["code"]
    assert str(body["type"]).endswith("#" + str(body["code"]))
    return body


@pytest.mark.parametrize("name", ["%25", "%ff%fe", "%00", "a%20b", "%3Cscript%3E", "x%0Ay"])
@pytest.mark.parametrize("page", ["resource", "evidence"])
def test_names_that_cannot_be_iris_are_404_problems_not_500(
    client: TestClient, page: str, name: str
) -> None:
    response = client.get(f"/{page}/{name}", headers={"Accept": "application/json"})
    body = _is_problem(response, 404)
    assert body["code"] == "unknown-resource"
    assert "Traceback" not in response.text and "/work/" not in response.text


def test_an_odd_name_gets_an_html_404_page_in_a_browser(client: TestClient) -> None:
    response = client.get("/resource/a%20b", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("accept", "page"),
    [
        (None, True),  # no header: a person typing the address into a bare client
        ("*/*", True),
        ("application/json", False),
        ("text/html;q=0.5, application/json", False),
        ("text/html, application/json", True),  # a tie goes to the page
        ("application/json;q=0.5, */*", True),
    ],
)
def test_a_page_error_is_a_page_or_a_problem_as_the_accept_header_asks(
    client: TestClient, accept: str | None, page: bool
) -> None:
    request = client.build_request("GET", "/explain?s=kg:sergei-lavrov")  # p and o missing
    if accept is None:
        del request.headers["accept"]
    else:
        request.headers["accept"] = accept
    response = client.send(request)
    assert response.status_code == 400
    kind = response.headers["content-type"]
    assert kind.startswith("text/html" if page else "application/problem+json"), kind


LONG = "a" * 20_000


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (f"/resource/{LONG}", {}),
        (f"/evidence/{LONG}", {}),
        ("/graph/lookup", {"name": LONG}),
        ("/graph/search", {"q": LONG}),
        ("/graph/neighbours", {"node": LONG}),
        ("/graph/path", {"from": "Lavrov", "to": LONG}),
        ("/graph/ego", {"node": LONG}),
        ("/export/d3", {"focus": LONG}),
        ("/export/d3", {"node": ["Lavrov", LONG]}),
    ],
)
def test_names_too_long_to_look_up_are_refused_with_414(
    client: TestClient, path: str, params: dict[str, object]
) -> None:
    response = client.get(path, params=params, headers={"Accept": "application/json"})
    body = _is_problem(response, 414)
    assert body["code"] == "name-too-long" and body["limit"] == 300


def test_a_typo_at_the_length_limit_still_gets_suggestions(client: TestClient) -> None:
    """Up to the limit, names are looked up and close matches suggested."""
    name = "sergei-lavrof"
    response = client.get(f"/resource/{name}", headers={"Accept": "application/json"})
    body = _is_problem(response, 404)
    assert body["suggestions"][0]["label"] == "Sergei Lavrov"  # type: ignore[index]
    padded = client.get("/graph/lookup", params={"name": "Lavrof" + " " * 294})
    assert _is_problem(padded, 404)["suggestions"][0]["label"] == "Sergei Lavrov"  # type: ignore[index]


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/graph/lookup", {"name": "Lavrof"}, 404, "unknown-entity"),
        ("/graph/lookup", {"name": "Ministry of Defence"}, 409, "ambiguous-name"),
        ("/graph/neighbours", {"node": "Lavrov", "k": 9}, 400, "bad-parameter"),
        ("/export/docx", {}, 404, "unknown-format"),
        ("/resource/sergei-lavrov", {"format": "docx"}, 400, "unknown-format"),
        ("/explain", {"s": "kg:armenia"}, 400, "missing-parameter"),
    ],
)
def test_json_errors_of_pages_and_graph_routes_are_problem_documents(
    client: TestClient, path: str, params: dict[str, object], status: int, code: str
) -> None:
    response = client.get(path, params=params, headers={"Accept": "application/json"})
    assert _is_problem(response, status)["code"] == code


def test_explain_reads_curies_as_the_command_line_does(client: TestClient) -> None:
    """Armenia negotiatedWith Azerbaijan is derived (their ministers' talks in Moscow)."""
    for s, p, o in [
        ("kg:armenia", "kgo:negotiatedWith", "kg:azerbaijan"),
        ("Armenia", "kgo:negotiatedWith", "Azerbaijan"),
        (
            "<https://w3id.org/karabakh-kg/resource/armenia>",
            "https://w3id.org/karabakh-kg/ontology#negotiatedWith",
            "kg:azerbaijan",
        ),
    ]:
        response = client.get(
            "/explain", params={"s": s, "p": p, "o": o}, headers={"Accept": "application/json"}
        )
        assert response.status_code == 200, (s, p, o, response.text)
        assert response.json()["status"] == "derived"
    unknown = client.get(
        "/explain",
        params={"s": "kg:armenia", "p": "kgo:negotiatedWith", "o": "Lavrof"},
        headers={"Accept": "application/json"},
    )
    assert _is_problem(unknown, 400)["code"] == "bad-term"
    for predicate in ('"negotiated with"', "_:b0"):  # no predicate can be a literal or blank
        refused = client.get(
            "/explain",
            params={"s": "kg:armenia", "p": predicate, "o": "kg:azerbaijan"},
            headers={"Accept": "application/json"},
        )
        assert "a predicate is an IRI" in _is_problem(refused, 400)["detail"]
    absent = client.get(
        "/explain",
        params={"s": "kg:armenia", "p": "kgo:metWith", "o": "kg:moscow"},
        headers={"Accept": "application/json"},
    )
    assert _is_problem(absent, 404)["code"] == "not-entailed"


@pytest.mark.parametrize(
    "path",
    [
        "/resource/sergei-lavrov",
        "/resource/sergei-lavrov.ttl",
        "/ontology",
        "/rdf-graphs/service?default",
        "/sparql?query=ASK%20%7B%7D",
    ],
)
def test_if_none_match_follows_rfc_9110(client: TestClient, path: str) -> None:
    """13.1.2: weak comparison, a list of tags, and ``*`` for any current representation."""
    etag = client.get(path).headers["etag"]
    assert etag.startswith('"')
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = client.get(path, headers={"If-None-Match": header})
        assert again.status_code == 304, header
        assert again.headers["etag"] == etag and again.content == b""
    for header in ('"other"', f'"x{etag[1:]}'):
        assert client.get(path, headers={"If-None-Match": header}).status_code == 200


@pytest.mark.parametrize(
    ("path", "accept", "location", "vary"),
    [
        ("/resource/sergei-lavrov", "text/turtle", "/resource/sergei-lavrov.ttl", True),
        ("/resource/sergei-lavrov", "text/html", "/resource/sergei-lavrov.html", True),
        ("/resource/sergei-lavrov.nt", "text/turtle", "/resource/sergei-lavrov.nt", False),
        ("/ontology", "application/ld+json", "/ontology.jsonld", True),
        ("/evidence/L37-mnatsakanyan-lavrov-meeting", "application/n-quads",
         "/evidence/L37-mnatsakanyan-lavrov-meeting.nq", True),
    ],
)  # fmt: skip
def test_a_304_carries_the_headers_its_200_would(
    client: TestClient, path: str, accept: str, location: str, vary: bool
) -> None:
    """RFC 9110, 15.4.5: a 304 carries the Content-Location, ETag and Vary a 200 would."""
    first = client.get(path, headers={"Accept": accept})
    assert first.status_code == 200 and first.headers["content-location"] == location
    again = client.get(path, headers={"Accept": accept, "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    for name in ("etag", "content-location"):
        assert again.headers[name] == first.headers[name]
    assert again.headers.get("vary") == first.headers.get("vary")
    assert ("Accept" in again.headers.get("vary", "")) is vary


def test_star_does_not_turn_an_unknown_resource_into_304(client: TestClient) -> None:
    response = client.get("/resource/no-such-thing", headers={"If-None-Match": "*"})
    assert response.status_code == 404


def test_drawings_of_the_whole_graph_are_refused_not_left_to_run(client: TestClient) -> None:
    """Graphviz needs more than a minute for the whole graph: the route refuses at once."""
    for fmt in ("png", "svg"):
        body = _is_problem(client.get(f"/export/{fmt}"), 400)
        assert body["code"] == "too-large-to-draw" and body["limit"] == 300
    drawn = client.get("/export/svg", params={"network": "person"})
    assert drawn.status_code == 200 and drawn.headers["content-type"] == "image/svg+xml"
    assert client.get("/export/dot").status_code == 200  # the text format is not limited


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("*/*", "text/html"),
        ("application/xhtml+xml", "text/html"),
        ("text/html;q=0.5, text/turtle", "text/turtle"),
        ("text/html;q=0, */*", "text/turtle"),
        ("text/n3", "text/turtle"),  # N3 readers read Turtle (SPARQLWrapper's N3)
        ("application/json", "application/ld+json"),
        ("application/rdf+xml;q=0.9, application/n-triples", "application/n-triples"),
    ],
)
def test_resource_negotiation_is_the_servers_one_negotiation(
    client: TestClient, accept: str, media: str
) -> None:
    response = client.get("/resource/sergei-lavrov", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    assert "Accept" in response.headers["vary"]


def test_openapi_states_the_name_limit_and_its_status(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, name in [
        ("/graph/lookup", "name"),
        ("/graph/path", "to"),
        ("/export/{fmt}", "focus"),
    ]:
        operation = paths[path]["get"]
        schema = next(p["schema"] for p in operation["parameters"] if p["name"] == name)
        assert schema["maxLength"] == 300, (path, name)
        assert "414" in operation["responses"], path


def test_every_page_of_the_navigation_bar_answers(client: TestClient) -> None:
    home = client.get("/", headers={"Accept": "text/html"})
    bar = home.text.split("<nav", 1)[1].split("</nav>", 1)[0]
    links = re.findall(r'href="(/[^"]*)"', bar)
    assert {"/query", "/explorer", "/timeline", "/map", "/disputes", "/docs"} <= set(links)
    for link in links:
        page = client.get(link, headers={"Accept": "text/html"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_requests_during_an_updates_reasoning_are_answered(kg: KnowledgeGraph) -> None:
    """While an update's reasoning runs, the knowledge graph's store is a recording
    stand-in that every other request reads through: /health counted it (``len``) and
    answered 500. It answers as before, with the store's count."""
    from karabakh_kg.graph.store.contributions import recording

    real = kg.store
    fresh = TestClient(create_app(kg))  # no lifespan: no workers, so the store stays as it is
    with recording(kg):
        health = fresh.get("/health")
        assert health.status_code == 200, health.text
        assert health.json()["quads"] == len(real)
        page = fresh.get("/resource/sergei-lavrov", headers={"Accept": "text/turtle"})
        assert page.status_code == 200 and "Lavrov" in page.text
    assert kg.store is real
