"""The production voice: Microsoft Edge's online TTS through the edge-tts client.

edge-tts retries nothing but one 403 (clock skew), waits forever on a silent server and silently
keeps the audio of a connection that closed mid-stream (../shared/reference/edge-tts-protocol.md).
So this engine owns: one request per sentence (never edge-tts's own splitter), a run-wide
concurrency cap, an idle timeout, retries with exponential backoff and jitter, and a truncation
check on the decoded audio. aiohttp / edge-tts errors become EngineError / SynthesisError here.

The endpoint comes from AUDIOBOOK_EDGE_WSS_URL / AUDIOBOOK_EDGE_VOICES_URL, else [edge] in
audiobook.toml, else the real service; it is patched into edge_tts.communicate / edge_tts.voices
(patching edge_tts.constants does nothing) only while a call runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import aiohttp
import edge_tts
import edge_tts.communicate
import edge_tts.constants
import edge_tts.exceptions
import edge_tts.voices
import numpy as np
from edge_tts.data_classes import TTSConfig

from audiobook.audio.ffmpeg import decode_pcm
from audiobook.config import Config, EdgeConfig
from audiobook.errors import AudioError, EngineError, SynthesisError
from audiobook.models import Boundary, Synthesis, SynthRequest, Voice
from audiobook.text.ingest import has_speakable
from audiobook.tts.base import OnDone

log = logging.getLogger(__name__)

ENV_WSS_URL = "AUDIOBOOK_EDGE_WSS_URL"
ENV_VOICES_URL = "AUDIOBOOK_EDGE_VOICES_URL"
SAMPLE_RATE = 24000
MAX_TEXT_BYTES = 3000  # escaped UTF-8; edge-tts would split above 4096 (or not at all without spaces)
SILENCE_MS = 200  # what an unspeakable unit becomes (like the local engine); it is never sent
# Truncation checks behind the turn.end check in _fetch (they hold if edge-tts changes how it
# counts bytes). The slowest plausible reading of a unit (CJK character, digit, Latin word) at
# rate +0%: the local voice takes ~200 ms per CJK character, Edge's Mandarin voices 200-250 ms.
MIN_MS_PER_UNIT = 80.0
# The audio must reach the end of the last word boundary. No slack: the service's audio carries
# trailing silence after the last word, and a 250 ms slack let a drop inside a short sentence's
# last word through (found by the fault test on the sample).
BOUNDARY_SLACK_MS = 0.0
RETRY_STATUSES = {403, 408, 429, 500, 502, 503, 504}
TICKS_PER_MS = 10_000

_PERCENT = re.compile(r"^[+-]\d{1,3}%$")
_HERTZ = re.compile(r"^[+-]\d{1,4}Hz$")
_UNITS = re.compile(r"[A-Za-z]+|\d|[^\W\d_A-Za-z]", re.UNICODE)


@dataclass(frozen=True)
class Endpoints:
    wss_url: str
    voices_url: str
    proxy: str | None


def endpoints(config: EdgeConfig | None = None) -> Endpoints:
    """Environment first, then audiobook.toml, then the real service."""
    config = config or EdgeConfig()
    wss = os.environ.get(ENV_WSS_URL) or config.wss_url or edge_tts.constants.WSS_URL
    voices = os.environ.get(ENV_VOICES_URL) or config.voices_url or edge_tts.constants.VOICE_LIST
    for name, url in (("wss_url", wss), ("voices_url", voices)):
        if "?" not in url:
            raise EngineError(
                f"[edge] {name} {url!r} must contain a '?' query (edge-tts appends '&...' to it)"
            )
    return Endpoints(wss, voices, config.proxy or None)


@contextlib.contextmanager
def _pointed_at(ep: Endpoints) -> Iterator[None]:
    # edge-tts reads these module globals at each request (they are not part of its API)
    communicate, voices = vars(edge_tts.communicate), vars(edge_tts.voices)
    saved = communicate["WSS_URL"], voices["VOICE_LIST"]
    communicate["WSS_URL"], voices["VOICE_LIST"] = ep.wss_url, ep.voices_url
    try:
        yield
    finally:
        communicate["WSS_URL"], voices["VOICE_LIST"] = saved


def speech_units(text: str) -> int:
    """CJK characters, digits and Latin words: a rough count of what takes time to say."""
    return len(_UNITS.findall(text))


def check_voice(voice: Voice) -> None:
    """Reject what the client or service would reject, before any work starts."""
    if voice.engine != "edge":
        raise EngineError(
            f"the edge engine got a {voice.engine!r} voice ({voice.name}); use an edge voice name"
        )
    for what, value, pattern, hint in (("rate", voice.rate, _PERCENT, "+10% or -5%"),
                                       ("volume", voice.volume, _PERCENT, "+0% or -10%"),
                                       ("pitch", voice.pitch, _HERTZ, "+0Hz or -20Hz")):
        if not pattern.match(value):
            raise EngineError(f"edge voice {what} {value!r} must look like {hint} (sign required, integers)")
    if int(voice.rate[:-1]) <= -100:
        raise EngineError(f"edge voice rate {voice.rate!r} must be above -100%")
    try:
        TTSConfig(voice.name, voice.rate, voice.volume, voice.pitch, "WordBoundary")
    except (ValueError, TypeError) as exc:
        raise EngineError(
            f"{exc} Edge voices look like zh-CN-XiaoxiaoNeural; see `audiobook voices`"
        ) from exc


def check_text(text: str) -> None:
    size = len(escape(text).encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise EngineError(
            f"sentence too long for one edge request ({size} bytes > {MAX_TEXT_BYTES}): {text[:40]!r}…; "
            "the planner should have split it (please report this)"
        )


class _Retryable(Exception):
    def __init__(self, reason: str, retry: bool = True, wait_s: float = 0.0) -> None:
        super().__init__(reason)
        self.reason, self.retry, self.wait_s = reason, retry, wait_s


def _classify(exc: BaseException, timeout_s: float) -> _Retryable:
    """The one seam where aiohttp / edge-tts errors are judged: what happened, retry or not."""
    if isinstance(exc, _Retryable):
        return exc
    if isinstance(exc, aiohttp.ClientResponseError):  # incl. WSServerHandshakeError
        retry_after = exc.headers.get("Retry-After", "") if exc.headers else ""
        wait = float(retry_after) if retry_after.isdigit() else 0.0
        return _Retryable(f"HTTP {exc.status} from the service", exc.status in RETRY_STATUSES, wait)
    if isinstance(exc, TimeoutError):
        return _Retryable(f"no answer within {timeout_s:g} s")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _Retryable(f"cannot connect to {exc.host}:{exc.port} ({exc.os_error.strerror or exc.os_error})")
    if isinstance(exc, edge_tts.exceptions.NoAudioReceived):
        return _Retryable("the service sent no audio")
    if isinstance(exc, edge_tts.exceptions.EdgeTTSException | aiohttp.ClientError | AudioError):
        return _Retryable(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, ValueError):  # malformed frames from the service (edge-tts's header parsing)
        return _Retryable(f"malformed answer from the service: {exc}")
    raise exc


def open_edge(config: Config) -> EdgeEngine:
    """The registry's factory."""
    return EdgeEngine(config.edge)


def engine_version() -> str:
    return EdgeEngine.version


class EdgeEngine:
    name = "edge"
    sample_rate = SAMPLE_RATE
    version = f"edge-tts-{edge_tts.__version__}/audio-24khz-48kbitrate-mono-mp3"

    def __init__(self, config: EdgeConfig | None = None, *, backoff_s: float = 0.5,
                 max_backoff_s: float = 10.0, seed: int | None = None) -> None:
        self.config = config or EdgeConfig()
        self.endpoints = endpoints(self.config)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._rng = random.Random(seed)
        self.attempts = 0  # requests sent, retries included (for logs and tests)

    def synthesize(self, requests: Sequence[SynthRequest], on_done: OnDone) -> None:
        for request in requests:  # bad voices and oversized sentences fail before any work
            check_voice(request.voice)
            check_text(request.text)
        asyncio.run(self.synthesize_async(requests, on_done))

    async def synthesize_async(self, requests: Sequence[SynthRequest], on_done: OnDone) -> None:
        limit = asyncio.Semaphore(self.config.concurrency)
        failures: list[tuple[SynthRequest, str]] = []

        async def one(request: SynthRequest) -> None:
            try:
                result = await self._with_retries(request, limit)
            except _Retryable as exc:
                failures.append((request, exc.reason))
                return
            on_done(request, result)

        with _pointed_at(self.endpoints):
            await asyncio.gather(*(one(r) for r in requests))
        if failures:
            lines = "; ".join(f"{r.text[:30]!r}: {why}" for r, why in failures[:5])
            raise SynthesisError(
                f"the edge voice failed on {len(failures)} of {len(requests)} sentences ({lines}). "
                "Finished sentences are cached: re-run to retry, or use --engine local."
            )

    async def _with_retries(self, request: SynthRequest, limit: asyncio.Semaphore) -> Synthesis:
        if not has_speakable(request.text):
            log.warning("edge voice: nothing speakable in %r; using %d ms of silence",
                        request.text, SILENCE_MS)
            return Synthesis(np.zeros(SAMPLE_RATE * SILENCE_MS // 1000, np.int16), SAMPLE_RATE)
        timeout_s = self.config.timeout_s
        for attempt in range(self.config.retries + 1):
            try:
                async with limit:
                    self.attempts += 1
                    mp3, events = await self._fetch(request, timeout_s)
                return await asyncio.to_thread(_decode_checked, request, mp3, events)
            except Exception as exc:  # noqa: BLE001 - judged by _classify, re-raised if unknown
                problem = _classify(exc, timeout_s)
            if not problem.retry or attempt == self.config.retries:
                raise problem
            delay = min(self.max_backoff_s, self.backoff_s * 2**attempt) * (0.5 + self._rng.random() / 2)
            delay = max(delay, min(problem.wait_s, self.max_backoff_s))
            log.info("edge voice: %s for %r; retry %d in %.2f s", problem.reason, request.text[:20],
                     attempt + 1, delay)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Nothing to release: every request opens and closes its own session."""

    def __enter__(self) -> EdgeEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _fetch(self, request: SynthRequest, timeout_s: float) -> tuple[bytes, list[Boundary]]:
        """One websocket request. The timeout is an idle timeout: it restarts with every message."""
        voice = request.voice
        communicate = edge_tts.Communicate(
            request.text, voice.name, rate=voice.rate, volume=voice.volume, pitch=voice.pitch,
            boundary="WordBoundary", proxy=self.endpoints.proxy,
            connect_timeout=max(1, math.ceil(timeout_s)), receive_timeout=max(1, math.ceil(timeout_s)),
        )
        audio = bytearray()
        events: list[Boundary] = []
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout_s) as idle, contextlib.aclosing(communicate.stream()) as stream:
            async for chunk in stream:
                idle.reschedule(loop.time() + timeout_s)
                if chunk["type"] == "audio":
                    audio += chunk["data"]
                elif chunk["type"] in ("WordBoundary", "SentenceBoundary"):
                    events.append(Boundary(chunk["text"], chunk["offset"] / TICKS_PER_MS,
                                           chunk["duration"] / TICKS_PER_MS))
        # A connection closed before turn.end ends the stream silently, keeping the partial audio
        # (protocol reference §4.4). edge-tts does not yield turn.end, but only on turn.end does it
        # count a request's audio bytes into cumulative_audio_bytes (§3.4): a shortfall is a cut,
        # even one inside the trailing silence that the boundary and length checks cannot see.
        counted = communicate.state.get("cumulative_audio_bytes")
        if counted is not None and counted != len(audio):
            raise _Retryable(f"connection closed before turn.end, after {len(audio)} bytes of audio")
        return bytes(audio), events


def _decode_checked(request: SynthRequest, mp3: bytes, events: list[Boundary]) -> Synthesis:
    """Decode to int16 24 kHz and refuse audio that is implausibly short (a silent truncation)."""
    samples = decode_pcm(mp3, SAMPLE_RATE)
    audio_ms = 1000.0 * len(samples) / SAMPLE_RATE
    if events and events[-1].offset_ms + events[-1].duration_ms > audio_ms + BOUNDARY_SLACK_MS:
        last = events[-1]
        raise _Retryable(f"audio truncated: it ends at {audio_ms:.0f} ms but word {last.text!r} "
                         f"ends at {last.offset_ms + last.duration_ms:.0f} ms")
    speed = 1.0 + int(request.voice.rate[:-1]) / 100.0
    expected_ms = MIN_MS_PER_UNIT * speech_units(request.text) / speed
    if audio_ms < expected_ms:
        raise _Retryable(f"audio truncated: {audio_ms:.0f} ms for {speech_units(request.text)} "
                         f"units of text (expected at least {expected_ms:.0f} ms)")
    return Synthesis(samples, SAMPLE_RATE, events)


# ------------------------------------------------------------------------------------------------
# For the CLI: --engine auto and `audiobook preview`


def probe(config: EdgeConfig | None = None, timeout_s: float = 3.0) -> str | None:
    """Synthesize one short word. None if the service answers with audio, else a short reason
    (for `--engine auto` to fall back to the local voice and say why)."""
    try:
        ep = endpoints(config)
    except EngineError as exc:
        return str(exc)

    async def attempt() -> None:
        communicate = edge_tts.Communicate("你好", "zh-CN-XiaoxiaoNeural", proxy=ep.proxy,
                                           connect_timeout=max(1, math.ceil(timeout_s)),
                                           receive_timeout=max(1, math.ceil(timeout_s)))
        async with asyncio.timeout(timeout_s), contextlib.aclosing(communicate.stream()) as stream:
            async for chunk in stream:
                if chunk["type"] == "audio":
                    return

    try:
        with _pointed_at(ep):
            asyncio.run(attempt())
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable now"
        try:
            return _classify(exc, timeout_s).reason
        except Exception:  # noqa: BLE001 - not a network error we know; still just a reason
            return f"{type(exc).__name__}: {exc}"
    return None
