"""Synthesis and assembly side by side: the hand-off (ChapterGate), the order chapters are
synthesized in, and what happens when synthesis stops while assembly waits."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from audiobook.config import Config, load_profile
from audiobook.models import Synthesis, SynthRequest, Voice
from audiobook.render.pipeline import _side_by_side, plan_article
from audiobook.render.synthesize import (
    ChapterGate,
    SynthesisStopped,
    SynthStats,
    assign_keys,
    synthesis_order,
    synthesize_script,
)
from audiobook.store.segments import SegmentCache
from audiobook.tts.local import LocalEngine

BAKER = Voice(engine="local", name="baker")
ARTICLE = """# 三章

## 第一章

春天來了。花開了。

## 第二章

夏天很熱。

## 第三章

秋天的葉子黃了。冬天下雪。
"""


def test_gate_opens_each_chapter_once_and_stops_every_waiter() -> None:
    gate = ChapterGate(timeout_s=10)
    gate.open(1)
    gate.wait(1)  # already open: returns at once
    results: list[object] = []

    def waiter() -> None:
        try:
            gate.wait(2)
            results.append("opened")
        except SynthesisStopped as exc:
            results.append(exc)

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.05)
    assert results == []  # still waiting for chapter 2
    gate.stop()
    thread.join(5)
    assert isinstance(results[0], SynthesisStopped)
    with pytest.raises(SynthesisStopped):
        gate.wait(1)  # stopped: even an open chapter is not started any more


def test_a_gate_with_a_timeout_fails_instead_of_waiting_forever() -> None:
    gate = ChapterGate(timeout_s=0.05)
    with pytest.raises(TimeoutError, match="chapter 2"):
        gate.wait(2)


class _Recording:
    """The real local engine (one worker: segments finish in the order they are sent), recording
    the order segments finish in."""

    def __init__(self, log: list[str]) -> None:
        self.engine, self.log = LocalEngine(workers=1), log
        self.name, self.sample_rate = "local", self.engine.sample_rate

    def synthesize(self, requests: list[SynthRequest], on_done) -> None:  # noqa: ANN001
        def done(request: SynthRequest, synthesis: Synthesis) -> None:
            self.log.append(f"segment {request.group}")
            on_done(request, synthesis)

        self.engine.synthesize(requests, done)

    def close(self) -> None:
        self.engine.close()


def test_chapters_open_as_soon_as_their_segments_are_cached(tmp_path: Path) -> None:
    article = tmp_path / "a.md"
    article.write_text(ARTICLE, encoding="utf-8")
    script = plan_article(article, Config(), load_profile("default"), "local")
    assign_keys(script, "local", "test", BAKER)
    log: list[str] = []

    class LoggingGate(ChapterGate):
        def open(self, index: int) -> None:
            log.append(f"chapter {index}")
            super().open(index)

    stats = synthesize_script(script, lambda: _Recording(log), BAKER, SegmentCache(), gate=LoggingGate())
    assert stats.synthesized == sum(len(c.sentences) for c in script.chapters)
    order = synthesis_order(script)
    assert order != sorted(order)  # this article's chapters are synthesized out of reading order
    expected: list[str] = []
    for index in order:  # chapter by chapter, each opening right after its last segment
        rank = order.index(index)
        expected += [f"segment {rank}"] * len(script.chapters[index - 1].sentences) + [f"chapter {index}"]
    assert log == expected


def test_the_longest_chapter_is_synthesized_first_and_the_shortest_last(tmp_path: Path) -> None:
    article = tmp_path / "a.md"
    article.write_text(ARTICLE, encoding="utf-8")
    script = plan_article(article, Config(), load_profile("default"), "local")
    length = {ch.index: sum(len(s.spoken) for s in ch.sentences) for ch in script.chapters}
    order = synthesis_order(script)
    assert sorted(order) == [ch.index for ch in script.chapters]
    assert [length[i] for i in order] == sorted(length.values(), reverse=True)


def test_a_cached_chapter_opens_before_anything_is_synthesized(tmp_path: Path) -> None:
    article = tmp_path / "a.md"
    article.write_text(ARTICLE, encoding="utf-8")
    script = plan_article(article, Config(), load_profile("default"), "local")
    assign_keys(script, "local", "test", BAKER)
    cache = SegmentCache()
    synthesize_script(script, LocalEngine, BAKER, cache)
    gate = ChapterGate(timeout_s=10)

    def no_engine() -> LocalEngine:
        raise AssertionError("nothing to synthesize")

    synthesize_script(script, no_engine, BAKER, cache, gate=gate)
    for chapter in (1, 2, 3):
        gate.wait(chapter)


def test_when_synthesis_fails_assembly_stops_and_the_synthesis_error_is_raised() -> None:
    built: list[int] = []

    def synthesize(gate: ChapterGate) -> SynthStats:
        gate.open(1)
        time.sleep(0.1)  # assembly builds chapter 1 meanwhile, then waits for chapter 2
        raise RuntimeError("the voice failed on chapter 2")

    def assemble(ready):  # noqa: ANN001, ANN202
        for chapter in (1, 2, 3):
            ready(chapter)
            built.append(chapter)

    started = time.perf_counter()
    with pytest.raises(RuntimeError, match="chapter 2"):
        _side_by_side(synthesize, assemble, lambda _stage: None, ChapterGate(timeout_s=10))
    assert built == [1]
    assert time.perf_counter() - started < 5  # no hang


def test_an_assembly_error_surfaces_after_synthesis_completes() -> None:
    finished: list[str] = []

    def synthesize(gate: ChapterGate) -> SynthStats:
        gate.open(1)
        time.sleep(0.1)
        finished.append("synthesis")  # its segments are cached: nothing is lost
        return SynthStats(1, 1, 0, 1)

    def assemble(ready):  # noqa: ANN001, ANN202
        ready(1)
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        _side_by_side(synthesize, assemble, lambda _stage: None, ChapterGate(timeout_s=10))
    assert finished == ["synthesis"]
