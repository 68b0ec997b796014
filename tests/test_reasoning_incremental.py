"""Incremental reasoning: after additions and deletions, the inferred graph equals a full
recomputation, deletions included."""

from __future__ import annotations

import pyoxigraph as ox
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reasoning_support import MINI_DATA, RULES, inferred, make_kg

from karabakh_kg.graph import reasoning
from karabakh_kg.graph.dataset import ASSERTED
from karabakh_kg.ontology import vocab

KG, KGO = str(vocab.KG), str(vocab.KGO)
BASE = sorted(
    {
        ox.Triple(q.subject, q.predicate, q.object)
        for q in ox.parse(path=MINI_DATA)
        if q.graph_name != ox.DefaultGraph()
    },
    key=str,
)


def _t(s: str, p: str, o: str) -> ox.Triple:
    obj = ox.NamedNode(KGO + o[4:]) if o.startswith("kgo:") else ox.NamedNode(KG + o)
    pred = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type" if p == "a" else KGO + p)
    return ox.Triple(ox.NamedNode(KG + s), pred, obj)


# triples that are not in the data but interact with it (new meetings, posts, places ...)
EXTRA = [
    _t("geneva-meeting", "eventStatus", "kgo:Occurred"),
    _t("lavrov", "a", "kgo:Person"),
    _t("lavrov", "metWith", "mnatsakanyan"),
    _t("goranboy", "locatedIn", "karachinar"),
    _t("macron", "holdsPost", "fm-russia"),
    _t("call", "host", "macron"),
    _t("usa-envoy", "coChairOf", "minsk-group"),
    _t("strike", "location", "moscow"),
    _t("putin", "holdsPost", "fm-russia"),
]
POOL = BASE + EXTRA


def _apply(kg, added: list[ox.Triple], removed: list[ox.Triple]) -> None:  # type: ignore[no-untyped-def]
    for t in removed:
        kg.store.remove(ox.Quad(t.subject, t.predicate, t.object, ASSERTED))
    for t in added:
        kg.store.add(ox.Quad(t.subject, t.predicate, t.object, ASSERTED))
    reasoning.update(kg, added, removed)


def _recomputed(kg) -> set[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    fresh = make_kg(data=[], rules=RULES)
    fresh.store.extend(kg.store.quads_for_pattern(None, None, None, ASSERTED))
    reasoning.materialize(fresh)
    return inferred(fresh)


steps = st.lists(
    st.tuples(
        st.lists(st.sampled_from(POOL), max_size=4, unique=True),
        st.lists(st.sampled_from(POOL), max_size=4, unique=True),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_updates_equal_full_recomputation(
    changes: list[tuple[list[ox.Triple], list[ox.Triple]]],
) -> None:
    kg = make_kg(rules=RULES)
    reasoning.materialize(kg)
    for added, removed in changes:
        asserted = {
            ox.Triple(q.subject, q.predicate, q.object)
            for q in kg.store.quads_for_pattern(None, None, None, ASSERTED)
        }
        really_removed = [t for t in removed if t in asserted and t not in added]
        really_added = [t for t in added if t not in asserted]
        _apply(kg, really_added, really_removed)
        assert inferred(kg) == _recomputed(kg)


def test_removing_a_premise_removes_exactly_what_depended_on_it() -> None:
    kg = make_kg(rules=RULES)
    reasoning.materialize(kg)
    before = inferred(kg)
    post = _t("bayramov", "holdsPost", "fm-azerbaijan")
    _apply(kg, [], [post])
    after = inferred(kg)
    gone = before - after
    assert (f"<{KG}bayramov>", f"<{KGO}actsFor>", f"<{KG}azerbaijan>") in gone
    assert (f"<{KG}azerbaijan>", f"<{KGO}negotiatedWith>", f"<{KG}armenia>") in gone
    # still true through the meeting itself
    assert (f"<{KG}bayramov>", f"<{KGO}metWith>", f"<{KG}lavrov>") in after
    assert not after - before
    assert after == _recomputed(kg)


def test_an_asserted_triple_that_is_also_entailed_moves_to_the_inferred_graph() -> None:
    kg = make_kg(rules=RULES)
    reasoning.materialize(kg)
    entailed = _t("lavrov", "participatedIn", "moscow-meeting")
    _apply(kg, [entailed], [])
    assert (str(entailed.subject), str(entailed.predicate), str(entailed.object)) not in inferred(
        kg
    )
    _apply(kg, [], [entailed])
    assert (str(entailed.subject), str(entailed.predicate), str(entailed.object)) in inferred(kg)
    assert inferred(kg) == _recomputed(kg)


def test_a_schema_change_recomputes_everything() -> None:
    kg = make_kg(rules=RULES)
    reasoning.materialize(kg)
    axiom = ox.Triple(
        ox.NamedNode(KGO + "Village"),
        ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#subClassOf"),
        ox.NamedNode(KGO + "Settlement"),
    )
    kg.store.add(ox.Quad(axiom.subject, axiom.predicate, axiom.object, ASSERTED))
    report = reasoning.update(kg, [axiom], [])
    assert report.full
    assert (
        f"<{KG}karachinar>",
        "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>",
        f"<{KGO}Settlement>",
    ) in inferred(kg)
