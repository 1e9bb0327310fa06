"""GBK misaligned-decode damage: repaired when the repair reads as words, else the clause is dropped.

Fixtures are made the way the sample was damaged (reference/zh-text-normalization.md §8): the A1 lead
byte of a full-width mark is read as `?`, the rest of the GBK stream one byte out of phase (undecodable
pairs dropped) until an ASCII byte resynchronises it, then full-width forms are made half-width.
"""

from __future__ import annotations

import time

import pytest

from audiobook.models import GarbledSpan
from audiobook.text.garble import repair_line
from tests.support import PROJECT

SAMPLE = PROJECT.parent / "shared" / "corpus" / "deepseek-essay.txt"


def half_width(text: str) -> str:
    return "".join(chr(ord(ch) - 0xFEE0) if "\uff01" <= ch <= "\uff5e" else ch for ch in text)


def misread(text: str, lost_bytes: int = 0) -> str:
    """Damage `text` at its first 。 as the sample was damaged; `lost_bytes` more bytes vanish after
    the first two misread characters (beyond what one-byte edits can bring back)."""
    at = text.index("。")
    data = text[at:].encode("gbk")
    out, i = ["?"], 1
    while i < len(data):
        if data[i] < 0x80:
            out.append(chr(data[i]))
            i += 1
            continue
        try:
            out.append(data[i : i + 2].decode("gbk"))
        except UnicodeDecodeError:
            pass  # the damaging decoder dropped pairs it could not read
        i += 2
        if len(out) == 3:
            i += lost_bytes
    return half_width(text[:at] + "".join(out))


@pytest.mark.parametrize(
    ("clean", "garbled", "span"),
    [
        pytest.param(
            "會議在週五下午結束。與會者對結果表示滿意，並決定繼續合作。",
            "會議在週五下午結束?Ec會者對結果表示滿意,並決定繼續合作。",
            GarbledSpan(1, 10, "?Ec", "repaired", "。與"),
            id="full-stop-then-A3-letter",
        ),
        pytest.param(
            "團隊最初只有五個人。隨後規模擴大到數百人，業務遍及全國。",
            "團隊最初只有五個人?kS後規模擴大到數百人,業務遍及全國。",
            GarbledSpan(1, 10, "?kS", "repaired", "。隨"),
            id="resync-on-trail-byte",
        ),
        pytest.param(
            "他們花了三年時間打磨產品。後來，這家公司成為業界標杆。",
            "他們花了三年時間打磨產品?a醽恚@家公司成為業界標杆。",
            GarbledSpan(1, 13, "?a醽恚@", "repaired", "。後來這"),
            id="comma-lost-in-run",  # ，'s bytes fell into an undecodable pair: the comma is gone
        ),
        pytest.param(
            "市場的反應出乎意料。「這是一次冒險」，創辦人說。",
            "市場的反應出乎意料?!高@是一次冒險」,創辦人說。",
            GarbledSpan(1, 10, "?!高@", "repaired", "。「這"),
            id="quote-after-full-stop",
        ),
    ],
)
def test_misread_run_is_repaired(clean: str, garbled: str, span: GarbledSpan) -> None:
    assert misread(clean) == garbled
    line, spans = repair_line(garbled, 1)
    assert spans == [span]
    assert half_width(line) == half_width(clean).replace("後來,", "後來")


def test_repair_keeps_the_rest_of_the_line_and_offsets_columns_by_the_given_string() -> None:
    garbled = "前言,無關。" + misread("會議在週五下午結束。與會者對結果表示滿意。")
    line, spans = repair_line(garbled, 7)
    assert line == "前言,無關。會議在週五下午結束。與會者對結果表示滿意。"
    assert [(s.line, s.col, s.original) for s in spans] == [(7, 16, "?Ec")]
    assert garbled[spans[0].col - 1 :].startswith(spans[0].original)


@pytest.mark.parametrize(
    ("garbled", "expected", "removed"),
    [
        pytest.param(
            misread("這種做法並不新鮮。歷史上許多國家都曾嘗試過類似的改革，結果各不相同。", lost_bytes=5),
            "這種做法並不新鮮,結果各不相同。",
            "?v史鄧叶荚鴩L試過類似的改革",
            id="bytes-lost-beyond-repair",
        ),
        pytest.param(
            "董事會最終否決了提案?f反轱L險過高,不值得冒險。",
            "董事會最終否決了提案,不值得冒險。",
            "?f反轱L險過高",
            id="short-run-beyond-repair",
        ),
        pytest.param(
            "前面一切正常,這段文字有\ufffd損壞,其餘內容正常。",
            "前面一切正常,其餘內容正常。",
            "這段文字有\ufffd損壞,",
            id="replacement-character",
        ),
    ],
)
def test_unrepairable_clause_is_dropped(garbled: str, expected: str, removed: str) -> None:
    line, spans = repair_line(garbled, 3)
    assert line == expected
    assert [(s.action, s.original, s.replacement) for s in spans] == [("dropped", removed, "")]
    assert garbled[spans[0].col - 1 :].startswith(removed)


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("為什麼是現在?當我們回顧歷史時,答案就清楚了。", id="question"),
        pytest.param("為什么是DeepSeek?為什么是現在?當我們試圖解答", id="question-after-latin"),
        pytest.param("真的嗎?!我不太相信。", id="interrobang"),
        pytest.param("下一個問題是什麼?DeepSeek 給出了答案。", id="question-then-latin"),
        pytest.param("你會選哪一個?A股還是港股?", id="question-then-letter"),
        pytest.param("結果如何?", id="question-at-end"),
        pytest.param("?改造教育體系,讓好奇心被更多鼓勵", id="bullet-left-in"),
        pytest.param("網址是 https://example.com/search?q=audiobook&lang=zh 。", id="url-query"),
        pytest.param("沒有問號的句子,也沒有任何損壞。", id="clean"),
    ],
)
def test_real_question_marks_and_clean_text_are_left_alone(line: str) -> None:
    assert repair_line(line, 1) == (line, [])


# --- the real sample ------------------------------------------------------------------------------

# source line → (garbled text, what it reads as after repair)
SAMPLE_DAMAGE = {
    14: ("?!暗久桌碚摗彼沂镜臇|", "。“稻米理論”揭示的東"),  # 所 and 「」 are unrecoverable (bytes lost)
    30: ("?,F", "。現"),
    39: ("?!苯鉀Q", "。”解決"),
    48: ("?;蛟S", "。或許"),
}


@pytest.fixture(scope="module")
def sample_lines() -> list[str]:
    if not SAMPLE.is_file():
        pytest.skip(f"real sample not available at {SAMPLE} (the shared corpus is outside this checkout)")
    return SAMPLE.read_text(encoding="utf-8").splitlines()


def test_sample_damage_is_repaired_and_nothing_else_changes(sample_lines: list[str]) -> None:
    started = time.perf_counter()
    results = [repair_line(line, n) for n, line in enumerate(sample_lines, 1)]
    elapsed = time.perf_counter() - started
    for n, (line, (out, spans)) in enumerate(zip(sample_lines, results, strict=True), 1):
        if n not in SAMPLE_DAMAGE:
            assert (out, spans) == (line, []), f"line {n} changed"
            continue
        original, replacement = SAMPLE_DAMAGE[n]
        col = line.index(original) + 1
        assert spans == [GarbledSpan(n, col, original, "repaired", replacement)]
        assert out == line.replace(original, replacement)
    assert elapsed < 10, f"{elapsed:.2f} s for the sample"  # ~1.5 s: jieba start-up plus four searches


def test_clean_sample_lines_are_cheap(sample_lines: list[str]) -> None:
    clean = [line for n, line in enumerate(sample_lines, 1) if n not in SAMPLE_DAMAGE]
    assert sum("?" in line for line in clean) >= 6  # real question marks and bullets are in there
    started = time.process_time()
    for n, line in enumerate(clean, 1):
        repair_line(line, n)
    assert time.process_time() - started < 0.05



def test_a_lines_repair_is_remembered_and_reread_at_its_new_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from audiobook.store import memo
    from audiobook.text import garble

    garbled = "市場的反應出乎意料?!高@是一次冒險」,創辦人說。"
    first = repair_line(garbled, 3)
    searched: list[str] = []
    search = garble._find_edits
    monkeypatch.setattr(garble, "_find_edits", lambda line: searched.append(line) or search(line))
    again = repair_line(garbled, 9)  # the line moved: the same repair, at its new line
    assert searched == [] and again[0] == first[0] != garbled
    assert [(s.line, s.col, s.original, s.replacement) for s in again[1]] == [
        (9, s.col, s.original, s.replacement) for s in first[1]]

    entries = list((memo.memo_root() / "garble").glob("*.json"))
    for entry in entries:
        entry.write_text("{half", encoding="utf-8")
    assert entries and repair_line(garbled, 3) == first and searched == [garbled]  # damaged: searched again
    monkeypatch.setattr(garble, "REPAIR_VERSION", garble.REPAIR_VERSION + 1)
    garble._memo_version.cache_clear()
    try:
        assert repair_line(garbled, 3) == first and searched == [garbled, garbled]  # new code: not the old entry
    finally:
        garble._memo_version.cache_clear()
