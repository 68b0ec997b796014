"""The fast path of ``karabakh-kg serve`` (``server/cli/serve.py: fast_path``): its usual
command lines start the server without building the typer app, and behave exactly as
through typer.

Each command line that ends before serving runs twice, as the console script runs it
(``main``: the fast path where it applies) and through the typer app alone, and the two must
print the same bytes on both streams and exit with the same status. A server started each
way answers the same, prints the same banner and stops the same on Ctrl-C. Expected
answers come from the article: line 37 says Mnatsakanyan "would instead meet with Russian
Foreign Minister Sergei Lavrov in Moscow", so Lavrov participated in that meeting.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_startup_cli import CONSOLE_SCRIPT, TYPER_ALONE

from karabakh_kg.server.cli.serve import _usual_serve

BUSY = "{busy port}"
"""Stands for a port a test socket listens on, so that a start that gets that far fails."""
ASK_LAVROV = "ASK { kg:sergei-lavrov kgo:participatedIn kg:mnatsakanyan-lavrov-meeting }"


@pytest.fixture(scope="module")
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def run(
    program: str, arguments: list[str], port: int, **env: str
) -> subprocess.CompletedProcess[bytes]:
    arguments = [str(port) if argument == BUSY else argument for argument in arguments]
    return subprocess.run(
        [sys.executable, "-c", program, *arguments],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env},
        timeout=120,
    )


A_FILE = str(Path(__file__))
CASES = [
    ["serve", "--port", "0"],  # out of range: the fast path's own error
    ["serve", "--port=seventy"],
    ["serve", "--log-level", "loud", "--port", BUSY],
    ["serve", "--workers", "0", "--port", BUSY],
    ["serve", "--timeout=soon", "--port", BUSY],
    ["serve", "--max-rows", "many", "--port", BUSY],
    ["serve", "--data-dir", "/no/such/folder", "--port", BUSY],
    ["serve", "--port", BUSY],  # busy: after the options are read
    ["serve", "--host", "127.0.0.1", "--port", BUSY, "--log-level=warning"],
    ["serve", "--cors-origin", "https://a.example", "--cors-origin", "*", "--port", BUSY],
    ["serve", "--service-allow", "https://query.wikidata.org/*", "--port", BUSY],
    ["serve", "--enable-update", "--port", BUSY],  # updates without a store: refused
    ["serve", "--enable-update", "--ephemeral-updates", "--port", BUSY],  # without a token
    ["serve", "--disable-update", "--port", BUSY],
    ["serve", "--store", A_FILE, "--port", BUSY],  # a file: typer's own refusal
    ["serve", "--port", BUSY, "--port", BUSY],  # twice: typer's
    ["serve", "--workers", "-3", "--port", BUSY],  # a value like an option: typer's
    ["serve", "--port"],  # no value
    ["serve", "--bogus"],  # typer's usage error
    ["serve", "extra"],
    ["serve", "--help"],
    ["serve", "--no-reason", "--port", BUSY],  # --data's options: typer's
]


@pytest.mark.parametrize("arguments", CASES, ids=[" ".join(c)[6:46] for c in CASES])
def test_the_console_script_behaves_as_typer_does(arguments: list[str], busy_port: int) -> None:
    fast = run(CONSOLE_SCRIPT, arguments, busy_port)
    typer = run(TYPER_ALONE, arguments, busy_port)
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        typer.returncode,
        typer.stdout,
        typer.stderr,
    )
    assert fast.returncode != 0 or arguments[-1] == "--help"
    assert b"Traceback" not in fast.stderr


def test_the_usual_forms_are_read_as_typer_reads_them(tmp_path: Path) -> None:
    assert _usual_serve(["serve"]) == {}
    assert _usual_serve(
        ["serve", "--port=8001", "--host", "::", "--store", str(tmp_path), "--enable-update"]
    ) == {"port": "8001", "host": "::", "store": tmp_path, "enable_update": True}
    assert _usual_serve(["serve", "--cors-origin", "a", "--cors-origin=b"]) == {
        "cors_origin": ["a", "b"]
    }
    assert _usual_serve(["serve", "--data-dir", str(tmp_path / "new")]) == {
        "data_dir": tmp_path / "new"
    }
    for typers in (
        ["query", "ASK {}"],
        ["serve", "--enable-update", "--disable-update"],
        ["serve", "--port", ""],
        ["serve", "--store", A_FILE],
        ["serve", "--data", A_FILE],
        ["serve", "--log-level"],
        ["serve", "--", "--port", "1"],
    ):
        assert _usual_serve(typers) is None, typers


PROBE = """
import json, os, signal, sys, threading, time, urllib.parse, urllib.request
url = 'http://127.0.0.1:' + sys.argv[sys.argv.index('--port') + 1] + '/sparql?query='
url += urllib.parse.quote(sys.argv.pop())  # the query: not the command's
def probe():
    while True:
        try:
            answer = urllib.request.urlopen(url, timeout=60).read()
            break
        except OSError:
            time.sleep(0.02)
    loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'typer')
    sys.stderr.write('PROBE ' + json.dumps([answer.decode(), loaded]) + '\\n')
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=probe, daemon=True).start()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def served(program: str) -> tuple[int, str, list[object], str]:
    """Start ``serve`` through ``program``, ask it whether Lavrov took part in the meeting,
    and stop it with Ctrl-C: its exit status, banner (the load time left out), what the
    probe saw at the first answer, and the rest of standard error."""
    port = free_port()
    done = subprocess.run(
        [
            *(sys.executable, "-c", PROBE + program, "serve", "--log-level=warning"),
            *("--port", str(port), ASK_LAVROV),
        ],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
        text=True,
    )
    banner = re.sub(r"loaded in [0-9.]+ s", "loaded in … s", done.stdout)
    banner = banner.replace(str(port), "PORT")
    probe = next(line for line in done.stderr.splitlines() if line.startswith("PROBE "))
    rest = "\n".join(line for line in done.stderr.splitlines() if not line.startswith("PROBE "))
    return done.returncode, banner, json.loads(probe.removeprefix("PROBE ")), rest


def test_a_server_started_either_way_serves_the_same_and_stops_the_same() -> None:
    """The fast path's server answers from the article, with no typer module loaded by its
    first answer; through typer, the same answer, banner and exit."""
    fast_status, fast_banner, (fast_answer, fast_typer), fast_rest = served(CONSOLE_SCRIPT)
    status, banner, (answer, typer), rest = served(TYPER_ALONE)
    assert json.loads(fast_answer)["boolean"] is True
    assert fast_typer == [] and typer != []
    assert (fast_status, fast_banner, fast_answer) == (status, banner, answer)
    assert fast_banner.startswith("karabakh-kg serving http://127.0.0.1:PORT/")
    assert "Traceback" not in fast_rest and "Traceback" not in rest
