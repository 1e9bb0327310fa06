"""Articles the render tests share, and helpers around them: a four-chapter story to edit one
sentence at a time (incremental re-renders), thirty numbered sentences to kill a render in, a cheap
voice for the fake Edge service, and renders as subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from edge_tts.drm import DRM

from audiobook.testing.edge_service import FakeEdgeService, Speech, is_speakable
from tests.support import PROJECT

TITLE = "增量测试"
CHAPTERS = [
    ("开场", [["这是一个关于增量渲染的小故事。", "我们只想重做改过的部分。"]]),
    ("一、春天", [["春天来了，花都开了。", "我们一起去公园散步。"]]),
    ("二、夏天", [["夏天的午后很安静。", "小明在树下读书。"], ["傍晚下了一场雨。", "空气变得很清新。"]]),
    ("三、秋天", [["秋天的叶子变黄了。", "故事就讲到这里。"]]),
]


def quick_speech(text: str) -> Speech:
    """A cheap voice for the fake: a 90 ms tone per speakable character (the edge engine's
    truncation check wants at least 80 ms per unit), so long renders stay fast."""
    n, per = sum(map(is_speakable, text)), int(24000 * 0.09)
    t = np.arange(per) / 24000
    burst = (np.sin(2 * np.pi * 200 * t) * np.hanning(per) * 8000).astype(np.int16)
    return Speech(np.tile(burst, n), [(c, i * 90.0, 90.0) for i, c in enumerate(c for c in text if is_speakable(c))])


def article_text(chapters: list[tuple[str, list[list[str]]]] = CHAPTERS) -> str:
    """Markdown: the first entry is the untitled opening, the rest are `##` chapters."""
    parts = [f"---\ntitle: {TITLE}\nauthor: 测试员\ndate: 2026-11-01\nlanguage: zh-CN\n---\n", f"# {TITLE}\n"]
    for n, (title, paragraphs) in enumerate(chapters):
        if n:
            parts.append(f"## {title}\n")
        parts.extend("".join(p) + "\n" for p in paragraphs)
    return "\n".join(parts)


def edited(chapter: int, paragraph: int, sentence: int, new: str) -> list[tuple[str, list[list[str]]]]:
    out = [(t, [list(p) for p in ps]) for t, ps in CHAPTERS]
    out[chapter][1][paragraph][sentence] = new
    return out


def use_own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A segment cache of the test's own, so counts don't depend on what other tests cached; the
    session's patched voice model is shared through a symlink."""
    shared = Path(os.environ["AUDIOBOOK_CACHE_DIR"]) / "models"
    shared.mkdir(parents=True, exist_ok=True)
    own = tmp_path / "cache"
    own.mkdir()
    (own / "models").symlink_to(shared, target_is_directory=True)
    monkeypatch.setenv("AUDIOBOOK_CACHE_DIR", str(own))
    return own


def use_fake(fake: FakeEdgeService, monkeypatch: pytest.MonkeyPatch) -> FakeEdgeService:
    """Point the edge engine (in this process and in subprocesses) at `fake`."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "WS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(DRM, "clock_skew_seconds", 0.0)
    monkeypatch.setenv("AUDIOBOOK_EDGE_WSS_URL", fake.wss_url)
    monkeypatch.setenv("AUDIOBOOK_EDGE_VOICES_URL", fake.voices_url)
    return fake


NUMBERED_TITLE = "断电测试"
SENTENCES = [f"这是第{n}句，讲的是编号为{n}的小事。" for n in range(1, 31)]


def numbered_article() -> str:
    """Thirty numbered sentences in paragraphs of five, no chapters: long enough to kill a render in."""
    body = "\n\n".join("".join(SENTENCES[i:i + 5]) for i in range(0, len(SENTENCES), 5))
    return f"---\ntitle: {NUMBERED_TITLE}\n---\n\n# {NUMBERED_TITLE}\n\n{body}\n"


def start_render(article: Path, out: Path, config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "audiobook", "render", str(article), "--engine", "edge",
                             "--output", str(out), "--config", str(config)],
                            cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"render ended early (rc {proc.returncode}): {proc.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the render")
        time.sleep(0.05)
