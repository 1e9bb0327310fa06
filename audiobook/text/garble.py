"""Find and repair GBK "misaligned decode" damage in one line of source text.

The damage (byte analysis in reference/zh-text-normalization.md §8): a decoder met the lead byte A1 of
a full-width mark (usually 。 = A1A3), emitted `?` for it alone, and read the following GBK bytes one
byte out of phase until an ASCII byte landed where a lead byte was expected; a later full→half-width
pass turned the full-width forms into ASCII. So `實踐。現在` (… A1A3 AC46 D4DA) became `實踐?,F在`
(`?` + A3AC `，`→`,` + 46 `F` + D4DA `在`). Undecodable pairs were dropped, which loses bytes.

Repair is a search on the GBK re-encoding of the text after the `?`: put a lead byte back in place of
the `?`, then a few rounds of one-byte edits (delete, replace, insert) near the first character that
does not read as a word, scoring each candidate by how much of it a dictionary (jieba, on an OpenCC
t2s copy) covers with words of two or more characters. A repair is kept only when it reads as words;
otherwise the clause holding the damage is dropped so garbage is never read aloud.

Detection is cheap and needs no dictionary: only a `?` or U+FFFD followed by tell-tale signs (a stray
ASCII letter between CJK characters, `?` glued to `,;:!`, characters in neither GB2312 nor Big5)
starts the search, so real question marks cost almost nothing.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from typing import Literal

from ..models import GarbledSpan
from ..store.memo import remembered
from . import words

log = logging.getLogger(__name__)

REPAIR_VERSION = 1  # bump when a change here changes any line's repair: remembered edits are keyed by it
_BOUNDARY = "。！？；，,;:!?"  # clause boundaries for dropping (ASCII ones are used as Chinese punctuation)
_STRENGTH = {**dict.fromkeys("。！？!?", 3), **dict.fromkeys("；;：:", 2), **dict.fromkeys("，,", 1)}
_FULL_WIDTH_AGAIN = {",": "，", "!": "！", ";": "；", ":": "："}  # undone by the full→half-width pass
_CJK_PUNCT = set("。，、；：？！“”‘’「」『』（）《》…—·")  # other symbol-row characters count as misreads
_QUOTES = set("“”‘’「」『』")
_REPAIR_MARKS = set("。，、；：？！“”「」")  # what a lost A1/A3 lead byte plausibly restores
_MAX_RUN = 24  # characters after the `?` in which the stream must resynchronise
_CONTEXT = 3  # aligned characters kept on each side so the scorer sees whole words
_MAX_WORD = 8  # longest dictionary word tried (jieba has longer idioms; they do not matter here)
_RARE_FREQ = 50  # uncovered characters rarer than this (jieba frequency) are garbage
_WEAK_FREQ = 10_000  # uncovered characters rarer than this are worth another edit round
_BEAM = 4
_EXTRA_ROUNDS = 2
_MIN_GAIN = 2.0  # a repair must beat the damaged text by this much
# The lost byte is almost always the A1 lead of a full-width mark (。“、…), so restoring a mark is
# preferred over a CJK character that merely extends the word before the `?` (實踐傢 vs 實踐。).
_MARK_PRIOR = 2.0


# --- cheap detection (no dictionary) ---------------------------------------------------------------


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _is_ascii_word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _stray_ascii(text: str, i: int) -> bool:
    """A lone ASCII char that can be a GBK trail byte (0x40–0x7E) wedged against CJK text."""
    ch = text[i]
    if not "\x40" <= ch <= "\x7e":
        return False
    prev = text[i - 1] if i > 0 else " "
    nxt = text[i + 1] if i + 1 < len(text) else " "
    if _is_ascii_word(prev) or _is_ascii_word(nxt) or prev == " " and nxt == " ":
        return False
    return _is_cjk(prev) or _is_cjk(nxt) or prev in _CJK_PUNCT or nxt in _CJK_PUNCT or prev in _BOUNDARY


@cache
def _in_neither_codepage(ch: str) -> bool:
    """Characters outside both GB2312 and Big5 are rare in real Chinese prose; misreads land there."""
    for codec in ("gb2312", "big5"):
        try:
            ch.encode(codec)
            return False
        except UnicodeEncodeError:
            pass
    return True


@cache
def _uncommon(ch: str) -> bool:
    """Outside the frequent blocks of both GB2312 (level 1, leads B0–D7) and Big5 (A440–C67E)."""
    try:
        if 0xB0 <= ch.encode("gb2312")[0] <= 0xD7:
            return False
    except UnicodeEncodeError:
        pass
    try:
        return not b"\xa4\x40" <= ch.encode("big5") <= b"\xc6\x7e"
    except UnicodeEncodeError:
        return True


def _run_end(line: str, p: int) -> int:
    """End (exclusive) of the misread run starting at the `?` at p: just past the resync byte."""
    for i in range(p + 2, min(len(line), p + _MAX_RUN)):
        ch = line[i]
        if ch.isascii() and ch not in _FULL_WIDTH_AGAIN:
            return i + 1 if "\x40" <= ch <= "\x7e" else i
    return min(len(line), p + _MAX_RUN)


def _signals(line: str, p: int, end: int) -> tuple[int, bool]:
    """How many kinds of damage show after the `?` at p, and whether one of them is conclusive."""
    run = line[p + 1 : end]
    # the character after the lost lead byte is a full-width form (A3xx) made ASCII: `?,F在`, `?Ec會`
    k = p + 1
    while k < len(line) and k - p <= 3 and line[k].isascii() and line[k] not in " ?":
        k += 1
    glued = 1 < k - p <= 3 and k < len(line) and (_is_cjk(line[k]) or line[k] in _CJK_PUNCT)
    stray = any(_stray_ascii(line, i) for i in range(k, end))  # `?A股` is one sign, not two
    odd = any(_is_cjk(ch) and _in_neither_codepage(ch) for ch in run)
    uncommon = any(_is_cjk(ch) and _uncommon(ch) for ch in run[:4])
    lost = "\ufffd" in run
    return glued + stray + (odd or uncommon) + lost, odd or lost


# --- dictionary and scoring -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lexicon:
    freq: Mapping[str, int]  # jieba's word frequencies (words.frequencies())
    gbk_pairs: dict[int, str]

    def t2s(self, text: str) -> str:
        converted = _opencc().convert(text)
        return converted if len(converted) == len(text) else text


@cache
def _opencc():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


@cache
def _opencc_s2t():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("s2t")


@cache
def _script(ch: str) -> str:
    """ "t" for a Traditional-only character, "s" for a Simplified-only one, "" for shared ones."""
    if not _is_cjk(ch):
        return ""
    if _opencc().convert(ch) != ch:
        return "t"
    return "s" if _opencc_s2t().convert(ch) != ch else ""


def _line_script(text: str) -> str:
    """The script a line is written in, so a repair cannot mix in the other one (實踐 vs 当权)."""
    counts = {"t": 0, "s": 0, "": 0}
    for ch in text:
        counts[_script(ch)] += 1
    if counts["t"] > 2 * counts["s"]:
        return "t"
    return "s" if counts["s"] > 2 * counts["t"] else ""


@cache
def _lexicon() -> _Lexicon:
    pairs: dict[int, str] = {}
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            if trail == 0x7F:
                continue
            try:
                pairs[lead << 8 | trail] = bytes((lead, trail)).decode("gbk")
            except UnicodeDecodeError:
                pass
    return _Lexicon(freq=words.frequencies(), gbk_pairs=pairs)


def _decode(data: bytes, pairs: dict[int, str]) -> tuple[str, list[int]]:
    """GBK decode that also returns each character's byte offset (bad lead byte → U+FFFD, 1 byte)."""
    chars: list[str] = []
    offsets: list[int] = []
    i, n = 0, len(data)
    while i < n:
        offsets.append(i)
        b = data[i]
        if b < 0x80:
            chars.append(chr(b))
            i += 1
        elif i + 1 < n and (ch := pairs.get(b << 8 | data[i + 1])) is not None:
            chars.append(ch)
            i += 2
        else:
            chars.append("\ufffd")
            i += 1
    return "".join(chars), offsets


@dataclass(frozen=True)
class _Reading:
    score: float  # for ranking candidates: words plus small bonuses for marks
    words: float  # how much reads as dictionary words, minus misreads
    covered: tuple[bool, ...]
    weak: tuple[int, ...]  # indices of uncovered, not very common characters
    bad: tuple[int, ...]  # indices of rare characters, `?`, U+FFFD, stray ASCII, odd symbols


_COMMON, _WEAK, _RARE, _MARK, _ASCII, _SYMBOL = range(6)


@cache
def _kind(original: str, simple: str) -> int:
    """Class of one character (`simple` is its t2s form) for scoring when no word covers it."""
    if _is_cjk(simple):
        freq = _lexicon().freq.get(simple, 0)
        if freq < _RARE_FREQ or _in_neither_codepage(original):
            return _RARE
        return _WEAK if freq < _WEAK_FREQ else _COMMON
    if simple in _CJK_PUNCT:
        return _MARK
    return _ASCII if simple.isascii() else _SYMBOL  # U+FFFD, kana, Greek, box drawing, full-width forms


def _read(text: str, lex: _Lexicon, neutral: int = -1, mark: int = -1, script: str = "") -> _Reading:
    """Score how well `text` reads as words. Index `neutral` is ignored (the `?` under repair); a
    full-width mark at index `mark` (what the `?` was restored to) earns the damage model's prior;
    characters only used in the other script than `script` ("t"/"s") count as misreads."""
    foreign = {"t": "s", "s": "t"}.get(script, "-")
    simple = lex.t2s(text)
    n = len(simple)
    kinds = [_kind(a, b) for a, b in zip(text, simple, strict=True)]
    best = [0] * (n + 1)
    step = [1] * (n + 1)
    for i in range(n - 1, -1, -1):
        best[i] = best[i + 1]
        if kinds[i] > _RARE:
            continue
        for j in range(i + 2, min(n, i + _MAX_WORD) + 1):
            freq = lex.freq.get(simple[i:j])
            if freq is None:
                break  # jieba stores every prefix of every word, so nothing longer matches
            if freq and j - i + best[j] > best[i]:
                best[i], step[i] = j - i + best[j], j - i
    covered = [False] * n
    i = 0
    while i < n:
        if step[i] > 1:  # step is only set together with the best value it produced
            covered[i : i + step[i]] = [True] * step[i]
            i += step[i]
        else:
            i += 1
    weak: list[int] = []
    bad: list[int] = []
    punct = 0
    for i, kind in enumerate(kinds):
        if i == neutral:
            continue
        if kind <= _RARE and _script(text[i]) == foreign:
            bad.append(i)
            continue
        if covered[i] or kind == _COMMON:
            continue
        if kind == _WEAK:
            weak.append(i)
        elif kind == _MARK:
            punct += 1
            if i and kinds[i - 1] == _MARK and not {text[i - 1], text[i]} & _QUOTES:
                bad.append(i)  # 。、 side by side: a misread, not punctuation
        elif kind != _ASCII or simple[i] == "?" or _stray_ascii(simple, i):
            bad.append(i)
    words = sum(covered) - 0.5 * len(weak) - 3.0 * len(bad)
    score = words + 0.25 * punct + (_MARK_PRIOR if 0 <= mark < n and kinds[mark] == _MARK else 0.0)
    return _Reading(score, words, tuple(covered), tuple(weak), tuple(bad))


# --- search -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    data: bytes
    text: str  # left context + decoded data
    offsets: tuple[int, ...]
    reading: _Reading


def _encode_tail(line: str, start: int, stop: int) -> tuple[bytes, int]:
    """GBK bytes of line[start:stop] with `,!;:` next to CJK made full-width again; stops early at a
    character GBK cannot encode. Returns the bytes and where they end in the line."""
    out = bytearray()
    for i in range(start, stop):
        ch = line[i]
        if ch in _FULL_WIDTH_AGAIN and any(
            0 <= j < len(line) and (_is_cjk(line[j]) or line[j] in _CJK_PUNCT) for j in (i - 1, i + 1)
        ):
            ch = _FULL_WIDTH_AGAIN[ch]
        try:
            out += ch.encode("gbk")
        except UnicodeEncodeError:
            return bytes(out), i
    return bytes(out), stop


def _edits(data: bytes, around: int, limit: int) -> list[bytes]:
    """Every one-byte delete, replace and insert within a byte of offset `around`, keeping byte 0 (the
    restored lead) and everything from `limit` on (the aligned text after the run)."""
    values = [v for v in range(0x40, 0xFF) if v != 0x7F]
    out: list[bytes] = []
    for pos in range(max(1, around - 1), min(len(data), around + 3, limit)):
        head, tail = data[:pos], data[pos + 1 :]
        out.append(head + tail)
        out.extend(head + bytes((v,)) + tail for v in values if v != data[pos])
        out.extend(head + bytes((v, data[pos])) + tail for v in values)
    return out


def _evaluate(datas: list[bytes], left: str, script: str, lex: _Lexicon, seen: dict[str, _Candidate]) -> None:
    for data in datas:
        text, offsets = _decode(data, lex.gbk_pairs)
        text = left + text
        if text not in seen:
            reading = _read(text, lex, mark=len(left), script=script)
            seen[text] = _Candidate(data, text, tuple(offsets), reading)


def _best_repair(line: str, p: int, end: int, lex: _Lexicon) -> tuple[int, str] | None:
    """Search repairs of the run line[p:end] (line[p] is the `?`). Returns (stop, replacement) meaning
    line[p:stop] reads as `replacement`, or None when nothing reads as words."""
    left = line[max(0, p - _CONTEXT) : p]
    tail, stop = _encode_tail(line, p + 1, min(len(line), end + _CONTEXT))
    if not tail:
        return None
    starts = [tail]
    if 0x21 <= tail[0] <= 0x7E:  # the character after `?` is often a full-width form made half-width
        starts.append(chr(tail[0] + 0xFEE0).encode("gbk") + tail[1:])
    seen: dict[str, _Candidate] = {}
    script = _line_script(line[:p] + line[end:])
    _evaluate([bytes((lead,)) + t for t in starts for lead in range(0x81, 0xFF)], left, script, lex, seen)
    beam = heapq.nlargest(_BEAM, seen.values(), key=lambda c: c.reading.score)
    in_run = len(left) + end - p  # flaws in the aligned context after the run are not ours to edit
    run_bytes = 1 + len(_encode_tail(line, p + 1, end)[0])
    for _ in range(_EXTRA_ROUNDS):
        top = beam[0].reading.score
        for cand in beam:
            flawed = sorted(i for i in cand.reading.weak + cand.reading.bad if len(left) <= i < in_run)
            if flawed:
                limit = run_bytes + len(cand.data) - len(tail)  # +1 slack: a variant may be longer
                edits = _edits(cand.data, cand.offsets[flawed[0] - len(left)], limit)
                _evaluate(edits, left, script, lex, seen)
        beam = heapq.nlargest(_BEAM, seen.values(), key=lambda c: c.reading.score)
        if beam[0].reading.score <= top:
            break
    best = beam[0]
    damaged = line[p:stop]
    before = _read(left + damaged, lex, neutral=len(left), script=script)
    repaired = best.text[len(left) :]
    same = 0  # the aligned tail both share
    while same < min(len(damaged), len(repaired)) - 1 and _half(damaged[-1 - same]) == _half(
        repaired[-1 - same]
    ):
        same += 1
    replacement = repaired[: len(repaired) - same]
    log.debug("garble at %d: %r → %r (%.2f vs %.2f)", p, damaged, repaired, best.reading.words, before.words)
    # the gain must come from words, not from the bonuses that rank candidates
    if best.reading.words - before.words < _MIN_GAIN or not _reads_as_words(
        best, len(left), len(replacement)
    ):
        return None
    if replacement[0] not in _REPAIR_MARKS and all(line[p + i - len(left)].isascii() for i in before.bad):
        return None  # `?A股` may be a real question mark: restoring a CJK lead needs visible misreads
    return stop - same, replacement


def _reads_as_words(best: _Candidate, start: int, length: int) -> bool:
    """The repaired stretch best.text[start:start+length] is punctuation a lost lead byte plausibly
    restores and words: no misreads, CJK characters covered by dictionary words or very common, and
    some positive evidence (a word, or a restored full-width mark as the damage model predicts)."""
    changed = range(start, start + length)
    text, reading = best.text, best.reading
    if any(i in changed for i in reading.bad + reading.weak):
        return False
    if any(text[i].isascii() or (not _is_cjk(text[i]) and text[i] not in _REPAIR_MARKS) for i in changed):
        return False
    cjk = [i for i in changed if _is_cjk(text[i])]
    covered = sum(reading.covered[i] for i in cjk)
    if len(cjk) >= 3 and covered < 0.5 * len(cjk):
        return False
    # the restored lead byte starts a mark (the damage model) or a character that is part of a word
    return text[start] in _REPAIR_MARKS or (covered > 0 and reading.covered[start])


def _half(ch: str) -> str:
    return chr(ord(ch) - 0xFEE0) if "\uff01" <= ch <= "\uff5e" else ch


# --- line level ---------------------------------------------------------------------------------------


def _clause_to_drop(line: str, start: int, end: int) -> tuple[int, int]:
    """What to cut for damage at line[start:end]: the clause holding it, keeping the stronger of its two
    boundaries. A misread run starts at its `?`, itself the damaged boundary (the lost A1 lead byte of a
    full-width mark), so the text before it is intact and stays."""
    after = next((i for i in range(end, len(line)) if line[i] in _BOUNDARY), None)
    if line[start] == "?":
        before = start - 1 if start else None
    else:
        before = next((i for i in range(start - 1, -1, -1) if line[i] in _BOUNDARY), None)
    if before is None:
        return 0, len(line) if after is None else after + 1
    if after is None:
        return before + 1, len(line)
    if line[before] not in _BOUNDARY or _STRENGTH[line[before]] < _STRENGTH[line[after]]:
        return before + 1, after
    return before + 1, after + 1


def repair_line(line: str, lineno: int) -> tuple[str, list[GarbledSpan]]:
    """Return `line` with GBK misread runs repaired or their clauses dropped, and one span per run.

    Columns are 1-based in `line`. A repaired span's `original` is the misread text and `replacement`
    what replaces it; a dropped span's `original` is the whole clause removed from the line.
    The search takes up to a second a line (and loads jieba's dictionary), so its edits are
    remembered per line text (audiobook/store/memo.py): a re-render does not search again.
    """
    if "?" not in line and "\ufffd" not in line:
        return line, []
    edits = remembered("garble", _memo_version(), line, lambda: _find_edits(line))
    return _apply(line, lineno, [(int(a), int(b), str(r)) for a, b, r in edits])


@cache
def _memo_version() -> str:
    """What a line's edits depend on besides the line: this code and the dictionaries it reads."""
    return f"garble {REPAIR_VERSION}; jieba {metadata.version('jieba')}; opencc {metadata.version('opencc')}"


def _find_edits(line: str) -> list[tuple[int, int, str]]:
    edits: list[tuple[int, int, str]] = []  # (start, stop, replacement), left to right, disjoint
    i = 0
    while i < len(line):
        if line[i] not in "?\ufffd":
            i += 1
            continue
        if line[i] == "?":
            end = _run_end(line, i)
            kinds, conclusive = _signals(line, i, end)
        else:
            end, kinds, conclusive = i + 1, 1, True
        if not kinds:
            i += 1
            continue
        lex = _lexicon()
        found = _best_repair(line, i, end, lex) if line[i] == "?" else None
        if found is not None:
            edits.append((i, found[0], found[1]))
            i = found[0]
            continue
        # rare or other-script characters (镜 in a Traditional line) in the run are misreads too
        run = _read(line[i + 1 : end], lex, script=_line_script(line[:i] + line[end:]))
        misread = [k for k in run.bad if _is_cjk(line[i + 1 + k])]
        if conclusive or kinds >= 2 or misread:
            flawed = run.bad + run.weak  # without a resync byte the run ends at its last flaw
            start, stop = _clause_to_drop(line, i, i + 2 + max(flawed, default=0))
            while edits and edits[-1][1] > start:  # a clause swallows earlier edits it overlaps
                start = min(start, edits.pop()[0])
            edits.append((start, stop, ""))
            i = max(stop, end)
            continue
        i += 1
    return edits


def _apply(line: str, lineno: int, edits: list[tuple[int, int, str]]) -> tuple[str, list[GarbledSpan]]:
    spans: list[GarbledSpan] = []
    pieces: list[str] = []
    done = 0
    for start, stop, replacement in edits:
        action: Literal["repaired", "dropped"] = "repaired" if replacement else "dropped"
        spans.append(GarbledSpan(lineno, start + 1, line[start:stop], action, replacement))
        pieces += [line[done:start], replacement]
        done = stop
    pieces.append(line[done:])
    for span in spans:
        log.info("line %d col %d: %s %r → %r", lineno, span.col, span.action, span.original, span.replacement)
    return "".join(pieces), spans
