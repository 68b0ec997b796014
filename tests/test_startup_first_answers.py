"""``serve`` answers SPARQL before it imports FastAPI (server/deferred.py: FirstAnswers).

The SPARQL endpoint's plain routes answer from a Starlette app with the whole app's
middleware and error handlers until a thread, started by the first answer, has built the
FastAPI app; the answers must be the ones the whole app gives. Expected answers come from
the article (line 37: Lavrov was to meet Mnatsakanyan in Moscow, so the meeting is among
Lavrov's neighbours) and from the SPARQL 1.1 Protocol (a malformed query is a 400; a query
sent by GET with ``update=`` is refused).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from karabakh_kg.graph import KnowledgeGraph
from karabakh_kg.graph.cache import ReasonedCache, load_reasoned
from karabakh_kg.graph.cache_folder import SWITCH_VARIABLE
from karabakh_kg.ontology import vocab
from karabakh_kg.server import app as application
from karabakh_kg.server.deferred import FirstAnswers, telemetry_requested
from karabakh_kg.server.settings import Settings
from karabakh_kg.server.sparql.execute import Endpoint
from karabakh_kg.server.sparql.protocol import LocalStore

MEETING = str(vocab.KG) + "mnatsakanyan-lavrov-meeting"
ASK = "ASK { ?s ?p ?o }"
FORM = "application/x-www-form-urlencoded"
UPDATE = "application/sparql-update"
REQUESTS: list[tuple[str, str, dict[str, object]]] = [
    ("GET", "/sparql", {"params": {"query": ASK}}),
    ("HEAD", "/sparql", {"params": {"query": ASK}}),
    ("GET", "/sparql", {"params": {"query": ASK}, "headers": {"origin": "https://example.org"}}),
    ("GET", "/sparql", {"params": {"query": "SELEC ?x"}}),  # malformed: 400
    ("GET", "/sparql", {"params": {"query": ASK, "update": "CLEAR ALL"}}),  # 400
    ("POST", "/sparql", {"content": "query=" + ASK, "headers": {"content-type": FORM}}),
    ("POST", "/sparql", {"content": "x=1", "headers": {"content-type": FORM}}),  # no query
    ("POST", "/sparql", {"content": ASK, "headers": {"content-type": "text/plain"}}),  # 415
    ("POST", "/sparql/update", {"content": "CLEAR ALL", "headers": {"content-type": "x/y"}}),
    ("POST", "/update", {"content": "CLEAR ALL", "headers": {"content-type": UPDATE}}),  # 403
]
"""Requests the plain routes take whole, answered or refused."""


@pytest.fixture()
def endpoint(kg: KnowledgeGraph) -> Endpoint:
    return Endpoint(kg, Settings(), LocalStore(kg.store))


def test_the_first_app_answers_as_the_whole_app_does(endpoint: Endpoint) -> None:
    """Status, headers and body of each request, from the Starlette app of the plain
    routes and from the FastAPI app built around the same endpoint: the same (the date
    aside), errors and CORS headers included."""
    first = TestClient(application.first_app(endpoint, endpoint.settings))
    whole = TestClient(application.create_app(endpoint.kg, endpoint.settings, endpoint=endpoint))
    for method, path, options in REQUESTS:
        ours, theirs = (c.request(method, path, **options) for c in (first, whole))  # type: ignore[arg-type]
        assert ours.status_code == theirs.status_code, (method, path, options)
        assert ours.content == theirs.content, (method, path, options)
        headers = [(k, v) for k, v in ours.headers.multi_items() if k != "date"]
        assert headers == [(k, v) for k, v in theirs.headers.multi_items() if k != "date"]
    assert first.get("/sparql", params={"query": ASK}).json()["boolean"] is True


def test_a_request_the_first_app_does_not_take_waits_for_the_whole_app(
    endpoint: Endpoint,
) -> None:
    """A page, the query UI and a method /sparql does not take are answered by the whole
    app, built for them; a build that fails leaves SPARQL answering and the rest 503."""
    built: list[str] = []

    def build() -> object:
        built.append("built")
        return application.create_app(endpoint.kg, endpoint.settings, endpoint=endpoint)

    app = FirstAnswers(application.first_app(endpoint, endpoint.settings), build, endpoint.close)  # type: ignore[arg-type]
    client = TestClient(app)
    assert client.get("/sparql", headers={"accept": "text/html"}).status_code == 200
    assert built == ["built"]  # the query UI, a page, is the whole app's
    put = client.put("/sparql")
    assert put.status_code == 405 and put.headers["allow"] == "GET, HEAD, POST"
    near = client.get("/graph/neighbours", params={"node": "Lavrov"}).json()
    assert MEETING in [n["iri"] for n in near["neighbours"]]

    def failing() -> object:
        raise ImportError("No module named 'fastapi'")

    broken = FirstAnswers(
        application.first_app(endpoint, endpoint.settings), failing, endpoint.close
    )
    client = TestClient(broken)
    page = client.get("/graph/neighbours", params={"node": "Lavrov"})
    assert page.status_code == 503 and page.json()["code"] == "pages-unavailable"
    assert "No module named 'fastapi'" in page.json()["detail"]
    assert client.get("/sparql", params={"query": ASK}).json()["boolean"] is True


def test_the_environment_asking_for_telemetry_builds_fastapi_first() -> None:
    assert telemetry_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert telemetry_requested({"FASTAPI_OTEL_AUTO_CONFIGURE": "true"})
    assert not telemetry_requested({"PATH": "/usr/bin", "KARABAKH_KG_CACHE_DIR": "/tmp"})


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder holding the reasoned store of the installed data, on disk too."""
    folder = tmp_path_factory.mktemp("cache")
    load_reasoned(ReasonedCache(folder / "reasoned"), read_only=True)
    return folder


PROBE = """
import json, sys, warnings
warnings.simplefilter("ignore")
from starlette.testclient import TestClient
from karabakh_kg.server import deferred
from karabakh_kg.server.cli.serve import apply_settings, build_app
seen = {}
run = deferred.FirstAnswers._run
def recorded(self):
    seen["at build"] = sorted(m for m in sys.modules if m.split(".")[0] == "fastapi")
    run(self)
deferred.FirstAnswers._run = recorded
app = build_app(None, apply_settings({}), first_answers=True)
seen["kind"] = type(app).__name__
seen["at start"] = sorted(m for m in sys.modules if m.split(".")[0] == "fastapi")
with TestClient(app) as client:  # its lifespan: started, then stopped
    seen["ask"] = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}).json()["boolean"]
    near = client.get("/graph/neighbours", params={"node": "Lavrov"}).json()
    seen["near"] = [n["iri"] for n in near["neighbours"]]
    seen["whole"] = type(app.app).__name__
    seen["paths"] = sorted(client.get("/openapi.json").json()["paths"])
    again = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
    seen["again"] = again.json()["boolean"]
print(json.dumps(seen))
"""


def test_serve_answers_sparql_before_it_imports_fastapi(warm_cache: Path) -> None:
    """Through ``serve``'s own app building, in a fresh interpreter: no FastAPI module is
    loaded when the app starts nor when its first answer is sent (the build begins then);
    then the whole app answers the pages, the API document and SPARQL."""
    env = {**os.environ, "KARABAKH_KG_CACHE_DIR": str(warm_cache)}
    env.pop(SWITCH_VARIABLE, None)
    env = {k: v for k, v in env.items() if not k.startswith("OTEL_")}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["kind"] == "FirstAnswers"
    assert seen["at start"] == [] and seen["at build"] == []
    assert seen["ask"] is True and seen["again"] is True
    assert MEETING in seen["near"]
    assert seen["whole"] == "FastAPI"
    assert {"/sparql", "/graph/neighbours", "/resource/{name}"} <= set(seen["paths"])


def test_a_server_taking_updates_builds_its_reasoner_before_it_answers(warm_cache: Path) -> None:
    """As the whole app does (create_app): a reasoner deferred by the cache is built before
    the first answer, so that the first update does not wait for it."""
    kg, report = load_reasoned(ReasonedCache(warm_cache / "reasoned"))
    assert report is None and kg.views.reasoner_deferred  # read from the cache
    settings = Settings(enable_updates=True, update_token="t0ken", ephemeral_updates=True)
    endpoint = Endpoint(kg, settings, LocalStore(kg.store))
    application.first_answers(endpoint, settings)
    assert not kg.views.reasoner_deferred
