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
