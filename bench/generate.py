"""Synthetic knowledge graphs shaped like the curated one, for the reasoning benchmark.

Same ontology and vocabulary, many more instances: states, officials holding posts in them
(the ``holdsPost ∘ postIn ⊑ actsFor`` chain), meetings, talks and phone calls between them
(occurred or planned), places nested three deep (transitive ``locatedIn``), mediation groups
with co-chairs, attacks that are sub-events of wars, and some direct ``metWith`` and
``negotiatedWith`` assertions. One evidence graph per event, like the curated files.

    python bench/generate.py --size 100k --out /tmp/karabakh-bench/100k
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import pyoxigraph as ox

KG = "https://w3id.org/karabakh-kg/resource/"
KGO = "https://w3id.org/karabakh-kg/ontology#"
KGE = "https://w3id.org/karabakh-kg/evidence/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
XSD_DATE = ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")


def kg(name: str) -> ox.NamedNode:
    """An entity IRI."""
    return ox.NamedNode(KG + name)


def kgo(name: str) -> ox.NamedNode:
    """An ontology IRI."""
    return ox.NamedNode(KGO + name)


def parse_size(text: str) -> int:
    """``10k``, ``100k``, ``1m`` or a number of triples."""
    key = text.lower().replace("_", "")
    for suffix, factor in (("k", 1_000), ("m", 1_000_000)):
        if key.endswith(suffix):
            return int(float(key[:-1]) * factor)
    return int(key)


def generate(target: int, seed: int = 0) -> list[ox.Quad]:
    """About ``target`` asserted quads (each in an evidence graph), deterministic in ``seed``."""
    rng = random.Random(seed)
    quads: list[ox.Quad] = []
    graph = ox.NamedNode(KGE + "gen-world")

    def add(s: ox.NamedNode, p: ox.NamedNode, o: ox.NamedNode | ox.Literal) -> None:
        quads.append(ox.Quad(s, p, o, graph))

    # scale: about 25 triples per person-sized unit
    units = max(target // 25, 8)
    n_states = max(units // 40, 3)
    n_people = units
    n_regions = max(units // 20, 2)
    n_groups = max(units // 200, 1)
    states = [kg(f"state-{i}") for i in range(n_states)]
    for i, state in enumerate(states):
        add(state, RDF_TYPE, kgo("State"))
        add(state, LABEL, ox.Literal(f"State {i}", language="en"))
    people = [kg(f"person-{i}") for i in range(n_people)]
    for i, person in enumerate(people):
        post = kg(f"post-{i}")
        add(person, RDF_TYPE, kgo("Person"))
        add(person, LABEL, ox.Literal(f"Person {i}", language="en"))
        add(person, kgo("holdsPost"), post)
        add(post, kgo("postIn"), states[i % n_states])
    # places: country-wide region > region > city > village
    places: list[ox.NamedNode] = []
    for r in range(n_regions):
        region = kg(f"region-{r}")
        add(region, RDF_TYPE, kgo("Region"))
        add(region, LABEL, ox.Literal(f"Region {r}", language="en"))
        if r >= n_states:
            add(region, kgo("locatedIn"), kg(f"region-{r % n_states}"))
        for c in range(3):
            city = kg(f"city-{r}-{c}")
            add(city, RDF_TYPE, kgo("City"))
            add(city, kgo("locatedIn"), region)
            village = kg(f"village-{r}-{c}")
            add(village, RDF_TYPE, kgo("Village"))
            add(village, kgo("locatedIn"), city)
            places += [city, village]
    for g in range(n_groups):
        group = kg(f"group-{g}")
        add(group, RDF_TYPE, kgo("MediationGroup"))
        for state in rng.sample(states, min(3, n_states)):
            add(state, kgo("coChairOf"), group)
        if g:
            add(group, kgo("subOrganizationOf"), kg(f"group-{g - 1}"))
    war = kg("war-0")
    add(war, RDF_TYPE, kgo("War"))
    statuses = [kgo("Occurred"), kgo("Occurred"), kgo("Planned")]
    event = 0
    while len(quads) < target:
        graph = ox.NamedNode(KGE + f"gen-{event}")
        e = kg(f"event-{event}")
        kind = rng.choice(["Meeting", "Talks", "PhoneCall", "MissileAttack", "Meeting"])
        day = f"2020-{rng.randint(9, 11):02d}-{rng.randint(10, 28):02d}"
        add(e, RDF_TYPE, kgo(kind))
        add(e, kgo("date"), ox.Literal(day, datatype=XSD_DATE))
        add(e, kgo("location"), rng.choice(places))
        if kind == "MissileAttack":
            add(e, kgo("subEventOf"), war)
            add(e, kgo("attacker"), rng.choice(states))
        else:
            add(e, kgo("eventStatus"), rng.choice(statuses))
            for person in rng.sample(people, rng.choice([2, 2, 3])):
                add(e, kgo("participant"), person)
            if kind == "Talks":
                add(e, kgo("host"), rng.choice(people))
        if event % 7 == 0:
            a, b = rng.sample(people, 2)
            add(a, kgo(rng.choice(["metWith", "negotiatedWith", "spokeWith"])), b)
        event += 1
    return quads


def write(quads: list[ox.Quad], folder: Path) -> Path:
    """Write ``quads`` as ``folder/generated.trig``; return the file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "generated.trig"
    ox.serialize(quads, path, format=ox.RdfFormat.TRIG)
    return path


def main() -> None:
    """Command line: write one generated graph."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="10k", help="10k, 100k, 1m or a number of triples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    args = parser.parse_args()
    quads = generate(parse_size(args.size), args.seed)
    path = write(quads, args.out)
    print(f"{len(quads)} quads written to {path}")


if __name__ == "__main__":
    main()
