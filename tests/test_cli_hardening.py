"""The command line under hostile or careless input (issue 13): the server's limits for
``query``, one-line errors for files it cannot read or write, ``--version``, headers."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from karabakh_kg.ontology import vocab
from karabakh_kg.server.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent
CROSS_PRODUCT = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def one_line_error(code: int, err: str) -> str:
    """The single ``error: …`` line of a failed command (and no traceback)."""
    assert code != 0
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def test_an_undeclared_prefix_is_named_with_the_predeclared_ones() -> None:
    code, _, err = run("query", "SELECT * WHERE {\n  ?s nope:x ?o }")
    line = one_line_error(code, err)
    assert "unknown prefix 'nope:' at line 2" in line
    assert "kgo:" in line and "prov:" in line  # the predeclared prefixes
    assert "\\u{" not in line  # not pyoxigraph's dump of character ranges


# -- query: the server's limits --------------------------------------------------------------


def test_query_is_stopped_at_its_time_limit() -> None:
    """A 3-way cross product of the whole graph (about 10^11 rows) never finishes."""
    code, out, err = run("query", "--no-infer", "--timeout", "0.5", CROSS_PRODUCT)
    assert "stopped after 0.5 s" in one_line_error(code, err) and "--timeout" in err
    assert out == ""


def test_query_row_and_byte_caps_refuse_with_the_option_to_raise() -> None:
    code, _, err = run("query", "--no-infer", "--max-rows", "5", "SELECT * { ?s ?p ?o }")
    assert "more than 5 rows" in one_line_error(code, err) and "--max-rows" in err
    code, _, err = run(
        "query", "--no-infer", "--max-bytes", "200", "--format", "csv", "SELECT * { ?s ?p ?o }"
    )
    assert "larger than 200 bytes" in one_line_error(code, err) and "--max-bytes" in err


def test_query_takes_its_default_limits_from_the_server_settings() -> None:
    """KARABAKH_KG_MAX_ROWS caps the server's answers, so it caps the command's too."""
    env = {"KARABAKH_KG_MAX_ROWS": "3"}
    code, _, err = run("query", "--no-infer", "SELECT * { ?s ?p ?o }", env=env)
    assert "more than 3 rows" in one_line_error(code, err)
    code, out, _ = run("query", "--no-infer", "--format", "csv", "SELECT * { ?s ?p ?o } LIMIT 3")
    assert code == 0 and len(out.splitlines()) == 4


def test_a_large_answer_comes_back_under_the_default_limits() -> None:
    """Issue 13: a 20,000-row answer must not be refused by default."""
    query = "SELECT ?a ?b WHERE { ?a a kgo:Person . ?b ?p ?o } LIMIT 20000"
    code, out, err = run("query", "--no-infer", "--format", "tsv", query)
    assert code == 0, err
    assert len(out.splitlines()) == 20_001


# -- files it cannot read or write ---------------------------------------------------------


@pytest.fixture(scope="module")
def broken_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Copies of the curated data with a folder named like a data file, and a dangling link."""
    folders = {}
    for kind in ("folder", "dangling"):
        folder = tmp_path_factory.mktemp(kind)
        for source in vocab.curated_data_dir().glob("*.trig"):
            shutil.copy(source, folder / source.name)
        if kind == "folder":
            (folder / "notes.trig").mkdir()
        else:
            (folder / "gone.trig").symlink_to(folder / "no-such-file.trig")
        folders[kind] = folder
    return folders


@pytest.mark.parametrize("kind", ["folder", "dangling"])
@pytest.mark.parametrize("command", [["validate"], ["stats"], ["query", "ASK {}"]])
def test_an_unreadable_data_file_is_one_line(
    broken_data: dict[str, Path], kind: str, command: list[str]
) -> None:
    code, _, err = run(*command, "--data-dir", str(broken_data[kind]))
    line = one_line_error(code, err)
    assert ("notes.trig is a folder" if kind == "folder" else "gone.trig") in line


def test_serve_with_an_unreadable_data_file_is_one_line(broken_data: dict[str, Path]) -> None:
    code, _, err = run("serve", "--port", "1", "--data-dir", str(broken_data["folder"]))
    assert "notes.trig is a folder" in one_line_error(code, err)


def test_serve_with_wikidata_and_an_unreadable_data_file_is_one_line(
    broken_data: dict[str, Path], tmp_path: Path
) -> None:
    enrichment = tmp_path / "wikidata.trig"
    enrichment.write_text(
        "<https://w3id.org/karabakh-kg/graph/wikidata> { <http://www.wikidata.org/entity/Q399> "
        '<http://www.w3.org/2000/01/rdf-schema#label> "Armenia"@en . }\n',
        encoding="utf-8",
    )
    args = ["--port", "1", "--wikidata", str(enrichment), "--data-dir", str(broken_data["folder"])]
    code, _, err = run("serve", *args)
    assert "notes.trig is a folder" in one_line_error(code, err)


def test_query_file_errors(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.rq"
    latin1.write_bytes('SELECT * WHERE { ?s rdfs:label "Bak\xfc" }'.encode("latin-1"))
    code, _, err = run("query", "-f", str(latin1))
    assert "is not UTF-8" in one_line_error(code, err)
    code, _, err = run("query", "-f", str(tmp_path))
    assert "is a folder" in one_line_error(code, err)
    code, _, err = run("query", "-f", str(tmp_path / "missing.rq"))
    assert "does not exist" in one_line_error(code, err)


def test_export_into_an_unwritable_folder_is_one_line(tmp_path: Path) -> None:
    # sysfs refuses new files even to root; a path under a regular file is never writable.
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    for target in (Path("/sys/kernel/karabakh.gv"), not_a_folder / "out.gv"):
        code, _, err = run("export", "-f", "dot", "-o", str(target))
        assert str(target.parent) in one_line_error(code, err)
        assert not target.exists()


# -- small things ------------------------------------------------------------------------


def test_version_option_prints_the_project_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    code, out, _ = run("--version")
    assert code == 0 and out == f"karabakh-kg {version}\n"


def test_centrality_header_names_the_measure_once() -> None:
    code, out, _ = run("centrality", "--top", "3")
    assert code == 0
    header = re.split(r"\s{2,}", out.splitlines()[0].strip())
    assert header == ["entity", "category", "degree centrality", "degree"]
    assert set(out.splitlines()[1].replace(" ", "")) == {"-"}


def test_path_of_one_step_says_step() -> None:
    """Macron spoke with Aliyev (line 33 of the article): a path of one step."""
    code, out, _ = run("path", "Macron", "Aliyev")
    assert code == 0
    assert out.splitlines()[0].startswith("path 1 (1 step): Emmanuel Macron → Ilham Aliyev")


def test_tables_print_cells_as_plain_text() -> None:
    """Rich markup in the data is text: a label with [brackets] prints as it is."""
    from karabakh_kg.server.cli.output import render_table

    text = render_table(["a", "b"], [["[bold]x[/bold]", ":smile:"], ["long " * 40, "y"]])
    lines = text.splitlines()
    assert lines[2].split() == ["[bold]x[/bold]", ":smile:"]
    assert len(lines) == 4 and all(line == line.rstrip() for line in lines)


@pytest.mark.parametrize("arguments", [["export", "-f", "ttl"], ["query", "ASK {}"], ["events"]])
def test_a_closed_standard_output_is_one_line(arguments: list[str]) -> None:
    """Started with standard output closed (``>&-``), a command says so in one line and
    exits 1, where it printed a traceback at its first write."""
    import subprocess
    import sys

    script = str(Path(sys.executable).with_name("karabakh-kg"))
    done = subprocess.run(
        ["bash", "-c", 'exec "$0" "$@" >&-', script, *arguments],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr == "error: standard output is closed: there is nowhere to write\n"


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (["neighbours", "--k", "abc", "kg:lavrov"], "'abc' is not a valid int"),
        (["query", "--nope", "ASK {}"], "No such option: --nope"),
        (["--bogus", "version"], "No such option: --bogus"),
        (["neighbours"], "Missing argument 'name'"),
        (["nosuch"], "No such command 'nosuch'"),
        (["link", "check", "--bad"], "No such option: --bad"),
    ],
)
def test_a_usage_error_is_one_line_with_status_2(arguments: list[str], problem: str) -> None:
    """An unknown option or command, a missing argument or a value its type refuses: one
    ``error:`` line naming it and the command's help, exit 2 (not typer's usage text and
    framed message). Run as a user runs it: the console script, in a terminal-less pipe."""
    import subprocess
    import sys

    script = str(Path(sys.executable).with_name("karabakh-kg"))
    done = subprocess.run([script, *arguments], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    line = one_line_error(done.returncode, done.stderr)
    assert problem in line and "--help" in line
    assert done.stdout == ""


def test_no_arguments_still_print_the_help() -> None:
    """``no_args_is_help`` is help, not an error line: the commands are listed."""
    _, out, err = run("link")
    assert "check" in out + err and "error:" not in out + err


LONG_NAME = "x" * 100_000


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["neighbours", LONG_NAME], "the name is 100000 characters long; at most 300"),
        (["path", LONG_NAME, "Lavrov"], "the name is 100000 characters long; at most 300"),
        (["export", "-f", "dot", "--focus", LONG_NAME], "the name is 100000 characters"),
        (["explain", LONG_NAME, "a", "kgo:Person"], "the term is 100000 characters long"),
        (["link", "suggest", LONG_NAME], "the name is 100000 characters long"),
    ],
)
def test_a_name_past_the_servers_bound_is_refused_not_echoed(
    arguments: list[str], message: str
) -> None:
    """A name longer than the server's bound (300 characters; 2 000 for a term of
    ``explain``) is refused as the server refuses it, before any lookup, and the line does
    not repeat it."""
    code, out, err = run(*arguments)
    line = one_line_error(code, err)
    assert message in line and len(line) < 200
    assert out == ""


def test_a_usage_error_quoting_a_long_argument_is_cut_short() -> None:
    code, _, err = run("neighbours", "Lavrov", LONG_NAME)
    line = one_line_error(code, err)
    assert "unexpected extra argument" in line and len(line) < 600


@pytest.mark.parametrize("brackets", ["{}", "()"])
def test_a_text_nested_past_the_limit_is_refused_not_a_crash(brackets: str) -> None:
    """5 000 nested braces or parentheses (the engine's parser, which recurses, crashes on
    them): refused with the server's depth limit in one line. In a process of its own, as
    users run it: a crash must not take the test run with it."""
    import subprocess
    import sys

    opening, closing = brackets
    text = "ASK " + opening * 5000 + closing * 5000
    script = str(Path(sys.executable).with_name("karabakh-kg"))
    done = subprocess.run([script, "query", text], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, (done.returncode, done.stderr[-300:])
    assert "deep; the limit is 200" in one_line_error(done.returncode, done.stderr)


def test_an_update_given_to_query_is_named_as_the_server_names_it() -> None:
    code, _, err = run("query", "INSERT DATA { <urn:a> <urn:b> <urn:c> }")
    line = one_line_error(code, err)
    assert "this is a SPARQL Update" in line and "malformed" not in line


def test_every_graph_format_the_server_offers_is_a_query_format() -> None:
    """``query --format`` offered Turtle and N-Triples only, while the docs spoke of cutting
    TriG, RDF/XML and JSON-LD output: each is written, and parses to the same triples."""
    import subprocess
    import sys

    import pyoxigraph as ox

    script = str(Path(sys.executable).with_name("karabakh-kg"))
    construct = "CONSTRUCT WHERE { kg:sergei-lavrov ?p ?o }"
    media = {
        "nt": "application/n-triples",
        "turtle": "text/turtle",
        "rdfxml": "application/rdf+xml",
        "jsonld": "application/ld+json",
        "trig": "application/trig",
        "nquads": "application/n-quads",
    }
    read = {}
    for name, media_type in media.items():
        done = subprocess.run(
            [script, "query", "--format", name, construct], capture_output=True, timeout=120
        )
        assert done.returncode == 0, (name, done.stderr)
        syntax = ox.RdfFormat.from_media_type(media_type)
        read[name] = {q.triple for q in ox.parse(done.stdout, format=syntax)}
    assert len(read["nt"]) > 5
    assert all(triples == read["nt"] for triples in read.values())


def test_a_wikidata_file_nested_past_the_limit_is_one_line(tmp_path: Path) -> None:
    """``serve --wikidata`` reads its file apart from the data files: 40 000 nested objects
    crashed it (exit 139) in pyoxigraph's recursive JSON-LD parser."""
    import subprocess
    import sys

    inner = '{"urn:p": ' * 40_000 + '"x"' + "}" * 40_000
    (tmp_path / "deep.jsonld").write_text(f'{{"@id": "urn:a", "urn:p": {inner}}}')
    script = str(Path(sys.executable).with_name("karabakh-kg"))
    done = subprocess.run(
        [script, "serve", "--port", "1", "--wikidata", "deep.jsonld"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 1, (done.returncode, done.stderr[-300:])
    line = one_line_error(1, done.stderr)
    assert line.startswith("error: deep.jsonld: the JSON-LD nests objects and arrays more")
