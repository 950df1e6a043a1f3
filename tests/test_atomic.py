"""Atomic file writes (geo._atomic): a temporary file in the same folder, then a rename."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geo._atomic import atomic_write_text


def test_atomic_write_creates_and_replaces(tmp_path):
    path = tmp_path / "sub" / "out.json"
    atomic_write_text(path, "first ‘é’")
    assert path.read_text(encoding="utf-8") == "first ‘é’"
    atomic_write_text(path, "second")
    assert path.read_text(encoding="utf-8") == "second"
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.json"]


def test_failed_replace_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "places.geojson"
    path.write_text("old", encoding="utf-8")

    def fail(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, "new")
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["places.geojson"]


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "places.geojson"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(path, "half \ud800 written")  # a lone surrogate cannot be encoded
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["places.geojson"]


def test_atomic_write_gives_ordinary_file_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    plain = tmp_path / "plain.txt"
    plain.write_text("x", encoding="utf-8")
    atomic = tmp_path / "atomic.txt"
    atomic_write_text(atomic, "x")
    assert (atomic.stat().st_mode & 0o777) == (plain.stat().st_mode & 0o777)


def test_atomic_write_to_a_missing_folder_creates_it(tmp_path):
    path: Path = tmp_path / "a" / "b" / "c.txt"
    atomic_write_text(path, "x")
    assert path.read_text(encoding="utf-8") == "x"
