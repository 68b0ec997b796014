"""The reasoner: what it derives, what it keeps out, and agreement with owlrl."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pyoxigraph as ox
import pytest
from reasoning_support import (
    RULES,
    graph_triples,
    inferred,
    instance_level,
    make_kg,
    ontology_subjects,
    owlrl_closure,
)

from karabakh_kg.graph import reasoning
from karabakh_kg.graph.dataset import ASSERTED, INFERRED, KnowledgeGraph
from karabakh_kg.graph.loading import load_graph
from karabakh_kg.graph.reasoning.engine import TermTable
from karabakh_kg.graph.reasoning.rules import DomainRule, RuleError, compile_domain_rule
from karabakh_kg.ontology import vocab

KG, KGO = str(vocab.KG), str(vocab.KGO)
TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"


def t(s: str, p: str, o: str) -> tuple[str, str, str]:
    """A triple of kg: subject/object and kgo: predicate, in N-Triples term form."""
    obj = f"<{KGO}{o[4:]}>" if o.startswith("kgo:") else f"<{KG}{o}>"
    pred = TYPE if p == "a" else f"<{KGO}{p}>"
    return (f"<{KG}{s}>", pred, obj)


@pytest.fixture(scope="module")
def mini() -> KnowledgeGraph:
    kg = make_kg(rules=RULES)
    reasoning.materialize(kg)
    return kg


def test_owl_entailments_of_every_kind(mini: KnowledgeGraph) -> None:
    got = inferred(mini)
    expected = {
        t("bayramov", "actsFor", "azerbaijan"),  # property chain
        t("mnatsakanyan", "metWith", "bayramov"),  # domain rule + symmetry
        t("bayramov", "communicatedWith", "lavrov"),  # sub-property of a rule's result
        t("moscow-meeting", "participant", "lavrov"),  # host ⊑ participant
        t("lavrov", "participatedIn", "moscow-meeting"),  # inverse
        t("karachinar", "locatedIn", "azerbaijan-territory"),  # transitive
        t("usa", "memberOf", "minsk-group"),  # co-chairs are members
        t("minsk-group", "hasCoChair", "usa"),
        t("lavrov", "a", "kgo:Person"),  # domain
        t("fm-russia", "a", "kgo:Post"),  # range
        t("moscow-meeting", "a", "kgo:Event"),  # sub-class (two steps)
        t("moscow-meeting", "a", "kgo:Negotiation"),  # equivalent class
        t("moscow-meeting", "a", "kgo:OccurredEvent"),  # hasValue
        t("call", "a", "kgo:Communication"),  # union
        t("macron", "talkedWith", "putin"),  # equivalent property
        (f"<{KG}putin>", "<http://www.w3.org/2002/07/owl#sameAs>", f"<{KG}vladimir-putin>"),
        t("call", "participant", "vladimir-putin"),  # sameAs replacement
    }
    assert expected <= got, sorted(expected - got)


def test_domain_rules(mini: KnowledgeGraph) -> None:
    got = inferred(mini)
    assert t("azerbaijan", "negotiatedWith", "armenia") in got
    assert t("armenia", "negotiatedWith", "azerbaijan") in got
    assert t("moscow-meeting", "involvedState", "russia") in got
    assert t("strike", "location", "azerbaijan-territory") in got  # enclosing places
    assert t("macron", "spokeWith", "putin") in got  # phone call
    assert t("lavrov", "metWith", "bayramov") in got  # host met guests
    # a planned meeting is no evidence that anyone met
    assert t("bayramov", "metWith", "usa-envoy") not in got
    assert t("azerbaijan", "negotiatedWith", "usa") not in got


def test_inferred_graph_is_kept_apart_and_free_of_noise(mini: KnowledgeGraph) -> None:
    got = inferred(mini)
    assert got and not got & graph_triples(mini, ASSERTED)
    builtin = (
        "<http://www.w3.org/1999/02",
        "<http://www.w3.org/2000/01",
        "<http://www.w3.org/2002/07",
    )
    for s, p, o in got:
        assert not s.startswith(('"', *builtin)), (s, p, o)
        if p == TYPE:
            assert o not in (
                "<http://www.w3.org/2002/07/owl#Thing>",
                "<http://www.w3.org/2000/01/rdf-schema#Resource>",
            )
            assert not o.startswith("_:")
        if p.endswith("owl#sameAs>"):
            assert s != o


def test_include_inferred_switch(mini: KnowledgeGraph) -> None:
    ask = "ASK { kg:azerbaijan kgo:negotiatedWith kg:armenia }"
    assert mini.query(ask).__bool__()
    assert not mini.query(ask, include_inferred=False).__bool__()


def test_report_counts_rules(mini: KnowledgeGraph) -> None:
    report = reasoning.materialize(mini)
    assert report.derived == len(inferred(mini)) == sum(report.by_rule.values())
    assert report.by_rule["prp-spo2"] >= 3
    assert report.by_rule["kgo:rule-officials-met-states-negotiated"] >= 2


def _owl_only_matches_owlrl(kg: KnowledgeGraph) -> int:
    r = reasoning.build(kg, domain_rules=False)
    ours = {tuple(str(x) for x in r.decode(t)) for t in r.engine.facts}
    schema = ontology_subjects(kg)
    mine = instance_level(ours, schema)  # type: ignore[arg-type]
    reference = instance_level(owlrl_closure(kg), schema)
    assert mine == reference, (sorted(mine - reference)[:10], sorted(reference - mine)[:10])
    return len(mine)


def test_owl_part_equals_owlrl_on_every_axiom_kind() -> None:
    assert _owl_only_matches_owlrl(make_kg()) > 80


def test_owl_part_equals_owlrl_on_the_curated_graph() -> None:
    _owl_only_matches_owlrl(load_graph(reason=False))


def _bench_generate():  # type: ignore[no-untyped-def]
    path = Path(__file__).parents[1] / "bench" / "generate.py"
    spec = importlib.util.spec_from_file_location("bench_generate", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_owl_part_equals_owlrl_on_a_generated_graph() -> None:
    quads = _bench_generate().generate(1500, seed=3)
    kg = make_kg(ontology=vocab.ontology_file(), data=quads)
    assert _owl_only_matches_owlrl(kg) > 1500


def test_generated_graph_with_domain_rules_derives_negotiations() -> None:
    quads = _bench_generate().generate(1500, seed=4)
    kg = make_kg(ontology=vocab.ontology_file(), data=quads, rules=RULES)
    report = reasoning.materialize(kg)
    assert report.by_rule.get("kgo:rule-officials-met-states-negotiated", 0) > 0
    assert report.by_rule.get("prp-spo2", 0) > 0


def test_curated_graph_inferred_is_separate(kg: KnowledgeGraph) -> None:
    assert not graph_triples(kg, INFERRED) & graph_triples(kg, ASSERTED)


@pytest.mark.parametrize(
    ("construct", "problem"),
    [
        (
            "CONSTRUCT { ?a kgo:metWith ?b } WHERE { ?a kgo:x ?c OPTIONAL { ?c kgo:y ?b } }",
            "only basic",
        ),
        ("CONSTRUCT { ?a kgo:metWith ?z } WHERE { ?a kgo:x ?b }", "not bound"),
        ("CONSTRUCT { ?a kgo:metWith ?b } WHERE { ?a kgo:x ?b FILTER(?a < ?b) }", "FILTER"),
        ("CONSTRUCT { ?a kgo:metWith _:new } WHERE { ?a kgo:x ?b }", "blank nodes"),
        ("CONSTRUCT { WHERE", "cannot parse"),
    ],
)
def test_unsupported_domain_rules_are_refused(construct: str, problem: str) -> None:
    rule = DomainRule("urn:rule", "test rule", "", construct)
    with pytest.raises(RuleError, match=problem):
        compile_domain_rule(rule, TermTable())


def test_literal_never_becomes_a_subject() -> None:
    kg = make_kg()
    kg.store.add(
        ox.Quad(
            ox.NamedNode(KG + "x"),
            ox.NamedNode(KGO + "communicatedWith"),
            ox.Literal("y"),
            ASSERTED,
        )
    )
    reasoning.materialize(kg)
    assert all(not s.startswith('"') for s, _, _ in inferred(kg))
