"""What an update would change, computed three ways, must agree: on a fresh copy of the
graph (the reference), inside pyoxigraph (``graph_difference``) and on a worker's standing
copy that follows the changes (``StandingCopy``); for data alone, also on the triples it
names (``data_difference``)."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from karabakh_kg.graph.dataset import ASSERTED
from karabakh_kg.ontology import vocab
from karabakh_kg.server.sparql.inspect import data_as_insert
from karabakh_kg.server.sparql.protocol import (
    QueryFailed,
    Spoiled,
    StandingCopy,
    data_difference,
    graph_difference,
    update_difference,
)

P = dict(vocab.PREFIXES)
UPDATES = [
    "INSERT DATA { kg:a a kgo:Person }",
    "DELETE DATA { kg:b kgo:memberOf kg:c }",
    "DELETE { ?x kgo:memberOf ?y } INSERT { ?y kgo:hasMember ?x } WHERE { ?x kgo:memberOf ?y }",
    'INSERT { ?x rdfs:label "x" } WHERE { ?x a kgo:Person }',
    "DELETE WHERE { ?x ?p kg:c }",
    "INSERT DATA { kg:b kgo:memberOf kg:c }",  # already there: no change
    "CLEAR DEFAULT",
    # data alone: only the triples named are looked at
    "DELETE DATA { kg:b kgo:memberOf kg:c } ; INSERT DATA { kg:b kgo:memberOf kg:c }",
    "INSERT DATA { kg:x kgo:memberOf kg:c } ; DELETE DATA { kg:x kgo:memberOf kg:c }",
    "DELETE DATA { kg:b kgo:memberOf kg:c . kg:zz kgo:memberOf kg:c } ;"
    ' INSERT DATA { kg:d rdfs:label "DELETE DATA"@en-GB , 42 . kg:b a kgo:Person }',
    "INSERT DATA { kg:e a kgo:Place }",  # in another graph only: new to this one
]


def graph_store() -> ox.Store:
    store = ox.Store()
    kg = vocab.PREFIXES["kg"]
    kgo = vocab.PREFIXES["kgo"]
    rdf_type = ox.NamedNode(vocab.PREFIXES["rdf"] + "type")
    for s, p, o in [
        (kg + "b", kgo + "memberOf", kg + "c"),
        (kg + "d", kgo + "memberOf", kg + "c"),
        (kg + "b", rdf_type.value, kgo + "Person"),
    ]:
        store.add(ox.Quad(ox.NamedNode(s), ox.NamedNode(p), ox.NamedNode(o), ASSERTED))
    store.add(
        ox.Quad(
            ox.NamedNode(kg + "e"), rdf_type, ox.NamedNode(kgo + "Place"), ox.NamedNode(kg + "g")
        )
    )
    return store


def reference(store: ox.Store, update: str) -> tuple[list[ox.Triple], list[ox.Triple]]:
    before = {
        ox.Triple(q.subject, q.predicate, q.object)
        for q in store.quads_for_pattern(None, None, None, ASSERTED)
    }
    return update_difference(before, update, P)


@pytest.mark.parametrize("update", UPDATES)
def test_the_three_ways_agree(update: str) -> None:
    store = graph_store()
    expected = reference(store, update)
    assert graph_difference(store, ASSERTED, update, P) == expected
    copy = StandingCopy(store, ASSERTED.value)
    assert copy.difference(update, P) == expected
    named = data_as_insert(update)
    if named is not None:  # data alone: also without any copy of the graph
        assert data_difference(store, ASSERTED, update, named, P) == expected
    # The copy is put back: the same update gives the same answer again.
    assert copy.difference(update, P) == expected


def test_the_standing_copy_follows_changes_and_refuses_named_graphs() -> None:
    store = graph_store()
    copy = StandingCopy(store, ASSERTED.value)
    added, removed = copy.difference(UPDATES[2], P)
    change = (
        [ox.Quad(t.subject, t.predicate, t.object, ASSERTED) for t in added],
        [ox.Quad(t.subject, t.predicate, t.object, ASSERTED) for t in removed],
    )
    for quad in change[1]:
        store.remove(quad)
    store.extend(change[0])
    copy.follow([change])
    for update in UPDATES:
        assert copy.difference(update, P) == reference(store, update)
    with pytest.raises(QueryFailed) as failure:
        copy.difference("INSERT DATA { GRAPH kg:g { kg:x a kgo:Person } }", P)
    assert failure.value.kind == "named-graph"
    assert copy.difference(UPDATES[0], P) == reference(store, UPDATES[0])
    with pytest.raises(Spoiled):
        copy.difference("CLEAR ALL", P)


@pytest.mark.parametrize(
    "update",
    [
        "INSERT DATA { _:b a kgo:Person }",  # a blank node is new at each evaluation
        "INSERT DATA { [] a kgo:Person }",
        "INSERT DATA { kg:a kgo:member ( kg:b ) }",
        "INSERT DATA { GRAPH kg:g { kg:a a kgo:Person } }",
        "INSERT DATA { { kg:a a kgo:Person } }",  # nested: more than one deep
        "INSERT DATA { << kg:a kgo:p kg:b >> kgo:p kg:c }",  # a triple term nests
        "INSERT DATA } { kg:a a kgo:Person }",
        "DELETE WHERE { kg:a ?p ?o }",
        "INSERT { kg:a a kgo:Person } WHERE {}",
        "WITH kg:g DELETE DATA { kg:a a kgo:Person }",
        "CLEAR ALL",
        "LOAD <http://example.org/data.ttl>",
    ],
)
def test_only_data_alone_takes_the_named_triples_path(update: str) -> None:
    assert data_as_insert(update) is None


def test_data_alone_is_listed_as_one_insert() -> None:
    text = 'DELETE DATA { kg:a kgo:p "DELETE DATA" } ;\n# DELETE\nINSERT DATA { kg:b a kgo:C }'
    assert data_as_insert(text) == (
        'INSERT DATA { kg:a kgo:p "DELETE DATA" } ;\n# DELETE\nINSERT DATA { kg:b a kgo:C }'
    )
