"""Where articles come from besides .txt/.md files: web pages (a URL or a saved .html), a site's
feed (followed: `render/follow.py`), and EPUB books. Each source gives the same `Document` an article file
does, so the rest of the pipeline doesn't know the difference.

The one entry point is `load_document(ref, config)`: `ref` is a URL (http/https) or a file path.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config
from ..errors import InputError
from ..models import Document

if TYPE_CHECKING:
    from .fetch import FetchLimits

HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
EPUB_SUFFIXES = {".epub"}


def is_url(ref: str | Path) -> bool:
    return isinstance(ref, str) and ref.lower().startswith(("http://", "https://"))


def parse_ref(text: str) -> str | Path:
    """A command-line ARTICLE: an http(s) URL stays text, anything else is a path; other schemes
    are an error rather than a file that can't exist."""
    if is_url(text):
        return text.strip()
    if text.lower().startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(text).path))
    head = text.split("://", 1)[0]
    if "://" in text and head.isalpha():
        raise InputError(f"{text}: only http:// and https:// URLs can be fetched; save the page and give the file")
    return Path(text)


def fetch_limits(config: Config) -> FetchLimits:
    from .fetch import USER_AGENT, FetchLimits

    return FetchLimits(timeout_s=config.fetch.timeout_s, max_bytes=int(config.fetch.max_mb * 1_000_000),
                       user_agent=config.fetch.user_agent or USER_AGENT)


def load_document(ref: str | Path, config: Config) -> Document:
    """Read an article from a URL, an .html page, an .epub book or a .txt/.md file."""
    if is_url(ref):
        from .webpage import read_web_page

        return read_web_page(str(ref), config.boilerplate, fetch_limits(config))
    path = Path(ref)
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        from .webpage import read_html_file

        return read_html_file(path, config.boilerplate)
    if suffix in EPUB_SUFFIXES:
        from .epub import read_epub

        return read_epub(path, config.boilerplate)
    from ..text.ingest import ingest

    return ingest(path, config.boilerplate)


def source_key(document: Document) -> str:
    """What the episode is found again by (store/episodes.py): a URL as given, a file's absolute path."""
    from ..store.episodes import source_of

    return document.source if is_url(document.source) else source_of(Path(document.source))


def fallback_name(ref: str | Path) -> str:
    """A folder name for an episode whose title has no usable character: the file's stem, the URL's
    last path segment (or its host)."""
    if is_url(ref):
        from urllib.parse import urlparse

        parsed = urlparse(str(ref))
        last = [p for p in parsed.path.split("/") if p]
        return Path(last[-1]).stem if last else parsed.hostname or "article"
    return Path(ref).stem
