"""The ``query`` and ``stats`` commands, run through the real typer app."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

from karabakh_kg.server.cli import app

runner = CliRunner()

LABEL_QUERY = "SELECT ?label WHERE { kg:azerbaijan rdfs:label ?label }"


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_query_table_is_the_default() -> None:
    code, out, _ = run("query", "--no-infer", LABEL_QUERY)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].strip() == "label"
    assert set(lines[1].strip()) == {"-"}
    assert lines[2].strip() == "Azerbaijan"
    assert lines[-1] == "(1 row)"


def test_query_json_is_sparql_results_json() -> None:
    code, out, _ = run("query", "--no-infer", "--format", "json", LABEL_QUERY)
    assert code == 0
    data = json.loads(out)
    assert data["head"]["vars"] == ["label"]
    binding = data["results"]["bindings"][0]["label"]
    assert binding == {"type": "literal", "value": "Azerbaijan", "xml:lang": "en"}


@pytest.mark.parametrize(("fmt", "delimiter"), [("csv", ","), ("tsv", "\t")])
def test_query_csv_and_tsv(fmt: str, delimiter: str) -> None:
    query = (
        "SELECT ?country ?label WHERE { VALUES ?country { kg:azerbaijan kg:armenia } "
        "?country rdfs:label ?label } ORDER BY ?label"
    )
    code, out, _ = run("query", "--no-infer", "--format", fmt, query)
    assert code == 0
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(out), delimiter=delimiter))
    else:  # TSV has no quoting rules: its cells are RDF terms in Turtle syntax
        rows = [line.split(delimiter) for line in out.splitlines()]
    assert [c.lstrip("?") for c in rows[0]] == ["country", "label"]
    labels = [r[1] for r in rows[1:]]
    if fmt == "tsv":
        assert labels == ['"Armenia"@en', '"Azerbaijan"@en']
    else:
        assert labels == ["Armenia", "Azerbaijan"]


def test_query_from_file_and_from_stdin(tmp_path: Path) -> None:
    path = tmp_path / "q.rq"
    path.write_text(LABEL_QUERY, encoding="utf-8")
    code, out, _ = run("query", "--no-infer", "--file", str(path))
    assert code == 0 and "Azerbaijan" in out
    code, out, _ = run("query", "--no-infer", "--format", "csv", stdin=LABEL_QUERY)
    assert code == 0 and out.splitlines() == ["label", "Azerbaijan"]


def test_ask_prints_true_or_false() -> None:
    assert run("query", "--no-infer", "ASK { kg:azerbaijan ?p ?o }")[:2] == (0, "true\n")
    assert run("query", "--no-infer", "ASK { kg:no-such-thing ?p ?o }")[:2] == (0, "false\n")
    code, out, _ = run("query", "--no-infer", "--format", "json", "ASK { kg:azerbaijan ?p ?o }")
    assert code == 0 and json.loads(out)["boolean"] is True


def test_construct_prints_turtle_or_ntriples() -> None:
    query = "CONSTRUCT { kg:azerbaijan rdfs:label ?l } WHERE { kg:azerbaijan rdfs:label ?l }"
    code, out, _ = run("query", "--no-infer", query)
    assert code == 0
    assert "kg:azerbaijan" in out and "@prefix kg:" in out
    triples = list(ox.parse(out.encode(), format=ox.RdfFormat.TURTLE))
    assert [t.object for t in triples] == [ox.Literal("Azerbaijan", language="en")]
    code, out, _ = run("query", "--no-infer", "--format", "nt", query)
    assert code == 0
    assert out.strip() == (
        "<https://w3id.org/karabakh-kg/resource/azerbaijan> "
        '<http://www.w3.org/2000/01/rdf-schema#label> "Azerbaijan"@en .'
    )


def test_no_infer_excludes_derived_triples() -> None:
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    with_inferred = run("query", "--format", "csv", query)
    without = run("query", "--no-infer", "--format", "csv", query)
    assert with_inferred[0] == without[0] == 0
    assert int(with_inferred[1].splitlines()[1]) > int(without[1].splitlines()[1]) > 0


def test_malformed_query_is_one_line_error() -> None:
    code, out, err = run("query", "SELEC ?x WHERE { ?x ?y ?z }")
    assert code != 0
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("error: malformed query:") and "1:" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "nt", LABEL_QUERY], "--format nt is for CONSTRUCT/DESCRIBE"),
        (["--format", "csv", "CONSTRUCT WHERE { ?s a kgo:State }"], "is for SELECT"),
        (["--file", "/nonexistent/q.rq"], "does not exist"),
        ([""], "empty query"),
    ],
)
def test_query_usage_errors(args: list[str], message: str) -> None:
    code, _, err = run("query", "--no-infer", *args)
    assert code != 0
    assert message in err and err.count("\n") == 1


def test_query_rejects_missing_data_dir() -> None:
    code, _, err = run("query", "--data-dir", "/nonexistent/data", LABEL_QUERY)
    assert code != 0 and "does not exist" in err


def test_stats_json_counts_graphs_classes_and_sources() -> None:
    code, out, _ = run("stats", "--format", "json")
    assert code == 0
    stats = json.loads(out)
    triples = stats["triples"]
    assert set(triples) >= {"asserted", "inferred", "provenance", "ontology"}
    assert all(triples[k] > 0 for k in ("asserted", "inferred", "provenance", "ontology"))
    assert stats["evidence_units"] > 50
    assert stats["entities_per_class"]["kgo:State"] >= 4
    assert stats["entities_per_class"]["kgo:Person"] >= 10
    assert stats["sources"]["kg:seed-article"] > 0
    assert stats["evidence_by_stance"]["kgo:ArticleStatement"] > 0
    assert stats["claimants"], "claims must name their claimant"


def test_stats_table_lists_the_graphs() -> None:
    code, out, _ = run("stats")
    assert code == 0
    assert out.startswith("data version ")
    for graph in ("asserted", "inferred", "provenance", "ontology"):
        assert any(line.split()[:1] == [graph] for line in out.splitlines())
    assert "kgo:Person" in out
