"""HTTP for web pages, feeds and their images: the one seam where network errors become ours.

Standard library only (urllib: proxies from the environment like curl, redirects up to a limit).
Every fetch has a timeout per network wait *and* a deadline for the whole body (a server that
trickles bytes can't hold a render forever), a size limit (also on the unzipped size), and a
polite User-Agent. What was fetched is kept under the cache folder with its validators (ETag,
Last-Modified), so fetching the same URL again asks the server only whether it changed: a 304
answer costs a few hundred bytes and gives back the bytes kept from last time.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import socket
import ssl
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import asdict, dataclass
from email.message import Message
from pathlib import Path
from typing import BinaryIO

from .. import __version__
from ..errors import InputError, PublishError
from ..paths import WEB_DIR, cache_dir
from ..store.files import atomic_write_bytes, atomic_write_text

log = logging.getLogger(__name__)


USER_AGENT = f"audiobook/{__version__} (article narrator; fetches each page once, then only if changed)"
MAX_REDIRECTS = 5
CHUNK = 64 * 1024

HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml",
              "text/xml", "application/feed+json", "text/html", "text/plain")  # feedparser decides
IMAGE_TYPES = ("image/",)


@dataclass(frozen=True)
class FetchLimits:
    timeout_s: float = 20.0  # per connect/read wait; the whole body gets 3× this
    max_bytes: int = 10_000_000
    user_agent: str = USER_AGENT


@dataclass
class Fetched:
    url: str  # as asked
    final_url: str  # after redirects: what relative links in the body are relative to
    media_type: str  # e.g. text/html (lowercase, no parameters)
    charset: str  # from the Content-Type header, "" if it names none
    body: bytes
    not_modified: bool = False  # the server answered 304: `body` is the copy kept from last time


@dataclass
class _Kept:
    """A cache entry's record (beside its body file)."""

    url: str
    final_url: str
    media_type: str
    charset: str
    etag: str
    last_modified: str
    sha256: str


class _Redirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS


def _entry(url: str) -> Path:
    return cache_dir() / WEB_DIR / hashlib.sha256(url.encode("utf-8")).hexdigest()[:40]


def _recall(url: str) -> tuple[_Kept, bytes] | None:
    base = _entry(url)
    try:
        kept = _Kept(**json.loads(base.with_suffix(".json").read_text(encoding="utf-8")))
        body = base.with_suffix(".body").read_bytes()
    except (OSError, ValueError, TypeError):
        return None
    if kept.url != url or hashlib.sha256(body).hexdigest() != kept.sha256:
        return None
    return kept, body


def _keep(fetched: Fetched, etag: str, last_modified: str) -> None:
    if not (etag or last_modified):
        return  # nothing to ask the server with next time
    base = _entry(fetched.url)
    kept = _Kept(fetched.url, fetched.final_url, fetched.media_type, fetched.charset, etag, last_modified,
                 hashlib.sha256(fetched.body).hexdigest())
    try:  # body first: a record always describes a whole body
        atomic_write_bytes(base.with_suffix(".body"), fetched.body, durable=False)
        atomic_write_text(base.with_suffix(".json"), json.dumps(asdict(kept)), durable=False)
    except PublishError as exc:  # a read-only or full cache costs only a full download next time
        log.debug("could not keep %s: %s", fetched.url, exc)


def _touch(url: str) -> None:
    """Mark a kept entry as used (`cache prune` counts its grace period from the last use)."""
    for suffix in (".json", ".body"):
        try:
            _entry(url).with_suffix(suffix).touch()
        except OSError:
            pass


def fetch(url: str, accept: tuple[str, ...], what: str, limits: FetchLimits | None = None,
          conditional: bool = True) -> Fetched:
    """GET `url`; its media type must start with one of `accept`. `what` names it in errors
    ("web page", "feed", "image"). Raises InputError with one line saying what went wrong."""
    limits = limits or FetchLimits()
    kept = _recall(url) if conditional else None
    headers = {"User-Agent": limits.user_agent, "Accept-Encoding": "gzip",
               "Accept": ", ".join(t + "*" if t.endswith("/") else t for t in accept) + ", */*;q=0.1",
               "Accept-Language": "zh-CN,zh-TW;q=0.9,zh;q=0.8,en;q=0.5"}
    if kept:
        if kept[0].etag:
            headers["If-None-Match"] = kept[0].etag
        if kept[0].last_modified:
            headers["If-Modified-Since"] = kept[0].last_modified
    opener = urllib.request.build_opener(_Redirects())
    request = urllib.request.Request(url, headers=headers)
    started = time.monotonic()
    try:
        with opener.open(request, timeout=limits.timeout_s) as response:
            final_url = response.geturl()
            info: Message = response.headers
            media_type = (info.get_content_type() or "").lower()
            if not any(media_type.startswith(t) for t in accept):
                if what == "web page" and media_type in FEED_TYPES[:5]:
                    raise InputError(f"{url} is a feed ({media_type}), not a web page; follow it: audiobook follow "
                                     f"{url}")
                raise InputError(f"{url} is {media_type or 'of no stated type'}, not a {what}; give the URL of "
                                 f"{_kind_hint(what)}")
            body = _read_body(response, info, url, limits, started)
            fetched = Fetched(url, final_url, media_type, (info.get_content_charset() or "").lower(), body)
            _keep(fetched, info.get("ETag", ""), info.get("Last-Modified", ""))
            return fetched
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the connection (its body is an error page we don't read)
        if exc.code == 304 and kept:
            _touch(url)
            record, body = kept
            log.info("%s not modified since the last fetch", url)
            return Fetched(url, record.final_url, record.media_type, record.charset, body, not_modified=True)
        raise InputError(f"{url}: the server answered HTTP {exc.code} {exc.reason}; {_status_hint(exc.code)}") \
            from None
    except urllib.error.URLError as exc:
        raise InputError(f"{url}: {_reason(exc.reason, limits)}; check the URL and your connection") from None
    except TimeoutError:
        raise InputError(f"{url}: no answer within {limits.timeout_s:g} s; try again later, or raise "
                         "[fetch] timeout_s") from None
    except (http.client.HTTPException, ConnectionError, ssl.SSLError) as exc:
        raise InputError(f"{url}: the connection broke off ({type(exc).__name__}); try again later") from None
    except ValueError as exc:  # urllib: an unknown URL form
        raise InputError(f"{url}: not a URL that can be fetched ({exc}); give an http(s) URL") from None


def _read_body(response: BinaryIO, info: Message, url: str, limits: FetchLimits, started: float) -> bytes:
    declared = info.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limits.max_bytes:
        raise InputError(f"{url} is {int(declared) / 1e6:.1f} MB, over the {limits.max_bytes / 1e6:g} MB limit; "
                         "raise [fetch] max_mb if it really is one article")
    gzipped = (info.get("Content-Encoding") or "").lower() in ("gzip", "x-gzip")
    unzip = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
    parts: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() - started > 3 * limits.timeout_s:
            raise InputError(f"{url}: still downloading after {3 * limits.timeout_s:g} s; the server is too slow, "
                             "try again later or raise [fetch] timeout_s")
        chunk = response.read1(CHUNK) if hasattr(response, "read1") else response.read(CHUNK)
        if not chunk:
            break
        if unzip is not None:
            try:  # never unpack more than the limit (a small gzip can expand enormously)
                chunk = unzip.decompress(chunk, limits.max_bytes + 1 - size)
            except zlib.error as exc:
                raise InputError(f"{url}: the server sent a broken gzip body ({exc}); try again later") from None
        size += len(chunk)
        if size > limits.max_bytes:
            raise InputError(f"{url} is over the {limits.max_bytes / 1e6:g} MB limit; raise [fetch] max_mb if it "
                             "really is one article")
        parts.append(chunk)
    return b"".join(parts)


def _reason(reason: object, limits: FetchLimits) -> str:
    if isinstance(reason, TimeoutError | socket.timeout):
        return f"no answer within {limits.timeout_s:g} s"
    if isinstance(reason, socket.gaierror):
        return "the host name is unknown"
    if isinstance(reason, ConnectionRefusedError):
        return "the connection was refused (nothing listens there)"
    if isinstance(reason, ssl.SSLError):
        return f"the secure connection failed ({reason.reason or reason})"
    if isinstance(reason, OSError):
        return f"cannot connect ({reason.strerror or reason})"
    return f"cannot fetch it ({reason})"


def _status_hint(code: int) -> str:
    if code in (404, 410):
        return "the page is gone; check the URL"
    if code in (401, 403):
        return "it is not public; save the page as .html from your browser and render that file"
    if code == 429 or code >= 500:
        return "try again later"
    return "check the URL"


def _kind_hint(what: str) -> str:
    return {"web page": "an HTML article (or save it and give the file)", "feed": "an RSS or Atom feed",
            "image": "an image"}.get(what, what)
