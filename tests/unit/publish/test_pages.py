"""The site's generated files without a browser: the pages' HTML (escaping, structure, relative
links, accessibility hooks, the show's language), the show's own cover, and build_site's
bookkeeping (unchanged files untouched, files the show no longer has removed)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import html

from audiobook.config import Config, FeedConfig, ShowConfig
from audiobook.publish.feed import load_show
from audiobook.publish.website import build_site, site_files
from audiobook.store.workspace import Workspace
from tests.support.shows import make_article

TRICKY = "茶 & 代码 <第一回> ]]> \"引号\" 结束"
CONFIG = Config(show=ShowConfig(title="夜读 <节目>", author="王小明", base_url="https://example.com/书架/"))


@pytest.fixture
def output(tmp_path: Path) -> Path:
    make_article(tmp_path, TRICKY, [("开篇", 1.5), ("中段 & <转折>", 1.2)], date="2026-11-30",
                 description="简介：<script>alert(1)</script> & 更多。")
    make_article(tmp_path, "第二篇", [("上", 1.0)], first_rendered="2026-11-28T08:00:00+00:00")
    return tmp_path


def pages(output: Path, config: Config = CONFIG) -> dict[str, bytes]:
    return site_files(Workspace(output), config)


def test_user_text_is_escaped_never_markup(output: Path) -> None:
    files = pages(output)
    show = files["index.html"].decode()
    episode = next(v for k, v in files.items() if k.endswith("/index.html") and "茶" in k).decode()
    for page in (show, episode):
        assert "<script>alert" not in page and "<第一回>" not in page
        assert "&lt;第一回&gt;" in page
    doc = html.fromstring(episode)
    assert doc.findtext(".//h1") == TRICKY
    assert [b.text_content() for b in doc.cssselect("button.seek")] == ["00:00开篇", "00:01中段 & <转折>"]
    assert "第二句 & <b>加粗</b>。" in doc.cssselect(".transcript")[0].text_content()
    assert html.fromstring(show).findtext(".//h1") == "夜读 <节目>"


def test_episode_page_has_player_chapters_transcript_and_downloads(output: Path) -> None:
    ws = Workspace(output)
    show, articles = load_show(ws, CONFIG)
    article = next(a for a in articles if a.title == TRICKY)
    doc = html.fromstring(pages(output)[f"{article.slug}/index.html"])
    assert doc.get("lang") == "zh-CN"
    assert doc.cssselect('meta[name="viewport"]')
    audio = doc.get_element_by_id("player")
    assert audio.get("src") == f"{_q(article.episode.file)}?v={article.episode.sha256[:12]}"
    assert audio.get("controls") is not None and audio.get("preload") == "metadata"
    starts = [float(b.get("data-start")) for b in doc.cssselect("button.seek")]
    assert starts == [c.start_ms / 1000 for c in article.chapters]
    assert all(b.get("type") == "button" for b in doc.cssselect("button.seek"))  # focusable, Enter works
    lines = doc.cssselect(".transcript .line")
    chapter = article.chapters[1]
    assert float(lines[-1].get("data-start")) == pytest.approx((chapter.start_ms + chapter.lines[-1].start_ms) / 1000)
    links = {a.get("href") for a in doc.cssselect("a[download]")}
    assert any(h.startswith(_q(article.episode.file)) for h in links)
    assert any(h.startswith(_q(str(article.episode.vtt))) for h in links)
    assert doc.cssselect('a[href="../index.html"]')  # back to the show
    assert doc.cssselect('link[rel="alternate"][type="application/rss+xml"]')[0].get("href") == "../feed.rss"


def _q(name: str) -> str:
    from urllib.parse import quote
    return quote(name, safe="")


def test_show_page_has_subscribe_section_and_episodes_newest_first(output: Path) -> None:
    doc = html.fromstring(pages(output)["index.html"])
    feed = doc.get_element_by_id("feed-url")
    assert feed.get("value") == "https://example.com/%E4%B9%A6%E6%9E%B6/feed.rss" and feed.get("readonly") is not None
    assert doc.cssselect('label[for="feed-url"]')  # the field has a label
    assert doc.get_element_by_id("open-in-app").get("href").startswith("podcast://example.com/")
    assert doc.get_element_by_id("copy-status").get("aria-live") == "polite"
    titles = [a.text_content() for a in doc.cssselect("ol.episodes h3 a")]
    assert titles == [TRICKY, "第二篇"]
    assert doc.cssselect("img.cover")[0].get("src").startswith("show-cover.jpg?v=")


def test_pages_fetch_nothing_from_elsewhere(output: Path) -> None:
    for name, data in pages(output).items():
        if not name.endswith(".html"):
            continue
        doc = html.fromstring(data)
        for el in doc.iter():
            for attr in ("src", "href"):
                value = el.get(attr) or ""
                assert not re.match(r"^(https?:)?//", value), (name, el.tag, value)  # relative only
        assert not doc.cssselect("script[src], link[rel=stylesheet]")


@pytest.mark.parametrize(("language", "words"), [("zh-CN", ["订阅", "单集", "本节目由合成语音朗读。"]),
                                                 ("zh-TW", ["訂閱", "單集", "本節目由合成語音朗讀。"]),
                                                 ("en", ["Subscribe", "Episodes", "read by a synthetic voice"])],
                         ids=["simplified", "traditional", "english"])
def test_pages_speak_the_show_language(output: Path, language: str, words: list[str]) -> None:
    page = pages(output, replace(CONFIG, show=replace(CONFIG.show, language=language)))["index.html"].decode()
    assert f'<html lang="{language}">' in page
    for word in words:
        assert word in page


def test_the_show_cover_is_drawn_from_the_show_not_the_newest_episode(output: Path) -> None:
    first = pages(output)["show-cover.jpg"]
    make_article(output, "更新的一篇", [("甲", 1.0)], first_rendered="2026-12-01T08:00:00+00:00")
    assert pages(output)["show-cover.jpg"] == first  # a new episode doesn't change the show's art
    newest = (output / "site" / "更新的一篇" / "cover.jpg").read_bytes()
    assert first != newest
    retitled = pages(output, replace(CONFIG, show=replace(CONFIG.show, title="另一个节目")))["show-cover.jpg"]
    assert retitled != first


def test_pages_are_byte_identical_when_nothing_changed(output: Path) -> None:
    assert pages(output) == pages(output)


def test_build_site_writes_changes_only_and_removes_what_the_show_no_longer_has(output: Path) -> None:
    ws = Workspace(output)
    feed = build_site(ws, CONFIG)
    assert feed == output / "site" / "feed.rss"
    before = {p: p.stat().st_mtime_ns for p in (output / "site").rglob("*.html")}
    build_site(ws, CONFIG)
    assert {p: p.stat().st_mtime_ns for p in before} == before  # unchanged files are not rewritten

    renamed = replace(CONFIG, feed=FeedConfig(file="podcast.rss"))
    build_site(ws, renamed)
    assert (output / "site" / "podcast.rss").is_file() and not (output / "site" / "feed.rss").exists()
    from PIL import Image
    Image.new("RGB", (1400, 1400), (1, 2, 3)).save(output / "art.png")
    build_site(ws, replace(renamed, show=replace(CONFIG.show, cover=str(output / "art.png"))))
    assert (output / "site" / "show-cover.png").is_file() and not (output / "site" / "show-cover.jpg").exists()
    digest = hashlib.sha256((output / "art.png").read_bytes()).hexdigest()[:12]
    assert f"show-cover.png?v={digest}" in (output / "site" / "podcast.rss").read_text(encoding="utf-8")
