"""SELECT answers in one piece are pyoxigraph's own serialization, with the row cap counted
in its bytes (server/sparql/results.py: RowCounter) and the byte cap on the same bytes.

The data is built so that the counts are known without running a query: N subjects with
one literal each, literals made of the characters that mark rows or open strings in the
four formats (quotes, backslashes, ``,{``, ``<result>``, line breaks, tabs)."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest

from karabakh_kg.server.sparql.forked import ForkedStore
from karabakh_kg.server.sparql.protocol import (
    RESULT_FORMATS,
    LocalStore,
    QueryFailed,
    QueryJob,
    run_job,
)
from karabakh_kg.server.sparql.results import RowCounter

EX = "http://example.org/"
TRICKY = ['",{"', "\\", '\\"', "[{", "<result>", "\r\n", "\n", "\t", '""', "{}", ",", "é"]
ROWS = 240
SELECT_ALL = f"SELECT ?s ?o ?unbound WHERE {{ ?s <{EX}p> ?o }}"
FORMATS = sorted(RESULT_FORMATS)


@pytest.fixture(scope="module")
def store() -> ox.Store:
    made = ox.Store()
    for i in range(ROWS):
        text = "".join(TRICKY[(i + k) % len(TRICKY)] for k in range(i % 7)) + str(i)
        value: ox.Literal | ox.BlankNode = (
            ox.Literal(text, language="en") if i % 3 else ox.Literal(text)
        )
        if i % 11 == 0:
            value = ox.BlankNode(f"b{i}")
        made.add(ox.Quad(ox.NamedNode(f"{EX}s{i}"), ox.NamedNode(EX + "p"), value))
    return made


def answer(store: ox.Store, name: str, **caps: int) -> bytes:
    job = QueryJob(SELECT_ALL, results_format=name, **caps)  # type: ignore[arg-type]
    return LocalStore(store).execute(job, timeout=30).body


@pytest.mark.parametrize("name", FORMATS)
def test_the_row_cap_holds_exactly_in_every_format(store: ox.Store, name: str) -> None:
    assert answer(store, name, max_rows=ROWS)
    with pytest.raises(QueryFailed) as failed:
        answer(store, name, max_rows=ROWS - 1)
    assert (failed.value.kind, failed.value.message) == ("too-many-rows", str(ROWS - 1))


@pytest.mark.parametrize("name", FORMATS)
def test_rows_are_counted_whatever_the_chunks(store: ox.Store, name: str) -> None:
    """The serializer writes in chunks of its own; a row mark or a string may be split
    anywhere, even inside an escape."""
    body = store.query(SELECT_ALL).serialize(format=RESULT_FORMATS[name])
    assert body is not None
    for size in (1, 2, 3, 5, 64, 4096, len(body)):
        counter = RowCounter(name)
        for start in range(0, len(body), size):
            counter.feed(body[start : start + size])
        assert counter.rows == ROWS, size


@pytest.mark.parametrize(
    ("query", "rows"),
    [
        ("SELECT * WHERE { }", 1),  # one solution binding nothing
        ("SELECT ?x WHERE { VALUES ?x { UNDEF UNDEF UNDEF } }", 3),
        ("SELECT ?x WHERE { FILTER(false) }", 0),
    ],
)
@pytest.mark.parametrize("name", FORMATS)
def test_empty_solutions_are_rows_too(store: ox.Store, name: str, query: str, rows: int) -> None:
    job = QueryJob(query, results_format=name, max_rows=rows)
    assert LocalStore(store).execute(job, timeout=30).form == "SELECT"
    if rows:
        with pytest.raises(QueryFailed) as failed:
            LocalStore(store).execute(QueryJob(query, results_format=name, max_rows=rows - 1), 30)
        assert failed.value.kind == "too-many-rows"


@pytest.mark.parametrize("name", FORMATS)
def test_the_byte_cap_holds_on_the_bytes_sent(store: ox.Store, name: str) -> None:
    size = len(answer(store, name))
    assert len(answer(store, name, max_bytes=size)) == size
    with pytest.raises(QueryFailed) as failed:
        answer(store, name, max_bytes=size - 1)
    assert (failed.value.kind, failed.value.message) == ("too-large", str(size - 1))


def test_the_answer_is_the_engines_document(store: ox.Store) -> None:
    body = answer(store, "json")
    assert body == store.query(SELECT_ALL).serialize(format=ox.QueryResultsFormat.JSON)
    bindings = json.loads(body)["results"]["bindings"]
    assert len(bindings) == ROWS and {"s", "o"} == set(bindings[0])


def test_a_cap_stops_the_serializer_of_an_endless_answer() -> None:
    """At its row cap the engine stops writing: the same answer in full (4e12 rows) would
    not finish within the time limit."""
    rows = " ".join(str(i) for i in range(2000))
    endless = (
        f"SELECT * WHERE {{ VALUES ?a {{ {rows} }} VALUES ?b {{ {rows} }} "
        f"VALUES ?c {{ {rows} }} VALUES ?d {{ {rows} }} }}"
    )
    for name, max_rows, max_bytes, kind in (
        ("tsv", 1000, 10**12, "too-many-rows"),
        ("json", 10**12, 100_000, "too-large"),
    ):
        job = QueryJob(endless, results_format=name, max_rows=max_rows, max_bytes=max_bytes)
        with pytest.raises(QueryFailed) as failed:
            ForkedStore(ox.Store()).execute(job, timeout=30)
        assert failed.value.kind == kind


@pytest.mark.parametrize("name", FORMATS)
def test_a_streamed_answer_is_byte_for_byte_the_one_in_one_piece(name: str) -> None:
    """Streamed answers (``karabakh-kg query``) are written row by row in Python; they
    escape and abbreviate terms as the engine's writer does (TSV: Turtle's bare numbers
    and booleans; XML: the five markup characters, and white space at either end)."""
    xsd = "http://www.w3.org/2001/XMLSchema#"
    typed = [("7", "integer"), ("-2.50", "decimal"), ("1.5E3", "double"), ("true", "boolean")]
    texts = [" lead", "trail\t", "\r\n", "in side", "<&'\">", ""]
    made = ox.Store()
    objects: list[ox.Literal] = [ox.Literal(v, datatype=ox.NamedNode(xsd + d)) for v, d in typed]
    objects += [ox.Literal(text, language="en") for text in texts]
    objects += [ox.Literal(text) for text in texts]
    for i, value in enumerate(objects):
        made.add(ox.Quad(ox.NamedNode(f"{EX}s{i}?a=1&b='2'"), ox.NamedNode(EX + "p"), value))
    query = "SELECT ?s ?o ?none WHERE { ?s ?p ?o } ORDER BY ?s"
    chunks: list[bytes] = []
    job = QueryJob(query, results_format=name, chunk_bytes=64).to_dict()
    streamed = run_job(made, job, emit=chunks.append)
    whole = run_job(made, QueryJob(query, results_format=name).to_dict())
    assert streamed[0] == whole[0] == "ok" and len(chunks) > 1
    assert b"".join(chunks) + streamed[3] == whole[3]


CONSTRUCT_ALL = f"CONSTRUCT {{ ?s <{EX}q> ?o }} WHERE {{ ?s <{EX}p> ?o }}"


@pytest.mark.parametrize("name", ["ntriples", "nquads"])
def test_graph_answers_in_lines_are_the_engines_with_exact_caps(store: ox.Store, name: str) -> None:
    """N-Triples and N-Quads write a triple per line: the engine's serializer, the lines
    counted for the row cap (every literal above holds escaped line breaks)."""
    graph = QueryJob(CONSTRUCT_ALL, graph_format=name, results_format=None)
    whole = LocalStore(store).execute(graph, timeout=30).body
    rdf_format = ox.RdfFormat.N_TRIPLES if name == "ntriples" else ox.RdfFormat.N_QUADS
    assert whole == store.query(CONSTRUCT_ALL).serialize(format=rdf_format)
    assert len(list(ox.parse(whole, format=rdf_format))) == ROWS
    capped = QueryJob(CONSTRUCT_ALL, graph_format=name, max_rows=ROWS - 1)
    with pytest.raises(QueryFailed) as failed:
        LocalStore(store).execute(capped, timeout=30)
    assert failed.value.kind == "too-many-rows"
    assert LocalStore(store).execute(
        QueryJob(CONSTRUCT_ALL, graph_format=name, max_rows=ROWS, max_bytes=len(whole)), 30
    )
    with pytest.raises(QueryFailed) as failed:
        LocalStore(store).execute(
            QueryJob(CONSTRUCT_ALL, graph_format=name, max_bytes=len(whole) - 1), 30
        )
    assert failed.value.kind == "too-large"
