"""Which SPARQL 1.1 features an engine gets right, probed with small queries on its data.

The server sends users' queries to the engine as they are (``serve --backend``), and the
in-engine reasoner writes with ``INSERT … WHERE``; an engine that lacks a feature answers
those queries wrongly or refuses them. :func:`probe` runs one self-contained query per
feature (its data in ``VALUES`` or in a scratch graph it writes and drops) and lists what
failed, so an operator learns it before users do (``docs/deployment.md`` lists the known
gaps of each engine, and the tests check that list against the engines themselves).
"""

from __future__ import annotations

from dataclasses import dataclass

from karabakh_kg.graph.store import GraphStore, StoreError
from karabakh_kg.ontology import vocab

SCRATCH = vocab.BASE + "graph/probe"
SCRATCH_OTHER = SCRATCH + "/other"


@dataclass(frozen=True)
class Feature:
    """One feature: an ASK query that is true exactly when the engine implements it."""

    name: str
    ask: str


FEATURES = [
    Feature("VALUES", "ASK { VALUES ?x { 1 2 } FILTER(?x = 2) }"),
    Feature("BIND", "ASK { BIND(1 + 1 AS ?x) FILTER(?x = 2) }"),
    Feature("MINUS", "ASK { VALUES ?x { 1 2 } MINUS { VALUES ?x { 1 } } FILTER(?x = 2) }"),
    Feature(
        "FILTER NOT EXISTS",
        "ASK { VALUES ?x { 1 2 } FILTER NOT EXISTS { VALUES ?x { 1 } } FILTER(?x = 2) }",
    ),
    Feature(
        "aggregates in subqueries",
        "ASK { { SELECT (COUNT(?x) AS ?n) WHERE { VALUES ?x { 1 2 3 } } } FILTER(?n = 3) }",
    ),
    Feature(
        "GROUP_CONCAT with separator",
        'ASK { { SELECT (GROUP_CONCAT(?x; separator="|") AS ?s) WHERE { VALUES ?x { "a" } } } '
        'FILTER(?s = "a") }',
    ),
    Feature(
        "STRSTARTS and STRENDS", 'ASK { FILTER(STRSTARTS("abc", "a") && STRENDS("abc", "c")) }'
    ),
    Feature("language tags and LANGMATCHES", 'ASK { FILTER(LANGMATCHES(LANG("x"@en-GB), "en")) }'),
    Feature(
        "xsd:date comparison",
        'ASK { FILTER("2020-10-12"^^xsd:date < "2020-10-13"^^xsd:date) }',
    ),
    Feature("COALESCE and IF", "ASK { FILTER(COALESCE(?unbound, 1) = IF(true, 1, 2)) }"),
    Feature(
        "EXISTS as a value",
        "ASK { VALUES ?x { 1 } BIND(EXISTS { VALUES ?y { 1 } } AS ?b) FILTER(?b) }",
    ),
    Feature("IN", "ASK { VALUES ?x { 2 } FILTER(?x IN (1, 2)) }"),
    Feature(
        "COUNT(DISTINCT) and SAMPLE",
        "ASK { { SELECT (COUNT(DISTINCT ?x) AS ?n) (SAMPLE(?x) AS ?s) "
        "WHERE { VALUES ?x { 1 1 2 } } } FILTER(?n = 2) }",
    ),
    Feature("REPLACE and UCASE", 'ASK { FILTER(UCASE(REPLACE("a-b", "-", "")) = "AB") }'),
    # In-engine reasoning splits large updates by ranges of MD5(STR(subject)) (RFC 1321:
    # MD5("abc") is 900150983cd24fb0d6963f7d28e17f72).
    Feature(
        "MD5, SUBSTR and string order",
        'ASK { FILTER(SUBSTR(MD5("abc"), 1, 2) = "90" && "0a" < "10" && "ff" >= "a0") }',
    ),
    Feature("xsd:gYear values", 'ASK { FILTER(STR("2020"^^xsd:gYear) = "2020") }'),
    Feature(
        "property path +",
        f"ASK {{ GRAPH <{SCRATCH}> {{ <urn:probe:a> <urn:probe:p>+ <urn:probe:c> }} }}",
    ),
    Feature(
        "property path * on a variable subject",
        f"ASK {{ GRAPH <{SCRATCH}> {{ ?x <urn:probe:p>* <urn:probe:c> "
        "FILTER(?x = <urn:probe:a>) } }",
    ),
    Feature(
        "inverse and sequence paths",
        f"ASK {{ GRAPH <{SCRATCH}> {{ <urn:probe:c> ^<urn:probe:p>/^<urn:probe:p> "
        "<urn:probe:a> } }",
    ),
    Feature(
        "blank nodes and literals kept apart",
        f'ASK {{ GRAPH <{SCRATCH}> {{ <urn:probe:a> <urn:probe:label> "a"@en ; '
        "<urn:probe:count> 2 } }",
    ),
]
"""What the project's queries, pages and rules rely on."""

LABEL = '<urn:probe:a> <urn:probe:label> "a label"@en .'
SEVERAL_GRAPHS = f"GRAPH <{SCRATCH}> {{ {LABEL} }} GRAPH <{SCRATCH_OTHER}> {{ {LABEL} }}"
"""A language-tagged literal in two graphs: Virtuoso 7.2's ``DELETE DATA`` naming both
leaves it in both (one graph a ``DELETE DATA`` works), so the project's own deletions name
one graph each (``graph/store/publish.py``, ``graph/store/reasoning.py``)."""

SCRATCH_DATA = (
    "<urn:probe:a> <urn:probe:p> <urn:probe:b> . <urn:probe:b> <urn:probe:p> <urn:probe:c> . "
    '<urn:probe:a> <urn:probe:label> "a"@en . <urn:probe:a> <urn:probe:count> 2 .'
)


def probe(store: GraphStore, *, write: bool = True) -> dict[str, str]:
    """Feature name → what went wrong, for each feature ``store`` does not get right.

    With ``write`` the probe writes, then drops, the scratch graphs ``…/graph/probe`` and
    ``…/graph/probe/other`` (and also checks ``INSERT DATA``, ``DELETE WHERE`` with
    ``GRAPH`` and ``DELETE DATA`` over several graphs); without, the features that read
    them are left out (they would fail on the missing graph, not on the engine)."""
    failed: dict[str, str] = {}
    if write:
        try:
            store.update(f"INSERT DATA {{ GRAPH <{SCRATCH}> {{ {SCRATCH_DATA} }} }}")
        except StoreError as error:
            failed["INSERT DATA into a named graph"] = str(error)
    try:
        for feature in FEATURES:
            if not write and SCRATCH in feature.ask:
                continue
            try:
                if not store.ask(feature.ask):
                    failed[feature.name] = "wrong answer (false)"
            except StoreError as error:
                failed[feature.name] = str(error)
    finally:
        if write:
            _delete_data(store, failed)
            try:
                store.update(f"DELETE WHERE {{ GRAPH <{SCRATCH}> {{ ?s ?p ?o }} }}")
                if store.ask(f"ASK {{ GRAPH <{SCRATCH}> {{ ?s ?p ?o }} }}"):
                    failed["DELETE WHERE in a named graph"] = "the triples stayed"
            except StoreError as error:
                failed["DELETE WHERE in a named graph"] = str(error)
            store.drop_graph(SCRATCH)
            store.drop_graph(SCRATCH_OTHER)
    return failed


def _delete_data(store: GraphStore, failed: dict[str, str]) -> None:
    """``DELETE DATA`` of :data:`SEVERAL_GRAPHS` removes it from both graphs."""
    name = "DELETE DATA over several graphs"
    try:
        store.update(f"INSERT DATA {{ {SEVERAL_GRAPHS} }}")
        store.update(f"DELETE DATA {{ {SEVERAL_GRAPHS} }}")
        left = f"ASK {{ GRAPH ?g {{ {LABEL} }} FILTER(?g IN (<{SCRATCH}>, <{SCRATCH_OTHER}>)) }}"
        if store.ask(left):
            failed[name] = "language-tagged literals stayed"
    except StoreError as error:
        failed[name] = str(error)
