"""What a re-render changed, compared with the previous render.json: sentences added, changed
and removed (by display text, in reading order), sentences whose text is the same but whose
segment is not (a voice, rate or lexicon change), segments synthesized vs reused, chapters
rebuilt vs kept, and whether the full episode was re-encoded.

Recorded in render.json under "changes" and printed by the CLI after each render, e.g.
"1 sentence changed → 1 synthesized; chapter 2 rebuilt, 3 kept; episode rebuilt; 2.1 s".
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher

from ..models import Script
from ..store.manifest import ChangeSummary, ChapterRecord, Manifest

Sentences = list[tuple[str, str]]  # (display text, segment key) in reading order


def previous_sentences(previous: Manifest | None) -> Sentences | None:
    """The previous render's sentences from render.json (each chapter's `keys` and `cues`), or
    None when there is no usable previous render."""
    if previous is None:
        return None
    out: Sentences = []
    for chapter in previous.chapters:
        if len(chapter.keys) != len(chapter.cues):
            return None
        out.extend((cue[2], key) for cue, key in zip(chapter.cues, chapter.keys, strict=True))
    return out


def script_sentences(script: Script) -> Sentences:
    return [(s.text, s.key) for chapter in script.chapters for s in chapter.sentences]


def diff_sentences(old: Sentences, new: Sentences) -> tuple[int, int, int, int]:
    """(added, changed, removed, revoiced). A replaced run of m old by n new sentences counts
    min(m, n) changed and the rest added or removed."""
    added = changed = removed = revoiced = 0
    matcher = SequenceMatcher(None, [t for t, _ in old], [t for t, _ in new], autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            revoiced += sum(1 for (_, ka), (_, kb) in zip(old[a0:a1], new[b0:b1], strict=True) if ka != kb)
        else:
            both = min(a1 - a0, b1 - b0)
            changed += both
            removed += (a1 - a0) - both
            added += (b1 - b0) - both
    return added, changed, removed, revoiced


def summarize_changes(previous: Manifest | None, script: Script, synthesized: int, reused: int,
                      chapters: Sequence[ChapterRecord], episode_rebuilt: bool, elapsed_s: float,
                      music_encoded: list[str] | None = None) -> ChangeSummary:
    """`chapters` are the built chapters' records; `music_encoded` the music roles this render encoded."""
    new = script_sentences(script)
    old = previous_sentences(previous)
    summary = ChangeSummary(
        first_render=old is None,
        segments_synthesized=synthesized,
        segments_reused=reused,
        chapters_rebuilt=[c.index for c in chapters if c.rebuilt],
        chapters_kept=[c.index for c in chapters if not c.rebuilt],
        blocks_encoded=sum(c.blocks_encoded for c in chapters if c.rebuilt),
        blocks_in_rebuilt=sum(len(c.blocks) for c in chapters if c.rebuilt),
        episode_rebuilt=episode_rebuilt,
        music_encoded=list(music_encoded or []),
        elapsed_s=round(elapsed_s, 2),
    )
    if old is None:
        summary.sentences_added = len(new)
    else:
        (summary.sentences_added, summary.sentences_changed, summary.sentences_removed,
         summary.sentences_revoiced) = diff_sentences(old, new)
    return summary


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _chapters(indexes: list[int]) -> str:
    if len(indexes) <= 3:
        word = "chapter" if len(indexes) == 1 else "chapters"
        return f"{word} {', '.join(map(str, indexes))}"
    return f"{len(indexes)} chapters"


def format_changes(summary: ChangeSummary, elapsed_s: float | None = None) -> str:
    """One line: what changed → what it cost."""
    if summary.first_render:
        what = f"first render: {_count(summary.sentences_added, 'sentence')}"
    else:
        parts = [f"{n} {verb}" for n, verb in ((summary.sentences_added, "added"),
                                              (summary.sentences_changed, "changed"),
                                              (summary.sentences_removed, "removed")) if n]
        if len(parts) == 1:  # "1 sentence changed", "3 sentences added"
            n, verb = parts[0].split()
            what = f"{_count(int(n), 'sentence')} {verb}"
        elif parts:
            what = "sentences: " + ", ".join(parts)
        else:
            what = "text unchanged"
        if summary.sentences_revoiced:
            what += f", {summary.sentences_revoiced} re-voiced (voice/prosody/spoken form)"
    cost = f"{summary.segments_synthesized} synthesized"
    if summary.segments_reused:
        cost += f", {summary.segments_reused} reused"
    if summary.chapters_rebuilt:
        built = _chapters(summary.chapters_rebuilt) + " " + ("built" if summary.first_render else "rebuilt")
        if not summary.first_render and summary.blocks_encoded < summary.blocks_in_rebuilt:
            built += f" ({summary.blocks_encoded} of {_count(summary.blocks_in_rebuilt, 'block')} encoded)"
    else:
        built = "no chapter rebuilt"
    if summary.chapters_kept:
        built += f", {len(summary.chapters_kept)} kept"
    episode = "episode rebuilt" if summary.episode_rebuilt else "episode kept"
    if summary.music_encoded and not summary.first_render:
        episode += f" ({', '.join(summary.music_encoded)} encoded)"
    seconds = summary.elapsed_s if elapsed_s is None else elapsed_s
    return f"{what} → {cost}; {built}; {episode}; {seconds:.1f} s"
