"""Derived views: one owner per knowledge graph, bounded, dropped when the data changes."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import cast

import pyoxigraph as ox
import pytest
from graph_sample import KG, sample_kg

from karabakh_kg.graph import lookup, reasoning
from karabakh_kg.graph.dataset import ASSERTED, KnowledgeGraph, UpdateError
from karabakh_kg.graph.projection import ProjectionOptions, project
from karabakh_kg.graph.store.contributions import apply_change
from karabakh_kg.graph.views import MAX_VIEWS


def test_client_filters_cannot_grow_the_projection_cache() -> None:
    kg = sample_kg()
    for day in range(1, 3 * MAX_VIEWS):
        # Each window is a new key, as a client choosing dates would make.
        start = dt.date(2020, 1, 1) + dt.timedelta(days=day)
        project(kg, ProjectionOptions(start=start))
        assert len(kg.views) <= MAX_VIEWS
    assert len(kg.views) == MAX_VIEWS


def test_views_are_rebuilt_when_the_data_changes() -> None:
    kg = sample_kg()
    before = lookup.index(kg)
    assert lookup.index(kg) is before  # kept while the data stays
    kg.version = "changed"
    after = lookup.index(kg)
    assert after is not before
    assert KG + "sergei-lavrov" in after.entities


def test_each_knowledge_graph_has_its_own_views() -> None:
    first, second = sample_kg(), sample_kg()
    assert project(first) is not project(second)
    assert project(first) is project(first)


def test_the_reasoner_is_kept_by_the_views_and_survives_a_change_of_the_data() -> None:
    kg = sample_kg()
    r = reasoning.reasoner(kg)
    assert kg.views.reasoner is r
    # The knowledge graph holds its declared fields only: no state set on it from outside.
    assert set(vars(kg)) == {f.name for f in dataclasses.fields(kg)}
    lookup.index(kg)
    kg.version = "changed"
    lookup.index(kg)  # the views are rebuilt for the new data; the reasoner follows changes
    assert reasoning.reasoner(kg) is r


def test_attaching_a_reasoner_writes_nothing_and_updates_stay_incremental() -> None:
    kg = sample_kg()
    before = set(kg.store.quads_for_pattern(None, None, None, None))
    reopened = KnowledgeGraph(store=kg.store, version=kg.version)
    assert reopened.views.reasoner is None
    attached = reasoning.attach(reopened)
    assert reopened.views.reasoner is attached is not kg.views.reasoner
    assert set(reopened.store.quads_for_pattern(None, None, None, None)) == before
    newcomer = ox.Triple(
        ox.NamedNode(KG + "views-test-person"),
        ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
        ox.NamedNode("https://w3id.org/karabakh-kg/ontology#Person"),
    )
    reopened.store.add(ox.Quad(*newcomer, ASSERTED))
    report = reasoning.update(reopened, [newcomer], [])
    assert not report.full and report.inferred_added > 0


class Uncounted:
    """A store that must not be counted (pyoxigraph counts quads one by one): the views of a
    graph that follows its version ask for its size never."""

    def __init__(self, store: ox.Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    def __contains__(self, quad: object) -> bool:
        return quad in self._store

    def __iter__(self) -> object:
        return iter(self._store)

    def __len__(self) -> int:
        raise AssertionError("the store was counted")


GENEVA = ox.Triple(
    ox.NamedNode(KG + "geneva"),
    ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
    ox.Literal("Geneva", language="en"),
)


def served_sample() -> KnowledgeGraph:
    """The sample as the endpoint holds it: written through changes, views keyed by version."""
    sample = sample_kg()
    served = KnowledgeGraph(store=cast(ox.Store, Uncounted(sample.store)), version=sample.version)
    served.views.follow_version()
    return served


def test_views_of_a_graph_following_its_version_follow_each_change_without_counting() -> None:
    served = served_sample()
    with pytest.raises(lookup.UnknownEntityError):
        lookup.resolve(served, "Geneva")
    apply_change(served, [GENEVA], [])
    assert lookup.resolve(served, "geneva") == KG + "geneva"
    apply_change(served, [], [GENEVA])
    with pytest.raises(lookup.UnknownEntityError):
        lookup.resolve(served, "Geneva")


def test_views_read_during_a_change_that_is_undone_are_not_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served = served_sample()  # no index built yet: the first page builds it
    read: list[str] = []

    def read_then_fail(
        kg: KnowledgeGraph, *_: object, pending: list[ox.Quad], **__: object
    ) -> None:
        kg.store.extend(pending)  # the change is in the store when a page reads it
        read.append(lookup.resolve(kg, "geneva"))
        raise RuntimeError("reasoner stopped")

    monkeypatch.setattr(reasoning, "update", read_then_fail)
    with pytest.raises(UpdateError, match="undone"):
        apply_change(served, [GENEVA], [])
    monkeypatch.undo()
    assert read == [KG + "geneva"]
    with pytest.raises(lookup.UnknownEntityError):  # the version is the same: not the view
        lookup.resolve(served, "Geneva")


def test_the_endpoint_keys_its_graphs_views_by_version() -> None:
    from karabakh_kg.server.settings import Settings
    from karabakh_kg.server.sparql.execute import Endpoint

    sample = sample_kg()
    kg = KnowledgeGraph(store=cast(ox.Store, Uncounted(sample.store)), version=sample.version)
    Endpoint(kg, Settings())
    assert KG + "sergei-lavrov" in lookup.index(kg).entities  # counting the store would raise
