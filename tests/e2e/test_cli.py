"""The CLI as a user runs it: a subprocess, exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support import EXAMPLE, SAMPLE, needs_sample
from tests.support.cli import assert_one_line_error, run


def test_dry_run_json_plan() -> None:
    proc = run("render", str(EXAMPLE), "--dry-run", "--json", "--engine", "local")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert {"title", "author", "language", "chapters", "dropped", "garbled"} <= plan.keys()
    sentence = plan["chapters"][1]["sentences"][1]
    assert {"text", "spoken", "pause_after_ms"} <= sentence.keys()


def test_dry_run_table() -> None:
    proc = run("render", str(EXAMPLE), "--dry-run", "--engine", "local")
    assert proc.returncode == 0, proc.stderr
    for expected in ("一杯茶的工程学", "林晓", "chapters", "先测量，再动手", "not narrated", "reading-time", "lexicon"):
        assert expected in proc.stdout


@pytest.mark.parametrize(
    ("content", "needle"),
    [(b"", "nothing to narrate"), (bytes(range(256)) * 8, "binary"), ("。！？😀😀\n".encode(), "nothing to narrate")],
    ids=["empty", "binary", "punctuation-emoji"],
)
def test_bad_articles_fail_in_one_line(tmp_path: Path, content: bytes, needle: str) -> None:
    article = tmp_path / "bad.txt"
    article.write_bytes(content)
    assert_one_line_error(run("render", str(article), "--dry-run", "--engine", "local"), needle, str(article))


def test_missing_article_and_bad_engine(tmp_path: Path) -> None:
    assert_one_line_error(run("render", str(tmp_path / "nope.md"), "--dry-run", "--engine", "local"), "no such file")
    assert_one_line_error(run("render", str(EXAMPLE), "--dry-run", "--engine", "nope"), "unknown engine")


def test_bad_config_names_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "audiobook.toml").write_text("[render]\nbitrate = 64\n")
    proc = run("render", str(EXAMPLE), "--dry-run", "--engine", "local", cwd=tmp_path)
    assert_one_line_error(proc, "audiobook.toml", "bitrate")


def test_long_unpunctuated_line_plans(tmp_path: Path) -> None:
    article = tmp_path / "long.txt"
    article.write_text("标题\n" + "我们今天讨论人工智能基础研究和产业应用的发展方向" * 8500, encoding="utf-8")
    assert article.stat().st_size > 200_000
    proc = run("render", str(article), "--dry-run", "--json", "--engine", "local")
    assert proc.returncode == 0, proc.stderr
    sentences = [s for c in json.loads(proc.stdout)["chapters"] for s in c["sentences"]]
    assert len(sentences) > 3000 and max(len(s["text"]) for s in sentences) <= 60


@needs_sample
@pytest.mark.parametrize("codec", ["gb18030", "big5"])
def test_sample_in_legacy_encodings(tmp_path: Path, codec: str) -> None:
    article = tmp_path / f"sample-{codec}.txt"
    article.write_bytes(SAMPLE.read_text(encoding="utf-8").encode(codec, errors="replace"))
    proc = run("render", str(article), "--dry-run", "--json", "--engine", "local")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert len(plan["chapters"]) == 6
    assert plan["chapters"][1]["title"] == "一、刻板印象的形成"


def test_render_errors_leave_nothing_half_written(tmp_path: Path) -> None:
    article = tmp_path / "a.md"
    article.write_text("---\ntitle: 封面测试\ncover: missing.jpg\n---\n\n一句话。\n", encoding="utf-8")
    assert_one_line_error(run("render", str(article), "--engine", "local", "-o", str(tmp_path / "out")),
                          "missing.jpg")
    (tmp_path / "notimage.jpg").write_text("not an image")
    article.write_text("---\ntitle: 封面测试\ncover: notimage.jpg\n---\n\n一句话。\n", encoding="utf-8")
    assert_one_line_error(run("render", str(article), "--engine", "local", "-o", str(tmp_path / "out")),
                          "notimage.jpg")
    leftovers = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and p.suffix in (".mp3", ".tmp")]
    assert leftovers == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; permissions can't be tested")
def test_unwritable_output(tmp_path: Path) -> None:
    out = tmp_path / "ro"
    out.mkdir(mode=0o500)
    assert_one_line_error(run("render", str(EXAMPLE), "--engine", "local", "-o", str(out)), str(out))


def test_unwritable_output_path_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should be")
    assert_one_line_error(run("render", str(EXAMPLE), "--engine", "local", "-o", str(blocker)), "out")


MARKUP_TITLE = "粗体[/b]与[bold red]标记[/] :smile: [link=x]"


@pytest.mark.slow
def test_user_text_is_printed_literally(tmp_path: Path) -> None:
    """Rich markup, emoji codes and highlighting never touch titles, paths or messages."""
    folder = tmp_path / "[red]文件夹[-red]"
    folder.mkdir()
    article = folder / "a.md"
    article.write_text(f"---\ntitle: \"{MARKUP_TITLE}\"\n---\n\n一句[/i]话。\n", encoding="utf-8")
    proc = run("render", str(article), "--engine", "local", "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert MARKUP_TITLE in proc.stdout and "Traceback" not in proc.stderr
    plan = run("render", str(article), "--engine", "local", "--dry-run", cwd=tmp_path)
    assert plan.returncode == 0 and MARKUP_TITLE in plan.stdout and "一句[/i]话。" in plan.stdout
    missing = run("render", str(folder / "[b]nope.md"), cwd=tmp_path)
    assert_one_line_error(missing, "[b]nope.md")


def test_piped_render_prints_plain_progress(tmp_path: Path) -> None:
    article = tmp_path / "a.md"
    article.write_text("---\ntitle: 进度\n---\n\n" + "".join(f"第{n}句进度测试话。" for n in range(1, 9)) + "\n",
                       encoding="utf-8")
    proc = run("render", str(article), "--engine", "local", "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    steps = [line for line in proc.stderr.splitlines() if line.startswith("synthesizing chapter 1: ")]
    assert steps and steps[-1] == "synthesizing chapter 1: 9/9" and 2 <= len(steps) <= 5
    assert "\x1b[" not in proc.stderr  # plain text, no terminal control codes
