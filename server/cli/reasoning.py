"""Reasoning commands: ``reason`` (what is derived) and ``explain`` (why a triple holds)."""

from __future__ import annotations

import json
import resource
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from karabakh_kg.graph import (
    ASSERTED,
    ONTOLOGY,
    DataError,
    KnowledgeGraph,
    RuleError,
    Term,
    check_consistency,
    closure,
    contradictions,
    explain,
    formats,
    load_graph,
    rdf_files,
    reasoning,
    shorten,
)
from karabakh_kg.ontology import vocab
from karabakh_kg.server import terms
from karabakh_kg.server.cli.errors import check_length, fail
from karabakh_kg.server.cli.rdf_files import (
    NoRulesOption,
    OntologyOption,
    describe_ontology,
    load_data_files,
    read_data_files,
)


class Format(StrEnum):
    """Output formats."""

    text = "text"
    json = "json"


DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder of curated TriG files (default: the installed data).",
        file_okay=False,
    ),
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="text or json.")]


def _load(data_dir: Path | None) -> KnowledgeGraph:
    if data_dir is not None and not data_dir.is_dir():
        fail(f"data folder {data_dir} does not exist")
    try:
        return load_graph(data_dir, reason=False)
    except DataError as error:
        fail(str(error))
    except FileNotFoundError as error:
        fail(f"missing file: {error.filename or error}")


def _materialize(kg: KnowledgeGraph) -> reasoning.ReasoningReport:
    try:
        return reasoning.materialize(kg)
    except RuleError as error:
        fail(f"bad domain rule in {vocab.rules_file().name}: {error}")


def resolve_term(kg: KnowledgeGraph, text: str, *, predicate: bool = False) -> Term:
    """The term a user typed (see :mod:`karabakh_kg.server.terms`), or a one-line exit."""
    from karabakh_kg.server.web.common import MAX_TERM_LENGTH

    try:
        return terms.resolve_term(
            kg, check_length(text, "term", MAX_TERM_LENGTH), predicate=predicate
        )
    except terms.TermError as error:
        fail(str(error))


MAX_CONTRADICTIONS_LISTED = 20
"""Contradictions listed by ``reason FILE`` (all are counted); data with thousands of them
needs its modelling looked at, not a longer list."""


def _check_closure_file(path: Path, inputs: list[Path]) -> None:
    """Fail before any work when the closure could not be written to ``path``."""
    if path.is_dir():
        fail(f"--output {path} is a folder; name the file to write")
    try:
        formats.for_file(path)
    except ValueError as error:
        fail(f"--output {error}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        fail(f"--output {path}: folder {folder} does not exist")
    if any(path.resolve() == p.resolve() for p in inputs):
        fail(f"--output {path} is one of the input files; write the closure elsewhere")


def _peak_memory_mib() -> float:
    """The process's peak resident memory so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def _reason_files(
    files: list[Path],
    ontologies: list[Path] | None,
    rules: bool,
    closure_file: Path | None,
    inferred_only: bool,
    output: Format,
    consistency: bool,
) -> None:
    """``reason FILE...``: the closure of the files, its report, and the file if asked."""
    dataset = False  # whether the closure is written with the input's named graphs
    if closure_file is not None:
        _check_closure_file(closure_file, [*files, *(ontologies or [])])
        dataset = formats.for_file(closure_file).kind == formats.DATASET and not inferred_only
    start = time.perf_counter()
    # the rules are read by closure.compute, so that their own triples stay out of the closure
    encoded = None
    if dataset:  # the input's named graphs are written back from a store
        kg = load_data_files(files, ontologies, rules=False, keep_graphs=True)
        sizes = {
            "data_triples": rdf_files.graph_size(kg.store, ASSERTED),
            "ontology_triples": rdf_files.graph_size(kg.store, ONTOLOGY),
        }
    else:  # no store: a released one would leave its heap with the process
        encoded = read_data_files(files, ontologies)
        kg = encoded.kg
        sizes = {
            "data_triples": encoded.data_triples,
            "ontology_triples": encoded.ontology_triples,
        }
    loaded = time.perf_counter()
    cpu_before = time.process_time()  # benchmarks on a shared machine compare CPU time
    try:
        r = closure.compute(kg, rules=rules, encoded=encoded)
    except RuleError as error:
        fail(f"bad domain rule in {vocab.rules_file().name}: {error}")
    reasoned = time.perf_counter()
    reasoning_cpu = time.process_time() - cpu_before
    written = None
    if closure_file is not None:
        try:
            written = closure.write(kg, r, closure_file, inferred_only=inferred_only)
        except OSError as error:
            fail(f"cannot write {closure_file}: {error.strerror or error}")
    written_at = time.perf_counter()
    found: list[Any] = []
    count = 0
    if consistency:
        for count, problem in enumerate(contradictions(kg, r, explained=False), 1):
            if count <= MAX_CONTRADICTIONS_LISTED:
                found.append(problem)
    done = time.perf_counter()
    base, derived = len(r.engine.base), len(r.output)
    report = reasoning.ReasoningReport(
        base=base, derived=derived, by_rule=r.by_rule(), seconds=reasoned - loaded
    )
    data: dict[str, Any] = {
        "files": [str(p) for p in files],
        "ontology": [str(p) for p in ontologies or [vocab.ontology_file()]],
        "domain_rules": rules,
        **sizes,
        "input_triples": base,
        "inferred_triples": derived,
        "closure_triples": base + derived,
        "output": None
        if written is None
        else {
            "path": str(written.path),
            "format": written.format.name,
            "content": "inferred" if inferred_only else "asserted and inferred",
            "statements": written.statements,
        },
        "load_seconds": round(loaded - start, 4),
        "reasoning_seconds": round(reasoned - loaded, 4),
        "reasoning_cpu_seconds": round(reasoning_cpu, 4),
        "write_seconds": round(written_at - reasoned, 4),
        "consistency_seconds": round(done - written_at, 4) if consistency else None,
        "total_seconds": round(done - start, 4),
        "peak_memory_mib": round(_peak_memory_mib(), 1),
        "by_rule": report.to_dict()["by_rule"],
        "inconsistency_count": count if consistency else None,
        "inconsistencies": [p.to_dict() for p in found],
    }
    if output == Format.json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    typer.echo(
        f"reasoned {len(files)} file{'s' if len(files) != 1 else ''} with "
        f"{describe_ontology(ontologies, rules=rules)}"
    )
    typer.echo(
        f"input: {base} triples ({data['data_triples']} data, {data['ontology_triples']} ontology)"
    )
    typer.echo(f"inferred: {derived} triples")
    typer.echo(f"closure: {base + derived} triples")
    if written is not None:
        kind = "inferred triples" if inferred_only else "input and inferred triples"
        unit = "quads" if written.format.kind == "dataset" else "triples"
        typer.echo(
            f"written: {written.path} ({written.format.label}, {kind}: {written.statements} {unit})"
        )
    typer.echo(
        f"time: load {data['load_seconds']:.3f} s, reasoning {data['reasoning_seconds']:.3f} s, "
        f"write {data['write_seconds']:.3f} s, total {data['total_seconds']:.3f} s"
    )
    typer.echo(f"peak memory: {data['peak_memory_mib']:.1f} MiB")
    for rule, n in data["by_rule"].items():
        typer.echo(f"  {n:6d}  {rule}")
    if consistency:
        typer.echo(f"{count} inconsistencies")
        for problem in found:
            typer.echo("  " + problem.message)
        if count > len(found):
            typer.echo(f"  ... and {count - len(found)} more")


def register(app: typer.Typer) -> None:
    """Add ``reason`` and ``explain`` to ``app``."""

    @app.command()
    def reason(
        files: Annotated[
            list[Path] | None,
            typer.Argument(
                metavar="FILE",
                help="RDF files to reason over (.ttl, .trig, .nt, .nq, .rdf, .jsonld, each "
                "may end in .gz); without any, the curated graph.",
                show_default=False,
            ),
        ] = None,
        ontology: OntologyOption = None,
        no_rules: NoRulesOption = False,
        closure_file: Annotated[
            Path | None,
            typer.Option(
                "--output",
                "-o",
                metavar="FILE",
                help="Write the closure (input and inferred triples) to FILE, in the format "
                "its extension names; written whole or not at all.",
                show_default=False,
            ),
        ] = None,
        inferred_only: Annotated[
            bool, typer.Option("--inferred-only", help="Write only the inferred triples.")
        ] = False,
        data_dir: DataDir = None,
        output: FormatOption = Format.text,
        consistency: Annotated[
            bool,
            typer.Option(
                "--consistency/--no-consistency",
                help="Also look for contradictions (OWL 2 RL's false rules).",
            ),
        ] = True,
    ) -> None:
        """Reason over RDF files (OWL 2 RL and the domain rules), or over the curated graph,
        and print what was derived, the sizes, the times and the peak memory."""
        if files:
            if data_dir is not None:
                fail("give FILE arguments or --data-dir, not both")
            _reason_files(
                files, ontology, not no_rules, closure_file, inferred_only, output, consistency
            )
            return
        given = [
            name
            for name, value in (
                ("--ontology", ontology),
                ("--no-rules", no_rules),
                ("--output", closure_file),
                ("--inferred-only", inferred_only),
            )
            if value
        ]
        if given:
            fail(f"{', '.join(given)}: only with FILE arguments, the RDF files to reason over")
        load_start = time.perf_counter()
        kg = _load(data_dir)
        loaded = time.perf_counter() - load_start
        report = _materialize(kg)
        problems = check_consistency(kg) if consistency else []
        if output == Format.json:
            data = report.to_dict()
            data["load_seconds"] = round(loaded, 4)
            data["inconsistencies"] = [p.to_dict() for p in problems]
            typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            typer.echo(
                f"{report.derived} inferred triples from {report.base} asserted and ontology "
                f"triples in {report.seconds:.3f} s (loading took {loaded:.3f} s)"
            )
            for rule, count in report.to_dict()["by_rule"].items():
                typer.echo(f"  {count:6d}  {rule}")
            if consistency:
                typer.echo(f"{len(problems)} inconsistencies")
                for p in problems:
                    typer.echo("  " + p.message)

    @app.command(name="explain")
    def explain_command(
        subject: Annotated[str, typer.Argument(help="IRI, CURIE (kg:...) or label.")],
        predicate: Annotated[str, typer.Argument(help="IRI, CURIE (kgo:...), label or 'a'.")],
        obj: Annotated[
            str, typer.Argument(metavar="OBJECT", help="IRI, CURIE, label or a quoted literal.")
        ],
        data_dir: DataDir = None,
        output: FormatOption = Format.text,
        every: Annotated[
            bool,
            typer.Option(
                "--all", help="List every one-step derivation, not only the recorded one."
            ),
        ] = False,
    ) -> None:
        """Explain why a triple holds: the rules and premises down to the seed's quotes."""
        kg = _load(data_dir)
        _materialize(kg)
        s = resolve_term(kg, subject)
        p = resolve_term(kg, predicate, predicate=True)
        o = resolve_term(kg, obj)
        result = explain(kg, s, p, o, all_derivations=every)
        if output == Format.json:
            typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        else:
            typer.echo(result.to_text())
        if not result.holds:
            fail(
                f"{shorten(str(s))} {shorten(str(p))} {shorten(str(o))} "
                "is neither asserted nor entailed"
            )
