"""Reading the renderer's manifests (`OUTPUT/state/<guid>/render.json`) for the feed and pages.

A broken or incomplete article folder is skipped with a warning, never published half: the feed
must not point at files that are missing or lie about their size.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import PublishError
from ..store.files import file_sha256
from ..store.manifest import (
    MANIFEST_FORMAT,
    ChapterRecord,
    EpisodeRecord,
    ManifestError,
    NotAManifest,
    UnreadableManifest,
    load_manifest,
)
from ..store.workspace import Workspace

log = logging.getLogger(__name__)

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@dataclass(frozen=True)
class MediaFile:
    """A published MP3 and its sidecars (file names inside the article folder)."""

    file: str
    bytes: int  # the size on disk, which is what the enclosure length must say
    sha256: str
    duration_ms: int
    vtt: str | None
    srt: str | None
    chapters_json: str | None


@dataclass(frozen=True)
class Line:
    """One sentence as read, for the transcript on the episode's page."""

    start_ms: int  # in the chapter
    end_ms: int
    text: str
    kind: str  # title | heading | subheading | sentence
    paragraph: int


@dataclass(frozen=True)
class ChapterFile:
    index: int
    title: str
    start_ms: int
    end_ms: int
    media: MediaFile
    lines: tuple[Line, ...] = ()


@dataclass(frozen=True)
class Cover:
    file: str
    sha256: str


@dataclass(frozen=True)
class Article:
    slug: str  # its folder in the site: the URL path segment
    guid: str
    title: str
    author: str
    language: str
    description: str
    first_rendered: datetime
    rendered_at: datetime
    published: datetime  # front-matter date if given, else the first render
    cover: Cover | None
    episode: MediaFile
    chapters: list[ChapterFile]
    intro_title: str = ""  # the intro music's chapter, from 0 to the first chapter (render/music.py)

    @property
    def marks(self) -> list[tuple[int, str]]:
        """(start_ms, title) of each chapter in the episode, the intro's included."""
        intro = [(0, self.intro_title)] if self.intro_title else []
        return intro + [(c.start_ms, c.title) for c in self.chapters]

    @property
    def sort_key(self) -> tuple[datetime, datetime, str]:
        return (self.published, self.first_rendered, self.slug)


class BrokenRender(PublishError):
    """One article folder can't be published (the feed skips it)."""


def load_articles(ws: Workspace) -> list[Article]:
    """Every publishable article in the workspace; broken ones are logged and skipped."""
    if not ws.root.is_dir():
        raise PublishError(f"output folder {ws.root} does not exist; render an article first")
    articles = []
    slugs: dict[str, str] = {}
    for path in ws.manifest_paths():
        try:
            article = read_render_json(path, ws.site)
        except BrokenRender as exc:
            log.warning("skipping episode %s: %s", path.parent.name, exc)
            continue
        if article.slug in slugs:
            log.warning("skipping episode %s: its folder %s is episode %s's too; render it again",
                        article.guid, article.slug, slugs[article.slug])
            continue
        slugs[article.slug] = article.guid
        articles.append(article)
    return articles


def read_render_json(path: Path, site: Path) -> Article:
    """The article a manifest (state/<guid>/render.json) describes; its files are in site/<slug>."""
    try:
        data = load_manifest(path)
    except (OSError, UnreadableManifest) as exc:
        raise BrokenRender(f"can't read {path.name} ({exc}); render the article again") from exc
    except NotAManifest as exc:
        raise BrokenRender(f"{path.name} is not render.json format {MANIFEST_FORMAT}; render the article again") \
            from exc
    except ManifestError as exc:
        raise BrokenRender(str(exc)) from exc
    slug = data.slug
    if not slug or slug != Path(slug).name or slug.startswith(".") or "\\" in slug:
        raise BrokenRender(f"folder name {slug!r} is not a plain name; render the article again")
    if data.guid != path.parent.name:
        raise BrokenRender(f"it names guid {data.guid!r}; render the article again")
    if not data.first_rendered:
        raise BrokenRender("render.json has no 'first_rendered'; render the article again")
    folder = site / slug
    first = _timestamp(data.first_rendered, "first_rendered")
    chapters = [_chapter(folder, c) for c in data.chapters]
    if len({c.index for c in chapters}) != len(chapters):
        raise BrokenRender("two chapters have the same index")
    return Article(
        slug=slug,
        guid=path.parent.name,
        title=_nonempty(data.title, "title"),
        author=data.author,
        language=data.language,
        description=data.description,
        first_rendered=first,
        rendered_at=_timestamp(data.rendered_at or data.first_rendered, "rendered_at"),
        published=_published(data.date, first),
        cover=_cover(folder, data.cover),
        episode=_media(folder, data.episode),
        chapters=sorted(chapters, key=lambda c: c.index),
        intro_title=_intro_title(data.episode, chapters),
    )


def _intro_title(episode: EpisodeRecord, chapters: list[ChapterFile]) -> str:
    """The intro's chapter title when the episode starts with intro music before its first chapter."""
    if not chapters or min(c.start_ms for c in chapters) <= 0:
        return ""
    return episode.intro_title.strip()


def _nonempty(value: str, key: str) -> str:
    if not value.strip():
        raise BrokenRender(f"{key!r} is empty")
    return value.strip()


def _timestamp(value: str, key: str) -> datetime:
    try:
        stamp = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise BrokenRender(f"{key!r} = {value!r} is not an ISO 8601 time") from exc
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _published(date: str, first_rendered: datetime) -> datetime:
    """The article's own date (front matter) wins; on the day of the first render, that render's
    time is kept, so two articles dated the same day still have an order."""
    match = _DATE.match(date.strip())
    if not match:
        if date.strip():
            log.warning("date %r is not YYYY-MM-DD; using the first render time", date)
        return first_rendered
    year, month, day = int(match[1]), int(match[2] or 1), int(match[3] or 1)
    try:
        day_start = datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        log.warning("date %r does not exist; using the first render time", date)
        return first_rendered
    return first_rendered if first_rendered.astimezone(UTC).date() == day_start.date() else day_start


def _file_in(folder: Path, name: str | None, what: str) -> Path:
    """A file named in render.json: a plain name inside the article folder that exists."""
    if not name or name != Path(name).name or name.startswith(".") or "\\" in name:
        raise BrokenRender(f"{what} file name {name!r} is not a plain file name")
    path = folder / name
    if not path.is_file():
        raise BrokenRender(f"{what} file {name} is missing; render the article again")
    return path


def _sidecar(folder: Path, name: str | None, key: str) -> str | None:
    if not name:
        return None
    try:
        _file_in(folder, name, key)
    except BrokenRender as exc:
        log.warning("%s: %s; publishing without it", folder.name, exc)
        return None
    return name


def _media(folder: Path, data: ChapterRecord | EpisodeRecord) -> MediaFile:
    path = _file_in(folder, data.file, "audio")
    if path.suffix.lower() != ".mp3":
        raise BrokenRender(f"audio file {path.name} is not an .mp3")
    duration_ms = data.duration_ms
    if duration_ms <= 0:
        raise BrokenRender(f"{path.name} has duration_ms {duration_ms}")
    size = path.stat().st_size
    sha = data.sha256
    if size != data.bytes or not re.fullmatch(r"[0-9a-f]{64}", sha):
        # render.json is stale (the file was re-tagged or replaced): trust the file.
        log.warning("%s/%s: size or hash in render.json doesn't match the file; using the file's",
                    folder.name, path.name)
        sha = file_sha256(path)
    return MediaFile(path.name, size, sha, duration_ms, _sidecar(folder, data.vtt, "vtt"),
                     _sidecar(folder, data.srt, "srt"), _sidecar(folder, data.chapters_json, "chapters_json"))


def _chapter(folder: Path, data: ChapterRecord) -> ChapterFile:
    index = data.index
    if index < 1:
        raise BrokenRender(f"chapter index {index} is not a positive number")
    start, end = data.start_ms, data.end_ms
    if not 0 <= start < end:
        raise BrokenRender(f"chapter {index} runs from {start} to {end} ms")
    return ChapterFile(index, _nonempty(data.title, "title"), start, end, _media(folder, data), _lines(data))


def _lines(data: ChapterRecord) -> tuple[Line, ...]:
    """The chapter's sentences (cues, with their kinds and paragraphs when recorded)."""
    cues, kinds, paragraphs = data.cues, data.kinds, data.paragraphs
    if not len(kinds) == len(paragraphs) == len(cues):
        kinds, paragraphs = ["sentence"] * len(cues), list(range(len(cues)))
    return tuple(Line(a, b, text, kind, p) for (a, b, text), kind, p in zip(cues, kinds, paragraphs, strict=True))


def _cover(folder: Path, name: str) -> Cover | None:
    if not name:
        return None
    try:
        path = _file_in(folder, name, "cover")
    except BrokenRender as exc:
        log.warning("%s: %s; publishing without art", folder.name, exc)
        return None
    return Cover(path.name, file_sha256(path))
