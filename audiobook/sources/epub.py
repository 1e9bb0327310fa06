"""An EPUB book (2 or 3) → one Document: a chapter per table-of-contents entry, in spine order.

Read with zipfile + lxml rather than a library: the usual one (ebooklib) is AGPL, which this
MIT project can't take in, and what a narrator needs is small: the package document (OPF) for
metadata, manifest and spine; the table of contents from the EPUB 3 nav document or the EPUB 2
NCX; and each spine item's XHTML, walked like a web page's article (htmltext.py).

Not read aloud (and listed in the plan, with the spine item it was in): items outside the linear
reading order, the cover and title pages, the table of contents, copyright pages, notes sections,
footnotes and their markers in the text.
"""

from __future__ import annotations

import logging
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from ..config import BoilerplateConfig
from ..errors import InputError
from ..models import Block, Document, DroppedLine
from .document import Metadata, keep_cover, make_document
from .htmltext import decode_html, html_blocks, local_tag, normalize_space, parse_html, semantic_types, text_of

log = logging.getLogger(__name__)

OPF = "http://www.idpf.org/2007/opf"
DC = "http://purl.org/dc/elements/1.1/"
NCX = "http://www.daisy.org/z3986/2005/ncx/"
CONTAINER = "urn:oasis:names:tc:opendocument:xmlns:container"
MAX_MEMBER_BYTES = 64_000_000  # one file inside the book (a zip bomb stops here)
XHTML_TYPES = ("application/xhtml+xml", "text/html")

# Pages that are not the book's text, by their EPUB 3 type (on <body>/<section>) or EPUB 2 guide type.
SKIP_TYPES = {"toc": "epub:toc", "landmarks": "epub:toc", "loi": "epub:toc", "lot": "epub:toc",
              "copyright-page": "epub:copyright", "cover": "epub:cover", "titlepage": "epub:title-page",
              "title-page": "epub:title-page", "halftitlepage": "epub:title-page", "colophon": "epub:copyright",
              "imprint": "epub:copyright", "endnotes": "epub:notes", "footnotes": "epub:notes",
              "rearnotes": "epub:notes", "index": "epub:index"}
_COPYRIGHT = re.compile(r"版权所有|版權所有|ISBN[\s:：]*[\d-]{10,}|图书在版编目|圖書在版編目|All rights reserved|"
                        r"Copyright\s*©|©\s*\d{4}", re.IGNORECASE)
COPYRIGHT_PAGE_MAX_CHARS = 1500  # a page that short mentioning ISBN/版权所有 is the copyright page
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)


@dataclass
class TocEntry:
    href: str  # zip path of the spine item
    fragment: str
    title: str
    depth: int


@dataclass
class Book:
    zf: zipfile.ZipFile
    opf_dir: str
    meta: dict[str, str]
    manifest: dict[str, tuple[str, str, set[str]]]  # id → (zip path, media type, properties)
    spine: list[tuple[str, bool]]  # (zip path, linear)
    guide: dict[str, str] = field(default_factory=dict)  # zip path → guide type
    toc: list[TocEntry] = field(default_factory=list)
    nav_path: str = ""


def read_epub(path: Path, boilerplate: BoilerplateConfig | None = None) -> Document:
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; check the path") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path}: not an EPUB book (not a zip archive: {exc}); give an .epub file") from None
    with zf:
        book = _open_book(zf, str(path))
        blocks, dropped = _book_blocks(book)
        meta = Metadata(title=book.meta.get("title", ""), author=book.meta.get("creator", ""),
                        date=book.meta.get("date", ""), language=book.meta.get("language", ""),
                        description=book.meta.get("description", ""), episode_id=book.meta.get("identifier", ""),
                        dropped=dropped)
        meta.cover = _cover(book, str(path))
    return make_document(blocks, meta, str(path), "utf-8", boilerplate)


def _read(zf: zipfile.ZipFile, name: str, book_name: str) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise InputError(f"{book_name}: the book names {name}, which it doesn't contain; the EPUB is damaged, "
                         "export it again") from None
    if info.file_size > MAX_MEMBER_BYTES:
        raise InputError(f"{book_name}: {name} is {info.file_size // 1_000_000} MB unpacked; that is not a book's "
                         "page, the EPUB is damaged or hostile")
    try:
        return zf.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{book_name}: {name} can't be unpacked ({exc}); the EPUB is damaged, export it "
                         "again") from None


def _xml(data: bytes, name: str, book_name: str) -> etree._Element:
    try:
        root = etree.fromstring(data, _SAFE_XML)
    except etree.XMLSyntaxError as exc:
        raise InputError(f"{book_name}: {name} is not readable XML ({exc}); the EPUB is damaged") from None
    if root is None:
        raise InputError(f"{book_name}: {name} is empty; the EPUB is damaged, export it again")
    return root


def _open_book(zf: zipfile.ZipFile, name: str) -> Book:
    container = _xml(_read(zf, "META-INF/container.xml", name), "META-INF/container.xml", name)
    rootfile = next((el.get("full-path") for el in container.iter(f"{{{CONTAINER}}}rootfile")), None)
    if not rootfile:
        raise InputError(f"{name}: META-INF/container.xml names no package document; the EPUB is damaged")
    opf = _xml(_read(zf, rootfile, name), rootfile, name)
    opf_dir = posixpath.dirname(rootfile)

    def resolve(href: str) -> str:
        return posixpath.normpath(posixpath.join(opf_dir, unquote(href.split("#")[0])))

    meta: dict[str, str] = {}
    unique_id = opf.get("unique-identifier", "")
    for key in ("title", "creator", "language", "date", "description", "identifier"):
        values = [normalize_space("".join(el.itertext())) for el in opf.iter(f"{{{DC}}}{key}")]
        if key == "identifier" and unique_id:
            values = [normalize_space("".join(el.itertext())) for el in opf.iter(f"{{{DC}}}identifier")
                      if el.get("id") == unique_id] or values
        values = [v for v in values if v]
        if values:
            meta[key] = "、".join(values) if key == "creator" else values[0]
    if "description" in meta:  # often HTML in the OPF
        meta["description"] = text_of(parse_html(f"<div>{meta['description']}</div>", name))
    for el in opf.iter(f"{{{OPF}}}meta"):
        if el.get("name") == "cover" and el.get("content"):
            meta["cover-id"] = el.get("content", "")
    manifest = {el.get("id", ""): (resolve(el.get("href", "")), el.get("media-type", ""),
                                   set((el.get("properties") or "").split()))
                for el in opf.iter(f"{{{OPF}}}item")}
    spine_el = next(opf.iter(f"{{{OPF}}}spine"), None)
    if spine_el is None:
        raise InputError(f"{name}: the package document has no spine (reading order); the EPUB is damaged")
    spine = [(manifest[el.get("idref", "")][0], el.get("linear", "yes") != "no")
             for el in spine_el.iter(f"{{{OPF}}}itemref") if el.get("idref", "") in manifest]
    guide = {resolve(el.get("href", "")): el.get("type", "") for el in opf.iter(f"{{{OPF}}}reference")}
    book = Book(zf, opf_dir, meta, manifest, spine, guide)
    nav = next((href for href, _type, props in manifest.values() if "nav" in props), "")
    if nav:
        book.nav_path, book.toc = nav, _nav_toc(zf, nav, name)
    ncx = manifest.get(spine_el.get("toc", ""), ("", "", set()))[0] or next(
        (href for href, media, _ in manifest.values() if media == "application/x-dtbncx+xml"), "")
    if not book.toc and ncx:
        book.toc = _ncx_toc(zf, ncx, name)
    return book


def _nav_toc(zf: zipfile.ZipFile, nav: str, name: str) -> list[TocEntry]:
    text, _ = decode_html(_read(zf, nav, name), "", nav)
    root = parse_html(text, nav)
    navs = [el for el in root.iter() if local_tag(el) == "nav"]
    toc = next((el for el in navs if "toc" in semantic_types(el)), navs[0] if navs else None)
    if toc is None:
        return []
    entries = []
    for a in toc.iter():
        if local_tag(a) != "a" or not a.get("href"):
            continue
        depth = sum(1 for p in a.iterancestors() if local_tag(p) == "li")
        entries.append(_entry(posixpath.dirname(nav), a.get("href", ""), text_of(a), depth))
    return entries


def _ncx_toc(zf: zipfile.ZipFile, ncx: str, name: str) -> list[TocEntry]:
    root = _xml(_read(zf, ncx, name), ncx, name)
    entries = []
    for point in root.iter(f"{{{NCX}}}navPoint"):
        label = next(point.iter(f"{{{NCX}}}text"), None)
        content = next((c for c in point if c.tag == f"{{{NCX}}}content"), None)
        if content is None or label is None:
            continue
        depth = sum(1 for p in point.iterancestors() if p.tag == f"{{{NCX}}}navPoint") + 1
        entries.append(_entry(posixpath.dirname(ncx), content.get("src", ""), "".join(label.itertext()), depth))
    return entries


def _entry(base: str, href: str, title: str, depth: int) -> TocEntry:
    path, _, fragment = href.partition("#")
    return TocEntry(posixpath.normpath(posixpath.join(base, unquote(path))), fragment, normalize_space(title), depth)


def _book_blocks(book: Book) -> tuple[list[Block], list[DroppedLine]]:
    """Each spine item's blocks, a chapter heading (level 1) where the table of contents starts one."""
    titles: dict[str, TocEntry] = {}
    for entry in sorted(book.toc, key=lambda e: e.depth):  # the shallowest entry names the file's chapter
        titles.setdefault(entry.href, entry)
    media = {href: media for href, media, _ in book.manifest.values()}
    blocks: list[Block] = []
    dropped: list[DroppedLine] = []
    for href, linear in book.spine:
        if media.get(href) not in XHTML_TYPES:
            continue
        text, _ = decode_html(_read(book.zf, href, href), "", href)
        root = parse_html(text, href)
        content = html_blocks(root, source=href)
        reason = _not_content(book, href, linear, root, content)
        if reason:
            body = next((el for el in root.iter() if local_tag(el) == "body"), root)
            summary = " · ".join(b.text for b in content[:4]) or text_of(body) or "(no text)"
            dropped.append(DroppedLine(content[0].line if content else 0, summary[:120], reason, href))
            continue
        dropped += _notes(root, href)
        chapter = titles.get(href)
        for block in content:  # the book's own headings sit below its chapters
            if block.kind == "heading":
                block.level = max(block.level, 1) + 1
        if chapter and chapter.title:
            if content and content[0].kind == "heading" and _same_title(content[0].text, chapter.title):
                content.pop(0)
            source = f"{href}#{chapter.fragment}" if chapter.fragment else href
            blocks.append(Block("heading", chapter.title, 0, 1, source))
        elif content and content[0].kind == "heading":  # a chapter the table of contents forgot
            content[0].level = 1
        blocks += content
    return blocks, dropped


def _same_title(heading: str, title: str) -> bool:
    a, b = heading.replace(" ", ""), title.replace(" ", "")
    return a == b or a in b or b in a


def _not_content(book: Book, href: str, linear: bool, root: etree._Element, content: list[Block]) -> str:
    """Why a spine item is not read ("" if it is)."""
    if not linear:
        return "epub:not-linear"
    if href == book.nav_path:
        return "epub:toc"
    if book.guide.get(href) in SKIP_TYPES:
        return SKIP_TYPES[book.guide[href]]
    for el in root.iter():
        if local_tag(el) in ("body", "section"):
            for kind in semantic_types(el):
                if kind in SKIP_TYPES:
                    return SKIP_TYPES[kind]
    if not content:
        return "epub:no-text"
    text = "".join(b.text for b in content)
    if len(text) <= COPYRIGHT_PAGE_MAX_CHARS and _COPYRIGHT.search(text):
        return "epub:copyright"
    links = sum(len(text_of(a)) for a in root.iter() if local_tag(a) == "a" and (a.get("href") or "")
                and not a.get("href", "").startswith(("#", "http")))
    if links >= 0.6 * len(text):  # a page that is mostly links into the book: a table of contents
        return "epub:toc"
    return ""


def _notes(root: etree._Element, href: str) -> list[DroppedLine]:
    """The footnotes and endnotes in a chapter's page (not read: listed in the plan)."""
    from .htmltext import NOTE_TYPES, note_class

    found = []
    for el in root.iter():
        kinds = semantic_types(el)
        if ((kinds & NOTE_TYPES and not kinds & {"noteref", "doc-noteref", "pagebreak", "doc-pagebreak"})
                or (note_class(el) and local_tag(el) not in ("a", "sup"))):
            if any(semantic_types(p) & NOTE_TYPES or note_class(p) for p in el.iterancestors()):
                continue  # inside a note already listed
            text = text_of(el)
            if text:
                found.append(DroppedLine(el.sourceline or 0, text[:120], "epub:footnote", href))
    return found


def _cover(book: Book, name: str) -> str:
    candidates = [href for href, media, props in book.manifest.values()
                  if "cover-image" in props and media.startswith("image/")]
    if "cover-id" in book.meta and book.meta["cover-id"] in book.manifest:
        candidates.append(book.manifest[book.meta["cover-id"]][0])
    for href in candidates:
        try:
            return keep_cover(_read(book.zf, href, name), f"{name}:{href}")
        except InputError as exc:
            log.warning("%s: the cover is not used (%s); the episode gets a drawn cover", name, exc)
    return ""
