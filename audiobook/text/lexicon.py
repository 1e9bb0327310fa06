"""Pronunciation lexicon (voices/lexicon.toml): how words are read, per engine.

The local (offline) voice has no English phones, so every Latin-script word needs a
Chinese reading before it reaches that engine; the edge voice reads English itself but
sometimes needs an acronym forced letter by letter. File format::

    [words."DeepSeek"]
    local = "深度求索"      # reading for the local engine
    # edge = "..."          # reading for edge (default: leave as written)
    [words."MLA"]
    spell = true            # letter by letter on every engine without its own reading

Latin keys match case-sensitively as whole words (not inside a longer Latin/digit run);
Chinese keys match anywhere. Longer keys win over shorter ones at the same position.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..paths import voices_dir

ENGINES = ("local", "edge", "kokoro")
ENTRY_KEYS = {"local": str, "edge": str, "kokoro": str, "spell": bool, "note": str}


def speaks_english(engine: str) -> bool:
    """The engines that read Latin words themselves (the others get the lexicon or letter names)."""
    return engine != "local"
LEXICON_FILE = "lexicon.toml"

# Chinese names of the Latin letters, chosen so every syllable exists in the local voice's
# pinyin table (e.g. 皮 rather than a vulgar 屁 for P, 诶 = ei for A).
LETTER_NAMES = {
    "A": "诶", "B": "比", "C": "西", "D": "迪", "E": "伊", "F": "艾弗", "G": "吉",
    "H": "艾尺", "I": "艾", "J": "杰", "K": "开", "L": "艾勒", "M": "艾姆", "N": "恩",
    "O": "欧", "P": "皮", "Q": "丘", "R": "阿尔", "S": "艾斯", "T": "提", "U": "优",
    "V": "维", "W": "达布流", "X": "艾克斯", "Y": "外", "Z": "贼德",
}  # fmt: skip
DIGIT_NAMES = dict(zip("0123456789", "零一二三四五六七八九", strict=True))

_LATIN_OR_DIGIT = "A-Za-z0-9"


def spell_out(word: str, engine: str) -> str:
    """Letter by letter: Chinese letter names for local, spaced capitals for engines that read English.

    Digits inside the word are read one by one; other characters are dropped (a word here
    is a run of letters/digits, e.g. an acronym or an unknown name)."""
    if speaks_english(engine):
        return " ".join(ch.upper() for ch in word if ch.isascii() and ch.isalnum())
    parts = []
    for ch in word:
        if ch.isascii() and ch.isalpha():
            parts.append(LETTER_NAMES[ch.upper()])
        elif ch in DIGIT_NAMES:
            parts.append(DIGIT_NAMES[ch])
    return "".join(parts)


@dataclass(frozen=True)
class LexiconEntry:
    word: str
    local: str | None = None
    edge: str | None = None
    kokoro: str | None = None  # default: the edge reading
    spell: bool = False
    note: str = ""

    def reading(self, engine: str) -> str:
        """What `engine` should say for this word."""
        own = self.local if engine == "local" else (self.kokoro or self.edge) if engine == "kokoro" else self.edge
        if own is not None:
            return own
        if self.spell:
            return spell_out(self.word, engine)
        return self.word


@dataclass
class Lexicon:
    entries: dict[str, LexiconEntry] = field(default_factory=dict)
    source: str = "<memory>"

    def __post_init__(self) -> None:
        self._pattern = _build_pattern(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, word: object) -> bool:
        return word in self.entries

    def get(self, word: str) -> LexiconEntry | None:
        return self.entries.get(word)

    def finditer(self, text: str) -> list[re.Match[str]]:
        """Non-overlapping matches of lexicon words in `text`, leftmost-longest."""
        if self._pattern is None:
            return []
        return list(self._pattern.finditer(text))


def _build_pattern(entries: dict[str, LexiconEntry]) -> re.Pattern[str] | None:
    if not entries:
        return None
    alternatives = []
    for word in sorted(entries, key=len, reverse=True):
        alt = re.escape(word)
        if re.match(f"[{_LATIN_OR_DIGIT}]", word[0]):
            alt = f"(?<![{_LATIN_OR_DIGIT}])" + alt
        if re.match(f"[{_LATIN_OR_DIGIT}]", word[-1]):
            alt += f"(?![{_LATIN_OR_DIGIT}])"
        alternatives.append(alt)
    return re.compile("|".join(alternatives))


def default_lexicon_path() -> Path:
    return voices_dir() / LEXICON_FILE


def load_lexicon(path: Path | None = None) -> Lexicon:
    """Load and strictly validate a lexicon file (default voices/lexicon.toml)."""
    path = path or default_lexicon_path()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: lexicon file not found; create it or check the path") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax") from exc
    return parse_lexicon(data, str(path))


def parse_lexicon(data: dict[str, Any], where: str) -> Lexicon:
    unknown = sorted(set(data) - {"words"})
    if unknown:
        raise ConfigError(f"{where}: unknown top-level key {unknown[0]!r}; allowed: words")
    words = data.get("words", {})
    if not isinstance(words, dict):
        raise ConfigError(f"{where}: 'words' must be a table of [words.\"WORD\"] entries")
    entries = {}
    for word, table in words.items():
        entries[word] = _parse_entry(word, table, where)
    return Lexicon(entries=entries, source=where)


def _parse_entry(word: str, table: Any, where: str) -> LexiconEntry:
    key = f'words."{word}"'
    allowed = ", ".join(ENTRY_KEYS)
    if not word.strip() or word != word.strip():
        raise ConfigError(f"{where}: {key}: the word must be non-empty without surrounding spaces")
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: {key} must be a table with keys: {allowed}")
    unknown = sorted(set(table) - set(ENTRY_KEYS))
    if unknown:
        raise ConfigError(f"{where}: {key}: unknown key {unknown[0]!r}; allowed keys: {allowed}")
    for name, value in table.items():
        expected = ENTRY_KEYS[name]
        if not isinstance(value, expected):
            raise ConfigError(f"{where}: {key}.{name} must be a {expected.__name__}, got {value!r}")
    if not any(name in table for name in ("local", "edge", "kokoro", "spell")):
        raise ConfigError(f"{where}: {key} does nothing; set at least one of local, edge, kokoro, spell")
    local = table.get("local")
    if local is not None and re.search(f"[{_LATIN_OR_DIGIT}]", local):
        raise ConfigError(
            f"{where}: {key}.local = {local!r} contains Latin letters or digits, which the local "
            "voice cannot say; write the reading in Chinese characters"
        )
    return LexiconEntry(
        word=word,
        local=local,
        edge=table.get("edge"),
        kokoro=table.get("kokoro"),
        spell=table.get("spell", False),
        note=table.get("note", ""),
    )
