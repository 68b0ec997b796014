"""The chainer's joins on hand-made rules: what a rule derives follows from its body and
FILTERs as SPARQL reads them (a conjunction of triple patterns, FILTER over the bindings)."""

from __future__ import annotations

import gc

from karabakh_kg.graph.reasoning.engine import Engine, Rule, Triple

TYPE, SAME_AS = 0, 1
P, Q, R, C, D = 2, 3, 4, 5, 6
A, B, E, F = 10, 11, 12, 13
LITERAL = 20
X, Y, Z = -1, -2, -3


def closure(rules: list[Rule], base: list[Triple], literals: frozenset[int] = frozenset()) -> set:
    engine = Engine(rules, TYPE, SAME_AS, set(literals))
    engine.run(base)
    return engine.facts - set(base)


def test_a_filter_on_a_later_atom_keeps_only_distinct_pairs() -> None:
    # ?x p ?y . ?x p ?z . FILTER(?y != ?z) -> ?y q ?z
    rule = Rule("pairs", ((X, P, Y), (X, P, Z)), ((Y, Q, Z),), (("!=", Y, Z),))
    derived = closure([rule], [(A, P, B), (A, P, E)])
    assert derived == {(B, Q, E), (E, Q, B)}


def test_an_equality_filter_keeps_only_equal_values() -> None:
    rule = Rule("same", ((X, P, Y), (Y, R, Z)), ((X, Q, Z),), (("=", X, Z),))
    derived = closure([rule], [(A, P, B), (B, R, A), (B, R, E)])
    assert derived == {(A, Q, A)}


def test_a_filter_against_a_constant() -> None:
    rule = Rule("not-b", ((X, P, Y),), ((Y, Q, X),), (("!=", Y, B),))
    rule2 = Rule("two", ((X, P, Y), (X, R, Z)), ((Z, Q, Y),), (("!=", Y, B),))
    derived = closure([rule, rule2], [(A, P, B), (A, P, E), (A, R, F)])
    assert derived == {(E, Q, A), (F, Q, E)}


def test_a_repeated_variable_matches_only_loops() -> None:
    # ?x p ?x . ?x r ?y -> ?y q ?x, whichever atom the new fact matches
    rule = Rule("loop", ((X, P, X), (X, R, Y)), ((Y, Q, X),))
    derived = closure([rule], [(A, P, A), (B, P, E), (A, R, F), (B, R, F)])
    assert derived == {(F, Q, A)}
    scanned = Rule("scan", ((X, R, Y), (Z, P, Z)), ((Z, Q, Y),))
    assert closure([scanned], [(A, R, B), (E, P, E), (E, P, F), (F, P, A)]) == {(E, Q, B)}


def test_constants_in_the_body_select_their_facts() -> None:
    # ?x a C . ?x p ?y . ?y a D -> ?x q ?y
    rule = Rule("typed", ((X, TYPE, C), (X, P, Y), (Y, TYPE, D)), ((X, Q, Y),))
    base = [(A, TYPE, C), (A, P, B), (A, P, E), (B, TYPE, D), (E, TYPE, C)]
    assert closure([rule], base) == {(A, Q, B)}


def test_an_unbound_pair_is_joined_with_every_fact_of_its_predicate() -> None:
    # ?x p ?y . ?z r ?w -> ?x q ?w (a cross product: no shared variable)
    rule = Rule("cross", ((X, P, Y), (Z, R, -4)), ((X, Q, -4),))
    assert closure([rule], [(A, P, B), (E, R, F), (B, R, A)]) == {(A, Q, F), (A, Q, A)}


def test_heads_that_are_not_rdf_or_add_nothing_are_dropped() -> None:
    to_literal_subject = Rule("inverse", ((X, P, Y),), ((Y, Q, X),))
    joined = Rule("joined", ((X, P, Y), (X, R, Z)), ((Y, Q, Z), (Y, SAME_AS, Z)))
    base = [(A, P, LITERAL), (A, R, LITERAL), (B, P, E), (B, R, E)]
    derived = closure([to_literal_subject, joined], base, frozenset({LITERAL}))
    # no literal subject, no reflexive sameAs
    assert derived == {(E, Q, B), (E, Q, E)}


def test_the_recorded_derivation_names_the_rule_and_its_premises_in_body_order() -> None:
    rule = Rule("chain", ((X, P, Y), (Y, R, Z)), ((X, Q, Z),))
    engine = Engine([rule], TYPE, SAME_AS, set())
    engine.run([(B, R, E), (A, P, B)])
    assert engine.derivations[(A, Q, E)] == (0, ((A, P, B), (B, R, E)))


def test_keys_with_many_members_join_and_delete_like_a_fresh_closure() -> None:
    # ?x p ?y . ?x r ?z -> ?y q ?z: the r fact joins every object of ?x under p, whether the
    # index holds them in a tuple (few) or a set (many); deleting some of them removes
    # exactly their consequences
    rule = Rule("spread", ((X, P, Y), (X, R, Z)), ((Y, Q, Z),))
    inverse = Rule("inverse", ((X, P, Y),), ((Y, Q, X),))
    for count in (1, 3, 16, 17, 40):
        objects = [100 + k for k in range(count)]
        base = [(A, R, F), *((A, P, y) for y in objects), *((B, P, y) for y in objects)]
        engine = Engine([rule, inverse], TYPE, SAME_AS, set())
        engine.run(base)
        assert engine.facts - set(base) == {
            *((y, Q, F) for y in objects),
            *((y, Q, x) for y in objects for x in (A, B)),
        }
        removed = [(A, P, y) for y in objects[::2]]
        engine.update([], removed)
        kept = [t for t in base if t not in removed]
        assert engine.facts == set(kept) | closure([rule, inverse], kept)
        assert sorted(engine.ps[P].get(A, ())) == objects[1::2]
        engine.update(removed, [])
        assert engine.facts == set(base) | closure([rule, inverse], base)


def test_without_premises_the_closure_is_the_same_and_records_name_the_rule_only() -> None:
    chain = Rule("chain", ((X, P, Y), (Y, R, Z)), ((X, Q, Z),))
    inverse = Rule("inverse", ((X, Q, Y),), ((Y, P, X),))
    # (A q E) follows two ways: through B and through F
    base = [(B, R, E), (A, P, B), (A, P, F), (F, R, E)]
    full = Engine([chain, inverse], TYPE, SAME_AS, set())
    full.run(base)
    bare = Engine([chain, inverse], TYPE, SAME_AS, set(), premises=False)
    bare.run(base)
    assert bare.facts == full.facts
    assert bare.derivations == {t: (rule, ()) for t, (rule, _) in full.derivations.items()}
    # the premises are found again on demand
    assert sorted(bare.instances((A, Q, E), set())) == [
        (0, ((A, P, B), (B, R, E))),
        (0, ((A, P, F), (F, R, E))),
    ]
    # a deletion keeps what still follows, recorded without premises too
    bare.update([], [(B, R, E)])
    rest = [t for t in base if t != (B, R, E)]
    assert bare.facts == set(rest) | closure([chain, inverse], rest)
    assert (A, Q, E) in bare.facts
    assert all(body == () for _, body in bare.derivations.values())


def test_without_premises_no_record_is_made_until_one_is_asked_for() -> None:
    chain = Rule("chain", ((X, P, Y), (Y, R, Z)), ((X, Q, Z),))
    typed = Rule("typed", ((X, Q, Y),), ((X, TYPE, C),))
    base = [(B, R, E), (A, P, B), (A, P, F), (F, R, E)]
    full = Engine([chain, typed], TYPE, SAME_AS, set())
    full.run(base)
    bare = Engine([chain, typed], TYPE, SAME_AS, set(), premises=False)
    bare.run(base)
    assert set(bare.derived()) == set(full.derived()) == {(A, Q, E), (A, TYPE, C)}
    assert bare.rule_counts({(A, Q, E), (A, TYPE, C)}) == {0: 1, 1: 1}
    assert full.rule_counts({(A, TYPE, C)}) == {1: 1}
    assert bare._derivations == {}  # the per-rule lists alone so far
    assert bare.derivations == {(A, Q, E): (0, ()), (A, TYPE, C): (1, ())}
    # once made, the records are kept up to date by later changes
    bare.update([(E, P, B), (B, R, F)], [])
    assert bare.derivations == {t: (rule, ()) for t, (rule, _) in full.derivations.items()} | {
        (E, Q, E): (0, ()),
        (E, Q, F): (0, ()),
        (E, TYPE, C): (1, ()),
        (A, Q, F): (0, ()),
    }


def test_without_premises_the_base_is_read_back_in_its_order_until_a_change() -> None:
    inverse = Rule("inverse", ((X, P, Y),), ((Y, Q, X),))
    bare = Engine([inverse], TYPE, SAME_AS, set(), premises=False)
    bare.run([(E, P, A), (A, P, B), (E, P, A), (B, Q, A)])  # (B q A) also follows
    assert list(bare.base_in_order()) == [(E, P, A), (A, P, B), (B, Q, A)]
    assert list(bare.derived()) == [(A, Q, E)]
    bare.update([(B, P, E)], [(E, P, A)])
    assert set(bare.base_in_order()) == bare.base == {(A, P, B), (B, Q, A), (B, P, E)}
    assert set(bare.derived()) == {(E, Q, B)}


def test_derived_without_drops_the_named_subjects_and_classes_only() -> None:
    inverse = Rule("inverse", ((X, P, Y),), ((Y, Q, X),))
    typed = Rule("typed", ((X, P, Y),), ((X, TYPE, C), (Y, TYPE, D)))
    base = [(A, P, B), (B, P, E), (E, TYPE, C)]
    for premises in (True, False):
        engine = Engine([inverse, typed], TYPE, SAME_AS, set(), premises=premises)
        engine.run(base)
        # every triple whose subject is B, every type C (the asserted one is not derived)
        assert engine.derived_without({B}, {C}) == {(E, Q, B), (E, TYPE, D)}
        assert engine.derived_without(set(), set()) == set(engine.derived())


def test_a_dropped_engine_is_freed_by_reference_counting_alone() -> None:
    # the closure's indexes must not wait for (or, once frozen, escape) the cyclic collector
    chain = Rule("chain", ((X, P, Y), (Y, R, Z)), ((X, Q, Z),))
    gc.collect()
    paused = gc.isenabled()
    gc.disable()
    try:
        engine = Engine([chain], TYPE, SAME_AS, set())
        engine.run([(A, P, B), (B, R, E)])
        assert engine.facts - {(A, P, B), (B, R, E)} == {(A, Q, E)}  # the generated join ran
        del engine
        assert gc.collect() == 0
    finally:
        if paused:
            gc.enable()
