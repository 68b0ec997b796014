"""Loading the knowledge graph: the curated files, then reasoning over them.

The store (:mod:`karabakh_kg.graph.dataset`) knows nothing of reasoning and the reasoner
(:mod:`karabakh_kg.graph.reasoning`) builds on the store; this module composes the two, so
neither imports the other back.
"""

from __future__ import annotations

from pathlib import Path

from karabakh_kg.graph import reasoning
from karabakh_kg.graph.dataset import KnowledgeGraph


def load_graph(
    data_dir: Path | None = None, *, reason: bool = True, wikidata: Path | None = None
) -> KnowledgeGraph:
    """Load the ontology and the curated data (and ``wikidata``, an enrichment file, into
    the Wikidata graph only); derive the inferred graph if ``reason``."""
    kg = KnowledgeGraph.from_files(data_dir, wikidata=wikidata)
    if reason:
        reasoning.materialize(kg)
    return kg
