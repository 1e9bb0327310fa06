"""EPUB in: a book the tests build (EPUB 3 with a nav document, EPUB 2 with an NCX) becomes one
episode with a chapter per table-of-contents entry, read in spine order; the cover, title,
author and language come from the package document; the cover and title pages, the table of
contents, the copyright page, notes and footnote markers are not read, and the plan lists them
with the spine item they were in. A damaged book is one clear error."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from audiobook.config import Config, load_profile
from audiobook.errors import InputError
from audiobook.render.pipeline import make_plan
from audiobook.sources import load_document
from tests.support.epub import (
    BOOK_AUTHOR,
    BOOK_ID,
    BOOK_TITLE,
    CONTINUATION,
    COPYRIGHT,
    ENDNOTE,
    FOOTNOTE,
    NOT_LINEAR,
    build_epub,
    expected_chapters,
)


@pytest.mark.parametrize("version", [3, 2], ids=["epub3-nav", "epub2-ncx"])
def test_book_becomes_chapters_in_spine_order(tmp_path: Path, version: int) -> None:
    document = load_document(build_epub(tmp_path / "book.epub", version), Config())
    assert (document.title, document.author, document.language, document.date) == (BOOK_TITLE, BOOK_AUTHOR, "zh-CN",
                                                                                     "2025-03-01")
    assert document.episode_id == BOOK_ID  # the book is found again wherever its file moves
    assert document.description == "一个人在山里住了五年。"
    script = make_plan(document, load_profile("default"), "local")
    got = [(c.title, [s.text for s in c.sentences if s.kind not in ("heading", "title")]) for c in script.chapters]
    want = [(title, _sentences(texts)) for title, texts in expected_chapters()]
    assert [t for t, _ in got] == [t for t, _ in want]
    assert got == want  # every sentence of every chapter, sub-headings included, nothing else
    assert [s.kind for s in script.chapters[0].sentences[:2]] == ["title", "heading"]  # the book, then its chapter
    assert [c.source for c in script.chapters] == ["OEBPS/text/ch1.xhtml", "OEBPS/text/ch2.xhtml",
                                                   "OEBPS/text/ch3.xhtml"]
    heard = "".join(s.text for c in script.chapters for s in c.sentences)
    for unread in (FOOTNOTE, ENDNOTE, COPYRIGHT, NOT_LINEAR, "[1]", "pì", "目录", "封面"):
        assert unread not in heard
    assert CONTINUATION in heard  # a file the table of contents doesn't name continues its chapter
    dropped = {(d.source, d.rule) for d in script.dropped}
    assert {("OEBPS/cover.xhtml", "epub:cover"), ("OEBPS/title.xhtml", "epub:title-page"),
            ("OEBPS/copyright.xhtml", "epub:copyright"), ("OEBPS/contents.xhtml", "epub:toc"),
            ("OEBPS/text/ch1.xhtml", "epub:footnote"), ("OEBPS/notes.xhtml", "epub:notes"),
            ("OEBPS/survey.xhtml", "epub:not-linear")} <= dropped
    with Image.open(document.cover) as cover:  # a 600×900 PNG, made square for podcast apps
        assert cover.size[0] == cover.size[1] >= 1400


def _sentences(texts: list[str]) -> list[str]:
    from audiobook.text.segment import segment

    return [piece.strip() for text in texts for piece, _ in segment(text)]


def test_plan_json_names_each_chapters_spine_item(tmp_path: Path) -> None:
    from audiobook.render.pipeline import plan_article

    script = plan_article(build_epub(tmp_path / "book.epub"), Config(), load_profile("default"), "local")
    plan = json.loads(json.dumps(script.to_json(), ensure_ascii=False))
    assert plan["chapters"][0]["source"] == "OEBPS/text/ch1.xhtml"
    assert any(d["rule"] == "epub:copyright" and d["source"] == "OEBPS/copyright.xhtml" for d in plan["dropped"])


def _rewrite(book: Path, out: Path, drop: str = "", replace: tuple[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename == drop:
                continue
            data = replace[1] if replace and info.filename == replace[0] else src.read(info)
            dst.writestr(info, data)
    return out


@pytest.mark.parametrize(
    ("case", "needle"),
    [("not-a-zip", "not an EPUB"), ("no-container", "META-INF/container.xml"),
     ("missing-chapter", "doesn't contain"), ("broken-opf", "no spine"), ("bad-cover", None)],
)
def test_damaged_books(tmp_path: Path, case: str, needle: str | None) -> None:
    good = build_epub(tmp_path / "good.epub")
    bad = tmp_path / "bad.epub"
    if case == "not-a-zip":
        bad.write_bytes(b"PK not really a zip")
    elif case == "no-container":
        _rewrite(good, bad, drop="META-INF/container.xml")
    elif case == "missing-chapter":
        _rewrite(good, bad, drop="OEBPS/text/ch2.xhtml")
    elif case == "broken-opf":
        _rewrite(good, bad, replace=("OEBPS/content.opf", b"<package xmlns='http://www.idpf.org/2007/opf'/>"))
    else:  # a cover that isn't an image: the book is still read, with a drawn cover
        build_epub(bad, cover=b"not an image")
    if needle is None:
        assert load_document(bad, Config()).cover == ""
        return
    with pytest.raises(InputError) as caught:
        load_document(bad, Config())
    assert needle in str(caught.value) and "\n" not in str(caught.value)
