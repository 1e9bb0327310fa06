"""The fake Edge service, driven by the real edge-tts client over a real websocket (and, for what
the client refuses to send, by a raw aiohttp client).
Protocol facts: ../shared/reference/edge-tts-protocol.md."""

from __future__ import annotations

import asyncio
import json
import struct
import time
import uuid
from collections.abc import Iterator

import aiohttp
import edge_tts
import edge_tts.communicate
import edge_tts.voices
import pytest
from edge_tts.drm import DRM

from audiobook.audio.ffmpeg import decode_pcm
from audiobook.testing.edge_service import (
    BYTES_PER_SECOND,
    FRAME_BYTES,
    FRAME_SAMPLES,
    FakeEdgeService,
    Fault,
    Faults,
)

SENTENCE = "今天天气很好，我们一起去公园散步。"
VOICE = "zh-CN-XiaoxiaoNeural"


@pytest.fixture
def fake_edge(fake_edge: FakeEdgeService, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEdgeService]:
    """conftest's fake, with the edge-tts client's own URLs pointed at it (these tests drive the
    client library directly, not through our engine)."""
    monkeypatch.setattr(edge_tts.communicate, "WSS_URL", fake_edge.wss_url)
    monkeypatch.setattr(edge_tts.voices, "VOICE_LIST", fake_edge.voices_url)
    yield fake_edge


async def _collect(text: str = SENTENCE, voice: str = VOICE, **kwargs: str) -> tuple[bytes, list[dict]]:
    audio, events = b"", []
    async for chunk in edge_tts.Communicate(text, voice, **kwargs).stream():  # type: ignore[arg-type]
        if chunk["type"] == "audio":
            audio += chunk["data"]
        else:
            events.append(dict(chunk))
    return audio, events


# ---------------------------------------------------------------------------------------- audio


def test_audio_is_cbr_mpeg2_and_decodes_to_what_was_served(fake_edge: FakeEdgeService) -> None:
    audio, _ = asyncio.run(_collect())
    [record] = fake_edge.requests
    assert record.complete and len(audio) == record.audio_bytes
    assert len(audio) % FRAME_BYTES == 0
    assert all(audio[i:i + 4] == b"\xff\xf3\x64\xc4" for i in range(0, len(audio), FRAME_BYTES))
    samples = decode_pcm(audio, 24000)
    assert len(samples) == len(audio) // FRAME_BYTES * FRAME_SAMPLES  # 24 ms per 144-byte frame
    seconds = len(audio) / BYTES_PER_SECOND
    assert 1.5 < seconds < 8  # real speech for 15 syllables, not a stub
    assert samples.std() > 300  # not silence


def test_request_is_recorded_with_prosody_and_boundary_type(fake_edge: FakeEdgeService) -> None:
    asyncio.run(_collect("A & B <ok>", "zh-TW-HsiaoChenNeural", rate="-10%", pitch="+5Hz",
                         volume="+20%", boundary="WordBoundary"))
    [record] = fake_edge.requests
    assert (record.text, record.voice) == ("A & B <ok>", "zh-TW-HsiaoChenNeural")
    assert (record.rate, record.pitch, record.volume) == ("-10%", "+5Hz", "+20%")
    assert record.boundary == "WordBoundary" and record.rejected == ""
    assert record.headers["Origin"].startswith("chrome-extension://")


def test_word_boundaries_increase_and_lie_within_the_audio(fake_edge: FakeEdgeService) -> None:
    audio, events = asyncio.run(_collect(boundary="WordBoundary"))
    assert events and {e["type"] for e in events} == {"WordBoundary"}
    offsets = [e["offset"] for e in events]
    assert offsets == sorted(offsets) and offsets[0] > 0
    audio_ticks = len(audio) / BYTES_PER_SECOND * 10_000_000
    assert all(e["offset"] + e["duration"] <= audio_ticks for e in events)
    assert "".join(e["text"] for e in events) == "今天天气很好我们一起去公园散步"


def test_sentence_boundary_is_the_default(fake_edge: FakeEdgeService) -> None:
    _, events = asyncio.run(_collect())
    assert [(e["type"], e["text"]) for e in events] == [("SentenceBoundary", SENTENCE)]
    assert fake_edge.requests[0].boundary == "SentenceBoundary"


def test_rate_changes_the_duration(fake_edge: FakeEdgeService) -> None:
    normal, _ = asyncio.run(_collect())
    fast, _ = asyncio.run(_collect(rate="+100%"))
    assert 0.4 < len(fast) / len(normal) < 0.6


# --------------------------------------------------------------------------------------- voices


def test_voice_list_has_the_real_shape_and_the_mandarin_voices(fake_edge: FakeEdgeService) -> None:
    voices = asyncio.run(edge_tts.list_voices())
    by_name = {v["ShortName"]: v for v in voices}
    for name in ("zh-CN-XiaoxiaoNeural", "zh-CN-YunxiNeural", "zh-TW-HsiaoChenNeural", "zh-HK-HiuMaanNeural",
                 "zh-CN-liaoning-XiaobeiNeural"):
        assert name in by_name
    xiaobei = by_name["zh-CN-liaoning-XiaobeiNeural"]
    assert xiaobei["Name"] == "Microsoft Server Speech Text to Speech Voice (zh-CN-liaoning, XiaobeiNeural)"
    assert xiaobei["Locale"] == "zh-CN-liaoning"
    for voice in voices:
        assert set(voice) == {"Name", "ShortName", "Gender", "Locale", "SuggestedCodec", "FriendlyName",
                              "Status", "VoiceTag"}
        assert voice["Gender"] in ("Female", "Male")
        assert set(voice["VoiceTag"]) == {"ContentCategories", "VoicePersonalities"}
    manager = asyncio.run(edge_tts.VoicesManager.create(voices))
    assert {v["ShortName"] for v in manager.find(Language="zh", Gender="Male", Locale="zh-TW")} == {
        "zh-TW-YunJheNeural"}


# ------------------------------------------------------------------------------ raw protocol


async def _raw_exchange(fake: FakeEdgeService, ssml: str,
                        config: dict | None = None) -> tuple[list[aiohttp.WSMessage], int | None]:
    """Send speech.config + ssml the way edge-tts does, but with whatever we like in them."""
    request_id = uuid.uuid4().hex
    url = f"{fake.wss_url}&ConnectionId={uuid.uuid4().hex}&Sec-MS-GEC={DRM.generate_sec_ms_gec()}" \
          "&Sec-MS-GEC-Version=2-143.0.3650.75"
    config = config or {"context": {"synthesis": {"audio": {
        "metadataoptions": {"sentenceBoundaryEnabled": "false", "wordBoundaryEnabled": "true"},
        "outputFormat": "audio-24khz-48kbitrate-mono-mp3"}}}}
    messages = []
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_str("X-Timestamp:now\r\nContent-Type:application/json; charset=utf-8\r\n"
                          f"Path:speech.config\r\n\r\n{json.dumps(config)}\r\n")
        await ws.send_str(f"X-RequestId:{request_id}\r\nContent-Type:application/ssml+xml\r\n"
                          f"X-Timestamp:nowZ\r\nPath:ssml\r\n\r\n{ssml}")
        async for msg in ws:
            messages.append(msg)
            if msg.type == aiohttp.WSMsgType.TEXT and "Path:turn.end" in msg.data:
                break
    return messages, ws.close_code


DEFAULT_PROSODY = "pitch='+0Hz' rate='+0%' volume='+0%'"


def _ssml(text: str, voice: str = "zh-CN, XiaoxiaoNeural", prosody: str = DEFAULT_PROSODY) -> str:
    return ("<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='en-US'>"
            f"<voice name='Microsoft Server Speech Text to Speech Voice ({voice})'>"
            f"<prosody {prosody}>{text}</prosody></voice></speak>")


def test_frames_have_the_exact_layout(fake_edge: FakeEdgeService) -> None:
    messages, _ = asyncio.run(_raw_exchange(fake_edge, _ssml("你好")))
    texts = [m.data for m in messages if m.type == aiohttp.WSMsgType.TEXT]
    paths = [t.split("Path:")[1].split("\r\n")[0] for t in texts]
    assert paths[:2] == ["turn.start", "response"] and paths[-1] == "turn.end"
    assert set(paths[2:-1]) == {"audio.metadata"}
    metadata = json.loads(texts[2].split("\r\n\r\n", 1)[1])
    assert metadata["Metadata"][0]["Type"] == "WordBoundary" and len(metadata["Metadata"]) == 1
    binary = [m.data for m in messages if m.type == aiohttp.WSMsgType.BINARY]
    *audio, final = binary
    assert all(struct.unpack(">H", b[:2])[0] == 128 for b in audio)  # X-RequestId first, CRLF-terminated
    assert all(b"Content-Type:audio/mpeg\r\n" in b[:130] and b[130:134] == b"\xff\xf3\x64\xc4" for b in audio)
    assert struct.unpack(">H", final[:2])[0] == 103 and len(final) == 105  # no Content-Type, no payload


@pytest.mark.parametrize(
    ("ssml", "reason"),
    [
        (_ssml("a & b"), "not well-formed"),
        (_ssml("你好", prosody="pitch='+0Hz' rate='+1.5%' volume='+0%'"), "bad prosody rate"),
        (_ssml("你好", prosody="pitch='+5st' rate='+0%' volume='+0%'"), "bad prosody pitch"),
        (_ssml("你好", prosody="pitch='+0Hz' rate='+0%' volume='10%'"), "bad prosody volume"),
        (_ssml("你好", voice="zh-CN, XiaochenNeural"), "unknown voice"),
        (_ssml("……！？"), "nothing speakable"),
        (_ssml("你<break time='500ms'/>好"), "custom SSML"),
    ],
    ids=["unescaped-text", "bad-rate", "bad-pitch", "bad-volume", "unknown-voice", "punctuation-only",
         "custom-ssml"],
)
def test_invalid_requests_get_no_audio(fake_edge: FakeEdgeService, ssml: str, reason: str) -> None:
    messages, _ = asyncio.run(_raw_exchange(fake_edge, ssml))
    assert not [m for m in messages if m.type == aiohttp.WSMsgType.BINARY]
    assert "Path:turn.end" in messages[-1].data
    assert reason in fake_edge.requests[0].rejected


def test_bad_speech_config_closes_with_1007(fake_edge: FakeEdgeService) -> None:
    bad = {"context": {"synthesis": {"audio": {"metadataoptions": {}, "outputFormat": "riff-24khz"}}}}
    messages, close_code = asyncio.run(_raw_exchange(fake_edge, _ssml("你好"), config=bad))
    assert messages == [] and close_code == 1007
    assert fake_edge.requests[0].rejected.startswith("protocol:")


def test_stale_token_gets_403_with_the_server_date(fake_edge: FakeEdgeService) -> None:
    async def handshake() -> aiohttp.WSServerHandshakeError:
        url = f"{fake_edge.wss_url}&ConnectionId={uuid.uuid4().hex}&Sec-MS-GEC=0-0&Sec-MS-GEC-Version=2-1"
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await session.ws_connect(url)
        return info.value

    error = asyncio.run(handshake())
    assert error.status == 403 and error.headers is not None and "Date" in error.headers


# ---------------------------------------------------------------------------------------- faults


def test_skewed_server_clock_is_fixed_by_the_clients_own_retry(fake_edge: FakeEdgeService) -> None:
    fake_edge.clock_offset_s = 3600.0
    audio, _ = asyncio.run(_collect("你好"))
    assert audio and fake_edge.handshakes == 2
    assert DRM.clock_skew_seconds == pytest.approx(3600, abs=5)


def test_skew_403_fault_makes_the_client_raise_on_its_second_try(fake_edge: FakeEdgeService) -> None:
    fake_edge.faults = Faults(script=[Fault.SKEW_403])
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        asyncio.run(_collect("你好"))
    assert info.value.status == 403 and fake_edge.handshakes == 2  # skew now off by an hour
    asyncio.run(_collect("你好"))  # ...which the next 403 (with the true Date) repairs
    assert abs(DRM.clock_skew_seconds) < 5


@pytest.mark.parametrize("fault", [Fault.TOO_MANY, Fault.UNAVAILABLE])
def test_throttling_statuses_reach_the_client(fake_edge: FakeEdgeService, fault: Fault) -> None:
    fake_edge.faults = Faults(script=[fault], retry_after_s=2)
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        asyncio.run(_collect("你好"))
    assert info.value.status == int(fault) and info.value.headers["Retry-After"] == "2"  # type: ignore[index]


def test_drop_mid_stream_truncates_silently(fake_edge: FakeEdgeService) -> None:
    fake_edge.faults = Faults(script=[Fault.DROP], drop_fraction=0.3)
    audio, _ = asyncio.run(_collect())  # no exception: that is the client's behaviour
    [record] = fake_edge.requests
    assert 0 < len(audio) == record.audio_bytes < 0.5 * record.full_audio_bytes


def test_media_limit_closes_with_1007(fake_edge: FakeEdgeService) -> None:
    fake_edge.faults = Faults(max_media_s=1.0)
    audio, _ = asyncio.run(_collect())
    assert len(audio) == pytest.approx(BYTES_PER_SECOND, abs=16 * FRAME_BYTES)


def test_silent_server_makes_the_client_hang(fake_edge: FakeEdgeService) -> None:
    fake_edge.faults = Faults(script=[Fault.SILENT])
    with pytest.raises(TimeoutError):
        asyncio.run(asyncio.wait_for(_collect("你好"), 0.5))


def test_no_audio_fault(fake_edge: FakeEdgeService) -> None:
    fake_edge.faults = Faults(by_text={"好": Fault.NO_AUDIO})
    for _ in range(2):
        with pytest.raises(edge_tts.exceptions.NoAudioReceived):
            asyncio.run(_collect("你好"))
    assert [r.rejected for r in fake_edge.requests] == ["injected NoAudio"] * 2


def test_latency_and_throughput_cap(fake_edge: FakeEdgeService) -> None:
    asyncio.run(_collect())  # render once: synthesis time is not what is measured
    fake_edge.faults = Faults(latency_s=0.3, throughput_bps=24_000)
    start = time.monotonic()
    audio, _ = asyncio.run(_collect())
    elapsed = time.monotonic() - start
    assert elapsed >= 0.3 + len(audio) / 24_000 * 0.8


def test_probabilities_are_reproducible_with_a_seed() -> None:
    first, second = (Faults(seed=7, probabilities={Fault.DROP: 0.3, Fault.TOO_MANY: 0.2}) for _ in range(2))
    sequence = [first.next_fault() for _ in range(200)]
    assert sequence == [second.next_fault() for _ in range(200)]
    assert 40 < sequence.count(Fault.DROP) < 80 and 20 < sequence.count(Fault.TOO_MANY) < 60


def test_counts_concurrent_connections(fake_edge: FakeEdgeService) -> None:
    fake_edge.faults = Faults(latency_s=0.3)

    async def many() -> None:
        await asyncio.gather(*(_collect("你好") for _ in range(4)))

    asyncio.run(many())
    assert fake_edge.max_active == 4 and fake_edge.active == 0 and len(fake_edge.requests) == 4
