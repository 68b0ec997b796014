"""``karabakh-kg serve --data FILE``: any RDF dataset behind the same endpoint, pages and
limits, reasoned unless ``--no-reason``; started for real and queried over HTTP.

Expected answers come from the OWL 2 RL rules (prp-trp for the transitive kgo:locatedIn,
cax-sco for sub-classes) and from ``ontology/rules.ttl`` (participants of a meeting that
took place met each other; an event in a place took place in the places enclosing it).
"""

from __future__ import annotations

import select
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import free_port
from test_cli_serve import interrupt
from typer.testing import CliRunner

from karabakh_kg.server.cli import app

INFERRED = "https://w3id.org/karabakh-kg/graph/inferred"
MEETING = """\
@prefix kg: <https://w3id.org/karabakh-kg/resource/> .
@prefix kgo: <https://w3id.org/karabakh-kg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
kg:talk-1 a kgo:Meeting ; rdfs:label "Talk one"@en ; kgo:eventStatus kgo:Occurred ;
    kgo:participant kg:ann-a , kg:bob-b ; kgo:location kg:town-t ;
    kgo:date "2020-10-12"^^<http://www.w3.org/2001/XMLSchema#date> .
<http://example.org/places> {
    kg:town-t kgo:locatedIn kg:region-r .
    kg:region-r kgo:locatedIn kg:country-c .
    kg:ann-a a kgo:Person ; rdfs:label "Ann A"@en .
}
"""
MEETING_TRIPLES = 11
EX = "http://example.org/"
FAMILY = f"""\
<{EX}tom> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{EX}Cat> .
<{EX}Cat> <http://www.w3.org/2000/01/rdf-schema#subClassOf> <{EX}Mammal> .
"""
MET = "ASK { kg:ann-a kgo:metWith kg:bob-b }"  # the meeting rule
TRANSITIVE = "ASK { kg:town-t kgo:locatedIn kg:country-c }"  # prp-trp
ENCLOSING = "ASK { kg:talk-1 kgo:location kg:country-c }"  # the enclosing-place rule
SUBCLASS = "ASK { <http://example.org/tom> a <http://example.org/Mammal> }"  # cax-sco
IN_NAMED_GRAPH = "ASK { GRAPH <http://example.org/places> { kg:town-t kgo:locatedIn kg:region-r } }"
INFERRED_COUNT = f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{INFERRED}> {{ ?s ?p ?o }} }}"


@pytest.fixture(scope="module")
def data_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("data")
    (folder / "meeting.trig").write_text(MEETING, encoding="utf-8")
    (folder / "family.nt").write_text(FAMILY, encoding="utf-8")
    return folder / "meeting.trig", folder / "family.nt"


class Served:
    """``karabakh-kg serve --data ...`` on a free port, in its own process group, once it
    answers; ``banner`` is the line it printed first."""

    def __init__(self, *options: str) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/"
        command = [sys.executable, "-m", "karabakh_kg.server", "serve", "--port", str(port)]
        self.process = subprocess.Popen(
            [*command, "--log-level", "warning", *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 120)
        assert ready, "serve printed nothing"
        self.banner = self.process.stdout.readline()
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.url + "health", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not answer: " + self.banner
                time.sleep(0.1)

    def ask(self, query: str) -> bool:
        answer = httpx.get(self.url + "sparql", params={"query": query}, timeout=30)
        assert answer.status_code == 200, answer.text
        return bool(answer.json()["boolean"])

    def count(self, query: str) -> int:
        answer = httpx.get(self.url + "sparql", params={"query": query}, timeout=30)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["results"]["bindings"][0]["n"]["value"])

    def stop(self) -> None:
        """Ctrl-C, then no traceback in what it printed."""
        output = interrupt(self.process)
        assert "Traceback" not in output, output


def test_served_data_is_reasoned_with_owl_rl_and_the_rules(
    data_files: tuple[Path, Path],
) -> None:
    meeting, family = data_files
    served = Served("--data", str(meeting), "--data", str(family))
    try:
        assert served.ask(MET) and served.ask(TRANSITIVE) and served.ask(ENCLOSING)
        assert served.ask(IN_NAMED_GRAPH)  # the file's named graph is kept
        assert served.ask(SUBCLASS)  # the data's own sub-class axiom
        inferred = served.count(INFERRED_COUNT)
        assert inferred > 0
        health = httpx.get(served.url + "health", timeout=10).json()
        assert health["triples"]["asserted"] == MEETING_TRIPLES + 2
        assert health["triples"]["provenance"] == 0
        # pages that assume curated evidence answer for data without any
        pages = {
            "": "karabakh-kg",
            "resource/talk-1": "Talk one",
            "resource/ann-a": "Ann A",
            "explorer": "Explorer",
            "timeline": "Timeline",
            "disputes": "Disputes",
            "map": "Map",
            "query": "Query",
            "explain?s=kg:ann-a&p=kgo:metWith&o=kg:bob-b": "Ann A",
        }
        for path, text in pages.items():
            page = httpx.get(served.url + path, headers={"Accept": "text/html"}, timeout=30)
            assert page.status_code == 200, (path, page.status_code)
            assert text in page.text, path
        home = httpx.get(served.url, timeout=30).text
        assert f"2 data files ({MEETING_TRIPLES + 2} triples, {inferred} inferred" in home
        assert "curated from one news article" not in home
        turtle = httpx.get(served.url + "resource/talk-1.ttl", timeout=30)
        assert turtle.status_code == 200 and "kg:region-r" in turtle.text
        near = httpx.get(served.url + "graph/neighbours", params={"node": "kg:ann-a"}, timeout=30)
        assert near.status_code == 200
        assert "https://w3id.org/karabakh-kg/resource/bob-b" in near.text
    finally:
        served.stop()
    assert (
        f": 2 data files ({MEETING_TRIPLES + 2} triples, {inferred} inferred by OWL 2 RL with "
        "the project ontology and the project's domain rules), loaded in "
    ) in served.banner


def test_no_reason_serves_the_files_as_they_are(data_files: tuple[Path, Path]) -> None:
    meeting, _ = data_files
    served = Served("--data", str(meeting), "--no-reason")
    try:
        assert served.count(INFERRED_COUNT) == 0
        assert not served.ask(MET) and not served.ask(TRANSITIVE)
        assert served.ask("ASK { kg:town-t kgo:locatedIn kg:region-r }")
        assert httpx.get(served.url + "resource/talk-1", timeout=30).status_code == 200
    finally:
        served.stop()
    assert f": 1 data file ({MEETING_TRIPLES} triples, not reasoned), loaded in " in served.banner


def test_own_ontology_without_the_rules(data_files: tuple[Path, Path], tmp_path: Path) -> None:
    meeting, family = data_files
    ontology = tmp_path / "places.ttl"
    ontology.write_text(
        "<https://w3id.org/karabakh-kg/ontology#locatedIn> a "
        "<http://www.w3.org/2002/07/owl#TransitiveProperty> .\n",
        encoding="utf-8",
    )
    served = Served(
        "--data", str(meeting), "--data", str(family), "--ontology", str(ontology), "--no-rules"
    )
    try:
        assert served.ask(TRANSITIVE)  # the given ontology's axiom
        assert not served.ask(MET) and not served.ask(ENCLOSING)  # no domain rules
        # the project ontology is replaced: kgo:Person is no longer a sub-class of kgo:Agent
        assert not served.ask("ASK { kg:ann-a a kgo:Agent }")
        for path in ("", "resource/talk-1", "explorer", "timeline", "map"):
            assert httpx.get(served.url + path, timeout=30).status_code == 200, path
    finally:
        served.stop()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--data", "missing.ttl"], "missing file: missing.ttl"),
        (["--data", "notes.txt"], "notes.txt: unknown RDF file extension '.txt'"),
        (["--data", "bad.ttl"], "bad.ttl: Parser error"),
        (["--data", "good.nt", "--store", "store"], "drop --store"),
        (["--data", "good.nt", "--data-dir", "."], "drop --data-dir"),
        (["--no-reason"], "apply to --data files"),
        (["--ontology", "good.nt"], "apply to --data files"),
    ],
)
def test_bad_data_options_give_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arguments: list[str], message: str
) -> None:
    (tmp_path / "good.nt").write_text(FAMILY, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")
    (tmp_path / "bad.ttl").write_text("<http://a> <http://b> .\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["serve", "--port", str(free_port()), *arguments])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert message in lines[0]
