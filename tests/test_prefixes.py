"""IRI <-> CURIE: every CURIE shown can be pasted into SPARQL and means the same IRI."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from karabakh_kg.graph.dataset import KnowledgeGraph
from karabakh_kg.graph.prefixes import compact, expand, shorten, turtle
from karabakh_kg.ontology import vocab


def _iris(kg: KnowledgeGraph) -> set[str]:
    found: set[str] = set()
    for quad in kg.store:
        for term in (quad.subject, quad.predicate, quad.object, quad.graph_name):
            if isinstance(term, ox.NamedNode):
                found.add(term.value)
    return found


def test_every_curie_of_the_store_reads_back_in_sparql_as_its_iri(kg: KnowledgeGraph) -> None:
    store = ox.Store()
    compacted = 0
    for iri in sorted(_iris(kg)):
        text = turtle(iri)
        # SPARQL's own parser is the judge of what a prefixed name means.
        rows = list(
            store.query(f"SELECT ?x WHERE {{ BIND({text} AS ?x) }}", prefixes=vocab.PREFIXES)
        )
        assert rows[0]["x"] == ox.NamedNode(iri), text
        if text != f"<{iri}>":
            compacted += 1
            assert expand(text) == iri
    assert compacted > 500


@pytest.mark.parametrize(
    "iri",
    [
        vocab.BASE + "resource/a/b",  # '/' is not allowed in a prefixed name
        vocab.BASE + "resource/a.",  # nor a final '.'
        vocab.BASE + "resource/a?b",
        vocab.BASE + "resource/",  # the namespace itself
        vocab.BASE + "graph/asserted",  # no prefix for system graphs
        "http://example.org/x",
    ],
)
def test_iris_that_no_prefixed_name_can_write_stay_iris(iri: str) -> None:
    assert compact(iri) == iri
    assert turtle(iri) == f"<{iri}>"


def test_the_longest_namespace_wins() -> None:
    # wdt: (.../prop/direct/) would be hidden by a shorter match if one existed; kgo: vs kg:.
    assert compact("http://www.wikidata.org/prop/direct/P31") == "wdt:P31"
    assert compact(vocab.BASE + "ontology#Person") == "kgo:Person"
    assert compact(vocab.BASE + "evidence/L37-x") == "kge:L37-x"


@pytest.mark.parametrize("text", ["http://example.org/x", "zz:x", "kg:a b", "kg://x", "Lavrov"])
def test_only_curies_of_known_prefixes_expand(text: str) -> None:
    assert expand(text) is None


def test_terms_in_ntriples_text_are_shortened_and_others_kept() -> None:
    assert shorten(f"<{vocab.KG}sergei-lavrov>") == "kg:sergei-lavrov"
    assert shorten("<http://example.org/x>") == "<http://example.org/x>"
    assert shorten('"2020"^^<http://www.w3.org/2001/XMLSchema#gYear>').startswith('"2020"')
    assert shorten("prp-fp") == "prp-fp"
