"""Sentence segmentation (rule based on Chinese punctuation) and long-sentence splitting
(at commas, then at jieba word boundaries on an OpenCC t2s copy, offsets mapped back).

Invariant: the pieces of a text concatenate back to exactly that text, so no speakable
character is lost or duplicated.
"""

from __future__ import annotations

import bisect
import re
from functools import cache
from typing import Any

from . import words

MAX_SENTENCE_CHARS = 60

_END_RUN = re.compile(r"[。！？!?；;｡]+|…+|⋯+|\.{3,}|\.(?=\s|$)")
_CLOSERS = "」』”’')）】》〉］]\""
_SOFT = re.compile(r"[，,：:—]+")  # clause marks: a natural place to breathe
_LIST_COMMA = re.compile(r"、+")  # enumeration comma: only when no clause mark fits
_PROTECTED = re.compile(
    r"(https?://|www\.)[\x21-\x7e]*[\w/#=&%~-]|[\w.+-]+@[\w-]+(\.[\w-]+)+"
    r"|\b[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.(com|org|net|io|ai|cn|tw|hk|edu|gov|dev|app|co)\b"
    r"(/[\x21-\x7e]*[\w/#=&%~-])?",
    re.IGNORECASE | re.ASCII,  # ASCII \w: CJK runs must not feed the e-mail pattern (quadratic)
)


def _protected_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _PROTECTED.finditer(text)]


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= pos < b for a, b in spans)


def split_sentences(text: str) -> list[str]:
    """Split at end-mark runs, keeping closing quotes/brackets with their sentence."""
    protected = _protected_spans(text)
    pieces: list[str] = []
    start = 0
    for m in _END_RUN.finditer(text):
        a, end = m.span()
        if _inside(a, protected):
            continue
        if m.group().startswith(".") and len(m.group()) == 1:
            head = text[start:a].strip()
            if head.isdigit() or re.fullmatch(r"(\w\.)*\w", head, re.ASCII):
                continue  # "3." list numbers, "a.m." / "e.g." style abbreviations
        while end < len(text) and text[end] in _CLOSERS:
            if text[end] == '"' and text[:end].count('"') % 2 == 0:
                break  # an ASCII quote opening the next sentence, not closing this one
            end += 1
        if m.group().startswith(("…", "⋯", "..")) and not text[end:].strip():
            continue  # a trailing ellipsis ends the text anyway
        if end > start:
            pieces.append(text[start:end])
            start = end
    if start < len(text):
        pieces.append(text[start:])
    return _merge_unspeakable(pieces)


def _speakable_count(text: str) -> int:
    return sum(1 for ch in text if ch.isalnum())


def _merge_unspeakable(pieces: list[str]) -> list[str]:
    """Fold pieces with nothing to say (stray punctuation, whitespace) into a neighbour."""
    out: list[str] = []
    for piece in pieces:
        if out and _speakable_count(piece) == 0:
            out[-1] += piece
        elif out and _speakable_count(out[-1]) == 0:
            out[-1] += piece
        else:
            out.append(piece)
    return out


@cache
def _t2s() -> Any:  # opencc's converter (opencc has no type hints)
    import opencc

    return opencc.OpenCC("t2s")




def word_cut_points(text: str) -> list[int]:
    """Offsets where a word ends, from jieba on a Simplified copy (t2s keeps length)."""
    simplified = _t2s().convert(text)
    if len(simplified) != len(text):
        simplified = text
    return [end for _, _, end in words.tokenizer().tokenize(simplified)]


def split_long(sentence: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Split a sentence longer than max_chars at clause marks, else at enumeration commas,
    else at word ends (jieba runs once per sentence), else hard; greedy from the left."""
    if len(sentence.strip()) <= max_chars:
        return [sentence]
    protected = _protected_spans(sentence)
    marks = [[m.end() for m in rx.finditer(sentence) if not _inside(m.start(), protected)]
             for rx in (_SOFT, _LIST_COMMA)]
    words: list[int] | None = None
    pieces: list[str] = []
    start = 0
    while len(sentence) - start > max_chars:
        cut = None
        for points in marks:
            if (cut := _best_cut(points, start, len(sentence), max_chars)) is not None:
                break
        if cut is None:
            if words is None:
                words = [p for p in word_cut_points(sentence) if not any(a < p < b for a, b in protected)]
            cut = _best_cut(words, start, len(sentence), max_chars)
        if cut is None:
            cut = start + max_chars  # no boundary at all (e.g. one very long Latin token): hard cut
        pieces.append(sentence[start:cut])
        start = cut
    pieces.append(sentence[start:])
    return pieces


def _best_cut(points: list[int], start: int, length: int, max_chars: int) -> int | None:
    """The last cut point within max_chars of `start` that leaves a non-trivial piece
    (points are sorted; bisect keeps a 200 KB unpunctuated line linear)."""
    i = bisect.bisect_right(points, min(start + max_chars, length - 1)) - 1
    if i >= 0 and points[i] >= start + max_chars // 3:
        return points[i]
    return None


def segment(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[tuple[str, bool]]:
    """Sentences of a paragraph as (piece, ends_sentence). ends_sentence is False for the
    leading parts of a long sentence split at a comma or word boundary."""
    out: list[tuple[str, bool]] = []
    for sentence in split_sentences(text):
        parts = _merge_unspeakable(split_long(sentence, max_chars))
        out += [(p, i == len(parts) - 1) for i, p in enumerate(parts)]
    return out

