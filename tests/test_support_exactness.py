"""The supports are exact whatever way they are computed: equal to the brute-force
definition (the minimal sets of units whose recomputed closure holds the triple) on a small
graph, for data without evidence units, and for triples with many supports."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import pyoxigraph as ox
from hypothesis import given, settings
from hypothesis import strategies as st
from reasoning_support import MINI_ONTOLOGY, RULES, make_kg, supports_of

from karabakh_kg.graph import reasoning
from karabakh_kg.graph.rdf_files import load_files
from karabakh_kg.graph.reasoning.engine import Engine, TermTable
from karabakh_kg.graph.reasoning.perspective_graphs import UNCURATED
from karabakh_kg.graph.reasoning.support import SupportIndex, minimal

PREFIXES = """
@prefix kg: <https://w3id.org/karabakh-kg/resource/> .
@prefix kgo: <https://w3id.org/karabakh-kg/ontology#> .
@prefix kge: <https://w3id.org/karabakh-kg/evidence/> .
"""
# Six units: a transitive chain split over units with a shortcut of its own (u3) and a
# cycle back (u6), a property chain whose two links come from different units, a
# symmetric statement made both ways, and one triple that two units assert.
UNITS = {
    "u1": "kg:a kgo:locatedIn kg:b . kg:x kgo:spokeWith kg:y .",
    "u2": "kg:b kgo:locatedIn kg:c . kg:m kgo:participant kg:q .",
    "u3": "kg:a kgo:locatedIn kg:c . kg:m kgo:location kg:a .",
    "u4": "kg:p kgo:holdsPost kg:post . kg:m kgo:participant kg:p .",
    "u5": "kg:post kgo:postIn kg:s . kg:q kgo:metWith kg:p . kg:m a kgo:Meeting .",
    "u6": "kg:p kgo:metWith kg:q . kg:c kgo:locatedIn kg:a . kg:x kgo:spokeWith kg:y .",
}
KGE = "https://w3id.org/karabakh-kg/evidence/"
KGO = "https://w3id.org/karabakh-kg/ontology#"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"

Terms = tuple[str, str, str]


def _quads(units: list[str]) -> list[ox.Quad]:
    text = PREFIXES + "".join(f"kge:{u} {{ {UNITS[u]} }}\n" for u in units)
    return list(ox.parse(text, format=ox.RdfFormat.TRIG))


def _named(t: Terms) -> bool:
    """Whether no term is a blank node (the ontology's get new labels at each load)."""
    return not any(x.startswith("_:") for x in t)


def _closure(units: list[str]) -> set[Terms]:
    kg = make_kg(ontology=MINI_ONTOLOGY, data=_quads(units), rules=RULES)
    r = reasoning.build(kg)
    closure = {tuple(str(x) for x in r.decode(t)) for t in r.engine.facts}
    return {t for t in closure if _named(t)}  # type: ignore[misc]


def _brute_force() -> dict[Terms, set[frozenset[str]]]:
    """Every triple's minimal sets of units, by reasoning on each of the 64 subsets."""
    names = sorted(UNITS)
    holding: dict[Terms, list[frozenset[str]]] = {}
    for size in range(len(names) + 1):
        for chosen in combinations(names, size):
            for t in _closure(list(chosen)):
                holding.setdefault(t, []).append(frozenset(KGE + u for u in chosen))
    return {t: {s for s in sets if not any(o < s for o in sets)} for t, sets in holding.items()}


def test_supports_equal_the_minimal_subsets_of_units_that_derive_each_triple() -> None:
    kg = make_kg(ontology=MINI_ONTOLOGY, data=_quads(sorted(UNITS)), rules=RULES)
    reasoning.materialize(kg)
    listed = {t: s for t, s in supports_of(kg).items() if _named(t)}
    expected = _brute_force()
    assert listed == expected
    # the graph does exercise alternatives and joins across units
    kg_, kgo_ = "https://w3id.org/karabakh-kg/resource/", KGO
    a_in_c = (f"<{kg_}a>", f"<{kgo_}locatedIn>", f"<{kg_}c>")
    assert listed[a_in_c] == {frozenset({KGE + "u3"}), frozenset({KGE + "u1", KGE + "u2"})}


def test_data_without_evidence_units_rests_on_the_asserted_graph_or_on_nothing(
    tmp_path: Path,
) -> None:
    """A file's triples outside named graphs are in no evidence unit: each derived triple
    rests on the pseudo-unit of the asserted graph, or on nothing when the ontology alone
    derives it."""
    data = tmp_path / "data.ttl"
    data.write_text(PREFIXES + "".join(UNITS.values()))
    empty = tmp_path / "empty.ttl"
    empty.write_text("")
    # an ontology that derives facts of its own (an individual's classes)
    ontology = tmp_path / "ontology.ttl"
    ontology.write_text(MINI_ONTOLOGY.read_text() + PREFIXES + "kg:osce a kgo:MediationGroup .")
    kg = load_files([data], ontologies=[ontology], rules=False)
    reasoning.materialize(kg)
    ontology_alone = reasoning.build(load_files([empty], ontologies=[ontology], rules=False))
    from_ontology = {
        tuple(str(x) for x in ontology_alone.decode(t)) for t in ontology_alone.engine.facts
    }
    listed = {t: s for t, s in supports_of(kg).items() if _named(t)}
    agent = ("<https://w3id.org/karabakh-kg/resource/osce>", RDF_TYPE, f"<{KGO}Agent>")
    assert agent in from_ontology and len(listed) > len(from_ontology)
    for t, supports in listed.items():
        if t in from_ontology:
            assert supports == {frozenset()}, t
        else:
            assert supports == {frozenset({UNCURATED})}, t


def _naive_minimal(masks: list[int]) -> set[int]:
    unique = set(masks)
    return {m for m in unique if not any(o != m and o & ~m == 0 for o in unique)}


# over ten units many masks contain others, and antichains grow past a dozen members
antichains = st.lists(st.integers(min_value=0, max_value=(1 << 10) - 1), max_size=80)


@settings(max_examples=150, deadline=None)
@given(antichains)
def test_minimal_keeps_exactly_the_minimal_sets(masks: list[int]) -> None:
    found = minimal(masks)
    assert set(found) == _naive_minimal(masks)
    assert list(found) == sorted(found, key=lambda m: (m.bit_count(), m))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(min_value=1, max_value=(1 << 10) - 1), max_size=40),
        min_size=1,
        max_size=12,
    ).map(
        lambda batches: sorted(batches, key=lambda b: -min((m.bit_count() for m in b), default=0))
    )
)
def test_supports_added_in_batches_stay_the_minimal_sets(batches: list[list[int]]) -> None:
    """However many supports a triple gathers (past the size where sets index them), and in
    whatever batches, it keeps exactly the minimal ones, smallest first."""
    index = SupportIndex(Engine([], 0, 1, set()), TermTable())
    head = (0, 1, 2)
    everything: list[int] = []
    for batch in batches:
        if batch:
            index._add(head, batch)
        everything += batch
        found = index.of.get(head, ())
        assert set(found) == _naive_minimal(everything)
        assert list(found) == sorted(found, key=lambda m: (m.bit_count(), m))
