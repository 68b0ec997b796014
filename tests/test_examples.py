"""The query UI's example queries (``server/web/queries/*.rq``) answer what they promise.

Each file names rows its answer must include, taken from the article (its ``# Article``
line quotes the passage); they are checked here against the curated, reasoned graph.
"""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from karabakh_kg.graph.dataset import KnowledgeGraph
from karabakh_kg.server.cli.data import short
from karabakh_kg.server.web.examples import EXAMPLES, Example, ExampleError, parse_example


def answer_rows(kg: KnowledgeGraph, sparql: str) -> list[tuple[str, ...]]:
    result = kg.query(sparql)
    if isinstance(result, ox.QuerySolutions):
        return [tuple(short(row[v]) for v in result.variables) for row in result]
    if isinstance(result, ox.QueryBoolean):
        return [("true" if bool(result) else "false",)]
    return [(short(t.subject), short(t.predicate), short(t.object)) for t in result]


def matches(expected: tuple[str, ...], row: tuple[str, ...]) -> bool:
    return len(expected) == len(row) and all(
        e in ("*", cell) for e, cell in zip(expected, row, strict=False)
    )


def test_there_are_the_fourteen_examples_in_file_order() -> None:
    ids = [e.id for e in EXAMPLES]
    assert len(ids) == 14 == len(set(ids))
    assert ids[0] == "negotiations" and ids[-1] == "network"


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_example_answers_include_its_expected_rows(kg: KnowledgeGraph, example: Example) -> None:
    rows = answer_rows(kg, example.sparql)
    for expected in example.expected:
        assert any(matches(expected, row) for row in rows), (expected, rows[:5])


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_example_declares_its_prefixes(example: Example) -> None:
    """It runs unchanged in a tool that predeclares nothing (an empty store parses it)."""
    ox.Store().query(example.sparql)
    assert not example.sparql.lstrip().startswith("#")


def test_an_example_without_expected_rows_is_refused() -> None:
    with pytest.raises(ExampleError, match="Expected"):
        parse_example("x", "# Title: X\n# Question: Y?\nASK {}\n")
    parsed = parse_example("x", "# Title: X\n# Question: Y?\n# Expected: true\nASK {}\n")
    assert parsed.expected == (("true",),) and parsed.sparql == "ASK {}\n"
