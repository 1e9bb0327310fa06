"""voices/lexicon.toml: strict validation, matching rules, per-engine readings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from audiobook.errors import ConfigError
from audiobook.text.lexicon import LETTER_NAMES, Lexicon, LexiconEntry, load_lexicon, parse_lexicon, spell_out


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lexicon.toml"
    path.write_text(text, encoding="utf-8")
    return path


BAD_FILES = [
    ('[words."MLA"]\nspel = true\n', ["'spel'", "allowed keys: local, edge, kokoro, spell, note", 'words."MLA"']),
    ('[words."MLA"]\nspell = "yes"\n', ['words."MLA".spell', "must be a bool"]),
    ('[words."DeepSeek"]\nlocal = 3\n', ['words."DeepSeek".local', "must be a str"]),
    ('[word."DeepSeek"]\nlocal = "深度求索"\n', ["unknown top-level key 'word'", "allowed: words"]),
    ('[words."DeepSeek"]\nnote = "x"\n', ["does nothing", "local, edge, kokoro, spell"]),
    ('[words."GPT"]\nlocal = "GPT"\n', ['words."GPT".local', "Latin letters or digits"]),
    ("words = 3\n", ["'words' must be a table"]),
    ('[words."MLA"\n', ["not valid TOML"]),
]


@pytest.mark.parametrize(("text", "fragments"), BAD_FILES, ids=[f[1][0] for f in BAD_FILES])
def test_invalid_lexicon_is_a_config_error(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_lexicon(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_missing_file_says_where(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lexicon file not found"):
        load_lexicon(tmp_path / "nope.toml")


def test_project_lexicon_loads_and_local_readings_are_chinese() -> None:
    lexicon = load_lexicon()
    assert "DeepSeek" in lexicon
    for entry in lexicon.entries.values():
        reading = entry.reading("local")
        assert not re.search(r"[A-Za-z0-9]", reading), entry


READINGS = [
    (LexiconEntry("DeepSeek", local="深度求索"), "深度求索", "DeepSeek"),
    (LexiconEntry("MLA", spell=True), "艾姆艾勒诶", "M L A"),
    (LexiconEntry("MoE", spell=True), "艾姆欧伊", "M O E"),
    (LexiconEntry("R1-Zero", local="阿尔一泽罗", edge="R1 Zero"), "阿尔一泽罗", "R1 Zero"),
    (LexiconEntry("AI", spell=True, edge="AI"), "诶艾", "AI"),
]


@pytest.mark.parametrize(("entry", "local", "edge"), READINGS, ids=[r[0].word for r in READINGS])
def test_entry_reading_per_engine(entry: LexiconEntry, local: str, edge: str) -> None:
    assert entry.reading("local") == local
    assert entry.reading("edge") == edge


def test_spell_out_covers_every_letter_and_digit() -> None:
    assert set(LETTER_NAMES) == set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert spell_out("H20", "local") == "艾尺二零"
    assert spell_out("gpu", "edge") == "G P U"


def _lexicon(*words: str) -> Lexicon:
    return parse_lexicon({"words": {w: {"spell": True} for w in words}}, "<test>")


MATCHES = [
    ("AI and AIR and OpenAI", ("AI",), ["AI"]),  # whole words only
    ("ai AI", ("AI",), ["AI"]),  # case-sensitive
    ("R1-Zero beats R1", ("R1", "R1-Zero"), ["R1-Zero", "R1"]),  # longest first
    ("用AI做事", ("AI",), ["AI"]),  # Chinese around a Latin word is a boundary
    ("重塑格局", ("重塑",), ["重塑"]),  # Chinese keys match anywhere
    ("meta derisking, Meta", ("meta derisking", "Meta"), ["meta derisking", "Meta"]),
]


@pytest.mark.parametrize(("text", "words", "found"), MATCHES, ids=[m[0] for m in MATCHES])
def test_matching(text: str, words: tuple[str, ...], found: list[str]) -> None:
    assert [m.group(0) for m in _lexicon(*words).finditer(text)] == found
