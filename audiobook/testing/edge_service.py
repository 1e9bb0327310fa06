"""A protocol-faithful local fake of the Edge "Read Aloud" TTS service, for tests and benches.

It speaks the websocket protocol edge-tts 7.3.1 expects (see ../shared/reference/edge-tts-protocol.md):
Sec-MS-GEC token check at the handshake (403 + the server's `Date` on a mismatch, so the client's
clock-skew retry works), `speech.config` + `ssml` in, `turn.start`, `response`, one boundary per
`audio.metadata` message (100 ns ticks), binary audio frames with the exact header layout, the
empty final frame and `turn.end` out; plus the voices-list endpoint with the real JSON shape.

The audio is real speech: the requested text is synthesized by a pluggable speech source (the
embedded local voice by default) and served as MPEG-2 Layer III 24 kHz mono 48 kbit/s CBR without
a Xing header, in chunks of a few 144-byte frames. Word boundaries are the local voice's own word
timings (from FastSpeech2 durations), shifted by the MP3 codec delay so they match the decoded audio.

Faults are knobs on `Faults` (scripted per connection, or drawn with a seeded RNG, or tied to a
text): latency, a throughput cap, a drop mid-stream (close code 1007), 403 with a skewed Date,
429, 503, silence after the handshake, and NoAudio (turn.end without audio). Every request is
recorded (`FakeEdgeService.requests`) so tests can assert on what the client sent.

Run standalone: `python -m audiobook.testing.edge_service --port 8123`; in-process: `running_fake()`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import re
import struct
import threading
import time
import unicodedata
import uuid
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import numpy as np
from aiohttp import WSCloseCode, WSMsgType, web
from edge_tts.constants import TRUSTED_CLIENT_TOKEN
from edge_tts.drm import generate_sec_ms_gec_v2

from audiobook.audio.ffmpeg import run_ffmpeg

if TYPE_CHECKING:
    from audiobook.tts.litert_model import BakerModels

log = logging.getLogger(__name__)

WSS_PATH = "/consumer/speech/synthesize/readaloud/edge/v1"
VOICES_PATH = "/consumer/speech/synthesize/readaloud/voices/list"
OUTPUT_FORMAT = "audio-24khz-48kbitrate-mono-mp3"
SAMPLE_RATE = 24000
FRAME_BYTES = 144  # MPEG-2 Layer III at 24 kHz / 48 kbit/s: 576 samples, 24 ms, never padded
FRAME_SAMPLES = 576
BYTES_PER_SECOND = 6000
TICKS_PER_MS = 10_000
# LAME's encoder delay (576) + the decoder's (529): without a Xing/LAME header nothing trims them,
# so decoded audio lags the PCM by this much (measured with the bundled ffmpeg). Boundaries shift too.
CODEC_DELAY_MS = 1000.0 * 1105 / SAMPLE_RATE
MEDIA_LIMIT_REASON = "The processed audio has exceeded the configured maximum media duration of 600000ms"

_LONG_VOICE = re.compile(r"^Microsoft Server Speech Text to Speech Voice \((.+), (.+)\)$")
_PERCENT = re.compile(r"^[+-]\d+%$")
_HERTZ = re.compile(r"^[+-]\d+Hz$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")


# ----------------------------------------------------------------------------------------------
# Voices (a snapshot of the Mandarin/Cantonese voices the Edge list serves, plus two English ones)

# ShortName, Gender, FriendlyName suffix, ContentCategories, VoicePersonalities
_CATALOG = [
    ("zh-CN-XiaoxiaoNeural", "Female", "Chinese (Mainland)", ["News", "Novel"], ["Warm"]),
    ("zh-CN-XiaoyiNeural", "Female", "Chinese (Mainland)", ["Cartoon", "Novel"], ["Lively"]),
    ("zh-CN-YunjianNeural", "Male", "Chinese (Mainland)", ["Sports", " Novel"], ["Passion"]),
    ("zh-CN-YunxiNeural", "Male", "Chinese (Mainland)", ["Novel"], ["Lively", "Sunshine"]),
    ("zh-CN-YunxiaNeural", "Male", "Chinese (Mainland)", ["Cartoon", "Novel"], ["Cute"]),
    ("zh-CN-YunyangNeural", "Male", "Chinese (Mainland)", ["News"], ["Professional", "Reliable"]),
    ("zh-CN-liaoning-XiaobeiNeural", "Female", "Chinese (Northeastern Mandarin)", ["Dialect"], ["Humorous"]),
    ("zh-CN-shaanxi-XiaoniNeural", "Female", "Chinese (Zhongyuan Mandarin Shaanxi)", ["Dialect"], ["Bright"]),
    ("zh-HK-HiuGaaiNeural", "Female", "Chinese (Cantonese Traditional)", ["General"],
     ["Friendly", "Positive"]),
    ("zh-HK-HiuMaanNeural", "Female", "Chinese (Hong Kong SAR)", ["General"], ["Friendly", "Positive"]),
    ("zh-HK-WanLungNeural", "Male", "Chinese (Hong Kong SAR)", ["General"], ["Friendly", "Positive"]),
    ("zh-TW-HsiaoChenNeural", "Female", "Chinese (Taiwan)", ["General"], ["Friendly", "Positive"]),
    ("zh-TW-HsiaoYuNeural", "Female", "Chinese (Taiwanese Mandarin)", ["General"], ["Friendly", "Positive"]),
    ("zh-TW-YunJheNeural", "Male", "Chinese (Taiwan)", ["General"], ["Friendly", "Positive"]),
    ("en-US-EmmaMultilingualNeural", "Female", "English (United States)", ["Conversation", "Copilot"],
     ["Cheerful", "Clear"]),
    ("en-US-AndrewNeural", "Male", "English (United States)", ["Conversation", "Copilot"],
     ["Warm", "Confident"]),
]


def voice_entry(short_name: str, gender: str, region: str, categories: list[str],
                personalities: list[str]) -> dict[str, Any]:
    """One element of the voices-list JSON, shaped like the real service's."""
    locale, _, name = short_name.rpartition("-")
    display = name.removesuffix("Neural").removesuffix("Multilingual")
    return {
        "Name": f"Microsoft Server Speech Text to Speech Voice ({locale}, {name})",
        "ShortName": short_name,
        "Gender": gender,
        "Locale": locale,
        "SuggestedCodec": OUTPUT_FORMAT,
        "FriendlyName": f"Microsoft {display} Online (Natural) - {region}",
        "Status": "GA",
        "VoiceTag": {"ContentCategories": categories, "VoicePersonalities": personalities},
    }


VOICES = [voice_entry(*row) for row in _CATALOG]


# ----------------------------------------------------------------------------------------------
# Speech sources: text -> PCM + word timings (at rate +0%; the fake applies the prosody itself)


@dataclass
class Speech:
    samples: np.ndarray  # mono int16 at 24 kHz
    words: list[tuple[str, float, float]]  # (text, offset_ms, duration_ms) from the start of samples


SpeechSource = Callable[[str], Speech]


@cache
def _local_models() -> BakerModels:
    from audiobook.tts import litert_model  # imported lazily: loading LiteRT and jieba is slow

    return litert_model.BakerModels()


_local_lock = threading.Lock()  # one model copy, shared by every fake in the process


def local_speech(text: str) -> Speech:
    """The embedded offline voice; word timings are its own (FastSpeech2 durations, per jieba word)."""
    from audiobook.tts.local import synthesize_text

    with _local_lock:
        result = synthesize_text(_local_models(), text)
    words = [(b.text, float(b.offset_ms), float(b.duration_ms)) for b in result.boundaries]
    return Speech(result.samples, words)


def tone_speech(text: str) -> Speech:
    """A cheap stand-in (no model): one 200 ms harmonic burst per speakable character, word
    timings by character share. For benches that must not spend CPU on synthesis."""
    chars = [c for c in text if is_speakable(c)]
    per = int(SAMPLE_RATE * 0.2)
    t = np.arange(per) / SAMPLE_RATE
    burst = np.sin(2 * np.pi * 180 * t) + 0.5 * np.sin(2 * np.pi * 360 * t)
    burst *= np.hanning(per) * 8000
    lead = np.zeros(SAMPLE_RATE // 20)
    samples = np.concatenate([lead, np.tile(burst, len(chars)), lead]).astype(np.int16)
    per_ms = 1000.0 * per / SAMPLE_RATE
    words = [(c, 50.0 + i * per_ms, per_ms) for i, c in enumerate(chars)]
    return Speech(samples, words)


def is_speakable(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"


def encode_service_mp3(samples: np.ndarray, speed: float = 1.0, gain: float = 1.0) -> bytes:
    """What the service sends: CBR MPEG-2 Layer III, 24 kHz mono 48 kbit/s, no Xing/ID3 header.
    speed (prosody rate) is applied with ffmpeg's pitch-preserving atempo, gain as volume."""
    pcm = np.ascontiguousarray(samples, dtype="<i2").tobytes()
    tempo = []
    while speed > 2.0 or speed < 0.5:  # one atempo stage takes 0.5..2.0
        stage = 2.0 if speed > 2.0 else 0.5
        tempo.append(f"atempo={stage}")
        speed /= stage
    tempo.append(f"atempo={speed:.6f}")
    return run_ffmpeg(
        ["-f", "s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "-i", "pipe:0",
         "-af", ",".join([*tempo, f"volume={gain:.6f}"]), "-c:a", "libmp3lame",
         "-b:a", "48k", "-ac", "1", "-ar", str(SAMPLE_RATE), "-write_xing", "0", "-id3v2_version", "0",
         "-write_id3v1", "0", "-map_metadata", "-1", "-f", "mp3", "pipe:1"],
        stdin=pcm,
    )


# ----------------------------------------------------------------------------------------------
# Faults and records


class Fault(StrEnum):
    DROP = "drop"  # close (code `drop_code`, default 1007) after part of the audio: silent truncation
    SKEW_403 = "403"  # handshake 403 whose Date is `skew_s` off: the client re-skews its clock
    TOO_MANY = "429"  # handshake 429 (client raises WSServerHandshakeError, no retry of its own)
    UNAVAILABLE = "503"  # handshake 503
    SILENT = "silent"  # accept the websocket, read the request, never answer (the client hangs)
    NO_AUDIO = "noaudio"  # turn.start, response, turn.end without audio (NoAudioReceived)


HANDSHAKE_FAULTS = {Fault.SKEW_403, Fault.TOO_MANY, Fault.UNAVAILABLE}


@dataclass
class Faults:
    """Fault injection. Per websocket connection the fault is: the next `script` entry (None = no
    fault) while any are left, else one drawn from `probabilities` with the seeded RNG. A request
    whose text contains a `by_text` key gets that (post-handshake) fault every time."""

    seed: int = 0
    script: list[Fault | None] = field(default_factory=list)
    probabilities: dict[Fault, float] = field(default_factory=dict)
    by_text: dict[str, Fault] = field(default_factory=dict)
    voices_script: list[Fault | None] = field(default_factory=list)  # same, for the voices list
    latency_s: float = 0.0  # before the first byte of the answer (after the ssml arrives)
    throughput_bps: float = 0.0  # cap on audio bytes per second (0 = unlimited)
    drop_fraction: float = 0.4  # share of the audio sent before a DROP
    drop_code: int = 1007
    skew_s: float = 3600.0  # how far off the Date of a SKEW_403 is
    retry_after_s: int | None = None  # Retry-After header on 429/503
    max_media_s: float = 600.0  # the service closes with 1007 once this much audio was sent

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def next_fault(self) -> Fault | None:
        with self._lock:
            if self.script:
                return self.script.pop(0)
            draw = self._rng.random()
            for fault, p in self.probabilities.items():
                if draw < p:
                    return Fault(fault)
                draw -= p
            return None

    def next_voices_fault(self) -> Fault | None:
        with self._lock:
            return self.voices_script.pop(0) if self.voices_script else None

    def text_fault(self, text: str) -> Fault | None:
        return next((f for key, f in self.by_text.items() if key in text), None)


@dataclass
class RecordedRequest:
    """One synthesis request as the fake saw it."""

    connection_id: str
    text: str = ""  # unescaped
    voice: str = ""  # ShortName, e.g. zh-CN-XiaoxiaoNeural
    rate: str = ""
    pitch: str = ""
    volume: str = ""
    boundary: str = ""  # WordBoundary | SentenceBoundary
    fault: Fault | None = None
    rejected: str = ""  # why the service answered without audio ("" = it didn't)
    audio_bytes: int = 0  # MP3 payload bytes actually sent
    full_audio_bytes: int = 0  # what a complete answer would have been
    boundaries: list[tuple[str, int, int]] = field(default_factory=list)  # (text, offset, duration) ticks
    headers: dict[str, str] = field(default_factory=dict)  # handshake headers

    @property
    def complete(self) -> bool:
        return not self.rejected and self.audio_bytes == self.full_audio_bytes > 0


class ProtocolViolation(Exception):
    """The client broke the protocol; the fake closes the socket with 1007 and records why."""


# ----------------------------------------------------------------------------------------------
# The service


class FakeEdgeService:
    def __init__(self, speech: SpeechSource = local_speech, faults: Faults | None = None, *,
                 clock_offset_s: float = 0.0, check_token: bool = True, voices: list[dict[str, Any]] | None = None,
                 lookahead_ms: float = 1000.0, chunk_frames: tuple[int, int] = (4, 16)) -> None:
        self.speech = speech
        self.faults = faults or Faults()
        self.clock_offset_s = clock_offset_s  # the server's clock is this far ahead of ours
        self.check_token = check_token
        self.voices = VOICES if voices is None else voices
        self.lookahead_ms = lookahead_ms  # metadata runs this far ahead of the audio
        self.chunk_frames = chunk_frames  # audio messages carry this many MP3 frames (min, max)
        self.requests: list[RecordedRequest] = []
        self.handshakes = 0  # websocket upgrade attempts, rejected ones included
        self.voice_list_requests = 0
        self.active = 0
        self.max_active = 0
        self._sockets: set[web.WebSocketResponse] = set()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fake-edge-synth")
        self._runner: web.AppRunner | None = None
        self.host = "127.0.0.1"
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeEdgeService:
        app = web.Application()
        app.router.add_get(WSS_PATH, self._handle_ws)
        app.router.add_get(VOICES_PATH, self._handle_voices)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.host = host
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def __aenter__(self) -> FakeEdgeService:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def wss_url(self) -> str:
        """Value for edge_tts.communicate.WSS_URL (already has the `?` the client appends to)."""
        return f"ws://{self.host}:{self.port}{WSS_PATH}?TrustedClientToken={TRUSTED_CLIENT_TOKEN}"

    @property
    def voices_url(self) -> str:
        """Value for edge_tts.voices.VOICE_LIST."""
        return f"{self.base_url}{VOICES_PATH}?trustedclienttoken={TRUSTED_CLIENT_TOKEN}"

    def now(self) -> float:
        return time.time() + self.clock_offset_s

    # -- handshake checks ------------------------------------------------------------------------
    def _token_problem(self, query: dict[str, str], token_key: str) -> str:
        if query.get(token_key) != TRUSTED_CLIENT_TOKEN:
            return f"bad {token_key}"
        if not query.get("Sec-MS-GEC-Version", "").startswith("2-"):
            return "bad Sec-MS-GEC-Version"
        if self.check_token:
            now = self.now()
            valid = {generate_sec_ms_gec_v2(now + k * 300) for k in (-1, 0, 1)}
            if query.get("Sec-MS-GEC") not in valid:
                return "Sec-MS-GEC does not match the server clock"
        return ""

    def _refuse(self, fault: Fault | None, problem: str) -> web.Response | None:
        """The handshake answer for a token problem or an injected handshake fault, else None."""
        if problem:
            date = formatdate(self.now(), usegmt=True)
            return web.Response(status=403, text=problem, headers={"Date": date})
        if fault is Fault.SKEW_403:
            date = formatdate(self.now() + self.faults.skew_s, usegmt=True)
            return web.Response(status=403, text="Forbidden", headers={"Date": date})
        if fault in (Fault.TOO_MANY, Fault.UNAVAILABLE):
            headers = {}
            if self.faults.retry_after_s is not None:
                headers["Retry-After"] = str(self.faults.retry_after_s)
            return web.Response(status=int(fault), text=fault.name, headers=headers)
        return None

    async def _handle_voices(self, request: web.Request) -> web.StreamResponse:
        self.voice_list_requests += 1
        refusal = self._refuse(self.faults.next_voices_fault(),
                               self._token_problem(dict(request.query), "trustedclienttoken"))
        return refusal or web.json_response(self.voices)

    # -- synthesis websocket ---------------------------------------------------------------------
    async def _handle_ws(self, request: web.Request) -> web.StreamResponse:
        self.handshakes += 1
        query = dict(request.query)
        record = RecordedRequest(connection_id=query.get("ConnectionId", ""), headers=dict(request.headers))
        fault = self.faults.next_fault()
        problem = self._token_problem(query, "TrustedClientToken")
        if not problem and not _HEX32.match(record.connection_id):
            problem = "ConnectionId must be 32 lowercase hex digits"
        refusal = self._refuse(fault if fault in HANDSHAKE_FAULTS else None, problem)
        if refusal is not None:
            record.fault, record.rejected = fault, problem or f"handshake {fault}"
            self.requests.append(record)
            return refusal

        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.requests.append(record)
        self._sockets.add(ws)
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await self._serve(ws, record, fault)
        except ProtocolViolation as exc:
            record.rejected = f"protocol: {exc}"
            await ws.close(code=WSCloseCode.INVALID_TEXT, message=str(exc).encode()[:120])
        except (ConnectionResetError, asyncio.CancelledError):
            pass  # the client went away (e.g. its own timeout fired)
        except Exception as exc:  # a broken speech source: answer like a failing service, keep serving
            log.exception("fake edge: request failed")
            record.rejected = f"internal error: {exc}"
            await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"internal error")
        finally:
            self.active -= 1
            self._sockets.discard(ws)
        return ws

    async def _serve(self, ws: web.WebSocketResponse, record: RecordedRequest, fault: Fault | None) -> None:
        config_headers, config_body = await _receive_text(ws)
        if config_headers.get("Path") != "speech.config":
            raise ProtocolViolation("first message must be Path:speech.config")
        record.boundary = _parse_speech_config(config_body)
        ssml_headers, ssml = await _receive_text(ws)
        if ssml_headers.get("Path") != "ssml" or ssml_headers.get("Content-Type") != "application/ssml+xml":
            raise ProtocolViolation("second message must be Path:ssml with Content-Type:application/ssml+xml")
        request_id = ssml_headers.get("X-RequestId", "")
        if not _HEX32.match(request_id):
            raise ProtocolViolation("X-RequestId must be 32 lowercase hex digits")
        record.rejected = _parse_ssml(ssml, record, {v["ShortName"] for v in self.voices})
        record.fault = self.faults.text_fault(record.text) or fault

        if record.fault is Fault.SILENT:
            async for _ in ws:  # read until the client gives up and closes
                pass
            return
        if self.faults.latency_s:
            await asyncio.sleep(self.faults.latency_s)
        turn = _Turn(ws, request_id)
        await turn.text("turn.start", {"context": {"serviceTag": uuid.uuid4().hex}})
        await turn.text("response", {"context": {"serviceTag": uuid.uuid4().hex},
                                     "audio": {"type": "inline", "streamId": turn.stream_id}})
        if not record.rejected and record.fault is Fault.NO_AUDIO:
            record.rejected = "injected NoAudio"
        if not record.rejected:
            mp3, words = await self._render(record)
            record.full_audio_bytes = len(mp3)
            if not await self._stream(turn, record, mp3, words):
                return  # the connection was closed mid-stream
            await turn.audio(b"")
        await turn.text("turn.end", {})

    async def _render(self, record: RecordedRequest) -> tuple[bytes, list[tuple[str, int, int]]]:
        """MP3 bytes and boundary events (ticks) for a request; cached, as retries resend text."""
        speed = min(3.0, max(0.25, 1.0 + int(record.rate[:-1]) / 100.0))
        gain = min(2.0, max(0.0, 1.0 + int(record.volume[:-1]) / 100.0))
        key = (self.speech, record.text, speed, gain)
        if key not in _RENDERED:
            loop = asyncio.get_running_loop()
            rendered = await loop.run_in_executor(self._executor, _render_speech, *key)
            with _RENDERED_LOCK:
                _RENDERED[key] = rendered
                if len(_RENDERED) > 1024:
                    _RENDERED.popitem(last=False)
        mp3, words = _RENDERED[key]
        if record.boundary == "WordBoundary" or not words:
            return mp3, words
        first, last = words[0], words[-1]
        return mp3, [(record.text, first[1], last[1] + last[2] - first[1])]

    async def _stream(self, turn: _Turn, record: RecordedRequest, mp3: bytes,
                      events: list[tuple[str, int, int]]) -> bool:
        """Interleave metadata (running `lookahead_ms` ahead) and audio chunks; False if dropped."""
        faults = self.faults
        rng = random.Random(f"{faults.seed}:{record.text}")
        limit = int(faults.max_media_s * BYTES_PER_SECOND)
        drop_at = None
        if record.fault is Fault.DROP:
            drop_at = max(FRAME_BYTES, int(len(mp3) * faults.drop_fraction))
        started = time.monotonic()
        pending = list(events)
        sent = 0
        while sent < len(mp3):
            audio_ms = 1000.0 * sent / BYTES_PER_SECOND
            while pending and pending[0][1] <= (audio_ms + self.lookahead_ms) * TICKS_PER_MS:
                await turn.boundary(record.boundary, *pending[0])
                record.boundaries.append(pending.pop(0))
            if drop_at is not None and sent >= drop_at:
                await turn.ws.close(code=faults.drop_code, message=b"connection dropped")
                return False
            if sent >= limit:
                await turn.ws.close(code=1007, message=MEDIA_LIMIT_REASON.encode())
                return False
            chunk = mp3[sent:sent + FRAME_BYTES * rng.randint(*self.chunk_frames)]
            await turn.audio(chunk)
            sent += len(chunk)
            record.audio_bytes = sent
            if faults.throughput_bps > 0:
                ahead = sent / faults.throughput_bps - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
        for event in pending:
            await turn.boundary(record.boundary, *event)
            record.boundaries.append(event)
        return True


# Rendered answers, shared by every fake in the process: retries and repeated test runs resend the
# same text, and synthesis is the slow part.
_RENDERED: OrderedDict[tuple[SpeechSource, str, float, float], tuple[bytes, list[Any]]] = OrderedDict()
_RENDERED_LOCK = threading.Lock()


def _render_speech(speech: SpeechSource, text: str, speed: float, gain: float) -> tuple[bytes, list[Any]]:
    result = speech(text)
    mp3 = encode_service_mp3(result.samples, speed, gain)
    words = [(w, round((off / speed + CODEC_DELAY_MS) * TICKS_PER_MS), round(dur / speed * TICKS_PER_MS))
             for w, off, dur in result.words]
    return mp3, words


class _Turn:
    """Writes the service's answer frames for one request."""

    def __init__(self, ws: web.WebSocketResponse, request_id: str) -> None:
        self.ws = ws
        self.request_id = request_id
        self.stream_id = uuid.uuid4().hex.upper()

    async def text(self, path: str, body: dict[str, Any]) -> None:
        await self.ws.send_str(
            f"X-RequestId:{self.request_id}\r\nContent-Type:application/json; charset=utf-8\r\n"
            f"Path:{path}\r\n\r\n{json.dumps(body, ensure_ascii=False)}"
        )

    async def boundary(self, kind: str, text: str, offset: int, duration: int) -> None:
        data = {"Offset": offset, "Duration": duration,
                "text": {"Text": escape(text), "Length": len(text), "BoundaryType": kind}}
        await self.text("audio.metadata", {"Metadata": [{"Type": kind, "Data": data}]})

    async def audio(self, payload: bytes) -> None:
        """Binary frame: 2-byte header length, headers (X-RequestId first, each ending CRLF), MP3.
        The empty end-of-stream frame carries no Content-Type."""
        content_type = "Content-Type:audio/mpeg\r\n" if payload else ""
        header = (f"X-RequestId:{self.request_id}\r\n{content_type}X-StreamId:{self.stream_id}\r\n"
                  "Path:audio\r\n").encode()
        await self.ws.send_bytes(struct.pack(">H", len(header)) + header + payload)


async def _receive_text(ws: web.WebSocketResponse) -> tuple[dict[str, str], str]:
    msg = await ws.receive()
    if msg.type != WSMsgType.TEXT:
        raise ProtocolViolation(f"expected a text message, got {msg.type.name}")
    head, sep, body = msg.data.partition("\r\n\r\n")
    if not sep:
        raise ProtocolViolation("message has no blank line after its headers")
    headers = {}
    for line in head.split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon:
            raise ProtocolViolation(f"header line without ':': {line!r}")
        headers[name] = value
    return headers, body


def _parse_speech_config(body: str) -> str:
    try:
        audio = json.loads(body)["context"]["synthesis"]["audio"]
        options = audio["metadataoptions"]
        word, sentence = options["wordBoundaryEnabled"], options["sentenceBoundaryEnabled"]
        output = audio["outputFormat"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ProtocolViolation(f"speech.config is not the expected JSON: {exc}") from exc
    if output != OUTPUT_FORMAT:
        raise ProtocolViolation(f"unsupported outputFormat {output!r}")
    if {word, sentence} - {"true", "false"}:
        raise ProtocolViolation("metadataoptions must be the strings 'true' / 'false'")
    return "WordBoundary" if word == "true" else "SentenceBoundary"


_NS = "{http://www.w3.org/2001/10/synthesis}"


def _parse_ssml(ssml: str, record: RecordedRequest, known_voices: set[str]) -> str:
    """Fill `record` from the SSML; return why the service would answer without audio ("" if it
    wouldn't). The service accepts one <voice> holding one <prosody> (pitch/rate/volume) holding
    escaped text, and no custom SSML: anything else gets turn.end without audio."""
    try:
        speak = ET.fromstring(ssml)
    except ET.ParseError as exc:
        return f"SSML is not well-formed XML (unescaped text?): {exc}"
    voice = speak.find(f"{_NS}voice")
    prosody = voice.find(f"{_NS}prosody") if voice is not None else None
    if speak.tag != f"{_NS}speak" or voice is None or prosody is None or len(speak) != 1 or len(voice) != 1:
        return "SSML must be <speak><voice><prosody>text</prosody></voice></speak>"
    record.text = prosody.text or ""
    record.rate, record.pitch, record.volume = (prosody.get(a, "") for a in ("rate", "pitch", "volume"))
    match = _LONG_VOICE.match(voice.get("name", ""))
    record.voice = f"{match.group(1)}-{match.group(2)}" if match else voice.get("name", "")
    if len(prosody) or (voice.text or "").strip() or set(prosody.attrib) - {"rate", "pitch", "volume"}:
        return "custom SSML inside <prosody> is not allowed"
    if match is None or record.voice not in known_voices:
        return f"unknown voice {voice.get('name')!r}"
    for name, value, pattern in (("rate", record.rate, _PERCENT), ("volume", record.volume, _PERCENT),
                                 ("pitch", record.pitch, _HERTZ)):
        if not pattern.match(value):
            return f"bad prosody {name} {value!r}"
    if not any(is_speakable(c) for c in record.text):
        return "nothing speakable in the text"
    return ""


# ----------------------------------------------------------------------------------------------
# Running it


@contextmanager
def running_fake(service: FakeEdgeService | None = None, **kwargs: object) -> Iterator[FakeEdgeService]:
    """Run a fake on a loopback port in a background thread (for synchronous callers: tests,
    benches). Yields the service; `.wss_url` / `.voices_url` point edge-tts at it."""
    service = service or FakeEdgeService(**kwargs)  # type: ignore[arg-type]
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-edge", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(service.start(), loop).result(timeout=10)
        yield service
    finally:
        try:
            asyncio.run_coroutine_threadsafe(_shutdown(service), loop).result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()


async def _shutdown(service: FakeEdgeService) -> None:
    """Close the service, then end whatever connection tasks are left (as asyncio.run would)."""
    await service.close()
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local fake of the Edge Read Aloud TTS service.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--speech", choices=("local", "tone"), default="local")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before the first byte")
    parser.add_argument("--throughput", type=float, default=0.0, help="audio bytes/s cap (0 = none)")
    parser.add_argument("--fault", action="append", default=[], metavar="KIND=P",
                        help=f"fault probability per connection; KIND in {', '.join(f.value for f in Fault)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clock-offset", type=float, default=0.0, help="server clock skew in seconds")
    args = parser.parse_args(argv)
    probabilities = {Fault(kind): float(p) for kind, p in (item.split("=", 1) for item in args.fault)}
    faults = Faults(seed=args.seed, probabilities=probabilities, latency_s=args.latency,
                    throughput_bps=args.throughput)
    speech = local_speech if args.speech == "local" else tone_speech
    service = FakeEdgeService(speech, faults, clock_offset_s=args.clock_offset)

    async def serve() -> None:
        await service.start(args.host, args.port)
        try:
            print(f"fake edge TTS on {service.base_url}\n  AUDIOBOOK_EDGE_WSS_URL={service.wss_url}\n"
                  f"  AUDIOBOOK_EDGE_VOICES_URL={service.voices_url}", flush=True)
            await asyncio.Event().wait()
        finally:
            await service.close()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
