"""Atomic writes give files the mode the umask asks for (0644 by default), never mkstemp's 0600:
a web server running as another user must be able to read what is published."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from audiobook.store.files import atomic_write_bytes, umask


@pytest.fixture
def with_umask() -> Iterator[callable]:
    old = os.umask(0o022)
    os.umask(old)

    def set_mask(mask: int) -> None:
        os.umask(mask)
        umask.cache_clear()

    yield set_mask
    os.umask(old)
    umask.cache_clear()


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)],
                         ids=["default", "group-writable", "private"])
def test_written_files_follow_the_umask(tmp_path: Path, with_umask, mask: int, mode: int) -> None:
    with_umask(mask)
    path = tmp_path / "sub" / "feed.rss"
    atomic_write_bytes(path, b"<rss/>")
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o777 & ~mask
    assert path.read_bytes() == b"<rss/>"


def test_replacing_a_file_gives_the_new_one_the_umask_mode(tmp_path: Path, with_umask) -> None:
    with_umask(0o022)
    path = tmp_path / "a.mp3"
    path.write_bytes(b"old")
    path.chmod(0o600)  # a file written by an older version
    atomic_write_bytes(path, b"new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
