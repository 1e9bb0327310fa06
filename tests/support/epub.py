"""EPUB books the tests build: an EPUB 3 (nav document) or an EPUB 2 (NCX) with a cover, a title
page, a copyright page, a table of contents page, three chapters (one split over two files, one with
sub-headings and ruby), footnotes with their markers, an endnotes section and an item outside the
reading order. Each chapter's text is known, so a test can check that exactly it is read."""

from __future__ import annotations

import html
import io
import zipfile
from pathlib import Path

BOOK_TITLE = "山中岁月"
BOOK_AUTHOR = "周山"
BOOK_ID = "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427"

# (toc title, [(kind, text)]) per chapter; kinds: "p", "h" (a sub-heading inside the chapter)
CHAPTERS: list[tuple[str, list[tuple[str, str]]]] = [
    ("第一章 上山", [
        ("p", "那年春天，我辞去了城里的工作，搬到山上的一间老屋里住。"),
        ("p", "老屋有三间房，院子里种着一棵很老的桂花树。邻居说，这棵树比村子还老。"),
    ]),
    ("第二章 四季", [
        ("p", "山里的日子，是跟着季节走的。"),
        ("h", "春"),
        ("p", "春天采茶，每天天不亮就要出门。"),
        ("h", "秋"),
        ("p", "秋天打板栗，孩子们在树下抢着捡。"),
    ]),
    ("第三章 下山", [
        ("p", "住了五年之后，我终于决定下山。"),
        ("p", "临走那天，邻居们送了我很多东西，有茶叶，有板栗，还有一罐桂花蜜。"),
    ]),
]
# Split: the last paragraph of chapter 3 lives in a file of its own that no TOC entry names.
CONTINUATION = "我把它们带回了城里，一直舍不得吃完。"
FOOTNOTE = "桂花树：一种常绿乔木，秋天开花，香气浓郁。"
ENDNOTE = "本书部分地名为化名。"
COPYRIGHT = "版权所有 侵权必究 ISBN 978-7-5086-1234-5 图书在版编目（CIP）数据"
NOT_LINEAR = "读者调查表：请把您的意见寄给我们。"
RUBY_SENTENCE = "山里人把这种鸟叫作<ruby>鸊<rt>pì</rt></ruby><ruby>鷉<rt>tī</rt></ruby>，它很会潜水。"
RUBY_HEARD = "山里人把这种鸟叫作鸊鷉，它很会潜水。"


def expected_chapters() -> list[tuple[str, list[str]]]:
    """(chapter title, texts heard after its heading, sub-headings included) as the plan should have them."""
    out = []
    for n, (title, blocks) in enumerate(CHAPTERS):
        texts = [t for _, t in blocks]
        if n == 0:
            texts.insert(2, RUBY_HEARD)
        if n == 2:
            texts.append(CONTINUATION)
        out.append((title, texts))
    return out


def _xhtml(body: str, title: str = "", body_type: str = "") -> str:
    typed = f' epub:type="{body_type}"' if body_type else ""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" lang="zh-CN">
<head><title>{html.escape(title)}</title></head>
<body{typed}>
{body}
</body></html>"""


def _chapter_body(n: int) -> str:
    title, blocks = CHAPTERS[n]
    parts = [f'<h1 class="chapter-title">{html.escape(title)}</h1>']
    for i, (kind, text) in enumerate(blocks):
        if kind == "h":
            parts.append(f"<h2>{html.escape(text)}</h2>")
        elif n == 0 and i == 1:  # the footnote marker sits inside the sentence
            marked = text.replace("桂花树。", '桂花树<sup><a epub:type="noteref" href="#fn1" id="r1">[1]</a></sup>。')
            parts.append(f"<p>{marked}</p>")
            parts.append(f"<p>{RUBY_SENTENCE}</p>")
        else:
            parts.append(f"<p>{html.escape(text)}</p>")
    if n == 0:
        parts.append(f'<aside epub:type="footnote" id="fn1"><p><a href="#r1">[1]</a> {FOOTNOTE}</p></aside>')
    return "\n".join(parts)


def build_epub(path: Path, version: int = 3, cover: bytes | None = None) -> Path:
    files: dict[str, str | bytes] = {}
    files["OEBPS/cover.xhtml"] = _xhtml('<img src="images/cover.png" alt="封面"/>', "封面", "cover")
    files["OEBPS/title.xhtml"] = _xhtml(f"<h1>{BOOK_TITLE}</h1><p>{BOOK_AUTHOR} 著</p>", "书名页", "titlepage")
    files["OEBPS/copyright.xhtml"] = _xhtml(f"<p>{COPYRIGHT}</p>", "版权")
    toc_links = "".join(f'<p><a href="text/ch{n + 1}.xhtml">{html.escape(t)}</a></p>' for n, (t, _) in
                        enumerate(CHAPTERS))
    files["OEBPS/contents.xhtml"] = _xhtml(f"<h1>目录</h1>{toc_links}", "目录")
    for n in range(len(CHAPTERS)):
        files[f"OEBPS/text/ch{n + 1}.xhtml"] = _xhtml(_chapter_body(n), CHAPTERS[n][0])
    files["OEBPS/text/ch3b.xhtml"] = _xhtml(f"<p>{CONTINUATION}</p>")
    notes = f'<section epub:type="endnotes"><h2>注释</h2><p>{ENDNOTE}</p></section>'
    files["OEBPS/notes.xhtml"] = _xhtml(notes, "注释")
    files["OEBPS/survey.xhtml"] = _xhtml(f"<p>{NOT_LINEAR}</p>")
    nav_items = "".join(f'<li><a href="text/ch{n + 1}.xhtml">{html.escape(t)}</a></li>' for n, (t, _) in
                        enumerate(CHAPTERS))
    files["OEBPS/nav.xhtml"] = _xhtml(f'<nav epub:type="toc" id="toc"><h1>目录</h1><ol>{nav_items}</ol></nav>', "目录")
    points = "".join(f'<navPoint id="p{n}" playOrder="{n + 1}"><navLabel><text>{html.escape(t)}</text></navLabel>'
                     f'<content src="text/ch{n + 1}.xhtml"/></navPoint>' for n, (t, _) in enumerate(CHAPTERS))
    files["OEBPS/toc.ncx"] = (f'<?xml version="1.0" encoding="UTF-8"?>'
                              f'<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" '
                              f'version="2005-1"><docTitle><text>{BOOK_TITLE}</text></docTitle><navMap>{points}'
                              "</navMap></ncx>")
    files["OEBPS/images/cover.png"] = cover if cover is not None else _png()
    spine_ids = ["cover", "title", "copyright", "contents", "ch1", "ch2", "ch3", "ch3b", "notes"]
    items = [("cover", "cover.xhtml", "application/xhtml+xml", ""),
             ("title", "title.xhtml", "application/xhtml+xml", ""),
             ("copyright", "copyright.xhtml", "application/xhtml+xml", ""),
             ("contents", "contents.xhtml", "application/xhtml+xml", ""),
             *[(f"ch{n + 1}", f"text/ch{n + 1}.xhtml", "application/xhtml+xml", "") for n in range(len(CHAPTERS))],
             ("ch3b", "text/ch3b.xhtml", "application/xhtml+xml", ""),
             ("notes", "notes.xhtml", "application/xhtml+xml", ""),
             ("survey", "survey.xhtml", "application/xhtml+xml", ""),
             ("ncx", "toc.ncx", "application/x-dtbncx+xml", ""),
             ("cover-image", "images/cover.png", "image/png", "cover-image" if version == 3 else "")]
    if version == 3:
        items.append(("nav", "nav.xhtml", "application/xhtml+xml", "nav"))
    manifest = "".join(f'<item id="{i}" href="{h}" media-type="{m}"' + (f' properties="{p}"' if p else "") + "/>"
                       for i, h, m, p in items)
    spine = "".join(f'<itemref idref="{i}"/>' for i in spine_ids) + '<itemref idref="survey" linear="no"/>'
    guide = ('<guide><reference type="cover" href="cover.xhtml" title="封面"/><reference type="toc" '
             'href="contents.xhtml" title="目录"/></guide>')
    files["OEBPS/content.opf"] = f"""<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="{version}.0" unique-identifier="bookid">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:identifier id="bookid">{BOOK_ID}</dc:identifier>
<dc:title>{BOOK_TITLE}</dc:title><dc:creator>{BOOK_AUTHOR}</dc:creator><dc:language>zh-CN</dc:language>
<dc:date>2025-03-01</dc:date><dc:description>&lt;p&gt;一个人在山里住了五年。&lt;/p&gt;</dc:description>
<meta name="cover" content="cover-image"/>
</metadata>
<manifest>{manifest}</manifest>
<spine toc="ncx">{spine}</spine>
{guide if version == 2 else ""}
</package>"""
    files["META-INF/container.xml"] = ('<?xml version="1.0"?><container version="1.0" '
                                       'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
                                       '<rootfile full-path="OEBPS/content.opf" '
                                       'media-type="application/oebps-package+xml"/>'
                                       "</rootfiles></container>")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")  # first, stored
        for name, data in files.items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return path


def _png(size: int = 600) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (size, size // 2 * 3), (40, 90, 60)).save(buffer, "PNG")
    return buffer.getvalue()
