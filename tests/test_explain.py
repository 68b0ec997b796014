"""Explanations: derivation trees down to quotes, in Python, text and JSON, and the CLI."""

from __future__ import annotations

import json

import pytest
from reasoning_support import MINI_DATA_DIR, RULES, make_kg
from typer.testing import CliRunner

from karabakh_kg.graph import reasoning
from karabakh_kg.graph.dataset import KnowledgeGraph
from karabakh_kg.graph.explain import explain
from karabakh_kg.ontology import vocab
from karabakh_kg.server.cli import app

KG, KGO = str(vocab.KG), str(vocab.KGO)


@pytest.fixture(scope="module")
def mini() -> KnowledgeGraph:
    kg = make_kg(rules=RULES)
    reasoning.materialize(kg)
    return kg


def _leaves(e):  # type: ignore[no-untyped-def]
    if e.status == "derived":
        for p in e.premises:
            yield from _leaves(p)
    else:
        yield e


def test_derived_triple_is_explained_down_to_quotes(mini: KnowledgeGraph) -> None:
    e = explain(mini, KG + "azerbaijan", KGO + "negotiatedWith", KG + "armenia")
    assert e.status == "derived"
    assert e.rule in ("kgo:rule-officials-met-states-negotiated", "prp-symp")
    leaves = list(_leaves(e))
    assert {leaf.status for leaf in leaves} <= {"asserted", "ontology"}
    quotes = {ev.quote for leaf in leaves for ev in leaf.evidence}
    assert "The foreign ministers met." in quotes
    assert "Foreign ministers." in quotes
    lines = {ev.line for leaf in leaves for ev in leaf.evidence}
    assert {1, 2} <= lines
    # the chain axiom appears as an ontology premise
    text = e.to_text()
    assert "prp-spo2" in text and "[ontology axiom]" in text and "line 1" in text
    data = e.to_dict()
    assert data["status"] == "derived" and data["premises"]
    json.dumps(data)


def test_asserted_triple_says_so_with_its_quote(mini: KnowledgeGraph) -> None:
    e = explain(mini, KG + "bayramov", KGO + "holdsPost", KG + "fm-azerbaijan")
    assert e.status == "asserted"
    assert e.evidence[0].quote == "Foreign ministers." and e.evidence[0].line == 2
    assert "[asserted]" in e.to_text()


def test_triple_that_does_not_hold(mini: KnowledgeGraph) -> None:
    e = explain(mini, KG + "bayramov", KGO + "metWith", KG + "usa-envoy")
    assert not e.holds and e.status == "not entailed"
    assert "does not hold" in e.to_text()


def test_literal_objects_are_accepted(mini: KnowledgeGraph) -> None:
    e = explain(mini, KG + "moscow-meeting", KGO + "date", '"2020-10-09"^^xsd:date')
    assert e.status == "asserted"


runner = CliRunner()


def test_cli_explains_with_curies_in_text_and_json() -> None:
    args = [
        "explain",
        "kg:mnatsakanyan",
        "kgo:actsFor",
        "kg:armenia",
        "--data-dir",
        str(MINI_DATA_DIR),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "prp-spo2" in result.output and '"Foreign ministers."' in result.output
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["rule"] == "prp-spo2"


def test_cli_asserted_and_label_arguments() -> None:
    result = runner.invoke(
        app, ["explain", "kg:bayramov", "a", "Person", "--data-dir", str(MINI_DATA_DIR)]
    )
    assert result.exit_code == 0, result.output
    assert "[asserted]" in result.output


def test_cli_not_entailed_exits_non_zero_with_one_line() -> None:
    result = runner.invoke(
        app,
        ["explain", "kg:bayramov", "kgo:metWith", "kg:usa-envoy", "--data-dir", str(MINI_DATA_DIR)],
    )
    assert result.exit_code != 0
    assert (
        "error: kg:bayramov kgo:metWith kg:usa-envoy is neither asserted nor entailed"
        in result.output
    )
    assert "Traceback" not in result.output


def test_cli_unknown_name_is_a_clear_error() -> None:
    result = runner.invoke(
        app, ["explain", "nobody at all", "kgo:metWith", "kg:x", "--data-dir", str(MINI_DATA_DIR)]
    )
    assert result.exit_code != 0 and "error:" in result.output and "Traceback" not in result.output


def test_cli_reason_prints_a_summary() -> None:
    result = runner.invoke(app, ["reason", "--data-dir", str(MINI_DATA_DIR)])
    assert result.exit_code == 0, result.output
    assert "inferred triples" in result.output and "prp-spo2" in result.output
    result = runner.invoke(app, ["reason", "--data-dir", str(MINI_DATA_DIR), "--format", "json"])
    data = json.loads(result.output)
    assert data["inferred_triples"] == sum(data["by_rule"].values())
    assert data["seconds"] >= 0
