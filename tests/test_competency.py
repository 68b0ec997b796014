"""Competency questions: what users ask, answered from the article.

Each ``tests/competency/NN-name.rq`` starts with comments: ``# Question:``, the article's
words that answer it, and one ``# Expected:`` line per result row (cells separated by ``|``,
IRIs as CURIEs, literals by their lexical form; ``true``/``false`` for ASK). The rows must
match exactly, in any order.

The article, not the system, answers: an expected text is a verbatim piece of the seed
(numbers, dates and booleans aside), a question never names its expected answer in its own
FILTER or VALUES, and never selects by curated text (an untyped string in the query) where a
class or property says the same.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from karabakh_kg.graph import quotes
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


IRI_CELL = re.compile(r"^(<[^>]+>|[A-Za-z][\w-]*:\S*)$")
NOT_TEXT = re.compile(r"^(true|false|-?\d+(\.\d+)?|\d{4}(-\d{2}(-\d{2})?)?|\d{2}:\d{2}:\d{2})$")


def query_body(text: str) -> str:
    """The query without its comment lines."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def constraint_clauses(body: str) -> list[str]:
    """The text of each FILTER (...) and VALUES ... { ... } of a query."""
    clauses = []
    for match in re.finditer(r"\b(FILTER|VALUES)\b", body):
        depth, start = 0, match.end()
        for end in range(start, len(body)):
            if body[end] in "({":
                depth += 1
            elif body[end] in ")}":
                depth -= 1
                if depth == 0:
                    clauses.append(body[start : end + 1])
                    break
    return clauses


@pytest.mark.parametrize("path", QUESTIONS, ids=[p.stem for p in QUESTIONS])
def test_expected_texts_are_the_articles_words(path: Path) -> None:
    seed = quotes.seed_text()
    for row in expected_rows(path.read_text(encoding="utf-8")):
        for cell in row:
            if IRI_CELL.match(cell) or NOT_TEXT.match(cell):
                continue
            assert cell in seed, f"{cell!r} is not the article's words"


@pytest.mark.parametrize("path", QUESTIONS, ids=[p.stem for p in QUESTIONS])
def test_no_question_names_its_answer_or_selects_by_text(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    body = query_body(text)
    answers = {cell for row in expected_rows(text) for cell in row if IRI_CELL.match(cell)}
    for clause in constraint_clauses(body):
        named = {cell for cell in answers if re.search(rf"{re.escape(cell)}(?![\w-])", clause)}
        assert not named, f"the expected answer {named} is in the query's own {clause!r}"
    assert not re.search(r"\b(CONTAINS|STRSTARTS|STRENDS|REGEX)\s*\(", body, re.I)
    untyped = re.findall(r'"[^"]*"(?!\^\^)', body)
    assert not untyped, f"the query selects by curated text {untyped}; use a class or property"


def test_the_meta_checks_catch_a_question_that_answers_itself() -> None:
    # The checks above fail on the kinds of question they forbid.
    leaky = "SELECT ?x WHERE { ?x a ?t . FILTER (?t = kgo:AccreditationRevocation) }"
    assert any("kgo:AccreditationRevocation" in c for c in constraint_clauses(leaky))
    by_label = 'SELECT ?p WHERE { ?p rdfs:label ?l . FILTER (CONTAINS(?l, "Foreign Minister")) }'
    assert re.search(r'"[^"]*"(?!\^\^)', query_body(by_label))
    assert not IRI_CELL.match("The US position is clear") and not NOT_TEXT.match("about")


def test_symmetric_relations_are_asked_both_ways() -> None:
    # A question on a symmetric property expects each pair in both directions, or checks
    # the inverse in the query itself.
    for name in ("01-who-negotiated-with-whom", "02-states-negotiating"):
        rows = expected_rows((FOLDER / f"{name}.rq").read_text(encoding="utf-8"))
        assert rows == {(b, a) for a, b in rows}, name
    macron = expected_rows((FOLDER / "27-who-did-macron-speak-with.rq").read_text(encoding="utf-8"))
    assert {row[-1] for row in macron} == {"true"}
