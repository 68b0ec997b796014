"""The graph layer's public surface: what the server imports, and a cheap import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx

import karabakh_kg.graph as graph
from karabakh_kg import server

SERVER = Path(server.__file__).parent
GRAPH = Path(graph.__file__).parent


def test_every_public_name_resolves() -> None:
    assert sorted(graph.__all__) == sorted(graph._SURFACE)
    for name in graph.__all__:
        assert getattr(graph, name) is not None, name


def test_no_public_function_shares_a_module_name() -> None:
    """Importing ``karabakh_kg.graph.x`` sets the package's attribute ``x`` to the module,
    which would hide a public function of the same name from every later reader."""
    modules = {p.stem for p in GRAPH.glob("*.py")} | {
        p.parent.name for p in GRAPH.glob("*/__init__.py")
    }
    shadowed = [
        name for name, (_, attribute) in graph._SURFACE.items() if attribute and name in modules
    ]
    assert shadowed == []


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


def _module_name(path: Path) -> str:
    parts = ["karabakh_kg", "graph", *path.relative_to(GRAPH).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST, package: str) -> list[tuple[str, int]]:
    """Every module named by an import of ``tree``, at any depth (inside functions too),
    except under ``if TYPE_CHECKING:``, which never runs."""
    found: list[tuple[str, int]] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            # ``from package import name`` runs the package, and the module ``name`` if it is one.
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
            found.append((base, node.lineno))
        found += _imports(node, package)
    return found


def graph_layer_imports() -> nx.DiGraph:
    """Which graph-layer module imports which, read from the source."""
    modules = {_module_name(path): path for path in GRAPH.rglob("*.py")}
    imports = nx.DiGraph()
    for name, path in modules.items():
        imports.add_node(name)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for target, line in _imports(tree, package):
            if target in modules and target != name:
                imports.add_edge(name, target, line=line)
    return imports


def test_the_graph_layer_has_no_import_cycle_even_inside_functions() -> None:
    """An import inside a function hides a cycle that a change of the call order turns into
    an ImportError; the graph layer's modules import each other one way only."""
    imports = graph_layer_imports()
    assert imports.has_edge("karabakh_kg.graph.loading", "karabakh_kg.graph.reasoning")
    cycles = [
        " -> ".join(
            f"{a} (line {imports.edges[a, b]['line']})"
            for a, b in zip(c, [*c[1:], c[0]], strict=True)
        )
        for c in nx.simple_cycles(imports)
    ]
    assert cycles == []


def test_the_reasoner_does_not_import_its_explanations() -> None:
    """dataset -> reasoning -> explain is one way: explain imports the reasoner, not back."""
    code = (
        "import sys, karabakh_kg.graph.reasoning\n"
        "print('karabakh_kg.graph.reasoning.explain' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
