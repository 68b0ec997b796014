"""Example SPARQL queries shown in the query UI, one per competency question.

Each query declares its prefixes so it also runs unchanged in other SPARQL tools. The
query UI lists them; ``tests/test_resource_pages.py`` runs every one against the data.
"""

from __future__ import annotations

from dataclasses import dataclass

from karabakh_kg.graph.dataset import ASSERTED, INFERRED
from karabakh_kg.ontology import vocab


@dataclass(frozen=True)
class Example:
    """One example query: a short id, a title, what it answers, the SPARQL text."""

    id: str
    title: str
    question: str
    sparql: str
    expects_rows: bool = True


_P = {name: vocab.PREFIXES[name] for name in ("kgo", "kg", "rdfs", "prov", "skos", "xsd")}


def _prefixes(*names: str) -> str:
    return "".join(f"PREFIX {n}: <{_P[n]}>\n" for n in names)


INFERRED_GRAPH = INFERRED.value
ASSERTED_GRAPH = ASSERTED.value

EXAMPLES: list[Example] = [
    Example(
        "negotiations",
        "Who communicated with whom",
        "Which people or parties met, spoke or negotiated with each other, and how?",
        _prefixes("kgo", "rdfs")
        + """SELECT ?a ?aLabel ?how ?b ?bLabel WHERE {
  VALUES ?how { kgo:negotiatedWith kgo:metWith kgo:spokeWith kgo:communicatedWith }
  ?a ?how ?b .
  FILTER(STR(?a) < STR(?b))
  OPTIONAL { ?a rdfs:label ?aLabel }
  OPTIONAL { ?b rdfs:label ?bLabel }
}
ORDER BY ?aLabel ?bLabel ?how
""",
    ),
    Example(
        "meetings",
        "Meetings, talks and calls",
        "Which meetings, talks and phone calls does the article report, with whom, where, when?",
        _prefixes("kgo", "rdfs")
        + """SELECT ?event ?label ?type ?date ?status
       (GROUP_CONCAT(DISTINCT ?who; separator=", ") AS ?participants) WHERE {
  VALUES ?type { kgo:Meeting kgo:Talks kgo:PhoneCall }
  ?event a ?type .
  OPTIONAL { ?event rdfs:label ?label }
  OPTIONAL { ?event kgo:date ?date }
  OPTIONAL { ?event kgo:eventStatus ?status }
  OPTIONAL { ?event kgo:participant ?p . ?p rdfs:label ?who }
}
GROUP BY ?event ?label ?type ?date ?status
ORDER BY ?date ?label
""",
    ),
    Example(
        "offices",
        "Who holds which office",
        "Which posts do people hold, and for which state or organisation?",
        _prefixes("kgo", "rdfs")
        + """SELECT ?person ?personLabel ?post ?postLabel ?for ?forLabel WHERE {
  ?person kgo:holdsPost ?post .
  OPTIONAL { ?post kgo:postIn ?for . OPTIONAL { ?for rdfs:label ?forLabel } }
  OPTIONAL { ?person rdfs:label ?personLabel }
  OPTIONAL { ?post rdfs:label ?postLabel }
}
ORDER BY ?forLabel ?personLabel
""",
    ),
    Example(
        "minsk-group",
        "Minsk Group co-chairs",
        "Which states co-chair the OSCE Minsk Group, and who established the group?",
        _prefixes("kgo", "rdfs")
        + """SELECT ?group ?groupLabel ?coChair ?coChairLabel ?establishedBy WHERE {
  ?group a kgo:MediationGroup .
  OPTIONAL { ?group rdfs:label ?groupLabel }
  OPTIONAL { ?coChair kgo:coChairOf ?group . OPTIONAL { ?coChair rdfs:label ?coChairLabel } }
  OPTIONAL { ?group kgo:establishedBy ?by . ?by rdfs:label ?establishedBy }
}
ORDER BY ?coChairLabel
""",
    ),
    Example(
        "inside-azerbaijan",
        "What is inside Azerbaijan",
        "Which places lie in Azerbaijan (directly or through a region)?",
        _prefixes("kgo", "rdfs")
        + """SELECT ?place ?placeLabel (GROUP_CONCAT(DISTINCT ?kind; separator=", ") AS ?kinds)
WHERE {
  ?azerbaijan rdfs:label "Azerbaijan"@en .
  # In Azerbaijan's territory, or in a place (a region) that is.
  ?place kgo:locatedIn*/kgo:country|kgo:locatedIn+ ?azerbaijan .
  ?place a kgo:Place .
  OPTIONAL { ?place rdfs:label ?placeLabel }
  OPTIONAL {
    ?place a ?type . ?type rdfs:label ?kind .
    FILTER(STRSTARTS(STR(?type), STR(kgo:)) && ?type != kgo:Place)
  }
}
GROUP BY ?place ?placeLabel
ORDER BY ?placeLabel
""",
    ),
    Example(
        "deaths",
        "Deaths and where",
        "Who was reported killed, where, when, and who reports it?",
        _prefixes("kgo", "rdfs", "prov")
        + """SELECT ?death ?victimLabel ?placeLabel ?date ?saidBy WHERE {
  ?death a kgo:Death .
  OPTIONAL { ?death kgo:victim ?victim . ?victim rdfs:label ?victimLabel }
  OPTIONAL { ?death kgo:location ?place . ?place rdfs:label ?placeLabel }
  OPTIONAL { ?death kgo:date ?date }
  OPTIONAL {
    GRAPH ?evidence { ?death a kgo:Death }
    ?evidence prov:wasAttributedTo ?who .
    ?who rdfs:label ?saidBy
  }
}
ORDER BY ?date ?victimLabel
""",
    ),
    Example(
        "media",
        "Outlets and journalists",
        "Which media outlets and news agencies appear, and who works for them?",
        _prefixes("kgo", "rdfs")
        + """SELECT ?outlet ?outletLabel ?person ?personLabel WHERE {
  { ?outlet a kgo:MediaOutlet } UNION { ?outlet a kgo:NewsAgency }
  OPTIONAL { ?outlet rdfs:label ?outletLabel }
  OPTIONAL { ?person kgo:worksFor ?outlet . OPTIONAL { ?person rdfs:label ?personLabel } }
}
ORDER BY ?outletLabel ?personLabel
""",
    ),
    Example(
        "claims",
        "Claims by party",
        "What does each party claim, and when did it say so?",
        _prefixes("kgo", "rdfs")
        + """SELECT ?claimantLabel ?claim ?claimLabel ?date WHERE {
  ?claim a kgo:Claim ; kgo:claimant ?claimant .
  OPTIONAL { ?claimant rdfs:label ?claimantLabel }
  OPTIONAL { ?claim rdfs:label ?claimLabel }
  OPTIONAL { ?claim kgo:claimDate ?date }
}
ORDER BY ?claimantLabel ?date
""",
    ),
    Example(
        "timeline",
        "Timeline",
        "Which dated events does the article mention, in order?",
        _prefixes("kgo", "rdfs")
        + """SELECT ?when ?event ?label ?type WHERE {
  ?event a kgo:Event .
  { ?event kgo:date ?when } UNION { ?event kgo:startDate ?when } UNION { ?event kgo:year ?when }
  OPTIONAL { ?event rdfs:label ?label }
  OPTIONAL {
    ?event a ?type . FILTER(STRSTARTS(STR(?type), STR(kgo:)) && ?type != kgo:Event)
  }
}
ORDER BY STR(?when) ?label
""",
    ),
    Example(
        "derived",
        "Asserted or derived",
        "How many triples of each property are asserted by curators, and how many derived "
        "by reasoning? (Switch off 'include inferred' to query the asserted graph alone.)",
        _prefixes("kgo")
        + f"""SELECT ?property (SUM(?a) AS ?asserted) (SUM(?d) AS ?derived) WHERE {{
  {{ GRAPH <{ASSERTED_GRAPH}> {{ ?s ?property ?o }} BIND(1 AS ?a) BIND(0 AS ?d) }}
  UNION
  {{ GRAPH <{INFERRED_GRAPH}> {{ ?s ?property ?o }} BIND(0 AS ?a) BIND(1 AS ?d) }}
  FILTER(STRSTARTS(STR(?property), STR(kgo:)))
}}
GROUP BY ?property
ORDER BY DESC(?derived) ?property
""",
    ),
    Example(
        "quotes",
        "The quote behind a fact",
        "Who took part in which event, and which sentence of the article says so?",
        _prefixes("kgo", "rdfs", "prov")
        + """SELECT ?eventLabel ?participantLabel ?quote ?line WHERE {
  GRAPH ?evidence { ?event kgo:participant ?participant }
  ?evidence prov:value ?quote ; kgo:line ?line .
  OPTIONAL { ?event rdfs:label ?eventLabel }
  OPTIONAL { ?participant rdfs:label ?participantLabel }
}
ORDER BY ?line ?eventLabel
""",
    ),
    Example(
        "attributed",
        "Says who: attributed statements",
        "Which passages report what a party said or denied, rather than what the article states?",
        _prefixes("kgo", "rdfs", "prov")
        + """SELECT ?evidence ?stance ?whoLabel ?quote ?line WHERE {
  ?evidence a kgo:Evidence ; kgo:stance ?stance ; prov:wasAttributedTo ?who .
  FILTER(?stance != kgo:ArticleStatement && ?stance != kgo:ExternalSource)
  OPTIONAL { ?who rdfs:label ?whoLabel }
  OPTIONAL { ?evidence prov:value ?quote }
  OPTIONAL { ?evidence kgo:line ?line }
}
ORDER BY ?line
""",
    ),
    Example(
        "wikidata",
        "Links to Wikidata",
        "Which entities are linked to Wikidata items?",
        _prefixes("skos", "rdfs")
        + """SELECT ?entity ?label ?wikidata WHERE {
  ?entity skos:exactMatch ?wikidata .
  FILTER(STRSTARTS(STR(?wikidata), "http://www.wikidata.org/entity/"))
  OPTIONAL { ?entity rdfs:label ?label }
}
ORDER BY ?label
""",
    ),
    Example(
        "network",
        "Communication network (CONSTRUCT)",
        "The who-talked-to-whom network as RDF, for download or another tool.",
        _prefixes("kgo", "rdfs")
        + """CONSTRUCT {
  ?a kgo:communicatedWith ?b .
  ?a rdfs:label ?aLabel .
  ?b rdfs:label ?bLabel .
} WHERE {
  ?a kgo:communicatedWith ?b .
  OPTIONAL { ?a rdfs:label ?aLabel }
  OPTIONAL { ?b rdfs:label ?bLabel }
}
""",
    ),
]


def by_id(example_id: str) -> Example:
    """The example with this id (``KeyError`` if none)."""
    for example in EXAMPLES:
        if example.id == example_id:
            return example
    raise KeyError(example_id)
