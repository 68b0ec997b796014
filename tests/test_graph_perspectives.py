"""Every /graph route and /export answers from the perspective the client asks for, over real
HTTP on the curated graph.

The article reports the Macron–Aliyev conversations on the word of "the president's office"
alone (line 33: "the president's office said Macron had spoken with Aliyev"), so they hold in
``all`` and in that claimant's perspective, not in the article's own (docs/reasoning.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

KG = "https://w3id.org/karabakh-kg/resource/"
CONVERSATIONS = KG + "macron-aliyev-conversations"
OFFICE = "kg:presidents-office-line-33"


def _node_sets(key: str) -> Callable[[Any], bool]:
    return lambda body: any(
        CONVERSATIONS in {n["iri"] for n in part["nodes"]} for part in body[key]
    )


# route, parameters, and whether the answer shows the conversations
ROUTES: list[tuple[str, dict[str, Any], Callable[[Any], bool]]] = [
    ("/graph/lookup", {"name": "Macron–Aliyev conversations"}, lambda body: body is not None),
    (
        "/graph/search",
        {"q": "Macron Aliyev", "limit": 50},
        lambda body: CONVERSATIONS in {r["iri"] for r in body["results"]},
    ),
    (
        "/graph/neighbours",
        {"node": "kg:ilham-aliyev"},
        lambda body: CONVERSATIONS in {n["iri"] for n in body["neighbours"]},
    ),
    (
        "/graph/path",
        {"from": "kg:emmanuel-macron", "to": "kg:ilham-aliyev", "predicate": "kgo:participant"},
        lambda body: CONVERSATIONS in {n["iri"] for p in body["paths"] for n in p["nodes"]},
    ),
    (
        "/graph/ego",
        {"node": "kg:ilham-aliyev"},
        lambda body: CONVERSATIONS in {n["data"]["id"] for n in body["elements"]["nodes"]},
    ),
    ("/graph/components", {}, _node_sets("components")),
    (
        "/graph/centrality",
        {"top": 1000},
        lambda body: CONVERSATIONS in {r["iri"] for r in body["results"]},
    ),
    ("/graph/communities", {}, _node_sets("communities")),
    (
        "/graph/network",
        {},
        lambda body: (
            ("Emmanuel Macron", "Ilham Aliyev")
            in {(r["sourceLabel"], r["targetLabel"]) for r in body["rows"]}
        ),
    ),
    (
        "/export/d3",
        {"focus": "kg:ilham-aliyev"},
        lambda body: CONVERSATIONS in {n["id"] for n in body["nodes"]},
    ),
]


def _get(url: str, path: str, params: dict[str, Any]) -> Any:
    response = httpx.get(url + path, params=params, timeout=120)
    if path == "/graph/lookup" and response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(("path", "params", "shows"), ROUTES, ids=[r[0] for r in ROUTES])
def test_every_route_answers_from_the_perspective_asked_for(
    live_server: Any, path: str, params: dict[str, Any], shows: Callable[[Any], bool]
) -> None:
    url = live_server.url
    assert shows(_get(url, path, params))
    assert shows(_get(url, path, {**params, "perspective": OFFICE}))
    assert not shows(_get(url, path, {**params, "perspective": "article"}))


def _marks(url: str, **params: str) -> dict[tuple[str, str, str], str | None]:
    body = _get(url, "/graph/neighbours", {"node": "kg:macron-aliyev-conversations", **params})
    return {
        (e["data"]["source"], e["data"]["relation"], e["data"]["target"]): e["data"].get(
            "single_claimant"
        )
        for e in body["elements"]["edges"]
        if e["data"]["kind"] == "derived"
    }


def test_single_claimant_marks_count_only_the_perspectives_supports(live_server: Any) -> None:
    """That the conversations involved Azerbaijan follows from the president's office's
    statement, and also from statements of other claimants: in ``all`` it rests on no one
    claimant alone; in the office's perspective, where only its own supports count, it
    rests on the office alone."""
    edge = (CONVERSATIONS, "kgo:involvedState", KG + "azerbaijan")
    office = KG + "presidents-office-line-33"
    assert _marks(live_server.url)[edge] is None
    assert _marks(live_server.url, perspective=OFFICE)[edge] == office
    # France is involved on the office's word alone, in both
    france = (CONVERSATIONS, "kgo:involvedState", KG + "france")
    assert _marks(live_server.url)[france] == office


def test_the_graph_commands_answer_from_the_perspective_asked_for() -> None:
    """``--perspective`` on neighbours, centrality and communities (as on the routes)."""
    from typer.testing import CliRunner

    from karabakh_kg.server.cli import app

    def run(*args: str) -> Any:
        result = CliRunner().invoke(app, [*args, "--format", "json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    said = run("neighbours", "kg:ilham-aliyev", "--perspective", OFFICE)
    assert CONVERSATIONS in {n["iri"] for n in said["neighbours"]}
    article = run("neighbours", "kg:ilham-aliyev", "-P", "article")
    assert CONVERSATIONS not in {n["iri"] for n in article["neighbours"]}
    assert CONVERSATIONS not in {
        r["iri"] for r in run("centrality", "--top", "1000", "-P", "article")
    }
    parts = run("communities", "-P", "article")
    assert parts and not any(CONVERSATIONS in {n["iri"] for n in p["nodes"]} for p in parts)
