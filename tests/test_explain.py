"""Explanations: derivation trees down to quotes, in Python, text and JSON, and the CLI."""

from __future__ import annotations

import json

import pytest
from reasoning_support import MINI_DATA_DIR, RULES, make_kg
from typer.testing import CliRunner

from karabakh_kg.graph import reasoning
from karabakh_kg.graph.dataset import KnowledgeGraph
from karabakh_kg.graph.reasoning.explain import explain
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


# -- every derivation (--all, all=true, all_derivations=True) on the curated graph -------------

ARM_AZE = (KG + "armenia", KGO + "negotiatedWith", KG + "azerbaijan")
MOSCOW = f"<{KG}moscow-foreign-ministers-meeting>"


def _nodes(e):  # type: ignore[no-untyped-def]
    yield e
    for p in e.premises:
        yield from _nodes(p)


def test_all_derivations_show_line_59_and_the_moscow_meeting(kg: KnowledgeGraph) -> None:
    e = explain(kg, *ARM_AZE, all_derivations=True)
    assert e.status == "derived" and len(e.derivations) >= 2
    # the recorded derivation comes first, as without the option
    assert (e.derivations[0].rule, e.derivations[0].premises) == (e.rule, e.premises)
    line_59, moscow = [], []
    for d in e.derivations:
        assert d.status == "derived" and d.rule and d.premises
        nodes = [n for p in d.premises for n in _nodes(p)]
        # finite and without cycles: the triple never supports itself
        assert all(
            (n.subject, n.predicate, n.object) != (e.subject, e.predicate, e.object) for n in nodes
        )
        leaves = [leaf for p in d.premises for leaf in _leaves(p)]
        assert {leaf.status for leaf in leaves} <= {"asserted", "ontology"}
        lines = {ev.line for leaf in leaves for ev in leaf.evidence}
        if 59 in lines and any(
            "settlement negotiations" in (ev.quote or "") for leaf in leaves for ev in leaf.evidence
        ):
            line_59.append(d)
        if any(leaf.subject == MOSCOW and leaf.evidence for leaf in leaves) and 1 in lines:
            moscow.append(d)
    assert line_59 and moscow and set(map(id, line_59)) != set(map(id, moscow))
    text = e.to_text()
    assert f"[derived {len(e.derivations)} ways]" in text and "line 59" in text
    assert "moscow-foreign-ministers-meeting" in text
    data = json.loads(json.dumps(e.to_dict()))
    assert len(data["derivations"]) == len(e.derivations)
    assert {d["rule"] for d in data["derivations"]} == {d.rule for d in e.derivations}


def test_without_the_option_the_explanation_is_unchanged(kg: KnowledgeGraph) -> None:
    plain = explain(kg, *ARM_AZE)
    every = explain(kg, *ARM_AZE, all_derivations=True)
    assert plain.derivations == [] and "derivations" not in plain.to_dict()
    assert plain.to_dict() == {k: v for k, v in every.to_dict().items() if k != "derivations"}
    assert (
        plain.to_text().splitlines()[0].endswith(f"[derived by {plain.rule}: {plain.rule_label}]")
    )


def test_all_derivations_of_an_asserted_triple_say_asserted(kg: KnowledgeGraph) -> None:
    e = explain(
        kg,
        KG + "ceyhun-bayramov",
        KGO + "holdsPost",
        KG + "foreign-minister-of-azerbaijan",
        all_derivations=True,
    )
    assert e.status == "asserted" and e.derivations == []
    assert e.evidence and all(ev.quote for ev in e.evidence)
    assert "[asserted]" in e.to_text()


def test_cli_all_lists_every_derivation_in_text_and_json() -> None:
    args = ["explain", "Armenia", "kgo:negotiatedWith", "Azerbaijan"]
    plain = runner.invoke(app, args)
    every = runner.invoke(app, [*args, "--all"])
    assert plain.exit_code == 0 and every.exit_code == 0, every.output
    assert "ways]" not in plain.output and "ways]" in every.output
    assert "line 59" in every.output and "moscow-foreign-ministers-meeting" in every.output
    assert every.output.count("\n  1. by ") == 1 and "\n  2. by " in every.output
    data = json.loads(runner.invoke(app, [*args, "--all", "--format", "json"]).output)
    assert len(data["derivations"]) >= 2
    assert "derivations" not in json.loads(runner.invoke(app, [*args, "-f", "json"]).output)


def test_cli_all_on_a_triple_that_does_not_hold_exits_non_zero() -> None:
    result = runner.invoke(app, ["explain", "Armenia", "kgo:negotiatedWith", "Armenia", "--all"])
    assert result.exit_code != 0 and "is neither asserted nor entailed" in result.output
    assert "Traceback" not in result.output


def test_explain_page_all_true(live_server) -> None:  # type: ignore[no-untyped-def]
    import httpx

    query = {"s": ARM_AZE[0], "p": ARM_AZE[1], "o": f"<{ARM_AZE[2]}>"}
    url = live_server.url + "/explain"
    as_json = httpx.get(
        url, params={**query, "all": "true"}, headers={"Accept": "application/json"}, timeout=10
    )
    assert as_json.status_code == 200 and len(as_json.json()["derivations"]) >= 2
    plain = httpx.get(url, params=query, headers={"Accept": "application/json"}, timeout=10)
    assert "derivations" not in plain.json()
    page = httpx.get(
        url, params={**query, "all": "true"}, headers={"Accept": "text/html"}, timeout=10
    )
    assert page.status_code == 200 and page.text.count('class="derivation"') >= 2
    assert (
        'class="derivation"'
        not in httpx.get(url, params=query, headers={"Accept": "text/html"}, timeout=10).text
    )
    bad = httpx.get(
        url, params={**query, "all": "maybe"}, headers={"Accept": "application/json"}, timeout=10
    )
    assert bad.status_code == 400 and "all must be true or false" in bad.json()["detail"]


def test_explain_answers_as_a_page_or_json_as_asked(live_server) -> None:  # type: ignore[no-untyped-def]
    """``/explain`` is a page or JSON, by ``format=`` (``html``, ``json``) then ``Accept``
    (RFC 9110: a header admitting neither is a 406); an unknown ``format=`` or a header
    that cannot be read is a 400, as on the resource pages."""
    import httpx

    query = {"s": ARM_AZE[0], "p": ARM_AZE[1], "o": f"<{ARM_AZE[2]}>"}
    url = live_server.url + "/explain"

    def ask(accept: str | None = None, **extra: str) -> httpx.Response:
        headers = {} if accept is None else {"Accept": accept}
        return httpx.get(url, params={**query, **extra}, headers=headers, timeout=30)

    assert ask("application/json").headers["content-type"].startswith("application/json")
    assert ask("text/html").headers["content-type"].startswith("text/html")
    assert ask("*/*").headers["content-type"].startswith("text/html")
    assert ask("text/html", format="json").json()["status"] in ("asserted", "derived")
    assert ask("application/json", format="html").headers["content-type"].startswith("text/html")
    for accept, extra, status, code in (
        ("image/png", {}, 406, "not-acceptable"),
        ("text/html;q=0, application/json;q=0", {}, 406, "not-acceptable"),
        (";;;", {}, 400, "malformed-accept"),
        ("application/json", {"format": "x"}, 400, "unknown-format"),
    ):
        refused = ask(accept, **extra)
        assert refused.status_code == status, (accept, extra, refused.text[:200])
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == code


def test_blank_node_labels_do_not_depend_on_the_store_nor_on_the_order_asked() -> None:
    """The same list of 40 members (deeper than the 16 levels a label follows), stored
    with other blank node labels and in the reverse order, labelled by asking its nodes
    in opposite orders: each node has the same label in both (a label cut short at one
    depth was kept for every depth, so a node asked first from far away got another)."""
    import pyoxigraph as ox

    from karabakh_kg.graph.reasoning.blank_labels import BlankLabels

    rdf = vocab.PREFIXES["rdf"]
    graph = ox.NamedNode(vocab.BASE + "graph/asserted")
    holder = ox.NamedNode(vocab.BASE + "resource/list-holder")
    members = ox.NamedNode(vocab.BASE + "ontology#members")

    def stored(prefix: str, order: int) -> tuple[ox.Store, list[ox.BlankNode]]:
        nodes = [ox.BlankNode(f"{prefix}{i}") for i in range(40)]
        quads = [ox.Quad(holder, members, nodes[0], graph)]
        for i, node in enumerate(nodes):
            rest = nodes[i + 1] if i + 1 < len(nodes) else ox.NamedNode(rdf + "nil")
            quads.append(ox.Quad(node, ox.NamedNode(rdf + "first"), ox.Literal(str(i)), graph))
            quads.append(ox.Quad(node, ox.NamedNode(rdf + "rest"), rest, graph))
        store = ox.Store()
        store.extend(quads[::order])
        return store, nodes

    first, first_nodes = stored("a", 1)
    second, second_nodes = stored("z", -1)
    first_labels = BlankLabels(first, [graph])
    second_labels = BlankLabels(second, [graph])
    from_head = [first_labels.label(node) for node in first_nodes]
    from_tail = [second_labels.label(node) for node in reversed(second_nodes)][::-1]
    assert from_head == from_tail
    assert len(set(from_head)) == 40  # every member stands elsewhere in the list
