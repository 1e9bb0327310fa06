"""Document → Script: chapters of sentences, each with display text, spoken form and the
pause that follows it. This is what `render --dry-run` prints and what synthesis consumes."""

from __future__ import annotations

from collections.abc import Callable

from ..config import PauseConfig
from ..models import Block, Chapter, Document, DroppedLine, Script, Sentence, SentenceKind
from ..text.ingest import has_speakable
from ..text.quotes import split_quotations
from ..text.segment import segment
from ..text.structure import Section, find_sections

# Narration pace used for estimates before audio exists (syllables per second incl. punctuation pauses).
SYLLABLES_PER_SECOND = 4.2

SpokenFn = Callable[[str], tuple[str, list[str]]]


def _block_sentences(block: Block, pauses: PauseConfig,
                     split_quotes: bool = False) -> list[tuple[str, int, SentenceKind, bool]]:
    """(display text, pause after, kind, is quoted speech) for each piece of one block.
    With split_quotes, quoted speech becomes pieces of its own (for a second voice)."""
    if block.kind in ("heading", "subheading"):
        # A heading is one utterance, unless it is longer than a sentence may be (a title that is a
        # whole paragraph): then it is split like one, with clause pauses inside.
        kind: SentenceKind = "subheading" if block.kind == "subheading" else "title" if block.level == 0 \
            else "heading"
        last_pause = pauses.subheading_ms if kind == "subheading" else pauses.heading_ms
        parts = [piece for piece, _ in segment(block.text.strip())]
        return [(piece.strip(), last_pause if i == len(parts) - 1 else pauses.clause_ms, kind, False)
                for i, piece in enumerate(parts)]
    pieces = segment(block.text)
    marked = split_quotations(block.text, pieces) if split_quotes else [(p, e, False) for p, e in pieces]
    out: list[tuple[str, int, SentenceKind, bool]] = []
    for i, (piece, ends_sentence, quote) in enumerate(marked):
        last = i == len(marked) - 1
        pause = pauses.paragraph_ms if last else pauses.sentence_ms if ends_sentence else pauses.clause_ms
        out.append((piece.strip(), pause, "sentence", quote))
    return out


def plan_chapter(index: int, section: Section, pauses: PauseConfig, spoken: SpokenFn,
                 dropped: list[DroppedLine], split_quotes: bool = False) -> Chapter:
    sentences: list[Sentence] = []
    if not section.opening:
        heading = Block("heading", section.title, section.line, 1, section.source)
        # The article's title, when it opens this first chapter, is read before the chapter's heading.
        titles = 0
        while titles < len(section.blocks) and section.blocks[titles].kind == "heading" \
                and section.blocks[titles].level == 0:
            titles += 1
        blocks = [*section.blocks[:titles], heading, *section.blocks[titles:]]
    else:
        blocks = section.blocks
    for paragraph, block in enumerate(blocks):
        for text, pause, kind, quote in _block_sentences(block, pauses, split_quotes):
            said, hits = spoken(text)
            if not has_speakable(said):
                dropped.append(DroppedLine(block.line, text, "nothing-speakable", block.source))
                continue
            sentences.append(Sentence(text, said, pause, kind, paragraph, hits, quote))
    if sentences:
        sentences[-1].pause_after_ms = max(sentences[-1].pause_after_ms, pauses.chapter_ms)
    source = section.source or next((b.source for b in section.blocks if b.source), "")
    return Chapter(index, section.title, sentences, source)


def make_script(doc: Document, pauses: PauseConfig, spoken: SpokenFn, engine: str,
                split_quotes: bool = False) -> Script:
    dropped = list(doc.dropped)
    sections = find_sections(doc)
    if not doc.title_in_text and not any(b.kind == "heading" and b.level == 0 for s in sections for b in s.blocks):
        sections[0].blocks.insert(0, Block("heading", doc.title, 0, 0))  # announce the title (once)
    chapters = [plan_chapter(i, s, pauses, spoken, dropped, split_quotes) for i, s in enumerate(sections, 1)]
    chapters = [c for c in chapters if c.sentences]
    for i, chapter in enumerate(chapters, 1):
        chapter.index = i
    return Script(
        title=doc.title, author=doc.author, date=doc.date, language=doc.language, cover=doc.cover,
        source=doc.source, engine=engine, chapters=chapters, dropped=dropped, garbled=doc.garbled,
        episode_id=doc.episode_id,
    )


def estimate_ms(sentence: Sentence) -> int:
    syllables = sum(1 for ch in sentence.spoken if ch.isalnum())
    return int(1000 * syllables / SYLLABLES_PER_SECOND) + sentence.pause_after_ms


def chapter_estimate_ms(chapter: Chapter) -> int:
    return sum(estimate_ms(s) for s in chapter.sentences)
