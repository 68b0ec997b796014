"""The result cache (KARABAKH_KG_RESULT_CACHE_MB): an answer is served again for the same
data, query, dataset and format, never after the data changed; bounded in bytes; off by
default."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from karabakh_kg.graph.loading import load_graph
from karabakh_kg.server.settings import Settings, SettingsError
from karabakh_kg.server.sparql.execute import ResultCache
from karabakh_kg.server.sparql.protocol import QueryAnswer

TOKEN = "cache-token-51c2"
PERSON = "https://w3id.org/karabakh-kg/resource/cache-test-person"
LABELS = f"SELECT ?l WHERE {{ <{PERSON}> rdfs:label ?l }}"
# Sergei Lavrov is in the article (line 37: "Russian Foreign Minister Sergei Lavrov").
LAVROV = "ASK { kg:sergei-lavrov a kgo:Person }"


@pytest.fixture(scope="module")
def cached(server_factory: Any) -> Any:
    return server_factory(
        load_graph(),
        Settings(
            result_cache_mb=4, enable_updates=True, ephemeral_updates=True, update_token=TOKEN
        ),
    )


def get(
    live: Any, query: str, accept: str = "application/sparql-results+json", **params: str
) -> httpx.Response:
    response = httpx.get(
        live.url + "/sparql",
        params={"query": query, **params},
        headers={"Accept": accept},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response


def hits(live: Any) -> int:
    return int(live.server.config.app.state.sparql.cache.hits)


def test_a_repeated_query_is_answered_from_the_cache(cached: Any) -> None:
    first = get(cached, LAVROV)
    before = hits(cached)
    again = get(cached, LAVROV)
    assert hits(cached) == before + 1
    assert again.content == first.content and again.json()["boolean"] is True
    assert again.headers["etag"] == first.headers["etag"]


def test_format_dataset_and_perspective_are_part_of_the_key(cached: Any) -> None:
    get(cached, LAVROV)
    before = hits(cached)
    xml = get(cached, LAVROV, accept="application/sparql-results+xml")
    assert xml.headers["content-type"].startswith("application/sparql-results+xml")
    assert b"<boolean>true</boolean>" in xml.content
    get(cached, LAVROV, infer="false")
    get(cached, LAVROV, wikidata="false")
    get(cached, LAVROV, perspective="article")
    assert hits(cached) == before  # four new keys, four evaluations


def test_an_update_is_seen_by_the_next_query(cached: Any) -> None:
    assert get(cached, LABELS).json()["results"]["bindings"] == []
    assert get(cached, LABELS).json()["results"]["bindings"] == []  # now cached
    response = httpx.post(
        cached.url + "/sparql/update",
        content=f'INSERT DATA {{ <{PERSON}> rdfs:label "Cache Test"@en }}'.encode(),
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    rows = get(cached, LABELS).json()["results"]["bindings"]
    assert [row["l"]["value"] for row in rows] == ["Cache Test"]


def test_the_cache_is_off_by_default(live_server: Any) -> None:
    endpoint = live_server.server.config.app.state.sparql
    assert endpoint.settings.result_cache_mb == 0
    for _ in range(2):
        get(live_server, LAVROV)
    assert endpoint.cache.hits == 0 and len(endpoint.cache) == 0


def test_the_cache_is_bounded_in_bytes() -> None:
    cache = ResultCache(1_000)
    for number in range(5):
        cache.put((f"q{number}", 0), QueryAnswer("SELECT", "json", b"x" * 120))
    assert cache.size <= 1_000 and len(cache) == 5
    for number in range(5, 12):
        cache.put((f"q{number}", 0), QueryAnswer("SELECT", "json", b"x" * 120))
    assert cache.size <= 1_000 and len(cache) == 8
    assert cache.get(("q0", 0)) is None and cache.get(("q11", 0)) is not None  # oldest out
    cache.put(("big", 0), QueryAnswer("SELECT", "json", b"x" * 126))  # over an eighth
    assert cache.get(("big", 0)) is None


def test_a_negative_cache_size_is_refused() -> None:
    with pytest.raises(SettingsError, match="RESULT_CACHE_MB"):
        Settings.from_env({"KARABAKH_KG_RESULT_CACHE_MB": "-1"})
