"""The SPARQL 1.1 Service Description of the endpoint (answered to RDF clients on GET /sparql)."""

from __future__ import annotations

import pyoxigraph as ox

from karabakh_kg.graph import (
    ASSERTED,
    INFERRED,
    ONTOLOGY,
    PROVENANCE,
    SYSTEM_GRAPHS,
    WIKIDATA,
    KnowledgeGraph,
    derived_view,
)
from karabakh_kg.ontology import vocab
from karabakh_kg.server.settings import Settings
from karabakh_kg.server.sparql.conneg import GRAPH_FORMATS, RESULT_FORMATS

SD = "http://www.w3.org/ns/sparql-service-description#"
VOID = "http://rdfs.org/ns/void#"
KGO = "https://w3id.org/karabakh-kg/ontology#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
DCTERMS_DESCRIPTION = ox.NamedNode("http://purl.org/dc/terms/description")
DATA_FILES_NOTE = ox.Literal(
    "Every triple of the data files served, whatever graph each file put it in "
    "(karabakh-kg serve --data).",
    language="en",
)


def _sd(name: str) -> ox.NamedNode:
    return ox.NamedNode(SD + name)


def describe(kg: KnowledgeGraph, settings: Settings, endpoint_url: str) -> list[ox.Triple]:
    """The service description triples, for the endpoint at ``endpoint_url``: built once per
    data version (it counts every graph, which is linear in the store)."""
    key = ("service-description", endpoint_url, settings.enable_updates)
    return derived_view(kg, key, lambda: _describe(kg, settings, endpoint_url))


def _describe(kg: KnowledgeGraph, settings: Settings, endpoint_url: str) -> list[ox.Triple]:
    sizes = kg.triples_per_graph()
    service = ox.NamedNode(endpoint_url)
    triples = [
        ox.Triple(service, RDF_TYPE, _sd("Service")),
        ox.Triple(service, _sd("endpoint"), service),
        ox.Triple(service, RDFS_LABEL, ox.Literal("karabakh-kg SPARQL endpoint", language="en")),
        ox.Triple(service, _sd("supportedLanguage"), _sd("SPARQL11Query")),
        ox.Triple(service, _sd("feature"), _sd("BasicFederatedQuery")),
    ]
    if settings.enable_updates:
        triples.append(ox.Triple(service, _sd("supportedLanguage"), _sd("SPARQL11Update")))
    for fmt in (*RESULT_FORMATS, *GRAPH_FORMATS):
        triples.append(ox.Triple(service, _sd("resultFormat"), ox.NamedNode(fmt.iri)))
    dataset = ox.BlankNode("dataset")
    default = ox.BlankNode("default")
    triples += [
        ox.Triple(service, _sd("defaultDataset"), dataset),
        ox.Triple(dataset, RDF_TYPE, _sd("Dataset")),
        ox.Triple(dataset, _sd("defaultGraph"), default),
        ox.Triple(default, RDF_TYPE, _sd("Graph")),
        ox.Triple(
            default,
            DCTERMS_DESCRIPTION,
            ox.Literal(default_graph_text(kg, sizes), language="en"),
        ),
    ]
    system = {graph.value for graph in SYSTEM_GRAPHS}
    present = {g.value for g in kg.store.named_graphs() if isinstance(g, ox.NamedNode)}
    present |= set(sizes)
    for index, name in enumerate(
        [
            *[g.value for g in SYSTEM_GRAPHS if g.value in present],
            *sorted(present - system),
        ]
    ):
        named = ox.BlankNode(f"ng{index}")
        graph = ox.BlankNode(f"g{index}")
        triples += [
            ox.Triple(dataset, _sd("namedGraph"), named),
            ox.Triple(named, RDF_TYPE, _sd("NamedGraph")),
            ox.Triple(named, _sd("name"), ox.NamedNode(name)),
            ox.Triple(named, _sd("graph"), graph),
            ox.Triple(graph, RDF_TYPE, _sd("Graph")),
            ox.Triple(
                graph,
                ox.NamedNode(VOID + "triples"),
                ox.Literal(
                    str(sizes.get(name, 0)),
                    datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"),
                ),
            ),
        ]
        if name in system:
            for note in _notes(kg, name, data_files=not sizes.get(PROVENANCE.value)):
                triples.append(ox.Triple(named, DCTERMS_DESCRIPTION, note))
    if not sizes.get(PROVENANCE.value):
        # no evidence units (``serve --data``): no perspective of ours applies (and building
        # them would reason over data served with --no-reason)
        return triples
    return triples + _perspectives(kg, service)


def _notes(kg: KnowledgeGraph, name: str, *, data_files: bool) -> list[ox.Literal]:
    """What the system graph ``name`` holds: the project ontology's note on it (read from
    the project's file when another ontology was given); with ``data_files`` (no evidence
    graphs: ``serve --data``), what the files and options put into the asserted and
    ontology graphs instead."""
    if data_files and name == ASSERTED.value:
        return [DATA_FILES_NOTE]
    if data_files and name == ONTOLOGY.value:
        rules = " and the project's domain rules" if vocab.rules_file() in kg.files else ""
        ontology = (
            "The ontology given with --ontology" if given_ontology(kg) else "The project ontology"
        )
        return [ox.Literal(f"{ontology}{rules}.", language="en")]
    if given_ontology(kg):
        quads = ox.parse(path=vocab.ontology_file(), format=ox.RdfFormat.TURTLE)
        return [
            q.object
            for q in quads
            if q.subject.value == name
            and q.predicate == DCTERMS_DESCRIPTION
            and isinstance(q.object, ox.Literal)
        ]
    return [
        q.object
        for q in kg.store.quads_for_pattern(ox.NamedNode(name), DCTERMS_DESCRIPTION, None, ONTOLOGY)
        if isinstance(q.object, ox.Literal)
    ]


def given_ontology(kg: KnowledgeGraph) -> bool:
    """Whether ``kg`` was loaded with an ontology of the user's (``serve --data FILE
    --ontology FILE``) in place of the project's: the project's file is not among the files
    its data was read from. A graph read from an engine lists no files: the project's."""
    return bool(kg.files) and vocab.ontology_file() not in kg.files


def default_graphs(kg: KnowledgeGraph, sizes: dict[str, int]) -> list[str]:
    """The graphs the endpoint merges into the default graph (``Endpoint.default_graphs``)
    that hold triples here, given the triples per graph ``sizes``."""
    merged = [g.value for g in kg.default_graphs()] + [WIKIDATA.value]
    return [name for name in merged if sizes.get(name)]


def default_graph_text(kg: KnowledgeGraph, sizes: dict[str, int]) -> str:
    """What the default graph is, named graph by named graph (the service description and
    /openapi.json say it)."""
    merged = default_graphs(kg, sizes)
    named = ", ".join(f"<{name}>" for name in merged) or "no graph: it is empty"
    left_out = [
        f"{parameter}=false leaves <{graph.value}> out of the dataset"
        for parameter, graph in (("infer", INFERRED), ("wikidata", WIKIDATA))
        if graph.value in merged
    ]
    return f"The union of {named}" + (f" ({'; '.join(left_out)})." if left_out else ".")


def _perspectives(kg: KnowledgeGraph, service: ox.NamedNode) -> list[ox.Triple]:
    """Each value of ``perspective=``: a dataset of its own (kgo:perspective)."""
    from karabakh_kg.graph import perspectives as views

    triples = []
    for index, p in enumerate(views.perspectives(kg).listed()):
        node = ox.BlankNode(f"perspective{index}")
        what = (
            "every evidence unit (the default)"
            if p.name == views.ALL
            else "the article's own statements"
            if p.name == views.ARTICLE
            else f"the article's own statements and those of {p.label}"
        )
        triples += [
            ox.Triple(service, ox.NamedNode(KGO + "perspective"), node),
            ox.Triple(node, RDF_TYPE, ox.NamedNode(KGO + "Perspective")),
            ox.Triple(node, RDFS_LABEL, ox.Literal(p.name)),
            ox.Triple(
                node,
                DCTERMS_DESCRIPTION,
                ox.Literal(
                    f"perspective={p.name}: what reasoning derives from {what} alone.",
                    language="en",
                ),
            ),
        ]
        if p.iri:
            triples.append(
                ox.Triple(node, ox.NamedNode(KGO + "perspectiveOf"), ox.NamedNode(p.iri))
            )
    return triples
