"""The cache folder and the version of the code behind what is cached.

Kept apart from :mod:`karabakh_kg.graph.cache` (the reasoned store, which uses the reasoner)
so that the reasoner's own cache of compiled rules (:mod:`.reasoning.rule_shapes`) can use
them without an import cycle.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

import pyoxigraph as ox

CACHE_DIR_VARIABLE = "KARABAKH_KG_CACHE_DIR"
SWITCH_VARIABLE = "KARABAKH_KG_REASONING_CACHE"
OFF_VALUES = {"off", "0", "false", "no"}
FOLDER = "reasoned"
"""The subfolder of the cache root holding the reasoned stores."""
CODE_FILES = ("dataset.py", "cache.py", "cache_folder.py", "loading.py")
"""Modules of the graph layer (besides the reasoning package) that shape the stored graphs."""


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """The cache root: ``KARABAKH_KG_CACHE_DIR``, else the user cache folder."""
    env = os.environ if environ is None else environ
    configured = env.get(CACHE_DIR_VARIABLE, "").strip()
    if configured:
        return Path(configured)
    import platformdirs

    return Path(platformdirs.user_cache_dir("karabakh-kg"))


def cache_folder(environ: Mapping[str, str] | None = None) -> Path | None:
    """Where reasoned stores are kept, or None when ``KARABAKH_KG_REASONING_CACHE=off``."""
    env = os.environ if environ is None else environ
    if env.get(SWITCH_VARIABLE, "").strip().lower() in OFF_VALUES:
        return None
    return cache_root(env) / FOLDER


@functools.cache
def code_version() -> str:
    """A SHA-256 over the source of the code that computes and lays out the reasoned store,
    and the engine's version: an upgrade changes it, so no older closure is served. Read
    once per process: the code that runs is the code that was there when it started."""
    here = Path(__file__).resolve().parent
    files = sorted((here / "reasoning").rglob("*.py")) + [here / name for name in CODE_FILES]
    digest = hashlib.sha256(f"pyoxigraph {ox.__version__}\0".encode())
    for path in files:
        digest.update(path.relative_to(here).as_posix().encode() + b"\0")
        with contextlib.suppress(OSError):
            digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()
