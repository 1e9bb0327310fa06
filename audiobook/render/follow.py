"""`audiobook follow FEED…`: a site's feed rendered into the show, and kept up to date.

Each run reads the feed, takes its `limit` newest entries, and renders those whose article is new
or changed since the run that last rendered it (an edited article: only its changed sentences are
synthesized, as for any re-render). What decides "changed" is a digest of what would be narrated
(the article's text and structure, title, author, date, cover) and of the settings that shape the
audio (audiobook.toml, the voice profile, the lexicon, the engine asked for): an unchanged entry is
not rendered at all, so a second run right after the first does nothing and rewrites nothing.
Pages are fetched conditionally (fetch.py), so an unchanged site costs a few 304 answers.

Nothing is retired silently: an entry that left the feed (or fell below the limit) keeps its
episode, and the run says so; an episode the user retired is not brought back.

The register of what was rendered from each feed is private state: state/follow/<feed>.json.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .. import __version__
from ..config import Config, VoiceProfile
from ..errors import AudiobookError
from ..models import Document
from ..store.episodes import load_identities
from ..store.files import atomic_write_text, file_sha256
from ..store.locks import article_lock
from ..store.workspace import Workspace, open_workspace

if TYPE_CHECKING:
    from ..sources.feeds import FeedEntry
    from ..tts.choice import EngineChoice
    from .pipeline import RenderResult

log = logging.getLogger(__name__)

FOLLOW_DIR = "follow"  # under the output folder's state/
Status = Literal["new", "updated", "unchanged", "retired", "failed", "would render"]


@dataclass
class EntryOutcome:
    link: str
    title: str
    status: Status
    detail: str = ""  # what changed, or the error


@dataclass
class FollowReport:
    feed_url: str
    feed_title: str = ""
    outcomes: list[EntryOutcome] = field(default_factory=list)
    left_feed: list[str] = field(default_factory=list)  # titles of earlier entries no longer in the feed
    beyond_limit: int = 0  # entries older than the newest `limit`
    error: str = ""  # the feed itself could not be read

    @property
    def failed(self) -> bool:
        return bool(self.error) or any(o.status == "failed" for o in self.outcomes)

    @property
    def rendered(self) -> int:
        return sum(o.status in ("new", "updated") for o in self.outcomes)


def settings_digest(config: Config, profile: VoiceProfile, engine_request: str) -> str:
    """What, besides the article, shapes an episode's audio and tags."""
    from ..text.lexicon import default_lexicon_path

    lexicon = default_lexicon_path()
    data = {
        "version": __version__,
        "engine": engine_request,
        "config": {k: v for k, v in asdict(config).items() if k not in ("path", "follow", "fetch")},
        "profile": asdict(profile),
        "lexicon": file_sha256(lexicon) if lexicon.exists() else "",
    }
    return _digest(data)


def document_digest(document: Document, settings: str) -> str:
    """What is narrated (not what was dropped: a page's comment count changes hourly)."""
    data = {k: v for k, v in asdict(document).items() if k not in ("dropped", "garbled", "encoding")}
    return _digest({"document": data, "settings": settings})


def _digest(data: object) -> str:
    return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


def _register_path(ws: Workspace, feed_url: str) -> Path:
    return ws.state / FOLLOW_DIR / f"{hashlib.sha256(feed_url.encode()).hexdigest()[:24]}.json"


def _load_register(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data["entries"] if isinstance(data.get("entries"), dict) else {}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        log.warning("ignoring unreadable %s (%s); every entry is checked again", path, exc)
        return {}


def follow_feeds(urls: list[str], config: Config, profile: VoiceProfile, engine_request: str,
                 output_root: Path | None = None, limit: int | None = None, dry_run: bool = False,
                 on_outcome: Callable[[EntryOutcome], None] | None = None) -> list[FollowReport]:
    """Follow each feed into the show in `output_root`; the site is rebuilt once at the end if
    anything was rendered. One follow per output folder at a time."""
    from .pipeline import rebuild_site

    ws = open_workspace(output_root or Path(config.render.output))
    runner = _Runner(ws, config, profile, engine_request, limit or config.follow.limit, dry_run,
                     on_outcome or (lambda _o: None))
    with article_lock(ws.state / FOLLOW_DIR, "the followed feeds"):
        reports = [runner.follow(url) for url in urls]
    if any(r.rendered for r in reports):
        rebuild_site(ws, config)
    return reports


class _Runner:
    def __init__(self, ws: Workspace, config: Config, profile: VoiceProfile, engine_request: str, limit: int,
                 dry_run: bool, on_outcome: Callable[[EntryOutcome], None]) -> None:
        from ..sources import fetch_limits

        self.ws, self.config, self.profile, self.engine_request = ws, config, profile, engine_request
        self.limit, self.dry_run, self.on_outcome = limit, dry_run, on_outcome
        self.limits = fetch_limits(config)
        self.settings = settings_digest(config, profile, engine_request)
        # the engine, chosen when the first entry needs rendering (auto probes once)
        self._choice: EngineChoice | None = None

    def follow(self, url: str) -> FollowReport:
        from ..sources.feeds import read_feed

        report = FollowReport(url)
        try:
            feed = read_feed(url, self.limits)
        except AudiobookError as exc:
            report.error = str(exc)
            return report
        report.feed_title = feed.title
        register_path = _register_path(self.ws, url)
        register = _load_register(register_path)
        chosen, report.beyond_limit = feed.entries[:self.limit], max(0, len(feed.entries) - self.limit)
        in_feed = {e.link for e in feed.entries}
        report.left_feed = [r.get("title") or link for link, r in register.items() if link not in in_feed]
        # Oldest first: entries without dates are then ordered in the show as in the feed.
        for entry in reversed(chosen):
            outcome = self._entry(entry, register)
            report.outcomes.append(outcome)
            self.on_outcome(outcome)
            if not self.dry_run and outcome.status in ("new", "updated"):
                atomic_write_text(register_path, json.dumps({"feed": url, "title": feed.title, "entries": register},
                                                            ensure_ascii=False, indent=1))
        report.outcomes.reverse()  # newest first, as listed
        return report

    def _entry(self, entry: FeedEntry, register: dict[str, dict[str, Any]]) -> EntryOutcome:
        from ..sources.feeds import entry_document

        key = entry.link or entry.title
        try:
            document = entry_document(entry, self.config.boilerplate, self.limits)
        except AudiobookError as exc:
            return EntryOutcome(key, entry.title, "failed", str(exc))
        digest = document_digest(document, self.settings)
        identity = next((i for i in load_identities(self.ws) if i.source == document.source), None)
        if identity and identity.retired:
            return EntryOutcome(key, document.title, "retired", "retired from the show; not brought back")
        previous = register.get(key, {})
        rendered = identity is not None and self.ws.manifest_path(identity.guid).exists()
        if rendered and previous.get("digest") == digest:
            return EntryOutcome(key, document.title, "unchanged")
        status: Status = "updated" if rendered else "new"
        if self.dry_run:
            return EntryOutcome(key, document.title, "would render", status)
        try:
            result = self._render(document)
        except AudiobookError as exc:
            return EntryOutcome(key, document.title, "failed", str(exc))
        register[key] = {"title": document.title, "guid": result.guid, "digest": digest,
                         "rendered_at": datetime.now(UTC).isoformat(timespec="seconds")}
        from .changes import format_changes

        detail = format_changes(result.changes, sum(result.timings_s.values())) if result.changes else ""
        return EntryOutcome(key, document.title, status, detail)

    def _render(self, document: Document) -> RenderResult:
        from ..tts.choice import choose_engine
        from .pipeline import render_document

        if self._choice is None:
            self._choice = choose_engine(self.engine_request, self.config)
        return render_document(document, self.config, self.profile, self.engine_request, self.ws.root,
                               update_site=False, choice=self._choice)
