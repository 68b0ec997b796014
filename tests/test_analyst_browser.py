"""The timeline and the map in headless Chromium: no console error, no request leaving the
server, an item opens its event with its quote and claimant. Screenshots go to
tests/artifacts/ (the README's pictures in docs/img/ are taken the same way)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).parent / "artifacts"

# Line 37: "It was announced that Mnatsakanyan would instead meet with Russian Foreign
# Minister Sergei Lavrov in Moscow on Monday."
LAVROV_QUOTE = "Mnatsakanyan would instead meet with Russian Foreign Minister Sergei Lavrov"


def open_page(browser: Any, live_server: Any, path: str) -> Any:
    """A page at ``path`` recording console errors, failed responses and outside requests."""
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.on(
        "request",
        lambda r: (
            None
            if r.url.startswith(live_server.url) or r.url.startswith("data:")
            else problems.append("outside request: " + r.url)
        ),
    )
    tab.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    tab.problems = problems
    tab.goto(live_server.url + path, wait_until="networkidle")
    return tab


@pytest.fixture(scope="module")
def timeline(browser: Any, live_server: Any) -> Iterator[Any]:
    tab = open_page(browser, live_server, "/timeline")
    yield tab
    tab.context.close()


def test_timeline_loads_offline_without_errors(timeline: Any) -> None:
    timeline.wait_for_selector(".vis-item")
    assert timeline.evaluate("typeof vis.Timeline") == "function"
    assert timeline.problems == []


def test_timeline_item_opens_its_quote_and_claimant(timeline: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    item = timeline.locator(".vis-item", has_text="Lavrov").first
    item.click()
    details = timeline.locator("#event-details")
    details.wait_for(state="visible")
    assert LAVROV_QUOTE in details.inner_text()
    assert "says who:" in details.inner_text()
    assert "planned" in details.inner_text()
    timeline.screenshot(path=str(ARTIFACTS / "timeline.png"), full_page=True)
    assert timeline.problems == []


def test_timeline_draws_planned_claimed_and_stated_differently(timeline: Any) -> None:
    styles = timeline.evaluate(
        """() => Object.fromEntries(['stated', 'claimed', 'planned'].map(kind => {
            const el = document.querySelector('.vis-item.' + kind);
            return [kind, el ? getComputedStyle(el).color : null];
        }))"""
    )
    assert None not in styles.values()
    assert len(set(styles.values())) == 3


def test_whole_history_reaches_back_to_1922(timeline: Any) -> None:
    # Line 53: "joined the Union of Soviet Socialist Republics in 1922".
    timeline.click("#show-all")
    timeline.wait_for_function(
        """() => {
            const t = window.karabakhTimeline;
            const shown = new Set(t.timeline.getVisibleItems());
            return t.items.some(i => i.start.startsWith('1922') && shown.has(i.id));
        }"""
    )
    assert timeline.problems == []


def test_timeline_filters_by_perspective(browser: Any, live_server: Any) -> None:
    tab = open_page(browser, live_server, "/timeline?perspective=kg:armenia&from=2020")
    try:
        tab.wait_for_selector("#timeline-data", state="attached")
        claimants = tab.evaluate(
            """() => JSON.parse(document.getElementById('timeline-data').textContent)
                .flatMap(i => i.evidence.map(e => e.claimant))"""
        )
        assert "https://w3id.org/karabakh-kg/resource/armenia" in claimants
        assert "https://w3id.org/karabakh-kg/resource/reuters" not in claimants
        assert tab.problems == []
    finally:
        tab.context.close()


LABELS = "[...document.querySelectorAll('#map text.place-label')].map(t => t.textContent)"


@pytest.fixture(scope="module")
def world_map(browser: Any, live_server: Any) -> Iterator[Any]:
    tab = open_page(browser, live_server, "/map")
    tab.wait_for_function("window.karabakhMap && window.karabakhMap.ready")
    yield tab
    tab.context.close()


def test_map_draws_outlines_and_points_offline(world_map: Any) -> None:
    assert world_map.locator("#map path.country").count() > 100  # Natural Earth countries
    labels = world_map.evaluate(LABELS)
    assert {"Mingachevir", "Shusha", "Lachin", "Goranboy", "Baku"} <= set(labels)
    world_map.click("#zoom-all")
    labels = world_map.evaluate(LABELS)
    assert {"Moscow", "Geneva"} <= set(labels)
    world_map.click("#zoom-cluster")
    assert world_map.problems == []


def test_map_point_opens_its_events_and_an_event_its_quote(world_map: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shusha = "https://w3id.org/karabakh-kg/resource/shusha"
    world_map.locator(f'#map circle[data-place="{shusha}"]').click()
    world_map.locator("#place-events").wait_for(state="visible")
    world_map.locator("#place-events button", has_text="Gazan").click()
    details = world_map.locator("#event-details")
    details.wait_for(state="visible")
    text = details.inner_text()
    # Line 9: the ministry "denied reports that artillery was fired at the historic
    # Gazançetsots Cathedral in Shusha".
    assert "artillery was fired at the historic Gazançetsots Cathedral" in text
    assert "Ministry of Defence of Azerbaijan" in text
    assert "disputed" in text
    world_map.screenshot(path=str(ARTIFACTS / "map.png"), full_page=True)
    assert world_map.problems == []


def test_map_lists_places_without_a_point(world_map: Any) -> None:
    listed = world_map.locator("#unplaced li").all_inner_texts()
    # Line 19's village and line 21's Lulasaz are not in the gazetteer; the contact line
    # (line 59) and the Lachin Corridor (line 73) are no populated places.
    for name in ("Karachynar", "Lulasaz", "Lachin Corridor", "contact line"):
        assert any(name in entry for entry in listed), name
