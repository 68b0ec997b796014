"""The karabakh-kg ontology: OWL classes and properties, SHACL shapes and domain rules."""

from karabakh_kg.ontology.vocab import (
    BASE,
    KG,
    KGE,
    KGO,
    PREFIXES,
)

__all__ = [
    "BASE",
    "KG",
    "KGE",
    "KGO",
    "PREFIXES",
]
