"""Word-timed captions: a sentence too long for one caption (two lines of ~22 Chinese characters)
is split into several cues at word boundaries, each timed by the words the engine said.

The engine reports word boundaries in the *spoken* text (百分之九十, 二零二三年), while captions
show the *display* text (90%, 2023年). The two are aligned character by character (difflib):
shared characters take their word's time, a rewritten stretch (90% ↔ 百分之九十) takes the time
of the stretch that replaced it, and characters only in the display (spaces, dropped marks) take
the time of what follows. Without usable boundaries (none, or most words not found in the spoken
text) the sentence's audio span is shared out in proportion to speakable characters instead.

Pure functions: no I/O, chapter times in, Cues (publish.sidecars) out.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from difflib import SequenceMatcher

import numpy as np

from ..models import Boundary
from ..text.ingest import is_speakable_char
from .linebreak import CLAUSE_END, break_lines, display_width, tokens
from .sidecars import MAX_LINE_COLUMNS, MAX_LINES, Cue

MIN_ALIGNED = 0.5  # boundaries must place at least this share of the spoken speakable characters
SEARCH_AHEAD = 24  # a boundary word is looked for this far past the previous one (no runaway matches)
LATIN_LETTER_WEIGHT = 0.4  # proportional timing: "DeepSeek" ≈ 3 syllables
CLAUSE_BONUS = 0.5  # cost saved by a cut right after a clause mark (，。；…), in imbalance units


def word_cues(display: str, spoken: str, boundaries: Sequence[Boundary], origin_ms: float,
              span_ms: tuple[float, float], max_columns: int = MAX_LINE_COLUMNS,
              max_lines: int = MAX_LINES) -> list[Cue]:
    """Caption cues (chapter time, ms) for one sentence.

    display, spoken: the sentence as shown and as sent to the engine.
    boundaries: the engine's word boundaries, offsets relative to the segment's sample 0.
    origin_ms: chapter time of the segment's sample 0 (AssembledChapter.origins_ms[i]).
    span_ms: chapter time where the sentence's kept audio starts and ends (AssembledChapter.spans_ms[i]).

    A sentence that fits in one cue gets one cue spanning its audio; a longer one gets the fewest
    cues that fit, cut after clause marks or at word starts, balanced in length, consecutive in
    time (each cue ends where the next one's first word starts; the first starts and the last
    ends with the span)."""
    text = " ".join(display.split())
    start, end = span_ms
    if not text or end <= start:
        return []
    if _fits(text, max_columns, max_lines):
        return [Cue(round(start), round(end), text)]
    char_start = display_times(text, spoken, boundaries, origin_ms, span_ms)
    word_starts = _display_word_starts(text, spoken, boundaries)
    chunks = _chunk(text, word_starts, max_columns, max_lines)
    cues: list[Cue] = []
    cue_start = round(start)
    for k, (a, b) in enumerate(chunks):
        if k == len(chunks) - 1:
            cue_end = round(end)
        else:
            nxt = chunks[k + 1][0]
            first = next((i for i in range(nxt, len(text)) if is_speakable_char(text[i])), nxt)
            cue_end = min(max(round(char_start[first]), cue_start + 1), round(end) - (len(chunks) - 1 - k))
        cues.append(Cue(cue_start, cue_end, text[a:b].strip()))
        cue_start = cue_end
    return cues


# ------------------------------------------------------------------------------------ timing


def display_times(text: str, spoken: str, boundaries: Sequence[Boundary], origin_ms: float,
                  span_ms: tuple[float, float]) -> np.ndarray:
    """Chapter time (ms) at which each character of `text` starts being said."""
    spoken_start = _spoken_times(spoken, boundaries, origin_ms, span_ms)
    if spoken_start is None:
        return _proportional(text, span_ms)
    out = np.empty(len(text))
    weights = np.array([_weight(c) for c in text])
    n = len(spoken)
    for op, i1, i2, j1, j2 in _matcher(text, spoken).get_opcodes():
        if op == "equal":
            out[i1:i2] = spoken_start[j1:j2]
        elif op == "replace":  # a rewritten stretch: its time shared out over the display chars
            t0 = spoken_start[j1]
            t1 = spoken_start[j2] if j2 < n else span_ms[1]
            # symbols rewritten into words (% → 百分之) are said too: every visible char counts
            w = np.array([0.0 if c.isspace() else max(weights[i1 + k], 1.0) for k, c in enumerate(text[i1:i2])])
            w = w if w.any() else np.ones(i2 - i1)
            out[i1:i2] = t0 + (t1 - t0) * (np.cumsum(w) - w) / w.sum()
        elif op == "delete":  # only in the display (spaces, marks): said with what follows
            out[i1:i2] = spoken_start[j1] if j1 < n else span_ms[1]
    return np.clip(np.maximum.accumulate(out), *span_ms)


def _spoken_times(spoken: str, boundaries: Sequence[Boundary], origin_ms: float,
                  span_ms: tuple[float, float]) -> np.ndarray | None:
    """Start time of each spoken character, or None when the boundaries can't be placed."""
    n = len(spoken)
    start = np.full(n + 1, np.nan)
    placed = 0
    for word, pos in _place_words(spoken, boundaries):
        length = len(word.text.strip())
        t0 = origin_ms + word.offset_ms
        start[pos:pos + length] = t0 + word.duration_ms * np.arange(length) / length
        placed += sum(1 for c in spoken[pos:pos + length] if is_speakable_char(c))
    speakable = sum(1 for c in spoken if is_speakable_char(c))
    if not speakable or placed < MIN_ALIGNED * speakable:
        return None
    # Characters no word covers (punctuation, a word the engine named differently) are spread
    # evenly between the known times either side; the ends are pinned to the audio span.
    start[n] = span_ms[1]
    if np.isnan(start[0]):
        start[0] = span_ms[0]
    known = np.flatnonzero(~np.isnan(start))
    filled = np.interp(np.arange(n + 1), known, start[known])
    return np.clip(np.maximum.accumulate(filled), *span_ms)


def _place_words(spoken: str, boundaries: Sequence[Boundary]) -> list[tuple[Boundary, int]]:
    """Each boundary word with its position in the spoken text, in order (unfound ones skipped)."""
    folded = _fold(spoken)
    cursor = 0
    out = []
    for word in sorted(boundaries, key=lambda b: b.offset_ms):
        needle = _fold(word.text.strip())
        if not needle:
            continue
        pos = folded.find(needle, cursor, cursor + SEARCH_AHEAD + len(needle))
        if pos >= 0:
            out.append((word, pos))
            cursor = pos + len(needle)
    return out


def _proportional(text: str, span_ms: tuple[float, float]) -> np.ndarray:
    weights = np.array([_weight(c) for c in text])
    if not weights.any():
        weights[:] = 1.0
    before = np.cumsum(weights) - weights
    offsets: np.ndarray = span_ms[0] + (span_ms[1] - span_ms[0]) * before / weights.sum()
    return offsets


def _display_word_starts(text: str, spoken: str, boundaries: Sequence[Boundary]) -> set[int]:
    """Display positions where an engine word starts (via the characters both texts share)."""
    spoken_to_display: dict[int, int] = {}
    for op, i1, i2, j1, j2 in _matcher(text, spoken).get_opcodes():
        if op == "equal":
            spoken_to_display.update(zip(range(j1, j2), range(i1, i2), strict=True))
        elif op == "replace":
            spoken_to_display[j1] = i1
    return {spoken_to_display[pos] for _, pos in _place_words(spoken, boundaries) if pos in spoken_to_display}


def _matcher(text: str, spoken: str) -> SequenceMatcher[str]:
    return SequenceMatcher(None, _fold(text), _fold(spoken), autojunk=False)


def _fold(text: str) -> str:
    """Per character (length kept): full-width forms to ASCII, lower case."""
    out = []
    for ch in text:
        norm = unicodedata.normalize("NFKC", ch).lower()
        out.append(norm if len(norm) == 1 else ch)
    return "".join(out)


def _weight(ch: str) -> float:
    """Rough share of speaking time: a Chinese character or digit is a syllable; a Latin word
    takes about one per two or three letters."""
    if not is_speakable_char(ch):
        return 0.0
    return LATIN_LETTER_WEIGHT if ch.isascii() and ch.isalpha() else 1.0


# ------------------------------------------------------------------------------------ chunking


def _fits(chunk: str, max_columns: int, max_lines: int) -> bool:
    return len(break_lines(chunk, max_columns)) <= max_lines


def _allowed_cuts(text: str) -> list[int]:
    """Positions a caption may be cut at: between line-breaking tokens (no cut inside a Latin
    word or number, none before closing or after opening punctuation)."""
    toks = tokens(text)
    if "".join(toks) != text:
        return list(range(1, len(text)))
    cuts, pos = [], 0
    for tok in toks[:-1]:
        pos += len(tok)
        cuts.append(pos)
    return cuts


def _chunk(text: str, word_starts: set[int], max_columns: int, max_lines: int) -> list[tuple[int, int]]:
    """The fewest chunks that each fit in a cue, cut at clause ends or word starts when possible,
    as even in width as possible (dynamic programming over the candidate cuts)."""
    allowed = _allowed_cuts(text)
    preferred = [c for c in allowed if c in word_starts or text[c - 1] in CLAUSE_END or text[c - 1] == " "
                 or text[c] == " "]
    for candidates in (preferred, allowed):
        best = _best_chunks(text, candidates, max_columns, max_lines)
        if best:
            return best
    return [(0, len(text))]  # unreachable in practice: single characters always fit


def _best_chunks(text: str, candidates: list[int], max_columns: int,
                 max_lines: int) -> list[tuple[int, int]] | None:
    points = [0, *sorted(set(candidates)), len(text)]
    target = display_width(text) / max(2, -(-display_width(text) // (max_columns * max_lines)))
    # best[j] = (chunks, cost, previous point index) for text[:points[j]]
    best: list[tuple[int, float, int] | None] = [None] * len(points)
    best[0] = (0, 0.0, -1)
    for j in range(1, len(points)):
        for i in range(j - 1, -1, -1):
            if best[i] is None:
                continue
            chunk = text[points[i]:points[j]].strip()
            if not chunk or not any(is_speakable_char(c) for c in chunk):
                continue
            if not _fits(chunk, max_columns, max_lines):
                break  # a longer chunk from further left won't fit either
            count, cost, _ = best[i]  # type: ignore[misc]
            cost += ((display_width(chunk) - target) / target) ** 2
            if j < len(points) - 1 and text[points[j] - 1] in CLAUSE_END:
                cost -= CLAUSE_BONUS
            candidate = (count + 1, cost, i)
            if best[j] is None or candidate[:2] < best[j][:2]:  # type: ignore[index]
                best[j] = candidate
    if best[-1] is None:
        return None
    chunks, j = [], len(points) - 1
    while j > 0:
        i = best[j][2]  # type: ignore[index]
        chunks.append((points[i], points[j]))
        j = i
    return chunks[::-1]
