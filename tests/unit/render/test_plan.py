"""The plan (script) on owned fixtures and on the real sample: chapters, sub-headings,
spoken forms, dropped lines, garbled spans, and the no-character-lost invariant."""

import re

import pytest

from audiobook.config import PauseConfig, load_config, load_profile
from audiobook.models import Script
from audiobook.render.pipeline import plan_article
from audiobook.text.ingest import ingest
from audiobook.text.segment import segment
from tests.support import EXAMPLE, SAMPLE, needs_sample

SPEAKABLE = re.compile(r"[0-9A-Za-z\u3400-\u9fff]")


def speakable(text: str) -> str:
    return "".join(SPEAKABLE.findall(text))


def _plan(path, engine: str = "local") -> Script:
    return plan_article(path, load_config(None), load_profile("default"), engine)


@pytest.fixture(scope="module")
def sample_script() -> Script:
    if not SAMPLE.exists():
        pytest.skip("real sample ../shared/corpus/deepseek-essay.txt not present (fresh clone)")
    return _plan(SAMPLE)


def test_example_plan_structure() -> None:
    script = _plan(EXAMPLE)
    assert script.title == "一杯茶的工程学" and script.author == "林晓"
    assert [c.title for c in script.chapters] == ["开篇", "一、先测量，再动手", "二、慢就是快", "三、把经验写下来"]
    assert script.chapters[0].sentences[0].kind == "title"
    assert [d.rule for d in script.dropped] == ["reading-time", "credits"]
    spoken = " ".join(s.spoken for c in script.chapters for s in c.sentences)
    for expected in ("一九九八年", "百分之六十七", "六十到九十秒", "三到五倍", "两百行", "第三版", "格蕾丝"):
        assert expected in spoken
    assert not re.search(r"[0-9A-Za-z%]", spoken)  # the offline voice gets Chinese only


def test_pauses_follow_the_profile() -> None:
    pauses = PauseConfig(sentence_ms=111, clause_ms=55, paragraph_ms=222, subheading_ms=333, heading_ms=444,
                         chapter_ms=999)
    script = plan_article(EXAMPLE, load_config(None), load_profile("default"), "local")
    default = load_profile("default").pauses
    assert {s.pause_after_ms for c in script.chapters for s in c.sentences} <= set(vars(default).values())
    from audiobook.render.plan import make_script

    doc = ingest(EXAMPLE)
    script = make_script(doc, pauses, lambda t: (t, []), "local")
    last = [c.sentences[-1].pause_after_ms for c in script.chapters]
    assert last == [999] * len(script.chapters)
    kinds = {(s.kind, s.pause_after_ms) for c in script.chapters for s in c.sentences}
    assert ("heading", 444) in kinds and ("title", 444) in kinds


def test_no_speakable_character_lost_or_duplicated_in_example() -> None:
    doc = ingest(EXAMPLE)
    for block in doc.blocks:
        pieces = segment(block.text)
        assert "".join(p for p, _ in pieces) == block.text


@needs_sample
def test_no_speakable_character_lost_or_duplicated_in_sample(sample_script: Script) -> None:
    doc = ingest(SAMPLE)
    source = speakable("".join(b.text for b in doc.blocks))
    planned = speakable("".join(s.text for c in sample_script.chapters for s in c.sentences))
    assert planned == source


@needs_sample
def test_sample_chapters_and_subheadings(sample_script: Script) -> None:
    titles = [c.title for c in sample_script.chapters]
    assert titles == ["開篇", "一、刻板印象的形成", "二、歷史軌跡的差異", "三、DeepSeek作為引發相變的種子",
                      "四、梁文峰賭注", "五、好戲才開始上演"]
    subheadings = [s.text for c in sample_script.chapters for s in c.sentences if s.kind == "subheading"]
    assert subheadings == ["【核心內容速覽】", "開源至上", "唯才是舉", "后勤充沛", "杜絕內耗", "證明探索回報",
                           "創造外溢效應", "重塑人才市場"]
    assert sample_script.author == "Teortaxes"
    assert sample_script.language == "zh-TW"


@needs_sample
def test_sample_spoken_forms(sample_script: Script) -> None:
    spoken = [s.spoken for c in sample_script.chapters for s in c.sentences]
    joined = "\n".join(spoken)
    for bad in ("?", "http", "閱讀約", "排版", "編輯:", "主編", "特別聲明", "Notice", "網易號"):
        assert bad not in joined, bad
    assert not re.search(r"[0-9A-Za-z%]", joined)
    assert "百分之九十" in joined
    assert "百分之八十七到百分之九十五" in joined
    assert "一八九零年" in joined
    assert "二零一四" in joined


@needs_sample
def test_sample_dropped_and_garbled(sample_script: Script) -> None:
    rules = {d.line: d.rule for d in sample_script.dropped}
    assert rules == {1: "reading-time", 49: "reference-url", 50: "credits", 51: "credits", 52: "credits",
                     53: "credits", 54: "disclaimer-zh", 55: "disclaimer-en"}
    spans = [(g.line, g.col, g.action) for g in sample_script.garbled]
    assert spans == [(14, 42, "repaired"), (30, 148, "repaired"), (39, 186, "repaired"), (48, 91, "repaired")]
    texts = "".join(s.text for c in sample_script.chapters for s in c.sentences)
    assert "實踐。現在" in texts and "自身。或許" in texts


@needs_sample
def test_sample_edge_plan_keeps_english() -> None:
    script = _plan(SAMPLE, "edge")
    joined = "".join(s.spoken for c in script.chapters for s in c.sentences)
    assert "DeepSeek" in joined and "http" not in joined


@pytest.mark.parametrize("text", [
    "---\ntitle: 书\n---\n\n## 第一章\n\n第一段。\n\n## 第二章\n\n第二段。\n",  # the title from front matter
    "# 书\n\n## 第一章\n\n第一段。\n\n## 第二章\n\n第二段。\n",  # the title as the top heading
], ids=["front-matter", "top-heading"])
def test_title_is_read_before_the_first_chapters_heading(write_article, text: str) -> None:
    script = _plan(write_article(text, "book.md"))
    assert [(s.kind, s.text) for s in script.chapters[0].sentences[:3]] == [
        ("title", "书"), ("heading", "第一章"), ("sentence", "第一段。")]
