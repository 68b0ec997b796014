"""Competency questions: what users ask, answered from the article.

Each ``tests/competency/NN-name.rq`` starts with comments: ``# Question:``, the article's
words that answer it, and one ``# Expected:`` line per result row (cells separated by ``|``,
IRIs as CURIEs, literals by their lexical form; ``true``/``false`` for ASK). The rows must
match exactly, in any order.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from karabakh_kg.graph.dataset import KnowledgeGraph
from karabakh_kg.server.cli.data import short

FOLDER = Path(__file__).parent / "competency"
QUESTIONS = sorted(FOLDER.glob("*.rq"))


def expected_rows(text: str) -> set[tuple[str, ...]]:
    rows = set()
    for line in text.splitlines():
        if line.startswith("# Expected:"):
            cells = line.removeprefix("# Expected:").split("|")
            rows.add(tuple(cell.strip() for cell in cells))
    return rows


def answer(kg: KnowledgeGraph, text: str) -> set[tuple[str, ...]]:
    result = kg.query(text)
    if isinstance(result, ox.QueryBoolean):
        return {("true" if bool(result) else "false",)}
    assert isinstance(result, ox.QuerySolutions), "competency questions are SELECT or ASK"
    variables = result.variables
    return {tuple(short(row[v]) for v in variables) for row in result}


def test_there_are_at_least_25_questions() -> None:
    assert len(QUESTIONS) >= 25


@pytest.mark.parametrize("path", QUESTIONS, ids=[p.stem for p in QUESTIONS])
def test_competency_question(kg: KnowledgeGraph, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Question: "), "state the question first"
    assert "# Article" in text, "quote the article's answer"
    expected = expected_rows(text)
    assert expected, "give the expected answer"
    assert answer(kg, text) == expected
