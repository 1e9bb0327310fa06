"""Whatever the input, every utterance is sentence-sized, the title a sensible length and read once,
and what a reader never sees is not narrated; bad front matter is a one-line error before any work."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from audiobook.config import load_config, load_profile
from audiobook.errors import InputError
from audiobook.models import Script
from audiobook.render.pipeline import plan_article
from audiobook.text.ingest import MAX_DERIVED_TITLE_CHARS, ingest
from audiobook.text.segment import MAX_SENTENCE_CHARS


def plan(path: Path, engine: str = "local") -> Script:
    return plan_article(path, load_config(None), load_profile("default"), engine)


def sentences(script: Script) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for c in script.chapters for s in c.sentences]


WORDS = "我们今天讨论如何在城市里种植蔬菜并且保持耐心"


def test_a_long_first_paragraph_gives_a_short_title_read_once(write_article) -> None:
    body = (WORDS * 8) + "。第二句在这里。"
    script = plan(write_article(body + "\n\n第二段。\n", "note.txt"))
    assert len(script.title) <= MAX_DERIVED_TITLE_CHARS + 1 and script.title.endswith("…")
    said = "".join(text for _, text in sentences(script))
    assert said.count(WORDS * 2) == 4  # the paragraph once, not a title reading of it first
    assert not any(kind == "title" for kind, _ in sentences(script))


def test_a_short_first_line_stays_the_title(write_article) -> None:
    script = plan(write_article("城市种菜\n\n" + WORDS + "。\n", "note.txt"))
    assert script.title == "城市种菜" and sentences(script)[0] == ("title", "城市种菜")


def test_a_very_long_title_is_read_in_sentence_sized_pieces(write_article) -> None:
    title = WORDS * 17  # ~400 characters, no punctuation
    script = plan(write_article(f"---\ntitle: {title}\n---\n\n## 一章\n\n正文一句。\n", "a.md"))
    assert script.title == title  # the display title is the author's
    pieces = [text for kind, text in sentences(script) if kind == "title"]
    assert len(pieces) >= len(title) // MAX_SENTENCE_CHARS and "".join(pieces) == title
    assert all(len(p) <= MAX_SENTENCE_CHARS for p in pieces)


def test_long_headings_are_split_too(write_article) -> None:
    heading = WORDS * 5
    script = plan(write_article(f"---\ntitle: 标题\n---\n\n## {heading}\n\n正文。\n", "a.md"))
    pieces = [text for kind, text in sentences(script) if kind == "heading"]
    assert len(pieces) > 1 and "".join(pieces) == heading
    assert all(len(p) <= MAX_SENTENCE_CHARS for p in pieces)
    chapter = script.chapters[0]
    assert [s.pause_after_ms for s in chapter.sentences if s.kind == "heading"][-1] == 900  # heading pause last


def test_a_300_kb_line_without_punctuation_plans_quickly_into_sentences(write_article) -> None:
    line = (WORDS * 4500)[:100_000]  # 300 KB of UTF-8, one line, no punctuation
    started = time.monotonic()
    script = plan(write_article(line + "\n", "wall.txt"))
    assert time.monotonic() - started < 20
    texts = [text for _, text in sentences(script)]
    assert max(len(t) for t in texts) <= MAX_SENTENCE_CHARS
    assert "".join(texts) == line and len(script.title) <= MAX_DERIVED_TITLE_CHARS + 1


def test_edge_requests_stay_small_for_a_huge_title(write_article) -> None:
    script = plan(write_article(f"---\ntitle: {'标题很长' * 800}\n---\n\n一句。\n", "a.md"), engine="edge")
    assert max(len(s.spoken.encode("utf-8")) for c in script.chapters for s in c.sentences) < 3000


def test_html_comments_scripts_and_styles_are_not_read(write_article) -> None:
    md = ("---\ntitle: 注释\n---\n\n前一句。<!-- 行内注释 -->后一句。\n\n<!--\n多行\n注释\n-->\n\n"
          "<script>\nvar secret = '脚本';\n</script>\n\n<style>p { color: red }</style>\n\n结尾一句。\n")
    path = write_article(md, "a.md")
    said = "".join(text for _, text in sentences(plan(path)))
    for hidden in ("行内注释", "多行", "脚本", "secret", "color"):
        assert hidden not in said
    assert "前一句。" in said and "后一句。" in said and "结尾一句。" in said
    document = ingest(path)
    assert [b.line for b in document.blocks][-1] == 18  # line numbers still point at the source


def test_table_rows_are_separate_sentences(write_article) -> None:
    md = "---\ntitle: 表\n---\n\n| 名称 | 数量 |\n|---|---|\n| 苹果 | 三个 |\n| 梨 | 两个 |\n"
    said = [text for kind, text in sentences(plan(write_article(md, "a.md"))) if kind == "sentence"]
    assert said == ["名称，数量", "苹果，三个", "梨，两个"]


@pytest.mark.parametrize(("front", "message"), [
    ("date: 2026-02-30", r"date: '2026-02-30' is not a date \(day is out of range for month\)"),
    ("date: notadate", r"date: 'notadate' is not a date"),
    ("date: 2026-13", r"date: '2026-13' is not a date"),
    ("title: [1, 2]", r"title: must be text, got a list"),
    ("author: {name: x}", r"author: must be text, got a dict"),
], ids=["impossible-date", "not-a-date", "month-13", "list-title", "mapping-author"])
def test_bad_front_matter_is_caught_when_read(write_article, front: str, message: str) -> None:
    path = write_article(f"---\n{front}\n---\n\n一句。\n", "a.md")
    with pytest.raises(InputError, match=message):
        ingest(path)


@pytest.mark.parametrize(("front", "field", "value"), [
    ("title: yes", "title", "yes"), ("title: 1984", "title", "1984"), ("date: 2026-11-30", "date", "2026-11-30"),
    ("date: 2026", "date", "2026"), ("id: 017", "episode_id", "017"),
], ids=["yes-stays-text", "number-stays-text", "date", "year", "id-keeps-zero"])
def test_front_matter_values_are_kept_as_written(write_article, front: str, field: str, value: str) -> None:
    document = ingest(write_article(f"---\n{front}\n---\n\n一句。\n", "a.md"))
    assert getattr(document, field) == value


def test_a_bad_date_stops_the_cli_before_any_synthesis(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\ndate: notadate\n---\n\n一句话。\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "audiobook", "render", "a.md", "--engine", "local"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: ") and "notadate" in done.stderr
    assert not (tmp_path / "output").exists()
