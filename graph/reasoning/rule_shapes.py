"""The domain rules as parsed, kept on disk, so a start neither imports rdflib's SPARQL parser
nor parses ``rules.ttl``'s CONSTRUCTs again.

Parsing a rule (:func:`karabakh_kg.graph.reasoning.rules.parse_domain_rule`) gives its
*shape*: the body, head and filters with variables as negative numbers and constants as
``["iri", value]`` or ``["literal", value, datatype, language]``; compiling it for one
reasoner only numbers the constants. Shapes are kept in one JSON file per code version in
the cache folder (:func:`karabakh_kg.graph.cache_folder.cache_folder`, off with
``KARABAKH_KG_REASONING_CACHE=off``), keyed by the SHA-256 of the prefixes and the rule's
text; the file is written atomically, and a shape that is not well formed is parsed again.
Only rules that parsed are kept: a rule in error is reported at every start.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from karabakh_kg.graph.cache_folder import cache_folder, code_version
from karabakh_kg.graph.files import write_atomic

Shape = dict[str, list[list[Any]]]
FORMAT = "karabakh-kg rule shapes 1"

_lock = threading.Lock()
_known: dict[str, Shape] = {}
_read_from: set[Path] = set()


def shapes_file() -> Path | None:
    """The file of this code version's shapes, or None when the cache is off."""
    folder = cache_folder()
    return folder / f"rules-{code_version()[:32]}.json" if folder is not None else None


def _is_term(x: Any) -> bool:
    if isinstance(x, int) and not isinstance(x, bool):
        return x < 0
    return isinstance(x, list) and (
        (len(x) == 2 and x[0] == "iri" and isinstance(x[1], str))
        or (len(x) == 4 and x[0] == "literal" and all(isinstance(v, str) for v in x[1:]))
    )


def well_formed(shape: Any) -> bool:
    """Whether ``shape`` can be compiled as it is (so a damaged file is never trusted)."""
    if not isinstance(shape, dict) or set(shape) != {"body", "head", "filters"}:
        return False
    patterns = [*shape["body"], *shape["head"]]
    if not shape["body"] or not all(isinstance(t, list) and len(t) == 3 for t in patterns):
        return False
    if not all(_is_term(x) for t in patterns for x in t):
        return False
    return all(
        isinstance(f, list) and len(f) == 3 and f[0] in ("=", "!=") and all(map(_is_term, f[1:]))
        for f in shape["filters"]
    )


def _read(path: Path) -> dict[str, Shape]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return {}
    shapes = document.get("shapes")
    if not isinstance(shapes, dict):
        return {}
    return {key: shape for key, shape in shapes.items() if well_formed(shape)}


def cached_shape(text: str, parse: Callable[[], Shape]) -> Shape:
    """The shape of the rule whose full text (prefixes included) is ``text``: from memory,
    from the file, or from ``parse()`` (then kept in both)."""
    key = hashlib.sha256(text.encode()).hexdigest()
    path = shapes_file()
    with _lock:
        if path is not None and path not in _read_from:
            _known.update(_read(path))
            _read_from.add(path)
        found = _known.get(key)
    if found is not None:
        return found
    shape = parse()
    with _lock:
        _known[key] = shape
        if path is not None:
            on_disk = _read(path)
            on_disk[key] = shape
            document = {"format": FORMAT, "shapes": on_disk}
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, json.dumps(document, sort_keys=True))
            except OSError:
                pass  # a cache that cannot be written is skipped, never an error
    return shape
