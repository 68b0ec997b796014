"""The one reading of SPARQL text (server/sparql/inspect.py, sparql.lark): what it reports is
what the SPARQL 1.1 grammar says, and where a SERVICE call is concerned, what pyoxigraph does.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Lark, logger
from listeners import Listener

from karabakh_kg.server.sparql.guard import checked_text
from karabakh_kg.server.sparql.inspect import GRAMMAR, inspect
from karabakh_kg.server.web.examples import EXAMPLES


def test_the_grammar_is_lalr1_without_conflicts(caplog: pytest.LogCaptureFixture) -> None:
    """lark resolves a shift/reduce conflict silently as a shift (and logs it in debug
    mode): that would be a reading the grammar does not say. There is none."""
    caplog.set_level(logging.DEBUG, logger=logger.name)
    Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", lexer="contextual", debug=True)
    conflicts = [r.getMessage() for r in caplog.records if "conflict" in r.getMessage().lower()]
    assert conflicts == []


def test_forms_and_dataset_clauses() -> None:
    found = inspect("PREFIX ex: <http://ex/> SELECT * FROM <http://a/> FROM NAMED ex:b { }")
    assert found.error is None and found.form == "SELECT" and found.has_dataset_clause
    assert [r.text for r in found.from_default] == ["<http://a/>"]
    assert [r.text for r in found.from_named] == ["ex:b"]
    assert [d.name for d in found.from_named[0].prologue] == ["ex"]
    # A variable named ?from, a prefixed name from:x and a string are not dataset clauses.
    plain = inspect('PREFIX from: <http://f/> SELECT ?from { ?s from:x ?from ; ?p "FROM" }')
    assert plain.error is None and not plain.has_dataset_clause
    assert inspect("PREFIX a: <http://a/> DELETE WHERE { ?s ?p ?o }").is_update
    assert inspect("CONSTRUCT WHERE { ?s ?p ?o }").returns_graph
    assert inspect("DESCRIBE <http://x>").returns_graph
    assert inspect("ask{}").form == "ASK"
    # Declarations alone are an empty update (SPARQL 1.1 Update [29]), not a query.
    empty = inspect("PREFIX a: <http://a/>")
    assert empty.error is None and empty.form is None


def test_names_have_the_classes_of_the_productions() -> None:
    """Names beyond Latin-1 read as the productions say ([164]-[169]); a character outside
    their classes (U+2000, U+037E) is not part of a name, and the text is not read."""
    found = inspect("PREFIX 名: <http://x/> SELECT ?é ?名 { ?é 名:a·b _:é1 , ?名 }")
    assert found.error is None
    for outside in ("\u2000", "\u037e"):
        refused = inspect(f"SELECT * {{ ?s ?p ?o{outside}x }}")
        assert refused.error is not None and "not allowed in a name" in refused.error
    # U+FEFF is white space for pyoxigraph, not a name character as the productions have it.
    assert inspect("\ufeffSELECT * { ?s ?p ?o\ufeff}").error is None


def test_depth_is_the_nesting_the_grammar_reads() -> None:
    # '<?b&&?b>' is IRI-shaped, but '<' is less-than after an operand for pyoxigraph (not
    # for the recommendation's longest tokens, W3C test syn-bad-26): four brackets deep.
    compared = inspect("SELECT * { FILTER(?a<?b&&?b>((1))) }")
    assert compared.error is None and compared.depth == 4
    # Brackets in IRIs, strings and comments are not brackets.
    assert inspect('SELECT * { ?s <http://x/((((> "((((" } # ((((').depth == 1
    # NIL and ANON are one level: '()' and '[]'.
    assert inspect("SELECT * { ?s ?p () , [] }").depth == 2
    nested = "SELECT * WHERE { " + "{ " * 300 + "} " * 300 + "}"
    assert inspect(nested).depth == 301


def test_a_text_outside_the_grammar_has_an_upper_bound_of_its_depth() -> None:
    """SPARQL 1.2's '<<' is read by the engine, not by the grammar: the depth counted is at
    least the engine's nesting (two braces, '<<' and three brackets here)."""
    found = inspect("SELECT * { { << ?s ?p ?o >> ?q (((1))) } }")
    assert found.error is not None and "line 1, column 14" in found.error
    assert found.form == "SELECT"
    assert found.depth >= 6


def test_every_example_query_reads_as_pyoxigraph_reads_it() -> None:
    """The UI's example queries follow the grammar, with the form pyoxigraph finds."""
    store = ox.Store()
    forms = {ox.QuerySolutions: "SELECT", ox.QueryBoolean: "ASK", ox.QueryTriples: "CONSTRUCT"}
    assert EXAMPLES
    for example in EXAMPLES:
        found = inspect(example.sparql)
        assert found.error is None, (example.id, found.error)
        result = store.query(example.sparql)
        expected = forms[type(result)]
        assert found.form == expected or (found.form == "DESCRIBE" and expected == "CONSTRUCT")


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.sock.close()


OPERANDS = ["?a", "1", "1.5e5", '"a"', ":a", "(?a)", "STR(?a)", '"1"^^:t', "?a+1", "-1"]
RIGHT = ["?b", "?b&&?b>0", "2", "?b||1>0", ":b"]
BEFORE_CALL = ["", " ", "\n", "#>\n", " . ", ".", "\ufeff"]
CALLS = [
    "SERVICE",
    "SERVICE SILENT",
    "service silent",
    "?s ?p 1.5e5SERVICE",
    'BIND("a\\u005c" AS ?z) SERVICE',
    'BIND("""a"b""" AS ?z)SERVICE',
]
GAPS = ["", " ", "\n", "#}\n", "\ufeff"]
ENDPOINTS = [":sparql", "<{target}>", ":sparql#>", "<http://127.0.0.1\\u003a{port}/sparql>"]
GROUPS = ["{}", "{ ?s ?p ?o }", "{?x ?y ?z}"]


@st.composite
def texts(draw: st.DrawFn) -> str:
    """Queries with a comparison then a call, glued in the ways a reader could misread."""
    left, right = draw(st.sampled_from(OPERANDS)), draw(st.sampled_from(RIGHT))
    pieces = [
        "BIND(1 AS ?a) BIND(2 AS ?b) ",
        f"FILTER({left}<{right})",
        draw(st.sampled_from(BEFORE_CALL)),
        draw(st.sampled_from(CALLS)),
        draw(st.sampled_from(GAPS)),
        draw(st.sampled_from(ENDPOINTS)),
        draw(st.sampled_from(GAPS)),
        draw(st.sampled_from(GROUPS)),
    ]
    return "PREFIX : <http://127.0.0.1:{port}/> SELECT * WHERE { " + "".join(pieces) + " }"


@settings(
    max_examples=400,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(template=texts())
def test_where_the_reading_sees_no_call_pyoxigraph_makes_none(
    template: str, listener: Listener
) -> None:
    """Run by pyoxigraph against a listening socket: a text the guard lets through
    unchanged (no call read, or none refused) never connects; one it rewrote never either."""
    target = f"http://127.0.0.1:{listener.port}/sparql"
    text = template.replace("{target}", target).replace("{port}", str(listener.port))
    try:
        checked, _ = checked_text(text, {}, [], update=False)
    except Exception:
        return  # refused before evaluation
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://s"), ox.NamedNode("http://p"), ox.Literal("o")))
    before = listener.connections
    try:
        result = store.query(checked)
        if isinstance(result, ox.QuerySolutions):
            list(result)
    except (SyntaxError, OSError, ValueError, RuntimeError):
        pass
    assert listener.connections == before, text


SPELLINGS = [
    r"""SELECT * { ?s ?p '''a''\\b\'c''' , """ + '"""x""\\\\y\\"z"""' + " }",
    "SELECT * { ?s ?p 'it\\'s' , \"say \\\"hi\\\"\" , 'tab\\t' }",
    "SELECT * { ?s ^<http://p/>/!(<http://q/>|^a)* ?o ; a ?t }",
    "SELECT * { ?s ?p () , [] , [ a <http://c/> ] , (1 -2 +3.5 .5e1 1.0) }",
    "SELECT (?a -1 AS ?b) (?a - -1 AS ?c) { BIND(1 AS ?a) }",
    "SELECT * { ?s ?p ?o . FILTER(?o IN (1, 2) && ?o NOT IN ()) }",
    "SELECT * { VALUES (?a ?b) { (1 UNDEF) (<http://x/> 'y'@en-GB) } }",
    "PREFIX : <http://x/> SELECT * { :a :b\\.c :d%20e , :f:g }",
    'SELECT * { ?s ?p "\\u00e9" , <http://x/\\u00e9> }',
    "SELECT (COUNT(DISTINCT *) AS ?n) (GROUP_CONCAT(?o ; SEPARATOR=',') AS ?g) { ?s ?p ?o } "
    "GROUP BY ?s HAVING (COUNT(*) > 1)",
    "ASK { FILTER(STRSTARTS(STR(?a), 'x') || REGEX(?a, '^a', 'i') || isIRI(?a) && BOUND(?a)) }",
    "SELECT*{?s?p?o}",
    "CLEAR SILENT ALL ; DROP SILENT GRAPH <http://g/> ; CREATE SILENT GRAPH <http://h/> ; "
    "ADD DEFAULT TO <http://h/> ; COPY <http://h/> TO DEFAULT ; MOVE SILENT <http://h/> TO <http://i/>",
]


@pytest.mark.parametrize("text", SPELLINGS)
def test_spellings_pyoxigraph_reads_are_read(text: str) -> None:
    """Escaped quotes and backslashes in long and short strings, paths, collections, signed
    numbers after an operand, escapes in names, IRIs and strings, updates of every kind:
    pyoxigraph reads them (the oracle), and so does the grammar, exactly."""
    found = inspect(text)
    assert found.error is None, found.error
    store = ox.Store()
    if found.is_update:
        store.update(text)
    else:
        store.query(text)


UPDATE_BEFORE = [
    "",
    "INSERT DATA { <http://s/> <http://p/> 1.5e5 } ;",
    'INSERT DATA { <http://s/> <http://p/> "a\\u005c" } ;',
    "CLEAR SILENT DEFAULT;",
]
LOADS = ["LOAD", "load silent", "LOAD SILENT", "LO\\u0041D"]
SOURCES = ["<{target}>", ":data.ttl", "<http://127.0.0.1\\u003a{port}/data.ttl>"]
INTO = ["", " INTO GRAPH <urn:g>", "#\n INTO GRAPH <urn:g>"]


@st.composite
def updates(draw: st.DrawFn) -> str:
    """Updates with a LOAD after other operations, escapes and glue."""
    return (
        "PREFIX : <http://127.0.0.1:{port}/> "
        + draw(st.sampled_from(UPDATE_BEFORE))
        + draw(st.sampled_from(["", " ", "\n", "\ufeff"]))
        + draw(st.sampled_from(LOADS))
        + draw(st.sampled_from([" ", "\n", "#x\n"]))
        + draw(st.sampled_from(SOURCES))
        + draw(st.sampled_from(INTO))
    )


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(template=updates())
def test_an_update_the_reading_lets_through_never_fetches(
    template: str, listener: Listener
) -> None:
    """pyoxigraph fetches LOAD sources itself: an update the guard does not refuse never
    connects (run against a listening socket)."""
    target = f"http://127.0.0.1:{listener.port}/data.ttl"
    text = template.replace("{target}", target).replace("{port}", str(listener.port))
    try:
        checked, _ = checked_text(text, {}, [], update=True)
    except Exception:
        return  # refused before evaluation
    before = listener.connections
    with contextlib.suppress(SyntaxError, OSError, ValueError, RuntimeError):
        ox.Store().update(checked)
    assert listener.connections == before, text
