"""``serve --backend``: a new ``karabakh-kg publish`` reaches pages, traversal and ETags
without a restart, on a real Oxigraph server started by the test."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest
from conftest import start_server, stop_server
from engines import TINY_DATA, oxigraph_server

from karabakh_kg.graph.loading import load_graph
from karabakh_kg.graph.store.publish import publish, read_published
from karabakh_kg.graph.store.remote import EngineTimeout, RemoteStore
from karabakh_kg.ontology import vocab
from karabakh_kg.server.app import create_app
from karabakh_kg.server.settings import Settings, SettingsError
from karabakh_kg.server.sparql.backend import BackendStore, PublishedCopy

MEMBERSHIPS = "SELECT ?group WHERE { kg:tiny-person kgo:memberOf ?group } ORDER BY ?group"
# The curators add a second membership, then publish again.
REVISED = TINY_DATA.replace(
    "kgo:memberOf kg:tiny-group", "kgo:memberOf kg:tiny-group , kg:tiny-club"
)


def _wait_for(check: object, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_a_new_publish_reaches_pages_and_etags(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "tiny.trig").write_text(TINY_DATA, encoding="utf-8")
    (tmp_path / "engine").mkdir()
    with oxigraph_server(tmp_path / "engine") as engine:
        remote = engine.store()
        assert isinstance(remote, RemoteStore)
        publish(load_graph(folder), remote)
        settings = Settings(query_workers=1, backend_refresh=0.2)
        live = start_server(create_app(read_published(remote), settings, BackendStore(remote)))
        try:
            page = httpx.get(live.url + "/resource/tiny-person", timeout=30)
            assert page.status_code == 200 and "tiny-group" in page.text
            assert "tiny-club" not in page.text
            first = httpx.get(live.url + "/sparql", params={"query": MEMBERSHIPS}, timeout=30)
            assert first.status_code == 200, first.text
            old_tag = first.headers["ETag"]

            (folder / "tiny.trig").write_text(REVISED, encoding="utf-8")
            publish(load_graph(folder), remote)

            def page_shows_club() -> bool:
                shown = httpx.get(live.url + "/resource/tiny-person", timeout=30)
                return "tiny-club" in shown.text

            assert _wait_for(page_shows_club), "the page never showed the new publication"
            neighbours = httpx.get(
                live.url + "/graph/neighbours", params={"node": "kg:tiny-person"}, timeout=30
            )
            found = {n["iri"] for n in neighbours.json()["neighbours"]}
            assert str(vocab.KG) + "tiny-club" in found
            # A client holding the old ETag gets the new answer, not 304 Not Modified.
            again = httpx.get(
                live.url + "/sparql",
                params={"query": MEMBERSHIPS},
                headers={"If-None-Match": old_tag},
                timeout=30,
            )
            assert again.status_code == 200
            assert again.headers["ETag"] != old_tag
            groups = [row["group"]["value"] for row in again.json()["results"]["bindings"]]
            assert groups == [str(vocab.KG) + "tiny-club", str(vocab.KG) + "tiny-group"]
        finally:
            stop_server(live)


def test_an_unreadable_engine_keeps_the_copy(tmp_path: Path) -> None:
    """A failed check changes nothing: the copy served stays the one taken before."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "tiny.trig").write_text(TINY_DATA, encoding="utf-8")
    kg = load_graph(folder, reason=False)
    replaced: list[object] = []
    follower = PublishedCopy(
        RemoteStore("http://127.0.0.1:9/sparql"), kg, replaced.append, every=0.1
    )
    assert follower.check() is False
    assert replaced == [] and follower.version == kg.version


def test_refresh_setting_is_checked() -> None:
    with pytest.raises(SettingsError, match="BACKEND_REFRESH"):
        Settings.from_env({"KARABAKH_KG_BACKEND_REFRESH": "-1"})
    assert Settings.from_env({"KARABAKH_KG_BACKEND_REFRESH": "0"}).backend_refresh == 0


def test_a_silent_engine_times_out_with_its_limit_named() -> None:
    """A query without its own limit stops at the store's, and says which it was."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts connections, never answers
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"
    try:
        with pytest.raises(EngineTimeout, match=r"did not answer within 0\.3 s"):
            RemoteStore(url, timeout=0.3).query("ASK {}")
    finally:
        listener.close()
