"""``karabakh-kg reason FILE... --output``: any RDF data reasoned with OWL 2 RL (and the domain
rules), the closure written whole, run as users run it (the real command, in a subprocess).

Expected closures come from the OWL 2 RL rules (W3C OWL 2 Profiles, section 4.3, tables 4-9)
and from the domain rules as ``ontology/rules.ttl`` states them, never from our output.
"""

from __future__ import annotations

import gc
import gzip
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

import owlrl
import pyoxigraph as ox
import pytest
import rdflib
from reasoning_support import MINI_DATA, MINI_ONTOLOGY, instance_level
from typer.testing import CliRunner

from karabakh_kg.graph.files import write_atomic
from karabakh_kg.server.cli import app

EX = "http://example.org/"
KG = "https://w3id.org/karabakh-kg/resource/"
KGO = "https://w3id.org/karabakh-kg/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SAME_AS = "http://www.w3.org/2002/07/owl#sameAs"
INFERRED = "https://w3id.org/karabakh-kg/graph/inferred"
ASSERTED = "https://w3id.org/karabakh-kg/graph/asserted"

ONTOLOGY = """\
@prefix : <http://example.org/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
:Cat rdfs:subClassOf :Mammal .
:Mammal rdfs:subClassOf :Animal .
:hasUncle owl:propertyChainAxiom ( :hasParent :hasBrother ) .
"""
ONTOLOGY_TRIPLES = 7  # two sub-class axioms, the chain axiom and its two-item list (4)

# The data of every format: the same four triples, split between a named graph and the
# default graph where the format has graphs (the union is reasoned).
DATA = {
    "ttl": """\
@prefix : <http://example.org/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
:tom a :Cat ; :hasParent :ann ; owl:sameAs :thomas .
:ann :hasBrother :bob .
""",
    "nt": f"""\
<{EX}tom> <{RDF_TYPE}> <{EX}Cat> .
<{EX}tom> <{EX}hasParent> <{EX}ann> .
<{EX}tom> <{SAME_AS}> <{EX}thomas> .
<{EX}ann> <{EX}hasBrother> <{EX}bob> .
""",
    "trig": """\
@prefix : <http://example.org/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
:tom a :Cat ; owl:sameAs :thomas .
:family { :tom :hasParent :ann . :ann :hasBrother :bob . }
""",
    "nq": f"""\
<{EX}tom> <{RDF_TYPE}> <{EX}Cat> <{EX}family> .
<{EX}tom> <{EX}hasParent> <{EX}ann> .
<{EX}tom> <{SAME_AS}> <{EX}thomas> .
<{EX}ann> <{EX}hasBrother> <{EX}bob> <{EX}family> .
""",
    "rdf": f"""\
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="{EX}"
         xmlns:owl="http://www.w3.org/2002/07/owl#">
  <ex:Cat rdf:about="{EX}tom">
    <ex:hasParent><rdf:Description rdf:about="{EX}ann"><ex:hasBrother rdf:resource="{EX}bob"/>
    </rdf:Description></ex:hasParent>
    <owl:sameAs rdf:resource="{EX}thomas"/>
  </ex:Cat>
</rdf:RDF>
""",
    "jsonld": f"""\
{{"@context": {{"ex": "{EX}", "owl": "http://www.w3.org/2002/07/owl#"}},
  "@graph": [
    {{"@id": "ex:tom", "@type": "ex:Cat", "ex:hasParent": {{"@id": "ex:ann"}},
      "owl:sameAs": {{"@id": "ex:thomas"}}}},
    {{"@id": "ex:ann", "ex:hasBrother": {{"@id": "ex:bob"}}}}]}}
""",
}
DATA_TRIPLES = {
    (EX + "tom", RDF_TYPE, EX + "Cat"),
    (EX + "tom", EX + "hasParent", EX + "ann"),
    (EX + "tom", SAME_AS, EX + "thomas"),
    (EX + "ann", EX + "hasBrother", EX + "bob"),
}
# OWL 2 RL: cax-sco (twice along the chain), prp-spo2 (the property chain), eq-sym, and
# eq-rep-s copying what is said of tom to thomas (reflexive sameAs is never written).
INFERRED_TRIPLES = {
    (EX + "tom", RDF_TYPE, EX + "Mammal"),
    (EX + "tom", RDF_TYPE, EX + "Animal"),
    (EX + "tom", EX + "hasUncle", EX + "bob"),
    (EX + "thomas", SAME_AS, EX + "tom"),
    (EX + "thomas", RDF_TYPE, EX + "Cat"),
    (EX + "thomas", RDF_TYPE, EX + "Mammal"),
    (EX + "thomas", RDF_TYPE, EX + "Animal"),
    (EX + "thomas", EX + "hasParent", EX + "ann"),
    (EX + "thomas", EX + "hasUncle", EX + "bob"),
}

# A meeting that took place, in a town of a region: two domain rules apply
# (kgo:rule-meeting-participants-met, kgo:rule-event-located-in-enclosing-place).
MEETING = """\
@prefix kg: <https://w3id.org/karabakh-kg/resource/> .
@prefix kgo: <https://w3id.org/karabakh-kg/ontology#> .
kg:talk-1 a kgo:Meeting ; kgo:eventStatus kgo:Occurred ;
    kgo:participant kg:ann-a , kg:bob-b ; kgo:location kg:town-t .
kg:town-t kgo:locatedIn kg:region-r .
"""
MET = {(KG + "ann-a", KGO + "metWith", KG + "bob-b"), (KG + "bob-b", KGO + "metWith", KG + "ann-a")}
LOCATED = (KG + "talk-1", KGO + "location", KG + "region-r")
# kgo:metWith rdfs:subPropertyOf kgo:communicatedWith in the project ontology (prp-spo1)
COMMUNICATED = (KG + "ann-a", KGO + "communicatedWith", KG + "bob-b")


def reason(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``karabakh-kg reason ARGS`` as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "karabakh_kg.server", "reason", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def read_triples(path: Path, *, ground: bool = False) -> set[tuple[str, str, str]]:
    """Every triple of an RDF file (any graph), as IRIs or lexical forms; only those
    without blank nodes if ``ground`` (the ontology's property-chain list has some)."""
    return {
        (q.subject.value, q.predicate.value, q.object.value)
        for q in ox.parse(path=path)
        if not ground or not {type(q.subject), type(q.object)} & {ox.BlankNode}
    }


def by_graph(path: Path) -> dict[str, set[tuple[str, str, str]]]:
    """The triples of a dataset file, per graph name ('' for the default graph)."""
    graphs: dict[str, set[tuple[str, str, str]]] = {}
    for q in ox.parse(path=path):
        name = "" if isinstance(q.graph_name, ox.DefaultGraph) else q.graph_name.value
        graphs.setdefault(name, set()).add((q.subject.value, q.predicate.value, q.object.value))
    return graphs


@pytest.fixture
def ontology(tmp_path: Path) -> Path:
    path = tmp_path / "family-ontology.ttl"
    path.write_text(ONTOLOGY, encoding="utf-8")
    return path


@pytest.mark.parametrize("extension", sorted(DATA))
def test_every_input_format_gives_the_owl_rl_closure(
    tmp_path: Path, ontology: Path, extension: str
) -> None:
    data = tmp_path / f"family.{extension}"
    data.write_text(DATA[extension], encoding="utf-8")
    done = reason(data, "--ontology", ontology, "--output", "closure.nt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = read_triples(tmp_path / "closure.nt")
    ontology_triples = read_triples(ontology, ground=True)
    assert read_triples(tmp_path / "closure.nt", ground=True) == (
        DATA_TRIPLES | INFERRED_TRIPLES | ontology_triples
    )
    assert len(written) == len(DATA_TRIPLES) + ONTOLOGY_TRIPLES + len(INFERRED_TRIPLES)
    assert f"written: closure.nt (N-Triples, input and inferred triples: {len(written)}" in (
        done.stdout
    )


def test_report_sizes_times_and_memory_as_json(tmp_path: Path, ontology: Path) -> None:
    data = tmp_path / "family.ttl"
    data.write_text(DATA["ttl"], encoding="utf-8")
    options = ["--ontology", ontology, "--no-rules", "-o", "out.ttl", "--format", "json"]
    done = reason(data, *options, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["data_triples"] == len(DATA_TRIPLES)
    assert report["ontology_triples"] == ONTOLOGY_TRIPLES
    assert report["input_triples"] == len(DATA_TRIPLES) + ONTOLOGY_TRIPLES
    assert report["inferred_triples"] == len(INFERRED_TRIPLES)
    assert report["closure_triples"] == report["input_triples"] + len(INFERRED_TRIPLES)
    assert report["output"]["statements"] == report["closure_triples"]
    assert report["output"]["format"] == "turtle"
    assert report["domain_rules"] is False
    assert report["ontology"] == [str(ontology)]
    timed = ("load_seconds", "reasoning_seconds", "write_seconds", "consistency_seconds")
    timed += ("reasoning_cpu_seconds",)
    for key in (*timed, "total_seconds"):
        assert report[key] >= 0
    assert report["inconsistency_count"] == 0 and report["inconsistencies"] == []
    assert report["total_seconds"] >= report["reasoning_seconds"]
    assert report["peak_memory_mib"] > 10  # a Python process with pyoxigraph loaded
    # each inferred triple is counted once, for the rule of its first derivation; which rule
    # that is depends on the order of derivation, except that the first Mammal and the first
    # Animal triple need cax-sco, the first hasUncle prp-spo2, and thomas sameAs tom eq-sym
    by_rule = report["by_rule"]
    assert sum(by_rule.values()) == report["inferred_triples"]
    assert by_rule["cax-sco"] >= 2 and by_rule["prp-spo2"] >= 1 and by_rule["eq-sym"] == 1
    assert set(by_rule) <= {"cax-sco", "prp-spo2", "eq-sym", "eq-rep-s", "eq-rep-o"}
    assert len(read_triples(tmp_path / "out.ttl")) == report["closure_triples"]


def test_text_report_without_output_writes_nothing(tmp_path: Path, ontology: Path) -> None:
    data = tmp_path / "family.nt"
    data.write_text(DATA["nt"], encoding="utf-8")
    done = reason(data, "--ontology", ontology, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    rules = "the project's domain rules"
    assert lines[0] == f"reasoned 1 file with OWL 2 RL with {ontology} and {rules}"
    n = ONTOLOGY_TRIPLES
    assert lines[1] == f"input: {4 + n} triples (4 data, {n} ontology)"
    assert lines[2] == f"inferred: {len(INFERRED_TRIPLES)} triples"
    assert any(line.startswith("time: load ") and "reasoning" in line for line in lines)
    assert any(line.startswith("peak memory: ") and line.endswith(" MiB") for line in lines)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["family-ontology.ttl", "family.nt"]


def test_inferred_only(tmp_path: Path, ontology: Path) -> None:
    data = tmp_path / "family.ttl"
    data.write_text(DATA["ttl"], encoding="utf-8")
    done = reason(data, "--ontology", ontology, "--inferred-only", "-o", "new.nt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert read_triples(tmp_path / "new.nt") == INFERRED_TRIPLES


def test_dataset_output_keeps_graphs_and_puts_inferences_apart(
    tmp_path: Path, ontology: Path
) -> None:
    data = tmp_path / "family.trig"
    data.write_text(DATA["trig"], encoding="utf-8")
    for name in ("closure.nq", "closure.trig"):
        done = reason(data, "--ontology", ontology, "-o", name, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        graphs = by_graph(tmp_path / name)
        assert graphs[EX + "family"] == {
            (EX + "tom", EX + "hasParent", EX + "ann"),
            (EX + "ann", EX + "hasBrother", EX + "bob"),
        }
        assert graphs[ASSERTED] == DATA_TRIPLES
        assert graphs[INFERRED] == INFERRED_TRIPLES
        assert "" not in graphs
    done = reason(data, "--ontology", ontology, "--inferred-only", "-o", "only.nq", cwd=tmp_path)
    assert by_graph(tmp_path / "only.nq") == {INFERRED: INFERRED_TRIPLES}


def test_domain_rules_apply_unless_no_rules(tmp_path: Path) -> None:
    data = tmp_path / "meeting.ttl"
    data.write_text(MEETING, encoding="utf-8")
    done = reason(data, "--inferred-only", "-o", "with.nt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with_rules = read_triples(tmp_path / "with.nt")
    assert with_rules >= MET and LOCATED in with_rules
    assert COMMUNICATED in with_rules  # the project ontology, used by default
    done = reason(data, "--no-rules", "--inferred-only", "-o", "without.nt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    without = read_triples(tmp_path / "without.nt")
    assert not MET & without and LOCATED not in without
    # OWL 2 RL still runs: prp-rng, kgo:participant has the range kgo:Agent
    assert (KG + "ann-a", RDF_TYPE, KGO + "Agent") in without


def test_an_ontology_replaces_the_projects(tmp_path: Path, ontology: Path) -> None:
    data = tmp_path / "meeting.ttl"
    data.write_text(MEETING, encoding="utf-8")
    done = reason(data, "--ontology", ontology, "--inferred-only", "-o", "out.nt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    inferred = read_triples(tmp_path / "out.nt")
    assert inferred >= MET  # the domain rules still run
    assert COMMUNICATED not in inferred  # our sub-property axiom is gone with our ontology
    assert (KG + "ann-a", RDF_TYPE, KGO + "Agent") not in inferred


def test_several_files_and_ontologies_are_one_union(tmp_path: Path) -> None:
    (tmp_path / "classes.ttl").write_text(
        f"<{EX}Cat> <http://www.w3.org/2000/01/rdf-schema#subClassOf> <{EX}Mammal> .\n",
        encoding="utf-8",
    )
    (tmp_path / "more.nt").write_text(
        f"<{EX}Mammal> <http://www.w3.org/2000/01/rdf-schema#subClassOf> <{EX}Animal> .\n",
        encoding="utf-8",
    )
    (tmp_path / "a.ttl").write_text(f"<{EX}tom> a <{EX}Cat> .\n", encoding="utf-8")
    (tmp_path / "b.nq").write_text(
        f"<{EX}felix> <{RDF_TYPE}> <{EX}Cat> <{EX}g> .\n", encoding="utf-8"
    )
    done = reason(
        "a.ttl", "b.nq", "--ontology", "classes.ttl", "--ontology", "more.nt",
        "--inferred-only", "-o", "out.nt", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert read_triples(tmp_path / "out.nt") == {
        (EX + who, RDF_TYPE, EX + cls) for who in ("tom", "felix") for cls in ("Mammal", "Animal")
    }
    assert done.stdout.startswith(
        "reasoned 2 files with OWL 2 RL with classes.ttl, more.nt and the project's domain rules"
    )


BAD_TURTLE = '@prefix : <http://example.org/> .\n:a :b :c .\n:a :b "never closed .\n'


@pytest.mark.parametrize(
    ("files", "arguments", "message"),
    [
        ({}, ["missing.ttl"], "missing file: missing.ttl"),
        ({}, ["missing"], "missing file: missing"),  # missing before unnamed
        ({"good.nt": ""}, ["good.nt", "--ontology", "nope"], "missing file: nope"),
        ({"folder.ttl/x": ""}, ["folder.ttl"], "folder.ttl is a folder"),
        ({"good.nt": "", "dir/x": ""}, ["good.nt", "--ontology", "dir"], "dir is a folder"),
        ({"good.nt": "", "dir/x": ""}, ["good.nt", "--output", "dir"], "--output dir is a folder"),
        ({"data.csv": "a,b\n"}, ["data.csv"], "data.csv: unknown RDF file extension '.csv'"),
        ({"data": ""}, ["data"], "data: no RDF file extension"),
        ({"data.gz": ""}, ["data.gz"], "data.gz: no RDF file extension"),
        ({"plain.nt.gz": "<a> <b> <c> .\n"}, ["plain.nt.gz"], "plain.nt.gz: not whole gzip"),
        ({"bad.ttl": BAD_TURTLE}, ["bad.ttl"], "bad.ttl: Parser error"),
        (
            {"good.nt": "", "bad.ttl": BAD_TURTLE},
            ["good.nt", "--ontology", "bad.ttl"],
            "bad.ttl: Parser error",
        ),
        ({"good.nt": ""}, ["good.nt", "--output", "out.csv"], "--output out.csv: unknown RDF"),
        ({"good.nt": ""}, ["good.nt", "--output", "no/such/out.nt"], "folder no/such does not"),
        ({"good.nt": ""}, ["good.nt", "--output", "good.nt"], "is one of the input files"),
        ({"good.nt": ""}, ["good.nt", "--data-dir", "."], "FILE arguments or --data-dir"),
        ({}, ["--output", "out.nt"], "--output: only with FILE arguments"),
    ],
)
def test_bad_input_is_one_line_and_no_output(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, str],
    arguments: list[str],
    message: str,
) -> None:
    """The same command in this process (each case in a subprocess would cost seconds)."""
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    output = [] if "--output" in arguments else ["--output", "out.nt"]
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["reason", *arguments, *output])
    assert done.exit_code != 0
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert message in done.stderr
    assert done.exception is None or isinstance(done.exception, SystemExit)
    assert done.stdout == ""
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_json_ld_nested_past_the_limit_is_one_line_not_a_crash(tmp_path: Path) -> None:
    """40 000 nested objects crashed the command in pyoxigraph's JSON-LD parser (exit 139,
    nothing said); in a subprocess, as users run it (a crash would end this test run)."""
    inner = '{"urn:p": ' * 40_000 + '"x"' + "}" * 40_000
    (tmp_path / "deep.jsonld").write_text(f'{{"@id": "urn:a", "urn:p": {inner}}}')
    done = reason("deep.jsonld", "--output", "out.nt", cwd=tmp_path)
    assert done.returncode == 1, (done.returncode, done.stderr[-300:])
    assert done.stderr.startswith("error: deep.jsonld: the JSON-LD nests objects and arrays")
    assert done.stderr.count("\n") == 1 and not (tmp_path / "out.nt").exists()


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    """In a subprocess, as users see it: one line on standard error, no traceback."""
    (tmp_path / "ok.ttl").write_text(DATA["ttl"], encoding="utf-8")
    (tmp_path / "bad.ttl").write_text(BAD_TURTLE, encoding="utf-8")
    (tmp_path / "out.nt").write_text("old closure\n", encoding="utf-8")
    done = reason("ok.ttl", "bad.ttl", "--output", "out.nt", cwd=tmp_path)
    assert done.returncode != 0
    assert done.stderr.startswith("error: bad.ttl: ") and "line 3" in done.stderr
    assert done.stderr.count("\n") == 1 and done.stdout == ""
    assert (tmp_path / "out.nt").read_text(encoding="utf-8") == "old closure\n"  # untouched


def test_the_closure_file_has_ordinary_permissions(tmp_path: Path, ontology: Path) -> None:
    """A new file gets what the umask allows (not a temporary file's owner-only 0o600); a
    replaced file keeps its own."""
    data = tmp_path / "family.ttl"
    data.write_text(DATA["ttl"], encoding="utf-8")
    umask = os.umask(0o022)
    os.umask(umask)
    assert reason(data, "--ontology", ontology, "-o", "new.nt", cwd=tmp_path).returncode == 0
    assert stat.S_IMODE((tmp_path / "new.nt").stat().st_mode) == 0o666 & ~umask
    (tmp_path / "old.nt").write_text("old\n", encoding="utf-8")
    (tmp_path / "old.nt").chmod(0o640)
    assert reason(data, "--ontology", ontology, "-o", "old.nt", cwd=tmp_path).returncode == 0
    assert stat.S_IMODE((tmp_path / "old.nt").stat().st_mode) == 0o640
    assert len(read_triples(tmp_path / "old.nt")) == 4 + ONTOLOGY_TRIPLES + len(INFERRED_TRIPLES)


def test_a_writer_that_fails_midway_leaves_the_old_file_whole(tmp_path: Path) -> None:
    """The streamed write of a closure: half of it was written when the writer failed."""
    target = tmp_path / "closure.nt"
    target.write_text("old closure\n", encoding="utf-8")

    def half_then_fail(out: BinaryIO) -> None:
        out.write(b"<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, half_then_fail)
    assert target.read_text(encoding="utf-8") == "old closure\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["closure.nt"]


def test_contradictions_are_counted_and_the_first_listed(tmp_path: Path) -> None:
    """cax-dw (OWL 2 RL, table 7): a member of two disjoint classes is a contradiction."""
    (tmp_path / "pets.ttl").write_text(
        f"<{EX}Cat> <http://www.w3.org/2002/07/owl#disjointWith> <{EX}Dog> .\n",
        encoding="utf-8",
    )
    (tmp_path / "animals.nt").write_text(
        "".join(f"<{EX}pet-{i}> <{RDF_TYPE}> <{EX}Cat> .\n" for i in range(25))
        + "".join(f"<{EX}pet-{i}> <{RDF_TYPE}> <{EX}Dog> .\n" for i in range(22, 47)),
        encoding="utf-8",
    )  # pets 22, 23 and 24 are both
    done = reason("animals.nt", "--ontology", "pets.ttl", "-f", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["inconsistency_count"] == 3
    assert {p["rule"] for p in report["inconsistencies"]} == {"cax-dw"}
    assert {p["resource"] for p in report["inconsistencies"]} == {
        f"{EX}pet-{i}" for i in (22, 23, 24)
    }
    quiet = reason("animals.nt", "--ontology", "pets.ttl", "--no-consistency", cwd=tmp_path)
    assert "inconsistencies" not in quiet.stdout
    (tmp_path / "animals.nt").write_text(
        "".join(
            f"<{EX}pet-{i}> <{RDF_TYPE}> <{EX}{c}> .\n" for i in range(25) for c in ("Cat", "Dog")
        ),
        encoding="utf-8",
    )
    done = reason("animals.nt", "--ontology", "pets.ttl", cwd=tmp_path)
    lines = done.stdout.splitlines()
    at = lines.index("25 inconsistencies")
    assert all(line.startswith("  cax-dw: ") for line in lines[at + 1 : at + 21])
    assert lines[at + 21 :] == ["  ... and 5 more"]


def test_gzip_files_are_read_and_written(tmp_path: Path, ontology: Path) -> None:
    (tmp_path / "family.trig.gz").write_bytes(gzip.compress(DATA["trig"].encode()))
    done = reason("family.trig.gz", "--ontology", ontology, "-o", "closure.nq.gz", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    unpacked = tmp_path / "closure.nq"
    unpacked.write_bytes(gzip.decompress((tmp_path / "closure.nq.gz").read_bytes()))
    graphs = by_graph(unpacked)
    assert graphs[ASSERTED] == DATA_TRIPLES and graphs[INFERRED] == INFERRED_TRIPLES
    (tmp_path / "cut.nt.gz").write_bytes(gzip.compress(DATA["nt"].encode())[:40])
    done = reason("cut.nt.gz", "-o", "out.nt", cwd=tmp_path)
    assert done.returncode != 0 and not (tmp_path / "out.nt").exists()
    assert done.stderr.startswith("error: cut.nt.gz: not whole gzip data")


def test_the_written_owl_rl_closure_is_owlrls(tmp_path: Path) -> None:
    """On the reasoning tests' small ontology and data: ``reason --no-rules`` writes, at the
    instance level, the closure owlrl (the reference OWL 2 RL implementation) computes from
    the same triples (every graph of the data file, the default one included)."""
    ontology, data = MINI_ONTOLOGY, MINI_DATA
    done = reason(data, "--ontology", ontology, "--no-rules", "-o", "out.nt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    ours = {
        (str(q.subject), str(q.predicate), str(q.object))
        for q in ox.parse(path=tmp_path / "out.nt")
        if not {type(q.subject), type(q.object)} & {ox.BlankNode}
    }
    graph = rdflib.Graph()
    graph.parse(ontology, format="turtle")
    dataset = rdflib.Dataset()
    dataset.parse(data, format="trig")
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        graph.add((s, p, o))
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
    theirs = {
        (s.n3(), p.n3(), o.n3())
        for s, p, o in graph
        if not isinstance(s, rdflib.BNode) and not isinstance(o, rdflib.BNode)
    }
    schema = {str(q.subject) for q in ox.parse(path=ontology)}
    assert instance_level(ours, schema) == instance_level(theirs, schema)
    assert len(instance_level(ours, schema)) > 50  # a closure worth comparing


def test_blank_nodes_of_two_files_stay_apart_and_repeats_count_once(tmp_path: Path) -> None:
    # RDF 1.1 Semantics, 5.2: blank node identifiers are local to their document, so the
    # same label in two files names two nodes; a triple repeated in one dataset's graphs is
    # one triple of the union
    for name in ("one.ttl", "two.ttl"):
        (tmp_path / name).write_text(f"_:b1 a <{EX}Cat> .\n", encoding="utf-8")
    (tmp_path / "g.trig").write_text(
        f"<{EX}g1> {{ <{EX}tom> a <{EX}Cat> }}\n<{EX}g2> {{ <{EX}tom> a <{EX}Cat> }}\n",
        encoding="utf-8",
    )
    (tmp_path / "classes.ttl").write_text(
        f"<{EX}Cat> <http://www.w3.org/2000/01/rdf-schema#subClassOf> <{EX}Animal> .\n",
        encoding="utf-8",
    )
    for output in ("out.nt", "out.nq"):  # read without a store, and through one
        done = reason(
            "one.ttl", "two.ttl", "g.trig", "--ontology", "classes.ttl", "--no-rules",
            "--no-consistency", "-o", output, "--format", "json", cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert (report["data_triples"], report["ontology_triples"]) == (3, 1), output
        # cax-sco: each of the two blank nodes and tom is an Animal
        assert report["inferred_triples"] == 3, output
    animals = {
        q.subject
        for q in ox.parse(path=tmp_path / "out.nt")
        if (q.predicate.value, q.object.value) == (RDF_TYPE, EX + "Animal")
    }
    assert len(animals) == 3


def test_blank_nodes_of_two_dataset_files_stay_apart(tmp_path: Path) -> None:
    # the same, for TriG and N-Quads: a dataset's blank node labels are local to its file
    # (shared by its graphs), so `_:b1` of one file is not `_:b1` of the other
    (tmp_path / "one.trig").write_text(
        f"<{EX}g1> {{ _:b1 a <{EX}Cat> }}\n<{EX}g2> {{ _:b1 a <{EX}Cat> }}\n", encoding="utf-8"
    )
    (tmp_path / "two.nq").write_text(f"_:b1 <{RDF_TYPE}> <{EX}Cat> <{EX}g3> .\n", encoding="utf-8")
    (tmp_path / "classes.ttl").write_text(
        f"<{EX}Cat> <http://www.w3.org/2000/01/rdf-schema#subClassOf> <{EX}Animal> .\n",
        encoding="utf-8",
    )
    for output in ("out.nt", "out.nq"):  # read without a store, and through one
        done = reason(
            "one.trig", "two.nq", "--ontology", "classes.ttl", "--no-rules",
            "--no-consistency", "-o", output, "--format", "json", cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["data_triples"] == 2, output
        assert report["inferred_triples"] == 2, output


def test_a_closure_read_without_a_store_is_the_one_read_through_it(
    tmp_path: Path, ontology: Path
) -> None:
    # a triple format is reasoned from the files as parsed, a dataset format through the
    # store that keeps their graphs: both give the same closure (named graphs aside)
    (tmp_path / "data.trig").write_text(DATA["trig"], encoding="utf-8")
    for output in ("out.nt", "out.nq"):
        done = reason("data.trig", "--ontology", ontology, "-o", output, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    through_store = {
        (q.subject.value, q.predicate.value, q.object.value)
        for q in ox.parse(path=tmp_path / "out.nq")
        if not {type(q.subject), type(q.object)} & {ox.BlankNode}
    }
    without = read_triples(tmp_path / "out.nt", ground=True)
    assert (EX + "tom", EX + "hasUncle", EX + "bob") in without  # the chain, with its list
    assert without == through_store


def test_a_large_closure_is_kept_out_of_the_collectors_generations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # above the threshold, the read triples and the closure are frozen (gc.freeze), so no
    # collection walks them; below it, nothing is
    from karabakh_kg.graph.reasoning import closure

    gc.unfreeze()
    try:
        encoded = closure.read([MINI_DATA], [MINI_ONTOLOGY])
        closure.compute(encoded.kg, rules=False, encoded=encoded)
        assert gc.get_freeze_count() == 0
        monkeypatch.setattr(closure, "FREEZE_ABOVE", 0)
        encoded = closure.read([MINI_DATA], [MINI_ONTOLOGY])
        assert gc.get_freeze_count() > 0
        gc.unfreeze()
        r = closure.compute(encoded.kg, rules=False, encoded=encoded)
        assert gc.get_freeze_count() > len(r.engine.facts)  # each fact is a tracked tuple
    finally:
        gc.unfreeze()


def test_n_triples_are_written_as_pyoxigraphs_serializer_writes_them(
    tmp_path: Path, ontology: Path
) -> None:
    # the closure's N-Triples are written line by line from each term's text: byte for byte
    # what the serializer makes of the same triples (escapes, language tags, datatypes,
    # blank nodes), plain and gzip-compressed
    from karabakh_kg.graph.reasoning import closure

    data = tmp_path / "data.ttl"
    note = '"say \\"hi\\"\\nthen\\ttab \\\\ é \\u0007"@en-GB'
    number = '"5"^^<http://www.w3.org/2001/XMLSchema#integer>'
    data.write_text(
        DATA["ttl"] + f"\n:tom :note {note} , {number} , [ :hasParent :ann ] .\n",
        encoding="utf-8",
    )
    encoded = closure.read([data], [ontology])
    r = closure.compute(encoded.kg, rules=False, encoded=encoded)
    for inferred_only in (False, True):
        expected = ox.serialize(
            closure.triples(r, inferred_only=inferred_only), format=ox.RdfFormat.N_TRIPLES
        )
        for name, read in (("out.nt", Path.read_bytes), ("out.nt.gz", _gunzip)):
            written = closure.write(encoded.kg, r, tmp_path / name, inferred_only=inferred_only)
            assert read(tmp_path / name) == expected
            assert written.statements == expected.count(b"\n")
        # the literal is asserted of :tom, and inferred of :thomas (owl:sameAs)
        assert b'"say \\"hi\\"\\nthen\\ttab \\\\ \xc3\xa9 \\u0007"@en-gb .' in expected.lower()


def _gunzip(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes())
