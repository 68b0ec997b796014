"""Atomic writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pyoxigraph as ox
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


def test_the_durable_store_writes_its_state_atomically_and_durably(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = _record_fsyncs(monkeypatch)
    durable._write_state(tmp_path, {"curated_version": "v1"})
    assert synced == ["file", "folder"]

    def broken(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        durable._write_state(tmp_path, {"curated_version": "v2"})
    # The old file whole, no partial file beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == [durable.STATE_FILE]
    assert durable._read_state(tmp_path) == {"curated_version": "v1"}


def _change(name: str) -> QuadChange:
    node = ox.NamedNode(f"https://w3id.org/karabakh-kg/resource/{name}")
    return QuadChange(added=[ox.Quad(node, node, node, node)])


def test_the_journal_is_on_disk_when_written_and_when_emptied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = _record_fsyncs(monkeypatch)
    contributions.write_journal(tmp_path, _change("first"))
    # The record, then the folder that now names the journal file (its first write only).
    assert synced == ["file", "folder"]
    assert contributions.pending_change(tmp_path) == _change("first")
    synced.clear()
    contributions.clear_journal(tmp_path)
    # Emptied and flushed: a crash cannot bring the applied change back.
    assert synced == ["file"]
    assert contributions.pending_change(tmp_path) is None
    synced.clear()
    contributions.write_journal(tmp_path, _change("second"))
    assert synced == ["file"]
    assert contributions.pending_change(tmp_path) == _change("second")


def test_a_journal_write_cut_short_holds_no_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash while the journal is written (before the commit point) leaves part of the
    record: that is no pending change, and the next change writes over it."""
    contributions.write_journal(tmp_path, _change("whole"))
    whole = (tmp_path / contributions.JOURNAL).read_bytes()
    for cut in (1, len(whole) // 2, len(whole) - 1):
        (tmp_path / contributions.JOURNAL).write_bytes(whole[:cut])
        assert contributions.pending_change(tmp_path) is None
    contributions.write_journal(tmp_path, _change("next"))
    assert contributions.pending_change(tmp_path) == _change("next")
