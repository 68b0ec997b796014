"""Atomic writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from karabakh_kg.graph.files import write_atomic


def test_write_atomic_replaces_whole_files_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "graph.gexf"
    write_atomic(target, b"first")
    write_atomic(target, "second, in UTF-8: ü")
    assert target.read_text(encoding="utf-8") == "second, in UTF-8: ü"

    def broken(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        write_atomic(target, b"third")
    assert target.read_text(encoding="utf-8") == "second, in UTF-8: ü"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.gexf"]


def test_a_failed_check_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "links.trig"
    target.write_text("old", encoding="utf-8")
    seen: list[str] = []

    def check(partial: Path) -> None:
        seen.append(partial.read_text(encoding="utf-8"))
        raise ValueError("did not read back")

    with pytest.raises(ValueError, match="read back"):
        write_atomic(target, "new", check=check)
    assert seen == ["new"]  # the check read the new content before any rename
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["links.trig"]
