"""A site's RSS or Atom feed (read with feedparser) → its entries, newest first, and each entry's
article as a Document: from the entry's own full content when it carries it (content:encoded,
Atom <content>), else from the linked page (fetched like any web page)."""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import dataclass
from typing import Any

from ..config import BoilerplateConfig
from ..errors import InputError
from ..models import Document
from .document import Metadata, make_document
from .fetch import FEED_TYPES, FetchLimits, fetch
from .htmltext import html_blocks, normalize_space, parse_html, text_of
from .webpage import lead_image, read_web_page, remove_clutter

log = logging.getLogger(__name__)

# An entry's content is the article when it says more than its summary and doesn't end the way cut
# articles end (an ellipsis, "read more"): feeds that repeat the summary as content, or cut the
# article after a paragraph, link to the page for the rest.
_CUT_OFF = re.compile(r"(\.\.\.|…|\[…\]|\[\.\.\.\]|阅读全文|閱讀全文|继续阅读|繼續閱讀|阅读更多|閱讀更多|"
                      r"read more|continue reading)\W*$", re.IGNORECASE)


@dataclass
class FeedEntry:
    link: str  # the article's URL: the episode's identity
    title: str
    author: str
    date: str  # YYYY-MM-DD, "" when the entry has none
    published: float  # seconds since the epoch (0 = undated): newest first
    content_html: str  # the article from the entry itself, "" when the entry has only a summary
    summary: str  # plain text
    image: str  # an image URL the entry names (media:thumbnail, an image enclosure)


@dataclass
class Feed:
    url: str
    title: str
    entries: list[FeedEntry]  # newest first (undated ones after, in the feed's order)
    not_modified: bool  # the server said the feed hadn't changed since the last fetch


def read_feed(url: str, limits: FetchLimits | None = None) -> Feed:
    import feedparser

    fetched = fetch(url, FEED_TYPES, "feed", limits)
    content_type = fetched.media_type + (f"; charset={fetched.charset}" if fetched.charset else "")
    parsed = feedparser.parse(fetched.body, response_headers={"content-type": content_type,
                                                              "content-location": fetched.final_url})
    if not parsed.get("version"):
        problem = parsed.get("bozo_exception")
        raise InputError(f"{url} is not an RSS or Atom feed{f' ({problem})' if problem else ''}; give the "
                         "address of the site's feed (often /feed, /rss or /atom.xml)")
    entries = [_entry(e) for e in parsed.entries]
    entries = [e for e in entries if e.link or e.content_html]
    order = {id(e): i for i, e in enumerate(entries)}
    entries.sort(key=lambda e: (e.published == 0, -e.published, order[id(e)]))
    return Feed(url, normalize_space(parsed.feed.get("title", "")), entries, fetched.not_modified)


def _entry(raw: Any) -> FeedEntry:  # raw: a feedparser entry (feedparser has no type hints)
    stamp = raw.get("published_parsed") or raw.get("updated_parsed")
    published = float(calendar.timegm(stamp)) if stamp else 0.0
    summary = _text(raw.get("summary", ""))
    content = ""
    for part in raw.get("content") or []:
        value = part.get("value", "")
        if "html" in part.get("type", "text/html") or "<" in value:
            text = _text(value)
            if len(text) > len(summary) and not _CUT_OFF.search(text):
                content = value
                break
    image = ""
    for media in (raw.get("media_content") or []) + (raw.get("media_thumbnail") or []):
        if media.get("url") and (media.get("medium", "image") == "image" or "image" in media.get("type", "image")):
            image = media["url"]
            break
    for enclosure in raw.get("enclosures") or []:
        if not image and enclosure.get("type", "").startswith("image/") and enclosure.get("href"):
            image = enclosure["href"]
    return FeedEntry(
        link=(raw.get("link") or "").strip(),
        title=normalize_space(raw.get("title", "")),
        author=normalize_space(raw.get("author", "")),
        date=f"{stamp.tm_year:04d}-{stamp.tm_mon:02d}-{stamp.tm_mday:02d}" if stamp else "",
        published=published,
        content_html=content,
        summary=summary,
        image=image,
    )


def _text(html: str) -> str:
    if not html.strip():
        return ""
    return text_of(parse_html(f"<div>{html}</div>", "feed entry"))


def entry_document(entry: FeedEntry, boilerplate: BoilerplateConfig | None,
                   limits: FetchLimits | None) -> Document:
    """The entry's article: its full content, or the page it links to; the feed's title, author and
    date win over the page's (the feed is what the site publishes as its list)."""
    if not entry.content_html:
        if not entry.link:
            raise InputError(f"feed entry {entry.title!r} has neither content nor a link; nothing to narrate")
        document = read_web_page(entry.link, boilerplate, limits)
        document.title = entry.title or document.title
        document.author = entry.author or document.author
        document.date = entry.date or document.date
        return document
    root = parse_html(f"<div>{entry.content_html}</div>", entry.link or entry.title)
    remove_clutter(root)
    body = next(root.iter("body"), root)
    blocks = html_blocks(body, source=entry.link)
    meta = Metadata(title=entry.title, author=entry.author, date=entry.date, description=entry.summary[:300])
    meta.cover = lead_image(entry.image, entry.link, entry.link or entry.title, limits)
    return make_document(blocks, meta, entry.link or entry.title, "utf-8", boilerplate)
