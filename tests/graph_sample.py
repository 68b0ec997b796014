"""A small knowledge graph in the project's data model, for graph tests.

It mirrors the shapes of the curated data (evidence graphs with quotes, events with
participants, derived triples in the inferred graph, by the project's own rules) without
depending on it.
"""

from __future__ import annotations

import pyoxigraph as ox

from karabakh_kg.graph import reasoning
from karabakh_kg.graph.dataset import ASSERTED, ONTOLOGY, PROVENANCE, KnowledgeGraph
from karabakh_kg.ontology import vocab

SAMPLE_TRIG = """
@prefix kgo: <https://w3id.org/karabakh-kg/ontology#> .
@prefix kg: <https://w3id.org/karabakh-kg/resource/> .
@prefix kge: <https://w3id.org/karabakh-kg/evidence/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix wd: <http://www.wikidata.org/entity/> .

kge:L37-meeting {
    kg:mnatsakanyan-lavrov-meeting a kgo:Meeting ;
        rdfs:label "Mnatsakanyan–Lavrov meeting"@en ;
        kgo:participant kg:zohrab-mnatsakanyan , kg:sergei-lavrov ;
        kgo:location kg:moscow ;
        kgo:date "2020-10-12"^^xsd:date ;
        kgo:eventStatus kgo:Planned .
    kg:zohrab-mnatsakanyan a kgo:Person ; rdfs:label "Zohrab Mnatsakanyan"@en ;
        kgo:actsFor kg:armenia .
    kg:sergei-lavrov a kgo:Person ; rdfs:label "Sergei Lavrov"@en ;
        kgo:actsFor kg:russia .
    kg:moscow a kgo:City ; rdfs:label "Moscow"@en .
}
kge:L37-meeting
    prov:value "Mnatsakanyan would instead meet with Russian Foreign Minister Sergei Lavrov" ;
    kgo:line 37 .

kge:L33-calls {
    kg:macron-aliyev-call a kgo:PhoneCall ;
        rdfs:label "Macron–Aliyev phone call"@en ;
        kgo:participant kg:emmanuel-macron , kg:ilham-aliyev ;
        kgo:date "2020-10-09"^^xsd:date ;
        kgo:eventStatus kgo:Occurred .
    kg:macron-pashinyan-call a kgo:PhoneCall ;
        rdfs:label "Macron–Pashinyan phone call"@en ;
        kgo:participant kg:emmanuel-macron , kg:nikol-pashinyan ;
        kgo:eventStatus kgo:Occurred .
    kg:emmanuel-macron a kgo:Person ; rdfs:label "Emmanuel Macron"@en ; kgo:actsFor kg:france .
    kg:ilham-aliyev a kgo:Person ; rdfs:label "Ilham Aliyev"@en ; kgo:actsFor kg:azerbaijan .
    kg:nikol-pashinyan a kgo:Person ; rdfs:label "Nikol Pashinyan"@en ; kgo:actsFor kg:armenia .
}
kge:L33-calls prov:value "Macron had spoken with Armenian Prime Minister Nikol Pashinyan" ;
    kgo:line 33 .

kge:L1-talks {
    kg:moscow-talks a kgo:Talks ;
        rdfs:label "Moscow talks"@en ;
        kgo:participant kg:ceyhun-bayramov , kg:zohrab-mnatsakanyan ;
        kgo:mediator kg:vladimir-putin ;
        kgo:date "2020-10-09"^^xsd:date ;
        kgo:eventStatus kgo:Occurred , kgo:Expected .
    kg:ceyhun-bayramov a kgo:Person ; rdfs:label "Ceyhun Bayramov"@en ;
        kgo:actsFor kg:azerbaijan .
    kg:vladimir-putin a kgo:Person ; rdfs:label "Vladimir Putin"@en ; kgo:actsFor kg:russia .
    kg:called-off-meeting a kgo:Meeting ;
        rdfs:label "Bayramov–Minsk Group meeting"@en ;
        kgo:participant kg:ceyhun-bayramov , kg:minsk-group ;
        kgo:eventStatus kgo:Cancelled .
}
kge:L1-talks prov:value "The foreign ministers of Azerbaijan and Armenia met." ;
    kgo:line 1 .

kge:L39-minsk {
    kg:minsk-group a kgo:MediationGroup ; rdfs:label "OSCE Minsk Group"@en ;
        skos:altLabel "Minsk Group"@en ;
        kgo:mediatedFor kg:armenia , kg:azerbaijan ;
        kgo:hasCoChair kg:russia , kg:france .
    kg:russia a kgo:State ; rdfs:label "Russia"@en .
    kg:france a kgo:State ; rdfs:label "France"@en .
    kg:armenia a kgo:State ; rdfs:label "Armenia"@en .
    kg:azerbaijan a kgo:State ; rdfs:label "Azerbaijan"@en .
}
kge:L39-minsk prov:value "The United States, Russia and France co-chair the Minsk Group" ;
    kgo:line 39 .

kge:L17-missile {
    kg:mingechevir a kgo:City ; rdfs:label "Mingechevir"@en ;
        skos:altLabel "Mingachevir"@en ;
        kgo:locatedIn kg:azerbaijan .
    kg:gazancetsots-cathedral a kgo:Building ; rdfs:label "Gazançetsots Cathedral"@en ;
        kgo:locatedIn kg:shusha .
    kg:shusha a kgo:City ; rdfs:label "Shusha"@en .
    kg:nagorny a kgo:Place ; rdfs:label "нагорный"@ru .
}
kge:L17-missile prov:value "Mingechevir has been hit by many missiles before." ;
    kgo:line 17 .

kge:wikidata-links {
    kg:sergei-lavrov skos:exactMatch wd:Q40953 .
    kg:azerbaijan skos:exactMatch wd:Q227 .
    kg:armenia skos:exactMatch wd:Q399 .
}
kge:wikidata-links kgo:stance kgo:ExternalSource .
"""

KG = "https://w3id.org/karabakh-kg/resource/"
KGO = "https://w3id.org/karabakh-kg/ontology#"


def sample_kg() -> KnowledgeGraph:
    """A fresh small knowledge graph: the ontology and rules, the sample, and what they derive."""
    store = ox.Store()
    for quad in ox.parse(SAMPLE_TRIG, format=ox.RdfFormat.TRIG):
        if isinstance(quad.graph_name, ox.DefaultGraph):
            store.add(ox.Quad(quad.subject, quad.predicate, quad.object, PROVENANCE))
        else:
            store.add(quad)
            store.add(ox.Quad(quad.subject, quad.predicate, quad.object, ASSERTED))
    for path in (vocab.ontology_file(), vocab.rules_file()):
        store.extend(
            ox.Quad(q.subject, q.predicate, q.object, ONTOLOGY)
            for q in ox.parse(path=path, format=ox.RdfFormat.TURTLE)
        )
    kg = KnowledgeGraph(store=store, version="sample")
    reasoning.materialize(kg)  # the project's rules, as on the curated graph
    return kg
