"""The show's pages in a real browser (Debian's Chromium, driven by Playwright's Python package;
no browser download): served by stock nginx after `publish` and by `audiobook serve`, they load
without console errors, a chapter click (or Enter on it) seeks the player there, the feed address
is the one to subscribe to and copies, and nothing overflows a phone's width."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stockhost import needs_nginx, nginx_serving, public_folder

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright (a dev dependency) is not installed")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; "
                                                          ".ci/run does)")]
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--mute-audio", "--autoplay-policy=no-user-gesture-required"]
ARTICLE = """---
title: 浏览器里的节目
author: 林晓
description: 三章短文，用来在浏览器里试听。
---

## 第一章

第一章的第一句话。第一章的第二句话。

## 第二章

第二章只有一句话。

## 第三章

第三章的句子 & 符号 x < y 都照原样。
"""


def cli(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "audiobook", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=120, umask=0o022)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(output folder, working folder) with the article rendered."""
    tmp = tmp_path_factory.mktemp("browser")
    (tmp / "article.md").write_text(ARTICLE, encoding="utf-8")
    done = cli("render", tmp / "article.md", "--engine", "local", "-o", tmp / "out", cwd=tmp)
    assert done.returncode == 0, done.stderr
    return tmp / "out", tmp


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield instance
        instance.close()


class Page:
    """A page with its console errors collected."""

    def __init__(self, browser: object, width: int = 1280) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
        self.context.grant_permissions(["clipboard-read", "clipboard-write"])
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        self.page.on("response", lambda r: self.errors.append(f"{r.status}: {r.url}") if r.status >= 400 else None)

    def close(self) -> None:
        self.context.close()


def check_show_and_episode(browser: object, show_url: str, feed_url: str, shots: Path, width: int = 1280) -> None:
    view = Page(browser, width)
    page = view.page
    try:
        page.goto(show_url)
        assert page.title() == "浏览器里的节目"
        assert page.input_value("#feed-url") == feed_url
        assert page.get_attribute("#open-in-app", "href") == "podcast://" + feed_url.split("://", 1)[1]
        page.click("#copy-feed")
        page.wait_for_function("document.getElementById('copy-status').textContent === '已复制'")
        assert page.evaluate("navigator.clipboard.readText()") == feed_url
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing overflows
        page.screenshot(path=str(shots / f"show-{width}.png"), full_page=True)

        page.click("ol.episodes h3 a")
        page.wait_for_selector("#player")
        assert page.title() == "浏览器里的节目 · 浏览器里的节目"
        page.wait_for_function("document.getElementById('player').readyState >= 1")  # metadata over HTTP
        duration = page.evaluate("document.getElementById('player').duration")
        starts = [float(s) for s in page.eval_on_selector_all("button.seek", "els => els.map(e => e.dataset.start)")]
        assert len(starts) == 3 and starts[0] == 0 and 0 < starts[1] < starts[2] < duration
        page.click("button.seek >> nth=2")
        page.wait_for_function(f"Math.abs(document.getElementById('player').currentTime - {starts[2]}) < 0.3")
        page.wait_for_function("document.querySelectorAll('button.seek')[2].getAttribute('aria-current') === 'true'")
        page.focus("button.seek >> nth=1")  # the keyboard works too
        page.keyboard.press("Enter")
        page.wait_for_function(f"Math.abs(document.getElementById('player').currentTime - {starts[1]}) < 0.3")
        transcript = page.inner_text(".transcript")
        assert "第三章的句子 & 符号 x < y 都照原样。" in transcript  # user text is text, never markup
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(shots / f"episode-{width}.png"), full_page=True)
        page.click("nav.crumbs a")
        page.wait_for_selector("#feed-url")
        assert view.errors == []
    finally:
        view.close()


@needs_nginx
def test_published_pages_work_in_a_browser(rendered: tuple[Path, Path], browser: object) -> None:
    out, tmp = rendered
    with public_folder() as dest, nginx_serving(dest) as url:
        config = tmp / "nginx.toml"
        config.write_text(f'[show]\ntitle = "浏览器里的节目"\nbase_url = "{url}"\n', encoding="utf-8")
        published = cli("publish", dest, "-o", out, "-c", config, cwd=tmp)
        assert published.returncode == 0, published.stderr
        for width in (1280, 375):  # a desktop and a phone
            check_show_and_episode(browser, url, url + "feed.rss", tmp, width)


def test_pages_work_through_audiobook_serve(rendered: tuple[Path, Path], browser: object) -> None:
    out, tmp = rendered
    config = tmp / "serve.toml"
    config.write_text('[show]\ntitle = "浏览器里的节目"\nbase_url = "https://podcast.example.com/"\n',
                      encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "audiobook", "serve", "--port", "0", "-o", str(out),
                             "-c", str(config)], cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"subscribe to (\S+)", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
        feed_url = match.group(1)
        check_show_and_episode(browser, feed_url.rsplit("/", 1)[0] + "/", feed_url, tmp)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
