"""Atomic file writes: write to a temp file in the same directory, fsync, rename.
A crash leaves either the old file or the new one, never half of one.

Files get the mode any tool's files get (0666 less the umask: 0644 by default), not mkstemp's
0600: the public tree is served by a web server running as another user."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from .errors import PublishError


@cache
def umask() -> int:
    """The process's umask, read without changing it where the OS allows (Linux), else by the
    set-and-restore idiom (once, at the first write)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a newly created regular file gets: 0666 less the umask."""
    return 0o666 & ~umask()


@contextlib.contextmanager
def atomic_path(path: Path, durable: bool = True) -> Iterator[Path]:
    """Yield a temp path next to `path`; on success it is renamed over `path`.
    OS errors (a read-only folder, a file where a folder should be, a full disk) become
    PublishError naming the path, here, for every file the project writes.
    durable=False skips the fsync: for disposable files, where one a crash leaves empty or
    torn is only recomputed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise PublishError(f"cannot write {path} ({exc.strerror}); choose a writable output folder") from exc
    try:
        os.fchmod(fd, file_mode())
    finally:
        os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        try:
            if durable:
                with open(tmp_path, "rb+") as fh:
                    os.fsync(fh.fileno())
            os.replace(tmp_path, path)
        except OSError as exc:
            raise PublishError(f"cannot write {path} ({exc.strerror}); check the disk and folder") from exc
    finally:
        tmp_path.unlink(missing_ok=True)


def atomic_write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    with atomic_path(path, durable) as tmp:
        try:
            tmp.write_bytes(data)
        except OSError as exc:  # a full disk
            raise PublishError(f"cannot write {path} ({exc.strerror}); check the disk and folder") from exc


def atomic_write_text(path: Path, text: str, durable: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), durable)
