"""The graph layer of karabakh-kg: what the server (and other users of the package) may import.

Everything here is imported on first use (PEP 562), so ``import karabakh_kg.graph`` costs
next to nothing and a command loads only the modules it needs. The server imports from this
module only (``tests/test_surface.py`` checks it); the modules behind it may be reorganised
freely as long as these names keep their meaning.

>>> import karabakh_kg.graph as graph
>>> graph.compact("https://w3id.org/karabakh-kg/resource/sergei-lavrov")
'kg:sergei-lavrov'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Public name -> (module under karabakh_kg.graph, attribute; None for the module itself).
_SURFACE: dict[str, tuple[str, str | None]] = {
    # the knowledge graph and its graphs
    "KnowledgeGraph": ("dataset", "KnowledgeGraph"),
    "load_graph": ("loading", "load_graph"),
    "DataError": ("dataset", "DataError"),
    "UpdateError": ("dataset", "UpdateError"),
    "ASSERTED": ("dataset", "ASSERTED"),
    "INFERRED": ("dataset", "INFERRED"),
    "ONTOLOGY": ("dataset", "ONTOLOGY"),
    "PROVENANCE": ("dataset", "PROVENANCE"),
    "WIKIDATA": ("dataset", "WIKIDATA"),
    "SYSTEM_GRAPHS": ("dataset", "SYSTEM_GRAPHS"),
    "SUPPORT": ("dataset", "SUPPORT"),
    "PERSPECTIVE_GRAPHS": ("dataset", "PERSPECTIVE_GRAPHS"),
    "is_evidence_graph": ("dataset", "is_evidence_graph"),
    # names, formats, files
    "compact": ("prefixes", "compact"),
    "expand": ("prefixes", "expand"),
    "shorten": ("prefixes", "shorten"),
    "turtle": ("prefixes", "turtle"),
    "Format": ("formats", "Format"),
    "RESULT_FORMATS": ("formats", "RESULT_FORMATS"),
    "GRAPH_FORMATS": ("formats", "GRAPH_FORMATS"),
    "find_format": ("formats", "find"),
    "write_atomic": ("files", "write_atomic"),
    "reasoned_cache_folder": ("cache_folder", "cache_folder"),
    "reasoned_cache": ("cache", "reasoned_cache"),
    "WORKERS_SUFFIX": ("cache", "WORKERS_SUFFIX"),
    "workers_key": ("cache", "workers_key"),
    # categories, projections and their traversal
    "hierarchy": ("categories", "hierarchy"),
    "GraphFilter": ("projection", "GraphFilter"),
    "derived_view": ("views", "view"),
    "entity_count": ("entities", "entity_count"),
    "ENTITY_COUNT_QUERY": ("entities", "ENTITY_COUNT_QUERY"),
    # reasoning and explanations
    "reasoner": ("reasoning", "reasoner"),
    "build_reasoner": ("reasoning", "build"),
    "check_consistency": ("reasoning.consistency", "check_consistency"),
    "contradictions": ("reasoning.consistency", "contradictions"),
    "explain": ("reasoning.explain", "explain"),
    "parse_term": ("reasoning.explain", "parse_term"),
    "Term": ("reasoning.explain", "Term"),
    "RuleError": ("reasoning.rules", "RuleError"),
    "validate": ("validation", "validate"),
    # analyst views
    "disputes": ("dispute_records", "disputes"),
    "disputes_about": ("dispute_records", "disputes_about"),
    "Window": ("timeline", "Window"),
    "timeline_items": ("timeline", "timeline_items"),
    # stores
    "QuadChange": ("store", "QuadChange"),
    "GraphStore": ("store", "GraphStore"),
    "StoreError": ("store", "StoreError"),
    "StoreTimeout": ("store", "StoreTimeout"),
    "probe_store": ("store.capabilities", "probe"),
    "DEFAULT_CONTRIBUTOR": ("store.contributions", "DEFAULT_CONTRIBUTOR"),
    "CONTRIBUTIONS_GRAPH_NAME": ("store.contributions", "NAME"),
    "apply_change": ("store.contributions", "apply_change"),
    "contributions_graph": ("store.contributions", "contributions_graph"),
    "export_updates": ("store.contributions", "export_updates"),
    "RDF_FOLDER": ("store.durable", "RDF_FOLDER"),
    "open_dataset": ("store.durable", "open_dataset"),
    "open_store_folder": ("store.durable", "open_store_folder"),
    "publish": ("store.publish", "publish"),
    "PUBLICATION": ("store.publish", "PUBLICATION"),
    "published_version": ("store.publish", "published_version"),
    "published_manifest": ("store.publish", "published"),
    "publication_version": ("store.publish", "publication_version"),
    "read_published": ("store.publish", "read_published"),
    "materialize_in_engine": ("store.reasoning", "materialize_in_engine"),
    "EngineTimeout": ("store.remote", "EngineTimeout"),
    "RemoteStore": ("store.remote", "RemoteStore"),
    # Wikidata
    "QueryCache": ("wikidata.client", "QueryCache"),
    "WikidataClient": ("wikidata.client", "WikidataClient"),
    "WikidataError": ("wikidata.client", "WikidataError"),
    "default_cache_dir": ("wikidata.client", "default_cache_dir"),
    "WIKIDATA_FACTS": ("wikidata.enrich", "FACTS"),
    "default_enrichment_file": ("wikidata.enrich", "default_output"),
    "enrich": ("wikidata.enrich", "enrich"),
    "write_enrichment": ("wikidata.enrich", "write_enrichment"),
    "LinkError": ("wikidata.link", "LinkError"),
    "check_links": ("wikidata.link", "check"),
    "confirm_link": ("wikidata.link", "confirm"),
    "entity_infos": ("wikidata.link", "entity_infos"),
    "links_file": ("wikidata.link", "links_file"),
    "mapping_csv": ("wikidata.link", "mapping_csv"),
    "parse_qid": ("wikidata.link", "parse_qid"),
    "quickstatements": ("wikidata.link", "quickstatements"),
    "read_links": ("wikidata.link", "read_links"),
    "suggest_links": ("wikidata.link", "suggest"),
    # modules used as namespaces (their functions are their public interface)
    "events": ("events", None),
    "export": ("export", None),
    "formats": ("formats", None),
    "gazetteer": ("gazetteer", None),
    "lookup": ("lookup", None),
    "reasoning": ("reasoning", None),
    "closure": ("reasoning.closure", None),
    "rdf_files": ("rdf_files", None),
    "perspectives": ("reasoning.perspectives", None),
    "explanations": ("reasoning.explain", None),
    "reconcile": ("reconcile", None),
    "traversal": ("traversal", None),
}

# The same names, written out so that linters and readers see them.
__all__ = [
    "ASSERTED",
    "CONTRIBUTIONS_GRAPH_NAME",
    "DEFAULT_CONTRIBUTOR",
    "ENTITY_COUNT_QUERY",
    "GRAPH_FORMATS",
    "INFERRED",
    "ONTOLOGY",
    "PERSPECTIVE_GRAPHS",
    "PROVENANCE",
    "PUBLICATION",
    "RDF_FOLDER",
    "RESULT_FORMATS",
    "SUPPORT",
    "SYSTEM_GRAPHS",
    "WIKIDATA",
    "WIKIDATA_FACTS",
    "WORKERS_SUFFIX",
    "DataError",
    "EngineTimeout",
    "Format",
    "GraphFilter",
    "GraphStore",
    "KnowledgeGraph",
    "LinkError",
    "QuadChange",
    "QueryCache",
    "RemoteStore",
    "RuleError",
    "StoreError",
    "StoreTimeout",
    "Term",
    "UpdateError",
    "WikidataClient",
    "WikidataError",
    "Window",
    "apply_change",
    "build_reasoner",
    "check_consistency",
    "check_links",
    "closure",
    "compact",
    "confirm_link",
    "contradictions",
    "contributions_graph",
    "default_cache_dir",
    "default_enrichment_file",
    "derived_view",
    "disputes",
    "disputes_about",
    "enrich",
    "entity_count",
    "entity_infos",
    "events",
    "expand",
    "explain",
    "explanations",
    "export",
    "export_updates",
    "find_format",
    "formats",
    "gazetteer",
    "hierarchy",
    "is_evidence_graph",
    "links_file",
    "load_graph",
    "lookup",
    "mapping_csv",
    "materialize_in_engine",
    "open_dataset",
    "open_store_folder",
    "parse_qid",
    "parse_term",
    "perspectives",
    "probe_store",
    "publication_version",
    "publish",
    "published_manifest",
    "published_version",
    "quickstatements",
    "rdf_files",
    "read_links",
    "read_published",
    "reasoned_cache",
    "reasoned_cache_folder",
    "reasoner",
    "reasoning",
    "reconcile",
    "shorten",
    "suggest_links",
    "timeline_items",
    "traversal",
    "turtle",
    "validate",
    "workers_key",
    "write_atomic",
    "write_enrichment",
]


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _SURFACE[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    module = importlib.import_module(f"{__name__}.{module_name}")
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # what type checkers and editors see; nothing is imported at run time
    from karabakh_kg.graph import (
        events,
        export,
        formats,
        gazetteer,
        lookup,
        rdf_files,
        reasoning,
        reconcile,
        traversal,
    )
    from karabakh_kg.graph.cache import WORKERS_SUFFIX, reasoned_cache, workers_key
    from karabakh_kg.graph.cache_folder import cache_folder as reasoned_cache_folder
    from karabakh_kg.graph.categories import hierarchy
    from karabakh_kg.graph.dataset import (
        ASSERTED,
        INFERRED,
        ONTOLOGY,
        PERSPECTIVE_GRAPHS,
        PROVENANCE,
        SUPPORT,
        SYSTEM_GRAPHS,
        WIKIDATA,
        DataError,
        KnowledgeGraph,
        UpdateError,
        is_evidence_graph,
    )
    from karabakh_kg.graph.dispute_records import disputes, disputes_about
    from karabakh_kg.graph.entities import ENTITY_COUNT_QUERY, entity_count
    from karabakh_kg.graph.files import write_atomic
    from karabakh_kg.graph.formats import GRAPH_FORMATS, RESULT_FORMATS, Format
    from karabakh_kg.graph.formats import find as find_format
    from karabakh_kg.graph.loading import load_graph
    from karabakh_kg.graph.prefixes import compact, expand, shorten, turtle
    from karabakh_kg.graph.projection import GraphFilter
    from karabakh_kg.graph.reasoning import closure, perspectives, reasoner
    from karabakh_kg.graph.reasoning import explain as explanations
    from karabakh_kg.graph.reasoning.consistency import check_consistency, contradictions
    from karabakh_kg.graph.reasoning.explain import Term, explain, parse_term
    from karabakh_kg.graph.reasoning.rules import RuleError
    from karabakh_kg.graph.store import GraphStore, QuadChange, StoreError, StoreTimeout
    from karabakh_kg.graph.store.capabilities import probe as probe_store
    from karabakh_kg.graph.store.contributions import (
        DEFAULT_CONTRIBUTOR,
        apply_change,
        contributions_graph,
        export_updates,
    )
    from karabakh_kg.graph.store.contributions import NAME as CONTRIBUTIONS_GRAPH_NAME
    from karabakh_kg.graph.store.durable import RDF_FOLDER, open_dataset, open_store_folder
    from karabakh_kg.graph.store.publish import (
        PUBLICATION,
        publication_version,
        publish,
        published_version,
        read_published,
    )
    from karabakh_kg.graph.store.publish import published as published_manifest
    from karabakh_kg.graph.store.reasoning import materialize_in_engine
    from karabakh_kg.graph.store.remote import EngineTimeout, RemoteStore
    from karabakh_kg.graph.timeline import Window, timeline_items
    from karabakh_kg.graph.validation import validate
    from karabakh_kg.graph.views import view as derived_view
    from karabakh_kg.graph.wikidata.client import (
        QueryCache,
        WikidataClient,
        WikidataError,
        default_cache_dir,
    )
    from karabakh_kg.graph.wikidata.enrich import FACTS as WIKIDATA_FACTS
    from karabakh_kg.graph.wikidata.enrich import default_output as default_enrichment_file
    from karabakh_kg.graph.wikidata.enrich import enrich, write_enrichment
    from karabakh_kg.graph.wikidata.link import (
        LinkError,
        entity_infos,
        links_file,
        mapping_csv,
        parse_qid,
        quickstatements,
        read_links,
    )
    from karabakh_kg.graph.wikidata.link import check as check_links
    from karabakh_kg.graph.wikidata.link import confirm as confirm_link
    from karabakh_kg.graph.wikidata.link import suggest as suggest_links
