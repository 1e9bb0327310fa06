"""Document blocks → sections (chapters). Headings start chapters; text before the first
heading is an opening chapter; short standalone lines inside a chapter are sub-headings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..models import Block, Document

SUBHEADING_MAX_CHARS = 15
# Any of these inside a short line means it is a sentence or a lead-in ("原文如下:"), not a heading.
_SENTENCE_PUNCT = re.compile(r"[，,。．！？!?；;：:、…]")


@dataclass
class Section:
    title: str
    line: int  # line of the heading (0 for the opening chapter without one)
    blocks: list[Block] = field(default_factory=list)  # kinds: title/heading(level 0), subheading, paragraph, list_item
    opening: bool = False
    source: str = ""  # the heading's source (a spine item, a URL): where the chapter came from


def opening_title(language: str) -> str:
    return "開篇" if language.lower() in ("zh-tw", "zh-hk", "zh-hant") else "开篇"


def _chapter_level(blocks: list[Block]) -> int | None:
    levels = [b.level for b in blocks if b.kind == "heading" and b.level >= 1]
    return min(levels) if levels else None


def is_subheading(block: Block, following: Block | None) -> bool:
    text = block.text.strip()
    return (
        block.kind == "paragraph"
        and following is not None
        and following.kind in ("paragraph", "list_item")
        and len(text) <= SUBHEADING_MAX_CHARS
        and not _SENTENCE_PUNCT.search(text)
    )


def find_sections(doc: Document) -> list[Section]:
    blocks = doc.blocks
    level = _chapter_level(blocks)
    opening = Section(opening_title(doc.language), 0, opening=True)
    sections = [opening]
    for i, block in enumerate(blocks):
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        if block.kind == "heading" and block.level >= 1 and block.level == level:
            sections.append(Section(block.text.strip(), block.line, source=block.source))
            continue
        if block.kind == "heading" and block.level >= 1:  # deeper headings
            block = Block("subheading", block.text, block.line, block.level, block.source)
        elif is_subheading(block, following):
            block = Block("subheading", block.text, block.line, source=block.source)
        sections[-1].blocks.append(block)
    if len(sections) > 1 and all(b.kind == "heading" for b in opening.blocks):
        # Nothing but (at most) the title before the first heading: no separate opening chapter;
        # the title is read at the start of the first real chapter.
        sections.pop(0)
        sections[0].blocks[:0] = opening.blocks
    if len(sections) == 1 and sections[0].opening:
        sections[0].title = doc.title  # a flat article is one chapter named after the article
    return sections
