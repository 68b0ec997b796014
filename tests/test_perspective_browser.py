"""The perspective switch in headless Chromium: the explorer redraws from one side's
statements, marks derived edges resting on a single claimant; the resource page switches
perspective and shows the disputes beside the facts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).parent / "artifacts"
OFFICE = "kg:presidents-office-line-33"


@pytest.fixture(scope="module")
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1500, "height": 950})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.errors = errors
    yield tab
    context.close()


def _edges_to_pashinyan(page: Any) -> list[list[str]]:
    return page.evaluate(
        """() => window.karabakhExplorer.cy.edges().filter(e =>
              e.data('target').endsWith('/nikol-pashinyan')
              || e.data('source').endsWith('/nikol-pashinyan'))
            .map(e => [e.data('label'), e.data('kind'),
                       e.hasClass('single-claimant') ? 'single' : ''])"""
    )


def _wait_for_status(page: Any, text: str) -> None:
    page.wait_for_function(
        "(text) => document.getElementById('status').textContent.includes(text)", arg=text
    )


def test_the_explorer_redraws_in_the_chosen_perspective(page: Any, live_server: Any) -> None:
    page.goto(live_server.url + "/explorer", wait_until="networkidle")
    page.evaluate("window.karabakhExplorer.expand('kg:emmanuel-macron')")
    _wait_for_status(page, "neighbours shown")
    edges = _edges_to_pashinyan(page)
    # line 33: only "the president's office said" Macron spoke with Pashinyan
    assert ["communicatedWith", "derived", "single"] in edges
    page.select_option("#perspective", "article")
    _wait_for_status(page, "neighbours shown")
    assert _edges_to_pashinyan(page) == []
    assert page.evaluate("window.karabakhExplorer.perspective()") == "article"
    page.select_option("#perspective", OFFICE)
    _wait_for_status(page, "neighbours shown")
    assert ["communicatedWith", "derived", "single"] in _edges_to_pashinyan(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer-perspective.png"))
    assert page.errors == []


def test_the_resource_page_switches_perspective_and_shows_disputes(
    page: Any, live_server: Any
) -> None:
    page.goto(live_server.url + "/resource/lachin", wait_until="networkidle")
    facts = page.inner_text("body")
    assert "nagorno-karabakh" in facts.lower()
    with page.expect_navigation():
        page.select_option("#perspective", "article")
    assert "perspective=article" in page.url
    assert page.locator("#perspective").input_value() == "article"
    located = page.locator("tr", has_text="locatedIn").all_inner_texts()
    assert not any("Nagorno-Karabakh" in row for row in located)
    page.goto(live_server.url + "/resource/nagorno-karabakh", wait_until="networkidle")
    disputes = page.locator("#disputes")
    assert disputes.count() == 1
    text = disputes.inner_text()
    assert "always lived in the region" in text and "kg:azerbaijanis" in text
    assert page.errors == []


def test_the_disputes_page_lists_every_dispute_with_its_quotes(page: Any, live_server: Any) -> None:
    page.goto(live_server.url + "/disputes", wait_until="networkidle")
    text = page.inner_text("main")
    assert "about 20 percent" in text and "More than 14 percent" in text
    assert "denied reports" in text
    assert page.locator("section.dispute").count() >= 5
    assert page.errors == []


def test_the_explorer_opens_in_the_resource_pages_perspective(page: Any, live_server: Any) -> None:
    page.goto(live_server.url + "/resource/lachin?perspective=article", wait_until="networkidle")
    with page.expect_navigation():
        page.click("text=Open in the explorer")
    assert page.locator("#perspective").input_value() == "article"
    assert page.errors == []
