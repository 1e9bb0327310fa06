"""Spoken form: article cases (wetext bugs the pre/post pass fixes), lexicon use per engine,
and a few public TN pairs (copied inline from WeTextProcessing's normalizer.txt)."""

from __future__ import annotations

import re

import pytest

from audiobook.errors import ConfigError
from audiobook.text.lexicon import Lexicon, load_lexicon
from audiobook.text.normalize import Normalizer, Spoken
from tests.support import PROJECT

SHARED = PROJECT.parent / "shared"
SAMPLE = SHARED / "corpus" / "deepseek-essay.txt"


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_lexicon()


@pytest.fixture(scope="module")
def local(lexicon: Lexicon) -> Normalizer:
    return Normalizer(lexicon, "local")


@pytest.fixture(scope="module")
def edge(lexicon: Lexicon) -> Normalizer:
    return Normalizer(lexicon, "edge")


@pytest.fixture(scope="module")
def plain() -> Normalizer:
    """Text normalization only: no lexicon, Latin kept."""
    return Normalizer(Lexicon(), "edge")


# (display text, spoken form) — the same for both engines: no Latin words involved
NUMBER_CASES = [
    ("90%", "百分之九十"),
    ("87% 到 95%", "百分之八十七到百分之九十五"),
    ("10%-20%", "百分之十到百分之二十"),
    ("10-20%", "百分之十到百分之二十"),
    ("5-10年", "五到十年"),
    ("2024-2027年", "二零二四到二零二七年"),
    ("第2天", "第二天"),
    ("第200名", "第二百名"),
    ("9月2日", "九月二日"),
    ("2天", "两天"),
    ("4,000字", "四千字"),
    ("10,000倍", "一万倍"),
    ("2,000,000", "两百万"),
    ("第1，2名", "第一，二名"),
    ("第1,2,3名", "第一，二，三名"),
    ("价格12，13元", "价格十二，十三元"),
    ("12.9英寸", "十二点九英寸"),
    ("-3.5%", "负百分之三点五"),
    ("US$420", "四百二十美元"),
    ("$1.5万", "一点五万美元"),
    ("¥3,499元", "三千四百九十九元"),
    ("1890年", "一八九零年"),
    ("2023年", "二零二三年"),
    ("宋朝時期(1000年前)", "宋朝時期(一千年前)"),
    ("(如 Talhelm 等人,2014)", "(如Talhelm等人，二零一四)"),
    ("2015年08月08号", "二零一五年八月八号"),
    ("22：58", "二十二点五十八分"),
    ("010-64035547", "零幺零，六四零三五五四七"),  # a phone number: digit by digit, 1 as 幺
    ("请拨打13912345678", "请拨打幺三九幺二三四五六七八"),
    ("热线+86 10 6552 9988", "热线加八六，幺零，六五五二，九九八八"),
    ("工号是30721", "工号是三零七二幺"),
    ("房间号1205", "房间号幺二零五"),
    ("邮编100084", "邮编幺零零零八四"),
    ("QQ号123456789", "QQ号幺二三四五六七八九"),
    ("尾号0427", "尾号零四二七"),
    ("订单编号2024110012", "订单编号二零二四幺幺零零幺二"),
    ("共有1205人", "共有一千二百零五人"),  # a count stays a count
    ("86年我上小学", "八六年我上小学"),  # two-digit years
    ("08年奥运会", "零八年奥运会"),
    ("我1998年来北京", "我一九九八年来北京"),
    ("活了86年", "活了八十六年"),  # spans of years stay counts
    ("近30年来", "近三十年来"),
    ("30年前", "三十年前"),
    ("有2000年历史", "有两千年历史"),
    ("1000年来", "一千年来"),
    ("上世纪80年代", "上世纪八十年代"),
    ("1999年到2001年", "一九九九年到二零零一年"),
    ("第2天", "第二天"),
    ("比分17:16", "比分十七比十六"),
    ("資本,而是", "資本，而是"),
    ("全文 4,000字 | 閱讀約10分鐘", "全文四千字，閱讀約十分鐘"),
    ("?改造教育體系", "改造教育體系"),
    ("來源:官方媒體/網絡新聞", "來源：官方媒體、網絡新聞"),
    ("自身?;", "自身？；"),
    ("仅仅是２０１５年", "仅仅是二零一五年"),
]


@pytest.mark.parametrize(("written", "spoken"), NUMBER_CASES, ids=[c[0] for c in NUMBER_CASES])
def test_numbers_and_punctuation(plain: Normalizer, written: str, spoken: str) -> None:
    assert plain.spoken(written).text == spoken


# Copied from WeTextProcessing tn/chinese/test/data/normalizer.txt (all pass); 两/二 as expected there.
WETN_CASES = [
    ("共465篇，约315万字", "共四百六十五篇，约三百一十五万字"),
    ("同比增长6.3%", "同比增长百分之六点三"),
    ("相当于头发丝的1/16", "相当于头发丝的十六分之一"),
    ("2002/01/28", "二零零二年一月二十八日"),
    ("我是5:02开始的", "我是五点零二分开始的"),
    ("比分定格在78:96", "比分定格在七十八比九十六"),
    ("±2的平方都是4", "正负二的平方都是四"),
    ("价格是HKD13.5", "价格是十三点五港元"),
    ("实际面积120m²", "实际面积一百二十平方米"),
    ("可以拨打12306来咨询", "可以拨打幺二三零六来咨询"),
    ("人均200以内", "人均两百以内"),
    ("包含３０００余件", "包含三千余件"),
]


@pytest.mark.parametrize(("written", "spoken"), WETN_CASES, ids=[c[0] for c in WETN_CASES])
def test_wetextprocessing_pairs(plain: Normalizer, written: str, spoken: str) -> None:
    assert plain.spoken(written).text == spoken


# (display text, local spoken form, edge spoken form, lexicon hits)
ENGINE_CASES = [
    ("DeepSeek如何", "深度求索如何", "DeepSeek如何", ["DeepSeek"]),
    ("注意力(MLA)架構", "注意力(艾姆艾勒诶)架構", "注意力(M L A)架構", ["MLA"]),
    ("混合專家(MoE)", "混合專家(艾姆欧伊)", "混合專家(M O E)", ["MoE"]),
    ("他們的 R1-Zero 炸彈", "他們的阿尔一泽罗炸彈", "他們的R1 Zero炸彈", ["R1-Zero"]),
    ("GPT-4发布", "吉皮提四发布", "G P T四发布", ["GPT"]),
    ("COVID-19疫情", "西欧维艾迪十九疫情", "COVID十九疫情", ["spell:COVID"]),
    (
        "去風險化”(meta derisking),取決於",
        "去風險化”(梅塔迪瑞斯金)，取決於",
        "去風險化”(meta derisking)，取決於",
        ["meta derisking"],
    ),
    ("比起 Meta那些", "比起梅塔那些", "比起Meta那些", ["Meta"]),
    ("作者:Teortaxes", "作者：特奥塔克斯", "作者：Teortaxes", ["Teortaxes"]),
    ("Metaverse", "艾姆伊提诶维伊阿尔艾斯伊", "Metaverse", ["spell:Metaverse"]),
    (
        "參考資料:https://x.com/teortaxesTex/status/1885678099653697555",
        "參考資料：艾克斯点康姆",
        "參考資料：x.com",
        ["x.com"],
    ),
    (
        "见 https://www.example.org/a?b=51234 。",
        "见伊艾克斯诶艾姆皮艾勒伊点欧阿尔吉。",
        "见example.org。",
        ["spell:example", "spell:org"],
    ),
    ("联系 ab@163.com", "联系诶比艾特一六三点康姆", "联系ab@163.com", ["com", "spell:ab"]),
]


@pytest.mark.parametrize(
    ("written", "local_text", "edge_text", "hits"), ENGINE_CASES, ids=[c[0][:30] for c in ENGINE_CASES]
)
def test_engine_readings(
    local: Normalizer, edge: Normalizer, written: str, local_text: str, edge_text: str, hits: list[str]
) -> None:
    got = local.spoken(written)
    assert got.text == local_text
    assert got.lexicon_hits == hits
    assert edge.spoken(written).text == edge_text


def test_unknown_latin_word_is_spelled_and_reported(local: Normalizer) -> None:
    got = local.spoken("研究者Foobar说")
    assert got == Spoken(text="研究者艾弗欧欧比诶阿尔说", lexicon_hits=["spell:Foobar"])


def test_lexicon_matches_whole_words_only(local: Normalizer) -> None:
    # "AI" must not fire inside "AIR" or "OpenAI"-like longer words; longest key wins
    got = local.spoken("AIR和OpenAI")
    assert "AI" not in got.lexicon_hits
    assert "OpenAI" in got.lexicon_hits


def test_unknown_engine_is_a_config_error(lexicon: Lexicon) -> None:
    with pytest.raises(ConfigError, match="local, edge"):
        Normalizer(lexicon, "azure")


def _sample_sentences() -> list[str]:
    if not SAMPLE.exists():
        pytest.skip(f"real sample not found at {SAMPLE} (../shared is absent)")
    text = SAMPLE.read_text(encoding="utf-8")
    return [s for s in re.split(r"(?<=[。！？；;])|\n", text) if s.strip()]


SAMPLE_READINGS = {  # a piece of a sentence in the sample → what its spoken form must contain
    "削減90%": "削減百分之九十",
    "87% 到 95%": "百分之八十七到百分之九十五",
    "1890年": "一八九零年",
    "等人,2014)": "等人，二零一四)",
    "2023年": "二零二三年",
    "4,000字": "四千字",
    "(1000年前)": "(一千年前)",
    "資本,而是": "資本，而是",
}
SAMPLE_WORDS = {
    "DeepSeek", "Transformer", "Teortaxes", "Talhelm", "SpaceX", "NDA", "MLA", "MHA", "MQA", "LLM",
    "R1-Zero", "RL", "Minimax", "MoE", "AI", "AGI", "Uber", "Airbnb", "Meta", "meta derisking", "x.com",
}  # fmt: skip


def test_real_sample_local_has_no_latin_digits_or_urls(local: Normalizer) -> None:
    sentences = _sample_sentences()
    spoken = {s: local.spoken(s) for s in sentences}
    for display, result in spoken.items():
        assert not re.search(r"[A-Za-z0-9]", result.text), (display, result.text)
        assert "http" not in result.text
    for piece, expected in SAMPLE_READINGS.items():
        [display] = [s for s in sentences if piece in s]
        assert expected in spoken[display].text
    hits = {hit for result in spoken.values() for hit in result.lexicon_hits}
    assert SAMPLE_WORDS <= hits


def test_real_sample_is_fast(local: Normalizer) -> None:
    import time

    sentences = _sample_sentences()
    local.spoken("预热1")  # one-time FST load is not part of the budget
    started = time.perf_counter()
    for s in sentences:
        local.spoken(s)
    assert time.perf_counter() - started < 0.5


def test_wetext_readings_are_remembered_so_a_rerender_need_not_load_it() -> None:
    """Loading wetext costs ~0.5 s a process; a fragment it read once is not asked again."""
    import subprocess
    import sys

    code = ("import sys; from audiobook.text.normalize import wetext_normalize; "
            "print(wetext_normalize('共有1890人参加，占37.5%'), 'wetext' in sys.modules)")
    runs = [subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True)
            for _ in range(2)]
    first, second = (r.stdout.split() for r in runs)
    assert first[0] == second[0] and "一千八百九十" in first[0] and "百分之三十七点五" in first[0]
    assert second[1] == "False"  # the second process read the remembered answer
