"""Following a site's feed: a real HTTP server on loopback serves an RSS feed of summary-only
entries (their pages are fetched) and an Atom feed carrying whole articles (nothing else is
fetched). Following twice renders nothing the second time; editing one entry's page
re-synthesizes only the changed sentence; a new entry adds one episode; an entry that left the
feed keeps its episode and the run says so; a retired episode is not brought back."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest

from audiobook.config import Config, FollowConfig, load_profile
from audiobook.render.follow import FollowReport, follow_feeds
from audiobook.store.episodes import retire_episode
from audiobook.store.workspace import open_workspace
from tests.support.articles import use_own_cache
from tests.support.web import Post, WebServer, atom_feed, expected_blocks, rss_feed, short_body


@pytest.fixture(autouse=True)
def own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A segment cache of the test's own (counts don't depend on what other tests cached)."""
    return use_own_cache(monkeypatch, tmp_path)


def posts() -> list[Post]:
    return [Post("/p/breakfast.html", "早餐的学问", "2026-11-18", short_body("早餐")),
            Post("/p/nap.html", "午睡的好处", "2026-11-19", short_body("午睡")),
            Post("/p/dinner.html", "晚饭吃什么", "2026-11-20", short_body("晚饭"))]


def publish(web: WebServer, site: list[Post], kind: str = "rss") -> str:
    for post in site:
        web.page(post.path, post.html())
    if kind == "rss":
        return web.page("/feed.xml", rss_feed(web.base, site), content_type="application/rss+xml")
    return web.page("/atom.xml", atom_feed(web.base, site), content_type="application/atom+xml")


def follow(url: str, out: Path, limit: int = 10) -> FollowReport:
    (report,) = follow_feeds([url], Config(), load_profile("default"), "local", out, limit)
    return report


def statuses(report: FollowReport) -> dict[str, str]:
    return {o.title: o.status for o in report.outcomes}


def manifests(out: Path) -> dict[str, dict]:
    """title → render.json of each episode."""
    found = {}
    for path in (out / "state").glob("*/render.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        found[data["title"]] = data
    return found


def feed_titles(out: Path) -> list[str]:
    parsed = feedparser.parse((out / "site" / "feed.rss").read_bytes())
    return [e.title for e in parsed.entries]


@pytest.mark.slow
def test_follow_twice_edit_one_sentence_new_entry_left_feed_retired(web: WebServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    site = posts()
    url = publish(web, site)

    first = follow(url, out)
    assert statuses(first) == {"晚饭吃什么": "new", "午睡的好处": "new", "早餐的学问": "new"}
    assert [o.title for o in first.outcomes] == ["晚饭吃什么", "午睡的好处", "早餐的学问"]  # newest first
    assert feed_titles(out) == ["晚饭吃什么", "午睡的好处", "早餐的学问"]
    rendered = manifests(out)
    assert {m["source"] for m in rendered.values()} == {web.url(p.path) for p in site}
    narrated = [c["cues"] for c in rendered["午睡的好处"]["chapters"]]
    assert "".join(cue[2] for cues in narrated for cue in cues) == "午睡的好处" + "".join(expected_blocks(site[1].body))
    states = {p: p.stat().st_mtime_ns for p in (out / "state").rglob("*.json")}
    feed_file = (out / "site" / "feed.rss").stat().st_mtime_ns

    second = follow(url, out)  # nothing changed: nothing rendered, nothing rewritten
    assert set(statuses(second).values()) == {"unchanged"}
    assert {p: p.stat().st_mtime_ns for p in (out / "state").rglob("*.json")} == states
    assert (out / "site" / "feed.rss").stat().st_mtime_ns == feed_file
    assert all(s.status == 304 for s in web.fetches("/p/nap.html")[1:])  # asked only whether it changed

    site[1].body = [("p", "今天我们聊一聊午睡。午睡能让下午更有精神。"), site[1].body[1]]  # one sentence edited
    web.page(site[1].path, site[1].html())
    third = follow(url, out)
    assert statuses(third) == {"晚饭吃什么": "unchanged", "午睡的好处": "updated", "早餐的学问": "unchanged"}
    changes = manifests(out)["午睡的好处"]["changes"]
    assert (changes["sentences_changed"], changes["segments_synthesized"]) == (1, 1)
    assert manifests(out)["午睡的好处"]["guid"] == rendered["午睡的好处"]["guid"]

    site = [*site[1:], Post("/p/walk.html", "饭后散步", "2026-11-21", short_body("散步"))]  # one new, one gone
    url = publish(web, site)
    fourth = follow(url, out)
    assert statuses(fourth) == {"饭后散步": "new", "晚饭吃什么": "unchanged", "午睡的好处": "unchanged"}
    assert fourth.left_feed == ["早餐的学问"]  # said, not retired
    assert feed_titles(out) == ["饭后散步", "晚饭吃什么", "午睡的好处", "早餐的学问"]

    retire_episode(open_workspace(out), web.url("/p/walk.html"))
    fifth = follow(url, out)
    assert statuses(fifth)["饭后散步"] == "retired"
    assert "饭后散步" not in manifests(out)


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_full_content_entries_fetch_no_page_and_limit_takes_the_newest(web: WebServer, tmp_path: Path,
                                                                       kind: str) -> None:
    site = posts()
    for post in site:
        post.full = True
    url = publish(web, site, kind)
    report = follow(url, tmp_path / "out", limit=2)
    assert statuses(report) == {"晚饭吃什么": "new", "午睡的好处": "new"}
    assert report.beyond_limit == 1
    assert not any(s.path.startswith("/p/") for s in web.seen)  # the feed had it all
    data = manifests(tmp_path / "out")["晚饭吃什么"]
    heard = "".join(cue[2] for c in data["chapters"] for cue in c["cues"])
    assert heard == "晚饭吃什么" + "".join(expected_blocks(site[2].body))
    assert data["date"] == "2026-11-20"
    assert data["author"] == ("陳美玲" if kind == "atom" else "")  # the RSS names none
    assert "分享" not in heard  # the share link inside content:encoded


def test_a_failing_entry_does_not_stop_the_others(web: WebServer, tmp_path: Path) -> None:
    site = posts()
    url = publish(web, site)
    del web.routes["/p/nap.html"]  # the feed links to a page that is gone
    report = follow(url, tmp_path / "out")
    assert statuses(report) == {"晚饭吃什么": "new", "午睡的好处": "failed", "早餐的学问": "new"}
    failed = next(o for o in report.outcomes if o.status == "failed")
    assert "HTTP 404" in failed.detail and report.failed


@pytest.mark.parametrize(
    ("case", "needle"),
    [("not-a-feed", "not an RSS or Atom feed"), ("404", "HTTP 404"), ("bad-config", "[follow] feeds")],
)
def test_feed_errors(web: WebServer, tmp_path: Path, case: str, needle: str) -> None:
    from audiobook.config import load_config
    from audiobook.errors import ConfigError

    if case == "bad-config":
        path = tmp_path / "audiobook.toml"
        path.write_text('[follow]\nfeeds = ["example.com/feed"]\n', encoding="utf-8")
        with pytest.raises(ConfigError, match=r"\[follow\] feeds"):
            load_config(path)
        return
    url = web.page("/page.html", "<html><body><p>不是订阅源</p></body></html>") if case == "not-a-feed" \
        else web.url("/gone.xml")
    report = follow(url, tmp_path / "out")
    assert needle in report.error and "\n" not in report.error
    assert not (tmp_path / "out" / "site").exists()  # nothing half-written


def test_config_follow_section_defaults() -> None:
    assert FollowConfig().limit == 10 and FollowConfig().feeds == []


def test_watch_polls_the_feeds(web: WebServer, tmp_path: Path) -> None:
    import threading

    from audiobook.cli.watch import watch_articles

    site = posts()[:1]
    url = publish(web, site)
    stop, seen, errors = threading.Event(), [], []

    def poll() -> None:
        (report,) = follow_feeds([url], Config(), load_profile("default"), "local", tmp_path / "out")
        seen.append(statuses(report))
        if len(seen) == 1:  # the site publishes an article before the next poll
            publish(web, [*site, Post("/p/walk.html", "饭后散步", "2026-11-21", short_body("散步", 1))])
        if len(seen) == 3:
            stop.set()

    def run() -> None:
        try:
            watch_articles([], lambda _a: None, lambda _e: None, stop_event=stop, poll=poll, poll_every_s=0.2)
        except Exception as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
            stop.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(120)
    assert not thread.is_alive() and not errors
    assert seen == [{"早餐的学问": "new"}, {"饭后散步": "new", "早餐的学问": "unchanged"},
                    {"饭后散步": "unchanged", "早餐的学问": "unchanged"}]
