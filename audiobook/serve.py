"""`audiobook serve`: the output folder over HTTP, so a podcast app (on this machine or a phone on
the LAN) can subscribe to the feed before anything is uploaded anywhere.

What podcast apps need from a host (podcast-standards §1.4): GET and HEAD, byte ranges (Apple's
player opens with `Range: bytes=0-1` and rejects a 200), the right Content-Type. aiohttp's
FileResponse does the ranges, conditional requests and sendfile; this module decides which file a
request may see: only regular files inside the root, reached by a path without `..`, hidden
parts or symlinks that lead out, and never a directory listing.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

from aiohttp import web

from .config import Config, load_config
from .errors import AudiobookError, PublishError
from .publish.feed import build_feed

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".mp3": "audio/mpeg",
    ".xml": "application/xml",
    ".json": "application/json",
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}
FEED_TYPE = "application/rss+xml; charset=utf-8"
CHAPTERS_TYPE = "application/json+chapters"  # podcast namespace: how chapters JSON should be served
HIDDEN = frozenset({"render.json"})  # the renderer's bookkeeping (it names local source paths)


class Forbidden(Exception):
    """The request path tries to leave the root."""


def resolve_request(root: Path, raw_path: str) -> Path | None:
    """The file a raw request path names inside `root` (already resolved), None if there is none.

    Works on the raw, still percent-encoded path so that `%2e%2e` or `%2f` can't slip past a
    normalisation step; raises Forbidden for anything that tries to climb out."""
    path = raw_path.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/"):
        raise Forbidden(raw_path)
    raw_parts = path[1:].split("/")
    if raw_parts[-1] == "":
        return None  # "/" or a directory: no listings
    parts = []
    for raw in raw_parts:
        try:
            part = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            return None
        if part in ("", ".", "..") or any(c in part for c in "/\\\0") or ":" in part[:2]:
            raise Forbidden(raw_path)  # also `//etc/passwd` (an empty segment) and `C:`-style drives
        if part.startswith("."):
            return None  # temp files of atomic writes and other hidden files
        parts.append(part)
    if not parts or parts[-1] in HIDDEN:
        return None
    target = root.joinpath(*parts).resolve()
    if not target.is_relative_to(root):
        raise Forbidden(raw_path)  # a symlink inside the root that points outside it
    return target if target.is_file() else None


class FeedServer:
    """Serves one output folder; keeps its feed pointing at the address it is served on."""

    def __init__(self, root: Path, config: Config, base_url: str) -> None:
        self.root = root.resolve()
        self.config = config
        self.base_url = base_url
        self.feed_path = self.root / config.feed.file
        self._fingerprint: tuple[object, ...] | None = None
        self._lock = asyncio.Lock()

    def rebuild_feed(self) -> Path:
        path = build_feed(self.root, self.config, base_url=self.base_url)
        self._fingerprint = self._current_fingerprint()
        return path

    def _current_fingerprint(self) -> tuple[object, ...]:
        """Changes when an article is (re)rendered or someone else rewrites the feed file, e.g. a
        render that wrote it for the configured base_url rather than the served one."""
        stats = []
        for path in sorted([*self.root.glob("*/render.json"), self.feed_path]):
            try:
                st = path.stat()
            except OSError:
                continue
            stats.append((str(path), st.st_mtime_ns, st.st_size))
        return tuple(stats)

    async def _fresh_feed(self) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            if await loop.run_in_executor(None, self._current_fingerprint) == self._fingerprint:
                return
            try:
                await loop.run_in_executor(None, self.rebuild_feed)
            except AudiobookError as exc:
                log.warning("could not rebuild the feed (%s); serving the last one", exc)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            target = resolve_request(self.root, request.raw_path)
        except Forbidden:
            log.info("refused %s %r", request.method, request.raw_path)
            raise web.HTTPForbidden(text="forbidden\n") from None
        headers = {"Access-Control-Allow-Origin": "*"}  # browser players fetch transcripts/chapters
        if target == self.feed_path or (target is None and request.path == f"/{self.config.feed.file}"):
            await self._fresh_feed()
            target = self.feed_path if self.feed_path.is_file() else None
            headers |= {"Content-Type": FEED_TYPE, "Cache-Control": "no-cache"}
        if target is None:
            if request.path == "/":
                return web.Response(text=f"subscribe to {self.base_url}{self.config.feed.file}\n",
                                    headers=headers)
            raise web.HTTPNotFound(text="not found\n")
        headers.setdefault("Content-Type", _content_type(target))
        return web.FileResponse(target, headers=headers)


def _content_type(path: Path) -> str:
    if path.name.endswith(".chapters.json"):
        return CHAPTERS_TYPE
    return CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


def make_app(server: FeedServer) -> web.Application:
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


def serve(root: Path, host: str = "127.0.0.1", port: int = 8000, base_url: str | None = None,
          config: Config | None = None, announce: Callable[[str], None] = print) -> None:
    """Serve `root` until interrupted. Port 0 picks a free port. The feed is rebuilt first with
    `base_url` (default: the served address) and again whenever an article is re-rendered;
    `announce` is told the feed URL to subscribe to once the socket is listening."""
    config = config or load_config()
    root = root.resolve()
    if not root.is_dir():
        raise PublishError(f"output folder {root} does not exist; render an article first")
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
    server = FeedServer(root, config, base)
    try:
        feed = server.rebuild_feed()
    except BaseException:
        sock.close()
        raise
    announce(f"serving {root} on {host}:{sock.getsockname()[1]}; subscribe to {base}{feed.name}")
    web.run_app(make_app(server), sock=sock, print=None, access_log=None, handle_signals=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audiobook.serve", description=serve.__doc__)
    parser.add_argument("root", type=Path, nargs="?", default=Path("output"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--config", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s", stream=sys.stderr)
    try:
        serve(args.root, args.host, args.port, args.base_url, load_config(args.config),
              announce=lambda line: print(line, flush=True))
    except AudiobookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
