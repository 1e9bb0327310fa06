"""`audiobook serve` end to end: a real server process on a free port, real HTTP, real MP3s.
Checks what podcast apps need (podcast-standards §1.4, §7.20), that nothing outside the site can
be read, and that serving writes nothing: the feed and pages for its own address come from memory."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from lxml import etree

from audiobook.audio.ffmpeg import decode_pcm
from audiobook.cli.serve import Forbidden, resolve_request
from audiobook.config import Config, ShowConfig
from audiobook.publish.feed import NS
from audiobook.publish.website import build_site
from audiobook.store.workspace import Workspace
from tests.support.shows import make_article, manifest_of, rerender

SECRET = "top secret: must never be served"


@contextlib.contextmanager
def serving(root: Path, config: Path, cwd: Path) -> Iterator[str]:
    """The base URL of `python -m audiobook.serve ROOT` running on a free port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "audiobook.cli.serve", str(root), "--port", "0", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = proc.stdout.readline()  # printed once the socket listens
        match = re.search(r"subscribe to (http://\S+)", line)
        stderr = proc.stderr.read() if proc.poll() is not None else ""
        assert match, f"no feed URL announced: {line!r} {stderr}"
        assert f"the show's page: {match.group(1).rsplit('/', 1)[0]}/ " in line
        yield match.group(1).rsplit("/", 1)[0] + "/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def write_config(folder: Path) -> Path:
    config = folder / "audiobook.toml"
    config.write_text('[show]\nowner_email = "me@example.com"\ncategory = "Arts"\n'
                      'base_url = "https://podcast.example.com/"\n', encoding="utf-8")
    return config


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(base URL, site folder) of a running `python -m audiobook.serve OUTPUT`."""
    tmp = tmp_path_factory.mktemp("serve")
    outside = tmp / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET, encoding="utf-8")
    root = tmp / "output"
    make_article(root, "茶与代码", [("开篇", 1.5), ("结语", 1.2)])
    (root / "site" / "link-out.txt").symlink_to(outside / "secret.txt")
    (root / "site" / "dir-out").symlink_to(outside, target_is_directory=True)
    (root / "site" / ".hidden.mp3").write_bytes(b"hidden")
    with serving(root, write_config(tmp), tmp) as base:
        yield base, root / "site"


def request(base: str, method: str, path: str, headers: dict[str, str] | None = None
            ) -> tuple[int, dict[str, str], bytes]:
    """One request with the path sent exactly as given (http.client doesn't normalise it)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def raw_request(base: str, target: str) -> int:
    """Send a request line byte for byte (no client-side clean-up at all); return the status."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert SECRET.encode() not in data
    return int(data.split(b" ", 2)[1])


def feed(base: str) -> etree._Element:
    status, headers, body = request(base, "GET", "/feed.rss")
    assert status == 200
    assert headers["content-type"] == "application/rss+xml; charset=utf-8"
    return etree.fromstring(body)


def enclosures(base: str) -> list[tuple[str, int]]:
    items = feed(base).findall("channel/item")
    return [(urlsplit(e.get("url")).path + "?" + urlsplit(e.get("url")).query, int(e.get("length")))
            for e in (i.find("enclosure") for i in items)]


def test_feed_points_at_the_served_address(site: tuple[str, Path]) -> None:
    base, _ = site
    ch = feed(base).find("channel")
    assert ch.find(f"{{{NS['atom']}}}link").get("href") == base + "feed.rss"
    for item in ch.findall("item"):
        assert item.find("enclosure").get("url").startswith(base)


def test_enclosures_answer_head_and_byte_ranges(site: tuple[str, Path]) -> None:
    base, _ = site
    for path, length in enclosures(base):
        status, headers, body = request(base, "HEAD", path)
        assert (status, body) == (200, b"")
        assert headers["content-type"] == "audio/mpeg"
        assert int(headers["content-length"]) == length
        assert headers["accept-ranges"] == "bytes"
        status, headers, body = request(base, "GET", path, {"Range": "bytes=0-1"})
        assert status == 206 and len(body) == 2
        assert headers["content-range"] == f"bytes 0-1/{length}"
        status, _, full = request(base, "GET", path)
        assert status == 200 and len(full) == length and full[:2] == body
        assert len(decode_pcm(full, 44100)) > 44100  # a real, decodable MP3 came over the wire


@pytest.mark.parametrize(("range_header", "expected"), [
    ("bytes=0-1", (0, 2)), ("bytes=10-", (10, None)), ("bytes=-5", (-5, None)), ("bytes=100-199", (100, 200)),
], ids=["first-two", "open-ended", "suffix", "middle"])
def test_range_forms(site: tuple[str, Path], range_header: str, expected: tuple[int, int | None]) -> None:
    base, root = site
    path, length = enclosures(base)[0]
    data = (root / "茶与代码" / "茶与代码.mp3").read_bytes()
    status, headers, body = request(base, "GET", path, {"Range": range_header})
    assert status == 206
    assert body == data[slice(*expected)]
    first = expected[0] % length
    assert headers["content-range"] == f"bytes {first}-{first + len(body) - 1}/{length}"


def test_unsatisfiable_range_is_416(site: tuple[str, Path]) -> None:
    base, _ = site
    path, length = enclosures(base)[0]
    status, headers, _ = request(base, "GET", path, {"Range": f"bytes={length + 10}-"})
    assert status == 416
    assert headers["content-range"] == f"bytes */{length}"


@pytest.mark.parametrize(("suffix", "content_type"), [
    ("cover.jpg", "image/jpeg"),
    ("茶与代码.chapters.json", "application/json+chapters"),
    ("茶与代码.vtt", "text/vtt; charset=utf-8"),
    ("茶与代码.srt", "application/x-subrip; charset=utf-8"),
])
def test_sidecars_have_their_content_types(site: tuple[str, Path], suffix: str, content_type: str) -> None:
    base, _ = site
    from urllib.parse import quote
    status, headers, _ = request(base, "HEAD", "/" + quote("茶与代码") + "/" + quote(suffix))
    assert status == 200
    assert headers["content-type"] == content_type
    assert headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("target", [
    "/../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "/..%5c..%5cetc%5cpasswd",
    "//etc/passwd",
    "/%E8%8C%B6%E4%B8%8E%E4%BB%A3%E7%A0%81/../../outside/secret.txt",
    "/./feed.rss",
    "/link-out.txt",
    "/dir-out/secret.txt",
    "http://x/../outside/secret.txt",
    "/etc/passwd%00.mp3",
], ids=["dotdot", "encoded-dotdot", "encoded-slashes", "backslashes", "double-slash", "dotdot-after-folder",
        "dot", "file-symlink-out", "dir-symlink-out", "absolute-form", "nul"])
def test_no_way_out_of_the_root(site: tuple[str, Path], target: str) -> None:
    base, _ = site
    assert raw_request(base, target) in (400, 403, 404)


@pytest.mark.parametrize(("path", "status"), [
    ("/%E8%8C%B6%E4%B8%8E%E4%BB%A3%E7%A0%81/", 200),
    ("/%E8%8C%B6%E4%B8%8E%E4%BB%A3%E7%A0%81", 301),
    ("/%E8%8C%B6%E4%B8%8E%E4%BB%A3%E7%A0%81/render.json", 404),
    ("/.hidden.mp3", 404),
    ("/nope.mp3", 404),
    ("/" + "x" * 300 + ".mp3", 404),
    ("/dir-out/", 403),
], ids=["folder-page", "folder-without-slash", "render-json", "hidden", "missing", "name-too-long", "no-listing"])
def test_pages_not_listings_or_bookkeeping(site: tuple[str, Path], path: str, status: int) -> None:
    base, _ = site
    got, headers, body = request(base, "GET", path)
    assert got == status
    if status == 200:
        assert headers["content-type"] == "text/html; charset=utf-8" and b"<audio" in body
    if status == 301:
        assert headers["location"] == path + "/"


def test_root_is_the_show_page(site: tuple[str, Path]) -> None:
    base, _ = site
    status, headers, body = request(base, "GET", "/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    page = body.decode()
    assert 'href="feed.rss"' in page and f'value="{base}feed.rss"' in page  # the feed for this address
    assert 'href="%E8%8C%B6%E4%B8%8E%E4%BB%A3%E7%A0%81/index.html"' in page


def test_only_get_and_head(site: tuple[str, Path]) -> None:
    base, _ = site
    assert request(base, "POST", "/feed.rss")[0] == 405


def test_200_concurrent_range_requests(site: tuple[str, Path]) -> None:
    base, root = site
    path, length = enclosures(base)[0]
    data = (root / "茶与代码" / "茶与代码.mp3").read_bytes()
    rng = random.Random(5)
    starts = [rng.randrange(length) for _ in range(200)]
    ranges = [(a, min(length - 1, a + rng.randrange(1, 4096))) for a in starts]

    async def fetch_all() -> list[tuple[int, str, bytes]]:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            async def one(a: int, b: int) -> tuple[int, str, bytes]:
                async with session.get(base + path.lstrip("/"), headers={"Range": f"bytes={a}-{b}"}) as resp:
                    return resp.status, resp.headers["Content-Range"], await resp.read()

            return await asyncio.wait_for(asyncio.gather(*(one(a, b) for a, b in ranges)), timeout=60)

    started = time.monotonic()
    results = asyncio.run(fetch_all())
    assert time.monotonic() - started < 60
    for (a, b), (status, content_range, body) in zip(ranges, results, strict=True):
        assert status == 206
        assert content_range == f"bytes {a}-{b}/{length}"
        assert body == data[a:b + 1]


def test_feed_follows_rerenders_and_outside_rewrites(site: tuple[str, Path]) -> None:
    base, root = site
    before = enclosures(base)[0]
    rerender(root / "茶与代码", seconds=2.5, freq=700)
    after = enclosures(base)[0]
    assert after != before
    assert after[1] == (root / "茶与代码" / "茶与代码.mp3").stat().st_size
    # A render that writes the site's feed for the configured base_url doesn't change the served one.
    build_site(Workspace(root.parent), Config(show=ShowConfig(base_url="https://example.com/elsewhere/")))
    assert feed(base).find("channel/item/enclosure").get("url").startswith(base)
    assert b"https://example.com/elsewhere/" in (root / "feed.rss").read_bytes()


def snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_mode)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_serving_writes_nothing(tmp_path: Path) -> None:
    """The output folder (site and state) is byte-identical after a serve that answered the feed,
    the pages and the cover for its own address: publishing afterwards still points at base_url."""
    root = tmp_path / "output"
    folder = make_article(root, "茶与代码", [("开篇", 1.5), ("结语", 1.2)])
    config = write_config(tmp_path)
    from audiobook.config import load_config
    build_site(Workspace(root), load_config(config))
    before = snapshot(root)
    with serving(root, config, tmp_path) as base:
        for path in ("/", "/feed.rss", "/show-cover.jpg", "/%E8%8C%B6%E4%B8%8E%E4%BB%A3%E7%A0%81/"):
            status, _, body = request(base, "GET", path)
            assert status == 200, path
        assert base.encode() in request(base, "GET", "/feed.rss")[2]
        rerender(folder, seconds=2.5, freq=700)  # a render meanwhile: served anew, still nothing written
        before = snapshot(root)
        assert base.encode() in request(base, "GET", "/feed.rss")[2]
    assert snapshot(root) == before
    assert b"https://podcast.example.com/" in (root / "site" / "feed.rss").read_bytes()
    assert manifest_of(folder).is_file()


# --- the path check on its own -------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "书").mkdir(parents=True)
    (root / "书" / "01-开篇.mp3").write_bytes(b"x")
    (tmp_path / "secret").write_text(SECRET)
    (root / "书" / "up").symlink_to(tmp_path / "secret")
    (root / "书" / "same.mp3").symlink_to(root / "书" / "01-开篇.mp3")
    return root.resolve()


@pytest.mark.parametrize(("raw", "expected"), [
    ("/%E4%B9%A6/01-%E5%BC%80%E7%AF%87.mp3", "书/01-开篇.mp3"),
    ("/%E4%B9%A6/01-%E5%BC%80%E7%AF%87.mp3?v=abc#x", "书/01-开篇.mp3"),
    ("/%E4%B9%A6/same.mp3", "书/01-开篇.mp3"),
    ("/%E4%B9%A6/", None),
    ("/", None),
    ("/%E4%B9%A6/%FF.mp3", None),
    ("/%E4%B9%A6/.01.mp3", None),
], ids=["chinese", "query-and-fragment", "symlink-inside", "dir", "root", "bad-utf8", "hidden"])
def test_resolve_request(tree: Path, raw: str, expected: str | None) -> None:
    assert resolve_request(tree, raw) == (tree / expected if expected else None)


@pytest.mark.parametrize("raw", ["/%E4%B9%A6/up", "/../secret", "/%2e%2e/secret", "/a/%2F/b", "//secret",
                                 "relative", "/C:/x", "/%E4%B9%A6/%5C..%5Csecret"])
def test_resolve_request_refuses(tree: Path, raw: str) -> None:
    with pytest.raises(Forbidden):
        resolve_request(tree, raw)


def test_chapters_json_served_is_the_file(site: tuple[str, Path]) -> None:
    base, root = site
    item = feed(base).find("channel/item")
    url = item.find(f"{{{NS['podcast']}}}chapters").get("url")
    status, _, body = request(base, "GET", url[len(base) - 1:])
    assert status == 200
    assert json.loads(body) == json.loads((root / "茶与代码" / "茶与代码.chapters.json").read_text("utf-8"))


# --- RFC 9110 range quirks and idle connections ----------------------------------------------------


def _etag_and_date(base: str, path: str) -> tuple[str, str]:
    _, headers, _ = request(base, "HEAD", path)
    return headers["etag"], headers["last-modified"]


@pytest.mark.parametrize(("range_header", "status"), [
    ("bytes=0-1,5-6", 200),  # several ranges: the whole file, not a 416 (multipart is optional)
    ("bytes=0-1, 5-6", 200),
    ("bytes=5-2", 200),  # last before first: an invalid range is ignored
    ("bytes=abc", 200),
    ("items=0-1", 200),  # a unit we don't know is ignored
    ("bytes=-0", 416),  # a zero-byte suffix is unsatisfiable
    ("bytes=0-0", 206),
], ids=["multi", "multi-spaced", "backwards", "garbage", "other-unit", "empty-suffix", "one-byte"])
def test_range_edge_cases(site: tuple[str, Path], range_header: str, status: int) -> None:
    base, root = site
    path, length = enclosures(base)[0]
    got, headers, body = request(base, "GET", path, {"Range": range_header})
    assert got == status
    if status == 200:
        assert len(body) == length
    if status == 416:
        assert headers["content-range"] == f"bytes */{length}"


def test_if_range_sends_the_range_only_while_the_file_is_unchanged(site: tuple[str, Path]) -> None:
    base, _ = site
    path, length = enclosures(base)[0]
    etag, modified = _etag_and_date(base, path)
    for condition, expected in ((etag, 206), (modified, 206), ('"another"', 200), (f"W/{etag}", 200),
                                ("Mon, 01 Jan 2001 00:00:00 GMT", 200)):
        status, _, body = request(base, "GET", path, {"Range": "bytes=0-1", "If-Range": condition})
        assert (status, len(body)) == (expected, 2 if expected == 206 else length), condition


def test_idle_and_trickling_connections_are_closed(tmp_path: Path) -> None:
    root = tmp_path / "output"
    make_article(root, "茶", [("开篇", 1.0)])
    proc = subprocess.Popen([sys.executable, "-m", "audiobook.cli.serve", str(root), "--port", "0", "--idle-timeout",
                             "1.5", "--config", str(write_config(tmp_path))], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        port = int(re.search(r":(\d+);", proc.stdout.readline()).group(1))
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"GET / HTTP/1.1\r\n")
        started = time.monotonic()
        for _ in range(4):  # a header line now and then never completes the request
            time.sleep(0.5)
            with contextlib.suppress(OSError):
                slow.sendall(b"X-Slow: 1\r\n")
        for sock in [*idle, slow]:
            sock.settimeout(10)
            try:
                data = sock.recv(100)
            except ConnectionResetError:
                data = b""
            assert data == b"" or data.startswith(b"HTTP/1.1 4"), data  # closed (maybe with a 408)
            sock.close()
        assert time.monotonic() - started < 8
        assert request(f"http://127.0.0.1:{port}/", "GET", "/feed.rss")[0] == 200  # still serving
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
