"""What the project counts as an entity, in one place: ``karabakh-kg stats``, the home page
and the home page over an engine (``server/web/resource_engine.engine_counts``) all count
with :data:`ENTITY_COUNT_QUERY`.

An entity is an IRI that the asserted data gives a class: the subject of an ``rdf:type``
triple in the asserted graph. Blank nodes are left out (nothing can name them), and so is
an IRI the data only mentions or only describes without saying what it is: in the curated
graph, the article itself (``kg:seed-article``, typed in the provenance graph only) and
the classes a sub-class axiom names. No namespace is required, so data served with
``serve --data`` is counted by the same definition.
"""

from __future__ import annotations

import pyoxigraph as ox

from karabakh_kg.graph.dataset import ASSERTED, KnowledgeGraph

ENTITY_COUNT_QUERY = f"""SELECT (COUNT(DISTINCT ?entity) AS ?n) WHERE {{
  GRAPH <{ASSERTED.value}> {{ ?entity a ?class }} FILTER(isIRI(?entity))
}}"""


def entity_count(kg: KnowledgeGraph) -> int:
    """The number of entities of ``kg`` (see the module's definition), counted by its store."""
    solutions = kg.store.query(ENTITY_COUNT_QUERY)
    assert isinstance(solutions, ox.QuerySolutions)
    return int(next(iter(solutions))["n"].value)
