"""`audiobook publish DEST`: copy the show's site into a folder a web server serves (or that you sync
to one), so that a listener never sees a feed naming files that aren't there yet.

Order: first the files that are new or changed (audio, captions, chapters, covers), then the
episode pages, then the show page, then the feed, then the deletions (what an earlier publish put
in DEST that the site no longer has). Each file is written under a hidden temp name in its folder
and renamed, so a reader gets the old file or the new one, never half of one. A file whose size
and modification time match is not copied again (rsync's rule), so publishing after a one-sentence
edit copies that chapter, the episode and the feed. Files get the umask's mode (0644 by default).

Only files an earlier publish to DEST wrote are ever deleted; that list is private state
(state/published/). Other files in DEST are left alone and counted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..config import Config
from ..errors import PublishError
from ..store.files import atomic_path, atomic_write_text, file_mode, remove_stale_temps
from ..store.locks import no_render_running
from ..store.workspace import Workspace
from .feed import load_show
from .pages import PAGE_FILE
from .website import STALE_TEMP_S, build_site

log = logging.getLogger(__name__)

RECORDS_DIR = "published"
DEFAULT_BASE_URL = "http://127.0.0.1:8000/"

Progress = Callable[[int, int, str], None]  # (files done, files to copy, name)


@dataclass
class PublishReport:
    dest: Path
    feed_url: str
    page_url: str
    copied: list[str] = field(default_factory=list)
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)
    others: int = 0  # files in DEST this tool did not put there (left alone)


def publish_site(ws: Workspace, config: Config, dest: Path, progress: Progress | None = None) -> PublishReport:
    """Bring the site up to date, then make DEST hold exactly it (see the module docstring)."""
    dest = dest.expanduser()
    _check_destination(ws, dest)
    with no_render_running(ws.lock_paths(), "publish"):
        feed = build_site(ws, config)
        show, _ = load_show(ws, config)
        names = sorted(site_names(ws.site), key=lambda n: _rank(n, feed.name))
        to_copy = [n for n in names if not _same(ws.site / n, dest / n)]
        report = PublishReport(dest, show.feed_url, show.base_url, unchanged=len(names) - len(to_copy))
        for folder in {dest / PurePosixPath(name).parent for name in names}:  # a publish killed midway
            remove_stale_temps(folder, older_than_s=STALE_TEMP_S)
        for done, name in enumerate(to_copy, 1):
            _copy(ws.site / name, dest / name)
            report.copied.append(name)
            if progress:
                progress(done, len(to_copy), name)
        record = ws.state / RECORDS_DIR / (hashlib.sha256(str(dest.resolve()).encode()).hexdigest()[:16] + ".json")
        current = set(names)
        for name in sorted(set(_recorded(record)) - current):
            path = dest / name
            if path.is_file() and not path.is_symlink():
                path.unlink()
                report.deleted.append(name)
                _remove_empty_parents(path.parent, dest)
        atomic_write_text(record, json.dumps({"dest": str(dest.resolve()), "files": names}, ensure_ascii=False,
                                             indent=1))
        report.others = sum(1 for n in site_names(dest) if n not in current)
    if show.base_url == DEFAULT_BASE_URL:
        log.warning("the feed points at %s, the default [show] base_url: set base_url in audiobook.toml to the "
                    "address DEST is served at, then publish again", DEFAULT_BASE_URL)
    return report


def _check_destination(ws: Workspace, dest: Path) -> None:
    site, root, target = ws.site.resolve(), ws.root.resolve(), dest.resolve()
    if not site.is_dir():
        raise PublishError(f"no site in {ws.root}; render an article into it first")
    if target.is_relative_to(root) or root.is_relative_to(target):
        raise PublishError(f"can't publish {ws.root} into {dest}: one holds the other; give a folder outside "
                           "the output folder (e.g. /var/www/podcast)")
    if target.exists() and not target.is_dir():
        raise PublishError(f"{dest} is a file; give a folder to publish into")


def site_names(folder: Path) -> list[str]:
    """Relative POSIX paths of the regular files under `folder`, skipping hidden names (temp files of
    atomic writes) and symlinks."""
    names = []
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (Path(current) / d).is_symlink())
        for name in files:
            path = Path(current) / name
            if not name.startswith(".") and not path.is_symlink() and path.is_file():
                names.append(PurePosixPath(path.relative_to(folder)).as_posix())
    return sorted(names)


def _rank(name: str, feed_name: str) -> tuple[int, str]:
    """Copy order: everything a page or the feed names, then episode pages, the show page, the feed."""
    if name == feed_name:
        return (3, name)
    if name == PAGE_FILE:
        return (2, name)
    if name.endswith("/" + PAGE_FILE):
        return (1, name)
    return (0, name)


def _same(source: Path, target: Path) -> bool:
    """The target is already this file (same size and modification time). Its mode is set right on
    the way: a copy made by hand (`rsync -a` of a 0600 file) would otherwise stay unreadable."""
    try:
        a, b = source.stat(), target.lstat()
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(b.st_mode) or a.st_size != b.st_size or a.st_mtime_ns != b.st_mtime_ns:
        return False
    if stat.S_IMODE(b.st_mode) != file_mode():
        target.chmod(file_mode())
    return True


def _copy(source: Path, target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        raise PublishError(f"{target} is a folder where the site has a file; move it away and publish again")
    try:
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
            st = source.stat()
            os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))  # unchanged next time: skipped
    except OSError as exc:
        raise PublishError(f"cannot copy {source.name} to {target.parent} ({exc.strerror}); check the "
                           "destination's permissions and free space") from exc


def _recorded(record: Path) -> list[str]:
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        return []
    return [n for n in files if isinstance(n, str) and not n.startswith("/") and ".." not in PurePosixPath(n).parts]


def _remove_empty_parents(folder: Path, dest: Path) -> None:
    while folder != dest and folder.is_relative_to(dest):
        try:
            folder.rmdir()
        except OSError:  # not empty (or not ours to remove)
            return
        folder = folder.parent
