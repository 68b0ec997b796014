"""``karabakh-kg serve``: one-line errors for bad options, and a real server that answers."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import free_port
from typer.testing import CliRunner

from karabakh_kg.server.cli import app
from karabakh_kg.server.cli.serve import apply_settings, settings_overrides

runner = CliRunner()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--port", "http"], "--port must be a whole number"),
        (["--port", "70000"], "--port must be between 1 and 65535"),
        (["--timeout", "-2"], "--timeout must be positive"),
        (["--timeout", "soon"], "--timeout must be a positive number"),
        (["--workers", "0"], "--workers must be positive"),
        (["--log-level", "loud"], "--log-level must be one of"),
        (["--data-dir", "/no/such/folder"], "data folder /no/such/folder does not exist"),
        (["--host", "no-such-host.invalid"], "cannot listen on no-such-host.invalid"),
    ],
)
def test_bad_options_give_one_line(arguments: list[str], message: str) -> None:
    result = runner.invoke(app, ["serve", *arguments])
    # a value the option refuses is a usage error (2), as typer's are; the others 1
    assert result.exit_code == (2 if " must be " in message else 1)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in result.output


def test_enable_update_needs_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KARABAKH_KG_UPDATE_TOKEN", raising=False)
    result = runner.invoke(app, ["serve", "--enable-update"])
    assert result.exit_code != 0
    assert "UPDATE_TOKEN" in result.output.strip()


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        ("Carol=secret-1", "is not 'name=token'"),  # upper case
        ("carol", "is not 'name=token'"),
        ("carol=secret-1,dana=secret-1", "two contributors share a token"),
    ],
)
def test_bad_update_tokens_are_refused_at_start(tokens: str, message: str) -> None:
    """Checked whenever tokens are given (with updates on or not), never echoed."""
    from karabakh_kg.server.settings import Settings, SettingsError

    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"KARABAKH_KG_UPDATE_TOKENS": tokens})
    assert message in str(refused.value) and "secret-1" not in str(refused.value)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_time_limit_that_is_not_a_finite_number_is_refused(value: str) -> None:
    """nan passes no comparison (every query then "stopped after nan s", its problem
    document not JSON) and inf lifts the limit: neither is a setting."""
    import typer

    from karabakh_kg.server.settings import Settings, SettingsError

    with pytest.raises(typer.Exit):  # serve's option (read here: a server would start)
        settings_overrides(
            timeout=value,
            max_rows=None,
            workers=None,
            cors_origins=None,
            service_allowlist=None,
            enable_update=None,
        )
    with pytest.raises(SettingsError, match="KARABAKH_KG_MAX_QUERY_TIMEOUT"):
        Settings.from_env({"KARABAKH_KG_MAX_QUERY_TIMEOUT": value})
    with pytest.raises(SettingsError, match="KARABAKH_KG_QUERY_TIMEOUT must be finite"):
        Settings(query_timeout=float(value)).check()


def test_busy_port_is_one_line() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = runner.invoke(app, ["serve", "--port", str(port)])
    assert result.exit_code != 0
    assert (
        result.output.strip() == f"error: cannot listen on 127.0.0.1:{port}: address already in use"
    )


def test_options_become_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    names = ("QUERY_TIMEOUT", "MAX_QUERY_TIMEOUT", "QUERY_WORKERS", "CORS_ORIGINS")
    for name in (*names, "SERVICE_ALLOWLIST"):
        monkeypatch.setenv("KARABAKH_KG_" + name, "")  # empty counts as unset
    overrides = settings_overrides(
        timeout="45",
        max_rows=None,
        workers="2",
        cors_origins=["https://a.example", "https://b.example"],
        service_allowlist=["https://query.wikidata.org/sparql"],
        enable_update=None,
    )
    settings = apply_settings(overrides)
    assert settings.query_timeout == 45.0
    assert settings.max_query_timeout >= 45.0
    assert settings.query_workers == 2
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.service_allowed("https://query.wikidata.org/sparql")
    assert not settings.service_allowed("http://169.254.169.254/")
    # Options do not leak into the process environment.
    assert os.environ["KARABAKH_KG_CORS_ORIGINS"] == ""


def start_serve(*options: str) -> tuple[subprocess.Popen[str], str]:
    """``karabakh-kg serve`` in its own process group; (process, URL) once it printed."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "karabakh_kg.server", "serve", "--port", str(port), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 60)
    assert ready, "serve printed nothing"
    first = process.stdout.readline()
    url = f"http://127.0.0.1:{port}/"
    assert url in first, first
    return process, url


def interrupt(process: subprocess.Popen[str]) -> str:
    """Ctrl-C as a terminal sends it (to the whole process group); the rest of the output."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        raise AssertionError("serve did not stop on Ctrl-C: " + output) from None
    return output


def test_stopping_right_after_start_prints_no_traceback() -> None:
    process, _ = start_serve("--log-level", "warning")
    output = interrupt(process)
    assert "Traceback" not in output and "Error" not in output, output


def test_serve_answers_a_new_users_requests(tmp_path: Path) -> None:
    enrichment = tmp_path / "wikidata.trig"
    enrichment.write_text(
        "<https://w3id.org/karabakh-kg/graph/wikidata> { <http://www.wikidata.org/entity/Q399> "
        '<http://www.w3.org/2000/01/rdf-schema#label> "Հայաստան"@hy . }\n',
        encoding="utf-8",
    )
    process, url = start_serve(
        "--log-level", "warning", "--timeout", "3", "--wikidata", str(enrichment)
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                home = httpx.get(url, timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.1)
        assert home.status_code == 200
        page = httpx.get(url + "resource/armenia", headers={"Accept": "text/turtle"}, timeout=5)
        assert page.status_code == 200
        assert "kg:armenia" in page.text
        sparql = url + "sparql"
        malformed = httpx.get(sparql, params={"query": "SELECT * WHERE { ?s ?p }"}, timeout=10)
        assert malformed.status_code == 400
        assert malformed.json()["detail"].startswith("malformed query: error at 1:")
        construct = httpx.get(
            sparql,
            params={"query": "CONSTRUCT WHERE { kg:armenia rdfs:label ?l }"},
            headers={"Accept": "application/n-triples"},
            timeout=10,
        )
        assert construct.headers["content-type"] == "application/n-triples; charset=utf-8"
        assert construct.text.startswith("<https://w3id.org/karabakh-kg/resource/armenia> ")
        csv = httpx.get(
            sparql,
            params={"query": "SELECT ?l WHERE { kg:armenia rdfs:label ?l }"},
            headers={"Accept": "text/csv"},
            timeout=10,
        )
        assert csv.headers["content-type"] == "text/csv; charset=utf-8"
        assert csv.text.splitlines()[0] == "l" and "Armenia" in csv.text
        unknown = httpx.get(url + "resource/armenya", headers={"Accept": "application/json"})
        assert unknown.status_code == 404
        assert "armenia" in {s["href"].rsplit("/", 1)[-1] for s in unknown.json()["suggestions"]}
        label = "SELECT ?l WHERE { wd:Q399 rdfs:label ?l }"
        rows = httpx.get(sparql, params={"query": label}, timeout=10).json()["results"]
        assert [r["l"]["value"] for r in rows["bindings"]] == ["Հայաստան"]
        left_out = httpx.get(sparql, params={"query": label, "wikidata": "false"}, timeout=10)
        assert left_out.json()["results"]["bindings"] == []
    finally:
        output = interrupt(process)
    assert "Traceback" not in output, output
