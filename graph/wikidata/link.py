"""Links from our entities to Wikidata items: read, check, suggest, confirm, export.

The links live in ``graph/data/wikidata-links.trig``: one evidence graph
``kge:wikidata-links`` of ``kg:… skos:exactMatch wd:Q…`` triples, described in the file's
default graph as external (``kgo:stance kgo:ExternalSource``, ``dcterms:source
<https://www.wikidata.org/>``), with one ``rdf:Statement`` per link (``kgo:externalSource``,
date, comment) saying when and how it was made.

We use ``skos:exactMatch`` rather than ``owl:sameAs``: an OWL RL reasoner would copy every
triple of an ``owl:sameAs`` pair onto the other IRI, doubling the graph and merging our claims
with Wikidata's identity; ``skos:exactMatch`` says "the same thing" without that.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from karabakh_kg.graph.categories import hierarchy, ontology_hierarchy
from karabakh_kg.graph.files import write_atomic
from karabakh_kg.graph.prefixes import compact
from karabakh_kg.graph.wikidata.client import WikidataClient
from karabakh_kg.ontology import vocab

if TYPE_CHECKING:
    from karabakh_kg.graph.dataset import KnowledgeGraph

WD = str(vocab.WD)
WIKIDATA_SOURCE = "https://www.wikidata.org/"
LINKS_GRAPH = ox.NamedNode(str(vocab.KGE) + "wikidata-links")
LINKS_FILE_NAME = "wikidata-links.trig"

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS = "http://purl.org/dc/terms/"
XSD = "http://www.w3.org/2001/XMLSchema#"
EXACT_MATCH = ox.NamedNode(SKOS + "exactMatch")

QID_PATTERN = re.compile(r"^Q[1-9][0-9]*$")
DISAMBIGUATION = "Q4167410"


def expected_types() -> dict[str, tuple[str, ...]]:
    """What a Wikidata item of each of our kinds of entity may be an instance of, by kind.

    The ontology's correspondence (``kgo:wikidataKind``, ``skos:closeMatch`` and
    ``skos:narrowMatch`` to Wikidata classes). Subclasses count through ``wdt:P279*`` when
    the endpoint has the class hierarchy; the listed classes are accepted even where it has
    not (a small local endpoint).
    """
    return {kind: qids for kind, (_, qids) in ontology_hierarchy().wikidata_kinds.items()}


class LinkError(ValueError):
    """A link that cannot be made or a links file that is not as expected."""


@dataclass(frozen=True)
class Link:
    """One ``entity skos:exactMatch wd:QID`` link with when and how it was made."""

    entity: str
    qid: str
    date: date | None = None
    comment: str | None = None

    @property
    def item(self) -> str:
        """The Wikidata entity IRI."""
        return WD + self.qid


@dataclass
class EntityInfo:
    """What we know of one of our entities for matching: names and kind."""

    iri: str
    label: str
    alt_labels: list[str] = field(default_factory=list)
    category: str | None = None

    @property
    def names(self) -> list[str]:
        """The label then the alternative labels."""
        return [self.label, *self.alt_labels]


# --- identifiers --------------------------------------------------------------------------


def parse_qid(text: str) -> str:
    """``Q42`` from ``Q42``, ``wd:Q42`` or a Wikidata entity/page IRI; else :class:`LinkError`."""
    value = text.strip()
    for prefix in ("wd:", WD, "https://www.wikidata.org/entity/", "https://www.wikidata.org/wiki/"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
            break
    value = value.upper() if value[:1] in "qQ" else value
    if not QID_PATTERN.match(value):
        raise LinkError(f"not a Wikidata item identifier: {text!r} (expected Q followed by digits)")
    return value


def qid_of(iri: str) -> str | None:
    """The QID of a Wikidata entity IRI, or ``None``."""
    if iri.startswith(WD) and QID_PATTERN.match(iri[len(WD) :]):
        return iri[len(WD) :]
    return None


def links_file(data_dir: Path | None = None) -> Path:
    """The curated links file (in ``data_dir`` if given)."""
    return (data_dir or vocab.curated_data_dir()) / LINKS_FILE_NAME


# --- reading and writing the links file ------------------------------------------------------


def read_links(path: Path | None = None) -> list[Link]:
    """The links of a links file, sorted by entity; a missing file has none."""
    path = path or links_file()
    if not path.exists():
        return []
    try:
        quads = list(ox.parse(path=path, format=ox.RdfFormat.TRIG))
    except (SyntaxError, ValueError) as error:
        raise LinkError(f"{path}: {error}") from None
    notes: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    statements: dict[ox.NamedNode | ox.BlankNode, dict[str, str]] = defaultdict(dict)
    found: set[tuple[str, str]] = set()
    for quad in quads:
        if quad.graph_name == LINKS_GRAPH and quad.predicate == EXACT_MATCH:
            qid = qid_of(quad.object.value)
            if qid is None:
                raise LinkError(f"{path}: {quad.object} is not a Wikidata item IRI")
            found.add((quad.subject.value, qid))
        elif isinstance(quad.graph_name, ox.DefaultGraph) and isinstance(
            quad.subject, (ox.NamedNode, ox.BlankNode)
        ):
            statements[quad.subject][quad.predicate.value] = quad.object.value
    for values in statements.values():
        if values.get(RDF + "predicate") == EXACT_MATCH.value:
            qid = qid_of(values.get(RDF + "object", ""))
            if qid:
                notes[(values.get(RDF + "subject", ""), qid)] = values
    links = []
    for entity, qid in sorted(found):
        note = notes.get((entity, qid), {})
        when = note.get(DCTERMS + "date")
        links.append(
            Link(
                entity, qid, date.fromisoformat(when) if when else None, note.get(RDFS + "comment")
            )
        )
    return links


def _turtle_string(text: str) -> str:
    return str(ox.Literal(text))


def render_links(links: Sequence[Link], updated: date) -> str:
    """The TriG text of a links file: stable order, one link per line, one note per link."""
    ordered = sorted(links, key=lambda link: link.entity)
    prefixes = {
        "kg": str(vocab.KG),
        "kge": str(vocab.KGE),
        "kgo": str(vocab.KGO),
        "wd": WD,
        "skos": SKOS,
        "rdf": RDF,
        "rdfs": RDFS,
        "dcterms": DCTERMS,
        "xsd": XSD,
    }
    lines = [
        "# Links from our entities to Wikidata items. External: not from the seed article.",
        "# Edit with `karabakh-kg link confirm ENTITY QID`; see docs/wikidata.md.",
        "",
        *(f"@prefix {name}: <{iri}> ." for name, iri in prefixes.items()),
        "",
        "kge:wikidata-links {",
    ]
    lines += [f"    {_name(link.entity)} skos:exactMatch wd:{link.qid} ." for link in ordered]
    lines += [
        "}",
        "",
        "kge:wikidata-links a kgo:Evidence ;",
        "    kgo:stance kgo:ExternalSource ;",
        f"    dcterms:source <{WIKIDATA_SOURCE}> ;",
        f'    dcterms:date "{updated.isoformat()}"^^xsd:date ;',
        "    rdfs:comment "
        + _turtle_string(
            "Wikidata identifiers of our entities, external to the seed article, added only "
            "where the identity is certain; one rdf:Statement per link says when and how it "
            "was added."
        )
        + " .",
    ]
    for link in ordered:
        lines += [
            "",
            "[] a rdf:Statement ;",
            f"    rdf:subject {_name(link.entity)} ;",
            "    rdf:predicate skos:exactMatch ;",
            f"    rdf:object wd:{link.qid} ;",
            f"    kgo:externalSource <{WIKIDATA_SOURCE}> ;",
        ]
        if link.date:
            lines.append(f'    dcterms:date "{link.date.isoformat()}"^^xsd:date ;')
        lines.append(f"    rdfs:comment {_turtle_string(link.comment or 'External identifier.')} .")
    return "\n".join(lines) + "\n"


def _name(iri: str) -> str:
    base = str(vocab.KG)
    local = iri[len(base) :] if iri.startswith(base) else ""
    if local and re.fullmatch(r"[a-z0-9][a-z0-9-]*", local):
        return "kg:" + local
    return f"<{iri}>"


def write_links(links: Sequence[Link], path: Path, updated: date) -> None:
    """Write ``links`` to ``path`` atomically, then read it back to check it round-trips."""
    text = render_links(links, updated)
    path.parent.mkdir(parents=True, exist_ok=True)

    def reads_back(partial: Path) -> None:
        written = read_links(partial)
        if {(x.entity, x.qid) for x in written} != {(x.entity, x.qid) for x in links}:
            raise LinkError("the links file did not read back as written; nothing was changed")

    write_atomic(path, text, check=reads_back)


# --- our entities --------------------------------------------------------------------------


def entity_infos(kg: KnowledgeGraph) -> dict[str, EntityInfo]:
    """Our labelled entities (people, political entities, organisations, places) by IRI."""
    infos: dict[str, EntityInfo] = {}
    base = str(vocab.KG)
    for row in kg.query(
        f"""SELECT ?e ?label WHERE {{
            ?e rdfs:label ?label . FILTER(STRSTARTS(STR(?e), "{base}"))
            FILTER(LANG(?label) = "" || LANGMATCHES(LANG(?label), "en"))
        }} ORDER BY ?e ?label""",
        include_inferred=False,
    ):
        iri = row["e"].value
        if iri not in infos:
            infos[iri] = EntityInfo(iri, row["label"].value)
    for row in kg.query(
        f"""SELECT ?e ?alt WHERE {{
            ?e skos:altLabel ?alt . FILTER(STRSTARTS(STR(?e), "{base}")) }} ORDER BY ?e ?alt""",
        include_inferred=False,
    ):
        info = infos.get(row["e"].value)
        if info and row["alt"].value not in info.names:
            info.alt_labels.append(row["alt"].value)
    types: dict[str, set[str]] = defaultdict(set)
    for row in kg.query(
        f"""SELECT ?e ?type WHERE {{
            ?e a ?type . FILTER(STRSTARTS(STR(?e), "{base}") && ISIRI(?type)) }}""",
        include_inferred=False,
    ):
        types[row["e"].value].add(row["type"].value)
    ontology = hierarchy(kg)
    for iri, info in infos.items():
        info.category = ontology.wikidata_kind(types.get(iri, ()))
    return {iri: info for iri, info in infos.items() if info.category}


def linked_entities(kg: KnowledgeGraph) -> dict[str, str]:
    """Entity IRI → QID for every ``skos:exactMatch wd:…`` link in the loaded graph."""
    found: dict[str, str] = {}
    for row in kg.query(
        "SELECT ?e ?item WHERE { ?e skos:exactMatch ?item "
        f"FILTER(STRSTARTS(STR(?item), '{WD}') && STRSTARTS(STR(?e), '{vocab.KG}')) }}",
        include_inferred=False,
    ):
        qid = qid_of(row["item"].value)
        if qid:
            found[row["e"].value] = qid
    return found


def normalise(text: str) -> str:
    """Lower case, no diacritics, punctuation as spaces: for comparing names."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


def _compact(name: str) -> str:
    # "co operation" and "cooperation", "nagorno karabakh" and "nagornokarabakh" compare equal
    return name.replace(" ", "")


def names_fit(ours: Iterable[str], theirs: Iterable[str]) -> bool:
    """Whether some name of ours equals, or contains word for word, some name of theirs."""
    mine = {normalise(n) for n in ours} - {""}
    other = {normalise(n) for n in theirs} - {""}
    if mine & other or {_compact(n) for n in mine} & {_compact(n) for n in other}:
        return True
    return any(
        f" {a} " in f" {b} " or f" {b} " in f" {a} "
        for a in mine
        for b in other
        if min(len(a), len(b)) > 3
    )


# --- asking the endpoint -------------------------------------------------------------------


@dataclass
class ItemFacts:
    """What the endpoint says about one item: names, direct classes, redirect target."""

    qid: str
    labels: list[str] = field(default_factory=list)
    alt_labels: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    redirect: str | None = None
    sitelinks: int = 0

    @property
    def exists(self) -> bool:
        """Whether the endpoint knows the item at all."""
        return bool(self.labels or self.alt_labels or self.types or self.redirect)

    @property
    def label(self) -> str:
        """Its English label, or its QID."""
        return self.labels[0] if self.labels else self.qid


ITEM_QUERY = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX wdt: <http://www.wikidata.org/prop/direct/>
PREFIX wikibase: <http://wikiba.se/ontology#>
SELECT ?item ?key ?value WHERE {
  {values}
  { ?item rdfs:label ?value FILTER(LANG(?value) = "en") BIND("label" AS ?key) }
  UNION { ?item skos:altLabel ?value FILTER(LANG(?value) = "en") BIND("alt" AS ?key) }
  UNION { ?item wdt:P31 ?value BIND("type" AS ?key) }
  UNION { ?item owl:sameAs ?value BIND("redirect" AS ?key) }
  UNION { ?item wikibase:sitelinks ?value BIND("sitelinks" AS ?key) }
}"""

ANCESTOR_QUERY = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX wdt: <http://www.wikidata.org/prop/direct/>
PREFIX wd: <http://www.wikidata.org/entity/>
SELECT ?type ?typeLabel ?root WHERE {
  {values}
  OPTIONAL { ?type rdfs:label ?typeLabel FILTER(LANG(?typeLabel) = "en") }
  OPTIONAL { VALUES ?root { {roots} } ?type wdt:P279* ?root }
}"""


def item_facts(client: WikidataClient, qids: Iterable[str]) -> dict[str, ItemFacts]:
    """Labels, classes, redirect and sitelinks of ``qids``, in batched queries."""
    facts = {qid: ItemFacts(qid) for qid in qids}
    rows = client.select_values(ITEM_QUERY, "item", [ox.NamedNode(WD + q) for q in facts])
    for row in rows:
        qid = qid_of(row["item"].value) if "item" in row else None
        if qid not in facts or "key" not in row or "value" not in row:
            continue
        item, key, value = facts[qid], row["key"].value, row["value"].value
        if key == "label" and value not in item.labels:
            item.labels.append(value)
        elif key == "alt" and value not in item.alt_labels:
            item.alt_labels.append(value)
        elif key == "type" and qid_of(value) and qid_of(value) not in item.types:
            item.types.append(qid_of(value) or value)
        elif key == "redirect" and qid_of(value) and qid_of(value) != qid:
            item.redirect = qid_of(value)
        elif key == "sitelinks" and value.isdigit():
            item.sitelinks = int(value)
    return facts


@dataclass
class TypeInfo:
    """A Wikidata class: its label and which of our expected root classes it falls under."""

    label: str
    roots: set[str] = field(default_factory=set)


def type_infos(client: WikidataClient, types: Iterable[str]) -> dict[str, TypeInfo]:
    """Labels of ``types`` and which expected classes each is (a subclass of)."""
    wanted = sorted(set(types))
    infos = {t: TypeInfo(t) for t in wanted}
    if not wanted:
        return infos
    roots = sorted({q for qs in expected_types().values() for q in qs})
    template = ANCESTOR_QUERY.replace("{roots}", " ".join(f"wd:{q}" for q in roots))
    for row in client.select_values(template, "type", [ox.NamedNode(WD + t) for t in wanted]):
        qid = qid_of(row["type"].value) if "type" in row else None
        if qid not in infos:
            continue
        if "typeLabel" in row:
            infos[qid].label = row["typeLabel"].value
        root = qid_of(row["root"].value) if "root" in row else None
        if root:
            infos[qid].roots.add(root)
    for qid, info in infos.items():
        info.roots.add(qid)  # a class is its own (zero-length P279*) ancestor
    return infos


def type_fits(category: str | None, types: Iterable[str], infos: dict[str, TypeInfo]) -> bool:
    """Whether an item of classes ``types`` may be one of our entities of ``category``."""
    if category is None:
        return True
    expected = set(expected_types()[category])
    return any(expected & (infos[t].roots if t in infos else {t}) for t in types)


# --- link check ----------------------------------------------------------------------------


@dataclass
class LinkStatus:
    """The verdict on one link: ``ok``, ``label-mismatch``, ``type-mismatch``, ``missing``,
    ``redirected`` or ``unknown-entity``."""

    entity: str
    qid: str
    status: str
    detail: str = ""
    label: str = ""

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready dictionary."""
        return {
            "entity": self.entity,
            "qid": self.qid,
            "status": self.status,
            "detail": self.detail,
            "label": self.label,
        }


@dataclass
class CheckReport:
    """Every link's status and the endpoint asked."""

    endpoint: str
    statuses: list[LinkStatus]

    @property
    def problems(self) -> list[LinkStatus]:
        """The links that are not ``ok``."""
        return [s for s in self.statuses if s.status != "ok"]


def check(
    kg: KnowledgeGraph, client: WikidataClient, links: Sequence[Link] | None = None
) -> CheckReport:
    """Ask the endpoint whether each linked item's label and class fit our entity."""
    if links is None:
        links = [Link(e, q) for e, q in sorted(linked_entities(kg).items())]
    infos = entity_infos(kg)
    facts = item_facts(client, {link.qid for link in links})
    classes = type_infos(client, {t for f in facts.values() for t in f.types})
    statuses = []
    for link in links:
        info, item = infos.get(link.entity), facts[link.qid]
        ours = info.label if info else compact(link.entity)
        if info is None:
            status = LinkStatus(
                link.entity, link.qid, "unknown-entity", "not a labelled entity of ours"
            )
        elif not item.exists:
            status = LinkStatus(
                link.entity, link.qid, "missing", f"the endpoint has no item {link.qid}"
            )
        elif item.redirect:
            status = LinkStatus(
                link.entity,
                link.qid,
                "redirected",
                f"{link.qid} redirects to {item.redirect}: "
                f"run `karabakh-kg link confirm {compact(link.entity)} {item.redirect} --replace`",
            )
        elif not type_fits(info.category, item.types, classes):
            found = ", ".join(f"{t} ({classes[t].label})" for t in item.types) or "no class"
            expected = ", ".join(expected_types()[info.category or ""][:3])
            status = LinkStatus(
                link.entity,
                link.qid,
                "type-mismatch",
                f"our {info.category} is instance of {found} there; "
                f"expected {expected} or a subclass",
            )
        elif not names_fit(info.names, item.labels + item.alt_labels):
            status = LinkStatus(
                link.entity,
                link.qid,
                "label-mismatch",
                f"our {ours!r} vs their {item.label!r}",
            )
        else:
            status = LinkStatus(link.entity, link.qid, "ok")
        status.label = ours
        statuses.append(status)
    return CheckReport(client.endpoint, statuses)


# --- link suggest --------------------------------------------------------------------------

SUGGEST_QUERY = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX wdt: <http://www.wikidata.org/prop/direct/>
PREFIX wikibase: <http://wikiba.se/ontology#>
SELECT ?text ?item ?how ?type ?sitelinks WHERE {
  {values}
  { ?item rdfs:label ?text BIND("label" AS ?how) }
  UNION { ?item skos:altLabel ?text BIND("alt" AS ?how) }
  OPTIONAL { ?item wdt:P31 ?type }
  OPTIONAL { ?item wikibase:sitelinks ?sitelinks }
}"""


@dataclass
class Candidate:
    """A Wikidata item that may be our entity, with its score and the reasons for it."""

    qid: str
    label: str
    score: float
    reasons: list[str]
    types: list[str]

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dictionary."""
        return {
            "qid": self.qid,
            "label": self.label,
            "score": round(self.score, 2),
            "reasons": self.reasons,
            "types": self.types,
        }


@dataclass
class Suggestion:
    """Ranked candidates for one of our entities without a link."""

    entity: str
    label: str
    category: str | None
    candidates: list[Candidate]

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dictionary."""
        return {
            "entity": self.entity,
            "label": self.label,
            "category": self.category,
            "candidates": [c.to_dict() for c in self.candidates],
        }


def suggest(
    kg: KnowledgeGraph,
    client: WikidataClient,
    entities: Sequence[str] | None = None,
    limit: int = 5,
) -> list[Suggestion]:
    """Candidate items, by exact English label or alias and by class, for unlinked entities."""
    infos = entity_infos(kg)
    linked = linked_entities(kg)
    if entities is None:
        chosen = [info for iri, info in sorted(infos.items()) if iri not in linked]
    else:
        missing = [e for e in entities if e not in infos]
        if missing:
            raise LinkError(f"not a labelled entity of ours: {', '.join(map(compact, missing))}")
        chosen = [infos[e] for e in entities]
    texts: dict[str, set[str]] = defaultdict(set)  # name → entities that carry it
    for info in chosen:
        for name in info.names:
            texts[name].add(info.iri)
    rows = client.select_values(
        SUGGEST_QUERY, "text", [ox.Literal(t, language="en") for t in sorted(texts)]
    )
    hits: dict[str, dict[str, _Hit]] = defaultdict(dict)  # entity → qid → hit
    for row in rows:
        qid = qid_of(row["item"].value) if "item" in row else None
        if not qid or "text" not in row:
            continue
        for iri in texts.get(row["text"].value, ()):
            hit = hits[iri].setdefault(qid, _Hit())
            hit.names.add((row["text"].value, row["how"].value if "how" in row else "label"))
            if "type" in row and qid_of(row["type"].value):
                hit.types.add(qid_of(row["type"].value) or "")
            if "sitelinks" in row and row["sitelinks"].value.isdigit():
                hit.sitelinks = int(row["sitelinks"].value)
    classes = type_infos(client, {t for h in hits.values() for x in h.values() for t in x.types})
    labels = item_facts(client, {q for h in hits.values() for q in h}) if hits else {}
    result = []
    for info in chosen:
        ranked = [
            _rank(info, qid, hit, classes, labels.get(qid))
            for qid, hit in hits.get(info.iri, {}).items()
        ]
        ranked.sort(key=lambda c: (-c.score, int(c.qid[1:])))
        result.append(Suggestion(info.iri, info.label, info.category, ranked[:limit]))
    return result


@dataclass
class _Hit:
    names: set[tuple[str, str]] = field(default_factory=set)
    types: set[str] = field(default_factory=set)
    sitelinks: int = 0


def _rank(
    info: EntityInfo, qid: str, hit: _Hit, classes: dict[str, TypeInfo], facts: ItemFacts | None
) -> Candidate:
    score: float = 0.0
    reasons: list[str] = []
    if any(how == "label" and name == info.label for name, how in hit.names):
        score, reasons = score + 3, [*reasons, "label equals ours"]
    elif any(how == "label" for _, how in hit.names):
        score, reasons = score + 2, [*reasons, "label equals one of our alternative labels"]
    else:
        score, reasons = score + 1, [*reasons, "alias equals one of our names"]
    if DISAMBIGUATION in hit.types:
        score, reasons = score - 10, [*reasons, "disambiguation page"]
    elif type_fits(info.category, hit.types, classes) and hit.types:
        score, reasons = score + 5, [*reasons, f"class fits our {info.category}"]
    else:
        score, reasons = score - 2, [*reasons, f"class does not fit our {info.category}"]
    if hit.sitelinks:
        score += math.log10(1 + hit.sitelinks)
        reasons.append(f"sitelinks: {hit.sitelinks}")
    label = facts.label if facts else qid
    return Candidate(qid, label, score, reasons, sorted(hit.types, key=lambda t: int(t[1:])))


# --- link confirm --------------------------------------------------------------------------


def confirm(
    kg: KnowledgeGraph,
    entity: str,
    qid: str,
    *,
    path: Path | None = None,
    today: date | None = None,
    client: WikidataClient | None = None,
    replace: bool = False,
    comment: str | None = None,
) -> Link:
    """Write ``entity skos:exactMatch wd:qid`` to the links file, after checking it.

    With a ``client`` the item must exist there, must not be a redirect and its class must fit
    our entity's kind. Raises :class:`LinkError` naming the problem; the file is then untouched.
    """
    path = path or links_file()
    qid = parse_qid(qid)
    infos = entity_infos(kg)
    if entity not in infos:
        raise LinkError(
            f"{compact(entity)} is not a labelled person, state, organisation or place of ours"
        )
    links = read_links(path)
    for link in links:
        if link.entity == entity and link.qid == qid:
            raise LinkError(f"{compact(entity)} is already linked to {qid}")
        if link.entity == entity and not replace:
            raise LinkError(
                f"{compact(entity)} is already linked to {link.qid}; add --replace to change it"
            )
        if link.qid == qid and link.entity != entity:
            raise LinkError(f"{qid} is already linked to {compact(link.entity)}")
    if client is not None:
        item = item_facts(client, [qid])[qid]
        if not item.exists:
            raise LinkError(f"{client.endpoint} has no item {qid}")
        if item.redirect:
            raise LinkError(f"{qid} redirects to {item.redirect}; link {item.redirect} instead")
        classes = type_infos(client, item.types)
        category = infos[entity].category
        if not type_fits(category, item.types, classes):
            raise LinkError(f"{qid} ({item.label}) is not of a class that fits our {category}")
    today = today or date.today()
    note = comment or "Confirmed by a curator from `karabakh-kg link suggest` candidates."
    kept = [link for link in links if link.entity != entity]
    new = Link(entity, qid, today, note)
    write_links([*kept, new], path, today)
    return new


# --- export --------------------------------------------------------------------------------


def mapping_csv(links: Sequence[Link], labels: dict[str, str]) -> str:
    """A CSV of ``iri,label,qid,wikidata_iri`` rows, one per link."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["iri", "label", "qid", "wikidata_iri"])
    for link in sorted(links, key=lambda x: x.entity):
        writer.writerow([link.entity, labels.get(link.entity, ""), link.qid, link.item])
    return out.getvalue()


def quickstatements(links: Sequence[Link], property_id: str = "P973") -> str:
    """QuickStatements (version 1) commands adding our IRI to each item.

    The default ``P973`` ("described at URL") takes a URL value; a reviewer pastes these
    into the QuickStatements tool only after checking them, never automatically.
    """
    if not re.fullmatch(r"P[1-9][0-9]*", property_id):
        raise LinkError(f"not a Wikidata property identifier: {property_id!r}")
    rows = [
        f'{link.qid}\t{property_id}\t"{link.entity}"'
        for link in sorted(links, key=lambda x: (int(x.qid[1:]), x.entity))
    ]
    return "\n".join(rows) + ("\n" if rows else "")
