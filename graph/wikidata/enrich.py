"""Opt-in import of selected Wikidata facts about our linked items, with provenance.

The facts go to the named graph ``graph/wikidata`` only, never the curated graph, and are
stored in a file of the user's data directory (or a path given), which
``load_graph(wikidata=PATH)`` loads. Queries see them through
``GRAPH <https://w3id.org/karabakh-kg/graph/wikidata>`` or by adding that graph to the default
graph; reasoning never reads them.

The graph also says where its triples come from: one ``prov:Activity`` with the endpoint, the
start and end time and the text of every query run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox

from karabakh_kg.graph.dataset import WIKIDATA
from karabakh_kg.graph.files import write_atomic
from karabakh_kg.graph.wikidata.client import Binding, WikidataClient
from karabakh_kg.graph.wikidata.link import WD, Link
from karabakh_kg.ontology import vocab

WIKIDATA_GRAPH = WIKIDATA
WDT = str(vocab.WDT)
P = "http://www.wikidata.org/prop/"
PS = P + "statement/"
PQ = P + "qualifier/"
PROV = str(vocab.PROV)
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
DCTERMS = "http://purl.org/dc/terms/"
XSD_DATETIME = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")
IMPORT_ACTIVITY = ox.NamedNode(WIKIDATA.value + "#import")

_HEAD = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX wdt: <http://www.wikidata.org/prop/direct/>
PREFIX p: <http://www.wikidata.org/prop/>
PREFIX ps: <http://www.wikidata.org/prop/statement/>
PREFIX pq: <http://www.wikidata.org/prop/qualifier/>
"""

_VALUE_LABEL = 'OPTIONAL { ?value rdfs:label ?valueLabel FILTER(LANG(?valueLabel) = "en") }'


@dataclass(frozen=True)
class FactKind:
    """One kind of fact to import: its property, description and SELECT template."""

    property_id: str
    description: str
    template: str
    statements: bool = False  # whether it keeps the statement node and its qualifiers


FACTS: dict[str, FactKind] = {
    "P625": FactKind(
        "P625",
        "coordinate location",
        _HEAD + "SELECT ?item ?value WHERE { {values} ?item wdt:P625 ?value }",
    ),
    "P569": FactKind(
        "P569",
        "date of birth",
        _HEAD + "SELECT ?item ?value WHERE { {values} ?item wdt:P569 ?value }",
    ),
    "P463": FactKind(
        "P463",
        "member of",
        _HEAD
        + "SELECT ?item ?value ?valueLabel WHERE { {values} ?item wdt:P463 ?value "
        + _VALUE_LABEL
        + " }",
    ),
    "P39": FactKind(
        "P39",
        "position held, with start (P580) and end (P582) times",
        _HEAD
        + "SELECT ?item ?statement ?value ?valueLabel ?start ?end WHERE { {values} "
        + "?item p:P39 ?statement . ?statement ps:P39 ?value . "
        + "OPTIONAL { ?statement pq:P580 ?start } OPTIONAL { ?statement pq:P582 ?end } "
        + _VALUE_LABEL
        + " }",
        statements=True,
    ),
}


@dataclass
class Enrichment:
    """The imported quads (all in ``graph/wikidata``) and counts per property."""

    endpoint: str
    quads: list[ox.Quad] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)


def default_output() -> Path:
    """Where ``link enrich`` writes by default: the user data directory."""
    import platformdirs

    return Path(platformdirs.user_data_dir("karabakh-kg")) / "wikidata-enrichment.trig"


def enrich(
    client: WikidataClient,
    links: Sequence[Link],
    properties: Sequence[str] = tuple(FACTS),
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Enrichment:
    """Ask the endpoint for the chosen facts of the linked items; nothing is written here."""
    unknown = [p for p in properties if p not in FACTS]
    if unknown:
        raise ValueError(f"cannot import {', '.join(unknown)}; choose among {', '.join(FACTS)}")
    items = [ox.NamedNode(WD + qid) for qid in sorted({link.qid for link in links})]
    started = clock()
    result = Enrichment(client.endpoint)
    triples: set[tuple[ox.NamedNode, ox.NamedNode, ox.NamedNode | ox.Literal]] = set()
    for prop in properties:
        kind = FACTS[prop]
        result.queries.append(kind.template)
        before = len(triples)
        for row in client.select_values(kind.template, "item", items):
            triples.update(_triples(kind, row))
        result.counts[prop] = len(triples) - before
    ended = clock()
    quads = [ox.Quad(s, p, o, WIKIDATA_GRAPH) for s, p, o in sorted(triples, key=str)]
    quads += _provenance(client.endpoint, started, ended, properties, result.queries)
    result.quads = quads
    return result


def _triples(
    kind: FactKind, row: Binding
) -> list[tuple[ox.NamedNode, ox.NamedNode, ox.NamedNode | ox.Literal]]:
    item, value = row.get("item"), row.get("value")
    if not isinstance(item, ox.NamedNode) or not isinstance(value, (ox.NamedNode, ox.Literal)):
        return []
    found: list[tuple[ox.NamedNode, ox.NamedNode, ox.NamedNode | ox.Literal]] = []
    prop = kind.property_id
    statement = row.get("statement")
    if kind.statements and isinstance(statement, ox.NamedNode):
        found += [
            (item, ox.NamedNode(P + prop), statement),
            (statement, ox.NamedNode(PS + prop), value),
        ]
        for qualifier, name in (("P580", "start"), ("P582", "end")):
            when = row.get(name)
            if isinstance(when, ox.Literal):
                found.append((statement, ox.NamedNode(PQ + qualifier), when))
    found.append((item, ox.NamedNode(WDT + prop), value))
    label = row.get("valueLabel")
    if isinstance(value, ox.NamedNode) and isinstance(label, ox.Literal):
        found.append((value, RDFS_LABEL, label))
    return found


def _provenance(
    endpoint: str,
    started: datetime,
    ended: datetime,
    properties: Sequence[str],
    queries: Sequence[str],
) -> list[ox.Quad]:
    def stamp(moment: datetime) -> ox.Literal:
        return ox.Literal(moment.astimezone(UTC).isoformat(), datatype=XSD_DATETIME)

    graph, activity = WIKIDATA_GRAPH, IMPORT_ACTIVITY
    quads = [
        ox.Quad(graph, ox.NamedNode(PROV + "wasGeneratedBy"), activity, graph),
        ox.Quad(graph, ox.NamedNode(DCTERMS + "source"), ox.NamedNode(endpoint), graph),
        ox.Quad(activity, RDF_TYPE, ox.NamedNode(PROV + "Activity"), graph),
        ox.Quad(activity, ox.NamedNode(PROV + "used"), ox.NamedNode(endpoint), graph),
        ox.Quad(activity, ox.NamedNode(PROV + "startedAtTime"), stamp(started), graph),
        ox.Quad(activity, ox.NamedNode(PROV + "endedAtTime"), stamp(ended), graph),
        ox.Quad(
            activity,
            ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment"),
            ox.Literal(
                "Import by `karabakh-kg link enrich` of Wikidata properties "
                + ", ".join(f"{p} ({FACTS[p].description})" for p in properties)
                + " for our linked items. External data: not from the seed article."
            ),
            graph,
        ),
    ]
    for index, query in enumerate(queries, start=1):
        node = ox.NamedNode(f"{WIKIDATA_GRAPH.value}#query-{index}")
        quads += [
            ox.Quad(activity, ox.NamedNode(PROV + "used"), node, graph),
            ox.Quad(node, RDF_TYPE, ox.NamedNode(PROV + "Plan"), graph),
            ox.Quad(node, ox.NamedNode(PROV + "value"), ox.Literal(query), graph),
        ]
    return quads


def write_enrichment(enrichment: Enrichment, path: Path) -> None:
    """Write the quads as TriG to ``path``, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = ox.serialize(
        enrichment.quads,
        format=ox.RdfFormat.TRIG,
        prefixes={
            "wd": WD,
            "wdt": WDT,
            "p": P,
            "ps": PS,
            "pq": PQ,
            "prov": PROV,
            "dcterms": DCTERMS,
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
    )
    write_atomic(path, data or b"")


def enrichment_quads(path: Path) -> list[ox.Quad]:
    """The quads of an enrichment file, every one moved into ``graph/wikidata``."""
    try:
        quads = list(ox.parse(path=path))
    except (SyntaxError, ValueError, OSError) as error:
        raise ValueError(f"{path}: {error}") from None
    return [ox.Quad(q.subject, q.predicate, q.object, WIKIDATA_GRAPH) for q in quads]
