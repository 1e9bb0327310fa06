"""`audiobook publish DEST` the way a user publishes: render, publish into a folder, and fetch the
show as somebody else would, through stock nginx whose workers run as another user; a podcast app
(gPodder) subscribes through it and keeps one episode when the title changes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import feedparser
import pytest

from audiobook.config import load_config, load_profile
from audiobook.errors import PublishError
from audiobook.publish.deploy import publish_site, site_names
from audiobook.render.pipeline import render
from audiobook.store.workspace import open_workspace
from tests.support.stockhost import needs_nginx, nginx_serving, public_folder, readable_by_others

pytestmark = pytest.mark.slow  # drives a stock web server and a podcast app

ARTICLE = "---\ntitle: {title}\nauthor: 林晓\n---\n\n## 第一章\n\n第一句话。第二句话。\n\n## 第二章\n\n{last}\n"


@dataclass
class Show:
    out: Path  # the output folder (site + state)
    dest: Path  # the published folder nginx serves
    url: str  # where nginx serves it
    article: Path
    config: Path
    tmp: Path


def cli(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "audiobook", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=120, umask=0o022)


def write(show: Show, title: str = "茶与代码", last: str = "最后一句。") -> None:
    show.article.write_text(ARTICLE.format(title=title, last=last), encoding="utf-8")


def render_and_publish(show: Show) -> subprocess.CompletedProcess[str]:
    rendered = cli("render", show.article, "--engine", "local", "-o", show.out, "-c", show.config, cwd=show.tmp)
    assert rendered.returncode == 0, rendered.stderr
    published = cli("publish", show.dest, "-o", show.out, "-c", show.config, cwd=show.tmp)
    assert published.returncode == 0, published.stderr
    return published


@pytest.fixture
def show(tmp_path: Path) -> Iterator[Show]:
    with public_folder() as dest, nginx_serving(dest) as url:
        config = tmp_path / "audiobook.toml"
        config.write_text(f'[show]\ntitle = "夜读"\nbase_url = "{url}"\nowner_email = "me@example.com"\n',
                          encoding="utf-8")
        yield Show(tmp_path / "out", dest, url, tmp_path / "article.md", config, tmp_path)


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {}, b""


@needs_nginx
def test_a_published_show_is_served_by_a_stock_host_as_another_user(show: Show) -> None:
    write(show)
    published = render_and_publish(show)
    assert published.stdout.splitlines()[-1] == f"subscribe: {show.url}feed.rss"
    assert f"show page: {show.url}" in published.stdout

    parsed = feedparser.parse(show.url + "feed.rss")  # over HTTP, with nginx's own Content-Type
    assert parsed.status == 200 and not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.headers["content-type"] == "application/rss+xml"
    [entry] = parsed.entries
    urls = [entry.enclosures[0].href, entry.link, parsed.feed.image.href, entry.image.href,
            *(link.href for link in entry.get("podcast_transcript", []) if hasattr(link, "href"))]
    assert entry.link == show.url + quote("茶与代码") + "/index.html"
    for url in urls:
        assert fetch(url)[0] == 200, url
    status, headers, body = fetch(entry.enclosures[0].href, {"Range": "bytes=0-1"})
    assert status == 206 and len(body) == 2 and headers["content-type"] == "audio/mpeg"
    assert headers["content-range"].endswith(f"/{entry.enclosures[0].length}")
    status, headers, page = fetch(show.url)  # the show's page at the channel link
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert parsed.feed.link == show.url and b'href="feed.rss"' in page
    for name in site_names(show.dest):  # every file: captions, chapters JSON, covers, pages, audio
        assert fetch(show.url + "/".join(quote(p) for p in name.split("/")))[0] == 200, name


@needs_nginx
def test_published_files_are_world_readable_and_hold_nothing_private(show: Show) -> None:
    write(show)
    render_and_publish(show)
    names = site_names(show.dest)
    assert {"feed.rss", "index.html", "show-cover.jpg"} <= set(names)
    assert all(not any(part.startswith(".") or part in ("render.json", "episode.json", "state", "render.lock")
                       for part in name.split("/")) for name in names)
    for path in [show.dest, *show.dest.rglob("*")]:
        assert readable_by_others(path), path
        if path.is_file():
            assert oct(path.stat().st_mode & 0o777) == "0o644", path
            data = path.read_bytes()
            for secret in (str(show.tmp), str(show.article.resolve())):
                assert secret.encode() not in data and secret.encode("utf-16-le") not in data, path
        else:
            assert oct(path.stat().st_mode & 0o777) == "0o755", path


@needs_nginx
def test_republishing_copies_what_changed_feed_last_and_deletes_what_is_gone(show: Show) -> None:
    write(show)
    render_and_publish(show)
    foreign = show.dest / "robots.txt"  # someone else's file in the web root
    foreign.write_text("User-agent: *\n")
    again = cli("publish", show.dest, "-o", show.out, "-c", show.config, cwd=show.tmp)
    assert "0 files copied" in again.stdout and "left alone: 1 files" in again.stdout

    write(show, last="改过的最后一句。")
    edited = render_and_publish(show)
    copied = [line.split(" ", 2)[2] for line in edited.stdout.splitlines() if line.startswith("copied ")] or \
        [line.split(" ", 2)[2] for line in edited.stderr.splitlines() if line.startswith("copied ")]
    assert copied[-1] == "feed.rss" and copied[-2] == "index.html"  # the feed names nothing not yet there
    assert "茶与代码/02-第二章.mp3" in copied and "茶与代码/01-第一章.mp3" not in copied

    write(show, title="新的题目", last="改过的最后一句。")
    renamed = render_and_publish(show)
    assert not (show.dest / "茶与代码").exists() and (show.dest / "新的题目" / "新的题目.mp3").is_file()
    assert "deleted" in renamed.stdout and foreign.read_text() == "User-agent: *\n"
    [entry] = feedparser.parse(show.url + "feed.rss").entries
    assert fetch(entry.enclosures[0].href)[0] == 200


def test_publish_refuses_a_destination_inside_the_output_folder(tmp_path: Path) -> None:
    article = tmp_path / "a.md"
    article.write_text("---\ntitle: 一篇\n---\n\n一句话。\n", encoding="utf-8")
    render(article, load_config(None), load_profile("default"), "local", tmp_path / "out")
    ws = open_workspace(tmp_path / "out")
    for dest in (tmp_path / "out" / "site" / "copy", tmp_path):
        with pytest.raises(PublishError, match="one holds the other"):
            publish_site(ws, load_config(None), dest)
    failed = cli("publish", tmp_path / "out" / "public", "-o", tmp_path / "out", cwd=tmp_path)
    assert failed.returncode == 1 and failed.stderr.startswith("error:") and "Traceback" not in failed.stderr
    empty = cli("publish", tmp_path / "www", "-o", tmp_path / "nothing-here", cwd=tmp_path)
    assert empty.returncode == 1 and "render an article" in empty.stderr


GPO = shutil.which("gpo")


@needs_nginx
@pytest.mark.skipif(GPO is None, reason="gPodder is not installed (apt-get install gpodder; .ci/run does)")
def test_gpodder_keeps_one_episode_when_the_title_changes(show: Show) -> None:
    env = {**os.environ, "GPODDER_HOME": str(show.tmp / "gpodder"), "GPODDER_DOWNLOAD_DIR": str(show.tmp / "dl")}

    def gpo(*args: str) -> str:
        done = subprocess.run([str(GPO), *args], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    write(show)
    render_and_publish(show)
    gpo("subscribe", show.url + "feed.rss")
    gpo("update")
    first = gpo("episodes", "--guid")
    assert "茶与代码" in first
    write(show, title="改名以后")
    render_and_publish(show)
    gpo("update")
    after = gpo("episodes", "--guid")
    episodes = [line for line in after.splitlines() if line.strip()[:2].rstrip(".").isdigit()]
    assert len(episodes) == 1 and "改名以后" in episodes[0], after
    guid = next(part for part in first.split() if part.count("-") == 4)
    assert guid in episodes[0]
