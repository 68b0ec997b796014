"""Atomic writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from karabakh_kg.graph.files import write_atomic
from karabakh_kg.graph.store import QuadChange, contributions, durable


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


def _record_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make os.fsync note what it flushed: 'file' or 'folder'."""
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


def test_a_write_is_on_disk_file_and_name_when_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = _record_fsyncs(monkeypatch)
    write_atomic(tmp_path / "state.json", "{}")
    # The content before the rename, the folder (the rename itself) after it.
    assert synced == ["file", "folder"]


def test_the_durable_store_writes_its_state_and_journal_atomically_and_durably(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = _record_fsyncs(monkeypatch)
    durable._write_state(tmp_path, {"curated_version": "v1"})
    contributions.write_journal(tmp_path, QuadChange())
    assert synced == ["file", "folder", "file", "folder"]
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [contributions.JOURNAL, durable.STATE_FILE]

    def broken(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        durable._write_state(tmp_path, {"curated_version": "v2"})
    with pytest.raises(OSError):
        contributions.write_journal(tmp_path, QuadChange(reset=True))
    # The old files whole, no partial file beside them.
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    assert durable._read_state(tmp_path) == {"curated_version": "v1"}
    assert contributions.pending_change(tmp_path) == QuadChange()
