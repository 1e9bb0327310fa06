"""The local voice's front end: spoken text → Baker symbols (table tests)."""

from __future__ import annotations

import logging

import pytest

from audiobook.tts import frontend
from audiobook.tts.frontend import text_to_utterances


def phones(text: str) -> str:
    """All utterances' symbols without the framing sil … sil eos, joined with ' | '."""
    return " | ".join(" ".join(u.symbols[1:-2]) for u in text_to_utterances(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("一个", "^ i2 #0 g e4", id="yi-before-tone4-is-tone2"),
        pytest.param("一起", "^ i4 #0 q i3", id="yi-before-tone3-is-tone4"),
        pytest.param("第一", "d i4 #0 ^ i1", id="ordinal-yi-keeps-tone1"),
        pytest.param("不是", "b u2 #0 sh iii4", id="bu-before-tone4-is-tone2"),
        pytest.param("不好", "b u4 #0 h ao3", id="bu-before-tone3-keeps-tone4"),
        pytest.param("我不去", "^ uo3 #1 b u2 #1 q v4", id="bu-sandhi-across-words"),
        pytest.param("一样", "^ i2 #0 ^ iang4", id="yi-sandhi-missing-in-pypinyin"),
        pytest.param("统一思想", "t ong3 #0 ^ i1 #1 s ii1 #0 x iang3", id="word-final-yi-keeps-tone1"),
        pytest.param("十一月", "sh iii2 #0 ^ i1 #0 ^ ve4", id="yi-in-a-number-keeps-tone1"),
        pytest.param("看一看", "k an4 #0 ^ i5 #0 k an4", id="yi-in-reduplication-is-neutral"),
        pytest.param("展览", "zh an2 #0 l an3", id="tone3-sandhi-in-a-word"),
        pytest.param("展览馆", "zh an2 #0 l an2 #0 g uan3", id="tone3-sandhi-run-of-three"),
        pytest.param("我们的", "^ uo3 #0 m en5 #1 d e5", id="neutral-tone-5"),
        pytest.param("还款", "h uan2 #0 k uan3", id="override-huankuan"),
        pytest.param("银行", "^ in2 #0 h ang2", id="polyphone-from-phrase"),
        pytest.param("资本", "z ii1 #0 b en3", id="apical-ii"),
        pytest.param("知道", "zh iii1 #0 d ao4", id="retroflex-iii"),
        pytest.param("学习", "x ve2 #0 x i2", id="u-umlaut-as-v"),
        pytest.param("嗯", "^ en2", id="syllabic-n"),
    ],
)
def test_readings(text: str, expected: str) -> None:
    assert phones(text) == expected


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        pytest.param("開源模型", "开源模型", id="kaiyuan"),
        pytest.param("還款的時候", "还款的时候", id="huankuan"),
        pytest.param("為什麼", "为什么", id="weishenme"),
    ],
)
def test_traditional_reads_like_simplified(traditional: str, simplified: str) -> None:
    assert phones(traditional) == phones(simplified)


def test_words_keep_the_input_spelling() -> None:
    (utterance,) = text_to_utterances("開源模型")
    assert [w.text for w in utterance.words] == ["開源", "模型"]
    assert [utterance.symbols[w.start : w.end] for w in utterance.words] == [
        ("k", "ai1", "#0", "^", "van2"),
        ("m", "o2", "#0", "x", "ing2"),
    ]


@pytest.mark.parametrize(
    ("text", "pieces", "pauses"),
    [
        pytest.param("你好，世界", ["n i2 #0 h ao3", "sh iii4 #0 j ie4"], [100, 0], id="comma-splits"),
        pytest.param("你好、世界", ["n i2 #0 h ao3", "sh iii4 #0 j ie4"], [100, 0], id="enum-comma"),
        pytest.param("你好。世界！", ["n i2 #0 h ao3", "sh iii4 #0 j ie4"], [250, 0], id="full-stop"),
        pytest.param("你好,世界?", ["n i2 #0 h ao3", "sh iii4 #0 j ie4"], [100, 0], id="ascii-punct"),
        pytest.param("“你好”", ["n i2 #0 h ao3"], [0], id="quotes-are-quiet"),
        pytest.param("你好……", ["n i2 #0 h ao3"], [0], id="trailing-ellipsis"),
        pytest.param("，。", [], [], id="nothing-speakable"),
        pytest.param("", [], [], id="empty"),
    ],
)
def test_punctuation_pauses(text: str, pieces: list[str], pauses: list[int]) -> None:
    utterances = text_to_utterances(text)
    assert [" ".join(u.symbols[1:-2]) for u in utterances] == pieces
    assert [u.pause_after_ms for u in utterances] == pauses
    assert all(u.symbols[0] == "sil" and u.symbols[-2:] == ("sil", "eos") for u in utterances)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("AI", "^ ei1 #0 ^ ai4", id="acronym"),
        pytest.param("Mo", "^ ai2 #0 m u5 #0 ^ ou1", id="lowercase"),
        pytest.param("R1", "^ a1 #0 ^ er5 #0 ^ i1", id="letter-and-digit"),
        pytest.param("3.5倍", "s an1 #0 d ian3 #0 ^ u3 #1 b ei4", id="decimal-point"),
        pytest.param("用AI写", "^ iong4 #1 ^ ei1 #0 ^ ai4 #1 x ie3", id="inside-hanzi"),
    ],
)
def test_latin_and_digits_are_spelled_out_with_a_warning(
    text: str, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="audiobook.tts.frontend"):
        assert phones(text) == expected
    assert "unread" in caplog.text


def test_unknown_symbols_are_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="audiobook.tts.frontend"):
        assert phones("你好@") == "n i2 #0 h ao3"
    assert "@" in caplog.text


def test_long_clause_is_cut_at_word_boundaries() -> None:
    text = (
        "南方的水稻种植区与北方的小麦种植区居民在认知方式上确有可测量的差异而这些差异的形成源于古代的生存策略"
    )
    utterances = text_to_utterances(text)
    syllables = [sum(s[-1].isdigit() and not s.startswith("#") for s in u.symbols) for u in utterances]
    assert len(utterances) == 2
    assert max(syllables) <= frontend.MAX_SYLLABLES
    assert sum(syllables) == len(text)
    assert "".join(w.text for u in utterances for w in u.words) == text


def test_every_symbol_has_a_model_id() -> None:
    text = "整個人工智能學界為之震動，這不僅僅是一個技術突破。DeepSeek的R1模型！"
    for utterance in text_to_utterances(text):
        ids = frontend.utterance_ids(utterance)
        assert len(ids) == len(utterance.symbols)
        assert ids[-1] == frontend.symbol_ids()["eos"]
