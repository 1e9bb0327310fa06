"""The podcast feed against the checklist in reference/podcast-standards.md (§7 items 10–18), on
output folders built from real MP3s. Raw XML is read with lxml; feedparser and podcastparser are a
second and third opinion (feedparser can't read itunes:explicit true/false, podcastparser ignores
the canonical podcast namespace URL: see §1.5 and §3)."""

from __future__ import annotations

import email.utils
import json
import logging
import re
import shutil
import uuid
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

import feedparser
import podcastparser
import pytest
from lxml import etree
from mutagen.id3 import ID3

from audiobook.audio.ffmpeg import decode_pcm
from audiobook.config import Config, FeedConfig, ShowConfig
from audiobook.errors import ConfigError, PublishError
from audiobook.publish.feed import NS, podcast_guid
from audiobook.publish.feed import feed_xml as workspace_feed_xml
from audiobook.publish.website import build_site
from audiobook.showrules import APPLE_CATEGORIES
from audiobook.store.workspace import Workspace
from tests.support.shows import make_article, rerender

BASE = "https://example.com/书架/"
TRICKY_TITLE = "茶 & 代码 <第一回> ]]> \x01\x0b结束 #1 100%"

CONFIG = Config(show=ShowConfig(title="夜读", author="王小明", owner_name="王小明",
                                owner_email="me@example.com", category="Arts", subcategory="Books",
                                base_url=BASE, link="https://example.com/"))
SERIAL = replace(CONFIG, feed=FeedConfig(items="chapters"))


def build_feed(root: Path, config: Config) -> Path:
    """The feed as a render writes it (with the pages, into OUTPUT/site)."""
    return build_site(Workspace(root), config)


def feed_xml(root: Path, config: Config, base_url: str | None = None) -> bytes:
    return workspace_feed_xml(Workspace(root), config, base_url)


def episode_folder(root: Path, part: str) -> Path:
    return next(p for p in (root / "site").iterdir() if p.is_dir() and part in p.name)


def manifests(root: Path) -> list[Path]:
    return sorted(root.glob("state/*/render.json"))


def _q(tag: str) -> str:
    prefix, _, local = tag.rpartition(":")
    return f"{{{NS[prefix]}}}{local}" if prefix else local


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("output")
    make_article(root, TRICKY_TITLE, [("开篇", 2.0), ("中段 & 转折", 1.5), ("结语", 1.2)],
                 date="2026-11-30", first_rendered="2026-11-29T21:40:00+00:00")
    make_article(root, "第二篇：山中茶事", [("上", 1.3), ("下", 1.1)], author="李四", freq=300,
                 first_rendered="2026-11-28T08:00:00+00:00", description="")
    return root


@pytest.fixture
def workdir(output: Path, tmp_path: Path) -> Path:
    """A private copy of the output folder, for tests that change it."""
    return Path(shutil.copytree(output, tmp_path / "out"))


def parse(path: Path) -> etree._Element:
    return etree.fromstring(path.read_bytes(), etree.XMLParser(resolve_entities=False))


def local_file(root: Path, url: str, base: str = BASE) -> Path:
    assert url.startswith(_ascii_url(base))
    rel = urlsplit(url).path[len(urlsplit(_ascii_url(base)).path):]
    return (root / "site").joinpath(*(unquote(part) for part in rel.split("/")))


def _ascii_url(url: str) -> str:
    parts = urlsplit(url)
    from urllib.parse import quote
    return f"{parts.scheme}://{parts.netloc}{quote(parts.path)}"


# --- §7.10–12: the document and the channel ---------------------------------------------------


def test_feed_is_wellformed_utf8_rss2_with_exact_namespaces(output: Path) -> None:
    path = build_feed(output, CONFIG)
    assert path == output / "site" / "feed.rss"
    raw = path.read_bytes()
    assert raw.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    raw.decode("utf-8")
    rss = parse(path)
    assert rss.tag == "rss" and rss.get("version") == "2.0"
    assert rss.nsmap == {"itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
                         "podcast": "https://podcastindex.org/namespace/1.0",
                         "atom": "http://www.w3.org/2005/Atom",
                         "content": "http://purl.org/rss/1.0/modules/content/"}


def test_channel_has_every_required_and_recommended_tag(output: Path) -> None:
    ch = parse(build_feed(output, CONFIG)).find("channel")
    assert ch.findtext("title") == "夜读"
    assert ch.findtext("link") == "https://example.com/"
    description = ch.findtext("description")
    assert description and len(description.encode("utf-8")) <= 4000
    assert ch.findtext("language") == "zh-CN"
    assert ch.findtext(_q("itunes:author")) == "王小明"
    assert ch.findtext(_q("itunes:owner") + "/" + _q("itunes:name")) == "王小明"
    assert ch.findtext(_q("itunes:owner") + "/" + _q("itunes:email")) == "me@example.com"
    image = ch.find(_q("itunes:image")).get("href")
    assert image.startswith("https://") and urlsplit(image).path.endswith((".jpg", ".png"))
    assert local_file(output, image).is_file()
    category = ch.find(_q("itunes:category"))
    assert category.get("text") in APPLE_CATEGORIES
    assert category.find(_q("itunes:category")).get("text") in APPLE_CATEGORIES[category.get("text")]
    assert ch.findtext(_q("itunes:explicit")) in ("true", "false")
    assert ch.findtext(_q("itunes:type")) == "episodic"
    self_link = ch.find(_q("atom:link"))
    assert self_link.get("rel") == "self" and self_link.get("type") == "application/rss+xml"
    assert self_link.get("href") == _ascii_url(BASE) + "feed.rss"
    assert ch.findtext("generator").startswith("audiobook")
    assert email.utils.parsedate_to_datetime(ch.findtext("lastBuildDate")).tzinfo is not None
    for el in ch.iter():  # Apple: no leading/trailing spaces, 255 characters for plain values
        if el.text and el.tag not in ("description", _q("content:encoded")) and len(el) == 0:
            assert el.text == el.text.strip() and len(el.text) <= 255


def test_podcast_namespace_channel_tags(output: Path) -> None:
    ch = parse(build_feed(output, CONFIG)).find("channel")
    guid = ch.findtext(_q("podcast:guid"))
    feed_url = ch.find(_q("atom:link")).get("href")
    stripped = re.sub(r"^[a-z]+://", "", feed_url).rstrip("/")
    assert guid == str(uuid.uuid5(uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"), stripped))
    assert uuid.UUID(guid).version == 5 and len(guid) == 36
    assert ch.findtext(_q("podcast:locked")) in ("yes", "no")
    assert ch.find(_q("podcast:locked")).get("owner") == "me@example.com"
    assert ch.findtext(_q("podcast:medium")) == "podcast"
    assert ch.find(_q("podcast:txt")).get("purpose") == "ai-content"


@pytest.mark.parametrize(("url", "expected"), [
    ("https://podnews.net/rss", "9b024349-ccf0-5f69-a609-6b82873eab3c"),
    ("http://podnews.net/rss/", "9b024349-ccf0-5f69-a609-6b82873eab3c"),
    ("https://mp3s.nashownotes.com/pc20rss.xml", "917393e3-1b1e-5cef-ace4-edaa54e1f810"),
], ids=["spec-example", "scheme-and-slash-stripped", "second-spec-example"])
def test_podcast_guid_follows_the_namespace_rule(url: str, expected: str) -> None:
    assert podcast_guid(url) == expected


def test_configured_podcast_guid_and_lock_are_kept(output: Path) -> None:
    pinned = "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    config = replace(CONFIG, show=replace(CONFIG.show, guid=pinned, locked=True))
    ch = etree.fromstring(feed_xml(output, config, base_url="http://192.168.1.5:8000/")).find("channel")
    assert ch.findtext(_q("podcast:guid")) == pinned
    assert ch.findtext(_q("podcast:locked")) == "yes"


# --- §7.14–18: the items ------------------------------------------------------------------------


def test_items_have_stable_unique_guids_and_exact_enclosures(output: Path) -> None:
    items = parse(build_feed(output, CONFIG)).findall("channel/item")
    assert len(items) == 2
    guids = [item.find("guid") for item in items]
    assert len({g.text for g in guids}) == 2
    assert all(g.get("isPermaLink") == "false" for g in guids)
    urls = []
    for item in items:
        assert item.findtext("title")
        enclosure = item.find("enclosure")
        url = enclosure.get("url")
        urls.append(url)
        assert url.isascii() and url.startswith("https://") and urlsplit(url).path.endswith(".mp3")
        assert re.fullmatch(r"v=[0-9a-f]{12}", urlsplit(url).query)
        assert enclosure.get("type") == "audio/mpeg"
        assert int(enclosure.get("length")) == local_file(output, url).stat().st_size
    assert len(set(urls)) == 2


def test_items_link_to_their_episode_page(output: Path) -> None:
    build_feed(output, CONFIG)
    for item in parse(output / "site" / "feed.rss").findall("channel/item"):
        link = item.findtext("link")
        assert link.startswith(_ascii_url(BASE)) and link.endswith("/index.html")
        assert local_file(output, link).is_file()


def test_item_titles_with_markup_and_control_characters_are_escaped(output: Path) -> None:
    items = parse(build_feed(output, CONFIG)).findall("channel/item")
    titles = {item.findtext("title") for item in items}
    assert "茶 & 代码 <第一回> ]]> 结束 #1 100%" in titles
    notes = items[0].findtext(_q("content:encoded"))  # newest first: the tricky article
    assert "中段 &amp; 转折" in notes


def test_pubdates_are_rfc2822_with_zone_and_newest_first(output: Path) -> None:
    items = parse(build_feed(output, CONFIG)).findall("channel/item")
    dates = []
    for item in items:
        text = item.findtext("pubDate")
        parsed = email.utils.parsedate_to_datetime(text)
        assert parsed.tzinfo is not None
        assert text.startswith(parsed.strftime("%a, "))  # the weekday matches the date
        dates.append(parsed)
    assert dates == sorted(dates, reverse=True)
    # the tricky article's front-matter date wins over its first render
    assert dates[0].date().isoformat() == "2026-11-30"


def test_durations_are_whole_seconds_within_one_second_of_decoded_audio(output: Path) -> None:
    for item in parse(build_feed(output, CONFIG)).findall("channel/item"):
        duration = item.findtext(_q("itunes:duration"))
        assert re.fullmatch(r"\d+", duration)
        path = local_file(output, item.find("enclosure").get("url"))
        decoded_s = len(decode_pcm(path, 44100)) / 44100
        assert abs(int(duration) - decoded_s) <= 1.0


def test_show_notes_list_chapters_with_timestamps(output: Path) -> None:
    item = parse(build_feed(output, CONFIG)).findall("channel/item")[0]
    for tag in ("description", _q("content:encoded")):
        notes = item.findtext(tag)
        assert len(notes.encode("utf-8")) <= 4000
        assert re.findall(r"<li>(\d\d:\d\d:\d\d) ", notes) == ["00:00:00", "00:00:02", "00:00:03"]
        allowed = {"p", "ol", "ul", "li", "a", "b", "i", "strong", "em"}  # Apple + PSP-1
        assert set(re.findall(r"</?([a-z]+)", notes)) <= allowed
    raw = (output / "site" / "feed.rss").read_bytes()
    assert b"<description><![CDATA[<p>" in raw


def test_podcast_chapters_json_matches_the_id3_chapters(output: Path) -> None:
    for item in parse(build_feed(output, CONFIG)).findall("channel/item"):
        tag = item.find(_q("podcast:chapters"))
        assert tag.get("type") == "application/json+chapters"
        assert urlsplit(tag.get("url")).query == urlsplit(item.find("enclosure").get("url")).query
        doc = json.loads(local_file(output, tag.get("url")).read_text(encoding="utf-8"))
        assert isinstance(doc["version"], str) and isinstance(doc["chapters"], list)
        starts = [c["startTime"] for c in doc["chapters"]]
        assert starts[0] == 0 and starts == sorted(set(starts))
        duration = int(item.findtext(_q("itunes:duration")))
        assert all(set(c) <= {"startTime", "title", "img", "url", "toc", "endTime", "location"}
                   for c in doc["chapters"])
        assert all(0 <= s < duration for s in starts)
        id3 = ID3(local_file(output, item.find("enclosure").get("url")))
        chap_starts = sorted(frame.start_time / 1000 for frame in id3.getall("CHAP"))
        assert chap_starts == pytest.approx(starts, abs=0.001)


def test_transcripts_are_vtt_and_srt_with_language(output: Path) -> None:
    for item in parse(build_feed(output, CONFIG)).findall("channel/item"):
        tags = item.findall(_q("podcast:transcript"))
        assert [t.get("type") for t in tags] == ["text/vtt", "application/x-subrip"]
        assert all(t.get("language") == "zh-CN" and t.get("rel") == "captions" for t in tags)
        vtt = local_file(output, tags[0].get("url")).read_text(encoding="utf-8")
        assert vtt.startswith("WEBVTT")
        duration = int(item.findtext(_q("itunes:duration")))
        ends = re.findall(r"--> (\d\d):(\d\d):(\d\d)\.(\d\d\d)", vtt)
        assert ends and all(int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000 <= duration + 1
                            for h, m, s, ms in ends)
        assert local_file(output, tags[1].get("url")).read_text(encoding="utf-8").startswith("1\n")


def test_items_carry_art_and_explicit(output: Path) -> None:
    for item in parse(build_feed(output, CONFIG)).findall("channel/item"):
        assert local_file(output, item.find(_q("itunes:image")).get("href")).name == "cover.jpg"
        assert item.findtext(_q("itunes:explicit")) == "false"
        assert item.findtext(_q("itunes:episodeType")) == "full"


# --- the other parsers ---------------------------------------------------------------------------


def test_feedparser_reads_the_feed(output: Path) -> None:
    parsed = feedparser.parse(build_feed(output, CONFIG).read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "夜读"
    assert parsed.feed.author == "王小明"
    assert len(parsed.entries) == 2
    entry = parsed.entries[0]
    assert entry.title == "茶 & 代码 <第一回> ]]> 结束 #1 100%"
    assert entry.published_parsed is not None
    assert entry.id and not entry.guidislink
    [enclosure] = entry.enclosures
    assert enclosure.type == "audio/mpeg"
    assert int(enclosure.length) == local_file(output, enclosure.href).stat().st_size


def test_podcastparser_reads_the_feed(output: Path) -> None:
    path = build_feed(output, CONFIG)
    with path.open("rb") as fh:
        parsed = podcastparser.parse(_ascii_url(BASE) + "feed.rss", fh)
    assert parsed["title"] == "夜读"
    assert parsed["type"] == "episodic"
    assert len(parsed["episodes"]) == 2
    for episode in parsed["episodes"]:
        [enclosure] = episode["enclosures"]
        assert enclosure["file_size"] == local_file(output, enclosure["url"]).stat().st_size
        assert enclosure["mime_type"] == "audio/mpeg"
        assert episode["total_time"] > 0
        assert episode["guid"]


# --- chapters as items (serial) ------------------------------------------------------------------


def test_chapters_mode_publishes_each_chapter_in_order(output: Path) -> None:
    ch = etree.fromstring(feed_xml(output, SERIAL)).find("channel")
    assert ch.findtext(_q("itunes:type")) == "serial"
    assert ch.findtext(_q("podcast:medium")) == "audiobook"
    items = ch.findall("item")
    assert [int(i.findtext(_q("itunes:episode"))) for i in items] == [1, 2, 3, 4, 5]
    # oldest article first (rendered 28 Nov; the other is dated 30 Nov), chapters in reading order
    titles = [i.findtext("title") for i in items]
    assert titles[0] == "第二篇：山中茶事 · 上"
    assert titles[2].endswith(" · 开篇") and titles[4].endswith(" · 结语")
    for item in items:
        enclosure = item.find("enclosure")
        path = local_file(output, enclosure.get("url"))
        assert re.fullmatch(r"\d\d-.+\.mp3", path.name)
        assert int(enclosure.get("length")) == path.stat().st_size
        decoded_s = len(decode_pcm(path, 44100)) / 44100
        assert abs(int(item.findtext(_q("itunes:duration"))) - decoded_s) <= 1.0
        assert [t.get("type") for t in item.findall(_q("podcast:transcript"))] == ["text/vtt",
                                                                                     "application/x-subrip"]
    assert len({i.findtext("guid") for i in items}) == 5
    dates = [email.utils.parsedate_to_datetime(i.findtext("pubDate")) for i in items]
    assert dates == sorted(dates) and len(set(dates)) == 5
    # chapter guids are as stable as the article's
    again = etree.fromstring(feed_xml(output, SERIAL)).find("channel")
    assert [i.findtext("guid") for i in again.findall("item")] == [i.findtext("guid") for i in items]


def test_serial_episodes_are_numbered(output: Path) -> None:
    config = replace(CONFIG, feed=FeedConfig(type="serial"))
    ch = etree.fromstring(feed_xml(output, config)).find("channel")
    assert ch.findtext(_q("itunes:type")) == "serial"
    assert [i.findtext(_q("itunes:episode")) for i in ch.findall("item")] == ["1", "2"]


def test_single_chapter_article_titles_have_no_article_prefix(tmp_path: Path) -> None:
    make_article(tmp_path, "一篇", [("甲", 1.0), ("乙", 1.0)])
    items = etree.fromstring(feed_xml(tmp_path, SERIAL)).findall("channel/item")
    assert [i.findtext("title") for i in items] == ["甲", "乙"]


# --- re-renders and robustness -------------------------------------------------------------------


def test_rerender_keeps_guid_and_changes_url_length_and_duration(workdir: Path) -> None:
    before = {i.findtext("guid"): i for i in parse(build_feed(workdir, CONFIG)).findall("channel/item")}
    folder = episode_folder(workdir, "山中")
    rerender(folder, seconds=3.4, freq=500)
    after = {i.findtext("guid"): i for i in parse(build_feed(workdir, CONFIG)).findall("channel/item")}
    assert before.keys() == after.keys()
    url = {g: (before[g].find("enclosure").get("url"), after[g].find("enclosure").get("url")) for g in after}
    changed = [g for g, (old_url, new_url) in url.items() if old_url != new_url]
    assert len(changed) == 1
    old, new = before[changed[0]], after[changed[0]]
    assert new.find("enclosure").get("length") != old.find("enclosure").get("length")
    assert int(new.find("enclosure").get("length")) == (folder / f"{folder.name}.mp3").stat().st_size
    assert new.findtext(_q("itunes:duration")) == "3"
    assert urlsplit(new.find("enclosure").get("url")).path == urlsplit(old.find("enclosure").get("url")).path


def test_rebuilding_an_unchanged_folder_gives_identical_bytes(output: Path) -> None:
    assert feed_xml(output, CONFIG) == feed_xml(output, CONFIG)


def test_broken_render_json_is_skipped_with_a_warning(workdir: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    broken = workdir / "state" / "broken"
    broken.mkdir()
    (broken / "render.json").write_text("{not json", encoding="utf-8")
    missing = episode_folder(workdir, "山中")
    (missing / f"{missing.name}.mp3").unlink()
    with caplog.at_level(logging.WARNING):
        items = parse(build_feed(workdir, CONFIG)).findall("channel/item")
    assert len(items) == 1
    assert "skipping episode broken" in caplog.text and f"{missing.name}.mp3 is missing" in caplog.text


def test_stale_size_in_render_json_is_corrected_from_the_file(workdir: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    for path in manifests(workdir):
        data = json.loads(path.read_text(encoding="utf-8"))
        data["episode"]["bytes"] = 1
        path.write_text(json.dumps(data), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        for item in parse(build_feed(workdir, CONFIG)).findall("channel/item"):
            enclosure = item.find("enclosure")
            assert int(enclosure.get("length")) == local_file(workdir, enclosure.get("url")).stat().st_size
    assert "doesn't match the file" in caplog.text


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", ".hidden.mp3"])
def test_render_json_cannot_point_outside_its_folder(workdir: Path, name: str,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    for path in manifests(workdir):
        data = json.loads(path.read_text(encoding="utf-8"))
        data["episode"]["file"] = name
        path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PublishError, match="no rendered articles"):
        build_feed(workdir, CONFIG)
    assert "not a plain file name" in caplog.text


def test_empty_output_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="audiobook render"):
        build_feed(tmp_path, CONFIG)


@pytest.mark.parametrize(("show", "match"), [
    (ShowConfig(category="Audiobooks"), "not an Apple Podcasts category"),
    (ShowConfig(category="Arts", subcategory="Literature"), "not under 'Arts'"),
    (ShowConfig(base_url="example.com/pod"), "absolute http"),
], ids=["unknown-category", "obsolete-subcategory", "relative-base-url"])
def test_bad_show_settings_are_config_errors(output: Path, show: ShowConfig, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        feed_xml(output, Config(show=show))


def test_defaults_come_from_the_articles(tmp_path: Path) -> None:
    make_article(tmp_path, "只有一篇", [("甲", 1.0)], author="赵六", description="简介。")
    ch = etree.fromstring(feed_xml(tmp_path, Config())).find("channel")
    assert ch.findtext("title") == "只有一篇"
    assert ch.findtext(_q("itunes:author")) == "赵六"
    assert "简介。" in ch.findtext("description")
    assert ch.findtext("link") == "http://127.0.0.1:8000/"
    assert ch.find(_q("itunes:image")).get("href").startswith("http://127.0.0.1:8000/")


def test_show_cover_file_is_published_next_to_the_feed(output: Path, tmp_path: Path) -> None:
    cover = tmp_path / "art.png"
    from PIL import Image
    Image.new("RGB", (1400, 1400), (10, 20, 30)).save(cover)
    config = replace(CONFIG, show=replace(CONFIG.show, cover=str(cover)))
    out = Path(shutil.copytree(output, tmp_path / "out"))
    ch = parse(build_feed(out, config)).find("channel")
    href = ch.find(_q("itunes:image")).get("href")
    assert local_file(out, href) == out / "site" / "show-cover.png"
    assert (out / "site" / "show-cover.png").read_bytes() == cover.read_bytes()


def test_long_values_are_cut_to_apple_limits(tmp_path: Path) -> None:
    make_article(tmp_path, "长" * 300, [("甲" * 300, 1.0)], description="很长的简介。" * 1000)
    ch = etree.fromstring(feed_xml(tmp_path, Config())).find("channel")
    item = ch.find("item")
    assert len(ch.findtext("title")) == 255 and ch.findtext("title").endswith("…")
    assert len(item.findtext("title")) <= 255
    texts = (ch.findtext("description"), item.findtext("description"), item.findtext(_q("content:encoded")))
    for text in texts:
        assert len(text.encode("utf-8")) <= 4000


def test_cover_art_outside_apple_rules_is_reported(output: Path, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    from PIL import Image
    cover = tmp_path / "small.jpg"
    Image.new("RGB", (600, 400)).save(cover)
    config = replace(CONFIG, show=replace(CONFIG.show, cover=str(cover)))
    with caplog.at_level(logging.WARNING):
        build_feed(Path(shutil.copytree(output, tmp_path / "out")), config)
    assert "600×400 px (want square, 1400–3000 px)" in caplog.text
