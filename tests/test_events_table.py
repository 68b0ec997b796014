"""The event table: ``karabakh-kg events`` and ``/export/events.csv``, read back with pandas
and compared with SPARQL over the same events; the ACLED/CAMEO/PLOVER annotations."""

from __future__ import annotations

import io
import json
import warnings
from typing import Any

import httpx
import pandas as pd
import pytest
from typer.testing import CliRunner

from karabakh_kg.graph import events
from karabakh_kg.graph.dataset import KnowledgeGraph
from karabakh_kg.server.cli import app

SEP = events.SEPARATOR

# The ACLED event types and sub-event types (ACLED Codebook).
ACLED = {
    "Battles": {
        "Armed clash",
        "Government regains territory",
        "Non-state actor overtakes territory",
    },
    "Explosions/Remote violence": {
        "Chemical weapon",
        "Air/drone strike",
        "Suicide bomb",
        "Shelling/artillery/missile attack",
        "Remote explosive/landmine/IED",
        "Grenade",
    },
    "Violence against civilians": {"Sexual violence", "Attack", "Abduction/forced disappearance"},
    "Protests": {
        "Peaceful protest",
        "Protest with intervention",
        "Excessive force against protesters",
    },
    "Riots": {"Violent demonstration", "Mob violence"},
    "Strategic developments": {
        "Agreement",
        "Arrests",
        "Change to group/activity",
        "Disrupted weapons use",
        "Headquarters or base established",
        "Looting/property destruction",
        "Non-violent transfer of territory",
        "Other",
    },
}
PLOVER = {
    "AGREE", "CONSULT", "SUPPORT", "CONCEDE", "COOPERATE", "AID", "RETREAT", "REQUEST",
    "DEMAND", "ACCUSE", "REJECT", "THREATEN", "PROTEST", "SANCTION", "MOBILIZE", "COERCE",
    "ASSAULT",
}  # fmt: skip


def select(kg: KnowledgeGraph, query: str) -> list[dict[str, str]]:
    result = kg.query(query)
    names = [v.value for v in result.variables]
    return [{n: s[n].value for n in names if s[n] is not None} for s in result]


@pytest.fixture(scope="module")
def table(live_server: Any) -> pd.DataFrame:
    response = httpx.get(live_server.url + "/export/events.csv", timeout=60)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "opens in pandas without warnings"
        frame = pd.read_csv(io.BytesIO(response.content), dtype=str, keep_default_na=False)
    return frame


def cells(value: str) -> list[str]:
    return value.split(SEP) if value else []


def test_columns_and_one_row_per_event_as_sparql_finds_them(
    table: pd.DataFrame, kg: KnowledgeGraph
) -> None:
    assert list(table.columns) == list(events.COLUMNS)
    assert table["event_id"].is_unique
    found = select(
        kg,
        "SELECT DISTINCT ?e WHERE { ?e a kgo:Event . GRAPH ?g { ?e ?p ?o } ?g a kgo:Evidence }",
    )
    assert set(table["event_id"]) == {row["e"] for row in found}


def test_dates_and_precision_match_the_evidence(table: pd.DataFrame, kg: KnowledgeGraph) -> None:
    rows = select(
        kg,
        """SELECT ?e ?d ?kind WHERE {
             ?e a kgo:Event .
             GRAPH ?g { ?e ?kind ?d } ?g a kgo:Evidence .
             VALUES ?kind { kgo:date }
           }""",
    )
    by_event = table.set_index("event_id")
    assert rows
    for row in rows:
        assert row["d"] in cells(by_event.loc[row["e"], "event_date"]), row
    for event, row in by_event.iterrows():
        dates = cells(row["event_date"])
        if len(dates) > 1:
            assert row["date_precision"] == "readings", event
        elif dates and len(dates[0]) == 4 and not row["date_end"]:
            assert row["date_precision"] in ("year", "from"), event
        elif not dates:
            assert row["date_precision"] == "undated", event
    # Line 53: "joined the Union of Soviet Socialist Republics in 1922" is a year, not a day.
    accession = select(kg, 'SELECT ?e WHERE { ?e a kgo:Accession ; kgo:date "1922"^^xsd:gYear }')
    assert by_event.loc[accession[0]["e"], "date_precision"] == "year"


def test_time_of_day_where_the_article_gives_one(table: pd.DataFrame, kg: KnowledgeGraph) -> None:
    # Line 31: "The meeting, which is expected to start at 15: 00".
    timed = {row["e"] for row in select(kg, "SELECT ?e WHERE { ?e kgo:startTime ?t }")}
    rows = table[table["event_id"].isin(timed)]
    assert not rows.empty
    assert set(rows["time"]) == {"15:00:00"} and set(rows["time_precision"]) == {"minute"}
    assert set(table[~table["event_id"].isin(timed)]["time"]) == {""}


def test_each_evidence_column_lines_up_with_the_quotes(
    table: pd.DataFrame, kg: KnowledgeGraph
) -> None:
    quotes = {
        row["g"]: row
        for row in select(
            kg,
            "SELECT ?g ?q ?who WHERE { ?g a kgo:Evidence ; prov:value ?q ; "
            "prov:wasAttributedTo ?who }",
        )
    }
    for _, row in table.iterrows():
        units = cells(row["evidence"])
        assert units
        notes = row["notes"].split(SEP)
        claimants = row["source_id"].split(SEP)
        assert len(notes) == len(units) == len(claimants) == len(row["stance"].split(SEP))
        for unit, note, claimant in zip(units, notes, claimants, strict=True):
            if unit in quotes:
                assert note == quotes[unit]["q"]
                assert claimant == quotes[unit]["who"]


def test_mingachevir_missile_attack_row(table: pd.DataFrame, kg: KnowledgeGraph) -> None:
    # Line 3: "Armenia launched a ballistic missile at Mingechevir in Central Azerbaijan."
    attacks = {
        row["e"]
        for row in select(
            kg,
            "SELECT ?e WHERE { ?e a kgo:MissileAttack ; kgo:attacker kg:armenia ; "
            "kgo:target kg:mingachevir }",
        )
    }
    rows = table[table["event_id"].isin(attacks)]
    assert not rows.empty
    for _, row in rows.iterrows():
        assert row["acled_event_type"] == "Explosions/Remote violence"
        assert row["acled_sub_event_type"] == "Shelling/artillery/missile attack"
        assert row["actor1"] == "Armenia"
        assert row["location"] == "Mingachevir"
        assert row["country"] == "Azerbaijan"
        assert row["admin1"] == "Central Azerbaijan"
        # GeoNames puts Mingachevir at 40.76 N, 47.06 E; precision 1: the town itself.
        assert abs(float(row["latitude"]) - 40.76) < 0.05
        assert abs(float(row["longitude"]) - 47.06) < 0.05
        assert row["geo_precision"] == "1"


def test_fatalities_keep_each_figure_with_its_claimant(table: pd.DataFrame) -> None:
    # Line 23: Armenia announced 26 more soldiers died, "bringing their casualties to 376".
    row = table[table["fatalities_reported_by"].str.contains("376")].iloc[0]
    assert row["fatalities"] == ""  # two different figures are never added up
    assert "26" in row["fatalities_reported_by"]
    assert "(Armenia)" in row["fatalities_reported_by"]
    # Line 11: Guliyeva Tevfik "was killed in the Armenia attacks": one named victim.
    death = table[table["fatalities_reported_by"].str.startswith("Guliyeva Tevfik")]
    assert set(death["fatalities"]) == {"1"}


def test_denied_and_planned_statuses_are_kept_per_evidence(table: pd.DataFrame) -> None:
    # Line 9: the Defence Ministry "denied reports that artillery was fired" at the cathedral.
    row = table[table["event_label"].str.contains("Gazan")].iloc[0]
    statuses = row["status"].split(SEP)
    assert "Denied" in statuses
    assert any("Alleged" in s for s in statuses)
    # Line 37: Mnatsakanyan "would instead meet with ... Lavrov in Moscow on Monday".
    lavrov = table[table["actor1"].str.contains("Lavrov") | table["actor2"].str.contains("Lavrov")]
    assert any("Planned" in s for s in lavrov["status"])


def test_perspective_filters_and_unknown_perspective_is_400(live_server: Any) -> None:
    url = live_server.url + "/export/events.csv"
    armenia = pd.read_csv(io.StringIO(httpx.get(url, params={"perspective": "kg:armenia"}).text))
    claimants = {c for v in armenia["source_id"].fillna("") for c in str(v).split(SEP)}
    assert "https://w3id.org/karabakh-kg/resource/armenia" in claimants
    assert "https://w3id.org/karabakh-kg/resource/reuters" not in claimants
    bad = httpx.get(url, params={"perspective": "nobody at all"})
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
    problem = bad.json()
    assert problem["code"] == "unknown-perspective"
    assert "nobody at all" in problem["detail"]


def test_export_route_is_not_shadowed_and_graph_formats_still_answer(live_server: Any) -> None:
    assert httpx.get(live_server.url + "/export/events.json").json()[0]["event_id"]
    assert httpx.get(live_server.url + "/export/graphml").status_code == 200


def test_cli_events_json_and_bad_perspective() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["events", "--format", "json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert rows and set(rows[0]) == set(events.COLUMNS)
    bad = runner.invoke(app, ["events", "--perspective", "nobody at all"])
    assert bad.exit_code != 0
    assert bad.stderr.startswith("error: unknown perspective") and bad.stderr.count("\n") == 1


def test_annotations_use_the_published_codes(kg: KnowledgeGraph) -> None:
    rows = select(
        kg,
        """SELECT ?c ?p ?v WHERE { ?c ?p ?v .
             VALUES ?p { kgo:acledEventType kgo:acledSubEventType kgo:cameoCode
                         kgo:ploverEventType } }""",
    )
    by_class: dict[str, dict[str, str]] = {}
    for row in rows:
        by_class.setdefault(row["c"], {})[row["p"].rsplit("#", 1)[1]] = row["v"]
    assert len(by_class) > 20
    for cls, codes in by_class.items():
        if "acledSubEventType" in codes:
            assert codes["acledSubEventType"] in ACLED[codes["acledEventType"]], cls
        if "cameoCode" in codes:
            assert codes["cameoCode"].isdigit() and 3 <= len(codes["cameoCode"]) <= 4, cls
        if "ploverEventType" in codes:
            assert codes["ploverEventType"] in PLOVER, cls


def test_the_csv_is_the_same_bytes_in_every_process() -> None:
    """Analysts diff exports between downloads: the same graph gives the same file, whatever
    order the store happens to list an event's facts in (it differs between processes)."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "karabakh_kg.server", "events", "--format", "csv"]
    outputs = {
        subprocess.run(command, capture_output=True, check=True, timeout=120).stdout
        for _ in range(3)
    }
    assert len(outputs) == 1
    assert next(iter(outputs)).count(b"\n") > 50  # one row per event, every time


def test_paging_outside_its_bounds_is_the_documented_422(live_server: Any) -> None:
    """A ``limit`` outside 1 to 1 000 or an ``offset`` negative or past 200 000 is a 422
    naming the parameter, on each event view, as each one's OpenAPI document says."""
    document = httpx.get(live_server.url + "/openapi.json", timeout=30).json()
    for path in ("/export/events.json", "/timeline/items", "/map/places"):
        said = document["paths"][path]["get"]["responses"]["422"]["description"]
        assert "1 to 1000" in said and "200000" in said, (path, said)
        for params, named in (
            ({"limit": 0}, "limit"),
            ({"limit": 1001}, "limit"),
            ({"offset": -1}, "offset"),
            ({"offset": 200_001}, "offset"),
        ):
            refused = httpx.get(live_server.url + path, params=params, timeout=30)
            assert refused.status_code == 422, (path, params)
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert named in refused.text, (path, params)
        assert httpx.get(live_server.url + path, params={"offset": 200_000}).status_code == 200
