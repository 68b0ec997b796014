"""Validation of the real data, and planted errors caught with the file and line named."""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest
from typer.testing import CliRunner, Result

from karabakh_kg.graph import quotes
from karabakh_kg.graph.loading import load_graph
from karabakh_kg.graph.validation import ValidationReport, validate
from karabakh_kg.ontology import vocab
from karabakh_kg.server.cli import app

runner = CliRunner()

HEADER = """\
@prefix kg: <https://w3id.org/karabakh-kg/resource/> .
@prefix kge: <https://w3id.org/karabakh-kg/evidence/> .
@prefix kgo: <https://w3id.org/karabakh-kg/ontology#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
"""
QUOTE = "The Minsk Group Co-Chairs have no spokespersons or media secretaries."
QUOTE_LINE = 69


def evidence(quote: str = QUOTE, line: int = QUOTE_LINE, body: str = "") -> str:
    """A well-formed evidence unit (lines 6-15 of the planted file) plus ``body``."""
    return (
        HEADER
        + "\nkge:L69-planted {\n"  # line 7
        + '    kg:minsk-group rdfs:comment "planted" .\n'
        + "}\n\n"
        + "kge:L69-planted a kgo:Evidence ;\n"  # line 11
        + f'    prov:value "{quote}" ;\n'  # line 12
        + f"    kgo:line {line} ;\n"  # line 13
        + "    prov:wasQuotedFrom kg:seed-article ;\n"
        + "    prov:wasAttributedTo kg:seed-article ;\n"
        + "    kgo:stance kgo:ArticleStatement .\n"
        + body
    )


@pytest.fixture(scope="module")
def real_report() -> ValidationReport:
    return validate()


def test_the_seed_has_the_planted_quote() -> None:
    assert quotes.quote_lines(QUOTE) == [QUOTE_LINE]


def test_real_data_is_valid(real_report: ValidationReport) -> None:
    assert real_report.ok, "\n".join(map(str, real_report.errors))
    assert real_report.evidence_units > 50
    # Two units are external, without a quote: the Wikidata links and the gazetteer.
    assert real_report.quotes_checked >= real_report.evidence_units - 2
    assert {"parse", "evidence and quotes", "shacl"} <= set(real_report.checks)
    assert any(check.startswith("consistency") for check in real_report.checks)


def test_validate_command_on_real_data() -> None:
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1].startswith("valid: ")


def plant(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(vocab.curated_data_dir(), folder)
    (folder / "planted.trig").write_text(text, encoding="utf-8")
    return folder


def own_names(text: str, case: str) -> str:
    """``text`` with the planted evidence unit and resources renamed for ``case``, so that
    several planted files can sit in one data folder without sharing a name."""
    return text.replace("kge:L69-planted", f"kge:L69-planted-{case}").replace(
        "kg:planted-", f"kg:planted-{case}-"
    )


def slug(case: str) -> str:
    """A file and IRI name for ``case``: lower-case letters and hyphens (no digits, so no
    name looks like a date to the date-in-an-IRI check)."""
    return re.sub(r"[^a-z]+", "-", case.lower()).strip("-")


def plant_all(folder: Path, texts: Mapping[str, str]) -> dict[str, Path]:
    """The real data with one planted file per case, each with its own names; the files."""
    assert len({slug(case) for case in texts}) == len(texts), "two cases, one file name"
    shutil.copytree(vocab.curated_data_dir(), folder)
    files = {}
    for case, text in texts.items():
        files[case] = folder / f"planted-{slug(case)}.trig"
        files[case].write_text(own_names(text, slug(case)), encoding="utf-8")
    return files


@dataclass
class PlantedRun:
    """One ``validate`` run over the real data with many planted files: each case's
    problems are the lines naming its file (validating once instead of once per case)."""

    folder: Path
    files: dict[str, Path]
    result: Result

    def lines_of(self, case: str) -> list[str]:
        where = f"{self.files[case]}:"
        return [x for x in self.result.stderr.splitlines() if x.startswith(where)]

    def lines_elsewhere(self) -> list[str]:
        planted = tuple(f"{f}:" for f in self.files.values())
        return [
            x for x in self.result.stderr.splitlines() if not x.startswith(("error: ", *planted))
        ]


def validate_planted(folder: Path, texts: Mapping[str, str]) -> PlantedRun:
    files = plant_all(folder, texts)
    result = runner.invoke(app, ["validate", "--data-dir", str(folder), "--no-consistency"])
    return PlantedRun(folder, files, result)


PLANTED = {
    "malformed turtle": (
        evidence(body='\nkg:minsk-group rdfs:label "unterminated .\n'),
        "syntax",
        18,
    ),
    "unknown prefix": (evidence(body="\nfoo:thing a kgo:Place .\n"), "syntax", 18),
    "quote not in the seed": (
        evidence(quote=QUOTE.replace("Co-Chairs", "co-chairmen")),
        "quote",
        12,
    ),
    # Exact substrings only: neither case nor white space may differ from the seed.
    "quote in other case": (
        evidence(quote=QUOTE.replace("Minsk Group", "Minsk group")),
        "quote",
        12,
    ),
    "quote with other white space": (evidence(quote=QUOTE.replace(" no ", "  no ")), "quote", 12),
    "wrong line": (evidence(line=67), "line", 12),
    "graph without metadata": (
        evidence(body='\nkge:L1-orphan { kg:minsk-group rdfs:comment "x" . }\n'),
        "evidence",
        18,
    ),
}


@pytest.mark.parametrize("case", list(PLANTED))
def test_planted_error_names_file_and_line(planted_run: PlantedRun, case: str) -> None:
    _, kind, line = PLANTED[case]
    result = planted_run.result
    assert result.exit_code != 0
    errors = planted_run.lines_of(case)
    assert errors == [f"{planted_run.files[case]}:{line}: {kind}: {errors[0].split(': ', 2)[2]}"]
    # Every error of the run is in a planted file, and the summary counts them all.
    assert planted_run.lines_elsewhere() == []
    count = sum(1 for x in result.stderr.splitlines() if not x.startswith("error: "))
    assert result.stderr.splitlines()[-1].startswith(f"error: {count} error(s)")
    assert "Traceback" not in result.output


def dated_unit(value: str) -> str:
    """A valid evidence unit whose named graph dates a new resource with ``value``."""
    return (
        evidence()
        .replace(
            '    kg:minsk-group rdfs:comment "planted" .\n',
            f"    kg:planted-period {value} .\n",
        )
        .replace(HEADER, HEADER + "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n")
    )


REFUSED_DATES = {
    'kgo:year "1992"^^xsd:gYear': "kgo:year is deprecated",
    'kgo:date "1992"': "kgo:date must be an xsd:date, xsd:gYearMonth or xsd:gYear",
    'kgo:startDate "2020-10-09T15:00:00"^^xsd:dateTime': "kgo:startDate must be",
}
ACCEPTED_DATES = [
    'kgo:date "1992"^^xsd:gYear',
    'kgo:date "1992-03"^^xsd:gYearMonth',
    'kgo:endDate "1994"^^xsd:gYear',
]


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory: pytest.TempPathFactory) -> PlantedRun:
    """``validate`` once over the real data with every planted error and refused date."""
    texts = {case: text for case, (text, _, _) in PLANTED.items()}
    texts |= {f"refused {value}": dated_unit(value) for value in REFUSED_DATES}
    return validate_planted(tmp_path_factory.mktemp("planted") / "data", texts)


@pytest.fixture(scope="module")
def planted_report(planted_run: PlantedRun) -> ValidationReport:
    """The same folder validated through the API."""
    return validate(planted_run.folder, consistency=False)


@pytest.mark.parametrize(("value", "message"), list(REFUSED_DATES.items()))
def test_dates_outside_the_family_are_refused(
    planted_run: PlantedRun, value: str, message: str
) -> None:
    assert planted_run.result.exit_code != 0
    lines = planted_run.lines_of(f"refused {value}")
    assert any(message in line for line in lines), planted_run.result.stderr


@pytest.fixture(scope="module")
def accepted_dates_run(tmp_path_factory: pytest.TempPathFactory) -> PlantedRun:
    texts = {value: dated_unit(value) for value in ACCEPTED_DATES}
    return validate_planted(tmp_path_factory.mktemp("dates") / "data", texts)


@pytest.mark.parametrize("value", ACCEPTED_DATES)
def test_a_day_a_month_or_a_year_is_a_date(accepted_dates_run: PlantedRun, value: str) -> None:
    result = accepted_dates_run.result
    assert accepted_dates_run.lines_of(value) == [], result.output
    assert result.exit_code == 0, result.output


def test_quote_problem_says_where_it_differs(
    planted_run: PlantedRun, planted_report: ValidationReport
) -> None:
    file = str(planted_run.files["quote not in the seed"])
    [problem] = [p for p in planted_report.errors if p.file == file]
    assert problem.kind == "quote"
    assert "differs at 'co-chairmen" in problem.message


def test_the_same_evidence_graph_in_two_files_is_an_error(tmp_path: Path) -> None:
    folder = plant(tmp_path, evidence())
    (folder / "planted-again.trig").write_text(evidence(), encoding="utf-8")
    report = validate(folder, consistency=False)
    [problem] = report.errors
    assert problem.kind == "evidence" and problem.file.endswith("planted.trig")
    assert problem.line == 7
    assert problem.message == (
        f"evidence graph kge:L69-planted is also defined in {folder / 'planted-again.trig'}"
    )


def test_wrong_line_names_the_true_line(
    planted_run: PlantedRun, planted_report: ValidationReport
) -> None:
    file = str(planted_run.files["wrong line"])
    [problem] = [p for p in planted_report.errors if p.file == file]
    assert "on seed line 69, but kgo:line says 67" in problem.message


CLASH = (
    "\nkge:L69-clash {\n"  # line 18
    '    kg:planted-clash a kgo:Person , kgo:City ; rdfs:label "Clash"@en .\n'  # line 19
    "}\n"
    "kge:L69-clash a kgo:Evidence ;\n"
    f'    prov:value "{QUOTE}" ;\n'
    f"    kgo:line {QUOTE_LINE} ;\n"
    "    prov:wasQuotedFrom kg:seed-article ;\n"
    "    prov:wasAttributedTo kg:seed-article ;\n"
    "    kgo:stance kgo:ArticleStatement .\n"
)


def test_inconsistency_names_file_and_line(tmp_path: Path) -> None:
    folder = plant(tmp_path, evidence(body=CLASH))
    result = runner.invoke(app, ["validate", "--data-dir", str(folder)])
    assert result.exit_code != 0
    clashes = [x for x in result.stderr.splitlines() if ": consistency: " in x]
    assert len(clashes) == 1, result.stderr
    assert clashes[0].startswith(f"{folder / 'planted.trig'}:19: consistency: ")
    assert "kg:planted-clash" in clashes[0]


def test_missing_data_dir_is_one_line() -> None:
    result = runner.invoke(app, ["validate", "--data-dir", "/nonexistent/data"])
    assert result.exit_code != 0
    assert result.stderr.strip().splitlines() == [
        "error: data folder /nonexistent/data does not exist"
    ]


def test_every_quote_is_an_exact_substring_with_its_line(real_report: ValidationReport) -> None:
    """The quote check itself, independent of the report: every prov:value is in the seed."""
    import pyoxigraph as ox

    from karabakh_kg.graph.loading import load_graph

    kg = load_graph(reason=False)
    rows = kg.query(
        "SELECT ?ev ?quote ?line WHERE { ?ev a kgo:Evidence ; prov:value ?quote ; kgo:line ?line }"
    )
    assert isinstance(rows, ox.QuerySolutions)
    seen = 0
    # Read the seed here, byte for byte, rather than through the validator's helpers.
    seed = vocab.seed_file().read_bytes().decode("utf-8")
    seed_lines = seed.split("\n")
    for ev, quote, line in rows:
        assert isinstance(quote, ox.Literal) and isinstance(line, ox.Literal)
        assert quote.value in seed, ev
        assert quote.value in seed_lines[int(line.value) - 1], ev
        seen += 1
    assert seen == real_report.quotes_checked


# --- attribution: who says so, per evidence unit ---------------------------------------------

UNNAMED_QUOTE = "Local media report that another ballistic missile was fired by Armenia today"
UNNAMED_LINE = 17
BORDER_QUOTE = (
    "Two days of fighting on the Nagorno-Karabakh border left 13 Azerbaijani soldiers dead."
)


def unit(body: str, who: str, stance: str, quote: str = QUOTE, line: int = QUOTE_LINE) -> str:
    """One planted evidence unit whose named graph starts on line 7 of the file."""
    return (
        HEADER
        + "\nkge:L69-planted {\n"  # line 7
        + body
        + "}\n\n"
        + "kge:L69-planted a kgo:Evidence ;\n"
        + f'    prov:value "{quote}" ;\n'
        + f"    kgo:line {line} ;\n"
        + "    prov:wasQuotedFrom kg:seed-article ;\n"
        + f"    prov:wasAttributedTo {who} ;\n"
        + f"    kgo:stance {stance} .\n"
    )


CLAIM = '    kg:planted-claim a kgo:Claim ; rdfs:label "planted"@en ; kgo:about kg:minsk-group ;\n'
ATTACK = (
    '    kg:planted-attack a kgo:Attack ; rdfs:label "planted"@en ; kgo:attacker kg:armenia ;\n'
)

ATTRIBUTION_ERRORS = {
    # the article's voice holding a party's claim
    "claimant is not who says it": (
        unit(
            CLAIM + "        kgo:claimant kg:armenia .\n", "kg:seed-article", "kgo:ArticleStatement"
        ),
        "kg:planted-claim has claimant kg:armenia",
    ),
    # one unit, two voices
    "mixed claimants in one unit": (
        unit(
            CLAIM
            + "        kgo:claimant kg:armenia .\n"
            + '    kg:planted-other a kgo:Claim ; rdfs:label "other"@en ;\n'
            + "        kgo:about kg:minsk-group ;\n"
            + "        kgo:claimant kg:azerbaijan .\n",
            "kg:armenia",
            "kgo:AttributedClaim",
        ),
        "are in one evidence unit",
    ),
    # an attack announced without a source, stated as having happened
    "unattributed one-sided attack": (
        unit(
            ATTACK + "        kgo:eventStatus kgo:Occurred .\n",
            "kg:seed-article",
            "kgo:Report",
            UNNAMED_QUOTE,
            UNNAMED_LINE,
        ),
        "kg:planted-attack (a kgo:Attack) has status kgo:Occurred",
    ),
    # a place put in a state the quote does not name
    "located place without a locating quote": (
        unit(
            '    kg:planted-town a kgo:City ; rdfs:label "Planted town"@en ;\n'
            "        kgo:country kg:azerbaijan .\n",
            "kg:seed-article",
            "kgo:ArticleStatement",
        ),
        "kg:planted-town kgo:country kg:azerbaijan, but the unit's quote does not name",
    ),
    "date in an IRI": (
        unit(
            '    kg:planted-meeting-2020-10-09 a kgo:Event ; rdfs:label "planted"@en .\n',
            "kg:seed-article",
            "kgo:ArticleStatement",
        ),
        "kg:planted-meeting-2020-10-09 has a date in its IRI",
    ),
    # who the speaker is, said in the speaker's own unit
    "speaker identified in its own unit": (
        unit(
            "    kg:minsk-group-co-chairs kgo:memberOf kg:minsk-group .\n",
            "kg:minsk-group-co-chairs",
            "kgo:AttributedClaim",
        ),
        "also says who kg:minsk-group-co-chairs is (kgo:memberOf kg:minsk-group)",
    ),
    # that a party spoke, said in the party's own unit
    "speech act in the speaker's own unit": (
        unit(
            '    kg:planted-statement a kgo:Statement ; rdfs:label "planted"@en ;\n'
            "        kgo:speaker kg:minsk-group-co-chairs .\n",
            "kg:minsk-group-co-chairs",
            "kgo:AttributedClaim",
        ),
        "says that kg:minsk-group-co-chairs made kg:planted-statement",
    ),
    "article statement attributed to a party": (
        unit('    kg:minsk-group rdfs:comment "planted" .\n', "kg:armenia", "kgo:ArticleStatement"),
        "stance kgo:ArticleStatement does not fit attribution to kg:armenia",
    ),
    "attributed claim in the article's voice": (
        unit(
            '    kg:minsk-group rdfs:comment "planted" .\n',
            "kg:seed-article",
            "kgo:AttributedClaim",
        ),
        "stance kgo:AttributedClaim does not fit attribution to kg:seed-article",
    ),
}


@pytest.fixture(scope="module")
def attribution_run(tmp_path_factory: pytest.TempPathFactory) -> PlantedRun:
    """``validate`` once over the real data with every planted attribution error."""
    texts = {case: text for case, (text, _) in ATTRIBUTION_ERRORS.items()}
    return validate_planted(tmp_path_factory.mktemp("attribution") / "data", texts)


@pytest.mark.parametrize("case", list(ATTRIBUTION_ERRORS))
def test_planted_attribution_error_names_file_and_line(
    attribution_run: PlantedRun, case: str
) -> None:
    _, message = ATTRIBUTION_ERRORS[case]
    result = attribution_run.result
    assert result.exit_code != 0
    problems = attribution_run.lines_of(case)
    assert problems, result.stderr
    where = f"{attribution_run.files[case]}:7: attribution: kge:L69-planted-{slug(case)}: "
    assert all(p.startswith(where) for p in problems), problems
    assert any(own_names(message, slug(case)) in p for p in problems), problems
    assert attribution_run.lines_elsewhere() == []
    assert "Traceback" not in result.output


def test_the_same_units_without_the_error_are_valid(tmp_path: Path) -> None:
    # The planted units above fail for their error only: fixed, each passes.
    fixed = {
        "claimant": unit(
            CLAIM + "        kgo:claimant kg:armenia .\n", "kg:armenia", "kgo:AttributedClaim"
        ),
        "attack": unit(
            ATTACK + "        kgo:eventStatus kgo:Alleged .\n",
            "kg:local-media",
            "kgo:AttributedClaim",
            UNNAMED_QUOTE,
            UNNAMED_LINE,
        ),
        "place": unit(
            '    kg:planted-town a kgo:City ; rdfs:label "Planted town"@en ;\n'
            "        kgo:country kg:azerbaijan .\n",
            "kg:seed-article",
            "kgo:ArticleStatement",
            BORDER_QUOTE,
            59,
        ),
    }
    plant_all(tmp_path / "data", fixed)
    report = validate(tmp_path / "data", consistency=False)
    assert [str(p) for p in report.errors if p.kind == "attribution"] == []


def test_real_data_has_no_attribution_problem(real_report: ValidationReport) -> None:
    assert "attribution" in real_report.checks
    assert [p for p in real_report.problems if p.kind == "attribution"] == []


def test_every_attribution_check_has_a_planted_case(attribution_run: PlantedRun) -> None:
    # Each kgs:EvidenceCheck of shapes.ttl fires on at least one planted case above, so a new
    # check comes with its test.
    from karabakh_kg.graph.validation import evidence_checks

    checks = evidence_checks(vocab.shapes_file())
    assert len(checks) >= 8
    planted = {
        ox.NamedNode(f"https://w3id.org/karabakh-kg/evidence/L69-planted-{slug(case)}")
        for case in ATTRIBUTION_ERRORS
    }
    kg = load_graph(attribution_run.folder, reason=False)
    fired: set[str] = set()
    for check, _template, select in checks:
        rows = kg.query(select, include_inferred=False)
        assert isinstance(rows, ox.QuerySolutions)
        if any(row["evidence"] in planted for row in rows):
            fired.add(check.value)
    assert fired == {check.value for check, _, _ in checks}
