"""Atomic writes leave the old file or the new one, never half of one."""

from __future__ import annotations

import os

import pytest

from mpm_core.atomic import atomic_write, atomic_write_bytes


def test_success_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with atomic_write(target) as f:
        f.write("new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_failure_midway_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.bin"
    atomic_write_bytes(target, b"old")
    with pytest.raises(RuntimeError), atomic_write(target, binary=True) as f:
        f.write(b"half")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_creates_missing_folders(tmp_path):
    target = tmp_path / "a" / "b" / "c.txt"
    with atomic_write(target) as f:
        f.write("x")
    assert target.read_text() == "x"


def test_written_files_get_the_usual_permissions(tmp_path):
    """mkstemp creates 0600 files; an export must be readable like any file the user writes."""
    from mpm_core.atomic import _UMASK

    target = tmp_path / "shared.csv"
    atomic_write_bytes(target, b"x")
    assert target.stat().st_mode & 0o777 == 0o666 & ~_UMASK
