"""Exports of a projected graph, in one registry.

Each :class:`Exporter` is registered under its short name, its aliases and its media type
(like rdflib's plugin registry); the CLI's ``--format`` choices, the HTTP route
``/export/{format}`` and its ``Content-Type`` all come from :data:`REGISTRY`.

Graph formats (GraphML, GEXF, Cytoscape.js, DOT, SVG, PNG, D3, CSV) carry node labels,
types, categories, colours, Wikidata ids and dates, and edge relations, kinds (asserted or
derived), dates and quotes. GraphML and GEXF accept only scalar values, so lists are joined
with `` | `` and missing values are left out. RDF formats (Turtle, N-Triples, JSON-LD) give the
subgraph as triples: its edges, and each node's label, types, Wikidata id and dates.

``csv`` is one ZIP archive holding ``nodes.csv`` and ``edges.csv`` (UTF-8, header row).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
from networkx.readwrite import json_graph

from karabakh_kg.graph.prefixes import expand

# One colour per broad category, used by GEXF (viz:color), DOT, Cytoscape and the explorer.
COLOURS: dict[str, str] = {
    "Person": "#1f77b4",
    "PoliticalEntity": "#d62728",
    "Organization": "#2ca02c",
    "Place": "#8c564b",
    "Event": "#ff7f0e",
    "Claim": "#9467bd",
    "Other": "#7f7f7f",
}
DOT_SHAPES = {
    "Person": "ellipse",
    "PoliticalEntity": "doubleoctagon",
    "Organization": "box",
    "Place": "house",
    "Event": "diamond",
    "Claim": "note",
    "Other": "plaintext",
}
LIST_SEPARATOR = " | "
# Symmetric relations are drawn without arrow heads.
SYMMETRIC = {"metWith", "spokeWith", "negotiatedWith", "communicatedWith"}
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
    write: Callable[[nx.MultiDiGraph], bytes]
    aliases: tuple[str, ...] = ()

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


def export(graph: nx.MultiDiGraph, fmt: str) -> bytes:
    """``graph`` written in format ``fmt``."""
    return get(fmt).write(graph)


def write_atomic(data: bytes, path: Path) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: never half a file."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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
    return COLOURS.get(str(data.get("category", "Other")), COLOURS["Other"])


def _interval(value: str) -> tuple[str, str] | None:
    """GEXF start/end dates for a date (one day) or a year (the whole year)."""
    text = str(value)
    if len(text) >= 10 and text[4] == "-":
        return text[:10], text[:10]
    if len(text) == 4 and text.isdigit():
        return f"{text}-01-01", f"{text}-12-31"
    return None


def _node_date(data: dict[str, Any]) -> str | None:
    for name in ("date", "startDate", "claimDate", "year"):
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
    dot.set_edge_defaults(fontname="Helvetica", fontsize="8")
    for node, data in graph.nodes(data=True):
        category = str(data.get("category", "Other"))
        dot.add_node(
            pydot.Node(
                _dot_id(node),
                label=_dot_id(str(data.get("label", node))),
                tooltip=_dot_id(str(data.get("curie", node))),
                shape=DOT_SHAPES.get(category, "ellipse"),
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
        if data.get("symmetric") or str(data.get("label")) in SYMMETRIC:
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


_XSD = "http://www.w3.org/2001/XMLSchema#"
_DATE_TYPES = {"date": "date", "startDate": "date", "endDate": "date", "claimDate": "date"}


def to_rdf_graph(graph: nx.MultiDiGraph) -> Any:
    """The subgraph as an :class:`rdflib.Graph`: edges plus node labels, types, ids, dates."""
    from rdflib import Graph, Literal, Namespace, URIRef
    from rdflib.namespace import RDF, RDFS, SKOS, XSD

    from karabakh_kg.ontology import vocab

    rdf = Graph()
    for prefix, namespace in vocab.PREFIXES.items():
        rdf.bind(prefix, Namespace(namespace), override=True)
    kgo = vocab.KGO
    for node, data in graph.nodes(data=True):
        subject = URIRef(node)
        if data.get("label"):
            rdf.add((subject, RDFS.label, Literal(data["label"])))
        for alt in data.get("altLabels", []):
            rdf.add((subject, SKOS.altLabel, Literal(alt)))
        for curie in data.get("types", []):
            rdf.add((subject, RDF.type, URIRef(expand(curie) or curie)))
        if data.get("wikidata"):
            rdf.add((subject, SKOS.exactMatch, vocab.WD[data["wikidata"]]))
        for name, datatype in (*_DATE_TYPES.items(), ("year", "gYear")):
            if data.get(name):
                rdf.add((subject, kgo[name], Literal(data[name], datatype=XSD[datatype])))
    for s, t, data in graph.edges(data=True):
        # Network edges through officials or of planned meetings stand for no triple.
        if data.get("predicate"):
            rdf.add((URIRef(s), URIRef(data["predicate"]), URIRef(t)))
    return rdf


def _rdf(fmt: str) -> Callable[[nx.MultiDiGraph], bytes]:
    def write(graph: nx.MultiDiGraph) -> bytes:
        data = to_rdf_graph(graph).serialize(format=fmt, encoding="utf-8")
        return data if isinstance(data, bytes) else data.encode("utf-8")

    write.__doc__ = f"The subgraph as RDF ({fmt})."
    return write


for _exporter in (
    Exporter("graphml", "application/graphml+xml", "graphml", "GraphML (yEd, Gephi)", to_graphml),
    Exporter("gexf", "application/gexf+xml", "gexf", "GEXF 1.2 (Gephi)", to_gexf),
    Exporter(
        "cytoscape",
        "application/vnd.cytoscape+json",
        "cyjs",
        "Cytoscape.js JSON",
        to_cytoscape,
        ("cyjs", "cytoscapejs"),
    ),
    Exporter("dot", "text/vnd.graphviz", "gv", "Graphviz DOT", to_dot, ("graphviz", "gv")),
    Exporter("svg", "image/svg+xml", "svg", "SVG drawn by Graphviz", to_svg),
    Exporter("png", "image/png", "png", "PNG drawn by Graphviz", to_png),
    Exporter("d3", "application/json", "json", "D3 node-link JSON", to_d3, ("node-link",)),
    Exporter("csv", "application/zip", "zip", "nodes.csv + edges.csv in a ZIP", to_csv),
    Exporter("ttl", "text/turtle", "ttl", "RDF Turtle", _rdf("turtle"), ("turtle",)),
    Exporter("nt", "application/n-triples", "nt", "RDF N-Triples", _rdf("nt"), ("ntriples",)),
    Exporter(
        "jsonld", "application/ld+json", "jsonld", "RDF JSON-LD", _rdf("json-ld"), ("json-ld",)
    ),
):
    register(_exporter)
