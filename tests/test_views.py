"""Derived views: one owner per knowledge graph, bounded, dropped when the data changes."""

from __future__ import annotations

import datetime as dt

from graph_sample import KG, sample_kg

from karabakh_kg.graph import lookup
from karabakh_kg.graph.projection import ProjectionOptions, project
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
