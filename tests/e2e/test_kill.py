"""Crash safety, end to end in subprocesses: a render SIGKILLed mid-synthesis loses only what was
in flight (the re-run asks the service for nothing that was already cached, and reads nothing
corrupt), and a second render of the same article while one runs exits 1 with a clear message.
The edge engine talks to the in-process fake, slowed down so the kill lands mid-synthesis."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from audiobook.config import Config, load_profile
from audiobook.render.pipeline import plan_article
from audiobook.render.synthesize import assign_keys
from audiobook.store.locks import LOCK_FILE
from audiobook.store.segments import SegmentCache
from audiobook.store.slug import slugify
from audiobook.testing.edge_service import FakeEdgeService
from audiobook.tts.choice import engine_version, voice_for
from tests.support.articles import NUMBERED_TITLE as TITLE
from tests.support.articles import SENTENCES, start_render, wait_for

pytestmark = pytest.mark.slow  # renders at length


def test_killed_render_resumes_without_repeating_work(slow_fake: FakeEdgeService,
                                                      numbered_render: tuple[Path, Path, Path]) -> None:
    article, out, config = numbered_render
    profile = load_profile()
    script = plan_article(article, Config(), profile, "edge")
    assign_keys(script, "edge", engine_version("edge"), voice_for("edge", profile))
    spoken_of = {s.key: s.spoken for ch in script.chapters for s in ch.sentences}
    cache = SegmentCache()

    run1 = start_render(article, out, config)
    wait_for(lambda: len(list(cache.keys())) >= 6, run1)
    run1.send_signal(signal.SIGKILL)
    run1.communicate(timeout=10)
    cached = set(cache.keys())
    assert 6 <= len(cached) < len(spoken_of), "the kill should land mid-synthesis"
    assert all(cache.get(k) is not None for k in cached)  # every entry on disk is whole
    cached_texts = {spoken_of[k] for k in cached}
    sent = len(slow_fake.requests)

    run2 = start_render(article, out, config)
    stdout, stderr = run2.communicate(timeout=120)
    assert run2.returncode == 0, stderr
    requested = {r.text for r in slow_fake.requests[sent:]}
    assert requested & cached_texts == set()
    assert requested == set(spoken_of.values()) - cached_texts
    assert f"{len(spoken_of) - len(cached)} synthesized" in stdout


def test_second_render_of_same_article_is_refused(slow_fake: FakeEdgeService,
                                                  numbered_render: tuple[Path, Path, Path]) -> None:
    article, out, config = numbered_render
    locks = lambda: list((out / "state").glob(f"*/{LOCK_FILE}"))  # noqa: E731
    first = start_render(article, out, config)
    try:
        wait_for(lambda: len(locks()) == 1 and locks()[0].read_text() == str(first.pid), first)
        second = start_render(article, out, config)
        _, stderr = second.communicate(timeout=60)
        assert first.poll() is None, "the first render should still be running"
        assert second.returncode == 1
        assert f"another render of {TITLE} is running (pid {first.pid})" in stderr
        assert "Traceback" not in stderr
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGKILL)
        first.communicate(timeout=10)


def test_ctrl_c_while_chapters_assemble_beside_synthesis(slow_fake: FakeEdgeService, tmp_path: Path) -> None:
    """A chapter is assembled while others still synthesize; Ctrl-C then stops both quickly and
    quietly (exit 130), every file written is whole, and the re-run synthesizes the rest."""
    article = tmp_path / "article.md"
    chapters = ["\n\n".join([f"## 第{c}章", "".join(SENTENCES[10 * (c - 1):10 * c])]) for c in (1, 2, 3)]
    article.write_text(f"---\ntitle: {TITLE}\n---\n\n# {TITLE}\n\n" + "\n\n".join(chapters) + "\n", encoding="utf-8")
    config = tmp_path / "audiobook.toml"
    config.write_text("[edge]\nconcurrency = 2\n", encoding="utf-8")
    out = tmp_path / "out"
    folder = out / "site" / slugify(TITLE)
    # a chapter being built: staged under a temp name, put in place only when the whole render is done
    a_chapter = lambda: any(p.stat().st_size > 0 for p in folder.glob(".0*.mp3.*.tmp"))  # noqa: E731

    run1 = start_render(article, out, config)
    wait_for(a_chapter, run1)
    started = time.monotonic()
    run1.send_signal(signal.SIGINT)
    _, stderr = run1.communicate(timeout=30)
    assert run1.returncode == 130, stderr
    assert time.monotonic() - started < 10
    assert "Traceback" not in stderr
    assert not list(folder.glob(".*tmp*")), "no half-written file is left behind"
    assert not list(folder.glob("0*.mp3")), "nothing of an unfinished render is put in place"

    run2 = start_render(article, out, config)
    stdout, stderr = run2.communicate(timeout=120)
    assert run2.returncode == 0, stderr
    synthesized, reused = (int(n) for n in re.search(r"(\d+) synthesized, (\d+) reused", stdout).groups())
    assert synthesized > 0 and reused > 0, "Ctrl-C should have landed mid-synthesis, after a chapter was built"
