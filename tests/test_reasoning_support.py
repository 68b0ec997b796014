"""Support of derived triples and perspectives: differential tests against full
recomputations on a subset of the evidence units, exactness of every listed support, and
both kept exact by incremental updates."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reasoning_support import HERE, RULES, make_kg, supports_of

from karabakh_kg.graph import reasoning
from karabakh_kg.graph.dataset import (
    ASSERTED,
    CONTRIBUTIONS_GRAPHS,
    INFERRED,
    ONTOLOGY,
    PROVENANCE,
    KnowledgeGraph,
)
from karabakh_kg.graph.reasoning import perspectives as views
from karabakh_kg.graph.reasoning.support import within
from karabakh_kg.ontology import vocab

KG, KGO, KGE = str(vocab.KG), str(vocab.KGO), str(vocab.KGE)
WORLD = HERE / "perspectives.trig"
SYSTEM = {g.value for g in (ASSERTED, INFERRED, ONTOLOGY, PROVENANCE)}

Terms = tuple[str, str, str]


def _world() -> KnowledgeGraph:
    kg = make_kg(ontology=vocab.ontology_file(), data=WORLD, rules=RULES)
    reasoning.materialize(kg)
    return kg


@pytest.fixture(scope="module")
def world() -> KnowledgeGraph:
    return _world()


def _units(kg: KnowledgeGraph) -> list[str]:
    return sorted(
        g.value
        for g in kg.store.named_graphs()
        if isinstance(g, ox.NamedNode)
        and g.value not in SYSTEM
        and not views.is_perspective_graph(g.value)
    )


def _recomputed_closure(kg: KnowledgeGraph, units: set[str]) -> set[Terms]:
    """Every triple reasoning derives from the ontology and ``units`` alone, from scratch."""
    fresh = KnowledgeGraph(store=ox.Store(), version="fresh")
    fresh.store.extend(kg.store.quads_for_pattern(None, None, None, ONTOLOGY))
    for unit in units:
        for q in kg.store.quads_for_pattern(None, None, None, ox.NamedNode(unit)):
            if any(
                True for _ in kg.store.quads_for_pattern(q.subject, q.predicate, q.object, ASSERTED)
            ):
                fresh.store.add(ox.Quad(q.subject, q.predicate, q.object, ASSERTED))
    r = reasoning.build(fresh)
    return {tuple(str(x) for x in r.decode(t)) for t in r.engine.facts}  # type: ignore[misc]


def _filtered_closure(kg: KnowledgeGraph, units: set[str]) -> set[Terms]:
    """The closure of ``units`` read off the supports."""
    r = reasoning.reasoner(kg)
    numbers = r.support.unit_number
    mask = sum(1 << numbers[u] for u in units if u in numbers)
    return {
        tuple(str(x) for x in r.decode(t))  # type: ignore[misc]
        for t in r.engine.facts
        if within(r.support.of[t], mask)
    }


# -- differential: a perspective is a recomputation on its evidence alone ----------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_closure_of_any_set_of_units_equals_a_recomputation(data: st.DataObject) -> None:
    kg = _WORLD
    units = set(data.draw(st.lists(st.sampled_from(_units(kg)), unique=True)))
    assert _filtered_closure(kg, units) == _recomputed_closure(kg, units)


def test_each_perspective_graph_is_a_recomputation_on_its_units(world: KnowledgeGraph) -> None:
    _assert_recomputed_perspectives(world)


def test_graphs_written_in_many_chunks_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """The support and perspective graphs reach the store in chunks of text loaded while the
    next is written: with chunks of a few lines they are still every node and every
    perspective's recomputation."""
    from karabakh_kg.graph.reasoning import perspective_graphs

    monkeypatch.setattr(perspective_graphs, "CHUNK", 300)
    kg = _world()
    r = reasoning.reasoner(kg)
    expected = {q for t in r.output for q in perspective_graphs.support_quads(r, t)}
    assert len(expected) > 50
    assert set(kg.store.quads_for_pattern(None, None, None, views.SUPPORT)) == expected
    _assert_recomputed_perspectives(kg)


def test_a_failed_load_of_the_graphs_is_raised() -> None:
    from karabakh_kg.graph.reasoning.perspective_graphs import _Loader

    class Refusing:
        def load(self, *args: object, **kwargs: object) -> None:
            raise OSError("disk full")

    loader = _Loader(Refusing())  # type: ignore[arg-type]
    loader.add("<http://a> <http://b> <http://c> <http://g> .\n")
    with pytest.raises(OSError, match="disk full"):
        loader.close()
    assert not loader.thread.is_alive()


def _assert_recomputed_perspectives(world: KnowledgeGraph) -> None:
    for perspective in views.perspectives(world).named():
        units = set(views.perspectives(world).units(perspective))
        closure = _recomputed_closure(world, units)
        graphs = {
            (str(q.subject), str(q.predicate), str(q.object))
            for g in (perspective.asserted_graph, perspective.inferred_graph)
            for q in world.store.quads_for_pattern(None, None, None, g)
        }
        asserted = {
            (str(q.subject), str(q.predicate), str(q.object))
            for unit in units
            for q in world.store.quads_for_pattern(None, None, None, ox.NamedNode(unit))
        }
        assert graphs == asserted | _kept(world, closure), perspective.name


def _kept(kg: KnowledgeGraph, closure: set[Terms]) -> set[Terms]:
    """The triples of ``closure`` the noise policy keeps, minus the ontology."""
    r = reasoning.reasoner(kg)
    ontology = {
        (str(q.subject), str(q.predicate), str(q.object))
        for q in kg.store.quads_for_pattern(None, None, None, ONTOLOGY)
    }
    out = set()
    for terms in closure - ontology:
        t = r.lookup(*(views_term(x) for x in terms))
        if t is not None and r.keep(t):
            out.add(terms)
    return out


def views_term(text: str) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    from karabakh_kg.graph.reasoning.explain import parse_term

    return parse_term(text)


# -- exactness of each support --------------------------------------------------------------


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_listed_support_is_sufficient_and_minimal(data: st.DataObject) -> None:
    kg = _WORLD
    supports = supports_of(kg)
    derived = sorted(t for t in _inferred(kg) if supports[t] != {frozenset()})
    triple = data.draw(st.sampled_from(derived))
    listed = supports[triple]
    chosen = data.draw(st.sampled_from(sorted(listed, key=sorted)))
    assert triple in _recomputed_closure(kg, set(chosen))
    for unit in chosen:
        assert triple not in _recomputed_closure(kg, set(chosen) - {unit})
    # removing every unit the supports name removes the triple
    named = set().union(*listed)
    assert triple not in _recomputed_closure(kg, set(_units(kg)) - named)
    # removing some units keeps it exactly when a listed support avoids them all
    removed = set(data.draw(st.lists(st.sampled_from(sorted(named)), unique=True)))
    kept = any(not (s & removed) for s in listed)
    assert (triple in _recomputed_closure(kg, set(_units(kg)) - removed)) == kept


def _inferred(kg: KnowledgeGraph) -> set[Terms]:
    return {
        (str(q.subject), str(q.predicate), str(q.object))
        for q in kg.store.quads_for_pattern(None, None, None, INFERRED)
    }


# -- incremental updates keep supports and perspective graphs exact ---------------------------

_WORLD = _world()
POOL = [
    *sorted(
        {
            ox.Triple(q.subject, q.predicate, q.object)
            for q in ox.parse(path=WORLD)
            if q.graph_name != ox.DefaultGraph()
        },
        key=str,
    ),
    ox.Triple(
        ox.NamedNode(KG + "kremlin"), ox.NamedNode(KGO + "locatedIn"), ox.NamedNode(KG + "shusha")
    ),
    ox.Triple(
        ox.NamedNode(KG + "macron"),
        ox.NamedNode(KGO + "holdsPost"),
        ox.NamedNode(KG + "fm-armenia"),
    ),
]


def _system_state(kg: KnowledgeGraph) -> dict[str, set[Terms]]:
    """The support and perspective graphs, support nodes replaced by what they say."""
    out: dict[str, set[Terms]] = {}
    for g in kg.store.named_graphs():
        if isinstance(g, ox.NamedNode) and g.value.startswith(views.PERSPECTIVE_GRAPHS):
            out[g.value] = {
                (str(q.subject), str(q.predicate), str(q.object))
                for q in kg.store.quads_for_pattern(None, None, None, g)
            }
    out = {k: v for k, v in out.items() if v}
    out["support"] = {
        (str(q.subject), str(q.predicate), str(q.object))
        for q in kg.store.quads_for_pattern(None, None, None, views.SUPPORT)
    }
    return out


def _fresh_copy(kg: KnowledgeGraph) -> KnowledgeGraph:
    store = ox.Store()
    store.extend(
        q
        for q in kg.store
        if not (
            isinstance(q.graph_name, ox.NamedNode)
            and (q.graph_name == INFERRED or views.is_perspective_graph(q.graph_name.value))
        )
    )
    fresh = KnowledgeGraph(store=store, version="fresh")
    reasoning.materialize(fresh)
    return fresh


steps = st.lists(
    st.tuples(
        st.lists(st.sampled_from(POOL), max_size=3, unique=True),
        st.lists(st.sampled_from(POOL), max_size=3, unique=True),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_updates_keep_supports_and_perspectives_exact(
    changes: list[tuple[list[ox.Triple], list[ox.Triple]]],
) -> None:
    kg = make_kg(ontology=vocab.ontology_file(), data=WORLD, rules=RULES)
    reasoning.materialize(kg)
    for added, removed in changes:
        asserted = kg.asserted_triples()
        really_removed = [t for t in removed if t in asserted and t not in added]
        really_added = [t for t in added if t not in asserted]
        for t in really_removed:
            kg.store.remove(ox.Quad(t.subject, t.predicate, t.object, ASSERTED))
        for t in really_added:
            kg.store.add(ox.Quad(t.subject, t.predicate, t.object, ASSERTED))
        reasoning.update(kg, really_added, really_removed)
        fresh = _fresh_copy(kg)
        assert supports_of(kg) == supports_of(fresh)
        assert _system_state(kg) == _system_state(fresh)


def test_additions_alone_keep_supports_and_perspectives_exact() -> None:
    """An update that only adds takes the cheaper path (supports only grow): new triples
    with new consequences, and a curated triple put back after a removal, each checked
    against a recomputation."""
    kg = make_kg(ontology=vocab.ontology_file(), data=WORLD, rules=RULES)
    reasoning.materialize(kg)
    curated = POOL[0]
    steps: list[tuple[list[ox.Triple], list[ox.Triple]]] = [
        ([POOL[-2]], []),
        ([POOL[-1]], []),
        ([], [curated]),
        ([curated], []),
    ]
    for added, removed in steps:
        for t in removed:
            kg.store.remove(ox.Quad(t.subject, t.predicate, t.object, ASSERTED))
        for t in added:
            kg.store.add(ox.Quad(t.subject, t.predicate, t.object, ASSERTED))
        report = reasoning.update(kg, added, removed)
        assert not report.full
        fresh = _fresh_copy(kg)
        assert supports_of(kg) == supports_of(fresh)
        assert _system_state(kg) == _system_state(fresh)


def test_removing_two_triples_that_join_keeps_supports_exact() -> None:
    """The talks' location in the Kremlin and the Kremlin's in Moscow (one unit) together
    gave "the talks are in Moscow" a second support; removed at once, neither finds the
    other to reach what they supported, which must still be recomputed."""
    kg = make_kg(ontology=vocab.ontology_file(), data=WORLD, rules=RULES)
    reasoning.materialize(kg)
    joint = [
        ox.Triple(
            ox.NamedNode(KG + "talks"), ox.NamedNode(KGO + "location"), ox.NamedNode(KG + "kremlin")
        ),
        ox.Triple(
            ox.NamedNode(KG + "kremlin"),
            ox.NamedNode(KGO + "locatedIn"),
            ox.NamedNode(KG + "moscow"),
        ),
    ]
    in_moscow = (f"<{KG}talks>", f"<{KGO}location>", f"<{KG}moscow>")
    assert frozenset({KGE + "J2-joint"}) in supports_of(kg)[in_moscow]
    for t in joint:
        kg.store.remove(ox.Quad(t.subject, t.predicate, t.object, ASSERTED))
    reasoning.update(kg, [], joint)
    assert supports_of(kg)[in_moscow] == {frozenset({KGE + "A1-talks"})}
    fresh = _fresh_copy(kg)
    assert supports_of(kg) == supports_of(fresh)
    assert _system_state(kg) == _system_state(fresh)


# -- the world's perspectives, from what each voice says -----------------------------------


def _holds(kg: KnowledgeGraph, name: str, s: str, p: str, o: str) -> bool:
    perspective = views.resolve(kg, name)
    return views.holds(kg, perspective, KG + s, KGO + p, KG + o)


def test_a_journalists_containment_stays_the_journalists(world: KnowledgeGraph) -> None:
    assert _holds(world, "all", "strike", "location", "nagorno-karabakh")
    assert not _holds(world, "article", "strike", "location", "nagorno-karabakh")
    assert not _holds(world, "article", "shusha", "locatedIn", "nagorno-karabakh")
    assert _holds(world, "kg:journalist", "strike", "location", "nagorno-karabakh")
    assert not _holds(world, "kg:ministry", "strike", "location", "nagorno-karabakh")
    # the article's own statements still locate the strike in Shusha
    assert _holds(world, "article", "strike", "location", "shusha")


def test_a_joint_statement_belongs_to_each_of_its_claimants(world: KnowledgeGraph) -> None:
    # "the Kremlin lies in Moscow" is said by the journalist and the ministry together
    for who in ("kg:journalist", "kg:ministry"):
        assert _holds(world, who, "talks", "location", "moscow")
    assert not _holds(world, "article", "kremlin", "locatedIn", "russia")
    assert _holds(world, "kg:ministry", "kremlin", "locatedIn", "russia")


def test_derived_negotiations_rest_on_the_units_of_their_premises(
    world: KnowledgeGraph,
) -> None:
    supports = supports_of(world)
    negotiated = (f"<{KG}azerbaijan>", f"<{KGO}negotiatedWith>", f"<{KG}armenia>")
    assert supports[negotiated] == {
        frozenset({KGE + "A1-talks", KGE + "A2-bayramov", KGE + "A3-mnatsakanyan"})
    }
    # Macron's state is known only from the ministry: the call's state-level contact
    # rests on the office and the ministry together, in no single perspective
    spoke = (f"<{KG}france>", f"<{KGO}communicatedWith>", f"<{KG}azerbaijan>")
    if spoke in supports:
        assert all(KGE + "M1-macron" in s and KGE + "O1-call" in s for s in supports[spoke])
        assert not _holds(world, "kg:ministry", "france", "communicatedWith", "azerbaijan")


def test_unattributed_units_count_only_in_all(world: KnowledgeGraph) -> None:
    r = reasoning.reasoner(world)
    article = r.perspectives.mask(views.resolve(world, "article"))
    unattributed = r.support.unit_number[KGE + "U1-unattributed"]
    assert not article & (1 << unattributed)


def test_perspectives_resolve_by_curie_iri_and_label(world: KnowledgeGraph) -> None:
    assert views.resolve(world, "kg:journalist").iri == KG + "journalist"
    assert views.resolve(world, f"<{KG}journalist>").iri == KG + "journalist"
    assert views.resolve(world, KG + "ministry").iri == KG + "ministry"
    assert views.resolve(world, None).name == "all"
    with pytest.raises(views.UnknownPerspective, match="'kg:nobody'"):
        views.resolve(world, "kg:nobody")
    with pytest.raises(views.UnknownPerspective, match="perspectives: all, curated, article"):
        views.resolve(world, "kg:bayramov")  # an entity, but no claimant


def test_a_perspective_view_answers_sparql_from_its_evidence_only(world: KnowledgeGraph) -> None:
    ask = f"ASK {{ <{KG}strike> <{KGO}location> <{KG}nagorno-karabakh> }}"
    assert world.query(ask)
    article = views.view(world, views.resolve(world, "article"))
    assert not article.query(ask)
    assert views.view(world, views.resolve(world, "kg:journalist")).query(ask)
    assert views.view(world, views.resolve(world, "article")) is article  # cached


def test_the_support_graph_names_the_units(world: KnowledgeGraph) -> None:
    rows = world.query(
        f"""SELECT ?unit WHERE {{ GRAPH <{views.SUPPORT.value}> {{
              ?s rdf:subject <{KG}strike> ; rdf:predicate <{KGO}location> ;
                 rdf:object <{KG}nagorno-karabakh> ; kgo:restsOn ?unit }} }}"""
    )
    assert {row["unit"].value for row in rows} == {KGE + "A4-strike", KGE + "J1-containment"}


def test_the_written_support_graph_is_every_inferred_triples_support_nodes(
    kg: KnowledgeGraph,
) -> None:
    """The whole support graph of the curated graph (written as text at once) holds exactly
    the nodes the incremental updates write triple by triple, literals and voices included."""
    from karabakh_kg.graph.reasoning.perspective_graphs import support_quads

    r = reasoning.reasoner(kg)
    expected = {q for t in r.output for q in support_quads(r, t)}
    assert any(isinstance(q.object, ox.Literal) for q in expected)
    assert any(q.predicate.value == KGO + "voice" for q in expected)
    assert set(kg.store.quads_for_pattern(None, None, None, views.SUPPORT)) == expected


def test_more_supports_than_the_limit_is_a_data_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from karabakh_kg.graph.dataset import DataError
    from karabakh_kg.graph.reasoning import support

    monkeypatch.setattr(support, "MAX_SUPPORTS", 1)  # Moscow lies in Russia per two units
    kg = make_kg(ontology=vocab.ontology_file(), data=WORLD, rules=RULES)
    with pytest.raises(DataError, match="minimal supports"):
        reasoning.materialize(kg)


def test_the_kept_perspective_graphs_follow_a_new_unit() -> None:
    """The perspectives' masks kept between changes take in a unit numbered after them (a
    curated unit counts in the curated perspective, a contributor's in none)."""
    kg = _world()
    r = reasoning.reasoner(kg)
    named = r.perspectives.named()
    curated = named.index(views.CURATED_PERSPECTIVE)
    graphs, units = r.perspectives.graphs()
    assert graphs == [(r.perspectives.mask(p), p.asserted_graph, p.inferred_graph) for p in named]
    late = r.support.unit(KGE + "unit-numbered-late")
    contributed = r.support.unit(CONTRIBUTIONS_GRAPHS + "someone")
    graphs, units = r.perspectives.graphs()
    assert graphs[curated][0] & (1 << late) and units & (1 << late)
    assert not units & (1 << contributed)
