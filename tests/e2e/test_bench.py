"""scripts/bench.py: its pure helpers, the no-sample exit, and a tiny edge run against the fake."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections import Counter
from pathlib import Path

import pytest

from audiobook.config import load_config, load_profile
from audiobook.render.changes import diff_sentences
from audiobook.render.pipeline import plan_article
from tests.support import PROJECT

pytestmark = pytest.mark.slow  # renders at length

SCRIPT = PROJECT / "scripts" / "bench.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


bench = _load_bench()

ARTICLE = """\
小文章
開頭第一句話。開頭第二句話！
一、起點
第一章的第一句話。第一章的第二句話？
二、經過
第二章的內容很短，但是有逗號。第二章的最後一句。
三、結尾
最後一章。
來源:官方媒體/網絡新聞
編輯:深思
"""


@pytest.fixture
def article(tmp_path: Path) -> Path:
    path = tmp_path / "article.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    return path


def test_tree_rss_sums_descendants_only() -> None:
    table = {1: (0, 100, 0), 10: (1, 5, 0), 11: (10, 7, 0), 12: (11, 11, 0), 20: (1, 1000, 0)}
    assert bench.tree_rss(table, 10) == 5 + 7 + 11
    assert bench.tree_rss(table, 12) == 11
    assert bench.tree_rss(table, 99) == 0


def test_process_table_sees_this_process() -> None:
    parent, rss, ticks = bench.process_table()[os.getpid()]
    assert parent == os.getppid() and rss > 0 and ticks > 0


@pytest.mark.parametrize(("text", "expected"), [("1,4,16", [1, 4, 16]), ("4", [4]), (" 1, 2 ", [1, 2])])
def test_scale_list(text: str, expected: list[int]) -> None:
    assert bench.scale_list(text) == expected


@pytest.mark.parametrize("text", ["", "0,4", "a"], ids=["empty", "zero", "word"])
def test_scale_list_rejects(text: str) -> None:
    with pytest.raises(bench.argparse.ArgumentTypeError):
        bench.scale_list(text)


def test_split_article_keeps_head_and_dropped_tail_once() -> None:
    lines = ["title", "intro", "一、a", "x", "二、b", "y", "credits", "", "disclaimer"]
    parts = bench.split_article(lines, heading_lines=[3, 5], dropped_lines=[1, 7, 9])
    assert parts.head == ["title", "intro"]
    assert parts.body == ["一、a", "x", "二、b", "y"]
    assert parts.tail == ["credits", "", "disclaimer"]
    assert parts.headings == {0, 2}


def test_scaled_article_copies_are_distinct(article: Path) -> None:
    _, parts = bench.article_parts(article)
    scaled = article.with_name("scaled.txt")
    scaled.write_text(bench.scaled_article(parts, 3), encoding="utf-8")
    script = plan_article(scaled, load_config(None), load_profile("default"), "local")
    assert [c.title for c in script.chapters][1:5] == ["一、起點", "二、經過", "三、結尾", "一、起點（第2遍）"]
    assert len(script.chapters) == 1 + 3 * 3
    spoken = Counter(s.spoken for c in script.chapters for s in c.sentences)
    assert max(spoken.values()) == 1
    assert [d.text for d in script.dropped][-2:] == ["來源:官方媒體/網絡新聞", "編輯:深思"]


def test_edit_changes_one_sentence_of_chapter_3(article: Path, tmp_path: Path) -> None:
    text, parts = bench.article_parts(article)
    edited = tmp_path / "edited.txt"
    edited.write_text(bench.edit_one_sentence(text, parts), encoding="utf-8")
    config, profile = load_config(None), load_profile("default")
    before, after = (plan_article(p, config, profile, "local") for p in (article, edited))
    old = [(s.text, s.spoken) for c in before.chapters for s in c.sentences]
    new = [(s.text, s.spoken) for c in after.chapters for s in c.sentences]
    assert diff_sentences(old, new) == (0, 1, 0, 0)
    assert after.chapters[2].sentences[1].text.startswith(bench.EDIT_WORD)


def test_absent_sample_exits_zero_with_a_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(bench, "SAMPLE", tmp_path / "missing.txt")
    assert bench.main(["local"]) == 0
    assert "not here" in capsys.readouterr().err
    assert bench.main(["--article", str(tmp_path / "missing.txt")]) == 2


def test_unknown_mode_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        bench.parse_args(["fast"])
    assert exc.value.code == 2


def test_tiny_edge_run(tmp_path: Path) -> None:
    article = tmp_path / "tiny.txt"
    article.write_text("短文\n第一句。第二句！第三句？\n", encoding="utf-8")
    cache = os.environ["AUDIOBOOK_CACHE_DIR"]
    result = bench.bench_edge(article, [1, 2], latency_s=0.05, speech="tone", concurrency=2)
    serial, (one, two) = result["serial"], result["at_cap"]
    sentences = serial["sentences"]
    assert serial["requests"] == one["requests"] == sentences and two["requests"] == 2 * sentences
    assert os.environ["AUDIOBOOK_CACHE_DIR"] == cache  # the bench's temporary cache dir was undone
    bench.print_tables({"edge": result})


def test_tables_print_every_mode(capsys: pytest.CaptureFixture[str]) -> None:
    run = {"wall_s": 100.0, "cpu_s": 150.0, "timings_s": {"plan": 5.0, "synthesize": 80.0}, "synthesized": 136,
           "peak_tree_rss_mb": 1300, "max_rss_mb": 900}
    local = {"sentences": 136, "chapters": 6, "audio_s": 840.0, "cold": run, "synthesis_rtf": 0.095,
             "wall_per_audio": 0.119, "cpu_per_audio": 0.18, "warm": {**run, "wall_s": 5.0, "synthesized": 0},
             "warm_fraction": 0.05, "target_wall_per_audio": 0.04}
    kokoro = {**local, "wall_per_audio": 0.31, "target_wall_per_audio": 0.25}
    scale = {"scale": 1, "sentences": 136, "distinct": 136, "chapters": 6, "audio_s": 840.0, "cold_wall_s": 100.0,
             "edit_wall_s": 9.0, "cold_cpu_s": 150.0, "edit_cpu_s": 10.0, "edit_fraction": 0.09,
             "edit_cpu_fraction": 0.067, "synthesized": 1, "chapters_rebuilt": [3], "episode_rebuilt": True}
    edit = {"scales": [scale, {**scale, "scale": 4, "edit_fraction": 0.03}], "fraction_shrinks": True}
    bench.print_tables({"local": local, "kokoro": kokoro, "edit": edit})
    out = capsys.readouterr().out
    assert "0.119" in out and "5.0%" in out and "ch. 3 of 6 + episode" in out and "4x" in out
    assert "kokoro — 136 sentences" in out and "0.310" in out and "≤ 0.25" in out
