"""A web page (a URL, or a saved .html file) → Document.

The article is found by trafilatura (Apache-2.0; made for exactly this: main text, title, author,
date, description and lead image of news and blog pages, measured as one of the most accurate
open extractors, and maintained). Before it reads the page, we remove what pages mark as clutter
themselves (share bars, ads, comments, related links, by class or id) and what is never read
(scripts, styles, ruby annotations); afterwards, every text block of the page that did not make it
into the article is listed as dropped, with the kind of thing it was (nav, footer, comments…),
so the plan shows what was left out.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lxml import etree

from ..config import BoilerplateConfig
from ..errors import InputError
from ..models import Block, Document, DroppedLine, GarbledSpan
from .document import Metadata, keep_cover, make_document
from .fetch import HTML_TYPES, IMAGE_TYPES, FetchLimits, fetch
from .htmltext import (
    BLOCK_TAGS,
    SKIPPED,
    decode_html,
    drop_keep_tail,
    extracted_to_html,
    html_blocks,
    local_tag,
    normalize_space,
    parse_html,
    text_of,
)

log = logging.getLogger(__name__)

# Class/id words pages use for what is not the article. Matched against the parts of each class
# token and the id (split at - and _), so `share-bar`, `post_comments`, `adsbygoogle` match and
# `header`, `shadow`, `loading` don't.
CLUTTER_WORDS = {
    "share": "share", "sharing": "share", "social": "share", "bdshare": "share", "jiathis": "share",
    "ad": "ad", "ads": "ad", "advert": "ad", "advertisement": "ad", "adsbygoogle": "ad", "sponsor": "ad",
    "sponsored": "ad", "promo": "ad", "guanggao": "ad",
    "comment": "comments", "comments": "comments", "disqus": "comments", "pinglun": "comments", "reply": "comments",
    "related": "related", "recommend": "related", "recommended": "related", "xiangguan": "related",
    "tuijian": "related",
    "breadcrumb": "nav", "breadcrumbs": "nav", "menu": "nav", "navbar": "nav", "pagination": "nav", "sidebar": "aside",
    "newsletter": "ad", "subscribe": "ad", "copyright": "footer", "toolbar": "share",
}
CLUTTER_TAGS = {"nav": "nav", "header": "header", "footer": "footer", "aside": "aside", "figcaption": "figcaption",
                "form": "form"}
_WORD_SPLIT = re.compile(r"[-_\s]+")
EXTRACTION_VERSION = "1"  # bump when what is read from a page changes: remembered readings are then redone


def read_web_page(url: str, boilerplate: BoilerplateConfig | None = None,
                  limits: FetchLimits | None = None) -> Document:
    """The article at `url`. What was read from a page is remembered by the page's bytes: reading it
    again unchanged (a 304) costs neither trafilatura's import (~0.4 s) nor its work."""
    from ..store import memo

    fetched = fetch(url, HTML_TYPES, "web page", limits)
    key = json.dumps([url, fetched.final_url, fetched.charset, hashlib.sha256(fetched.body).hexdigest(),
                      asdict(boilerplate or BoilerplateConfig())], ensure_ascii=False)
    known = memo.recall("webpage", _extraction_version(), key)
    if known is not None:
        document = document_from_json(known)
        if not document.cover or Path(document.cover).exists():
            return document
    document = page_document(fetched.body, fetched.charset, url, fetched.final_url, boilerplate, limits)
    memo.remember("webpage", _extraction_version(), key, asdict(document))
    return document


def _extraction_version() -> str:
    from importlib.metadata import version

    return f"{EXTRACTION_VERSION}/trafilatura {version('trafilatura')}"


def document_from_json(data: dict[str, Any]) -> Document:
    return Document(**{**data, "blocks": [Block(**b) for b in data["blocks"]],
                       "dropped": [DroppedLine(**d) for d in data["dropped"]],
                       "garbled": [GarbledSpan(**g) for g in data["garbled"]]})


def read_html_file(path: Path, boilerplate: BoilerplateConfig | None = None) -> Document:
    from ..text.decode import read_bytes

    return page_document(read_bytes(path), "", str(path), path.resolve().as_uri(), boilerplate, None)


def page_document(body: bytes, charset: str, source: str, base_url: str, boilerplate: BoilerplateConfig | None,
                  limits: FetchLimits | None) -> Document:
    """`base_url` is where relative links point from (the URL after redirects; file:// for a file)."""
    import trafilatura

    text, codec = decode_html(body, charset, source)
    page, original = parse_html(text, source), parse_html(text, source)
    remove_clutter(page)
    result = trafilatura.bare_extraction(page, url=base_url if base_url.startswith("http") else None,
                                         with_metadata=True, include_comments=False, include_tables=True,
                                         include_images=False, include_links=False, include_formatting=False,
                                         deduplicate=False, config=_extraction_settings())
    if result is None or isinstance(result, dict) or getattr(result, "body", None) is None:
        raise InputError(f"{source}: no article text found on this page; give the URL of one article (not a "
                         "home or list page)")
    blocks = html_blocks(extracted_to_html(result.body), source=source)
    place_blocks(blocks, original)
    meta = Metadata(
        title=result.title or "",
        author=_meta(original, "author") or result.author or "",  # the page's own say before a byline guess
        date=result.date or "",
        language=original.get("lang") or _meta(original, "content-language", "http-equiv"),
        description=result.description or "",
        dropped=dropped_blocks(original, blocks, result.title or ""),
    )
    meta.cover = lead_image(result.image or "", base_url, source, limits)
    return make_document(blocks, meta, source, codec, boilerplate)


@functools.cache
def _extraction_settings() -> Any:
    """trafilatura's settings, but for Chinese: below MIN_EXTRACTED_SIZE characters it distrusts
    its own result and falls back to taking a whole container's text (byline, captions, pager and
    all). Its default (250) is tuned for Latin text; a short Chinese news item has fewer characters
    than that. Measured on the test pages: with 10, short and long pages alike come out clean."""
    from trafilatura.settings import use_config

    settings = use_config()
    settings.set("DEFAULT", "MIN_EXTRACTED_SIZE", "10")
    return settings


def remove_clutter(root: etree._Element) -> None:
    """Take out what the page marks as not the article (by class or id, and <nav>), and what is never
    read. Not <header>/<footer>/<aside>: articles hold their title and byline in a <header> of their
    own, and trafilatura knows the page-level ones."""
    for el in list(root.iter()):
        if el.getparent() is None:
            continue
        tag = local_tag(el)
        if not tag or tag in ("script", "style", "noscript", "template", "rt", "rp", "nav") \
                or clutter_kind(el, own=True):
            drop_keep_tail(el)


def clutter_kind(el: etree._Element, own: bool = False) -> str:
    """What kind of non-article thing `el` is by its class or id ("" if none); with `own=False`,
    also by its tag (nav, footer…)."""
    if el.tag in ("html", "body"):
        return ""
    words = _WORD_SPLIT.split(" ".join((el.get("class") or "", el.get("id") or "")).lower())
    for word in words:
        if word in CLUTTER_WORDS:
            return CLUTTER_WORDS[word]
    return "" if own else CLUTTER_TAGS.get(local_tag(el), "")


def place_blocks(blocks: list[Block], original: etree._Element) -> None:
    """Give each extracted block the line of the page's element it came from (for reports)."""
    lines = [(text_of(el), el.sourceline or 0) for el in _text_elements(original)]
    for block in blocks:
        block.line = next((line for text, line in lines if block.text in text), 0)


def _text_elements(root: etree._Element) -> Iterator[etree._Element]:
    """The page's innermost block elements that hold text (paragraphs, items, headings, captions…)."""
    for el in root.iter():
        tag = local_tag(el)
        if tag not in BLOCK_TAGS and tag not in ("td", "th"):
            continue
        if any(local_tag(parent) in SKIPPED - {"figcaption"} for parent in el.iterancestors()):
            continue
        if any(local_tag(c) in BLOCK_TAGS for c in el.iterdescendants()):
            continue
        yield el


def dropped_blocks(original: etree._Element, kept: list[Block], title: str = "") -> list[DroppedLine]:
    """Each text block of the page that is not in the article (nor its title), labelled with what it
    was; runs of them from one container (a nav bar's links, a comment thread) are one entry."""
    spoken = normalize_space(title + "".join(b.text for b in kept)).replace(" ", "")
    dropped: list[DroppedLine] = []
    last_container = None
    for el in _text_elements(original):
        text = text_of(_copy_without_skipped(el))
        if not any(ch.isalnum() for ch in text) or text.replace(" ", "") in spoken:
            continue
        container, kind = _container(el)
        rule = f"html:{kind or 'not-article'}"
        if dropped and container is last_container and dropped[-1].rule == rule:
            joined = f"{dropped[-1].text} · {text}"
            dropped[-1].text = joined if len(joined) <= 200 else joined[:199] + "…"
        else:
            dropped.append(DroppedLine(el.sourceline or 0, text[:200], rule))
        last_container = container
    return dropped


def _copy_without_skipped(el: etree._Element) -> etree._Element:
    import copy

    clone = copy.deepcopy(el)
    for child in list(clone.iterdescendants()):
        if local_tag(child) in ("script", "style", "rt", "rp", "noscript", "template"):
            drop_keep_tail(child)
    return clone


def _container(el: etree._Element) -> tuple[etree._Element | None, str]:
    """The outermost element that marks `el` as clutter (a comment thread, not one comment), and what
    kind; else its parent, and ""."""
    found: tuple[etree._Element | None, str] = (el.getparent(), "")
    for node in (el, *el.iterancestors()):
        if kind := clutter_kind(node):
            found = (node, kind)
    return found


def _meta(root: etree._Element, name: str, attribute: str = "name") -> str:
    for el in root.iter("meta"):
        if (el.get(attribute) or "").lower() == name:
            return (el.get("content") or "").strip()
    return ""


def lead_image(src: str, base_url: str, source: str, limits: FetchLimits | None) -> str:
    """The page's lead image (og:image…) as cover art, or "" (then a cover is drawn from the title).
    A page on the web: fetched like the page. A saved page: only a file beside it (offline)."""
    if not src:
        return ""
    url = urllib.parse.urljoin(base_url, src)
    try:
        if url.startswith("file:"):
            path = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path))
            if not path.is_file():
                return ""
            data = path.read_bytes()
        elif url.startswith(("http://", "https://")):
            data = fetch(url, IMAGE_TYPES, "image", limits).body
        else:
            return ""
        return keep_cover(data, url)
    except (InputError, OSError) as exc:
        log.warning("%s: the lead image is not used (%s); the episode gets a drawn cover", source, exc)
        return ""
