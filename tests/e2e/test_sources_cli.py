"""`render URL` and `follow` as a user runs them: subprocesses against a loopback web server; bad
input is one line on stderr, exit 1, and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import assert_one_line_error, run
from tests.support.web import Post, Route, WebServer, cn_news_page, rss_feed, short_body


def config_file(tmp_path: Path, text: str = "") -> Path:
    path = tmp_path / "audiobook.toml"
    path.write_text("[fetch]\ntimeout_s = 1\nmax_mb = 1\n" + text, encoding="utf-8")
    return path


def test_render_url_dry_run_json_shows_sources_and_dropped(web: WebServer) -> None:
    url = web.page("/news/night.html", cn_news_page())
    proc = run("render", url, "--dry-run", "--json", "--engine", "local")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["source"] == url and plan["title"] == "城市里的夜跑者"
    assert [c["source"] for c in plan["chapters"]] == [url] * 3
    assert {"html:comments", "html:related", "html:share"} <= {d["rule"] for d in plan["dropped"]}


def test_render_url_then_again_fetches_conditionally_and_synthesizes_nothing(web: WebServer, tmp_path: Path) -> None:
    url = web.page("/p/nap.html", Post("/p/nap.html", "午睡的好处", "2026-11-19", short_body("午睡")).html())
    out = tmp_path / "out"
    first = run("render", url, "--engine", "local", "-o", str(out))
    assert first.returncode == 0, first.stderr
    again = run("render", url, "--engine", "local", "-o", str(out))
    assert again.returncode == 0, again.stderr
    assert "0 synthesized" in again.stdout
    assert [s.status for s in web.fetches("/p/nap.html")] == [200, 304]
    (identity,) = [json.loads(p.read_text(encoding="utf-8")) for p in (out / "state").glob("*/episode.json")]
    assert identity["source"] == url


@pytest.mark.slow
def test_bad_urls_fail_in_one_line_and_write_nothing(web: WebServer, tmp_path: Path) -> None:
    web.routes["/slow"] = Route(cn_news_page().encode(), delay_s=10)
    web.routes["/doc.pdf"] = Route(b"%PDF-1.4", "application/pdf")
    web.routes["/huge"] = Route(b"<html><body><p>" + "很长。".encode() * 600_000 + b"</p></body></html>", length=False)
    cfg = config_file(tmp_path)
    out = tmp_path / "out"
    for path, needle in (("/nope.html", "HTTP 404"), ("/slow", "no answer within 1 s"),
                         ("/doc.pdf", "not a web page"), ("/huge", "MB limit")):
        proc = run("render", web.url(path), "--engine", "local", "-c", str(cfg), "-o", str(out), timeout=60)
        assert_one_line_error(proc, needle, web.url(path))
    assert not out.exists()


@pytest.mark.slow
def test_follow_cli(web: WebServer, tmp_path: Path) -> None:
    posts = [Post("/p/a.html", "早餐的学问", "2026-11-18", short_body("早餐", 1)),
             Post("/p/b.html", "午睡的好处", "2026-11-19", short_body("午睡", 1))]
    for post in posts:
        web.page(post.path, post.html())
    feed = web.page("/feed.xml", rss_feed(web.base, posts), content_type="application/rss+xml")
    cfg = config_file(tmp_path, f'[follow]\nfeeds = ["{feed}"]\nlimit = 5\n')
    out = tmp_path / "out"
    assert_one_line_error(run("follow", "-o", str(out)), "no feed to follow")  # no config here: nothing to follow
    del web.routes["/p/a.html"]
    proc = run("follow", "--engine", "local", "-c", str(cfg), "-o", str(out))  # feeds from the config
    assert_one_line_error(proc, "1 of 1 feeds had errors")
    assert "failed    早餐的学问" in proc.stdout and "new       午睡的好处" in proc.stdout
    web.page(posts[0].path, posts[0].html())
    proc = run("follow", feed, "--engine", "local", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "new       早餐的学问" in proc.stdout and "unchanged 午睡的好处" in proc.stdout
    dry = run("follow", feed, "--engine", "local", "-o", str(out), "--dry-run")
    assert dry.returncode == 0 and "2 unchanged" in dry.stdout
