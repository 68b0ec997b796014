"""Project the RDF graph onto a networkx :class:`~networkx.MultiDiGraph`.

Nodes are the resources of the asserted graph (people, states, places, events, claims), with
their label, types, broad category and Wikidata id; events are nodes too, so the path
"Macron → phone call → Aliyev" exists next to direct ``metWith``/``spokeWith`` edges. Every
triple whose object is another resource becomes one edge keyed by its predicate's CURIE
(derived triples only with ``kgo:`` predicates: their copies in aligned vocabularies such as
``sem:hasActor`` add nothing), with its kind (``asserted`` or ``derived``), the date it holds
on, the evidence graphs that assert it
and their verbatim quotes. Literal values (dates, years) and ontology individuals
(``kgo:Planned``) become node attributes; ``skos:exactMatch wd:Q…`` becomes the node's
``wikidata`` attribute.

Projections are kept among the knowledge graph's views (:mod:`karabakh_kg.graph.views`), per
data version and options, with a bound; treat the returned graph as read-only
(``graph.copy()`` before changing it).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import networkx as nx
import pyoxigraph as ox

from karabakh_kg.graph.categories import OTHER, hierarchy
from karabakh_kg.graph.lookup import RDF_TYPE, index, local_name
from karabakh_kg.graph.prefixes import compact, expand
from karabakh_kg.graph.views import view
from karabakh_kg.ontology import vocab

if TYPE_CHECKING:
    from karabakh_kg.graph.dataset import KnowledgeGraph

KGO = str(vocab.KGO)
PROV_VALUE = str(vocab.PROV) + "value"
PROV_ATTRIBUTED = str(vocab.PROV) + "wasAttributedTo"

# Predicates that describe a resource rather than relate it to another one.
_NOT_EDGES = {
    RDF_TYPE,
    "http://www.w3.org/2004/02/skos/core#exactMatch",
    "http://www.w3.org/2004/02/skos/core#closeMatch",
    "http://www.w3.org/2002/07/owl#sameAs",
    "http://www.w3.org/2000/01/rdf-schema#seeAlso",
    "http://www.w3.org/2000/01/rdf-schema#isDefinedBy",
}
# Objects in these namespaces are vocabulary terms or external ids, never graph nodes.
_TERM_NAMESPACES = (
    KGO,
    str(vocab.WD),
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://www.w3.org/2000/01/rdf-schema#",
    "http://www.w3.org/2002/07/owl#",
    "http://www.w3.org/2001/XMLSchema#",
    "http://www.w3.org/2004/02/skos/core#",
)
_WIKIDATA = re.compile(r"^http://www\.wikidata\.org/entity/(Q[0-9]+)$")


@dataclass(frozen=True)
class ProjectionOptions:
    """What to project.

    ``inferred``: include derived triples and types. ``predicates``: keep only edges with
    these predicate IRIs (nodes left without edges are dropped). ``classes``: keep only nodes
    with one of these class IRIs (or categories, e.g. ``kgo:Person``). ``start``/``end``: a
    date window; events dated outside it are dropped with their edges, and so are dated
    edges outside it; undated nodes and edges stay.
    """

    inferred: bool = True
    predicates: frozenset[str] | None = None
    classes: frozenset[str] | None = None
    start: dt.date | None = None
    end: dt.date | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")


@dataclass
class _Evidence:
    iri: str
    quote: str | None = None
    line: int | None = None
    attributed_to: str | None = None
    stance: str | None = None


@dataclass
class _Edge:
    source: str
    predicate: str
    target: str
    asserted: bool = False
    evidence: list[str] = field(default_factory=list)


def project(kg: KnowledgeGraph, options: ProjectionOptions | None = None) -> nx.MultiDiGraph:
    """The networkx projection of ``kg`` under ``options`` (cached; do not mutate).

    Each projection is one of ``kg.views`` (bounded, least recently used first out): a
    filtered one is cut from the full projection of the same ``inferred`` setting.
    """
    options = options or ProjectionOptions()
    full = ProjectionOptions(inferred=options.inferred)
    whole = view(kg, ("projection", full), lambda: _build(kg, options.inferred))
    if options == full:
        return whole
    dates = hierarchy(kg).date_names()
    return view(kg, ("projection", options), lambda: _filter(whole, options, dates))


def _is_term(iri: str) -> bool:
    return iri.startswith(_TERM_NAMESPACES)


def _build(kg: KnowledgeGraph, inferred: bool) -> nx.MultiDiGraph:
    from karabakh_kg.graph.dataset import ASSERTED, INFERRED, SYSTEM_GRAPHS

    idx = index(kg)
    ontology = hierarchy(kg)
    # Which properties are dates, by rank: the ontology's kgo:dateRank annotations.
    date_properties = {iri: iri.rsplit("#", 1)[-1] for iri in ontology.dates}
    graph = nx.MultiDiGraph(name="karabakh-kg", version=kg.version, inferred=inferred)
    sources = [ASSERTED, INFERRED] if inferred else [ASSERTED]
    edges: dict[tuple[str, str, str], _Edge] = {}
    types: dict[str, tuple[set[str], set[str]]] = {}  # iri -> (asserted, derived)
    attributes: dict[str, dict[str, Any]] = {}
    date_values: dict[tuple[str, str], tuple[list[str], list[str]]] = {}  # (stated, implied)
    wikidata: dict[str, list[str]] = {}
    resources: set[str] = set()
    for source in sources:
        asserted = source == ASSERTED
        for quad in kg.store.quads_for_pattern(None, None, None, source):
            subject, predicate, obj = quad.subject, quad.predicate.value, quad.object
            if not isinstance(subject, ox.NamedNode):
                continue
            s = subject.value
            if predicate == RDF_TYPE and isinstance(obj, ox.NamedNode):
                types.setdefault(s, (set(), set()))[0 if asserted else 1].add(obj.value)
                continue
            if isinstance(obj, ox.Literal):
                if predicate in date_properties:
                    # An inferred date (the kgo:date a start date implies) fills a gap only.
                    key = (s, date_properties[predicate])
                    date_values.setdefault(key, ([], []))[0 if asserted else 1].append(obj.value)
                resources.add(s)
                continue
            if not isinstance(obj, ox.NamedNode):
                continue
            o = obj.value
            match = _WIKIDATA.match(o)
            if match:
                if match.group(1) not in wikidata.setdefault(s, []):
                    wikidata[s].append(match.group(1))
                continue
            if predicate in _NOT_EDGES:
                continue
            if not asserted and not predicate.startswith(KGO):
                continue  # derived copies in aligned vocabularies (sem:, prov:, org:) repeat kgo:
            if _is_term(o):
                _add_term(attributes.setdefault(s, {}), local_name(predicate), compact(o))
                continue
            if s == o and not asserted:
                continue  # reflexive closure noise
            edge = edges.setdefault((s, predicate, o), _Edge(s, predicate, o))
            edge.asserted = edge.asserted or asserted
            resources.update((s, o))
    for (s, name), (stated, implied) in date_values.items():
        # Of two readings, the earliest: not the store's order of quads, which a store read
        # back from the start-up cache does not keep.
        attributes.setdefault(s, {})[name] = min(stated or implied)
    evidence = _evidence(kg, edges, SYSTEM_GRAPHS)
    # Ontology terms never become nodes, even when the curated data mentions them.
    resources -= {iri for iri in resources if _is_term(iri)}
    colours = ontology.colours()
    for iri in sorted(resources):
        asserted_types, derived_types = types.get(iri, (set(), set()))
        all_types = asserted_types | derived_types
        entity = idx.entities.get(iri)
        data: dict[str, Any] = {
            "iri": iri,
            "curie": compact(iri),
            "label": entity.label if entity else local_name(iri),
            "types": sorted(compact(t) for t in all_types),
            "category": ontology.category(all_types),
        }
        data["color"] = colours.get(data["category"], colours.get(OTHER))
        if entity and entity.alt_labels:
            data["altLabels"] = list(entity.alt_labels)
        # Sorted, so a node's attributes do not follow the store's order of quads (a store
        # read back from the start-up cache lists them in another order).
        if wikidata.get(iri):
            data["wikidata"] = min(wikidata[iri])
        data.update(sorted(attributes.get(iri, {}).items()))
        graph.add_node(iri, **data)
    for (s, p, o), edge in sorted(edges.items()):
        if s not in graph or o not in graph:
            continue
        # In seed order, so exports are the same from one run to the next (the store's
        # order of named graphs is not).
        quotes = sorted(
            (evidence[e] for e in edge.evidence if e in evidence),
            key=lambda q: (q.line is None, q.line or 0, q.iri),
        )
        data = {
            "predicate": p,
            "relation": compact(p),
            "label": local_name(p),
            "kind": "asserted" if edge.asserted else "derived",
            "symmetric": p in ontology.symmetric,
            "evidence": [compact(q.iri) for q in quotes],
            "quotes": [q.quote for q in quotes if q.quote],
            "lines": [q.line for q in quotes if q.line is not None],
        }
        if data["quotes"]:
            data["quote"] = data["quotes"][0]
        if quotes and quotes[0].attributed_to:
            data["attributedTo"] = quotes[0].attributed_to
        if quotes and quotes[0].stance:
            data["stance"] = quotes[0].stance
        date = _edge_date(graph, s, o, ontology.date_names())
        if date:
            data["date"] = date
        graph.add_edge(s, o, key=compact(p), **data)
    _support_relations(kg, graph)
    return graph


def _add_term(attributes: dict[str, Any], name: str, value: str) -> None:
    """One value stays a string; several (two readings of an event's status) a sorted list."""
    current = attributes.get(name)
    if current is None:
        attributes[name] = value
    elif isinstance(current, list):
        if value not in current:
            attributes[name] = sorted([*current, value])
    elif current != value:
        attributes[name] = sorted([current, value])


def values(data: dict[str, Any], name: str) -> list[str]:
    """A node attribute that may hold one value or several, as a list."""
    value = data.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [str(value)]


def _evidence(
    kg: KnowledgeGraph, edges: dict[tuple[str, str, str], _Edge], system: Iterable[ox.NamedNode]
) -> dict[str, _Evidence]:
    """Record on each edge the evidence graphs asserting it; return their provenance."""
    from karabakh_kg.graph.dataset import PROVENANCE, is_evidence_graph

    skip = set(system)
    for graph_name in kg.store.named_graphs():
        if graph_name in skip or not is_evidence_graph(graph_name):
            continue
        for quad in kg.store.quads_for_pattern(None, None, None, graph_name):
            key = (quad.subject.value, quad.predicate.value, quad.object.value)
            edge = edges.get(key)
            if edge is not None and graph_name.value not in edge.evidence:
                edge.evidence.append(graph_name.value)
    found: dict[str, _Evidence] = {}
    wanted = {e for edge in edges.values() for e in edge.evidence}
    for iri in wanted:
        record = _Evidence(iri)
        # The least in term order wins, so a unit with two claimants (a joint statement)
        # names the same one whatever the store's order of quads.
        quads = kg.store.quads_for_pattern(ox.NamedNode(iri), None, None, PROVENANCE)
        for quad in sorted(quads, key=lambda q: (q.predicate.value, str(q.object)), reverse=True):
            predicate, obj = quad.predicate.value, quad.object
            if predicate == PROV_VALUE and isinstance(obj, ox.Literal):
                record.quote = obj.value
            elif predicate == KGO + "line" and isinstance(obj, ox.Literal):
                record.line = int(obj.value)
            elif predicate == PROV_ATTRIBUTED:
                record.attributed_to = compact(obj.value)
            elif predicate == KGO + "stance":
                record.stance = compact(obj.value)
        found[iri] = record
    return found


def _edge_date(graph: nx.MultiDiGraph, s: str, o: str, dates: list[str]) -> str | None:
    """An edge to or from a dated event holds on the event's date."""
    for node in (s, o):
        date = _node_date(graph.nodes[node], dates)
        if date:
            return date
    return None


# Relations between agents rest on events through the domain rules (ontology/rules.ttl): the
# reasoner's derivations of a relation name the events it rests on, so the network view
# follows the rules as they are written.


def _event_sort_key(graph: nx.MultiDiGraph, event: str) -> tuple[str, str]:
    return (str(graph.nodes[event].get("date") or "9999"), event)


def _events_behind(
    r: Any, start: tuple[int, int, int], is_event: Callable[[object], bool]
) -> tuple[set[str], list[tuple[int, int, int]]]:
    """The events that the derivations of triple ``start`` rest on, at any depth, and the
    asserted premises met on the way.

    Every rule instance deriving the triple is followed (not only the recorded one), through
    premises between other resources (officials who met, for their states' negotiation), to
    premises about an event (its participants, its status). Type premises lead nowhere new.
    """
    engine = r.engine
    found: set[str] = set()
    asserted: list[tuple[int, int, int]] = []
    seen = {start}
    todo = [start]
    while todo:
        for _, body in engine.instances(todo.pop(), set()):
            for premise in body:
                if premise[1] == r.type_id or premise in seen:
                    continue
                subject = r.table.decode(premise[0])
                if is_event(subject):
                    found.add(subject.value)
                    continue
                seen.add(premise)
                todo.append(premise)
                if premise in engine.base:
                    asserted.append(premise)
    return found, asserted


def _borrow_premise_quotes(
    r: Any, graph: nx.MultiDiGraph, data: dict[str, Any], premises: list[tuple[int, int, int]]
) -> None:
    """A derived relation resting on no event quotes the asserted relations it rests on (the
    group's mediation, for its co-chairs), in seed order."""
    quoted = []
    for premise in premises:
        s, p, o = (term.value for term in r.decode(premise))
        edge = graph.get_edge_data(s, o, compact(p)) if s in graph and o in graph else None
        if edge and edge.get("quotes"):
            quoted.append(edge)
    quoted.sort(key=lambda e: (e.get("lines") or [0])[0])
    for edge in quoted:
        for name in ("quotes", "evidence", "lines"):
            data[name] = data.get(name, []) + [
                x for x in edge.get(name, []) if x not in data.get(name, [])
            ]
    if data.get("quotes"):
        data["quote"] = data["quotes"][0]


def _support_relations(kg: KnowledgeGraph, graph: nx.MultiDiGraph) -> None:
    """Give each relation between resources other than events the events that support it.

    ``events`` lists the supporting events (CURIEs, earliest first), ``dates`` their dates;
    ``via`` and ``date`` are the first of them. The events are those the reasoner's
    derivations of the relation rest on (see :func:`_events_behind`), so they follow the
    domain rules: only events the rules accept (those reported as having happened, of the
    kinds each rule names) support anything. A derived edge without a quote of its own
    borrows the quote of its first event. Relations are never added here: only the graph's
    own (asserted or derived) triples get support.
    """
    from karabakh_kg.graph import reasoning

    r = reasoning.reasoner(kg)

    def is_event(term: object) -> bool:
        return (
            isinstance(term, ox.NamedNode)
            and term.value in graph
            and graph.nodes[term.value].get("category") == "Event"
        )

    quotes: dict[tuple[str, str], dict[str, Any]] = {}
    for s, o, data in graph.edges(data=True):
        first = (s, o) not in quotes or data["kind"] == "asserted"
        if graph.nodes[s].get("category") == "Event" and data.get("quote") and first:
            quotes[(s, o)] = data
    for s, o, data in graph.edges(data=True):
        if s == o or any(graph.nodes[n].get("category") in ("Event", "Claim") for n in (s, o)):
            continue
        triple = r.lookup(ox.NamedNode(s), ox.NamedNode(data["predicate"]), ox.NamedNode(o))
        if triple is None:
            continue
        behind, premises = _events_behind(r, triple, is_event)
        if not behind:
            if data["kind"] == "derived" and not data.get("quotes"):
                _borrow_premise_quotes(r, graph, data, premises)
            continue
        events = sorted(behind, key=lambda e: _event_sort_key(graph, e))
        data["events"] = [compact(e) for e in events]
        data["dates"] = [str(graph.nodes[e]["date"]) for e in events if graph.nodes[e].get("date")]
        data["via"] = data["events"][0]
        if data["dates"]:
            data.setdefault("date", data["dates"][0])
        borrowed = quotes.get((events[0], s)) or quotes.get((events[0], o))
        if borrowed and "quote" not in data:
            data["quote"] = borrowed["quote"]
            data["quotes"] = [*data.get("quotes", []), *borrowed["quotes"]]
            data["evidence"] = data["evidence"] or list(borrowed["evidence"])
            data["lines"] = data.get("lines") or list(borrowed.get("lines", []))


def _in_window(value: str | None, options: ProjectionOptions) -> bool:
    if not value:
        return True
    try:
        day = dt.date.fromisoformat(value[:10]) if len(value) >= 10 else None
    except ValueError:
        day = None
    if day is None:
        year = int(value[:4]) if value[:4].isdigit() else None
        if year is None:
            return True
        lo = options.start.year if options.start else year
        hi = options.end.year if options.end else year
        return lo <= year <= hi
    return (options.start is None or day >= options.start) and (
        options.end is None or day <= options.end
    )


def _node_date(data: dict[str, Any], dates: list[str]) -> str | None:
    """An event's or claim's date: its date property of lowest rank (``dates``, by rank)."""
    if data.get("category") not in ("Event", "Claim"):
        return None
    return next((str(data[name]) for name in dates if data.get(name)), None)


def _dated_in_window(
    full: nx.MultiDiGraph, data: dict[str, Any], options: ProjectionOptions
) -> dict[str, Any] | None:
    """The edge's data restricted to its supporting events in the window, or None if it falls
    outside (a relation supported only by events outside the window is left out)."""
    if not data.get("events"):
        return data if _in_window(data.get("date"), options) else None
    kept = [e for e in data["events"] if _in_window(_event_date(full, e), options)]
    if not kept:
        return None
    data = dict(data)
    data["events"] = kept
    data["dates"] = [d for d in (_event_date(full, e) for e in kept) if d]
    data["via"] = kept[0]
    if data["dates"]:
        data["date"] = data["dates"][0]
    else:
        data.pop("date", None)
    return data


def _event_date(full: nx.MultiDiGraph, curie: str) -> str | None:
    iri = expand(curie) or curie
    return str(full.nodes[iri]["date"]) if iri in full and full.nodes[iri].get("date") else None


def _filter(full: nx.MultiDiGraph, options: ProjectionOptions, dates: list[str]) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph(**full.graph)
    keep = set(full.nodes)
    if options.classes is not None:
        wanted = {compact(c) for c in options.classes}
        wanted_categories = {c.split(":")[-1] for c in wanted}
        keep = {
            n
            for n in keep
            if wanted & set(full.nodes[n]["types"])
            or full.nodes[n]["category"] in wanted_categories
        }
    if options.start or options.end:
        keep = {n for n in keep if _in_window(_node_date(full.nodes[n], dates), options)}
    graph.add_nodes_from((n, full.nodes[n]) for n in sorted(keep))
    for s, o, key, data in full.edges(keys=True, data=True):
        if s not in keep or o not in keep:
            continue
        if options.predicates is not None and data["predicate"] not in options.predicates:
            continue
        if options.start or options.end:
            data = _dated_in_window(full, data, options)
            if data is None:
                continue
        graph.add_edge(s, o, key=key, **data)
    if options.predicates is not None:
        graph.remove_nodes_from([n for n in list(graph) if graph.degree(n) == 0])
    return graph


def parse_date(text: str | None, name: str = "date") -> dt.date | None:
    """An ISO date (``2020-10-09``) or year (``2020``), or None; ValueError names ``name``."""
    if text is None or text == "":
        return None
    try:
        if re.fullmatch(r"\d{4}", text):
            return dt.date(int(text), 1, 1) if name != "end" else dt.date(int(text), 12, 31)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} must be an ISO date like 2020-10-09, not {text!r}") from None


def expand_names(kg: KnowledgeGraph, names: Iterable[str], what: str) -> frozenset[str]:
    """Predicate or class names (CURIE, IRI or local name in kgo:) as IRIs."""
    found = set()
    for raw in names:
        for name in (part.strip() for part in raw.split(",")):
            if not name:
                continue
            if name.startswith("<") and name.endswith(">"):
                name = name[1:-1]
            if re.match(r"^https?://", name):
                found.add(name)
                continue
            iri = expand(name)
            if iri is None:
                if not re.fullmatch(r"[A-Za-z][\w-]*", name):
                    raise ValueError(f"unknown {what} {name!r}: give a CURIE such as kgo:metWith")
                iri = KGO + name
            found.add(iri)
    return frozenset(found)


def _ontology_terms_of(kg: KnowledgeGraph, kinds: tuple[str, ...]) -> set[str]:
    from karabakh_kg.graph.dataset import ONTOLOGY

    found: set[str] = set()
    for kind in kinds:
        for quad in kg.store.quads_for_pattern(
            None, ox.NamedNode(RDF_TYPE), ox.NamedNode(kind), ONTOLOGY
        ):
            if isinstance(quad.subject, ox.NamedNode):
                found.add(quad.subject.value)
    return found


def _check_known(names: frozenset[str], known: set[str], what: str) -> None:
    import difflib

    for iri in sorted(names):
        if iri in known:
            continue
        close = difflib.get_close_matches(compact(iri), sorted(compact(k) for k in known), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown {what} {compact(iri)}{hint}")


def make_options(
    kg: KnowledgeGraph,
    *,
    inferred: bool = True,
    predicates: Iterable[str] | None = (),
    classes: Iterable[str] | None = (),
    start: str | None = None,
    end: str | None = None,
) -> ProjectionOptions:
    """Options from user input (CURIEs, IRIs, ``kgo:`` local names, ISO dates), checked.

    Raises ValueError naming an unknown predicate or class (with close matches) or a bad date.
    """
    owl = "http://www.w3.org/2002/07/owl#"
    full = project(kg, ProjectionOptions(inferred=True))
    predicate_iris = expand_names(kg, predicates or (), "predicate") or None
    class_iris = expand_names(kg, classes or (), "class") or None
    if predicate_iris:
        known = {d["predicate"] for _, _, d in full.edges(data=True)}
        known |= _ontology_terms_of(kg, (owl + "ObjectProperty",))
        _check_known(predicate_iris, known, "predicate")
    if class_iris:
        known = {expand(t) or t for _, d in full.nodes(data=True) for t in d["types"]}
        known |= _ontology_terms_of(kg, (owl + "Class",))
        known |= {KGO + name for name in hierarchy(kg).category_names()}
        _check_known(class_iris, known, "class")
    return ProjectionOptions(
        inferred=inferred,
        predicates=predicate_iris,
        classes=class_iris,
        start=parse_date(start, "start"),
        end=parse_date(end, "end"),
    )


@dataclass(frozen=True)
class GraphFilter:
    """The filters of every graph route (``/graph/*``, ``/export``) and graph command, as
    users type them: ``inferred`` (derived edges and types too), ``predicates`` and
    ``classes`` (CURIEs, IRIs or ``kgo:`` local names; a value may list several, comma
    separated), ``start`` and ``end`` (ISO dates or years).

    The limits (:attr:`MAX_NAMES`, :attr:`MAX_LENGTH`) are checked on construction and
    the names against the data by :meth:`options`; both raise ValueError with the message
    the HTTP routes answer (400) and the commands print (exit 2).
    """

    MAX_NAMES: ClassVar[int] = 50
    """Most predicate or class values one filter takes (the ontology declares fewer
    properties a traversal would follow; each name is checked against the known ones)."""
    MAX_LENGTH: ClassVar[int] = 300
    """Longest predicate or class value or date a filter reads (the longest ontology IRI
    is far shorter): an unknown name is compared with every known one for suggestions."""

    inferred: bool = True
    predicates: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None

    def __post_init__(self) -> None:
        for what, names in (("predicate", self.predicates), ("class", self.classes)):
            if len(names) > self.MAX_NAMES:
                raise ValueError(
                    f"at most {self.MAX_NAMES} {what} values in one filter, not {len(names)}"
                )
            for name in names:
                self._check_length(what, name)
        for what, text in (("start", self.start), ("end", self.end)):
            if text is not None:
                self._check_length(what, text)

    def _check_length(self, what: str, text: str) -> None:
        if len(text) > self.MAX_LENGTH:
            raise ValueError(
                f"the {what} is {len(text)} characters long; filter values are at most "
                f"{self.MAX_LENGTH} characters"
            )

    def options(self, kg: KnowledgeGraph, *, predicates: bool = True) -> ProjectionOptions:
        """The checked projection options (without the predicate filter if not
        ``predicates``). ValueError names an unknown predicate or class or a bad date."""
        return make_options(
            kg,
            inferred=self.inferred,
            predicates=self.predicates if predicates else (),
            classes=self.classes,
            start=self.start,
            end=self.end,
        )

    def project(self, kg: KnowledgeGraph, *, predicates: bool = True) -> nx.MultiDiGraph:
        """The projection of ``kg`` under this filter (see :meth:`options`)."""
        return project(kg, self.options(kg, predicates=predicates))

    def predicate_iris(self, kg: KnowledgeGraph) -> frozenset[str] | None:
        """The predicate names as checked IRIs, or None for no names: for a traversal that
        follows only these predicates over a projection that keeps every edge."""
        return make_options(kg, predicates=self.predicates).predicates
