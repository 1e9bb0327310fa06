"""What a re-render changed, compared with the previous render.json: sentences added, changed
and removed (by display text, in reading order), sentences whose text is the same but whose
segment is not (a voice, rate or lexicon change), segments synthesized vs reused, chapters
rebuilt vs kept, and whether the full episode was re-encoded.

Recorded in render.json under "changes" and printed by the CLI after each render, e.g.
"1 sentence changed → 1 synthesized; chapter 2 rebuilt, 3 kept; episode rebuilt; 2.1 s".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from typing import Any

from ..models import Script


@dataclass
class ChangeSummary:
    first_render: bool
    sentences_added: int = 0
    sentences_changed: int = 0
    sentences_removed: int = 0
    sentences_revoiced: int = 0  # same text, different segment key (voice, prosody, spoken form)
    segments_synthesized: int = 0
    segments_reused: int = 0
    chapters_rebuilt: list[int] = field(default_factory=list)
    chapters_kept: list[int] = field(default_factory=list)
    # of the rebuilt chapters' blocks (render/chapter_audio.py), how many were encoded; the rest were copied
    blocks_encoded: int = 0
    blocks_in_rebuilt: int = 0
    episode_rebuilt: bool = False
    music_encoded: list[str] = field(default_factory=list)  # music roles encoded (the others' frames copied)
    elapsed_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def text_changed(self) -> bool:
        return bool(self.sentences_added or self.sentences_changed or self.sentences_removed)


Sentences = list[tuple[str, str]]  # (display text, segment key) in reading order


def previous_sentences(previous: dict[str, Any] | None) -> Sentences | None:
    """The previous render's sentences from render.json (each chapter's `keys` and `cues`), or
    None when there is no usable previous render."""
    if not previous or not isinstance(previous.get("chapters"), list):
        return None
    out: Sentences = []
    for chapter in previous["chapters"]:
        keys, cues = chapter.get("keys"), chapter.get("cues")
        if not isinstance(keys, list) or not isinstance(cues, list) or len(keys) != len(cues):
            return None
        out.extend((str(cue[2]), str(key)) for cue, key in zip(cues, keys, strict=True))
    return out


def script_sentences(script: Script, keys: list[list[str]]) -> Sentences:
    return [(s.text, key) for chapter, chapter_keys in zip(script.chapters, keys, strict=True)
            for s, key in zip(chapter.sentences, chapter_keys, strict=True)]


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


def summarize_changes(previous: dict[str, Any] | None, script: Script, keys: list[list[str]],
                      synthesized: int, reused: int, chapters: list[Any], episode_rebuilt: bool,
                      elapsed_s: float, music_encoded: list[str] | None = None) -> ChangeSummary:
    """`chapters` are the produced ChapterOut entries (index, rebuilt, blocks, blocks_encoded);
    `music_encoded` the music roles this render encoded."""
    new = script_sentences(script, keys)
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
