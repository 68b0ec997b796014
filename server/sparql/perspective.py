"""The ``perspective=`` parameter of ``/sparql``: the dataset of one perspective.

A perspective (:mod:`karabakh_kg.graph.reasoning.perspectives`) replaces the default graph
by its own asserted and inferred graphs (plus provenance and ontology), and the named graphs
by its evidence units and those graphs, so a query sees only what follows from that side's
statements. It chooses the dataset itself, so it cannot be combined with
``default-graph-uri``, ``named-graph-uri``, ``FROM`` or ``FROM NAMED``.
"""

from __future__ import annotations

from karabakh_kg.graph import ONTOLOGY, PROVENANCE, WIKIDATA, KnowledgeGraph
from karabakh_kg.server.problems import Problem

Dataset = tuple[list[str] | None, list[str] | None, bool]
MAX_PERSPECTIVE_LENGTH = 300
"""Longest perspective name looked up (a claimant's CURIE, IRI or label)."""


def perspective_dataset(
    kg: KnowledgeGraph,
    name: str,
    standard: Dataset,
    *,
    include_inferred: bool,
    include_wikidata: bool,
    explicit: bool,
) -> tuple[Dataset, str]:
    """(default graphs, named graphs, standard?) of perspective ``name`` and its name;
    ``standard`` is returned for ``all``. Unknown names are a 400 naming them."""
    from karabakh_kg.graph import perspectives as views  # the reasoner: only when asked

    if len(name) > MAX_PERSPECTIVE_LENGTH:
        raise Problem(
            400,
            "unknown-perspective",
            f"the perspective is {len(name)} characters long; perspective names are at most "
            f"{MAX_PERSPECTIVE_LENGTH} characters",
        )
    recorded = getattr(kg, "perspectives_of", None)  # over an engine, without a copy
    found, names = recorded() if recorded is not None else (None, kg)
    try:
        if found is None:
            perspective = views.resolve(kg, name)
        else:
            perspective = views.resolve_among(found, names, name)
    except views.UnknownPerspective as error:
        raise Problem(400, "unknown-perspective", str(error)) from None
    if perspective.name == views.ALL:
        return standard, perspective.name
    if explicit:
        raise Problem(
            400,
            "perspective-with-dataset",
            "perspective= chooses the dataset: it cannot be combined with default-graph-uri, "
            "named-graph-uri, FROM or FROM NAMED",
        )
    default = [g.value for g in views.dataset(perspective, include_inferred=include_inferred) or []]
    if include_wikidata:
        default.append(WIKIDATA.value)
    own = [perspective.asserted_graph.value, PROVENANCE.value, ONTOLOGY.value]
    if include_inferred:
        own.append(perspective.inferred_graph.value)
    listed = found if found is not None else views.perspectives(kg)
    units = [u for u in listed.units(perspective) if u != views.UNCURATED]
    return (default, sorted(units) + own, False), perspective.name
