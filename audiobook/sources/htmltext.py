"""HTML → text blocks: decoding (HTTP header, <meta>, then detection), parsing with lxml, and a
walk of the element tree into the same `Block`s a Markdown article gives (headings with levels,
paragraphs, list items), used for web pages, feed entries and EPUB chapters alike.

What a listener should hear of an element: its base text for <ruby> (not the <rt> reading), a
new paragraph at each <br> (in Chinese a line break ends a line of thought: joining the lines
would run two sentences together), a table row as one item with its cells separated by commas;
never scripts, styles, forms, images or footnote markers.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import lxml.html
from lxml import etree

from ..errors import InputError
from ..models import Block, BlockKind
from ..text.decode import clean_text, decode_bytes

log = logging.getLogger(__name__)

# Labels pages use for Chinese codecs → the Python codec that reads them all: GB18030 is a superset
# of GB2312/GBK, Big5-HKSCS of Big5 (WHATWG maps the `big5` label to it too).
_CODECS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030", "cp936": "gb18030",
           "big5": "big5hkscs", "x-big5": "big5hkscs", "big5-hkscs": "big5hkscs"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")

HEADING_LEVELS = {f"h{n}": n for n in range(1, 7)}
# Never read: code, media, interface, figure captions (they describe a picture the listener can't see)
# and ruby annotations (the reading of a character, not its text).
SKIPPED = {"script", "style", "noscript", "template", "head", "title", "iframe", "svg", "math", "button",
           "select", "input", "textarea", "option", "object", "embed", "video", "audio", "canvas", "img",
           "picture", "map", "rt", "rp", "form", "label", "figcaption"}
BLOCK_TAGS = {"p", "div", "section", "article", "main", "blockquote", "pre", "li", "dd", "dt", "tr", "table", "ul",
              "ol", "dl", "figure", "figcaption", "header", "footer", "address", "center", "body", "hr", "caption",
              "details", "summary", "aside", "nav", "tbody", "thead", "tfoot", *HEADING_LEVELS}
LIST_TAGS = {"li", "dd", "dt", "tr"}
CELL_TAGS = {"td", "th"}
# EPUB/DPUB semantics (epub:type, role) of what is not read: notes and their markers, page breaks.
NOTE_TYPES = {"footnote", "footnotes", "endnote", "endnotes", "rearnote", "rearnotes", "noteref", "note",
              "pagebreak", "doc-footnote", "doc-endnotes", "doc-endnote", "doc-noteref", "doc-pagebreak",
              "doc-backlink", "annoref", "annotation"}
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"

# trafilatura's output format (XML-TEI-like) → the HTML tags the walk knows.
_EXTRACTED_TAGS = {"head": "h2", "lb": "br", "list": "ul", "item": "li", "quote": "blockquote", "row": "tr",
                   "cell": "td", "hi": "span", "ref": "a", "graphic": "img", "del": "span", "code": "span"}

_NOTE_MARK = re.compile(r"^[\[［(（【]?\s*(注|註|note)?\s*[\d一二三四五六七八九十*]{1,3}\s*[\]］)）】]?$|^[*†‡]$",
                        re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_WIDE = r"[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]"
_WRAP_BETWEEN_WIDE = re.compile(rf"(?<={_WIDE})[ \t\r]*\n\s*(?={_WIDE})")


def decode_html(body: bytes, header_charset: str, name: str) -> tuple[str, str]:
    """(text, codec): the BOM, else the charset the HTTP header names, else the page's <meta>, else
    detected like an article file's bytes. A declared charset the bytes contradict is ignored (pages
    that say UTF-8 and are GBK exist)."""
    if body.startswith(codecs.BOM_UTF8) or body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_bytes(body, name)
    declared = [c for c in (header_charset, _meta_charset(body)) if c]
    for label in declared:
        codec = _codec(label)
        if codec:
            try:
                return body.decode(codec), codec
            except UnicodeDecodeError:
                log.info("%s: says %s but is not; detecting", name, label)
    try:
        return decode_bytes(body, name)
    except InputError:
        codec = next((c for c in map(_codec, declared) if c), "")
        if not codec:
            raise
    log.warning("%s: bytes that are not %s were skipped", name, codec)
    return body.decode(codec, errors="replace").replace("\ufffd", ""), codec


def _meta_charset(body: bytes) -> str:
    match = _META_CHARSET.search(body[:8192])
    return match.group(1).decode("ascii").lower() if match else ""


def _codec(label: str) -> str:
    label = label.strip().lower()
    label = _CODECS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return ""


def parse_html(text: str, name: str) -> lxml.html.HtmlElement:
    try:
        root = lxml.html.document_fromstring(_XML_DECL.sub("", text, count=1))
    except (etree.ParserError, ValueError) as exc:
        raise InputError(f"{name}: not an HTML page that can be read ({exc}); give an article's page") from None
    return root


def local_tag(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""  # a comment or processing instruction
    return tag.rsplit("}", 1)[-1].lower()


def semantic_types(el: etree._Element) -> set[str]:
    return set((el.get(EPUB_TYPE, "") + " " + el.get("epub:type", "") + " " + el.get("role", "")).split())


def note_class(el: etree._Element) -> bool:
    """Marked as a note by class, as converters write them (`footnote`, `duokan-footnote-item`…)."""
    return any(word in token for token in (el.get("class") or "").lower().split()
               for word in ("footnote", "endnote", "noteref"))


def is_note(el: etree._Element) -> bool:
    """A footnote or endnote, its marker in the text, or a page-break marker."""
    if semantic_types(el) & NOTE_TYPES or note_class(el):
        return True
    tag = local_tag(el)
    # A <sup> holding only a link to a note, or a link whose text is a note number ("[1]", "注3"):
    # the number is not part of the sentence.
    if tag == "sup":
        links = [a for a in el.iter() if local_tag(a) == "a" and "#" in (a.get("href") or "")]
        return bool(links) and len(text_of(el)) <= 6
    if tag == "a" and "#" in (el.get("href") or ""):
        return bool(_NOTE_MARK.match(text_of(el)))
    return False


def text_of(el: etree._Element) -> str:
    return normalize_space("".join(el.itertext()))


def normalize_space(text: str) -> str:
    """HTML whitespace rules for Chinese: a line break between two wide characters is a line wrapped
    in the HTML source (nothing); other runs of spaces and newlines are one space (a space typed in
    `第一章 上山` stays: it is a pause)."""
    return _SPACES.sub(" ", _WRAP_BETWEEN_WIDE.sub("", clean_text(text))).strip()


def extracted_to_html(body: etree._Element) -> etree._Element:
    """trafilatura's extracted body (head/p/list/item/lb/quote/table/row/cell/hi) with HTML tag names,
    so the same walk reads it; a <head rend="h3"> keeps its level."""
    for el in body.iter():
        tag = local_tag(el)
        if tag == "head":
            rend = (el.get("rend") or "").lower()
            el.tag = rend if rend in HEADING_LEVELS else "h2"
        elif tag in _EXTRACTED_TAGS:
            el.tag = _EXTRACTED_TAGS[tag]
    return body


@dataclass
class _Walk:
    source: str  # what each block's `source` is set to
    skip: set[str]
    blocks: list[Block] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    kind: BlockKind = "paragraph"
    line: int = 0

    def add(self, text: str | None, line: int = 0) -> None:
        if text:
            if not self.parts or not "".join(self.parts).strip():
                self.line = line or self.line
            self.parts.append(text)

    def flush(self) -> None:
        text = normalize_space("".join(self.parts)).strip(" ，,")
        self.parts = []
        if text:
            self.blocks.append(Block(self.kind, text, self.line, source=self.source))

    def walk(self, el: etree._Element) -> None:
        tag = local_tag(el)
        line = el.sourceline or 0
        if not tag or tag in self.skip or is_note(el):
            self.add(el.tail, line)
            return
        if tag == "br":
            self.flush()
            self.add(el.tail, line)
            return
        if tag in HEADING_LEVELS:
            self.flush()
            text = text_of(_without_skipped(el, self.skip))
            if text:
                self.blocks.append(Block("heading", text, line, HEADING_LEVELS[tag], _heading_source(self.source, el)))
            self.add(el.tail, line)
            return
        block = tag in BLOCK_TAGS
        if block:
            self.flush()
        outer = self.kind
        if tag in LIST_TAGS:
            self.kind = "list_item"
        self.add(el.text, line)
        for child in el:
            self.walk(child)
        if tag in CELL_TAGS:
            self.add("，", line)
        if block:
            self.flush()
        self.kind = outer
        self.add(el.tail, line)


def _without_skipped(el: etree._Element, skip: set[str]) -> etree._Element:
    """A copy of `el` without the parts not read (a heading's <rt>, its note marker)."""
    import copy

    clone = copy.deepcopy(el)
    for child in list(clone.iterdescendants()):
        if local_tag(child) in skip or is_note(child):
            drop_keep_tail(child)
    return clone


def drop_keep_tail(el: etree._Element) -> None:
    """Remove `el` from its tree; the text after it (its tail) is its parent's, and stays."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        previous = el.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _heading_source(source: str, el: etree._Element) -> str:
    anchor = el.get("id")
    return f"{source.split('#')[0]}#{anchor}" if source and anchor else source


def html_blocks(root: etree._Element, source: str = "", skip: Iterable[str] = ()) -> list[Block]:
    """The blocks a listener hears from `root` (an HTML element, or an extracted body)."""
    walk = _Walk(source, SKIPPED | set(skip))
    walk.walk(root)
    walk.flush()
    return walk.blocks
