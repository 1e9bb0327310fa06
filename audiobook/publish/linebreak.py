"""Line breaking for mixed Chinese/Latin text (captions and cover titles).

Chinese may break between any two characters, Latin words and numbers may not, closing punctuation
never starts a line and opening punctuation never ends one (the basic kinsoku rules). A break just
after a clause mark (，。！？…) is preferred when it doesn't leave the line too short.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable

NO_LINE_START = set("，。、；：！？）》」』】〕〉”’…—·,.;:!?)]}%")
NO_LINE_END = set("（《「『【〔〈“‘([{")
CLAUSE_END = set("，。、；：！？…,.;:!?")
_RAW_TOKEN = re.compile(r"\s+|[0-9A-Za-z\u00c0-\u024f]+(?:[.,'’\-/:][0-9A-Za-z\u00c0-\u024f]+)*|.", re.S)
_MIN_FILL = 0.5  # a preferred (clause) break must leave the line at least this full


@functools.cache
def _char_width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def display_width(text: str) -> int:
    """Terminal-style columns: wide (CJK) characters count 2, everything else 1."""
    return sum(map(_char_width, text))  # captions call this ~400,000 times per book: one lookup a character


def tokens(text: str) -> list[str]:
    """Split into units that may not be broken inside; whitespace runs are their own tokens."""
    out: list[str] = []
    opening = ""
    for tok in _RAW_TOKEN.findall(text):
        if tok in NO_LINE_START and out and not out[-1].isspace():
            out[-1] += tok
        elif tok in NO_LINE_END:
            opening += tok
        elif tok.isspace() and not opening:
            out.append(tok)
        else:
            out.append(opening + tok)
            opening = ""
    if opening:
        out.append(opening)
    return out


def break_lines(text: str, max_width: float, width: Callable[[str], float] = display_width) -> list[str]:
    """Break `text` into lines no wider than `max_width` (a single character wider than that still
    gets a line of its own). Whitespace at line edges is dropped; empty text gives no lines."""
    lines: list[str] = []
    line: list[str] = []
    for tok in _split_wide(tokens(text), max_width, width):
        if line and _width(line + [tok], width) > max_width:
            cut = _best_break(line, max_width, width)
            lines.append("".join(line[:cut]).strip())
            line = line[cut:]
            while line and _width(line + [tok], width) > max_width:  # the rest + tok may not fit either
                lines.append("".join(line).strip())
                line = []
        if line or not tok.isspace():
            line.append(tok)
    if line:
        lines.append("".join(line).strip())
    return [ln for ln in lines if ln]


def _width(toks: list[str], width: Callable[[str], float]) -> float:
    return width("".join(toks).strip())


def _best_break(line: list[str], max_width: float, width: Callable[[str], float]) -> int:
    """Index to cut `line` at: after the last clause mark or space that keeps the line half full,
    else at the end."""
    for i in range(len(line) - 1, 0, -1):
        after_clause = line[i - 1][-1] in CLAUSE_END or line[i - 1].isspace() or line[i].isspace()
        if after_clause and _width(line[:i], width) >= max_width * _MIN_FILL:
            return i
    return len(line)


def _split_wide(toks: list[str], max_width: float, width: Callable[[str], float]) -> list[str]:
    """Cut tokens wider than a whole line (a long URL or word) into line-sized pieces."""
    out: list[str] = []
    for tok in toks:
        if tok.isspace() or width(tok) <= max_width:
            out.append(tok)
            continue
        piece = ""
        for ch in tok:
            if piece and width(piece + ch) > max_width:
                out.append(piece)
                piece = ""
            piece += ch
        out.append(piece)
    return out
