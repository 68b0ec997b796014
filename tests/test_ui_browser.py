"""The query UI and a resource page in headless Chromium, fully offline.

Every request that leaves 127.0.0.1 is blocked and recorded; the tests assert there is
none. Screenshots go to ``tests/artifacts/`` (not committed).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from conftest import LiveServer

ARTIFACTS = Path(__file__).parent / "artifacts"


@dataclass
class Watched:
    """A page with what it tried to fetch from outside and what it logged as errors."""

    page: Any
    external: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    yield from _watched_page(browser)


def _watched_page(browser: Any) -> Iterator[Watched]:
    """A page of its own browser context, watched, closed after use."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    watch = Watched(page)

    def route(request_route: Any) -> None:
        url = request_route.request.url
        host = urlparse(url).hostname
        if url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            request_route.continue_()
        else:
            watch.external.append(url)
            request_route.abort()

    context.route("**/*", route)
    page.on("console", lambda msg: watch.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: watch.errors.append(str(error)))
    page.on("request", lambda request: watch.requests.append(request))
    yield watch
    context.close()


def _screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_query_ui_runs_an_example_and_follows_a_result_link(
    live_server: LiveServer, watched: Watched
) -> None:
    page = watched.page
    page.goto(live_server.url + "/query")
    page.wait_for_selector(".yasqe .CodeMirror")
    # Syntax highlighting: the editor marks SPARQL keywords.
    page.click("button[data-example='negotiations']")
    page.wait_for_selector(".yasqe .cm-keyword")
    assert "negotiatedWith" in page.evaluate("window.karabakhQuery.yasgui.getTab().getQuery()")
    rows = page.locator(".yasr table.dataTable tbody tr")
    rows.first.wait_for(timeout=20_000)
    assert rows.count() > 0
    assert "No data available" not in rows.first.inner_text()
    _screenshot(page, "query-ui-results.png")

    link = page.locator(".yasr table.dataTable a.local[href^='/resource/']").first
    href = link.get_attribute("href")
    assert href and href.startswith("/resource/")
    link.click()
    page.wait_for_url(live_server.url + href)
    page.wait_for_selector("h1")
    assert page.locator("table#outgoing tbody tr").count() > 0
    assert page.locator("blockquote").count() > 0, "the resource page shows seed quotes"
    _screenshot(page, "resource-page.png")

    assert watched.external == [], f"requests left the server: {watched.external}"
    assert watched.errors == [], f"console errors: {watched.errors}"


def test_include_inferred_toggle_changes_the_request(
    live_server: LiveServer, watched: Watched
) -> None:
    page = watched.page
    page.goto(live_server.url + "/query?example=derived")
    page.locator(".yasr table.dataTable tbody tr").first.wait_for(timeout=20_000)
    first = [r for r in watched.requests if urlparse(r.url).path == "/sparql"]
    assert first and "infer=false" not in (first[-1].post_data or "")

    page.uncheck("#include-inferred")
    with page.expect_response(lambda r: urlparse(r.url).path == "/sparql") as answer:
        page.click("button[data-example='negotiations']")
    request = answer.value.request
    assert "infer=false" in (request.post_data or "") + request.url
    assert answer.value.status == 200
    # The page shows the data version it is answering from.
    assert page.locator("aside .version code").inner_text().strip()
    assert watched.external == [], f"requests left the server: {watched.external}"
    assert watched.errors == [], f"console errors: {watched.errors}"


def test_home_and_not_found_pages_render_offline(live_server: LiveServer, watched: Watched) -> None:
    page = watched.page
    page.goto(live_server.url + "/")
    assert page.locator("a[href='/query']").count() > 0
    _screenshot(page, "home.png")
    response = page.goto(live_server.url + "/resource/sergei-lavrv")
    assert response is not None and response.status == 404
    suggestions = page.locator("ul.suggestions a")
    assert suggestions.count() > 0
    _screenshot(page, "not-found.png")
    # Chromium logs every 404 response as a console error: expected here, and only here.
    assert all("404" in error for error in watched.errors), watched.errors
    watched.errors.clear()
    page.goto(live_server.url + "/ontology#Meeting")
    assert page.locator("#Meeting").is_visible()
    assert watched.external == [], f"requests left the server: {watched.external}"
    assert watched.errors == [], f"console errors: {watched.errors}"


@pytest.fixture(scope="module")
def network_graph(browser: Any, live_server: LiveServer) -> Iterator[Watched]:
    """The network example's CONSTRUCT answer drawn as a graph (the tests only read it)."""
    for watched in _watched_page(browser):
        page = watched.page
        page.goto(live_server.url + "/query?example=network")
        page.locator(".yasr table.dataTable tbody tr").first.wait_for(timeout=20_000)
        page.click(".yasr button.select_graph")
        page.locator(".kg-result-graph canvas").first.wait_for(timeout=20_000)
        yield watched


def test_construct_results_are_drawn_as_a_graph(network_graph: Watched) -> None:
    page = network_graph.page
    assert page.locator(".kg-result-graph canvas").count() > 0
    _screenshot(page, "query-ui-graph.png")
    assert network_graph.external == [], f"requests left the server: {network_graph.external}"
    assert network_graph.errors == [], f"console errors: {network_graph.errors}"


@pytest.mark.parametrize(
    ("path", "rendered"),
    [("/docs", ".swagger-ui .opblock-summary-path"), ("/redoc", "[data-section-id] h2")],
)
def test_api_docs_render_offline(
    live_server: LiveServer, watched: Watched, path: str, rendered: str
) -> None:
    """Swagger UI and ReDoc come from the server's vendored copies, not from a CDN."""
    page = watched.page
    page.goto(live_server.url + path)
    page.locator(rendered).first.wait_for(timeout=30_000)
    assert "/sparql" in page.content()
    _screenshot(page, f"api{path.replace('/', '-')}.png")
    assert watched.external == [], f"requests left the server: {watched.external}"
    assert watched.errors == [], f"console errors: {watched.errors}"


def _overlaps(page: Any) -> list[list[str]]:
    """Pairs of result-graph nodes (labels included) or edge labels whose boxes overlap."""
    return page.evaluate(
        """() => {
            const cy = window.karabakhResultGraph;
            const boxes = cy.nodes().map(
                n => [n.data('label'), n.boundingBox({ includeLabels: true })]
            );
            cy.edges().forEach(e => boxes.push([
                'edge ' + e.id(),
                e.boundingBox({ includeNodes: false, includeEdges: false, includeLabels: true }),
            ]));
            const found = [];
            for (let i = 0; i < boxes.length; i++) {
                for (let j = i + 1; j < boxes.length; j++) {
                    const [a, p] = boxes[i], [b, q] = boxes[j];
                    if (p.w === 0 || q.w === 0) continue;
                    const apart = p.x2 <= q.x1 || q.x2 <= p.x1 || p.y2 <= q.y1 || q.y2 <= p.y1;
                    if (!apart) found.push([a, b]);
                }
            }
            return found;
        }"""
    )


def test_result_graph_labels_do_not_overlap(network_graph: Watched) -> None:
    page = network_graph.page
    # communicatedWith is symmetric: each pair is one edge, drawn without an arrow.
    pairs = page.evaluate(
        "window.karabakhResultGraph.edges().map(e => [e.source().data('label'), "
        "e.target().data('label')].sort().join(' / '))"
    )
    assert "Emmanuel Macron / Ilham Aliyev" in pairs and len(pairs) == len(set(pairs))
    assert _overlaps(page) == []
    assert network_graph.errors == [], f"console errors: {network_graph.errors}"


def _run_in_editor(page: Any, query: str) -> None:
    page.evaluate("(q) => { window.karabakhQuery.yasgui.getTab().setQuery(q); }", query)


def test_editor_knows_the_predeclared_prefixes(live_server: LiveServer, watched: Watched) -> None:
    from playwright.sync_api import expect

    page = watched.page
    page.goto(live_server.url + "/query")
    page.wait_for_selector(".yasqe .CodeMirror")
    marks = page.locator(".yasqe .parseErrorIcon")
    _run_in_editor(page, "SELECT ?who WHERE { ?who nope:metWith kg:sergei-lavrov }")
    expect(marks).to_have_count(1, timeout=5_000)
    _run_in_editor(page, "SELECT ?who { ?who kgo:metWith kg:sergei-lavrov ; a schema:Person }")
    expect(marks).to_have_count(0, timeout=5_000)
    page.wait_for_timeout(500)
    expect(marks).to_have_count(0)


def test_a_failed_query_shows_a_readable_error_and_no_page_error(
    live_server: LiveServer, watched: Watched
) -> None:
    page = watched.page
    page.goto(live_server.url + "/query")
    page.wait_for_selector(".yasqe .CodeMirror")
    _run_in_editor(page, "SELECT * WHERE { ?s ?p }")
    with page.expect_response(lambda r: "/sparql" in r.url and r.status == 400):
        page.click(".yasqe .yasqe_queryButton")
    detail = page.locator(".yasr .kg-query-error-detail")
    detail.wait_for(timeout=10_000)
    assert "malformed query" in detail.inner_text()
    assert page.locator(".yasr .kg-query-error-title").inner_text() == "Bad Request (400)"
    # Wrapped, not cut off at the edge of the results pane.
    assert page.evaluate("(el) => el.scrollWidth <= el.clientWidth", detail.element_handle())
    _screenshot(page, "query-ui-error.png")
    with page.expect_response(lambda r: "/sparql" in r.url and r.status == 400):
        page.click(".yasqe .CodeMirror")
        page.keyboard.press("Control+Enter")
    page.wait_for_timeout(300)
    page_errors = [e for e in watched.errors if "Failed to load resource" not in e]
    # Chromium logs each 400 response as a console error; nothing else may be logged.
    assert page_errors == [], page_errors
    assert watched.external == []
