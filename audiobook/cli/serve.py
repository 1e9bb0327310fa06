"""`audiobook serve`: the show's site over HTTP, so a browser or a podcast app (on this machine or a
phone on the LAN) can open it before anything is uploaded anywhere.

It serves the site as it is on disk, except for the generated files (the feed, the show and
episode pages, the show cover), which it answers from memory, made for the address it is served
on (publish/website.py): nothing on disk is written, so what `audiobook publish` copies later still
points at `[show] base_url`. They are made again when an episode is rendered, renamed or retired.

What podcast apps need from a host (podcast-standards §1.4): GET and HEAD, byte ranges (Apple's
player opens with `Range: bytes=0-1` and rejects a 200), the right Content-Type. aiohttp's
FileResponse does the ranges, conditional requests and sendfile; this module decides which file a
request may see: only regular files inside the site, reached by a path without `..`, hidden
parts or symlinks that lead out, and never a directory listing (a folder's index.html instead).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import math
import re
import socket
import sys
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote

from aiohttp import web

from ..config import Config, load_config
from ..errors import AudiobookError, PublishError
from ..publish.pages import PAGE_FILE
from ..publish.website import site_files
from ..store.manifest import MANIFEST_FILE
from ..store.workspace import IDENTITY_FILE, Workspace, open_workspace

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".mp3": "audio/mpeg",
    ".rss": "application/rss+xml; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".json": "application/json",
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}
FEED_TYPE = "application/rss+xml; charset=utf-8"
CHAPTERS_TYPE = "application/json+chapters"  # podcast namespace: how chapters JSON should be served
MAX_NAME_BYTES = 255  # no file system has longer names: a longer segment names nothing


class Forbidden(Exception):
    """The request path tries to leave the root."""


class NoSuchName(Exception):
    """The request path can't name a file of the site (hidden, not UTF-8, too long)."""


def request_parts(raw_path: str) -> list[str]:
    """The decoded path segments of a raw request path: [""] for the root, a trailing "" for a folder.

    Works on the raw, still percent-encoded path so that `%2e%2e` or `%2f` can't slip past a
    normalisation step; raises Forbidden for anything that tries to climb out, NoSuchName for a
    segment that can't be a name in the site (temp files of atomic writes and other hidden files)."""
    path = raw_path.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/"):
        raise Forbidden(raw_path)
    raw_parts = path[1:].split("/")
    parts = []
    for n, raw in enumerate(raw_parts):
        if raw == "" and n == len(raw_parts) - 1:
            parts.append("")  # "/" or "/folder/"
            break
        try:
            part = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            raise NoSuchName(raw_path) from None
        if part in ("", ".", "..") or any(c in part for c in "/\\\0") or ":" in part[:2]:
            raise Forbidden(raw_path)  # also `//etc/passwd` (an empty segment) and `C:`-style drives
        if part.startswith(".") or len(part.encode("utf-8")) > MAX_NAME_BYTES:
            raise NoSuchName(raw_path)
        parts.append(part)
    return parts


def resolve_request(root: Path, raw_path: str) -> Path | None:
    """The file a raw request path names inside `root` (already resolved), None if there is none
    (a folder included: no listings)."""
    try:
        parts = request_parts(raw_path)
    except NoSuchName:
        return None
    return None if parts[-1] == "" else file_in(root, parts)


def file_in(root: Path, parts: list[str]) -> Path | None:
    """The regular file `parts` (checked by request_parts) names inside `root`, None if none."""
    target = root.joinpath(*parts).resolve()
    if not target.is_relative_to(root):
        raise Forbidden("/".join(parts))  # a symlink inside the root that points outside it
    return target if target.is_file() else None


class SiteServer:
    """Serves one workspace's site, its generated files made for the address it is served on."""

    def __init__(self, ws: Workspace, config: Config, base_url: str) -> None:
        self.ws = ws
        self.root = ws.site.resolve()
        self.config = config
        self.base_url = base_url
        self.generated: dict[str, bytes] = {}
        self._fingerprint: tuple[object, ...] | None = None
        self._lock = asyncio.Lock()

    def refresh(self) -> None:
        """Make the generated files again (PublishError if the show has no episode)."""
        fingerprint = self._current_fingerprint()
        self.generated = site_files(self.ws, self.config, base_url=self.base_url)
        self._fingerprint = fingerprint

    def _current_fingerprint(self) -> tuple[object, ...]:
        """Changes when an episode is rendered, renamed or retired."""
        stats = []
        paths = [*self.ws.state.glob(f"*/{MANIFEST_FILE}"), *self.ws.state.glob(f"*/{IDENTITY_FILE}")]
        for path in sorted(paths):
            try:
                st = path.stat()
            except OSError:
                continue
            stats.append((str(path), st.st_mtime_ns, st.st_size))
        return tuple(stats)

    async def _fresh(self) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            if await loop.run_in_executor(None, self._current_fingerprint) == self._fingerprint:
                return
            try:
                await loop.run_in_executor(None, self.refresh)
            except AudiobookError as exc:
                log.warning("could not make the feed and pages again (%s); serving the last ones", exc)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        headers = {"Access-Control-Allow-Origin": "*"}  # browser players fetch transcripts/chapters
        try:
            parts = request_parts(request.raw_path)
        except Forbidden:
            log.info("refused %s %r", request.method, request.raw_path)
            raise web.HTTPForbidden(text="forbidden\n") from None
        except NoSuchName:
            raise web.HTTPNotFound(text="not found\n") from None
        if parts[-1] == "":
            parts[-1] = PAGE_FILE  # a folder: its page
        name = "/".join(parts)
        if self._may_be_generated(parts):  # audio and captions come straight from disk
            await self._fresh()
        if name in self.generated:
            return self._generated(request, name, headers)
        if f"{name}/{PAGE_FILE}" in self.generated:  # an episode's folder without its slash
            raise web.HTTPMovedPermanently(request.raw_path.split("?", 1)[0] + "/")
        try:
            target = file_in(self.root, parts)
        except Forbidden:
            log.info("refused %s %r", request.method, request.raw_path)
            raise web.HTTPForbidden(text="forbidden\n") from None
        if target is None:
            raise web.HTTPNotFound(text="not found\n")
        headers["Content-Type"] = _content_type(target)
        return _SiteFile(target, headers, _with_usable_range(request, target))

    def _may_be_generated(self, parts: list[str]) -> bool:
        """A page, the feed, the show's cover, or a folder named without its slash."""
        last = parts[-1]
        if last == PAGE_FILE:
            return True
        return len(parts) == 1 and (last == self.config.feed.file or last.startswith("show-cover.") or "." not in last)

    def _generated(self, request: web.Request, name: str, headers: dict[str, str]) -> web.Response:
        body = self.generated[name]
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        content_type = FEED_TYPE if name == self.config.feed.file else _content_type(Path(name))
        headers |= {"Content-Type": content_type, "Cache-Control": "no-cache", "ETag": etag}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers=headers)


class _SiteFile(web.FileResponse):
    """A file sent with aiohttp's FileResponse (sendfile, conditional requests, one byte range),
    answering the request as _with_usable_range rewrote its Range header."""

    def __init__(self, path: Path, headers: dict[str, str], ranged: web.BaseRequest) -> None:
        super().__init__(path, headers=headers)
        self._ranged = ranged

    async def prepare(self, request: web.BaseRequest):  # type: ignore[no-untyped-def]
        return await super().prepare(self._ranged)


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _with_usable_range(request: web.Request, path: Path) -> web.BaseRequest:
    """The request with the Range header RFC 9110 says to act on (§14.2, §13.1.5): none when it
    is malformed, asks for several ranges (served whole rather than as multipart), or comes with
    an If-Range that doesn't match the file (a strong ETag, or the exact Last-Modified date); a
    suffix of zero bytes is unsatisfiable (416)."""
    value = request.headers.get("Range")
    if value is None:
        return request
    match = _RANGE.match(value.replace(" ", ""))
    usable = match is not None and (match[1] or match[2]) != "" and _if_range_matches(request, path)
    if usable and match and match[1] and match[2] and int(match[1]) > int(match[2]):
        usable = False  # last before first: an invalid range, ignored
    if usable and match and not match[1] and int(match[2]) == 0:
        raise web.HTTPRequestRangeNotSatisfiable(headers={"Content-Range": f"bytes */{path.stat().st_size}"})
    if usable:
        return request
    headers = request.headers.copy()
    headers.popall("Range", None)
    headers.popall("If-Range", None)
    return request.clone(headers=headers)


def _if_range_matches(request: web.Request, path: Path) -> bool:
    condition = request.headers.get("If-Range")
    if condition is None:
        return True
    st = path.stat()
    if condition.startswith(('"', "W/")):  # a weak ETag never matches
        return condition == f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
    return condition == formatdate(math.ceil(st.st_mtime), usegmt=True)  # as FileResponse's Last-Modified


def _content_type(path: Path) -> str:
    if path.name.endswith(".chapters.json"):
        return CHAPTERS_TYPE
    return CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


def make_app(server: SiteServer) -> web.Application:
    app = web.Application()
    # One catch-all route for GET (aiohttp answers HEAD for GET routes): routing never normalises paths.
    app.router.add_get("/{tail:.*}", server.handle)
    return app


def served_base_url(host: str, port: int) -> str:
    """The URL clients use: a wildcard bind is reached through this machine's LAN address."""
    if host in ("0.0.0.0", "::", ""):
        host = _lan_address()
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def _lan_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # UDP connect sends nothing; it only picks a route
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


IDLE_TIMEOUT_S = 15.0  # a connection with no complete request for this long is closed


def serve(output: Path, host: str = "127.0.0.1", port: int = 8000, base_url: str | None = None,
          config: Config | None = None, announce: Callable[[str], None] = print,
          idle_timeout_s: float = IDLE_TIMEOUT_S) -> None:
    """Serve the site of the output folder `output` until interrupted. Port 0 picks a free port.
    The feed and pages are made for `base_url` (default: the served address), and again whenever
    an episode is rendered; `announce` is told the page and feed URLs once the socket listens.
    Idle connections (also ones trickling a request's headers) are closed after `idle_timeout_s`."""
    config = config or load_config()
    ws = open_workspace(output)
    if not ws.site.is_dir():
        raise PublishError(f"no site in {output}; render an article into it first")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(512)
    except OSError as exc:
        sock.close()
        raise PublishError(f"can't listen on {host}:{port} ({exc.strerror or exc}); "
                           "pick another --port") from exc
    base = base_url or served_base_url(host, sock.getsockname()[1])
    if not base.endswith("/"):
        base += "/"
    server = SiteServer(ws, config, base)
    try:
        server.refresh()
    except BaseException:
        sock.close()
        raise
    announce(f"serving {ws.site} on {host}:{sock.getsockname()[1]}; the show's page: {base} ; "
             f"subscribe to {base}{config.feed.file}")
    web.run_app(make_app(server), sock=sock, print=None, access_log=None, handle_signals=True,
                keepalive_timeout=idle_timeout_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audiobook.serve", description=serve.__doc__)
    parser.add_argument("output", type=Path, nargs="?", default=Path("output"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT_S)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s", stream=sys.stderr)
    try:
        serve(args.output, args.host, args.port, args.base_url, load_config(args.config),
              announce=lambda line: print(line, flush=True), idle_timeout_s=args.idle_timeout)
    except AudiobookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
