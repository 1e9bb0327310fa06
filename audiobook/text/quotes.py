"""Quoted speech: which quoted spans of a paragraph someone *says*, so a voice profile's quote
voice can read them.

Chinese articles put quotation marks around two different things: speech (他说：“我们不缺钱。”)
and terms or scare quotes (所谓的“创新基因”). Only speech gets the second voice; a term read in
another voice mid-sentence would sound like a glitch. A top-level quoted span is speech when it
has something to say and at least one of:

- it is introduced by a colon, or by a speech verb (他说：“…”, 他說「…」, 他说，“…”);
- its content ends a sentence inside the marks (“…场景。”), or it runs unclosed to the end of
  the paragraph (a quotation continued into the next paragraph);
- the clause right after it ends with a speech verb (“给予本身就是一种荣耀”，梁文峰如是说。).

A speech span covers its marks and the punctuation right after the closing mark, so the pieces
either side read naturally on their own ("他曾指出：" | "“我们……不低。").
"""

from __future__ import annotations

import re
from typing import Any

from .ingest import has_speakable

OPENING = {"“": "”", "「": "」", "『": "』", "﹁": "﹂", "﹃": "﹄", '"': '"'}
_CLOSING = set(OPENING.values())
_SENTENCE_END = set("。！？!?…⋯")
_TRAILING = set("，,、；;：:。！？!?…⋯—.") | {" ", "\u3000"}
# Verbs that introduce or attribute speech (simplified and traditional forms).
_SPEECH_VERB = re.compile(
    r"(说|說|道|问|問|答|表示|指出|强调|強調|写道|寫道|称|稱|透露|喊|叫|宣布|坦言|直言|笑言|提到)$"
)
_CLAUSE_BREAK = re.compile(r"[，,。！？!?；;：:\n]")
MIN_SPEAKABLE = 2  # a one-character quote ("“好”") is a term more often than a reply


def top_level_quotes(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, closed) of each outermost quoted span, marks included. Nested quotes
    (‘…’ inside “…”) belong to their outer span; an unclosed span runs to the end of the text."""
    spans: list[tuple[int, int, bool]] = []
    stack: list[str] = []
    start = 0
    for i, ch in enumerate(text):
        if stack and ch == stack[-1]:
            stack.pop()
            if not stack:
                spans.append((start, i + 1, True))
        elif ch in OPENING and ch != '"' or ch == '"' and not stack:
            if not stack:
                start = i
            stack.append(OPENING[ch])
        # a stray closing mark (or an ASCII quote nested in curly ones) is plain punctuation
    if stack:
        spans.append((start, len(text), False))
    return spans


def _introduced(before: str) -> bool:
    before = before.rstrip()
    if before.endswith(("：", ":")):
        return True
    return bool(_SPEECH_VERB.search(before.rstrip("，,").rstrip()))


def _attributed(after: str) -> bool:
    clause = _CLAUSE_BREAK.split(after.lstrip(" \u3000，,"), maxsplit=1)[0].strip()
    return bool(clause) and bool(_SPEECH_VERB.search(clause))


def quotation_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of the quoted speech in a paragraph (see the module docstring for the rule)."""
    out: list[tuple[int, int]] = []
    for start, end, closed in top_level_quotes(text):
        inner = text[start + 1:end - 1] if closed else text[start + 1:end]
        if sum(1 for ch in inner if ch.isalnum()) < MIN_SPEAKABLE:
            continue
        ends_sentence = inner.rstrip().rstrip("".join(_CLOSING) + "’'").rstrip()[-1:] in _SENTENCE_END
        if not (_introduced(text[:start]) or ends_sentence or not closed or _attributed(text[end:])):
            continue
        while end < len(text) and text[end] in _TRAILING:
            end += 1
        out.append((start, end))
    return out


def split_quotations(text: str, pieces: list[tuple[str, bool]]) -> list[tuple[str, bool, bool]]:
    """Cut the segmenter's pieces of paragraph `text` (which concatenate back to it) where quoted
    speech starts and ends: (piece, ends_sentence, is_quote). Inner cuts do not end a sentence
    (they get a clause pause). A cut-off bit with nothing speakable joins its neighbour, so every
    piece still has something to say and no character is lost."""
    spans = quotation_spans(text)
    out: list[tuple[str, bool, bool]] = []
    pos = 0
    for piece, ends_sentence in pieces:
        start, end = pos, pos + len(piece)
        pos = end
        cuts = sorted({c for a, b in spans for c in (a, b) if start < c < end})
        bounds = [start, *cuts, end]
        parts = []
        for a, b in zip(bounds, bounds[1:], strict=False):
            quote = any(s <= a and b <= e for s, e in spans)
            parts.append([text[a:b], quote])
        merged: list[list[Any]] = []
        for part in parts:
            if merged and not has_speakable(str(part[0])):
                merged[-1][0] += part[0]
            elif merged and not has_speakable(merged[-1][0]):
                merged[-1] = [merged[-1][0] + part[0], part[1]]
            else:
                merged.append(part)
        out += [(p, ends_sentence if i == len(merged) - 1 else False, q) for i, (p, q) in enumerate(merged)]
    return out
