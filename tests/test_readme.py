"""Every example of the README runs, and prints what the README shows.

A ``sh`` block followed by a plain block is a command and its output: ``karabakh-kg``
commands run through the real typer app, ``curl`` commands against a live server (the
README's ``http://127.0.0.1:8000`` replaced by its address). A command block without an
output block must still succeed. Installation and server start-up commands are left to
``tests/test_cli_serve.py`` and ``.ci/run``.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import LiveServer
from typer.testing import CliRunner

from karabakh_kg.server.cli import app

README = Path(__file__).resolve().parent.parent / "README.md"
README_SERVER = "http://127.0.0.1:8000"
NOT_RUN = ("python3 -m venv", "bash tests/run-all.sh", "karabakh-kg serve")
BLOCK = re.compile(r"```(?P<lang>[a-z]*)\n(?P<body>.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Example:
    command: str
    output: str | None
    line: int


def readme_examples(text: str) -> list[Example]:
    """Each ``sh`` block, with the plain block right after it (if any) as its output."""
    blocks = list(BLOCK.finditer(text))
    found = []
    for i, block in enumerate(blocks):
        if block["lang"] != "sh":
            continue
        output = None
        after = blocks[i + 1] if i + 1 < len(blocks) else None
        if after and after["lang"] == "" and not text[block.end() : after.start()].strip():
            output = after["body"]
        line = text[: block.start()].count("\n") + 1
        found.append(Example(block["body"].strip(), output, line))
    return found


EXAMPLES = [e for e in readme_examples(README.read_text(encoding="utf-8"))]
RUN = [e for e in EXAMPLES if not e.command.startswith(NOT_RUN)]


def _words(command: str) -> list[str]:
    return shlex.split(command.replace("\\\n", " "))


def _same(actual: str, expected: str) -> None:
    lines = [line.rstrip() for line in actual.rstrip("\n").splitlines()]
    assert lines == [line.rstrip() for line in expected.rstrip("\n").splitlines()]


def test_the_readme_has_examples_with_outputs() -> None:
    assert sum(1 for e in RUN if e.output is not None) >= 5
    assert any(e.command.startswith("curl") for e in RUN)


@pytest.mark.parametrize(
    "example",
    [e for e in RUN if e.command.startswith("karabakh-kg")],
    ids=lambda e: f"line-{e.line}",
)
def test_readme_command_prints_what_the_readme_shows(example: Example) -> None:
    result = CliRunner().invoke(app, _words(example.command)[1:])
    assert result.exit_code == 0, result.stderr
    if example.output is None:
        if "--format json" in example.command:
            json.loads(result.stdout)
        return
    _same(result.stdout, example.output)


def _curl(words: list[str], base: str) -> httpx.Response:
    """The request a README ``curl`` line makes (the options the README uses)."""
    headers: dict[str, str] = {}
    form: list[tuple[str, str]] = []
    url = ""
    words = words[1:]
    while words:
        word = words.pop(0)
        if word == "-H":
            name, _, value = words.pop(0).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "--data-urlencode":
            name, _, value = words.pop(0).partition("=")
            form.append((name, value))
        elif word.startswith("-"):
            raise AssertionError(f"curl option {word} is not understood by this test")
        else:
            url = word.replace(README_SERVER, base)
    if form:
        return httpx.post(url, data=dict(form), headers=headers, timeout=30)
    return httpx.get(url, headers=headers, timeout=30)


@pytest.mark.parametrize(
    "example", [e for e in RUN if e.command.startswith("curl")], ids=lambda e: f"line-{e.line}"
)
def test_readme_curl_answers_what_the_readme_shows(
    live_server: LiveServer, example: Example
) -> None:
    response = _curl(_words(example.command), live_server.url)
    assert response.status_code == 200, response.text
    if example.output is not None:
        _same(response.text.replace("\r\n", "\n"), example.output)


def test_every_readme_command_is_run_or_named_as_not_run() -> None:
    for example in EXAMPLES:
        assert example in RUN or example.command.startswith(NOT_RUN)
        assert example.command.startswith(("karabakh-kg", "curl", *NOT_RUN)), example.command
