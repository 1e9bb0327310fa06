"""EdgeEngine against the fake Edge service: the real edge-tts client over a real websocket."""

from __future__ import annotations

import re
from pathlib import Path

import edge_tts.communicate
import edge_tts.voices
import numpy as np
import pytest

from audiobook.audio.ffmpeg import decode_pcm
from audiobook.config import EdgeConfig
from audiobook.errors import EngineError, SynthesisError
from audiobook.models import Boundary, Synthesis, SynthRequest, Voice
from audiobook.testing.edge_service import (
    FRAME_BYTES,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    FakeEdgeService,
    Fault,
    Faults,
    encode_service_mp3,
)
from audiobook.tts.base import Engine
from audiobook.tts.edge import EdgeEngine, _decode_checked, _Retryable, probe
from audiobook.tts.voices import list_voices

SENTENCES = ["今天天气很好。", "我们一起去公园散步。", "春天来了，花都开了。"]
XIAOXIAO = Voice("edge", "zh-CN-XiaoxiaoNeural")


def edge_config(fake: FakeEdgeService, **kwargs: object) -> EdgeConfig:
    return EdgeConfig(wss_url=fake.wss_url, voices_url=fake.voices_url, **kwargs)  # type: ignore[arg-type]


def engine_for(fake: FakeEdgeService, **kwargs: object) -> EdgeEngine:
    return EdgeEngine(edge_config(fake, **kwargs), backoff_s=0.01, max_backoff_s=0.05, seed=1)


def requests_for(texts: list[str], voice: Voice = XIAOXIAO) -> list[SynthRequest]:
    return [SynthRequest(f"key{i}", text, voice) for i, text in enumerate(texts)]


def run(engine: EdgeEngine, requests: list[SynthRequest]) -> dict[str, Synthesis]:
    done: dict[str, Synthesis] = {}
    engine.synthesize(requests, lambda request, result: done.setdefault(request.text, result))
    return done


def test_engine_identity() -> None:
    assert (EdgeEngine.name, EdgeEngine.sample_rate) == ("edge", 24000)
    assert edge_tts.__version__ in EdgeEngine.version
    engine: Engine = EdgeEngine()
    engine.close()


def test_synthesizes_each_sentence_with_word_boundaries(fake_edge: FakeEdgeService) -> None:
    done = run(engine_for(fake_edge), requests_for(SENTENCES))
    assert set(done) == set(SENTENCES) and len(fake_edge.requests) == 3
    for record in fake_edge.requests:
        result = done[record.text]
        assert result.sample_rate == 24000 and result.samples.dtype == np.int16
        assert len(result.samples) == record.full_audio_bytes // FRAME_BYTES * FRAME_SAMPLES
        assert record.boundary == "WordBoundary"
        offsets = [b.offset_ms for b in result.boundaries]
        assert offsets == sorted(offsets)
        assert result.boundaries[-1].offset_ms + result.boundaries[-1].duration_ms <= result.duration_ms
    assert [b.text for b in done["我们一起去公园散步。"].boundaries] == ["我们", "一起", "去", "公园", "散步"]


def test_prosody_reaches_the_service(fake_edge: FakeEdgeService) -> None:
    voice = Voice("edge", "zh-CN-YunxiNeural", rate="+20%", pitch="-5Hz", volume="-10%")
    run(engine_for(fake_edge), requests_for(["你好。"], voice))
    [record] = fake_edge.requests
    assert (record.voice, record.rate, record.pitch, record.volume) == (
        "zh-CN-YunxiNeural", "+20%", "-5Hz", "-10%")


@pytest.mark.parametrize(
    ("voice", "message"),
    [
        (Voice("edge", "zh-CN-XiaoxiaoNeural", rate="+1.5%"), "rate '+1.5%'"),
        (Voice("edge", "zh-CN-XiaoxiaoNeural", rate="10%"), "rate '10%'"),
        (Voice("edge", "zh-CN-XiaoxiaoNeural", pitch="+5st"), "pitch '+5st'"),
        (Voice("edge", "zh-CN-XiaoxiaoNeural", volume="loud"), "volume 'loud'"),
        (Voice("edge", "zh-CN-Xiaoxiao"), "Invalid voice"),
        (Voice("local", "baker"), "'local' voice"),
    ],
    ids=["fractional-rate", "unsigned-rate", "semitone-pitch", "word-volume", "no-neural", "local-voice"],
)
def test_bad_voices_fail_before_any_request(fake_edge: FakeEdgeService, voice: Voice, message: str) -> None:
    with pytest.raises(EngineError, match=re.escape(message)):
        run(engine_for(fake_edge), requests_for(["你好。"], voice))
    assert fake_edge.handshakes == 0


def test_oversized_sentence_is_refused(fake_edge: FakeEdgeService) -> None:
    with pytest.raises(EngineError, match=r"too long for one edge request \(3003 bytes"):
        run(engine_for(fake_edge), requests_for(["中" * 1001]))
    assert fake_edge.handshakes == 0


def test_unspeakable_text_is_never_sent(fake_edge: FakeEdgeService) -> None:
    done = run(engine_for(fake_edge), requests_for(["……！", "你好。"]))
    assert done["……！"].duration_ms == 200 and not done["……！"].samples.any()
    assert [r.text for r in fake_edge.requests] == ["你好。"]


# SKEW_403 takes 4 handshakes: 403 (Date +1 h) → the client re-skews and retries → 403 with the true
# Date, raised to us → our retry, still skewed → 403, the client re-skews back → success.
@pytest.mark.parametrize(
    ("fault", "handshakes"),
    [(Fault.DROP, 2), (Fault.SKEW_403, 4), (Fault.TOO_MANY, 2), (Fault.UNAVAILABLE, 2), (Fault.SILENT, 2),
     (Fault.NO_AUDIO, 2)],
    ids=lambda v: str(v),
)
def test_each_fault_is_recovered(fake_edge: FakeEdgeService, fault: Fault, handshakes: int) -> None:
    fake_edge.faults = Faults(script=[fault], drop_fraction=0.5)
    engine = engine_for(fake_edge, timeout_s=1.0)
    done = run(engine, requests_for(["我们一起去公园散步。"]))
    result = done["我们一起去公园散步。"]
    final = fake_edge.requests[-1]
    assert final.complete and fake_edge.handshakes == handshakes
    assert len(result.samples) == final.full_audio_bytes // FRAME_BYTES * FRAME_SAMPLES
    assert fake_edge.requests[0].fault is fault


def test_a_cut_inside_the_trailing_silence_is_retried(fake_edge: FakeEdgeService) -> None:
    # Every word and its boundary arrived; only the last frames are missing. The client keeps the
    # partial audio without an error, so the missing turn.end is the one sign (a flaky CI run
    # once kept such a cut: the decoded tail of the last word came out different).
    text = "春天来了，花都开了。"
    clean = run(engine_for(fake_edge), requests_for([text]))[text]
    fake_edge.chunk_frames = (1, 1)  # so the cut falls exactly at 97 %
    fake_edge.faults = Faults(script=[Fault.DROP], drop_fraction=0.97)
    cut = run(engine_for(fake_edge), requests_for([text]))[text]
    dropped, retried = fake_edge.requests[1:]
    assert not dropped.complete and 0 < dropped.audio_bytes < dropped.full_audio_bytes
    assert dropped.boundaries == retried.boundaries  # nothing but the audio told the cut apart
    assert retried.complete and np.array_equal(cut.samples, clean.samples)


def test_truncation_checks_without_turn_end() -> None:
    """The checks behind the turn.end one: the last word boundary, and the text's length."""
    text = "春天来了，花都开了。"
    request = requests_for([text])[0]
    second = np.zeros(SAMPLE_RATE, np.int16)
    mp3 = encode_service_mp3(second, 1.0, 1.0)
    assert len(_decode_checked(request, mp3, [Boundary("了", 800.0, 150.0)]).samples) >= SAMPLE_RATE
    with pytest.raises(_Retryable, match="word '了' ends at 1200 ms"):
        _decode_checked(request, mp3, [Boundary("了", 1000.0, 200.0)])
    short = encode_service_mp3(second[: SAMPLE_RATE // 2], 1.0, 1.0)  # ~500 ms for 8 characters
    with pytest.raises(_Retryable, match="for 8 units of text"):
        _decode_checked(request, short, [])


def test_random_faults_with_a_seed_all_recover(fake_edge: FakeEdgeService) -> None:
    texts = [f"第{n}句话说完了。" for n in "一二三四五六七八九十"]
    run(engine_for(fake_edge), requests_for(texts))  # the fake renders each once; now time the faults
    fake_edge.faults = Faults(seed=3, probabilities={f: 0.05 for f in Fault})  # 30% of connections
    done = run(engine_for(fake_edge, timeout_s=1.0, retries=6), requests_for(texts))
    assert set(done) == set(texts)
    assert len({r.fault for r in fake_edge.requests}) >= 3


def test_a_sentence_that_always_fails_names_itself_after_the_others(fake_edge: FakeEdgeService) -> None:
    fake_edge.faults = Faults(by_text={"公园": Fault.NO_AUDIO})
    delivered: list[str] = []
    engine = engine_for(fake_edge, retries=2)
    with pytest.raises(SynthesisError, match="我们一起去公园散步") as info:
        engine.synthesize(requests_for(SENTENCES), lambda request, _result: delivered.append(request.text))
    assert sorted(delivered) == sorted(["今天天气很好。", "春天来了，花都开了。"])
    assert "1 of 3" in str(info.value) and "no audio" in str(info.value)
    assert sum(r.text == "我们一起去公园散步。" for r in fake_edge.requests) == 3  # 1 try + 2 retries


def test_client_errors_are_not_retried(fake_edge: FakeEdgeService) -> None:
    config = edge_config(fake_edge)
    config.wss_url = config.wss_url.replace("/edge/v1", "/edge/v2")  # 404
    with pytest.raises(SynthesisError, match="HTTP 404"):
        run(EdgeEngine(config, backoff_s=0.01), requests_for(["你好。"]))


def test_concurrency_cap_is_respected(fake_edge: FakeEdgeService) -> None:
    fake_edge.faults = Faults(latency_s=0.15)
    texts = [f"这是第{n}句。" for n in "一二三四五六七八九"]
    run(engine_for(fake_edge, concurrency=3), requests_for(texts))
    assert fake_edge.max_active == 3 and len(fake_edge.requests) == 9


def test_endpoint_from_environment(fake_edge: FakeEdgeService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIOBOOK_EDGE_WSS_URL", fake_edge.wss_url)
    original = edge_tts.communicate.WSS_URL
    run(EdgeEngine(), requests_for(["你好。"]))
    assert len(fake_edge.requests) == 1
    assert edge_tts.communicate.WSS_URL == original  # patched only while the call ran


def test_endpoint_without_query_is_a_config_error() -> None:
    with pytest.raises(EngineError, match="must contain a '\\?'"):
        EdgeEngine(EdgeConfig(wss_url="ws://127.0.0.1:1/edge/v1"))


# ------------------------------------------------------------------------------------- CLI helpers


def test_list_voices_filters_by_locale(fake_edge: FakeEdgeService) -> None:
    voices = list_voices("zh", edge_config(fake_edge))
    names = [v["ShortName"] for v in voices]
    assert names == sorted(names) and all(n.startswith("zh-") for n in names)
    assert {"zh-CN-XiaoxiaoNeural", "zh-CN-YunxiNeural", "zh-TW-HsiaoChenNeural"} <= set(names)
    assert [v["ShortName"] for v in list_voices("zh-TW", edge_config(fake_edge))] == [
        "zh-TW-HsiaoChenNeural", "zh-TW-HsiaoYuNeural", "zh-TW-YunJheNeural"]
    assert len(list_voices("", edge_config(fake_edge))) > len(voices)


def test_list_voices_failure_is_an_engine_error(fake_edge: FakeEdgeService) -> None:
    fake_edge.faults = Faults(voices_script=[Fault.UNAVAILABLE])
    with pytest.raises(EngineError, match="HTTP 503"):
        list_voices("zh", edge_config(fake_edge))


def test_probe(fake_edge: FakeEdgeService) -> None:
    assert probe(edge_config(fake_edge)) is None
    fake_edge.faults = Faults(script=[Fault.UNAVAILABLE])
    assert probe(edge_config(fake_edge)) == "HTTP 503 from the service"
    fake_edge.faults = Faults(script=[Fault.SILENT])
    assert probe(edge_config(fake_edge), timeout_s=0.3) == "no answer within 0.3 s"
    dead = EdgeConfig(wss_url="ws://127.0.0.1:9/edge/v1?x=1")
    assert probe(dead) == "cannot connect to 127.0.0.1:9 (Connect call failed ('127.0.0.1', 9))"


@pytest.mark.parametrize("suffix", [".mp3", ".wav"])
def test_preview_writes_a_playable_file(fake_edge: FakeEdgeService, tmp_path: Path, suffix: str) -> None:
    from audiobook.config import Config, load_profile
    from audiobook.render.pipeline import preview

    out, choice = preview("你好，欢迎收听。", Config(edge=edge_config(fake_edge)), load_profile(), "edge",
                          "zh-CN-XiaoxiaoNeural", tmp_path / f"sample{suffix}")
    assert choice.name == "edge"
    samples = decode_pcm(out, 24000)
    assert len(samples) > 24000 * 0.8
