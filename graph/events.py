"""Events as analysts tabulate them: one record per event, each field traced to its evidence.

An :class:`EventRecord` gathers, for one ``kgo:Event``, what the evidence units say of it:
its dates (with their precision), its status in each passage, its actors, its place and
the place's point, the fatalities reported and by whom, and every evidence unit behind it
(quote, line, claimant, stance). Everything is read through SPARQL over the evidence
graphs and the ontology, so curated data and the ontology can change without this module:

* the event classes' ACLED, CAMEO and PLOVER codes are ontology annotations
  (``kgo:acledEventType`` …, nearest superclass wins);
* which property fills which actor column is the annotation ``kgo:eventActorRole``;
* coordinates come from the gazetteer's external evidence (``geo:asWKT``, ``wgs:lat``);
* a **perspective** (``all``, ``article`` or a claimant) keeps the facts of the evidence
  units it is made of (:mod:`karabakh_kg.graph.reasoning.perspectives`).

:func:`event_records` is what the event table, the timeline, the map and the CLI share.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from karabakh_kg.graph import lookup, views
from karabakh_kg.graph.categories import hierarchy
from karabakh_kg.graph.reasoning import perspectives
from karabakh_kg.ontology import vocab

if TYPE_CHECKING:
    from karabakh_kg.graph.dataset import KnowledgeGraph

KGO = str(vocab.KGO)
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SEPARATOR = " | "
"""How the CSV joins the values of a many-valued column (evidence units, actors)."""

# The date family (docs/ontology.md): a point or alternative readings, and a period's bounds,
# read from the evidence graphs (asserted, so a start date is not also read as a point).
_TIME_PROPERTIES = {KGO + name: name for name in ("date", "startDate", "endDate")}
_START_TIME = KGO + "startTime"
_PRECISIONS = """
SELECT ?datatype ?name WHERE {
  ?precision skos:inScheme kgo:datePrecisions ;
      kgo:precisionDatatype ?datatype ;
      skos:notation ?name .
}"""

CODE_PROPERTIES = (
    "acledEventType",
    "acledSubEventType",
    "cameoCode",
    "ploverEventType",
    "ploverMode",
)
"""The ontology annotations an event's class gives it (kgo: local names)."""


@dataclass(frozen=True)
class DateValue:
    """One time value an evidence unit gives an event."""

    kind: str
    """``date``, ``startDate`` or ``endDate``."""
    value: str
    """The lexical form: ``2020-10-09``, ``2014-08``, ``1991``."""
    precision: str
    """``day``, ``month`` or ``year``: the ontology's name for the value's datatype."""
    evidence: str

    def bounds(self) -> tuple[dt.date, dt.date]:
        """First and last day the value covers."""
        return period(self.value)


def period(value: str) -> tuple[dt.date, dt.date]:
    """The first and last day of an ISO date, year-month or year (ValueError otherwise)."""
    text = value.strip()
    if re.fullmatch(r"-?\d{4}", text):
        year = int(text)
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    match = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        first = dt.date(year, month, 1)
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        return first, following - dt.timedelta(days=1)
    day = dt.date.fromisoformat(text)
    return day, day


@dataclass
class EvidenceRef:
    """One evidence unit as it bears on one event."""

    iri: str
    quote: str | None
    line: int | None
    claimant: str | None
    claimant_label: str | None
    stance: str | None
    statuses: list[str] = field(default_factory=list)
    """Local names of the ``kgo:eventStatus`` values this unit gives the event, plus
    ``Denied`` where a claim of the unit ``kgo:denies`` it."""
    reported_on: str | None = None
    source: str | None = None
    """``dcterms:source`` of an external evidence unit."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "evidence": self.iri,
            "quote": self.quote,
            "line": self.line,
            "claimant": self.claimant,
            "claimantLabel": self.claimant_label,
            "stance": self.stance,
            "statuses": list(self.statuses),
            "reportedOn": self.reported_on,
        }


@dataclass
class Point:
    """A place's coordinates from the gazetteer (WGS 84)."""

    place: str
    latitude: float
    longitude: float
    precision: int
    """ACLED's geo-precision: 1 the place itself, 2 a place that contains the event's place."""
    source: str | None = None


@dataclass
class Fatality:
    """A figure of deaths: from a claim's quantity, or one named victim."""

    count: int
    reported_by: str | None
    reported_by_label: str | None
    unit: str | None
    """What the figure counts, in the claim's words (None for a named victim)."""
    evidence: str
    victim: str | None = None
    victim_label: str | None = None

    def describe(self) -> str:
        what = self.victim_label if self.victim_label else f"{self.count} {self.unit or ''}"
        return f"{what.strip()} ({self.reported_by_label or 'unattributed'})"


@dataclass
class EventRecord:
    """Everything the evidence in a perspective says of one event."""

    iri: str
    label: str
    classes: list[str]
    """The event's most specific kgo: classes (local names), sorted."""
    kinds: set[str]
    """Every kgo: class the event falls under (local names), for filters."""
    codes: dict[str, str]
    dates: list[DateValue] = field(default_factory=list)
    start_time: str | None = None
    roles: dict[str, list[str]] = field(default_factory=dict)
    """Actor column (``actor1``, ``actor2``, ``either``, ``associated``) -> agent IRIs."""
    places: list[str] = field(default_factory=list)
    point: Point | None = None
    fatalities: list[Fatality] = field(default_factory=list)
    evidence: list[EvidenceRef] = field(default_factory=list)

    # --- time -----------------------------------------------------------------

    def readings(self) -> list[tuple[str, str | None, str]]:
        """The event's time readings as (start, end or None, precision).

        One reading per distinct ``kgo:date`` value (several when evidence
        units disagree, such as the two readings of a garbled weekday), else one range
        from ``kgo:startDate`` to ``kgo:endDate`` (precision ``range``, or ``from`` when
        the end is open).
        """
        points = sorted(
            {(d.value, d.precision) for d in self.dates if d.kind == "date"},
            key=lambda pair: period(pair[0])[0],
        )
        if points:
            return [(value, None, precision) for value, precision in points]
        starts = sorted({d.value for d in self.dates if d.kind == "startDate"})
        ends = sorted({d.value for d in self.dates if d.kind == "endDate"})
        if starts or ends:
            start = starts[0] if starts else None
            end = ends[-1] if ends else None
            if start is None:
                return [(end or "", None, "until")]
            return [(start, end, "range" if end else "from")]
        return []

    def precision(self) -> str:
        """``day``, ``month``, ``year``, ``range``, ``from``, ``readings`` or ``undated``."""
        readings = self.readings()
        if not readings:
            return "undated"
        if len(readings) > 1:
            return "readings"
        return readings[0][2]

    def span(self) -> tuple[dt.date, dt.date] | None:
        """First and last day any reading of the event covers (open ranges: the start)."""
        bounds: list[dt.date] = []
        for start, end, _ in self.readings():
            bounds.extend(period(start))
            if end:
                bounds.extend(period(end))
        return (min(bounds), max(bounds)) if bounds else None

    # --- status ---------------------------------------------------------------

    def statuses(self) -> list[str]:
        """Every status the evidence gives, in evidence order, without repeats."""
        found: list[str] = []
        for ref in self.evidence:
            for status in ref.statuses:
                if status not in found:
                    found.append(status)
        return found

    def presentation(self) -> str:
        """How the timeline and map draw the event, from what its evidence says.

        ``disputed`` when a party denies it; ``planned`` when no unit says it happened
        but one says it was planned or expected; ``claimed`` when what it is says comes
        from one party (attributed claims, reports, alleged); otherwise ``stated``
        (the article says it happened, in its own voice).
        """
        statuses = set(self.statuses())
        if "Denied" in statuses:
            return "disputed"
        if "Cancelled" in statuses and "Occurred" not in statuses:
            return "cancelled"
        if statuses & {"Planned", "Expected"} and "Occurred" not in statuses:
            return "planned"
        stances = {ref.stance for ref in self.evidence if ref.stance}
        if "ArticleStatement" in stances and "Occurred" in statuses:
            return "stated"
        return "claimed"

    def claimants(self) -> list[tuple[str, str]]:
        """(IRI, label) of who each evidence unit is attributed to, without repeats."""
        seen: dict[str, str] = {}
        for ref in self.evidence:
            if ref.claimant and ref.claimant not in seen:
                seen[ref.claimant] = ref.claimant_label or lookup.local_name(ref.claimant)
        return list(seen.items())

    def agents(self) -> list[str]:
        """Every agent in any actor column."""
        found: list[str] = []
        for column in ("actor1", "either", "actor2", "associated"):
            for iri in self.roles.get(column, []):
                if iri not in found:
                    found.append(iri)
        return found

    def to_dict(self, index: lookup.Index) -> dict[str, Any]:
        """JSON-ready summary: what the timeline and the map show of the event."""
        readings = self.readings()
        return {
            "event": self.iri,
            "label": self.label,
            "kinds": self.classes,
            "date": " | ".join(f"{s}/{e}" if e else s for s, e, _ in readings) or None,
            "precision": self.precision(),
            "reading": None,
            "readings": len(readings),
            "time": self.start_time,
            "presentation": self.presentation(),
            "statuses": self.statuses(),
            "participants": [{"iri": iri, "label": index.label(iri)} for iri in self.agents()],
            "claimants": [{"iri": iri, "label": label} for iri, label in self.claimants()],
            "places": list(self.places),
            "evidence": [ref.to_dict() for ref in self.evidence],
        }

    def actor_columns(self) -> tuple[list[str], list[str], list[str]]:
        """(actor 1, actor 2, associated actors) as ACLED fills them.

        Who acts is actor 1 and who is acted on actor 2; the parties of a symmetric event
        (meeting participants, belligerents) fill the empty columns in order; the rest
        are associated actors.
        """
        actor1 = list(self.roles.get("actor1", []))
        actor2 = [a for a in self.roles.get("actor2", []) if a not in actor1]
        either = [a for a in self.roles.get("either", []) if a not in actor1 + actor2]
        if not actor1 and either:
            actor1.append(either.pop(0))
        if not actor2 and either:
            actor2.append(either.pop(0))
        assoc = either + [
            a for a in self.roles.get("associated", []) if a not in actor1 + actor2 + either
        ]
        return actor1[:1], actor2[:1], actor1[1:] + actor2[1:] + assoc


# ----------------------------------------------------------------------------------
# Perspectives
# ----------------------------------------------------------------------------------

ALL = perspectives.ALL
UnknownPerspectiveError = perspectives.UnknownPerspective


def perspective_names(kg: KnowledgeGraph) -> list[tuple[str, str]]:
    """(name, label) of every perspective: ``all``, ``article``, then each claimant."""
    return [(p.name, p.label) for p in perspectives.perspectives(kg).listed()]


# ----------------------------------------------------------------------------------
# Reading the graph
# ----------------------------------------------------------------------------------

_FACTS = """
SELECT ?event ?g ?p ?o WHERE {
  ?event a kgo:Event .
  GRAPH ?g { ?event ?p ?o }
  ?g a kgo:Evidence .
}
ORDER BY ?event ?g ?p ?o"""

_ABOUT = """
SELECT ?event ?g ?claim ?p ?claimant ?quantity ?unit WHERE {
  ?event a kgo:Event .
  GRAPH ?g { ?claim ?p ?event . VALUES ?p { kgo:about kgo:denies } }
  ?g a kgo:Evidence .
  OPTIONAL { GRAPH ?g { ?claim kgo:claimant ?claimant } }
  OPTIONAL { GRAPH ?g { ?claim kgo:quantity ?quantity } }
  OPTIONAL { GRAPH ?g { ?claim kgo:unit ?unit } }
}"""

_EVIDENCE = """
SELECT ?g ?quote ?line ?who ?stance ?reported ?source WHERE {
  ?g a kgo:Evidence .
  OPTIONAL { ?g prov:value ?quote }
  OPTIONAL { ?g kgo:line ?line }
  OPTIONAL { ?g prov:wasAttributedTo ?who }
  OPTIONAL { ?g kgo:stance ?stance }
  OPTIONAL { ?g kgo:reportedOn ?reported }
  OPTIONAL { ?g dcterms:source ?source }
}"""

_ANNOTATIONS = """
SELECT ?term ?p ?value WHERE {
  GRAPH <%s> { ?term ?p ?value }
  VALUES ?p { %s }
}"""

_AGENTS = "SELECT DISTINCT ?a WHERE { ?a a kgo:Agent }"
_PLACES = "SELECT DISTINCT ?p WHERE { ?p a kgo:Place }"

_CONTAINERS = """
SELECT ?place ?outer WHERE { ?place kgo:locatedIn ?outer }"""

_POINTS = """
PREFIX geo: <http://www.opengis.net/ont/geosparql#>
PREFIX wgs: <http://www.w3.org/2003/01/geo/wgs84_pos#>
SELECT ?place ?wkt ?lat ?long ?source WHERE {
  GRAPH ?g { ?place geo:hasGeometry ?geometry . ?geometry geo:asWKT ?wkt }
  ?g a kgo:Evidence .
  OPTIONAL { GRAPH ?g { ?place wgs:lat ?lat ; wgs:long ?long } }
  OPTIONAL { ?g dcterms:source ?source }
}"""
# (wgs:lat and wgs:long, where the same evidence gives them, are the point's decimals as
# written: Virtuoso keeps a geo:wktLiteral as its own geometry, in single precision, and
# gives back POINT(6.1456899642944 46.202220916748) for POINT(6.14569 46.20222))

_WKT_POINT = re.compile(
    r"^\s*(?:<[^>]*>\s*)?POINT\s*\(\s*(-?[0-9.]+)\s+(-?[0-9.]+)\s*\)\s*$", re.IGNORECASE
)


def select(kg: KnowledgeGraph, sparql: str) -> list[dict[str, Any]]:
    """The solutions of a SELECT query over ``kg``'s default dataset, as dicts of terms."""
    result = kg.query(sparql)
    assert isinstance(result, ox.QuerySolutions)
    names = [v.value for v in result.variables]
    rows = []
    for solution in result:
        rows.append({name: solution[name] for name in names})
    return rows


def term_value(term: Any) -> str | None:
    """The lexical value of a term, or None for an unbound variable."""
    return None if term is None else str(term.value)


def _local(iri: str | None) -> str | None:
    if iri is None:
        return None
    return iri[len(KGO) :] if iri.startswith(KGO) else lookup.local_name(iri)


def _annotations(kg: KnowledgeGraph, names: Iterable[str]) -> dict[str, dict[str, str]]:
    """term IRI -> {annotation local name: value} from the ontology graph."""
    from karabakh_kg.graph.dataset import ONTOLOGY

    values = " ".join(f"kgo:{name}" for name in names)
    found: dict[str, dict[str, str]] = {}
    for row in select(kg, _ANNOTATIONS % (ONTOLOGY.value, values)):
        name = str(row["p"].value)[len(KGO) :]
        found.setdefault(str(row["term"].value), {})[name] = str(row["value"].value)
    return found


def provenance_labels(kg: KnowledgeGraph) -> dict[str, str]:
    """Labels of what the provenance graph describes (the article, its author)."""
    from karabakh_kg.graph.dataset import PROVENANCE

    query = (
        f"SELECT ?s ?l WHERE {{ GRAPH <{PROVENANCE.value}> {{ ?s rdfs:label ?l }} "
        'FILTER(LANG(?l) IN ("en", "")) }'
    )
    return {str(r["s"].value): str(r["l"].value) for r in select(kg, query)}


def points(kg: KnowledgeGraph) -> dict[str, Point]:
    """Place IRI -> its point from the gazetteer evidence (``geo:asWKT`` ``POINT(long lat)``;
    its coordinates from ``wgs:lat`` and ``wgs:long`` where the same evidence gives them)."""
    found: dict[str, Point] = {}
    for row in select(kg, _POINTS):
        match = _WKT_POINT.match(str(row["wkt"].value))
        if not match:
            continue
        latitude, longitude = float(match.group(2)), float(match.group(1))
        if row["lat"] is not None and row["long"] is not None:
            latitude, longitude = float(row["lat"].value), float(row["long"].value)
        place = str(row["place"].value)
        found.setdefault(place, Point(place, latitude, longitude, 1, term_value(row["source"])))
    return found


def containers(kg: KnowledgeGraph) -> dict[str, set[str]]:
    """Place IRI -> every place it lies in (``kgo:locatedIn``, transitive by reasoning)."""
    found: dict[str, set[str]] = {}
    for row in select(kg, _CONTAINERS):
        found.setdefault(str(row["place"].value), set()).add(str(row["outer"].value))
    return found


def locate(
    kg: KnowledgeGraph,
    place: str,
    known: dict[str, Point] | None = None,
    inside: dict[str, set[str]] | None = None,
) -> Point | None:
    """The point of ``place``, or of the smallest place with a point that contains it.

    A point borrowed from a containing place has precision 2 (ACLED: "near" the place).
    """
    known = points(kg) if known is None else known
    if place in known:
        return known[place]
    inside = containers(kg) if inside is None else inside
    # The smallest container is the one with the most containers of its own.
    for outer in sorted(inside.get(place, ()), key=lambda o: -len(inside.get(o, ()))):
        if outer in known:
            hit = known[outer]
            return Point(place, hit.latitude, hit.longitude, 2, hit.source)
    return None


def event_records(kg: KnowledgeGraph, perspective: str = ALL) -> list[EventRecord]:
    """Every event that evidence in ``perspective`` (default: all) speaks of, in date order.

    Labels and classes are the event's identity and come from the whole graph; dates,
    statuses, actors, places and figures only from the perspective's evidence units.
    Raises :class:`UnknownPerspectiveError` for a perspective that names no claimant.
    A view of ``kg`` (:mod:`karabakh_kg.graph.views`), built once per data version and
    perspective (treat the result as read-only).
    """
    chosen = perspectives.resolve(kg, perspective)
    units = perspectives.perspectives(kg).units(chosen)
    return views.view(kg, ("event-records", chosen.name), lambda: _build(kg, set(units)))


def page_events(iris: Iterable[str], offset: int, limit: int) -> list[str]:
    """The events of one page of a view: ``limit`` of ``iris`` from ``offset``, in the
    order of their IRIs (an order a store can give without reading the events; each page
    lists its events in date order)."""
    return sorted(set(iris))[offset : offset + limit]


def _build(kg: KnowledgeGraph, allowed: set[str]) -> list[EventRecord]:
    index = lookup.index(kg)
    labels = provenance_labels(kg)
    ontology = hierarchy(kg)
    evidence_meta = {str(r["g"].value): r for r in select(kg, _EVIDENCE)}
    role_of = {
        prop: values["eventActorRole"]
        for prop, values in _annotations(kg, ["eventActorRole"]).items()
        if "eventActorRole" in values
    }
    class_codes = _annotations(kg, CODE_PROPERTIES)
    precisions = {str(r["datatype"].value): str(r["name"].value) for r in select(kg, _PRECISIONS)}
    agents = {str(r["a"].value) for r in select(kg, _AGENTS)}
    places = {str(r["p"].value) for r in select(kg, _PLACES)}
    persons = {str(r["a"].value) for r in select(kg, "SELECT ?a WHERE { ?a a kgo:Person }")}
    known_points = points(kg)
    inside = containers(kg)

    records: dict[str, EventRecord] = {}
    refs: dict[tuple[str, str], EvidenceRef] = {}

    def record(event: str) -> EventRecord:
        if event not in records:
            entity = index.entities.get(event)
            types = entity.types if entity else set()
            records[event] = EventRecord(
                iri=event,
                label=entity.label if entity else lookup.local_name(event),
                classes=_most_specific(ontology, types),
                kinds={c[len(KGO) :] for c in ontology.closure(types) if c.startswith(KGO)},
                codes=_codes(ontology, types, class_codes),
            )
        return records[event]

    def ref(event: str, graph: str) -> EvidenceRef:
        key = (event, graph)
        if key not in refs:
            meta = evidence_meta.get(graph, {})
            who = term_value(meta.get("who"))
            line = meta.get("line")
            refs[key] = EvidenceRef(
                iri=graph,
                quote=term_value(meta.get("quote")),
                line=int(line.value) if line is not None else None,
                claimant=who,
                claimant_label=labels.get(who, index.label(who)) if who else None,
                stance=_local(term_value(meta.get("stance"))),
                reported_on=term_value(meta.get("reported")),
                source=term_value(meta.get("source")),
            )
            record(event).evidence.append(refs[key])
        return refs[key]

    for row in select(kg, _FACTS):
        graph = str(row["g"].value)
        if graph not in allowed:
            continue
        event, prop, obj = str(row["event"].value), str(row["p"].value), row["o"]
        rec = record(event)
        evidence = ref(event, graph)
        if prop in _TIME_PROPERTIES and isinstance(obj, ox.Literal):
            precision = precisions.get(obj.datatype.value, "day")
            value = DateValue(_TIME_PROPERTIES[prop], obj.value, precision, graph)
            if value not in rec.dates:
                rec.dates.append(value)
        elif prop == _START_TIME and isinstance(obj, ox.Literal):
            rec.start_time = obj.value
        elif prop == KGO + "eventStatus" and isinstance(obj, ox.NamedNode):
            status = _local(obj.value) or obj.value
            if status not in evidence.statuses:
                evidence.statuses.append(status)
        elif isinstance(obj, ox.NamedNode):
            target = obj.value
            if prop == KGO + "location" and target not in rec.places:
                rec.places.append(target)
            if target in agents:
                column = role_of.get(prop, "associated")
                column_list = rec.roles.setdefault(column, [])
                if target not in column_list:
                    column_list.append(target)
                if prop == KGO + "victim" and target in persons and "Death" in rec.kinds:
                    rec.fatalities.append(
                        Fatality(
                            1,
                            evidence.claimant,
                            evidence.claimant_label,
                            None,
                            graph,
                            target,
                            index.label(target),
                        )
                    )
            elif prop == KGO + "target" and target in places and target not in rec.places:
                rec.places.append(target)

    for row in select(kg, _ABOUT):
        graph = str(row["g"].value)
        if graph not in allowed:
            continue
        event = str(row["event"].value)
        rec = record(event)
        evidence = ref(event, graph)
        claimant = term_value(row["claimant"]) or evidence.claimant
        if str(row["p"].value) == KGO + "denies":
            if "Denied" not in evidence.statuses:
                evidence.statuses.append("Denied")
        elif (
            row["quantity"] is not None
            and "Death" in rec.kinds
            # A death of a named person counts one; figures about it are other facts (age).
            and not any(f.victim for f in rec.fatalities)
        ):
            rec.fatalities.append(
                Fatality(
                    int(float(row["quantity"].value)),
                    claimant,
                    labels.get(claimant, index.label(claimant)) if claimant else None,
                    term_value(row["unit"]),
                    graph,
                )
            )

    # Deaths caused by an event count as its fatalities too (ACLED codes them there).
    for rec in list(records.values()):
        for cause in _causes(kg, rec.iri, allowed):
            if cause in records:
                records[cause].fatalities.extend(rec.fatalities)

    for rec in records.values():
        rec.evidence.sort(key=lambda r: (r.line is None, r.line or 0, r.iri))
        rec.point = next(
            (p for p in (locate(kg, place, known_points, inside) for place in rec.places) if p),
            None,
        )
    return sorted(records.values(), key=_order)


def _causes(kg: KnowledgeGraph, event: str, allowed: set[str]) -> list[str]:
    query = f"SELECT ?cause ?g WHERE {{ GRAPH ?g {{ <{event}> kgo:causedBy ?cause }} }}"
    return [str(r["cause"].value) for r in select(kg, query) if str(r["g"].value) in allowed]


def _order(record: EventRecord) -> tuple[int, dt.date, str]:
    span = record.span()
    return (0, span[0], record.label) if span else (1, dt.date.max, record.label)


def _most_specific(ontology: Any, types: Iterable[str]) -> list[str]:
    kgo_types = [t for t in types if t.startswith(KGO)]
    leaves = [
        t
        for t in kgo_types
        if not any(t != other and t in ontology.closure([other]) for other in kgo_types)
    ]
    return sorted(t[len(KGO) :] for t in leaves)


def _codes(
    ontology: Any, types: Iterable[str], class_codes: dict[str, dict[str, str]]
) -> dict[str, str]:
    """Each code annotation from the most specific class (of the event's types) that has it."""
    reached = ontology.closure(types)
    codes: dict[str, str] = {}
    for name in CODE_PROPERTIES:
        holders = [c for c in reached if name in class_codes.get(c, {})]
        if holders:
            best = max(holders, key=lambda c: (len(ontology.closure([c])), c))
            codes[name] = class_codes[best][name]
    return codes


# ----------------------------------------------------------------------------------
# The table
# ----------------------------------------------------------------------------------

COLUMNS: Sequence[str] = (
    "event_id",
    "event_label",
    "event_class",
    "event_date",
    "date_end",
    "date_precision",
    "time",
    "time_precision",
    "acled_event_type",
    "acled_sub_event_type",
    "cameo_code",
    "plover_event_type",
    "plover_mode",
    "actor1",
    "actor1_id",
    "actor2",
    "actor2_id",
    "assoc_actors",
    "location",
    "location_id",
    "admin1",
    "country",
    "latitude",
    "longitude",
    "geo_precision",
    "fatalities",
    "fatalities_reported_by",
    "status",
    "stance",
    "source",
    "source_id",
    "notes",
    "evidence",
    "line",
    "reported_on",
)
"""The columns of ``karabakh-kg events`` and ``/export/events.csv``, in order
(docs/events.md describes each)."""


def table_rows(kg: KnowledgeGraph, records: Iterable[EventRecord]) -> list[dict[str, Any]]:
    """One dict per record with :data:`COLUMNS` as keys (lists for many-valued ones)."""
    index = lookup.index(kg)
    geography = geography_of(kg)
    rows = []
    for rec in records:
        readings = rec.readings()
        actor1, actor2, assoc = rec.actor_columns()
        place = rec.places[0] if rec.places else None
        admin1, country = geography(place) if place else (None, None)
        fatal = _fatality_summary(rec.fatalities)
        rows.append(
            {
                "event_id": rec.iri,
                "event_label": rec.label,
                "event_class": rec.classes,
                "event_date": [r[0] for r in readings],
                "date_end": next((r[1] for r in readings if r[1]), None),
                "date_precision": rec.precision(),
                "time": rec.start_time,
                "time_precision": "minute" if rec.start_time else None,
                "acled_event_type": rec.codes.get("acledEventType"),
                "acled_sub_event_type": rec.codes.get("acledSubEventType"),
                "cameo_code": rec.codes.get("cameoCode"),
                "plover_event_type": rec.codes.get("ploverEventType"),
                "plover_mode": rec.codes.get("ploverMode"),
                "actor1": [index.label(a) for a in actor1],
                "actor1_id": actor1,
                "actor2": [index.label(a) for a in actor2],
                "actor2_id": actor2,
                "assoc_actors": [index.label(a) for a in assoc],
                "location": index.label(place) if place else None,
                "location_id": place,
                "admin1": index.label(admin1) if admin1 else None,
                "country": index.label(country) if country else None,
                "latitude": rec.point.latitude if rec.point else None,
                "longitude": rec.point.longitude if rec.point else None,
                "geo_precision": rec.point.precision if rec.point else None,
                "fatalities": fatal[0],
                "fatalities_reported_by": fatal[1],
                "status": ["/".join(r.statuses) for r in rec.evidence],
                "stance": [r.stance or "" for r in rec.evidence],
                "source": [r.claimant_label or "" for r in rec.evidence],
                "source_id": [r.claimant or "" for r in rec.evidence],
                "notes": [r.quote or "" for r in rec.evidence],
                "evidence": [r.iri for r in rec.evidence],
                "line": [str(r.line) if r.line else "" for r in rec.evidence],
                "reported_on": [r.reported_on or "" for r in rec.evidence],
            }
        )
    return rows


def _fatality_summary(fatalities: list[Fatality]) -> tuple[int | None, list[str]]:
    """ACLED's fatality count, where the evidence gives one, and each figure with its source.

    Named victims count one each. A claimed figure counts when it is the only figure.
    Different figures (26 in the last 24 hours, 376 since 27 September) are never added
    up: the count stays empty and the second value lists each figure with its claimant.
    """
    described = sorted({f.describe() for f in fatalities})
    victims = {f.victim for f in fatalities if f.victim}
    figures = {f.count for f in fatalities if not f.victim}
    if victims and not figures:
        return len(victims), described
    if len(figures) == 1 and not victims:
        return next(iter(figures)), described
    return None, described


def geography_of(kg: KnowledgeGraph) -> Any:
    """A function: place IRI -> (admin area IRI, country IRI), from the graph."""
    inside = containers(kg)
    regions = {str(r["p"].value) for r in select(kg, "SELECT ?p WHERE { ?p a kgo:Region }")}
    country_of: dict[str, str] = {}
    for row in select(kg, "SELECT ?p ?c WHERE { ?p kgo:country ?c }"):
        country_of.setdefault(str(row["p"].value), str(row["c"].value))

    def geography(place: str) -> tuple[str | None, str | None]:
        outer = sorted(inside.get(place, ()), key=lambda o: -len(inside.get(o, ())))
        admin = next((o for o in outer if o in regions and o in country_of), None)
        country = country_of.get(place) or next(
            (country_of[o] for o in outer if o in country_of), None
        )
        return admin, country

    return geography


def csv_text(rows: Iterable[dict[str, Any]]) -> str:
    """The table as CSV (RFC 4180, CRLF line ends, UTF-8 text, header first).

    Many-valued columns join their values with :data:`SEPARATOR`; the evidence
    columns (status, stance, source, notes, evidence, line, reported_on) keep the
    same order, so the n-th value of each describes the same evidence unit.
    """
    import csv
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return SEPARATOR.join(str(v) for v in value)
    return str(value)
