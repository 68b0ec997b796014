"""Validate the ontology and the curated data: one structured report of every problem.

Checks, in order:

1. every file parses (a syntax error or an undeclared prefix names the file and line);
2. the evidence model: every evidence named graph has metadata in the file's default graph and
   vice versa; every ``prov:value`` is an exact substring of the seed and its ``kgo:line`` is
   the line where it occurs (the external-source exception of ``kge:wikidata-links`` aside);
3. SHACL (pyshacl) against ``ontology/shapes.ttl``;
4. attribution: the ``kgs:EvidenceCheck`` SPARQL queries of ``shapes.ttl`` over the evidence
   graphs (who says each triple, one voice per unit, one-sided reports alleged, places
   located by their quote, no dates in IRIs; docs/curation.md);
5. logical consistency: the contradictions that the reasoner's ``check_consistency`` finds
   in the closure.

Problems name the file and the line of the TriG file where the offending term or quote is
written, so a curator can jump to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from karabakh_kg.graph import quotes
from karabakh_kg.graph.dataset import (
    ASSERTED,
    ONTOLOGY,
    PROVENANCE,
    KnowledgeGraph,
    content_hash,
    curated_files,
)
from karabakh_kg.graph.prefixes import turtle
from karabakh_kg.ontology import vocab

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
PROV_VALUE = ox.NamedNode(str(vocab.PROV) + "value")
KGO_LINE = ox.NamedNode(str(vocab.KGO) + "line")
KGO_EVIDENCE = ox.NamedNode(str(vocab.KGO) + "Evidence")
KGO_STANCE = ox.NamedNode(str(vocab.KGO) + "stance")
KGO_EXTERNAL = ox.NamedNode(str(vocab.KGO) + "ExternalSource")
DCTERMS_SOURCE = ox.NamedNode("http://purl.org/dc/terms/source")


@dataclass(frozen=True)
class Problem:
    """One problem found in one file."""

    file: str
    line: int | None
    kind: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}: {prefix}{self.kind}: {self.message}"


@dataclass
class ValidationReport:
    """What :func:`validate` checked and what it found."""

    files: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    triples: int = 0
    evidence_units: int = 0
    quotes_checked: int = 0
    checks: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """Problems that make the data invalid."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Problems worth a look that do not make the data invalid."""
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        """True when no error was found."""
        return not self.errors

    def summary(self) -> str:
        """One line saying what was checked and the outcome."""
        verdict = "valid" if self.ok else f"{len(self.errors)} error(s)"
        extra = f", {len(self.warnings)} warning(s)" if self.warnings else ""
        return (
            f"{verdict}{extra}: {len(self.files)} files, {self.triples} triples, "
            f"{self.evidence_units} evidence units, {self.quotes_checked} quotes; "
            f"checks: {', '.join(self.checks)}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form of the report."""
        return {
            "ok": self.ok,
            "files": self.files,
            "triples": self.triples,
            "evidence_units": self.evidence_units,
            "quotes_checked": self.quotes_checked,
            "checks": self.checks,
            "problems": [asdict(p) for p in self.problems],
        }


# --- where terms are written --------------------------------------------------------------

_PREFIX_DECL = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([\w.-]*):\s*<([^>]*)>", re.I | re.M)


@dataclass
class SourceFile:
    """The text of one RDF file, to find the line where a term or literal is written."""

    path: Path
    text: str
    prefixes: dict[str, str]

    @classmethod
    def read(cls, path: Path) -> SourceFile:
        text = path.read_text(encoding="utf-8", errors="replace")
        return cls(path, text, {m[1]: m[2] for m in _PREFIX_DECL.finditer(text)})

    def _line_at(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1

    def spellings(self, iri: str) -> list[str]:
        """The ways ``iri`` may be written in this file: full IRI and CURIEs."""
        forms = [f"<{iri}>"]
        for name, base in self.prefixes.items():
            if base and iri.startswith(base) and len(iri) > len(base):
                forms.append(f"{name}:{iri[len(base) :]}")
        return forms

    def term_line(self, iri: str, *, as_subject: bool = True) -> int | None:
        """The first line where ``iri`` is written, preferring a line it starts."""
        first: int | None = None
        for form in self.spellings(iri):
            pattern = re.compile(r"(?<![\w:/.-])" + re.escape(form) + r"(?![\w:-]|\.[\w-])")
            for match in pattern.finditer(self.text):
                line = self._line_at(match.start())
                starts = self.text[self.text.rfind("\n", 0, match.start()) + 1 : match.start()]
                if as_subject and not starts.strip():
                    return line
                if first is None or line < first:
                    first = line
        return first

    def literal_line(self, value: str) -> int | None:
        """The line where a literal with this lexical value is written, if findable."""
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        for needle in (value, escaped):
            head = needle.split("\n", 1)[0][:80]
            if head:
                at = self.text.find(head)
                if at != -1:
                    return self._line_at(at)
        return None


class SourceIndex:
    """Finds the curated file and line where a resource is described."""

    def __init__(self, sources: Iterable[SourceFile]) -> None:
        self.sources = list(sources)

    def locate(self, iri: str) -> tuple[str, int | None]:
        """The file and line where ``iri`` is first written as a subject (else anywhere)."""
        fallback: tuple[str, int | None] | None = None
        for source in self.sources:
            line = source.term_line(iri)
            if line is None:
                continue
            text_line = source.text.split("\n")[line - 1]
            if any(text_line.lstrip().startswith(f) for f in source.spellings(iri)):
                return str(source.path), line
            fallback = fallback or (str(source.path), line)
        if fallback:
            return fallback
        return (str(self.sources[0].path) if self.sources else "?", None)


# --- the checks ----------------------------------------------------------------------------


def _syntax_problem(path: Path, error: Exception) -> Problem:
    line: int | None = getattr(error, "lineno", None)
    message = str(error.args[0]) if error.args else str(error)
    return Problem(str(path), line, "syntax", message)


def _parse(path: Path, report: ValidationReport) -> list[ox.Quad] | None:
    report.files.append(str(path))
    if not path.exists():
        report.problems.append(Problem(str(path), None, "missing", "file does not exist"))
        return None
    try:
        return list(ox.parse(path=path))
    except (SyntaxError, ValueError) as error:
        report.problems.append(_syntax_problem(path, error))
        return None
    except OSError as error:
        report.problems.append(Problem(str(path), None, "missing", str(error)))
        return None


def _ntriples(store: ox.Store, graphs: Iterable[ox.NamedNode]) -> bytes:
    """The triples of ``graphs`` as one N-Triples document (for rdflib-based tools)."""
    triples = [
        ox.Triple(q.subject, q.predicate, q.object)
        for g in graphs
        for q in store.quads_for_pattern(None, None, None, g)
    ]
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""


def _term(term: object) -> str:
    if isinstance(term, ox.NamedNode):
        return turtle(term.value)
    return str(term)


def check_evidence(
    path: Path, quads: list[ox.Quad], source: SourceFile, seed: str
) -> tuple[list[Problem], int, int]:
    """Evidence model and quotes of one curated file: (problems, evidence units, quotes)."""
    problems: list[Problem] = []
    file = str(path)
    graphs: set[ox.NamedNode | ox.BlankNode] = set()
    meta: dict[ox.NamedNode | ox.BlankNode, list[ox.Quad]] = {}
    for quad in quads:
        if isinstance(quad.graph_name, ox.DefaultGraph):
            if isinstance(quad.subject, ox.NamedNode | ox.BlankNode):
                meta.setdefault(quad.subject, []).append(quad)
        else:
            graphs.add(quad.graph_name)
    evidence = {
        s
        for s, qs in meta.items()
        if any(q.predicate == RDF_TYPE and q.object == KGO_EVIDENCE for q in qs)
    }
    for graph in sorted(graphs - evidence, key=str):
        line = source.term_line(graph.value) if isinstance(graph, ox.NamedNode) else None
        problems.append(
            Problem(
                file,
                line,
                "evidence",
                f"evidence graph {_term(graph)} has no metadata "
                "(no 'a kgo:Evidence' with its quote in the default graph)",
            )
        )
    for node in sorted(evidence - graphs, key=str):
        line = source.term_line(node.value) if isinstance(node, ox.NamedNode) else None
        problems.append(
            Problem(
                file,
                line,
                "evidence",
                f"evidence {_term(node)} has metadata but no named graph of triples",
            )
        )
    quote_count = 0
    for node in sorted(evidence, key=str):
        node_line = source.term_line(node.value) if isinstance(node, ox.NamedNode) else None
        values = [q.object for q in meta[node] if q.predicate == PROV_VALUE]
        lines = [q.object for q in meta[node] if q.predicate == KGO_LINE]
        external = any(q.predicate == KGO_STANCE and q.object == KGO_EXTERNAL for q in meta[node])
        if external:
            if not any(q.predicate == DCTERMS_SOURCE for q in meta[node]):
                problems.append(
                    Problem(
                        file,
                        node_line,
                        "evidence",
                        f"{_term(node)} is an external source without dcterms:source",
                    )
                )
            continue
        if not values:
            problems.append(
                Problem(file, node_line, "quote", f"{_term(node)} has no prov:value quote")
            )
            continue
        if not lines:
            problems.append(Problem(file, node_line, "line", f"{_term(node)} has no kgo:line"))
        declared: set[int] = set()
        for literal in lines:
            try:
                declared.add(int(literal.value))  # type: ignore[union-attr]
            except (AttributeError, ValueError):
                problems.append(
                    Problem(
                        file,
                        node_line,
                        "line",
                        f"{_term(node)} has a kgo:line that is not a number: {literal}",
                    )
                )
        for value in values:
            quote_count += 1
            text = value.value if isinstance(value, ox.Literal) else str(value)
            where = source.literal_line(text) or node_line
            found = quotes.quote_lines(text, seed)
            if not found:
                hint = quotes.near_miss(text, seed)
                problems.append(
                    Problem(
                        file,
                        where,
                        "quote",
                        f"quote of {_term(node)} is not in "
                        f"the seed: {text[:70]!r}" + (f" ({hint})" if hint else ""),
                    )
                )
            elif declared and not declared & set(found):
                problems.append(
                    Problem(
                        file,
                        where,
                        "line",
                        f"quote of {_term(node)} is on seed "
                        f"line {', '.join(map(str, found))}, but kgo:line says "
                        f"{', '.join(map(str, sorted(declared)))}",
                    )
                )
    return problems, len(evidence), quote_count


def check_shacl(data_nt: bytes, ontology: Path, shapes: Path, index: SourceIndex) -> list[Problem]:
    """SHACL validation with pyshacl; one problem per violated constraint and focus node."""
    import pyshacl
    from rdflib import Graph, Namespace

    sh = Namespace("http://www.w3.org/ns/shacl#")
    data = Graph().parse(data=data_nt, format="nt")
    shapes_graph = Graph().parse(shapes, format="turtle")
    ont_graph = Graph().parse(ontology, format="turtle")
    _conforms, results, _text = pyshacl.validate(
        data,
        shacl_graph=shapes_graph,
        ont_graph=ont_graph,
        inference="none",
        advanced=True,
        allow_warnings=True,
    )
    problems: list[Problem] = []
    assert isinstance(results, Graph)
    for result in results.subjects(predicate=None, object=sh.ValidationResult):
        focus = results.value(result, sh.focusNode)
        message = results.value(result, sh.resultMessage)
        path = results.value(result, sh.resultPath)
        value = results.value(result, sh.value)
        severity = results.value(result, sh.resultSeverity)
        focus_text = turtle(str(focus)) if focus is not None else "?"
        file, line = index.locate(str(focus)) if focus is not None else ("?", None)
        detail = str(message) if message is not None else "constraint violated"
        if path is not None:
            detail += f" (path {turtle(str(path))})"
        if value is not None and value != focus:
            detail += f" (value {value.n3() if hasattr(value, 'n3') else value})"
        level = (
            "error"
            if severity in (None, sh.Violation)
            else str(severity).rsplit("#", 1)[-1].lower()
        )
        problems.append(Problem(file, line, "shacl", f"{focus_text}: {detail}", level))
    return sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.message))


KGS_EVIDENCE_CHECK = ox.NamedNode("https://w3id.org/karabakh-kg/shapes#EvidenceCheck")
SH_SELECT = ox.NamedNode("http://www.w3.org/ns/shacl#select")
SH_MESSAGE = ox.NamedNode("http://www.w3.org/ns/shacl#message")
_TEMPLATE_VARIABLE = re.compile(r"\{\?(\w+)\}")


def evidence_checks(shapes: Path) -> list[tuple[ox.NamedNode, str, str]]:
    """Every ``kgs:EvidenceCheck`` of the shapes file: (check, message template, SELECT)."""
    store = ox.Store()
    store.load(path=shapes, format=ox.RdfFormat.TURTLE)
    checks = []
    for quad in store.quads_for_pattern(None, RDF_TYPE, KGS_EVIDENCE_CHECK, None):
        check = quad.subject
        select = next(store.quads_for_pattern(check, SH_SELECT, None, None), None)
        message = next(store.quads_for_pattern(check, SH_MESSAGE, None, None), None)
        if (
            isinstance(check, ox.NamedNode)
            and select is not None
            and isinstance(select.object, ox.Literal)
            and message is not None
            and isinstance(message.object, ox.Literal)
        ):
            checks.append((check, message.object.value, select.object.value))
    return sorted(checks, key=lambda c: c[0].value)


def check_attribution(kg: KnowledgeGraph, shapes: Path, index: SourceIndex) -> list[Problem]:
    """Who says so, per evidence unit: the SPARQL checks of ``shapes.ttl`` over named graphs.

    SHACL validates one data graph, and attribution is a property of the named graph that
    holds a triple, so these rules are SELECT queries (``kgs:EvidenceCheck``); each answer
    is one problem, placed at the line where its evidence unit is written.
    """
    problems = []
    for _check, template, select in evidence_checks(shapes):
        result = kg.query(select, include_inferred=False)
        assert isinstance(result, ox.QuerySolutions)
        for row in result:
            evidence = row["evidence"]
            if not isinstance(evidence, ox.NamedNode):
                continue

            def value(match: re.Match[str], row: ox.QuerySolution = row) -> str:
                term = row[match.group(1)]
                return _term(term) if term is not None else "?"

            file, line = index.locate(evidence.value)
            message = _TEMPLATE_VARIABLE.sub(value, template)
            problems.append(Problem(file, line, "attribution", f"{_term(evidence)}: {message}"))
    return sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.message))


def check_consistency(kg: KnowledgeGraph, index: SourceIndex) -> tuple[list[Problem], str]:
    """The reasoner's contradictions, each placed at the resource's line; and the check's name."""
    from karabakh_kg.graph.reasoning import consistency

    # One problem per resource: a wrong type often breaks several axioms at once.
    by_resource: dict[str, list[str]] = {}
    for found in consistency.check_consistency(kg):
        messages = by_resource.setdefault(found.resource, [])
        if found.message not in messages:
            messages.append(found.message)
    problems = []
    for resource, messages in by_resource.items():
        file, line = index.locate(resource) if resource else ("?", None)
        text = messages[0] + "".join(f"; also {m}" for m in messages[1:])
        problems.append(Problem(file, line, "consistency", text))
    return problems, "consistency (reasoner)"


def validate(
    data_dir: Path | None = None,
    *,
    shapes: Path | None = None,
    ontology: Path | None = None,
    consistency: bool = True,
) -> ValidationReport:
    """Validate the ontology and the curated files of ``data_dir``; never raises on bad data."""
    report = ValidationReport()
    ontology_path = ontology or vocab.ontology_file()
    shapes_path = shapes or vocab.shapes_file()
    seed = quotes.seed_text()

    ontology_quads = _parse(ontology_path, report)
    rules_quads: list[ox.Quad] | None = []
    if vocab.rules_file().exists():
        rules_quads = _parse(vocab.rules_file(), report)
    shapes_ok = _parse(shapes_path, report) is not None
    report.checks.append("parse")

    folder = data_dir or vocab.curated_data_dir()
    if not folder.is_dir():
        report.problems.append(Problem(str(folder), None, "missing", "data folder does not exist"))
        return report
    files = curated_files(folder)
    if not files:
        report.problems.append(Problem(str(folder), None, "missing", "no .trig or .ttl files"))
    store = ox.Store()
    kg = KnowledgeGraph(store=store, version=content_hash(files), files=files)
    for quad in [*(ontology_quads or []), *(rules_quads or [])]:
        store.add(ox.Quad(quad.subject, quad.predicate, quad.object, ONTOLOGY))

    sources: list[SourceFile] = []
    seen_graphs: dict[str, str] = {}
    for path in files:
        quads = _parse(path, report)
        source = SourceFile.read(path)
        sources.append(source)
        if quads is None:
            continue
        for quad in quads:
            if isinstance(quad.graph_name, ox.DefaultGraph):
                store.add(ox.Quad(quad.subject, quad.predicate, quad.object, PROVENANCE))
            else:
                store.add(quad)
                store.add(ox.Quad(quad.subject, quad.predicate, quad.object, ASSERTED))
        for graph in {q.graph_name for q in quads if isinstance(q.graph_name, ox.NamedNode)}:
            other = seen_graphs.setdefault(graph.value, str(path))
            if other != str(path):
                report.problems.append(
                    Problem(
                        str(path),
                        source.term_line(graph.value),
                        "evidence",
                        f"evidence graph {_term(graph)} is also defined in {other}",
                    )
                )
        problems, units, quote_count = check_evidence(path, quads, source, seed)
        report.problems.extend(problems)
        report.evidence_units += units
        report.quotes_checked += quote_count
    report.checks.append("evidence and quotes")
    report.triples = len(store)
    index = SourceIndex(sources)

    data_nt = _ntriples(store, (ASSERTED, PROVENANCE))
    if shapes_ok and ontology_quads is not None:
        report.problems.extend(check_shacl(data_nt, ontology_path, shapes_path, index))
        report.checks.append("shacl")
        report.problems.extend(check_attribution(kg, shapes_path, index))
        report.checks.append("attribution")
    if consistency and ontology_quads is not None:
        problems, name = check_consistency(kg, index)
        report.problems.extend(problems)
        report.checks.append(name)
    return report
