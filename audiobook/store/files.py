"""Files: the one file hasher, and atomic writes: write to a temp file in the same directory, fsync, rename.
A crash leaves either the old file or the new one, never half of one.

Files get the mode any tool's files get (0666 less the umask: 0644 by default), not mkstemp's
0600: the public tree is served by a web server running as another user."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from ..errors import PublishError


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


TEMP_SUFFIX = ".tmp"


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in pieces (a 2-hour WAV is hashed, not held in memory)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _temp_beside(path: Path) -> Path:
    """A new empty hidden file next to `path` (`.name.XXXX.tmp`) with the umask's mode."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise PublishError(f"cannot write {path} ({exc.strerror}); choose a writable output folder") from exc
    try:
        os.fchmod(fd, file_mode())
    finally:
        os.close(fd)
    return Path(tmp)


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def remove_stale_temps(folder: Path, older_than_s: float = 0.0, keep: tuple[str, ...] = ()) -> int:
    """Delete temp files a killed process left in `folder` (`.name.XXXX.tmp`), those modified more
    than `older_than_s` ago, except ones for the names in `keep` (another process may be writing
    them). Returns how many were removed."""
    removed = 0
    now = time.time()
    for path in folder.glob(f".*{TEMP_SUFFIX}") if folder.is_dir() else []:
        if any(path.name.startswith(f".{name}.") for name in keep):
            continue
        try:
            if now - path.lstat().st_mtime >= older_than_s and path.is_file():
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


class Staging:
    """Files of one render, written beside their final names under hidden temp names and put in place
    together by commit(): a render killed before then leaves every file of the previous render as it
    was (and as its manifest describes them); its temp files are removed by the next render. Safe to
    use from several threads."""

    def __init__(self) -> None:
        self._files: dict[Path, Path] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def path(self, final: Path) -> Iterator[Path]:
        """Yield a temp path to write `final`'s new content to; it is staged when the block ends."""
        tmp = _temp_beside(final)
        try:
            yield tmp
            try:
                _fsync(tmp)
            except OSError as exc:
                raise PublishError(f"cannot write {final} ({exc.strerror}); check the disk and folder") from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        with self._lock:
            replaced = self._files.pop(final, None)
            self._files[final] = tmp
        if replaced is not None:
            replaced.unlink(missing_ok=True)

    def write_bytes(self, final: Path, data: bytes) -> None:
        with self.path(final) as tmp:
            try:
                tmp.write_bytes(data)
            except OSError as exc:
                raise PublishError(f"cannot write {final} ({exc.strerror}); check the disk and folder") from exc

    def current(self, final: Path) -> Path:
        """Where `final`'s newest content is now: its staged temp file, or the file itself."""
        with self._lock:
            return self._files.get(final, final)

    def commit(self) -> None:
        """Rename every staged file over its final name."""
        with self._lock:
            files, self._files = self._files, {}
        for final, tmp in files.items():
            try:
                os.replace(tmp, final)
            except OSError as exc:
                raise PublishError(f"cannot write {final} ({exc.strerror}); check the disk and folder") from exc

    def discard(self) -> None:
        with self._lock:
            files, self._files = self._files, {}
        for tmp in files.values():
            tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: Path, durable: bool = True) -> Iterator[Path]:
    """Yield a temp path next to `path`; on success it is renamed over `path`.
    OS errors (a read-only folder, a file where a folder should be, a full disk) become
    PublishError naming the path, here, for every file the project writes.
    durable=False skips the fsync: for disposable files, where one a crash leaves empty or
    torn is only recomputed."""
    tmp_path = _temp_beside(path)
    try:
        yield tmp_path
        try:
            if durable:
                _fsync(tmp_path)
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
