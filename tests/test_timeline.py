"""``/timeline/items`` and ``karabakh-kg timeline``: every dated event, dates as precise as
the evidence gives them, readings kept apart, filters, and bad input answered 400."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from karabakh_kg.graph.dataset import KnowledgeGraph
from karabakh_kg.server.cli import app

KG = "https://w3id.org/karabakh-kg/resource/"


def select(kg: KnowledgeGraph, query: str) -> list[dict[str, str]]:
    result = kg.query(query)
    names = [v.value for v in result.variables]
    return [{n: s[n].value for n in names if s[n] is not None} for s in result]


def items(live_server: Any, **params: Any) -> list[dict[str, Any]]:
    response = httpx.get(live_server.url + "/timeline/items", params=params, timeout=60)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


DATED = """SELECT ?e ?p ?d WHERE {
  ?e a kgo:Event . GRAPH ?g { ?e ?p ?d } ?g a kgo:Evidence .
  VALUES ?p { kgo:date kgo:startDate kgo:endDate } }"""


def test_every_dated_event_is_on_the_timeline(live_server: Any, kg: KnowledgeGraph) -> None:
    dated = {row["e"] for row in select(kg, DATED)}
    shown = {item["event"] for item in items(live_server)}
    assert dated == shown
    # 1922 (line 53) to the Monday after the article's day (line 37).
    starts = sorted(item["start"] for item in items(live_server))
    assert starts[0].startswith("1922")
    assert starts[-1] >= "2020-10-12"


def test_a_year_is_a_range_over_the_year_not_a_day(live_server: Any, kg: KnowledgeGraph) -> None:
    # Line 53: "joined the Union of Soviet Socialist Republics in 1922".
    accession = select(kg, 'SELECT ?e WHERE { ?e a kgo:Accession ; kgo:date "1922"^^xsd:gYear }')
    item = next(i for i in items(live_server) if i["event"] == accession[0]["e"])
    assert item["precision"] == "year"
    assert (item["start"], item["end"]) == ("1922-01-01", "1923-01-01")
    assert item["date"] == "1922"


def test_disagreeing_dates_are_readings_each_with_its_evidence(
    live_server: Any, kg: KnowledgeGraph
) -> None:
    dates: dict[str, set[str]] = {}
    for row in select(kg, DATED):
        if row["p"].endswith("#date"):
            dates.setdefault(row["e"], set()).add(row["d"])
    ambiguous = {e: d for e, d in dates.items() if len(d) > 1}
    shown = items(live_server)
    for event, values in ambiguous.items():
        readings = [i for i in shown if i["event"] == event]
        assert {i["date"] for i in readings} == values
        assert {i["reading"] for i in readings} == set(range(1, len(values) + 1))
        assert all("reading" in i["className"] and i["readingEvidence"] for i in readings)


def test_planned_meeting_is_planned_with_its_quote(live_server: Any) -> None:
    lavrov = [
        i
        for i in items(live_server, participant="Sergei Lavrov")
        if any("would instead meet" in (e["quote"] or "") for e in i["evidence"])
    ]
    assert lavrov and lavrov[0]["presentation"] == "planned"
    assert lavrov[0]["date"] == "2020-10-12"  # "in Moscow on Monday", after Friday 9 October


def test_denied_fire_is_disputed(live_server: Any) -> None:
    disputed = [i for i in items(live_server) if i["presentation"] == "disputed"]
    for item in disputed:
        assert any(e["stance"] == "Denial" or "Denied" in e["statuses"] for e in item["evidence"])


def test_window_kind_and_participant_filters(live_server: Any) -> None:
    day = items(live_server, **{"from": "2020-10-09", "to": "2020-10-09"})
    assert day
    assert all(i["start"] <= "2020-10-09" and (i["end"] or i["start"]) >= "2020-10-09" for i in day)
    meetings = items(live_server, kind="Meeting")
    assert meetings and all(
        {"Meeting", "Talks"} & set(i["kinds"]) or "Meeting" in i["kinds"] for i in meetings
    )
    with_armenia = items(live_server, participant="kg:armenia")
    assert with_armenia
    assert all(any(p["iri"] == KG + "armenia" for p in i["participants"]) for i in with_armenia)


@pytest.mark.parametrize(
    ("params", "status", "code", "named"),
    [
        ({"from": "2020-10-10", "to": "2020-10-01"}, 400, "bad-date-range", "2020-10-10"),
        ({"from": "last week"}, 400, "bad-date-range", "last week"),
        ({"perspective": "the moon"}, 400, "unknown-perspective", "the moon"),
        ({"kind": "Banana"}, 400, "bad-parameter", "Banana"),
        ({"participant": "Nobody Atall"}, 404, "unknown-entity", "Nobody Atall"),
    ],
)
def test_bad_input_is_a_problem_naming_it(
    live_server: Any, params: dict[str, str], status: int, code: str, named: str
) -> None:
    for path in ("/timeline/items", "/timeline"):
        response = httpx.get(live_server.url + path, params=params, timeout=60)
        assert response.status_code == status
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code
        assert named in response.json()["detail"]


def test_cli_timeline_csv_and_errors() -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["timeline", "--from", "2020-10-08", "--to", "2020-10-12", "--format", "csv"]
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and all("2020-10-08" <= r["date"][:10] <= "2020-10-12" for r in rows)
    assert any(r["presentation"] == "planned" and "Lavrov" in r["label"] for r in rows)
    bad = runner.invoke(app, ["timeline", "--from", "2020-10-10", "--to", "2020-10-01"])
    assert bad.exit_code != 0
    assert bad.stderr == "error: the date range is empty: from 2020-10-10 is after to 2020-10-01\n"


@pytest.mark.parametrize("path", ["/timeline", "/map"])
def test_a_page_of_events_says_which_and_links_the_others(live_server: Any, path: str) -> None:
    """The timeline and map pages show one page of events: a page that does not hold them
    all says which it holds, of how many, and links the previous and next pages (the
    JSON's Link header names only the next)."""
    import re

    total = len(httpx.get(live_server.url + "/export/events.json", timeout=30).json())
    assert total > 20
    whole = httpx.get(live_server.url + path, timeout=30).text
    assert "pages of events" not in whole  # one page holds every event

    def nav(**params: int) -> str:
        page = httpx.get(live_server.url + path, params=params, timeout=30)
        assert page.status_code == 200
        found = re.search(r'<nav class="event-pages".*?</nav>', page.text, re.S)
        assert found, page.text[:300]
        return " ".join(found.group(0).split())

    first = nav(limit=10)
    assert f"Events 1–10 of {total}" in first and 'rel="prev"' not in first
    assert re.search(r'href="[^"]*offset=10[^"]*" rel="next"', first)
    middle = nav(limit=10, offset=10)
    assert f"Events 11–20 of {total}" in middle
    assert re.search(r'href="[^"]*offset=0[^"]*" rel="prev"', middle)
    last = nav(limit=10, offset=total - 3)
    assert f"Events {total - 2}–{total} of {total}" in last and 'rel="next"' not in last
    past = nav(limit=10, offset=total + 5)
    assert f"No events from number {total + 6} on: there are {total}" in past
    assert re.search(rf'href="[^"]*offset={total - 10}[^"]*" rel="prev"', past)


def test_every_next_page_is_within_reach(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``offset`` reaches at most a bound of events: a perspective speaking of more events
    answers 400 ``too-large`` naming the bound on every server, rather than a ``Link`` to a
    page past it, which answered 422 (the bound lowered here, below the curated events)."""
    from karabakh_kg.server.web import events

    total = len(httpx.get(live_server.url + "/export/events.json", timeout=30).json())
    monkeypatch.setattr(events, "EVENTS_INDEXED", total - 1)
    for path in ("/export/events.json", "/timeline/items", "/map/places"):
        refused = httpx.get(live_server.url + path, params={"limit": 30}, timeout=30)
        assert refused.status_code == 400, refused.text
        body = refused.json()
        assert body["code"] == "too-large" and body["limit"] == total - 1
    monkeypatch.setattr(events, "EVENTS_INDEXED", total)
    url: str | None = live_server.url + "/export/events.json?limit=30"
    seen = 0
    while url is not None:
        page = httpx.get(url, timeout=30)
        assert page.status_code == 200, page.text
        seen += len(page.json())
        link = page.headers.get("link")
        url = link.split(">")[0].lstrip("<") if link else None
    assert seen == total


def test_the_filters_offer_what_the_page_shows(live_server: Any) -> None:
    """The timeline page's kind and participant lists are those of the events it shows (its
    perspective's page, without the filters), whatever page and perspective."""
    import re

    for params in (
        {"perspective": "kg:armenia", "limit": 10, "offset": 50},
        {"perspective": "kg:azerbaijan-defence-ministry", "limit": 5, "offset": 5},
        {"perspective": "all", "limit": 10, "offset": 20, "kind": "Meeting"},
    ):
        unfiltered = {k: v for k, v in params.items() if k != "kind"}
        shown = items(live_server, **unfiltered)
        assert shown, params
        html = httpx.get(live_server.url + "/timeline", params=params, timeout=30).text

        def options(name: str, page: str = html) -> set[str]:
            found = re.search(rf'<select name="{name}".*?</select>', page, re.S)
            assert found, name
            return set(re.findall(r'<option value="([^"]+)"', found.group(0)))

        assert options("kind") == {k for item in shown for k in item["kinds"]}, params
        agents = {p["iri"] for item in shown for p in item["participants"]}
        assert options("participant") == agents, params
