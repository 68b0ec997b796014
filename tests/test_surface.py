"""The graph layer's public surface: what the server imports, and a cheap import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import karabakh_kg.graph as graph
from karabakh_kg import server

SERVER = Path(server.__file__).parent


def test_every_public_name_resolves() -> None:
    assert sorted(graph.__all__) == sorted(graph._SURFACE)
    for name in graph.__all__:
        assert getattr(graph, name) is not None, name


def test_the_server_imports_the_graph_layer_only_through_its_surface() -> None:
    reaching_in = []
    for path in sorted(SERVER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("karabakh_kg.graph."):
                    reaching_in.append(f"{path.relative_to(SERVER)}:{node.lineno} {node.module}")
                elif node.module == "karabakh_kg.graph":
                    missing = [a.name for a in node.names if a.name not in graph.__all__]
                    if missing:
                        reaching_in.append(f"{path.relative_to(SERVER)}:{node.lineno} {missing}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("karabakh_kg.graph."):
                        reaching_in.append(f"{path.relative_to(SERVER)}:{node.lineno} {alias.name}")
    assert reaching_in == []


def test_importing_the_graph_layer_loads_none_of_its_modules() -> None:
    """The command line starts fast: modules load when a command first uses them."""
    code = (
        "import sys, karabakh_kg.graph\n"
        "loaded = [m for m in sys.modules if m.startswith('karabakh_kg.graph.')]\n"
        "heavy = [m for m in ('networkx', 'pyoxigraph', 'rdflib', 'curies') if m in sys.modules]\n"
        "print(loaded, heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[] []"


def test_the_reasoner_does_not_import_its_explanations() -> None:
    """dataset -> reasoning -> explain is one way: explain imports the reasoner, not back."""
    code = (
        "import sys, karabakh_kg.graph.reasoning\n"
        "print('karabakh_kg.graph.reasoning.explain' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
