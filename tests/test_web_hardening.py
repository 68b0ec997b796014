"""Hostile and odd requests to the pages and JSON routes: bounded work, one error shape,
HEAD everywhere (issue 13)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from karabakh_kg.graph.dataset import KnowledgeGraph
from karabakh_kg.server.app import create_app


@pytest.fixture(scope="module")
def client(kg: KnowledgeGraph) -> Iterator[TestClient]:
    with TestClient(create_app(kg), raise_server_exceptions=False) as test_client:
        yield test_client


SAMPLE_PATH_VALUES = {"name": "sergei-lavrov", "fmt": "d3", "graph": "asserted"}


def test_every_documented_get_route_also_answers_head(client: TestClient) -> None:
    """RFC 9110 9.3.2: a server that answers GET answers HEAD (never 405)."""
    paths = client.get("/openapi.json").json()["paths"]
    refused = []
    for template, operations in paths.items():
        if "get" not in operations:
            continue
        path = template.format_map(SAMPLE_PATH_VALUES)
        if client.head(path).status_code == 405:
            refused.append(template)
    assert len(paths) > 10 and refused == []


@pytest.mark.parametrize(
    "path",
    [
        "/explorer",
        "/metrics",
        "/graph/components",
        "/graph/lookup?name=Lavrov",
        "/graph/centrality?top=3",
        "/export/d3",
        "/resource/sergei-lavrov",
        "/docs",
    ],
)
def test_head_gives_the_get_status_and_headers_without_a_body(
    client: TestClient, path: str
) -> None:
    got = client.get(path)
    head = client.head(path)
    assert got.status_code == head.status_code == 200
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.content == b""
