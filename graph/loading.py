"""Loading the knowledge graph: the curated files, then reasoning over them.

The store (:mod:`karabakh_kg.graph.dataset`) knows nothing of reasoning and the reasoner
(:mod:`karabakh_kg.graph.reasoning`) builds on the store; this module composes the two, so
neither imports the other back.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from karabakh_kg.graph.dataset import KnowledgeGraph

if TYPE_CHECKING:
    from karabakh_kg.graph.cache import ReasonedCache


def load_graph(
    data_dir: Path | None = None,
    *,
    reason: bool = True,
    wikidata: Path | None = None,
    cache: bool | ReasonedCache = False,
    read_only: bool = False,
) -> KnowledgeGraph:
    """Load the ontology and the curated data (and ``wikidata``, an enrichment file, into
    the Wikidata graph only); derive the inferred graph if ``reason``.

    ``cache``: reuse the reasoned store kept for this data version, or keep it
    (:mod:`karabakh_kg.graph.cache`); True for the cache the settings name
    (``KARABAKH_KG_CACHE_DIR``, off with ``KARABAKH_KG_REASONING_CACHE=off``). The reasoner
    of a store read from the cache is built on first use. ``read_only``: the cached store
    may be opened from disk, read-only, for callers that never change it (``query``, and
    ``serve`` without updates, whose pages read it too): opened in milliseconds instead of
    parsed into memory, but each term read from it in Python is looked up on disk, and a
    change raises.
    """
    if reason and cache is not False:
        from karabakh_kg.graph.cache import load_reasoned, reasoned_cache

        found = reasoned_cache() if cache is True else cache
        if found is not None:
            return load_reasoned(found, data_dir, wikidata=wikidata, read_only=read_only)[0]
    kg = KnowledgeGraph.from_files(data_dir, wikidata=wikidata)
    if reason:
        from karabakh_kg.graph import reasoning

        reasoning.materialize(kg)
    return kg
