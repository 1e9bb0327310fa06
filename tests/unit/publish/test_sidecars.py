from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from audiobook.errors import PublishError
from audiobook.publish.linebreak import break_lines, display_width, tokens
from audiobook.publish.sidecars import Cue, layout_cues, write_chapters_json, write_srt, write_vtt
from audiobook.publish.tags import ChapterMark

LONG = ("深度求索（DeepSeek）是一家位于杭州的人工智能公司，成立于2023年7月，专注于开发大语言模型。"
        "它发布的DeepSeek-V3在多项评测中表现出色，引起了全世界的关注。")


def test_vtt_format(tmp_path: Path) -> None:
    path = tmp_path / "ep.vtt"
    write_vtt(path, [Cue(0, 1500, "第一句。"), Cue(1500, 3_723_004, "A <b> & c -->")])
    assert path.read_text("utf-8") == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:01.500\n第一句。\n\n"
        "00:00:01.500 --> 01:02:03.004\nA &lt;b&gt; &amp; c --&gt;\n"
    )


def test_srt_format(tmp_path: Path) -> None:
    path = tmp_path / "ep.srt"
    write_srt(path, [Cue(0, 1500, "第一句。"), Cue(1500, 36_000_001, "第二句！")])
    assert path.read_text("utf-8") == (
        "1\n00:00:00,000 --> 00:00:01,500\n第一句。\n\n"
        "2\n00:00:01,500 --> 10:00:00,001\n第二句！\n"
    )


def test_empty_cue_list(tmp_path: Path) -> None:
    write_vtt(tmp_path / "e.vtt", [])
    write_srt(tmp_path / "e.srt", [])
    assert (tmp_path / "e.vtt").read_text("utf-8") == "WEBVTT\n"
    assert (tmp_path / "e.srt").read_text("utf-8") == ""


def test_long_cue_wrapped_and_split(tmp_path: Path) -> None:
    cues = layout_cues([Cue(10_000, 20_000, LONG)])
    assert len(cues) >= 2
    assert "".join(c.text.replace("\n", "") for c in cues) == LONG  # nothing lost or added
    for cue in cues:
        lines = cue.text.split("\n")
        assert len(lines) <= 2
        assert all(display_width(line) <= 44 for line in lines)
        assert lines[-1][0] not in "，。！？）"  # closing punctuation never starts a line
    # time is shared out in order, contiguously, covering the original cue
    assert cues[0].start_ms == 10_000 and cues[-1].end_ms == 20_000
    assert all(a.end_ms == b.start_ms for a, b in zip(cues, cues[1:]))  # noqa: B905
    assert all(c.start_ms < c.end_ms for c in cues)


def test_two_line_cue_is_balanced() -> None:
    text = "我们今天要讲的是一家很特别的公司，它的名字叫做深度求索。"  # 28 characters → 2 lines
    (cue,) = layout_cues([Cue(0, 5000, text)])
    first, second = cue.text.split("\n")
    assert first == "我们今天要讲的是一家很特别的公司，"  # breaks after the comma, not at 22 characters
    assert second == "它的名字叫做深度求索。"


def test_short_cue_untouched() -> None:
    assert layout_cues([Cue(0, 900, "你好。")]) == [Cue(0, 900, "你好。")]


def test_srt_numbering_counts_split_cues(tmp_path: Path) -> None:
    path = tmp_path / "ep.srt"
    write_srt(path, [Cue(0, 10_000, LONG), Cue(10_000, 11_000, "完。")])
    numbers = re.findall(r"^(\d+)\n\d\d:", path.read_text("utf-8"), re.M)
    assert numbers == [str(n) for n in range(1, len(numbers) + 1)] and len(numbers) >= 3


@pytest.mark.parametrize("cue", [Cue(500, 500, "x"), Cue(600, 500, "x"), Cue(-1, 500, "x")],
                         ids=["zero-length", "backwards", "negative"])
def test_bad_cue_times_rejected(tmp_path: Path, cue: Cue) -> None:
    with pytest.raises(ValueError):
        write_vtt(tmp_path / "x.vtt", [cue])


def test_chapters_json(tmp_path: Path) -> None:
    path = tmp_path / "chapters.json"
    marks = [ChapterMark("序言", 0, 61_500), ChapterMark("第一章 起源", 61_500, 125_250)]
    write_chapters_json(path, marks, title="深度求索的故事")
    raw = path.read_text("utf-8")
    assert "序言" in raw  # UTF-8, not \u escapes
    doc = json.loads(raw)
    assert doc == {
        "version": "1.2.0",
        "title": "深度求索的故事",
        "chapters": [
            {"startTime": 0.0, "endTime": 61.5, "title": "序言"},
            {"startTime": 61.5, "endTime": 125.25, "title": "第一章 起源"},
        ],
    }
    assert isinstance(doc["version"], str)
    assert all(isinstance(c["startTime"], float) for c in doc["chapters"])


def test_chapters_json_without_title(tmp_path: Path) -> None:
    path = tmp_path / "chapters.json"
    write_chapters_json(path, [ChapterMark("全文", 0, 1000)])
    assert set(json.loads(path.read_text("utf-8"))) == {"version", "chapters"}


def test_chapters_json_rejects_unordered(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_chapters_json(tmp_path / "c.json", [ChapterMark("b", 500, 900), ChapterMark("a", 0, 500)])


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "ep.vtt"
    path.write_text("old", "utf-8")
    write_vtt(path, [Cue(0, 1000, "新")])
    assert path.read_text("utf-8").startswith("WEBVTT")
    assert [p.name for p in tmp_path.iterdir()] == ["ep.vtt"]


def test_unwritable_destination_is_a_publish_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", "utf-8")
    with pytest.raises(PublishError, match="cannot write"):
        write_srt(blocker / "sub" / "ep.srt", [Cue(0, 1000, "x")])


TOKEN_CASES = [
    ("cjk-per-char", "你好", ["你", "好"]),
    ("latin-word-whole", "用DeepSeek-V3写", ["用", "DeepSeek-V3", "写"]),
    ("number-with-separators", "约1,000.5元", ["约", "1,000.5", "元"]),
    ("closing-punct-attached", "好，走。", ["好，", "走。"]),
    ("opening-punct-attached", "读《论语》", ["读", "《论", "语》"]),
    ("quotes", "“你好”", ["“你", "好”"]),
    ("spaces-kept-as-tokens", "a b", ["a", " ", "b"]),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in TOKEN_CASES], ids=[c[0] for c in TOKEN_CASES])
def test_tokens(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


def test_break_lines_never_splits_latin_words_or_exceeds_width() -> None:
    text = "这是一段包含 English words and numbers like 3.14159 的混合文本，用来测试换行。"
    lines = break_lines(text, 20)
    assert all(display_width(line) <= 20 for line in lines)
    joined = " ".join(lines)
    for word in ("English", "words", "numbers", "3.14159"):
        assert word in joined


def test_break_lines_cuts_overlong_word() -> None:
    lines = break_lines("x" * 50, 20)
    assert lines == ["x" * 20, "x" * 20, "x" * 10]
