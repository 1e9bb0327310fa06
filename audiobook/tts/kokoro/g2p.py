"""Kokoro's front end: spoken text (Chinese with English words) → the phoneme string Kokoro v1.0 reads.

Chinese follows the G2P Kokoro v1.0 was trained on (misaki 0.9.4, `ZHG2P` without a version, Apache-2.0):
OpenCC t2s (our addition: jieba and pypinyin do better on Simplified) → jieba words → pypinyin TONE3
with neutral tone 5, no tone sandhi → each syllable to IPA (pinyin_ipa.py) with tones as arrows
(→ ↗ ↓ ↘), syllables of a word run together, words separated by a space; Chinese punctuation becomes
ASCII punctuation plus a space. Latin words go to the English G2P (english.py) instead of being
passed through as letters, which is what misaki's legacy path did.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from ...text import words
from ...text.lexicon import DIGIT_NAMES
from .english import english_phonemes
from .pinyin_ipa import syllable_ipa

# Bump whenever a change here (or in english.py, pinyin_ipa.py) changes what some text reads as:
# it is part of the engine version, hence of the segment cache key.
G2P_VERSION = "1"

_PUNCTUATION = {  # misaki's map_punctuation
    "、": ", ", "，": ", ", "。": ". ", "．": ". ", "！": "! ", "：": ": ", "；": "; ", "？": "? ",
    "«": " “", "»": "” ", "《": " “", "》": "” ", "「": " “", "」": "” ", "【": " “", "】": "” ",
    "（": " (", "）": ") ",
}  # fmt: skip
_PUNCTUATION_RE = re.compile("|".join(map(re.escape, _PUNCTUATION)))
_RUNS = re.compile(r"(?P<hanzi>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)"
                   r"|(?P<latin>[A-Za-z][A-Za-z0-9'’\-.]*[A-Za-z0-9]|[A-Za-z])"  # R1-Zero, GPT-4o, Elon
                   r"|(?P<digits>[0-9]+)|(?P<other>[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffA-Za-z0-9]+)")


@functools.cache
def _t2s() -> Any:  # opencc's converter (opencc has no type hints)
    import opencc

    return opencc.OpenCC("t2s")


def phonemes(text: str) -> str:
    """The phoneme string for one spoken unit (punctuation kept: the model uses it for prosody).
    Chinese text comes out exactly as misaki's v1.0 path writes it (spacing included)."""
    text = _PUNCTUATION_RE.sub(lambda m: _PUNCTUATION[m.group()], _t2s().convert(text)).strip()
    out = ""
    for match in _RUNS.finditer(text):
        kind, run = match.lastgroup, match.group()
        if kind == "hanzi":
            out += _chinese(run)
        elif kind == "digits":  # the normalizer reads numbers; a stray digit is read one by one
            out += _chinese("".join(DIGIT_NAMES[d] for d in run))
        elif kind == "latin":  # a word apart from its neighbours, as in misaki's v1.1 path
            out += ("" if not out or out.endswith(" ") else " ") + english_phonemes(run) + " "
        else:
            out += run.lstrip(" ") if out.endswith(" ") and run[:1] == " " else run
    return re.sub(r" (?=[,.!?:;])", "", out).strip() if _HAS_LATIN.search(text) else out.strip()


_HAS_LATIN = re.compile(r"[A-Za-z]")


def _chinese(run: str) -> str:
    from pypinyin import Style, lazy_pinyin

    ipa_words = []
    for word in words.tokenizer().lcut(run, HMM=True):
        readings = lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True)
        ipa_words.append("".join(syllable_ipa(r) for r in readings))
    return " ".join(w for w in ipa_words if w)
