"""Quoted speech (read by a profile's quote voice) versus quoted terms (read by the narrator)."""

from __future__ import annotations

import pytest

from audiobook.text.quotes import quotation_spans, split_quotations, top_level_quotes
from audiobook.text.segment import segment


def quoted(text: str) -> list[str]:
    return [text[a:b] for a, b in quotation_spans(text)]


@pytest.mark.parametrize(
    ("text", "speech"),
    [
        ("他曾指出：“我们经济总量不低。”", ["“我们经济总量不低。”"]),
        ("他曾指出:“我們經濟總量不低", ["“我們經濟總量不低"]),
        ("“给予本身就是一种荣耀”，梁文峰如是说。", ["“给予本身就是一种荣耀”，"]),
        ("他說「走吧」然後走了。", ["「走吧」"]),
        ("她问，“你吃饭了吗”", ["“你吃饭了吗”"]),
        ("“天亮了。”窗外很安静。", ["“天亮了。”"]),
        ("指出：“这是一个‘中国创新，美国模仿’的场景。”", ["“这是一个‘中国创新，美国模仿’的场景。”"]),
        ('他說:"我們走吧。"', ['"我們走吧。"']),
        ("所谓的“创新基因”、“模仿思维”，都是刻板印象。", []),
        ('他们的 R1-Zero "重磅炸弹"则让强化学习再现生机。', []),
        ("近似于硅谷式的“混沌精英制”。", []),
        ("他说：“好”", []),
        ("没有引号的句子。", []),
        ("一个多余的”右引号。", []),
    ],
    ids=["colon", "colon-unclosed", "attributed-after", "speech-verb-before", "verb-comma", "whole-sentence",
         "nested", "ascii-quotes", "terms", "ascii-term", "term-at-end", "one-char", "none", "stray-close"],
)
def test_quotation_spans(text: str, speech: list[str]) -> None:
    assert quoted(text) == speech


def test_top_level_quotes_nest_and_run_to_the_end_when_unclosed() -> None:
    text = "甲“乙‘丙’丁”戊「己"
    assert top_level_quotes(text) == [(1, 8, True), (9, 11, False)]


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("他曾指出：“我们经济总量不低，大公司利润也不低。”所谓的“创新基因”并不存在。",
         [("他曾指出：", False, False), ("“我们经济总量不低，大公司利润也不低。”", True, True),
          ("所谓的“创新基因”并不存在。", True, False)]),
        ("“给予本身就是一种荣耀”，梁文峰如是说。",
         [("“给予本身就是一种荣耀”，", False, True), ("梁文峰如是说。", True, False)]),
        ("他说：“第一句。第二句。”然后走了。",
         [("他说：", False, False), ("“第一句。", True, True), ("第二句。”", True, True), ("然后走了。", True, False)]),
        ("没有引号的句子。第二句。", [("没有引号的句子。", True, False), ("第二句。", True, False)]),
    ],
    ids=["colon-then-term", "attributed", "multi-sentence-quote", "no-quotes"],
)
def test_split_quotations(text: str, units: list[tuple[str, bool, bool]]) -> None:
    out = split_quotations(text, segment(text))
    assert out == units
    assert "".join(piece for piece, _, _ in out) == text  # nothing lost, nothing doubled


def test_split_never_leaves_a_unit_without_speech() -> None:
    text = "他说：“走！”“好。”她答道。"
    out = split_quotations(text, segment(text))
    assert "".join(p for p, _, _ in out) == text
    assert all(any(ch.isalnum() for ch in piece) for piece, _, _ in out)
