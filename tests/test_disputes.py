"""Disputes: competing claims, each with its claimant and quote; the CLI table and JSON; a
dispute naming a position that does not exist is refused by validation. The expected
answers are the article's own words."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from karabakh_kg.graph import quotes
from karabakh_kg.graph.dataset import KnowledgeGraph
from karabakh_kg.graph.dispute_records import Dispute, disputes, disputes_about
from karabakh_kg.graph.validation import validate
from karabakh_kg.ontology import vocab
from karabakh_kg.server.cli import app

KG = str(vocab.KG)
runner = CliRunner()


def _by_iri(kg: KnowledgeGraph) -> dict[str, Dispute]:
    return {d.iri: d for d in disputes(kg)}


def _said(d: Dispute) -> dict[str, list[tuple[str | None, str]]]:
    """claimant -> [(figure, quote)] of every position."""
    out: dict[str, list[tuple[str | None, str]]] = {}
    for p in d.positions:
        for claimant, _ in p.claimants:
            for q in p.quotes:
                out.setdefault(claimant, []).append((p.quantity, q.text or ""))
    return out


def test_every_quote_of_every_position_is_the_seeds(kg: KnowledgeGraph) -> None:
    seed = quotes.seed_text()
    found = disputes(kg)
    assert len(found) >= 5
    for d in found:
        assert len(d.positions) >= 2, d.iri
        for p in d.positions:
            assert p.quotes and p.claimants, (d.iri, p.iri)
            for q in p.quotes:
                assert q.text and q.text in seed and q.line, (d.iri, q.unit)


def test_what_the_article_says_about_the_occupied_share(kg: KnowledgeGraph) -> None:
    # line 43: "about 20 percent of Azerbaijan’s territory"; line 61: "More than 14 percent of
    # Azerbaijan’s territory is still under occupation": the article contradicts itself
    d = _by_iri(kg)[KG + "dispute-occupied-share"]
    said = _said(d)[KG + "seed-article-author"]
    assert {figure for figure, _ in said} == {"20", "14"}
    assert any("about 20 percent" in q for _, q in said)
    assert any("More than 14 percent" in q for _, q in said)
    assert (str(vocab.KGO) + "ArticleContradiction") in {k for k, _ in d.kinds}


def test_what_each_side_claims_about_the_losses(kg: KnowledgeGraph) -> None:
    losses = _by_iri(kg)[KG + "dispute-armenian-losses-2020"]
    said = _said(losses)
    # line 23: "Armenia has officially announced ... bringing their casualties to 376"
    assert any(f == "376" and "casualties to 376" in q for f, q in said[KG + "armenia"])
    # line 25: Azar "wrote that hundreds of militiamen who died in Nagorno-Karabakh were hiding"
    assert any("hundreds of militiamen" in q for _, q in said[KG + "ilya-azar"])
    clashes = _said(_by_iri(kg)[KG + "dispute-august-2014-casualties"])
    # line 59: "13 Azerbaijani soldiers dead. The Armenian Defense Ministry also announced that
    # 20 soldiers were killed."
    assert any(f == "20" for f, _ in clashes[KG + "armenia-defence-ministry"])
    assert any(
        f == "13" and "13 Azerbaijani soldiers dead" in q
        for f, q in clashes[KG + "seed-article-author"]
    )


def test_a_denial_stands_against_the_reports(kg: KnowledgeGraph) -> None:
    d = _by_iri(kg)[KG + "dispute-cathedral-shelling"]
    said = _said(d)
    # line 9: "Azerbaijan’s Defense Ministry also denied reports that artillery was fired"
    assert any("denied reports" in q for _, q in said[KG + "azerbaijan-defence-ministry"])
    assert {p.kind for p in d.positions} == {"claim", "evidence"}


def test_a_disputed_figure_is_in_no_label_of_what_it_is_about(kg: KnowledgeGraph) -> None:
    """A figure one position gives (13 soldiers dead in 2014, line 59, against the Armenian
    Defence Ministry's 20) stays with its claim: the label of an event or entity the claim
    is about, which every perspective shows, does not state it as fact."""
    import re

    checked = 0
    for d in disputes(kg):
        if str(vocab.KGO) + "ConflictingFigures" not in {k for k, _ in d.kinds}:
            continue
        for position in d.positions:
            if position.quantity is None:
                continue
            rows = kg.store.query(
                f"PREFIX kgo: <{vocab.KGO}> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
                f"SELECT ?label WHERE {{ GRAPH ?g {{ <{position.iri}> kgo:about ?thing }} "
                "GRAPH ?h { ?thing rdfs:label ?label } "
                "FILTER NOT EXISTS { GRAPH ?k { ?thing a kgo:Claim } } }",
            )
            # the figure as its quote gives it, with the word after it (or before it, at the
            # end): "13 Azerbaijani", "20 soldiers", "to 376" ("20 years" is another figure)
            stated = set()
            for quote in position.quotes:
                text = quote.text or ""
                found = re.search(rf"\b{position.quantity}\s+\w+", text) or re.search(
                    rf"\w+\s+{position.quantity}\b", text
                )
                assert found, (position.iri, quote.text)
                stated.add(found.group(0))
            for (label,) in rows:  # type: ignore[misc]
                checked += 1
                assert not any(words in label.value for words in stated), (d.iri, label)
    assert checked >= 4


def test_the_geneva_meeting_planned_and_held_is_a_contradiction(kg: KnowledgeGraph) -> None:
    d = _by_iri(kg)[KG + "dispute-geneva-meeting-status"]
    said = _said(d)
    assert set(said) == {KG + "seed-article"}  # the article's own voice, every position
    quotes_said = [q for _, q in said[KG + "seed-article"]]
    # line 35: "was scheduled to meet ... in Geneva on Thursday"; line 39: "There was no
    # explanation for the results of the meeting in Geneva."
    assert any("was scheduled to meet" in q for q in quotes_said)
    assert any("results of the meeting in Geneva" in q for q in quotes_said)
    assert (str(vocab.KGO) + "ArticleContradiction") in {k for k, _ in d.kinds}
    assert KG + "geneva-meeting" in {iri for iri, _ in d.concerns}


def test_what_each_side_claims_about_the_territory(kg: KnowledgeGraph) -> None:
    said = _said(_by_iri(kg)[KG + "dispute-who-holds-nagorno-karabakh"])
    # line 61: "Azerbaijanis claim that the region has historically been under their control",
    # "Armenians claim that Armenians have always lived in the region"
    assert any("under their control" in q for _, q in said[KG + "azerbaijanis"])
    assert any("always lived in the region" in q for _, q in said[KG + "armenians"])
    assert KG + "united-nations" in said


def test_disputes_about_a_resource(kg: KnowledgeGraph) -> None:
    about = {d.iri for d in disputes_about(kg, KG + "nagorno-karabakh")}
    assert KG + "dispute-who-holds-nagorno-karabakh" in about
    assert KG + "dispute-cathedral-shelling" not in about


def test_cli_table_and_json(kg: KnowledgeGraph, monkeypatch: Any) -> None:
    monkeypatch.setattr("karabakh_kg.server.cli.data.load_graph", lambda *a, **k: kg)
    table = runner.invoke(app, ["disputes"])
    assert table.exit_code == 0, table.output
    assert "kg:dispute-occupied-share" in table.output and "kg:ilya-azar" in table.output
    data = json.loads(runner.invoke(app, ["disputes", "--format", "json"]).output)
    share = next(d for d in data if d["dispute"] == KG + "dispute-occupied-share")
    assert sorted(p["quantity"] for p in share["positions"]) == ["14", "20"]
    assert all(q["line"] for p in share["positions"] for q in p["quotes"])


def test_validation_refuses_a_dispute_with_a_missing_position(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(vocab.curated_data_dir(), data)
    path = data / "disputes.trig"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("kg:claim-occupied-share-more-than-14-percent", "kg:claim-renamed-away"),
        encoding="utf-8",
    )
    report = validate(data)
    assert not report.ok
    assert any("position" in str(p) for p in report.errors)
