"""The podcast feed: every rendered article under the output folder becomes an episode of one show.

Input is each article's `render.json` (written by the renderer); output is RSS 2.0 with the iTunes,
Podcasting 2.0, Atom and content namespaces, built with lxml and written atomically. The rules it
follows are the checklist in `reference/podcast-standards.md` (Apple, PSP-1, podcast namespace 1.0).

Two things keep podcast apps in step with re-renders: an episode's guid never changes (it comes
from render.json), and its enclosure URL carries the audio's content hash (`?v=<sha256[:12]>`), so
a changed file has a new URL (apps ignore enclosure URLs they have seen) and a new length.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote

from lxml import etree

from .. import __version__
from ..config import Config
from ..errors import ConfigError, PublishError
from ..showrules import check_base_url, check_category
from ..store.workspace import Workspace
from .feed_articles import Article, MediaFile, load_articles
from .wording import synthetic_voice_note

log = logging.getLogger(__name__)

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
}
# podcast namespace docs/tags/guid.md: UUIDv5 of the feed URL without scheme and trailing slashes.
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
MAX_DESCRIPTION_BYTES = 4000  # Apple: channel and item descriptions, UTF-8 bytes
SHOW_COVER_STEM = "show-cover"


def load_show(ws: Workspace, config: Config, base_url: str | None = None) -> tuple[Show, list[Article]]:
    """The show (channel values after defaults) and its publishable articles; an error if there are none.
    `base_url` overrides `[show] base_url` (e.g. the address `audiobook serve` listens on)."""
    articles = load_articles(ws)
    if not articles:
        raise PublishError(f"no rendered articles in {ws.root}; run `audiobook render ARTICLE` first")
    return Show.from_config(config, articles, base_url), articles


def feed_xml(ws: Workspace, config: Config, base_url: str | None = None) -> bytes:
    """The feed document as UTF-8 bytes. Pure: reads the workspace, writes nothing."""
    return feed_document(*load_show(ws, config, base_url))


def feed_document(show: Show, articles: list[Article]) -> bytes:
    rss = _channel(show, articles)
    return etree.tostring(rss, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def podcast_guid(feed_url: str) -> str:
    """`<podcast:guid>` for a feed URL: UUIDv5 over the URL without its scheme and trailing slashes."""
    stripped = feed_url.split("://", 1)[-1].rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, stripped))


def media_url(base_url: str, *parts: str, version: str | None = None) -> str:
    """Absolute URL of a file under the output root, each path segment percent-encoded (UTF-8)."""
    url = base_url + "/".join(quote(part, safe="") for part in parts)
    return f"{url}?v={version}" if version else url


# ---------------------------------------------------------------------------------------------
# The show (channel-level values after defaults)


@dataclass(frozen=True)
class ShowArt:
    """The show's cover: a file the site serves (configured, or drawn from the show's title), or a URL."""

    file: str | None  # name in the site, e.g. show-cover.jpg
    data: bytes
    url: str | None = None  # a configured http(s) URL instead of a file


@dataclass
class Show:
    title: str
    author: str
    description: str
    language: str
    link: str
    base_url: str
    feed_url: str
    guid: str
    owner_name: str
    owner_email: str
    category: str
    subcategory: str
    explicit: bool
    locked: bool
    art: ShowArt
    image_url: str
    serial: bool
    per_chapter: bool
    feed_file: str

    @classmethod
    def from_config(cls, config: Config, articles: list[Article], base_url: str | None) -> Show:
        s = config.show
        where = str(config.path or "audiobook.toml")
        base = check_base_url(base_url or s.base_url, where)
        feed_url = base + quote(config.feed.file)
        per_chapter = config.feed.items == "chapters"
        authors = list(dict.fromkeys(a.author for a in articles if a.author))
        title = s.title or _default_title(articles, authors)
        check_category(s.category, s.subcategory, where)  # configs made in code skip load_config's checks
        title, author = clean_text(title, 255), clean_text(s.author or "、".join(authors) or title, 255)
        art = show_art(config, title, author)
        return cls(
            title=title,
            author=author,
            description=_channel_description(s.description, articles),
            language=s.language,
            link=s.link or base,
            base_url=base,
            feed_url=feed_url,
            guid=s.guid or podcast_guid(feed_url),
            owner_name=clean_text(s.owner_name or s.author or "、".join(authors), 255),
            owner_email=s.owner_email.strip(),
            category=s.category,
            subcategory=s.subcategory,
            explicit=s.explicit,
            locked=s.locked,
            art=art,
            image_url=art.url or media_url(base, str(art.file), version=hashlib.sha256(art.data).hexdigest()[:12]),
            serial=per_chapter or config.feed.type == "serial",
            per_chapter=per_chapter,
            feed_file=config.feed.file,
        )


def _default_title(articles: list[Article], authors: list[str]) -> str:
    if len(articles) == 1:
        return articles[0].title
    log.warning("several articles and no [show] title: calling the show after its author; set [show] title")
    return f"{authors[0]} · 朗读" if len(authors) == 1 else "朗读文章"


def _channel_description(configured: str, articles: list[Article]) -> str:
    if configured.strip():
        return truncate_utf8(clean_text(configured, None, multiline=True), MAX_DESCRIPTION_BYTES - 200)
    if len(articles) == 1:
        text = articles[0].description or articles[0].title
    else:
        text = "朗读版：" + "、".join(f"《{a.title}》" for a in sorted(articles, key=lambda a: a.sort_key))
    return truncate_utf8(clean_text(text, None, multiline=True), MAX_DESCRIPTION_BYTES - 200)


def show_art(config: Config, title: str, author: str) -> ShowArt:
    """The channel art: [show] cover as a URL, or a local image (published next to the feed), or
    else a cover drawn from the show's title, never an episode's, so it stays the same as
    episodes come and go. Its URL carries the image's hash, so a new picture gets a new URL."""
    cover = config.show.cover
    if cover.startswith(("http://", "https://")):
        return ShowArt(None, b"", cover)
    if cover:
        source = Path(cover).expanduser()
        if not source.is_absolute():
            source = (config.path.parent if config.path else Path.cwd()) / source
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{config.path or 'audiobook.toml'} [show] cover = {cover!r}: can't read {source} "
                              f"({exc.strerror}); give a JPEG/PNG path or an https URL") from exc
        check_artwork(data, source)
        return ShowArt(SHOW_COVER_STEM + source.suffix.lower(), data)
    from .generated import generated_cover

    return ShowArt(SHOW_COVER_STEM + ".jpg", generated_cover(title, author, language=config.show.language))


def _article_image(base: str, article: Article) -> str | None:
    if article.cover is None:
        return None
    return media_url(base, article.slug, article.cover.file, version=article.cover.sha256[:12])


def check_artwork(data: bytes, path: Path) -> None:
    """Warn when an image (read from `path`) breaks Apple's art rules (square JPEG/PNG, 1400–3000 px, RGB)."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (w, h), mode = img.format, img.size, img.mode
    except (OSError, UnidentifiedImageError) as exc:
        log.warning("cover %s can't be read as an image (%s)", path, exc)
        return
    problems = []
    if fmt not in ("JPEG", "PNG") or fmt.lower() not in path.suffix.lower().replace("jpg", "jpeg"):
        problems.append(f"{fmt} data in a {path.suffix} file (want JPEG .jpg or PNG .png)")
    if w != h or not 1400 <= w <= 3000:
        problems.append(f"{w}×{h} px (want square, 1400–3000 px)")
    if mode not in ("RGB", "RGBA", "L", "P"):
        problems.append(f"colour mode {mode} (want RGB)")
    if problems:
        log.warning("cover %s: %s; Apple Podcasts may reject it", path, "; ".join(problems))


# ---------------------------------------------------------------------------------------------
# XML


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    prefix, _, local = tag.rpartition(":")
    el = etree.SubElement(parent, f"{{{NS[prefix]}}}{local}" if prefix else local, attrs)
    if text is not None:
        el.text = text
    return el


def _channel(show: Show, articles: list[Article]) -> etree._Element:
    rss = etree.Element("rss", nsmap=NS, version="2.0")
    ch = _el(rss, "channel")
    _el(ch, "title", show.title)
    _el(ch, "link", show.link)
    _el(ch, "description").text = etree.CDATA(f"<p>{html_text(show.description)}</p>")
    _el(ch, "language", show.language)
    _el(ch, "generator", f"audiobook {__version__}")
    # The newest render, not the clock: an unchanged output folder gives a byte-identical feed.
    _el(ch, "lastBuildDate", format_datetime(max(a.rendered_at for a in articles)))
    _el(ch, "atom:link", href=show.feed_url, rel="self", type="application/rss+xml")
    _el(ch, "itunes:author", show.author)
    if show.owner_name or show.owner_email:
        owner = _el(ch, "itunes:owner")
        _el(owner, "itunes:name", show.owner_name or show.author)
        if show.owner_email:
            _el(owner, "itunes:email", show.owner_email)
    if not show.owner_email:
        log.warning("no [show] owner_email: Apple uses itunes:email to verify who owns the show")
    _el(ch, "itunes:image", href=show.image_url)
    category = _el(ch, "itunes:category", text=None)
    category.set("text", show.category)  # an attribute named "text", so not via **attrs
    if show.subcategory:
        _el(category, "itunes:category").set("text", show.subcategory)
    _el(ch, "itunes:explicit", _bool(show.explicit))
    _el(ch, "itunes:type", "serial" if show.serial else "episodic")
    _el(ch, "podcast:guid", show.guid)
    locked = _el(ch, "podcast:locked", "yes" if show.locked else "no")
    if show.owner_email:
        locked.set("owner", show.owner_email)
    _el(ch, "podcast:medium", "audiobook" if show.per_chapter else "podcast")
    # Narration is machine-generated speech (podcast namespace <podcast:txt purpose="ai-content">).
    _el(ch, "podcast:txt", "true", purpose="ai-content")
    for item in _items(show, articles):
        ch.append(item)
    return rss


@dataclass
class _Entry:
    """One feed item before it becomes XML."""

    article: Article
    guid: str
    title: str
    media: MediaFile
    published: datetime
    chapters: list[tuple[int, str]]  # (start_ms, title) listed in the show notes
    number: int = 0


def _items(show: Show, articles: list[Article]) -> list[etree._Element]:
    entries: list[_Entry] = []
    for article in sorted(articles, key=lambda a: a.sort_key):
        if show.per_chapter:
            entries += _chapter_entries(article, several=len(articles) > 1)
        else:
            entries.append(_Entry(article, article.guid, article.title, article.episode, article.published,
                                  article.marks))
    entries = [replace(entry, number=n) for n, entry in enumerate(entries, start=1)]
    if not show.serial:
        entries.reverse()  # episodic shows list the newest first; serial ones read from episode 1
    return [_item(show, entry) for entry in entries]


def _chapter_entries(article: Article, several: bool) -> list[_Entry]:
    entries = []
    for chapter in article.chapters:
        # A chapter's guid derives from the article's, so it is as stable as the article's.
        guid = str(uuid.uuid5(_as_uuid(article.guid), f"chapter:{chapter.index}"))
        title = f"{article.title} · {chapter.title}" if several else chapter.title
        # One minute apart, so apps that sort by date keep the reading order.
        published = article.published + timedelta(minutes=chapter.index - 1)
        entries.append(_Entry(article, guid, title, chapter.media, published, []))
    return entries


def _as_uuid(guid: str) -> uuid.UUID:
    try:
        return uuid.UUID(guid)
    except ValueError:
        return uuid.uuid5(uuid.NAMESPACE_URL, guid)


def _item(show: Show, entry: _Entry) -> etree._Element:
    article, media = entry.article, entry.media
    version = media.sha256[:12]
    item = etree.Element("item")
    _el(item, "title", clean_text(entry.title, 255))
    _el(item, "itunes:title", clean_text(entry.title, 255))
    _el(item, "link", media_url(show.base_url, article.slug, "index.html"))
    _el(item, "guid", entry.guid, isPermaLink="false")
    _el(item, "pubDate", format_datetime(entry.published))
    notes = _show_notes(article.description, entry.chapters, synthetic_voice_note(article.language or show.language))
    _el(item, "description").text = etree.CDATA(notes)
    _el(item, "content:encoded").text = etree.CDATA(notes)
    _el(item, "enclosure", url=media_url(show.base_url, article.slug, media.file, version=version),
        length=str(media.bytes), type="audio/mpeg")
    _el(item, "itunes:duration", str(round(media.duration_ms / 1000)))
    if article.author:
        _el(item, "itunes:author", clean_text(article.author, 255))
    image = _article_image(show.base_url, article)
    if image:
        _el(item, "itunes:image", href=image)
    _el(item, "itunes:explicit", _bool(show.explicit))
    _el(item, "itunes:episodeType", "full")
    if show.serial:
        _el(item, "itunes:episode", str(entry.number))
    # Sidecars change with the audio, so they share its version token.
    if media.chapters_json:
        _el(item, "podcast:chapters", type="application/json+chapters",
            url=media_url(show.base_url, article.slug, media.chapters_json, version=version))
    for name, mime in ((media.vtt, "text/vtt"), (media.srt, "application/x-subrip")):
        if name:
            _el(item, "podcast:transcript", url=media_url(show.base_url, article.slug, name, version=version),
                type=mime, language=article.language or show.language, rel="captions")
    return item


def _show_notes(description: str, chapters: list[tuple[int, str]], note: str = "") -> str:
    """HTML (only tags Apple allows) with the chapter list as `HH:MM:SS title` lines, which Apple also
    reads as chapters, and a note that a synthetic voice reads it. Trimmed to Apple's 4000-byte limit."""
    text = clean_text(description, None, multiline=True)
    parts = [f"<p>{html_text(text)}</p>"] if text else []
    if note:
        parts.append(f"<p>{html_text(note)}</p>")
    if chapters:
        lines = "".join(f"<li>{_clock(ms)} {html_text(clean_text(t, 255))}</li>" for ms, t in chapters)
        parts.append(f"<ol>{lines}</ol>")
    notes = "".join(parts) or "<p></p>"
    while len(notes.encode("utf-8")) > MAX_DESCRIPTION_BYTES and len(parts) > 1 and "<li>" in parts[-1]:
        parts[-1] = parts[-1][: parts[-1].rindex("<li>")] + "</ol>"
        notes = "".join(parts)
    if len(notes.encode("utf-8")) > MAX_DESCRIPTION_BYTES:
        notes = f"<p>{html_text(truncate_utf8(text, MAX_DESCRIPTION_BYTES - 100))}</p>"
    return notes


def _clock(ms: int) -> str:
    seconds = ms // 1000
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _bool(value: bool) -> str:
    return "true" if value else "false"


# ---------------------------------------------------------------------------------------------
# Text


# Characters XML 1.0 forbids (C0 controls but tab/newline/CR, surrogates, U+FFFE/U+FFFF) plus C1
# controls and noncharacters, which are legal but break some parsers and mean nothing in a title.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")


def clean_text(text: str, limit: int | None, multiline: bool = False) -> str:
    """Text safe for an XML element: forbidden characters removed, whitespace collapsed (runs of
    blank lines kept as one paragraph break if `multiline`), trimmed, at most `limit` characters."""
    text = _NOT_XML.sub("", text)
    if multiline:
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
        text = "\n\n".join(p for p in paragraphs if p)
    else:
        text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def html_text(text: str) -> str:
    """Plain text as HTML for a CDATA section: escaped (so `]]>` can never appear), paragraphs kept."""
    return "</p><p>".join(html.escape(p, quote=False) for p in text.split("\n\n"))


def truncate_utf8(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[: max_bytes - 3].decode("utf-8", errors="ignore") + "…"
