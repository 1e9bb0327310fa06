"""The site's generated files: the feed, the show page, one page per episode and the show's cover.

`site_files()` computes them and writes nothing, so `audiobook serve` can answer with a feed for its
own address without touching the output folder; `build_site()` writes the ones that changed (the
feed last, so it never names a page or cover that isn't there yet) and deletes generated files the
show no longer has (the feed under an old name, a cover of another type). The list of generated
files is private state (state/site.json).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path, PurePosixPath

from ..config import Config
from ..store.files import atomic_write_bytes, atomic_write_text, remove_stale_temps
from ..store.workspace import Workspace
from .feed import feed_document, load_show
from .pages import PAGE_FILE, episode_page, show_page

log = logging.getLogger(__name__)

GENERATED_RECORD = "site.json"
STALE_TEMP_S = 600  # a temp file this old is no other process's write in progress


def site_files(ws: Workspace, config: Config, base_url: str | None = None) -> dict[str, bytes]:
    """Path inside the site (POSIX, relative) → content, the feed last. `base_url` overrides
    `[show] base_url` in the feed (the pages' links are relative and don't depend on it)."""
    show, articles = load_show(ws, config, base_url)
    files: dict[str, bytes] = {}
    if show.art.file:
        files[show.art.file] = show.art.data
    for article in articles:
        files[f"{article.slug}/{PAGE_FILE}"] = episode_page(show, article)
    files[PAGE_FILE] = show_page(show, articles)
    files[show.feed_file] = feed_document(show, articles)
    return files


def build_site(ws: Workspace, config: Config) -> Path:
    """Write the generated files that changed; return the feed's path."""
    files = site_files(ws, config)
    remove_stale_temps(ws.site, older_than_s=STALE_TEMP_S)  # a site build killed midway
    for name, data in files.items():
        path = ws.site / name
        if not path.is_file() or path.read_bytes() != data:
            atomic_write_bytes(path, data)
    record = ws.state / GENERATED_RECORD
    for name in sorted(set(_generated_before(ws)) - set(files)):
        path = ws.site / name
        if path.is_file() and not path.is_symlink():
            path.unlink()
            log.info("removed %s: the show no longer has it", name)
    atomic_write_text(record, json.dumps(sorted(files), ensure_ascii=False, indent=1))
    return ws.site / config.feed.file


def _generated_before(ws: Workspace) -> list[str]:
    try:
        names = json.loads((ws.state / GENERATED_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [n for n in names if isinstance(n, str) and ".." not in PurePosixPath(n).parts and not n.startswith("/")]
