"""English words inside Chinese text → Kokoro's (misaki's) English phonemes, without GPL code.

Words are looked up in misaki's US English lexicons (us_gold, then us_silver; Apache-2.0, taken
from the misaki wheel at build time: audiobook_assets/misaki). What they lack is built from parts:
- inflections of a known stem: -s/-es/-'s, -ed, -ing (misaki's suffix rules for the endings);
- CamelCase and digit joins (DeepSeek → Deep·Seek, SpaceX → Space·X, R1 → R·one);
- an unknown all-capitals word, or any word still unknown, letter by letter (MLA → ɛm·ɛl·A).
Stress marks are kept as the lexicon gives them; in a word built from parts only the last part
keeps its primary stress (the others get secondary), as in a compound.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from pathlib import Path

from ...errors import EngineError

PRIMARY, SECONDARY = "ˈ", "ˌ"
_VOICELESS = set("ptkfθ")
_SIBILANT = set("szʃʒʧʤ")
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@functools.cache
def _lexicons() -> tuple[dict[str, object], dict[str, object]]:
    spec = importlib.util.find_spec("audiobook_assets")
    if spec is None or spec.origin is None:
        raise EngineError("the Kokoro voice's English lexicons are not installed; reinstall audiobook (in the "
                          "project: uv sync --reinstall-package audiobook)")
    folder = Path(spec.origin).parent / "misaki"
    try:
        return tuple(json.loads((folder / name).read_text(encoding="utf-8"))
                     for name in ("us_gold.json", "us_silver.json"))
    except (OSError, ValueError) as exc:
        raise EngineError(f"can't read the English lexicons in {folder} ({exc}); reinstall audiobook") from exc


def _entry(word: str) -> str | None:
    for lexicon in _lexicons():
        value = lexicon.get(word)
        if isinstance(value, dict):
            value = value.get("DEFAULT")
        if isinstance(value, str):
            return value
    return None


def lookup(word: str) -> str | None:
    """A word as the lexicons have it: as written, lower-cased, or capitalized."""
    for form in dict.fromkeys((word, word.lower(), word.capitalize())):
        found = _entry(form)
        if found is not None:
            return found
    return None


def _with_suffix(word: str) -> str | None:
    """An inflected form of a known stem."""
    lower = word.lower()
    if lower.endswith("'s") or lower.endswith("’s"):
        stem = lookup(word[:-2])
        return stem + _s_ending(stem) if stem else None
    if lower.endswith("s") and len(lower) > 3 and not lower.endswith("ss"):
        for cut in (1, 2) if lower.endswith("es") else (1,):
            stem = lookup(word[:-cut])
            if stem:
                return stem + _s_ending(stem)
    if lower.endswith("ed") and len(lower) > 4:
        for stem_word in (word[:-2], word[:-1], word[:-3] if lower[-3] == lower[-4] else ""):
            stem = lookup(stem_word) if stem_word else None
            if stem:
                last = stem.rstrip(PRIMARY + SECONDARY)[-1:]
                return stem + ("ᵻd" if last in "td" else "t" if last in _VOICELESS | _SIBILANT - set("zʒʤ") else "d")
    if lower.endswith("ing") and len(lower) > 5:
        for stem_word in (word[:-3], word[:-3] + "e", word[:-4] if lower[-4] == lower[-5] else ""):
            stem = lookup(stem_word) if stem_word else None
            if stem:
                return stem + "ɪŋ"
    return None


def _s_ending(stem: str) -> str:
    last = stem.rstrip(PRIMARY + SECONDARY)[-1:]
    return "ᵻz" if last in _SIBILANT else "s" if last in _VOICELESS else "z"


def spell(word: str) -> str:
    """Letter by letter (digits as English numbers), as one compound."""
    parts = [lookup(ch.upper()) if ch.isalpha() else lookup(_DIGIT_WORDS[int(ch)]) for ch in word if ch.isalnum()]
    return _compound([p for p in parts if p])


def _compound(parts: list[str]) -> str:
    if len(parts) < 2:
        return "".join(parts)
    return "".join(p.replace(PRIMARY, SECONDARY) for p in parts[:-1]) + parts[-1]


@functools.cache
def word_phonemes(word: str) -> str:
    """One Latin word (letters, digits, inner apostrophes, hyphens or dots) → phonemes."""
    if "-" in word or "." in word:
        return " ".join(word_phonemes(part) for part in re.split(r"[-.]+", word) if part)
    found = lookup(word)
    if found is not None:
        return found
    if word.isupper() and word.isalpha():
        return spell(word)  # an acronym nobody listed: MLA, LLM
    found = _with_suffix(word)
    if found is not None:
        return found
    parts = _PARTS.findall(word)
    if len(parts) > 1:  # DeepSeek, SpaceX, R1
        return _compound([lookup(p) or _with_suffix(p) or (spell(p) if not p.isdigit() else _number(p))
                          for p in parts])
    return spell(word)


def _number(digits: str) -> str:
    return _compound([lookup(_DIGIT_WORDS[int(d)]) or "" for d in digits])


def english_phonemes(text: str) -> str:
    """A run of Latin text (one or more words) → phonemes, words separated by spaces."""
    return " ".join(word_phonemes(w) for w in re.findall(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?(?:[-.][A-Za-z0-9]+)*",
                                                           text))
