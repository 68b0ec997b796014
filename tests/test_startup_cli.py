"""The fast path of ``karabakh-kg query`` (``server/cli/query.py``): the usual forms of the
command run without building the typer app, and behave exactly as through typer.

Each command line runs twice, as the console script runs it (``main``: the fast path where
it applies) and through the typer app alone, and the two must print the same bytes on both
streams and exit with the same status. Expected answers come from the article: line 37
says Mnatsakanyan "would instead meet with Russian Foreign Minister Sergei Lavrov in
Moscow", so Lavrov participated in that meeting and acts for Russia.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from karabakh_kg.ontology import vocab

KG = str(vocab.KG)
LAVROV = KG + "sergei-lavrov"
MEETING = KG + "mnatsakanyan-lavrov-meeting"
WHO = f"SELECT ?who WHERE {{ ?who kgo:participatedIn <{MEETING}> ; kgo:actsFor kg:russia }}"
NAMED = "import sys; sys.argv[0] = 'karabakh-kg'; "
CONSOLE_SCRIPT = NAMED + "from karabakh_kg.server.cli import main; main()"
TYPER_ALONE = NAMED + "from karabakh_kg.server.cli.root import app; app()"


CACHE = "{session cache}"
"""Stands for the session's cache folder (``conftest.py``), set once the tests run."""


def run(program: str, arguments: list[str], **env: str) -> subprocess.CompletedProcess[bytes]:
    folder = os.environ.get("KARABAKH_KG_CACHE_DIR", "")
    arguments = [folder if argument == CACHE else argument for argument in arguments]
    return subprocess.run(
        [sys.executable, "-c", program, *arguments],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env},
        timeout=120,
    )


CASES = [
    (["query", "ASK {}"], {}),
    (["query", "--format", "csv", WHO], {}),
    (["query", WHO, "--format=json", "--infer"], {}),
    (["query", "--no-infer", WHO, "--format", "tsv"], {}),  # Lavrov's acting for: inferred
    (["query", WHO], {}),  # a table
    (["query", 'SELECT ?x WHERE { BIND("a\\u001B[31mb" AS ?x) }'], {}),  # an escape in a cell
    (["query", 'SELECT ?x WHERE { BIND("Ağdam, Şuşa" AS ?x) }'], {}),  # beyond ASCII
    (["query", "ASK {"], {}),  # malformed
    (["query", ""], {}),  # empty
    (["query", "--format", "turtle", "ASK {}"], {}),  # a graph format for ASK
    (["query", "--format", "csv", "SELECT * WHERE { ?s ?p ?o }"], {"KARABAKH_KG_MAX_ROWS": "3"}),
    (["query", "--format", "CSV", "ASK {}"], {}),  # not a format name: typer's usage error
    (["query", "ASK {}", "ASK {}"], {}),  # an extra argument
    (["query", "--format"], {}),  # an option without its value
    (["query", "--help"], {}),
    (["query", "--timeout", "5", "ASK {}"], {}),  # other options: typer's
    # A root option: typer's. (--cache-dir to the session's warm cache rather than
    # --no-cache, which reasoned the whole graph twice; test_startup.py checks both options.)
    (["--cache-dir", CACHE, "query", "ASK {}"], {}),
]


@pytest.fixture(scope="module")
def outcomes() -> dict[int, tuple[subprocess.CompletedProcess[bytes], ...]]:
    """Every case run both ways, two cases at a time (a run waits on its query worker as
    much as on the CPU), once the first case has warmed the cache (so that no run's output
    differs by building it)."""
    from concurrent.futures import ThreadPoolExecutor

    def both(index: int) -> tuple[subprocess.CompletedProcess[bytes], ...]:
        arguments, env = CASES[index]
        return run(CONSOLE_SCRIPT, arguments, **env), run(TYPER_ALONE, arguments, **env)

    rest = range(1, len(CASES))
    found = {0: both(0)}
    with ThreadPoolExecutor(max_workers=2) as pool:
        found.update(zip(rest, pool.map(both, rest), strict=True))
    return found


@pytest.mark.parametrize("case", range(len(CASES)), ids=[" ".join(c[0])[:40] for c in CASES])
def test_the_console_script_behaves_as_typer_does(
    case: int, outcomes: dict[int, tuple[subprocess.CompletedProcess[bytes], ...]]
) -> None:
    fast, typer = outcomes[case]
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        typer.returncode,
        typer.stdout,
        typer.stderr,
    )
    assert b"Traceback" not in fast.stderr


def test_the_usual_forms_answer_without_typer() -> None:
    """The answers themselves (from the article), and no typer module loaded for them."""
    probe = CONSOLE_SCRIPT.replace(
        "main()",
        "import atexit, json; atexit.register(lambda: sys.stderr.write(json.dumps("
        "sorted(m for m in sys.modules if m.split('.')[0] == 'typer')))); main()",
    )
    ask = run(probe, ["query", "ASK {}"])
    assert ask.returncode == 0 and ask.stdout == b"true\n"
    assert json.loads(ask.stderr) == []
    who = run(probe, ["query", WHO, "--format", "csv"])
    assert who.returncode == 0 and who.stdout.decode().split() == ["who", LAVROV]
    assert json.loads(who.stderr) == []
    refused = run(probe, ["query", "ASK {"])  # a failure: typer's own handling, so typer
    assert refused.returncode == 1 and refused.stderr.startswith(b"error: malformed query")
    message, modules = refused.stderr.decode().split("\n")  # one line, then the probe's
    assert "error at 1:6" in message and "typer" in json.loads(modules)


def test_a_closed_output_ends_quietly_as_through_typer() -> None:
    """``karabakh-kg query ... | head -c 1``: the reader goes away mid-answer."""
    outcomes = []
    for program in (CONSOLE_SCRIPT, TYPER_ALONE):
        command = [sys.executable, "-c", program, "query", "--format", "csv"]
        with subprocess.Popen(
            [*command, "SELECT * WHERE { ?s ?p ?o }"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as reader:
            assert reader.stdout is not None and reader.stderr is not None
            assert reader.stdout.read(1)  # the first byte of the header
            reader.stdout.close()
            outcomes.append((reader.wait(timeout=120), reader.stderr.read()))
    assert outcomes[0] == outcomes[1]
    assert b"Traceback" not in outcomes[0][1]
