"""Read an article (.txt / .md) into a Document: decoded, cleaned, garbling repaired or
reported, boilerplate dropped, metadata found, lines classified into blocks."""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path

from ..config import BoilerplateConfig
from ..errors import InputError
from ..models import MUSIC_ROLES, Block, Document, DroppedLine, GarbledSpan
from .boilerplate import build_rules, match_rule
from .decode import read_article
from .garble import repair_line
from .markdown import MdLine, parse_markdown, split_front_matter

log = logging.getLogger(__name__)

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown"}
TEXT_SUFFIXES = {".txt", ".text", ""}

# A bullet at line start: `?` (a bullet mangled by a lossy re-encode), •, ·, ●, ▪, -, *.
_BULLET = re.compile(r"^\s*([?？•·●▪◆■\-*])\s*(?=\S)")
_AUTHOR = re.compile(r"^\s*(作者|文|撰文|Author|By)\s*[:：|丨]\s*(.{1,40})$", re.IGNORECASE)
_ATTRIBUTION = re.compile(r"\s*(——|--|—)\s*\S{1,12}\s*$")
_CHAPTER_HEADING = re.compile(
    r"^\s*(([一二三四五六七八九十百零〇]{1,4}|\d{1,3})\s*[、.．]\s*\S.{0,40}|"
    r"第\s*[一二三四五六七八九十百零〇\d]{1,4}\s*[章節节部篇回卷](\s|[:：、.．]|$).{0,40})\s*$"
)
_ENDS_SENTENCE = re.compile(r"[。！？!?；;…]$")


def is_speakable_char(ch: str) -> bool:
    """A letter or digit of any script (not punctuation, symbols or emoji): something a voice says."""
    return unicodedata.category(ch)[0] in "LN"


def has_speakable(text: str) -> bool:
    return any(is_speakable_char(ch) for ch in text)


def _text_lines(body: str) -> list[MdLine]:
    return [MdLine(i, "text" if raw.strip() else "blank", raw.strip()) for i, raw in enumerate(body.split("\n"), 1)]


def ingest(path: Path, boilerplate: BoilerplateConfig | None = None) -> Document:
    suffix = path.suffix.lower()
    if suffix not in MARKDOWN_SUFFIXES | TEXT_SUFFIXES:
        raise InputError(f"{path}: unsupported file type {suffix!r}; give a .txt, .md, .html or "
                         ".epub file, or a web page's URL")
    text, encoding = read_article(path)
    boilerplate = boilerplate or BoilerplateConfig()
    rules = build_rules(boilerplate.patterns, boilerplate.disable)

    meta: dict[str, str] = {}
    if suffix in MARKDOWN_SUFFIXES:
        meta, body, consumed = split_front_matter(text, str(path))
        lines = parse_markdown(body, first_line=consumed + 1)
    else:
        lines = _text_lines(text)

    blocks: list[Block] = []
    dropped: list[DroppedLine] = []
    garbled: list[GarbledSpan] = []
    author = meta.get("author", "")
    joinable = suffix in MARKDOWN_SUFFIXES  # markdown soft-wraps paragraphs; a .txt line is a paragraph
    previous: MdLine | None = None
    for md in lines:
        if md.kind == "blank":
            previous = None
            continue
        content = md.text
        if rule := match_rule(content, rules):
            dropped.append(DroppedLine(md.line, content, rule))
            continue
        kind = md.kind
        offset = 0
        if kind == "text" and (m := _BULLET.match(content)):
            kind, offset = "list_item", m.end()
        repaired, spans = repair_line(content[offset:], md.line)
        for span in spans:
            span.col += offset
            log.warning("%s:%d:%d garbled text %r %s", path, span.line, span.col, span.original, span.action)
        garbled += spans
        if not has_speakable(repaired):
            dropped.append(DroppedLine(md.line, content, "nothing-speakable"))
            continue
        if not author and (m := _AUTHOR.match(repaired)):
            author = m.group(2).strip()
        if kind == "heading":
            block = Block("heading", repaired, md.line, md.level)
        elif kind == "list_item":
            block = Block("list_item", repaired, md.line)
        elif _CHAPTER_HEADING.match(repaired) and not _ENDS_SENTENCE.search(repaired):
            block = Block("heading", repaired, md.line, 1)
        else:
            block = Block("paragraph", repaired, md.line)
        if (joinable and previous is not None and block.kind == "paragraph" and blocks
                and blocks[-1].kind == "paragraph" and previous.kind == "text"):
            blocks[-1].text = join_wrapped(blocks[-1].text, block.text)  # a soft-wrapped paragraph
        else:
            blocks.append(block)
        previous = md
    if not blocks:
        raise InputError(f"{path}: nothing to narrate (the article is empty or only punctuation/boilerplate)")

    title = meta.get("title", "")
    promote_title(blocks, title)
    title_in_text = False
    if not title:
        title = _ATTRIBUTION.sub("", blocks[0].text).strip() or blocks[0].text
        if not (blocks[0].kind == "heading" and blocks[0].level == 0):  # a long first paragraph
            title, title_in_text = derived_title(title), True
    return Document(
        title=title,
        author=author,
        date=meta.get("date", ""),
        language=meta.get("language", "") or guess_language(text),
        cover=meta.get("cover", ""),
        source=str(path),
        blocks=blocks,
        dropped=dropped,
        garbled=garbled,
        encoding=encoding,
        description=meta.get("description", ""),
        episode_id=meta.get("id", ""),
        title_in_text=title_in_text,
        music={role: meta[role] for role in MUSIC_ROLES if role in meta},
    )


MAX_DERIVED_TITLE_CHARS = 40


def derived_title(text: str) -> str:
    """A title for an article that has none, from its first paragraph: the first sentence, cut at a
    word or clause boundary to at most MAX_DERIVED_TITLE_CHARS characters (… marks a cut)."""
    from .segment import split_long, split_sentences

    first = split_sentences(text)[0].strip()
    if len(first) <= MAX_DERIVED_TITLE_CHARS:
        return first
    head = split_long(first, MAX_DERIVED_TITLE_CHARS)[0].strip().rstrip("，,、：:；;")
    return head + "…"


def join_wrapped(left: str, right: str) -> str:
    """Join two soft-wrapped lines: no space between CJK characters, one between Latin words."""
    if left and right and left[-1].isascii() and right[0].isascii():
        return f"{left} {right}"
    return left + right


def promote_title(blocks: list[Block], title: str) -> None:
    """Mark the block that carries the title as the level-0 heading (read first, not a chapter)."""
    first = blocks[0]
    if title:
        if first.kind == "heading" and first.text.strip() == title.strip():
            first.level = 0
        return
    if first.kind == "heading" and first.level <= 1:
        if not any(b.kind == "heading" and b.level == first.level for b in blocks[1:]):
            first.level = 0  # a lone top heading is the title; the others are chapters
    elif first.kind == "paragraph" and len(first.text) <= 80:
        first.kind, first.level = "heading", 0


def guess_language(text: str) -> str:
    """zh-TW when the text is mostly Traditional characters, else zh-CN."""
    import opencc

    sample = "".join(ch for ch in text[:4000] if "\u4e00" <= ch <= "\u9fff")
    if not sample:
        return "zh-CN"
    simplified = opencc.OpenCC("t2s").convert(sample)
    changed = sum(a != b for a, b in zip(sample, simplified, strict=False))
    return "zh-TW" if changed / len(sample) > 0.05 else "zh-CN"
