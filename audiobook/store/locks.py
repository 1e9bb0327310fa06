"""Locks in the output folder's private state (flock: released when the process dies, even by kill -9).

- One render per episode at a time: a second render of the same article exits with a clear message
  instead of interleaving writes (`article_lock`, in the episode's state folder).
- The show's register of episodes (which guid, which folder name) is changed by one process at a time
  (`show_lock`, held for the few milliseconds a claim or a retirement takes; others wait for it).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import LockedError, PublishError

LOCK_FILE = "render.lock"
SHOW_LOCK_FILE = "show.lock"


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise PublishError(f"cannot write to {path.parent} ({exc.strerror}); choose a writable output folder") \
            from exc


@contextlib.contextmanager
def article_lock(state_folder: Path, name: str) -> Iterator[None]:
    """Hold the render lock of one episode (its private state folder); `name` is what the
    message calls the article if another render holds it."""
    fd = _open(state_folder / LOCK_FILE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise LockedError(f"another render of {name} is running (pid {holder}); wait for it to finish") \
                from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock, also when the process is killed


@contextlib.contextmanager
def no_render_running(lock_paths: list[Path], doing: str) -> Iterator[None]:
    """Hold a shared lock on every given render lock while `doing` something that must not overlap a
    render: one that is running makes this raise LockedError, one that starts meanwhile waits its
    turn (its article lock fails and says so)."""
    with contextlib.ExitStack() as stack:
        for lock in lock_paths:
            try:
                fd = os.open(lock, os.O_RDONLY)
            except FileNotFoundError:  # its episode was just retired
                continue
            stack.callback(os.close, fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                raise LockedError(f"a render is running (pid {holder}); {doing} when it has finished") from exc
        yield


@contextlib.contextmanager
def show_lock(state_root: Path) -> Iterator[None]:
    """Hold the show's register lock, waiting for another process's short hold to end."""
    fd = _open(state_root / SHOW_LOCK_FILE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
