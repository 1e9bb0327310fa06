"""Word-timed caption cues for long sentences (a pure function: text and times in, cues out)."""

from __future__ import annotations

import re

import pytest

from audiobook.models import Boundary
from audiobook.publish.linebreak import break_lines
from audiobook.publish.sidecars import Cue, layout_cues
from audiobook.publish.wordcues import display_times, word_cues

MS_PER_CHAR = 200.0
LEAD_MS = 120.0  # the engine's leading silence: the first word starts this far into the segment
ORIGIN = 5000.0  # chapter time of the segment's sample 0


def timed_words(spoken: str, lead_ms: float = LEAD_MS) -> list[Boundary]:
    """Engine-like word boundaries: Latin words and digit runs whole, CJK in twos, punctuation
    unspoken (a 150 ms pause after it); times from the segment's sample 0."""
    out, t = [], lead_ms
    for match in re.finditer(r"[A-Za-z]+|\d+|[\u3400-\u9fff]{1,2}|[^\w\s]", spoken):
        word = match.group()
        if not word[0].isalnum():
            t += 150.0
            continue
        length = 2 if word.isascii() else len(word)
        out.append(Boundary(word, t, length * MS_PER_CHAR))
        t += length * MS_PER_CHAR
    return out


def span_for(boundaries: list[Boundary]) -> tuple[float, float]:
    last = boundaries[-1]
    return ORIGIN + boundaries[0].offset_ms - 20, ORIGIN + last.offset_ms + last.duration_ms + 40


def start_of(boundaries: list[Boundary], word: str) -> int:
    return round(ORIGIN + next(b.offset_ms for b in boundaries if b.text == word))


LONG = "春天来了，花都开了，我们一起去公园散步，看见很多人在湖边放风筝，孩子们笑得非常开心，老人们坐在长椅上晒太阳。"
DISPLAY_TN = ("當DeepSeek的多頭潛在注意力架構將Transformer內存成本削減90%的消息傳出時,"
              "整個AI學界為之震動,各大實驗室連夜開會。")
SPOKEN_TN = ("當DeepSeek的多頭潛在注意力架構將Transformer內存成本削減百分之九十的消息傳出時，"
             "整個A I學界為之震動，各大實驗室連夜開會。")


def check_invariants(cues: list[Cue], display: str, span: tuple[float, float]) -> None:
    assert "".join(c.text for c in cues).replace(" ", "") == display.replace(" ", "")
    assert cues[0].start_ms == round(span[0]) and cues[-1].end_ms == round(span[1])
    assert all(a.end_ms == b.start_ms for a, b in zip(cues, cues[1:], strict=False))
    assert all(c.start_ms < c.end_ms for c in cues)
    assert all(len(break_lines(c.text, 44)) <= 2 for c in cues)
    assert len(layout_cues(cues)) == len(cues)  # the caption writer has nothing left to split


@pytest.mark.parametrize(
    ("display", "spoken"),
    [
        ("今天天气很好。", "今天天气很好。"),
        ("我们在2023年去了三次北京，每次都住在同一家酒店。", "我们在二零二三年去了三次北京，每次都住在同一家酒店。"),
    ],
    ids=["short", "short-with-numbers"],
)
def test_a_sentence_that_fits_is_one_cue_over_its_span(display: str, spoken: str) -> None:
    boundaries = timed_words(spoken)
    span = span_for(boundaries)
    assert word_cues(display, spoken, boundaries, ORIGIN, span) == [Cue(round(span[0]), round(span[1]), display)]


def test_long_sentence_is_cut_at_a_clause_and_timed_by_the_next_word() -> None:
    boundaries = timed_words(LONG)
    span = span_for(boundaries)
    cues = word_cues(LONG, LONG, boundaries, ORIGIN, span)
    check_invariants(cues, LONG, span)
    # two cues as even as the clause marks allow (32 + 22 characters beats 20 + 34)
    assert [c.text for c in cues] == ["春天来了，花都开了，我们一起去公园散步，看见很多人在湖边放风筝，",
                                      "孩子们笑得非常开心，老人们坐在长椅上晒太阳。"]
    assert cues[0].end_ms == start_of(boundaries, "孩子")


def test_spoken_form_differs_numbers_and_latin_words() -> None:
    boundaries = timed_words(SPOKEN_TN)
    span = span_for(boundaries)
    cues = word_cues(DISPLAY_TN, SPOKEN_TN, boundaries, ORIGIN, span)
    check_invariants(cues, DISPLAY_TN, span)
    assert len(cues) == 2
    assert not any(c.text.endswith(("Deep", "Trans")) for c in cues)  # Latin words are never cut
    # every cut falls where a word starts and is timed by that word
    for cue, nxt in zip(cues, cues[1:], strict=False):
        word = next(b for b in boundaries if nxt.text.startswith(b.text) or nxt.text[:2] == b.text[:2])
        assert cue.end_ms == round(ORIGIN + word.offset_ms)


def test_display_only_stretch_takes_the_time_of_its_reading() -> None:
    display, spoken = "削減90%的消息", "削減百分之九十的消息"
    boundaries = timed_words(spoken)
    span = span_for(boundaries)
    times = display_times(display, spoken, boundaries, ORIGIN, span)
    assert [b.text for b in boundaries] == ["削減", "百分", "之九", "十的", "消息"]
    said_de = ORIGIN + boundaries[3].offset_ms + MS_PER_CHAR  # 的 is the second character of 十的
    assert times[2] == pytest.approx(ORIGIN + boundaries[1].offset_ms)  # "9" starts with 百分之九十
    assert times[2] < times[3] < times[4] < said_de  # "90%" shares the time of 百分之九十
    assert times[5] == pytest.approx(said_de)


@pytest.mark.parametrize(
    "boundaries",
    [[], [Boundary("完全不同的词", 100, 500), Boundary("another", 700, 300)]],
    ids=["no-boundaries", "boundaries-not-in-the-text"],
)
def test_without_usable_boundaries_time_is_shared_by_characters(boundaries: list[Boundary]) -> None:
    span = (1000.0, 1000.0 + MS_PER_CHAR * len(LONG))
    cues = word_cues(LONG, LONG, boundaries, ORIGIN, span)
    check_invariants(cues, LONG, span)
    speakable = [sum(ch.isalnum() for ch in c.text) for c in cues]
    shares = [(c.end_ms - c.start_ms) / (span[1] - span[0]) for c in cues]
    assert shares == pytest.approx([n / sum(speakable) for n in speakable], abs=0.002)


def test_latin_letters_weigh_less_than_characters_in_the_fallback() -> None:
    times = display_times("AI很好", "AI很好", [], 0.0, (0.0, 2800.0))
    assert times[2] == pytest.approx(800.0)  # 2 letters × 0.4 of 3.8 units of 2800 ms


def test_origin_shifts_every_time() -> None:
    boundaries = timed_words(LONG)
    span = span_for(boundaries)
    base = word_cues(LONG, LONG, boundaries, ORIGIN, span)
    shifted = word_cues(LONG, LONG, boundaries, ORIGIN + 1000, (span[0] + 1000, span[1] + 1000))
    assert [(c.start_ms + 1000, c.end_ms + 1000, c.text) for c in base] == [
        (c.start_ms, c.end_ms, c.text) for c in shifted]


def test_very_long_unpunctuated_text_gets_several_balanced_cues() -> None:
    text = "这是一段没有任何标点符号的很长的文字" * 6
    boundaries = timed_words(text)
    span = span_for(boundaries)
    cues = word_cues(text, text, boundaries, ORIGIN, span)
    check_invariants(cues, text, span)
    widths = [len(c.text) for c in cues]
    assert len(cues) == 3 and max(widths) - min(widths) <= 4
    starts = {round(ORIGIN + b.offset_ms) for b in boundaries}
    assert all(c.start_ms in starts for c in cues[1:])


@pytest.mark.parametrize(
    ("display", "span"),
    [("", (0.0, 1000.0)), ("你好", (500.0, 500.0))],
    ids=["empty-text", "empty-span"],
)
def test_nothing_to_show(display: str, span: tuple[float, float]) -> None:
    assert word_cues(display, display, [], 0.0, span) == []
