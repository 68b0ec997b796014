"""The karabakh-kg ontology: OWL classes and properties, SHACL shapes and domain rules."""

from karabakh_kg.ontology.vocab import (
    BASE,
    GRAPH_ASSERTED,
    GRAPH_INFERRED,
    GRAPH_ONTOLOGY,
    GRAPH_PROVENANCE,
    GRAPH_WIKIDATA,
    KG,
    KGE,
    KGO,
    PREFIXES,
)

__all__ = [
    "BASE",
    "GRAPH_ASSERTED",
    "GRAPH_INFERRED",
    "GRAPH_ONTOLOGY",
    "GRAPH_PROVENANCE",
    "GRAPH_WIKIDATA",
    "KG",
    "KGE",
    "KGO",
    "PREFIXES",
]
