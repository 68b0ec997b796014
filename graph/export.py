"""Exports of a projected graph, in one registry.

Each :class:`Exporter` is registered under its short name, its aliases and its media type
(like rdflib's plugin registry); the CLI's ``--format`` choices, the HTTP route
``/export/{format}`` and its ``Content-Type`` all come from :data:`REGISTRY`.

Graph formats (GraphML, GEXF, Cytoscape.js, DOT, SVG, PNG, D3, CSV) carry node labels,
types, categories, colours, Wikidata ids and dates, and edge relations, kinds (asserted or
derived), dates and quotes. GraphML and GEXF accept only scalar values, so lists are joined
with `` | `` and missing values are left out. RDF formats (Turtle, N-Triples, RDF/XML, JSON-LD)
give the subgraph as the store holds it: the triples behind its edges, and each node's literals
(labels with their language tags, dates with their datatypes), types and Wikidata ids, term for
term.

``csv`` is one ZIP archive holding ``nodes.csv`` and ``edges.csv`` (UTF-8, header row).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx
import pyoxigraph as ox
from networkx.readwrite import json_graph

from karabakh_kg.graph import formats
from karabakh_kg.graph.categories import OTHER, ontology_hierarchy
from karabakh_kg.graph.events import period
from karabakh_kg.ontology import vocab

if TYPE_CHECKING:
    from karabakh_kg.graph.dataset import KnowledgeGraph

LIST_SEPARATOR = " | "
DOT_TIMEOUT = 60


class ExportError(RuntimeError):
    """An export that cannot be produced (unknown format, Graphviz missing or failing)."""


@dataclass(frozen=True)
class Exporter:
    """One export format: how to write it and how to serve it."""

    name: str
    media_type: str
    extension: str
    description: str
    render: Callable[[nx.MultiDiGraph, KnowledgeGraph], bytes]
    """Writes a projection of the knowledge graph (RDF formats read the terms from its store)."""
    aliases: tuple[str, ...] = ()

    def write(self, graph: nx.MultiDiGraph, kg: KnowledgeGraph) -> bytes:
        """``graph``, a projection of ``kg``, in this format."""
        return self.render(graph, kg)

    @property
    def binary(self) -> bool:
        """True when the output is not text (PNG, ZIP)."""
        return not (
            self.media_type.startswith("text/")
            or self.media_type.endswith(("json", "xml", "n-triples"))
        )


REGISTRY: dict[str, Exporter] = {}
_KEYS: dict[str, Exporter] = {}


def register(exporter: Exporter) -> Exporter:
    """Add ``exporter`` under its name, aliases and media type."""
    REGISTRY[exporter.name] = exporter
    for key in (exporter.name, *exporter.aliases, exporter.media_type):
        _KEYS.setdefault(key.lower(), exporter)
    return exporter


def get(name: str) -> Exporter:
    """The exporter for a format name, alias or media type; :class:`ExportError` if none."""
    found = _KEYS.get(name.strip().lower())
    if found is None:
        raise ExportError(f"unknown export format {name!r}; choose one of {', '.join(REGISTRY)}")
    return found


def export(graph: nx.MultiDiGraph, fmt: str, kg: KnowledgeGraph) -> bytes:
    """``graph``, a projection of ``kg``, written in format ``fmt``."""
    return get(fmt).write(graph, kg)


# --- shared helpers ------------------------------------------------------------------------


def _scalar(value: Any) -> Any:
    if isinstance(value, list | tuple | set):
        return LIST_SEPARATOR.join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def flatten(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy whose attributes are all scalars: lists joined, ``None`` and empties dropped."""

    def clean(data: dict[str, Any]) -> dict[str, Any]:
        return {k: _scalar(v) for k, v in data.items() if v is not None and v != [] and v != ""}

    flat = nx.MultiDiGraph(**clean(graph.graph))
    for node, data in graph.nodes(data=True):
        flat.add_node(node, **clean(data))
    for s, t, key, data in graph.edges(keys=True, data=True):
        flat.add_edge(s, t, key=key, **clean(data))
    return flat


def _colour(data: dict[str, Any]) -> str:
    """The node's colour: the projection's (from the ontology), else its category's."""
    if data.get("color"):
        return str(data["color"])
    colours = ontology_hierarchy().colours()
    return colours.get(str(data.get("category", OTHER)), colours[OTHER])


def _interval(value: str) -> tuple[str, str] | None:
    """GEXF start/end dates for a date (one day), a month or a year (the whole of it)."""
    try:
        first, last = period(str(value)[:10])
    except ValueError:
        return None
    return first.isoformat(), last.isoformat()


def _node_date(data: dict[str, Any]) -> str | None:
    """The date that stands for the node: its date property of lowest ``kgo:dateRank``."""
    for name in ontology_hierarchy().date_names():
        if data.get(name):
            return str(data[name])
    return None


def _edge_id(s: str, t: str, key: str) -> str:
    return f"{s}|{key}|{t}"


# --- writers -------------------------------------------------------------------------------


def to_graphml(graph: nx.MultiDiGraph) -> bytes:
    """GraphML for yEd and Gephi: every attribute as a typed ``<key>``, colours included."""
    flat = flatten(graph)
    for _, data in flat.nodes(data=True):
        data["color"] = _colour(data)
    return "\n".join(nx.generate_graphml(flat, encoding="utf-8")).encode("utf-8") + b"\n"


def to_gexf(graph: nx.MultiDiGraph) -> bytes:
    """GEXF 1.2 for Gephi: typed attributes, ``viz:color`` by category, dated intervals."""
    flat = flatten(graph)
    for _, data in flat.nodes(data=True):
        hex_colour = _colour(data)
        r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        data["viz"] = {"color": {"r": r, "g": g, "b": b, "a": 1.0}}
        date = _node_date(data) if data.get("category") in ("Event", "Claim") else None
        span = _interval(date) if date else None
        if span:
            data["start"], data["end"] = span
    for _, _, data in flat.edges(data=True):
        span = _interval(data["date"]) if data.get("date") else None
        if span:
            data["start"], data["end"] = span
    out = io.BytesIO()
    nx.write_gexf(flat, out, encoding="utf-8", version="1.2draft")
    return out.getvalue()


def cytoscape_elements(graph: nx.MultiDiGraph) -> dict[str, Any]:
    """Cytoscape.js elements: node ``data`` with colour, edges with stable ids."""
    flat = flatten(graph)
    nodes = [
        {
            "data": {"id": n, "value": n, "name": d.get("label", n), **d, "color": _colour(d)},
            "classes": str(d.get("category", "Other")),
        }
        for n, d in flat.nodes(data=True)
    ]
    edges = [
        {
            "data": {"id": _edge_id(s, t, k), "source": s, "target": t, "key": k, **d},
            "classes": str(d.get("kind", "asserted")),
        }
        for s, t, k, d in flat.edges(keys=True, data=True)
    ]
    return {"nodes": nodes, "edges": edges}


def to_cytoscape(graph: nx.MultiDiGraph) -> bytes:
    """Cytoscape.js / Cytoscape desktop JSON (``.cyjs``)."""
    document = {
        "format_version": "1.0",
        "generated_by": "karabakh-kg",
        "target_cytoscapejs_version": "~3",
        "directed": True,
        "multigraph": True,
        "data": {"name": graph.graph.get("name", "karabakh-kg")},
        "elements": cytoscape_elements(graph),
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def to_d3(graph: nx.MultiDiGraph) -> bytes:
    """D3 force-layout node-link JSON: ``{"nodes": [...], "links": [...]}``."""
    flat = flatten(graph)
    for _, data in flat.nodes(data=True):
        data["color"] = _colour(data)
    document = json_graph.node_link_data(flat, edges="links")
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def _dot_id(text: str) -> str:
    # Quoted ids: a bare CURIE or IRI would be read as node:port and nodes would collapse.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: nx.MultiDiGraph) -> bytes:
    """Graphviz DOT with quoted ids, readable labels, colours and shapes by category."""
    import pydot

    dot = pydot.Dot(
        "karabakh_kg", graph_type="digraph", strict=False, charset="UTF-8", overlap="false"
    )
    dot.set_node_defaults(style="filled", fontname="Helvetica", fontsize="10")
    shapes = ontology_hierarchy().shapes()
    dot.set_edge_defaults(fontname="Helvetica", fontsize="8")
    for node, data in graph.nodes(data=True):
        category = str(data.get("category", "Other"))
        dot.add_node(
            pydot.Node(
                _dot_id(node),
                label=_dot_id(str(data.get("label", node))),
                tooltip=_dot_id(str(data.get("curie", node))),
                shape=shapes.get(category, shapes[OTHER]),
                fillcolor=_dot_id(_colour(data) + "55"),
                color=_dot_id(_colour(data)),
            )
        )
    for s, t, _key, data in graph.edges(keys=True, data=True):
        label = str(data.get("label", ""))
        if data.get("date"):
            label += f"\n{data['date']}"
        attributes: dict[str, Any] = {
            "label": _dot_id(label),
            "style": "dashed" if data.get("kind") == "derived" else "solid",
        }
        if data.get("symmetric"):  # the ontology's owl:SymmetricProperty, per projection
            attributes["dir"] = "none"
        if data.get("quote"):
            attributes["tooltip"] = _dot_id(str(data["quote"]))
        dot.add_edge(pydot.Edge(_dot_id(s), _dot_id(t), **attributes))
    return dot.to_string().encode("utf-8")


def _graphviz(graph: nx.MultiDiGraph, output: str) -> bytes:
    program = shutil.which("dot")
    if program is None:
        raise ExportError("Graphviz 'dot' is not installed (Debian package: graphviz)")
    try:
        done = subprocess.run(
            [program, f"-T{output}"],
            input=to_dot(graph),
            capture_output=True,
            timeout=DOT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ExportError(f"Graphviz took longer than {DOT_TIMEOUT} s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ExportError(f"Graphviz failed: {message[0] if message else done.returncode}")
    return done.stdout


def to_svg(graph: nx.MultiDiGraph) -> bytes:
    """SVG rendered by Graphviz ``dot``."""
    return _graphviz(graph, "svg")


def to_png(graph: nx.MultiDiGraph) -> bytes:
    """PNG rendered by Graphviz ``dot``."""
    return _graphviz(graph, "png")


NODE_COLUMNS = ("id", "curie", "label", "category", "types", "wikidata", "date", "color")
EDGE_COLUMNS = ("source", "target", "relation", "kind", "date", "quote", "evidence", "via")


def to_csv(graph: nx.MultiDiGraph) -> bytes:
    """A ZIP archive with ``nodes.csv`` and ``edges.csv`` (Gephi's spreadsheet import)."""
    flat = flatten(graph)

    def table(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> bytes:
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return text.getvalue().encode("utf-8")

    nodes = [
        {**d, "id": n, "date": _node_date(d), "color": _colour(d)} for n, d in flat.nodes(data=True)
    ]
    edges = [{**d, "source": s, "target": t} for s, t, d in flat.edges(data=True)]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("nodes.csv", table(NODE_COLUMNS, nodes))
        archive.writestr("edges.csv", table(EDGE_COLUMNS, edges))
    return out.getvalue()


RDF_TYPE = ox.NamedNode(vocab.PREFIXES["rdf"] + "type")
_WIKIDATA_LINKS = {
    ox.NamedNode(vocab.PREFIXES["skos"] + "exactMatch"),
    ox.NamedNode(vocab.PREFIXES["owl"] + "sameAs"),
}


def _describes_node(predicate: ox.NamedNode, obj: object, *, asserted: bool) -> bool:
    if isinstance(obj, ox.Literal):
        return asserted  # derived literals are copies in aligned vocabularies
    if not isinstance(obj, ox.NamedNode):
        return False
    if predicate == RDF_TYPE:
        return True
    return predicate in _WIKIDATA_LINKS and obj.value.startswith(str(vocab.WD))


def rdf_triples(graph: nx.MultiDiGraph, kg: KnowledgeGraph) -> list[ox.Triple]:
    """The triples of ``kg`` behind the projection ``graph``, terms exactly as stored.

    Each edge that stands for a triple gives that triple (network edges through officials
    or of planned meetings stand for none); each node gives its literal values, its types
    (derived ones too when the projection includes them) and its Wikidata links.
    """
    from karabakh_kg.graph.dataset import ASSERTED, INFERRED

    sources = [ASSERTED, INFERRED] if graph.graph.get("inferred", True) else [ASSERTED]
    found: set[ox.Triple] = set()
    for node in graph.nodes:
        subject = ox.NamedNode(node)
        for source in sources:
            for s, p, o, _ in kg.store.quads_for_pattern(subject, None, None, source):
                if _describes_node(p, o, asserted=source == ASSERTED):
                    found.add(ox.Triple(s, p, o))
    for s, t, data in graph.edges(data=True):
        if data.get("predicate"):
            found.add(ox.Triple(ox.NamedNode(s), ox.NamedNode(data["predicate"]), ox.NamedNode(t)))
    return sorted(found, key=str)


def _rdf(fmt: formats.Format) -> Callable[[nx.MultiDiGraph, KnowledgeGraph], bytes]:
    syntax = fmt.rdf_format
    assert syntax is not None
    prefixes = None if syntax == ox.RdfFormat.N_TRIPLES else dict(vocab.PREFIXES)

    def write(graph: nx.MultiDiGraph, kg: KnowledgeGraph) -> bytes:
        return ox.serialize(rdf_triples(graph, kg), format=syntax, prefixes=prefixes) or b""

    write.__doc__ = f"The subgraph as {fmt.label}, read from the store."
    return write


def _projection_only(
    write: Callable[[nx.MultiDiGraph], bytes],
) -> Callable[[nx.MultiDiGraph, KnowledgeGraph], bytes]:
    def render(graph: nx.MultiDiGraph, kg: KnowledgeGraph) -> bytes:
        return write(graph)

    render.__doc__ = write.__doc__
    return render


# Names that mean another export here: D3 is JSON, GraphML and GEXF are XML.
_TAKEN = ("json", "xml")


def _rdf_exporter(fmt: formats.Format) -> Exporter:
    aliases = tuple(n for n in fmt.names() if "/" not in n and n not in (fmt.extension, *_TAKEN))
    return Exporter(
        fmt.extension, fmt.media_type, fmt.extension, f"RDF {fmt.label}", _rdf(fmt), aliases
    )


for _name, _media, _extension, _description, _write, *_aliases in (
    ("graphml", "application/graphml+xml", "graphml", "GraphML (yEd, Gephi)", to_graphml),
    ("gexf", "application/gexf+xml", "gexf", "GEXF 1.2 (Gephi)", to_gexf),
    (
        "cytoscape",
        "application/vnd.cytoscape+json",
        "cyjs",
        "Cytoscape.js JSON",
        to_cytoscape,
        "cyjs",
        "cytoscapejs",
    ),
    ("dot", "text/vnd.graphviz", "gv", "Graphviz DOT", to_dot, "graphviz", "gv"),
    ("svg", "image/svg+xml", "svg", "SVG drawn by Graphviz", to_svg),
    ("png", "image/png", "png", "PNG drawn by Graphviz", to_png),
    ("d3", "application/json", "json", "D3 node-link JSON", to_d3, "node-link"),
    ("csv", "application/zip", "zip", "nodes.csv + edges.csv in a ZIP", to_csv),
):
    register(
        Exporter(_name, _media, _extension, _description, _projection_only(_write), tuple(_aliases))
    )
for _format in formats.TRIPLE_FORMATS:
    register(_rdf_exporter(_format))
