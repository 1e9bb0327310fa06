"""`audiobook watch`: the loop with a stand-in renderer (what triggers a render, what doesn't, errors
don't end it, saves during a render aren't lost), then the real command in a subprocess against
the fake Edge service (edit → one sentence re-synthesized; a broken article → one error line;
Ctrl-C → quiet exit)."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from audiobook.cli.watch import Rendered, watch_articles
from audiobook.errors import InputError
from audiobook.testing.edge_service import FakeEdgeService
from tests.support.articles import CHAPTERS, article_text, edited

TIMEOUT_S = 30.0


class Loop:
    """watch_articles in a thread with a stand-in renderer that records what it was asked."""

    def __init__(self, articles: list[Path], settings: list[Path] = (), slow_on: str = "") -> None:
        self.events: queue.Queue[Rendered] = queue.Queue()
        self.rendering = threading.Event()
        self.slow_on = slow_on
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, args=(articles, list(settings)), daemon=True)
        self.thread.start()

    def _render(self, article: Path) -> str:
        text = article.read_text(encoding="utf-8")
        if "BAD" in text:
            raise InputError(f"{article}: nothing to narrate")
        if self.slow_on and self.slow_on in text:
            self.rendering.set()
            time.sleep(1.0)
        return text

    def _run(self, articles: list[Path], settings: list[Path]) -> None:
        try:
            watch_articles(articles, self._render, self.events.put, settings=settings, debounce_ms=50,
                           stop_event=self.stop)
        except BaseException as exc:  # surfaced by next()/close()
            self.errors.append(exc)

    def next(self) -> Rendered:
        try:
            return self.events.get(timeout=TIMEOUT_S)
        except queue.Empty:
            raise AssertionError(f"no render within {TIMEOUT_S} s (errors: {self.errors})") from None

    def drain(self) -> list[str]:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.seen

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=TIMEOUT_S)
        assert not self.thread.is_alive() and not self.errors, self.errors


def save(path: Path, text: str) -> None:
    """Like an editor: write a temp file and rename it over the article."""
    tmp = path.with_name(f".{path.name}.swp-tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def test_renders_on_save_survives_errors_and_skips_no_op_saves(tmp_path: Path) -> None:
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_text("one", encoding="utf-8")
    b.write_text("bee", encoding="utf-8")
    loop = Loop([a, b])
    try:
        first = [loop.next(), loop.next()]
        assert {(e.article.name, e.reason, e.result) for e in first} == {("a.md", "start", "one"),
                                                                         ("b.md", "start", "bee")}

        save(a, "two")
        event = loop.next()
        assert (event.article.name, event.reason, event.result, event.error) == ("a.md", "saved", "two", None)

        save(a, "BAD")
        event = loop.next()
        assert event.result is None and isinstance(event.error, InputError)

        a.touch()  # saved without a change: nothing to do
        save(a, "three")
        event = loop.next()
        assert (event.article.name, event.result) == ("a.md", "three")
        assert loop.events.empty()
    finally:
        loop.close()


def test_save_during_a_render_is_not_lost(tmp_path: Path) -> None:
    a = tmp_path / "a.md"
    a.write_text("start", encoding="utf-8")
    loop = Loop([a], slow_on="slow")
    try:
        assert loop.next().result == "start"
        save(a, "slow")
        assert loop.rendering.wait(TIMEOUT_S)
        save(a, "after")  # lands while "slow" is being rendered
        assert loop.next().result == "slow"
        assert loop.next().result == "after"
    finally:
        loop.close()


def test_settings_change_renders_every_article(tmp_path: Path) -> None:
    a, b, settings = tmp_path / "a.md", tmp_path / "b.md", tmp_path / "audiobook.toml"
    for path in (a, b, settings):
        path.write_text(path.name, encoding="utf-8")
    loop = Loop([a, b], settings=[settings])
    try:
        loop.next(), loop.next()
        save(settings, "[render]\nbitrate_kbps = 96\n")
        events = [loop.next(), loop.next()]
        assert sorted(e.article.name for e in events) == ["a.md", "b.md"]
        assert {e.reason for e in events} == {"settings changed"}
    finally:
        loop.close()


def test_missing_article_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        watch_articles([tmp_path / "nope.md"], str, print)


# ---------------------------------------------------------------------------------------------
# The command


class Lines:
    """A stream's lines, read in a thread, waited for by predicate."""

    def __init__(self, stream) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.stream = stream
        self.thread = threading.Thread(target=lambda: [self.lines.put(line) for line in stream], daemon=True)
        self.thread.start()

    def drain(self) -> list[str]:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.seen

    def close(self) -> None:
        self.thread.join(timeout=10)
        self.stream.close()

    def wait_for(self, predicate: Callable[[str], bool], timeout_s: float = 90.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"no matching line; saw: {self.seen}")


@pytest.mark.slow
def test_watch_command(own_cache: Path, quick_fake: FakeEdgeService, tmp_path: Path) -> None:
    article = tmp_path / "story.md"
    article.write_text(article_text(), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "audiobook", "watch", str(article), "--engine", "edge",
                             "--output", str(tmp_path / "out")],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = Lines(proc.stdout), Lines(proc.stderr)
    try:
        out.wait_for(lambda line: line.startswith("story.md (start): first render:"))
        out.wait_for(lambda line: line.startswith("watching"))

        save(article, article_text(edited(1, 0, 1, "我们一起去河边散步。")))
        line = out.wait_for(lambda line: line.startswith("story.md (saved)"))
        assert "1 sentence changed → 1 synthesized" in line and "chapter 2 rebuilt" in line

        save(article, "")
        assert "nothing to narrate" in err.wait_for(lambda line: line.startswith("error: story.md"))

        sent = len(quick_fake.requests)
        save(article, article_text(CHAPTERS))
        line = out.wait_for(lambda line: line.startswith("story.md (saved)"))
        assert "1 sentence changed → 0 synthesized" in line  # the original sentence is still cached
        assert len(quick_fake.requests) == sent
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nstderr: {''.join(err.drain())}") from None
    finally:
        proc.send_signal(signal.SIGINT)
        returncode = proc.wait(timeout=30)
        out.close()
        err.close()
    assert returncode == 0
    out.wait_for(lambda line: line.startswith("stopped watching"), timeout_s=5)
    assert not any("Traceback" in line for line in err.seen)
