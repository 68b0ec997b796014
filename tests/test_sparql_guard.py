"""SERVICE and LOAD never reach an address outside the allowlist, however they are written.

A local listener stands for the attacker's address: every bypass attempt must be refused
before any request is made, and the listener must see no connection.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pyoxigraph as ox
import pytest
from listeners import Listener

from karabakh_kg.graph.loading import load_graph
from karabakh_kg.ontology import vocab
from karabakh_kg.server.settings import Settings
from karabakh_kg.server.sparql import guard
from karabakh_kg.server.sparql.guard import Refusal, checked_text, parse

TOKEN = "guard-token-51c0"


@pytest.fixture(scope="module")
def evil() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.sock.close()


@pytest.fixture(scope="module")
def guarded(server_factory: Any, live_server: Any) -> Any:
    """A server that allows one real endpoint (the shared test server) and one prefix,
    over its own copy of the graph (it takes updates)."""
    settings = Settings(
        query_workers=1,
        service_allowlist=(live_server.url + "/sparql", "http://allowed.example*"),
        enable_updates=True,
        ephemeral_updates=True,
        update_token=TOKEN,
    )
    return server_factory(load_graph(), settings)


def bypasses(port: int) -> dict[str, str]:
    target = f"http://127.0.0.1:{port}/sparql"
    triple = "{ ?s ?p ?o }"
    return {
        "plain IRI": f"SELECT * WHERE {{ SERVICE <{target}> {triple} }}",
        "prefixed name": f"PREFIX e: <http://127.0.0.1:{port}/> "
        f"SELECT * WHERE {{ SERVICE e:sparql {triple} }}",
        "relative IRI with BASE": f"BASE <http://127.0.0.1:{port}/a/> "
        f"SELECT * WHERE {{ SERVICE <../sparql> {triple} }}",
        "variable bound by VALUES": f"SELECT * WHERE {{ VALUES ?e {{ <{target}> }} "
        f"SERVICE ?e {triple} }}",
        "variable, silent": "SELECT * WHERE { ?x kgo:homepage ?e SERVICE SILENT ?e { ?s ?p ?o } }",
        "nested in subquery, OPTIONAL, UNION": "SELECT * WHERE { { SELECT * WHERE { OPTIONAL { "
        f"SERVICE <{target}> {triple} }} }} }} UNION {{ ?a ?b ?c }} }}",
        "inside FILTER EXISTS": "ASK { ?a ?b ?c FILTER EXISTS { "
        f"SERVICE <{target}> {triple} }} }}",
        "lowercase": f"select * where {{ service silent <{target}> {triple} }}",
        "comments between tokens": f"SELECT * WHERE {{ SERVICE # where?\n SILENT #\n<{target}>"
        f" {triple} }}",
        "in a CONSTRUCT": f"CONSTRUCT WHERE {{ SERVICE <{target}> {triple} }}",
        # The token scanner alone read '#x> …' as a comment and missed this SERVICE.
        "escape then # in an IRI": "SELECT * WHERE { ?s ?p <http://a.example/\\u0041#x> . "
        f"SERVICE <{target}> {triple} }}",
        # A prefix entry must not allow another host through the user-info part.
        "user info after an allowed prefix": "SELECT * WHERE { SERVICE "
        f"<http://allowed.example@127.0.0.1:{port}/sparql> {triple} }}",
        # Why a token scanner cannot decide (guard's module docs): '<' is less-than here,
        # and what looks like the IRI <?b)SERVICE:sparql#> is code, then a comment.
        "less-than read as an IRI": f"PREFIX : <http://127.0.0.1:{port}/> SELECT * WHERE {{ "
        f"BIND(1 AS ?a) BIND(2 AS ?b) FILTER(?a<?b)SERVICE:sparql#>\n{triple} }}",
        # pyoxigraph reads the number 1.5e5, then the keyword: no boundary between them.
        "keyword glued to a number": f"SELECT * WHERE {{ ?s ?p 1.5e5SERVICE <{target}> {triple} }}",
        # The same '<' after each kind of operand (each reduced in its own parser state).
        **{
            f"less-than after {kind}": f"PREFIX : <http://127.0.0.1:{port}/> SELECT * WHERE {{ "
            f"BIND(2 AS ?b) FILTER({operand}<?b)SERVICE:sparql#>\n{triple} }}"
            for kind, operand in [
                ("a number", "1"),
                ("a string", '"a"'),
                ("a prefixed name", ":a"),
                ("brackets", "(1)"),
                ("a function call", "STR(1)"),
                ("a typed literal", '"1"^^:t'),
            ]
        },
        "no space around the keyword": f"SELECT * WHERE {{ ?s ?p ?o.SERVICE<{target}>{triple} }}",
        "after a long string holding quotes": 'SELECT * WHERE { BIND("""a"b\'\'""" AS ?x) '
        f"SERVICE <{target}> {triple} }}",
        "escaped host in the IRI": "SELECT * WHERE { SERVICE "
        f"<http://127.0.0.1\\u003a{port}/sparql> {triple} }}",
        # urljoin would read 'http:…' against an http base as relative: on the allowed host.
        "scheme without authority against an allowed BASE": "BASE <http://allowed.example/> "
        f"SELECT * WHERE {{ SERVICE <http:127.0.0.1:{port}/sparql> {triple} }}",
        "inside a SERVICE to an allowed endpoint": "SELECT * WHERE { SERVICE "
        f"<http://allowed.example/sparql> {{ SERVICE <{target}> {triple} }} }}",
        # pyoxigraph reads U+FEFF as white space: '?o' then the keyword, not one name.
        "byte order mark before the keyword": "SELECT * WHERE { ?s ?p ?o\ufeffSERVICE "
        f"<{target}> {triple} }}",
        # A space-like character outside the names' classes, inside what looks like one.
        "en quad in a name": f"SELECT * WHERE {{ ?s ?p ?o\u2000SERVICE <{target}> {triple} }}",
    }


def test_pyoxigraph_does_not_read_escaped_keywords(evil: Listener) -> None:
    """The guard only parses texts that spell SERVICE or LOAD out; pyoxigraph must agree."""
    store = ox.Store()
    target = f"http://127.0.0.1:{evil.port}/"
    before = evil.connections
    with pytest.raises(SyntaxError):
        store.query(f"SELECT * WHERE {{ SERVIC\\u0045 <{target}> {{ ?s ?p ?o }} }}")
    with pytest.raises(SyntaxError):
        store.update(f"LO\\u0041D <{target}>")
    assert evil.connections == before


SILENT_TO_AN_IRI = {"lowercase", "comments between tokens"}


@pytest.mark.parametrize("name", list(bypasses(1)))
def test_service_bypass_attempts_are_refused_without_a_connection(
    guarded: Any, evil: Listener, name: str
) -> None:
    query = bypasses(evil.port)[name]
    before = evil.connections
    response = httpx.get(guarded.url + "/sparql", params={"query": query}, timeout=30)
    if name in SILENT_TO_AN_IRI:
        # SILENT: a refused call is a failed call, one empty solution (Federated Query 4.1).
        assert response.status_code == 200, response.text
        assert response.json()["results"]["bindings"] == [{}]
    else:
        assert response.status_code in (400, 403), response.text
        body = response.json()
        assert body["code"] in {"service-not-allowed", "service-not-checked"}
        assert "SERVICE" in body["detail"]
    assert evil.connections == before


@pytest.mark.parametrize(
    "update",
    [
        "LOAD <{target}>",
        "PREFIX e: <http://127.0.0.1:{port}/> load silent e:data.ttl into graph <urn:g>",
        "INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE <{target}> {{ ?s ?p ?o }} }}",
        "BASE <http://127.0.0.1:{port}/> INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE <sparql> "
        "{{ ?s ?p ?o }} }}",
        "INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE <http://allowed.example@127.0.0.1:{port}/> "
        "{{ ?s ?p ?o }} }}",
    ],
)
def test_update_bypass_attempts_are_refused_without_a_connection(
    guarded: Any, evil: Listener, update: str
) -> None:
    text = update.format(target=f"http://127.0.0.1:{evil.port}/sparql", port=evil.port)
    version = httpx.get(guarded.url + "/health").json()["version"]
    before = evil.connections
    response = httpx.post(
        guarded.url + "/sparql/update",
        content=text.encode(),
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert response.status_code == 403, response.text
    assert response.json()["code"] in {"load-not-allowed", "service-not-allowed"}
    assert evil.connections == before
    assert httpx.get(guarded.url + "/health").json()["version"] == version


def test_allowed_service_still_works_after_a_hash_in_an_iri(guarded: Any, live_server: Any) -> None:
    """rdflib's parser failed on this one-line query; the guard must not refuse it."""
    query = (
        "SELECT ?label WHERE { VALUES ?p { <http://www.w3.org/2000/01/rdf-schema#label> } "
        f"SERVICE <{live_server.url}/sparql> {{ kg:sergei-lavrov ?p ?label }} }}"
    )
    response = httpx.get(guarded.url + "/sparql", params={"query": query}, timeout=30)
    assert response.status_code == 200, response.text
    labels = [row["label"]["value"] for row in response.json()["results"]["bindings"]]
    assert any("Lavrov" in label for label in labels)


def test_an_allowed_service_after_a_less_than_shaped_like_an_iri(
    guarded: Any, live_server: Any
) -> None:
    """'<?b&&?b>' would be an IRI where an IRI may stand; after the operand ?a only
    less-than may: the text is read as pyoxigraph reads it, and the allowed call runs."""
    query = (
        "SELECT ?label WHERE { BIND(1 AS ?a) BIND(2 AS ?b) FILTER(?a<?b&&?b>0)"
        f"SERVICE <{live_server.url}/sparql> {{ kg:sergei-lavrov rdfs:label ?label }} }}"
    )
    response = httpx.get(guarded.url + "/sparql", params={"query": query}, timeout=30)
    assert response.status_code == 200, response.text
    labels = [row["label"]["value"] for row in response.json()["results"]["bindings"]]
    assert any("Lavrov" in label for label in labels)


def test_a_mention_of_service_outside_code_is_not_a_call(guarded: Any) -> None:
    query = 'SELECT ?x WHERE { BIND("SERVICE <http://127.0.0.1:9/>" AS ?x) } # service'
    response = httpx.get(guarded.url + "/sparql", params={"query": query}, timeout=30)
    assert response.status_code == 200, response.text
    # A variable, a prefixed name and an IRI named like the keyword are not calls either.
    query = (
        "PREFIX service: <http://127.0.0.1:9/> SELECT ?service WHERE "
        "{ ?service service:service <http://127.0.0.1:9/SERVICE> } LIMIT 1"
    )
    response = httpx.get(guarded.url + "/sparql", params={"query": query}, timeout=30)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PREFIX e: <http://h/> SELECT * WHERE { SERVICE e:s {} }", ["http://h/s"]),
        ("BASE <http://h/a/b> SELECT * WHERE { SERVICE <../s> {} }", ["http://h/s"]),
        ("SELECT * WHERE { SERVICE kg:x {} }", [vocab.PREFIXES["kg"] + "x"]),
        (
            "SELECT * WHERE { { SELECT * WHERE { service silent ?v {} } } UNION "
            "{ OPTIONAL { SERVICE <http://h/2> {} } } }",
            ["?v", "http://h/2"],
        ),
    ],
)
def test_parse_resolves_every_service(text: str, expected: list[str]) -> None:
    assert sorted(parse(text, vocab.PREFIXES).services) == sorted(expected)


def test_unparseable_text_naming_service_is_refused() -> None:
    text = "SELECT * WHERE { SERVICE <http://h/> { ?s ?p } }"
    with pytest.raises(Refusal, match="could not be parsed") as refusal:
        checked_text(text, vocab.PREFIXES, ["http://h/"], update=False)
    assert refusal.value.kind == "service-not-checked"


def escaped_backslash_query(target: str) -> str:
    """For pyoxigraph: a string ending in a backslash, then a SERVICE call, then a comment.
    After rdflib's expansion of \\u escapes: one long string, and no SERVICE at all."""
    return (
        'SELECT * WHERE { BIND("a\\u005c" AS ?x) SERVICE <' + target + "> { ?s ?p ?o } } "
        '#" AS ?x) }'
    )


def test_escapes_are_not_expanded_before_the_check(guarded: Any, evil: Listener) -> None:
    """The guard reads the text as pyoxigraph does (escapes not expanded before parsing):
    a string ending in an escaped backslash, then a call, which it finds and refuses."""
    from rdflib.plugins.sparql.parser import parseQuery

    target = f"http://127.0.0.1:{evil.port}/sparql"
    query = escaped_backslash_query(target)
    assert "ServiceGraphPattern" not in repr(parseQuery(query))  # rdflib's reading: no call
    before = evil.connections
    response = httpx.get(guarded.url + "/sparql", params={"query": query}, timeout=30)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "service-not-allowed"
    assert target in response.json()["detail"]
    assert evil.connections == before


def test_an_escape_in_a_comment_is_no_reason_to_refuse(guarded: Any) -> None:
    query = "SELECT ?x WHERE { BIND(1 AS ?x) } # no service here, only a \\u0041 in a comment"
    response = httpx.get(guarded.url + "/sparql", params={"query": query}, timeout=30)
    assert response.status_code == 200, response.text


def test_load_in_a_literal_is_not_a_load(guarded: Any) -> None:
    """Decided from the parse: a literal holding 'onload=' is data, not an operation."""
    update = 'INSERT DATA { kg:guard-test rdfs:comment "<body onload=alert(1)>" }'
    response = httpx.post(
        guarded.url + "/sparql/update",
        content=update.encode(),
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    ask = 'ASK { kg:guard-test rdfs:comment "<body onload=alert(1)>" }'
    answer = httpx.get(guarded.url + "/sparql", params={"query": ask}, timeout=30)
    assert answer.json()["boolean"] is True


def test_the_check_runs_in_the_worker_not_in_the_server(
    guarded: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No parse in the server process: break it there, and SERVICE queries still work."""

    def broken(*args: object, **kwargs: object) -> None:
        raise AssertionError("the SERVICE check ran in the server process")

    monkeypatch.setattr(guard, "parse", broken)
    monkeypatch.setattr(guard, "checked_text", broken)
    query = f"ASK {{ SERVICE <{live_server.url}/sparql> {{ kg:sergei-lavrov ?p ?o }} }}"
    response = httpx.get(guarded.url + "/sparql", params={"query": query}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["boolean"] is True


def test_silent_service_outside_the_allowlist_is_one_empty_solution(
    guarded: Any, evil: Listener
) -> None:
    """Federated Query 4.1: a failed SILENT call is one empty solution; here it fails
    without any connection. An allowed call in the same query still runs."""
    target = f"http://127.0.0.1:{evil.port}/sparql"
    before = evil.connections
    query = (
        "SELECT ?label WHERE { kg:sergei-lavrov rdfs:label ?label "
        f"SERVICE SILENT <{target}> {{ ?s ?p ?o }} }}"
    )
    response = httpx.get(guarded.url + "/sparql", params={"query": query}, timeout=30)
    assert response.status_code == 200, response.text
    labels = [row["label"]["value"] for row in response.json()["results"]["bindings"]]
    assert labels and all("Lavrov" in label for label in labels)
    assert all(set(row) == {"label"} for row in response.json()["results"]["bindings"])
    prefixed = f"PREFIX e: <http://127.0.0.1:{evil.port}/> ASK {{ SERVICE SILENT e:sparql {{}} }}"
    answer = httpx.get(guarded.url + "/sparql", params={"query": prefixed}, timeout=30)
    assert answer.status_code == 200 and answer.json()["boolean"] is True
    assert evil.connections == before


def test_prefix_entries_match_on_the_same_host_only() -> None:
    settings = Settings(service_allowlist=("http://127.0.0.1:8000*", "https://q.example/sparql"))
    assert settings.service_allowed("http://127.0.0.1:8000/sparql")
    assert not settings.service_allowed("http://127.0.0.1:80001/sparql")
    assert not settings.service_allowed("http://127.0.0.1:8000.evil.example/sparql")
    assert not settings.service_allowed("http://127.0.0.1:8000@evil.example/")
    assert settings.service_allowed("https://q.example/sparql")
    assert not settings.service_allowed("https://q.example/sparql/other")


def test_dataset_clauses_never_fetch(guarded: Any, evil: Listener) -> None:
    """FROM, FROM NAMED, USING, WITH and graph operations name local graphs only."""
    target = f"http://127.0.0.1:{evil.port}/data.ttl"
    before = evil.connections
    query = f"SELECT * FROM <{target}> FROM NAMED <{target}> WHERE {{ ?s ?p ?o }}"
    for infer in ("true", "false"):
        response = httpx.get(
            guarded.url + "/sparql", params={"query": query, "infer": infer}, timeout=30
        )
        assert response.status_code == 200, response.text
        assert response.json()["results"]["bindings"] == []
    headers = {"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"}
    for text in (
        f"INSERT {{ ?s ?p ?o }} USING <{target}> WHERE {{ ?s ?p ?o }}",
        f"WITH <{target}> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}",
        f"COPY <{target}> TO <urn:x-other>",
        f"ADD <{target}> TO DEFAULT",
    ):
        response = httpx.post(
            guarded.url + "/sparql/update", content=text.encode(), headers=headers, timeout=30
        )
        assert response.status_code in (200, 400), response.text
    assert evil.connections == before


def test_a_long_update_is_read_whole(guarded: Any, evil: Listener) -> None:
    """An update text past routes.LARGE_TEXT is read in a thread, as a whole: a query is
    still refused there, and a LOAD after a long comment still is."""
    from karabakh_kg.server.sparql.routes import LARGE_TEXT

    headers = {"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"}
    padding = "#" + "x" * LARGE_TEXT + "\n"
    query = padding + "SELECT * WHERE { ?s ?p ?o }"
    response = httpx.post(
        guarded.url + "/sparql/update", content=query.encode(), headers=headers, timeout=30
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "query-on-update-endpoint"
    before = evil.connections
    load = padding + f"LOAD <http://127.0.0.1:{evil.port}/data.ttl>"
    response = httpx.post(
        guarded.url + "/sparql/update", content=load.encode(), headers=headers, timeout=30
    )
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "load-not-allowed"
    assert evil.connections == before


def test_a_misread_data_update_still_cannot_call_out(
    guarded: Any, evil: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server evaluates a data-only update itself, without the worker's guard; it does so
    only for texts naming neither LOAD nor SERVICE, so even a data scan that misread a LOAD
    as data (simulated: it takes every text for data) cannot make the server connect."""
    from karabakh_kg.server.sparql import execute

    monkeypatch.setattr(execute, "data_as_insert", lambda text: text)
    update = (
        "INSERT DATA { kg:guard-misread rdfs:label 'x' } ; "
        f"LOAD <http://127.0.0.1:{evil.port}/data.ttl>"
    )
    before = evil.connections
    response = httpx.post(
        guarded.url + "/sparql/update",
        content=update.encode(),
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "load-not-allowed"
    assert evil.connections == before


def test_a_text_that_cannot_call_out_is_checked_without_the_grammar() -> None:
    """A query worker's first job, for a text naming no ``SERVICE``, loads no parser (lark
    and the grammar cost a fresh worker 0.05-0.14 s); a text naming one is read by it."""
    check = (
        "import sys\n"
        "from karabakh_kg.server.sparql.guard import checked_text\n"
        "text = sys.argv[1]\n"
        "try:\n    checked_text(text, {}, [], update=False)\n"
        "except Exception:\n    pass  # refused: not allowed\n"
        "print('lark' in sys.modules)\n"
    )

    def loads_lark(text: str) -> bool:
        ran = subprocess.run(
            [sys.executable, "-c", check, text], capture_output=True, text=True, timeout=60
        )
        assert ran.returncode == 0, ran.stderr
        return ran.stdout.strip() == "True"

    assert not loads_lark("ASK { ?s ?p ?o }")
    assert loads_lark("ASK { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }") is True
