"""`audiobook watch`: render once, then again whenever an article (or a settings file) is saved.

Saves are noticed with watchfiles (the articles' folders, not recursively, so the output folder's
own writes are not events) and debounced. What decides a re-render is the file's content: each
article's digest is remembered when its render starts, and after every batch of events (and after
every render, in case the file was saved again meanwhile) an article whose content differs is
rendered again (also once a second without events, as a safety net). A save that changes nothing
costs nothing; a save during a render is not lost.
An AudiobookError (a bad article, a bad config while it is being edited, a locked folder) is
reported and the watch goes on; Ctrl-C (KeyboardInterrupt) ends it.
With feeds to follow (`watch --follow`), they are read at the start and then every so often
(`[follow] poll_minutes`), between saves: following renders only new or changed entries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import watchfiles

from ..errors import AudiobookError, InputError
from ..store.files import file_sha256

if TYPE_CHECKING:
    from ..render.pipeline import RenderResult

log = logging.getLogger(__name__)

DEBOUNCE_MS = 500
POLL_MS = 1000  # digest check without events


class StopEvent(Protocol):
    def is_set(self) -> bool: ...


@dataclass
class Rendered:
    article: Path
    reason: str  # "start" | "saved" | "settings changed"
    result: RenderResult | None  # what render_one returned (None on error)
    error: AudiobookError | None
    elapsed_s: float


def _digest(path: Path) -> str | None:
    try:
        return file_sha256(path)
    except OSError:  # mid-save (deleted and not yet re-created) or unreadable
        return None


class _Watcher:
    def __init__(self, articles: Sequence[Path], settings: Sequence[Path], render_one: Callable[[Path], Any],
                 on_rendered: Callable[[Rendered], None]) -> None:
        self.articles = [p.resolve() for p in articles]
        self.settings = [p.resolve() for p in settings]
        self.render_one = render_one
        self.on_rendered = on_rendered
        self.rendered: dict[Path, str | None] = {}  # article → digest its last render started from
        self.settings_digest = self._settings_digest()

    def _settings_digest(self) -> tuple[str | None, ...]:
        return tuple(_digest(p) for p in self.settings)

    def render(self, article: Path, reason: str) -> None:
        self.rendered[article] = _digest(article)
        start = time.perf_counter()
        try:
            result, error = self.render_one(article), None
        except AudiobookError as exc:
            result, error = None, exc
        self.on_rendered(Rendered(article, reason, result, error, time.perf_counter() - start))

    def catch_up(self) -> None:
        """Render whatever differs from what was last rendered, until nothing does."""
        while True:
            settings = self._settings_digest()
            settings_changed = settings != self.settings_digest
            self.settings_digest = settings
            stale = [a for a in self.articles if settings_changed or _digest(a) != self.rendered.get(a)]
            stale = [a for a in stale if a.exists()]  # a save in progress (deleted, not yet re-created)
            if not stale:
                return
            for article in stale:
                self.render(article, "settings changed" if settings_changed else "saved")

    def watched_paths(self) -> set[Path]:
        return set(self.articles) | set(self.settings)


def settings_files(config_path: Path | None, voice: str) -> list[Path]:
    """The files besides the articles whose edits change the narration: audiobook.toml, the voice
    profile and the lexicon."""
    from ..paths import voices_dir
    from ..text.lexicon import default_lexicon_path

    profile = Path(voice) if voice.endswith(".toml") else voices_dir() / f"{voice}.toml"
    return [p for p in (config_path, profile, default_lexicon_path()) if p is not None and p.exists()]


class _Poller:
    """Calls `poll` (following feeds) now and then every `every_s` seconds, when asked whether it is due."""

    def __init__(self, poll: Callable[[], None] | None, every_s: float) -> None:
        self.poll, self.every_s = poll, every_s
        self.due = time.monotonic()

    def run_if_due(self) -> None:
        if self.poll is not None and time.monotonic() >= self.due:
            self.poll()
            self.due = time.monotonic() + self.every_s


def watch_articles(articles: Sequence[Path], render_one: Callable[[Path], Any],
                   on_rendered: Callable[[Rendered], None], *, settings: Sequence[Path] = (),
                   debounce_ms: int = DEBOUNCE_MS, stop_event: StopEvent | None = None,
                   on_ready: Callable[[list[Path]], None] | None = None,
                   poll: Callable[[], None] | None = None, poll_every_s: float = 1800.0) -> None:
    """Render each article once, then re-render on save until `stop_event` is set or Ctrl-C; with
    `poll` (following feeds), also call it at the start and every `poll_every_s` seconds."""
    missing = [a for a in articles if not a.is_file()]
    if missing:
        raise InputError(f"{missing[0]}: no such file; check the path")
    watcher = _Watcher(articles, settings, render_one, on_rendered)
    for article in watcher.articles:
        watcher.render(article, "start")
    poller = _Poller(poll, poll_every_s)
    poller.run_if_due()
    if not watcher.articles:  # only feeds to poll: nothing on disk to watch
        if on_ready:
            on_ready([])
        while not (stop_event is not None and stop_event.is_set()):
            time.sleep(POLL_MS / 1000)
            poller.run_if_due()
        return
    watched = watcher.watched_paths()
    folders = sorted({p.parent for p in watched})
    if on_ready:
        on_ready(sorted(watched))

    def relevant(_change: watchfiles.Change, path: str) -> bool:
        return Path(path).resolve() in watched  # editors save via temp file + rename: watch folders

    # Also wake up every second without events: a save between the first render and the watcher's
    # start, or one a platform's watcher drops, is still caught by the digest comparison.
    for changes in watchfiles.watch(*folders, watch_filter=relevant, debounce=debounce_ms, step=100,
                                    stop_event=stop_event, recursive=False, raise_interrupt=True,
                                    rust_timeout=POLL_MS, yield_on_timeout=True):
        log.debug("changes: %s", changes)
        watcher.catch_up()
        poller.run_if_due()
