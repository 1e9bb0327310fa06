"""`audiobook render` end to end with the edge engine against the fake Edge service (the real
edge-tts client over a real websocket): faults on the real sample, a sentence that always fails
and its re-run, `--engine auto`, and the quote voice. In-process through pipeline.render and as
a CLI subprocess (the fake in this process or as `python -m audiobook.testing.edge_service`)."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from mutagen.id3 import ID3

from audiobook.audio.ffmpeg import decode_pcm
from audiobook.config import Config, EdgeConfig, load_profile
from audiobook.models import SynthRequest, Voice
from audiobook.render.pipeline import RenderResult, render
from audiobook.render.plan import make_script
from audiobook.render.synthesize import assign_keys, synthesize_script
from audiobook.store.segments import SegmentCache
from audiobook.testing.edge_service import SAMPLE_RATE, FakeEdgeService, Fault, Faults, Speech
from audiobook.text.ingest import ingest
from audiobook.tts.choice import quote_voice_for, voice_for
from audiobook.tts.edge import EdgeEngine
from tests.support import PROJECT, SAMPLE, needs_sample

SHORT_ARTICLE = """# 公园

今天天气很好。我们一起去公园散步。春天来了，花都开了。
"""
FAILING = "我们一起去公园散步。"


class JitteredFaults(Faults):
    """Faults whose latency is drawn per request from [low, high] seconds (the fake reads
    `latency_s` once per request); deterministic for a seed."""

    def __init__(self, latency_range: tuple[float, float], **kwargs: object) -> None:
        self._latency_range = latency_range
        self._jitter = random.Random(f"latency:{kwargs.get('seed', 0)}")
        super().__init__(**kwargs)  # type: ignore[arg-type]

    @property
    def latency_s(self) -> float:  # type: ignore[override]
        return self._jitter.uniform(*self._latency_range)

    @latency_s.setter
    def latency_s(self, _value: float) -> None:
        pass


def edge_config(fake: FakeEdgeService, output: Path, **edge: object) -> Config:
    config = Config()
    config.edge = EdgeConfig(wss_url=fake.wss_url, voices_url=fake.voices_url, **edge)  # type: ignore[arg-type]
    config.render.output = str(output)
    return config


def episode_pcm(result: RenderResult) -> np.ndarray:
    return decode_pcm(result.folder / result.produced.episode.file, 44100)


def render_json(result: RenderResult) -> dict:
    return json.loads(result.manifest.read_text(encoding="utf-8"))


def comment(mp3: Path) -> str:
    return " ".join(str(frame) for frame in ID3(mp3).getall("COMM"))


@pytest.fixture
def short_article(write_article) -> Path:
    return write_article(SHORT_ARTICLE, "park.md")


# ------------------------------------------------------------------------------- faults, sample


def brisk_speech(text: str) -> Speech:
    """A cheap, deterministic stand-in for the voice (the fault test is about the protocol, not the
    sound): a 100 ms burst per speakable character, its pitch from the character, one word each."""
    chars = [c for c in text if c.isalnum()]
    per = SAMPLE_RATE // 10
    envelope = np.hanning(per) * 9000
    t = np.arange(per) / SAMPLE_RATE
    bursts = [np.sin(2 * np.pi * (150 + ord(c) % 200) * t) * envelope for c in chars]
    lead = np.zeros(SAMPLE_RATE // 20)
    samples = np.concatenate([lead, *bursts, lead]).astype(np.int16)
    return Speech(samples, [(c, 50.0 + 100.0 * i, 100.0) for i, c in enumerate(chars)])


@pytest.fixture
def brisk_fake(start_fake_edge) -> FakeEdgeService:  # noqa: ANN001
    return start_fake_edge(brisk_speech, point_engine=False)


@pytest.mark.slow
@needs_sample
def test_sample_under_faults_sounds_exactly_like_a_clean_render(
        brisk_fake: FakeEdgeService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake, profile = brisk_fake, load_profile("default")
    monkeypatch.setenv("AUDIOBOOK_CACHE_DIR", str(tmp_path / "cache-clean"))
    clean = render(SAMPLE, edge_config(fake, tmp_path), profile, "edge", tmp_path / "clean")
    clean_requests = len(fake.requests)
    assert clean_requests == clean.synth.synthesized == clean.synth.unique > 100

    # Fresh cache: every sentence is synthesized again, through drops mid-stream, clock-skew 403s,
    # 503s, silent hangs (cut short by a 1.5 s timeout) and 100-400 ms of latency.
    fake.faults = JitteredFaults((0.1, 0.4), seed=7, drop_fraction=0.5, probabilities={
        Fault.DROP: 0.10, Fault.SKEW_403: 0.05, Fault.UNAVAILABLE: 0.05, Fault.SILENT: 0.02})
    monkeypatch.setenv("AUDIOBOOK_CACHE_DIR", str(tmp_path / "cache-faulty"))
    config = edge_config(fake, tmp_path, timeout_s=1.5, retries=8)
    started = time.perf_counter()
    faulty = render(SAMPLE, config, profile, "edge", tmp_path / "faulty")
    wall = time.perf_counter() - started

    records = fake.requests[clean_requests:]
    seen = Counter(str(r.fault) for r in records)
    print(f"\nfaulty render: {len(records)} requests for {faulty.synth.synthesized} sentences "
          f"({len(records) - faulty.synth.synthesized} retried), faults {dict(seen)}, "
          f"synthesis {faulty.timings_s['synthesize']:.1f} s, whole render {wall:.1f} s")
    assert faulty.synth.synthesized == clean.synth.synthesized
    assert {"drop", "403", "503", "silent"} <= set(seen)
    # Every sentence was taken from a complete answer: a drop was retried even when it cut only a
    # sentence's last frames (which changes the decoded tail of its last word; the engine sees the
    # missing turn.end).
    assert sum(r.complete for r in records) == faulty.synth.synthesized
    assert np.array_equal(episode_pcm(faulty), episode_pcm(clean))
    assert [c.sha256 for c in faulty.produced.chapters] == [c.sha256 for c in clean.produced.chapters]


def test_a_cut_in_the_last_word_is_caught(fake_edge: FakeEdgeService) -> None:
    # The fake's local voice says 開源至上 in 984 ms, the last word 至上 ending at 821 ms; cut at
    # half the MP3 bytes the client keeps 624 ms, and 821 - 624 < 250 ms of slack.
    fake_edge.faults = Faults(script=[Fault.DROP], drop_fraction=0.5)
    engine = EdgeEngine(EdgeConfig(wss_url=fake_edge.wss_url), backoff_s=0.01)
    engine.synthesize([SynthRequest("k", "開源至上", Voice("edge", "zh-CN-XiaoxiaoNeural"))], lambda r, s: None)
    assert [r.complete for r in fake_edge.requests] == [False, True]


# ------------------------------------------------------------------ one sentence always fails (CLI)


def cli(*args: str | Path, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "audiobook", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=240)


def cli_env(tmp_path: Path, wss_url: str, voices_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "ws_proxy")}
    env.update(AUDIOBOOK_EDGE_WSS_URL=wss_url, AUDIOBOOK_EDGE_VOICES_URL=voices_url, NO_PROXY="127.0.0.1,localhost",
               AUDIOBOOK_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(PROJECT), COLUMNS="200")
    return env


@pytest.mark.slow
def test_a_sentence_that_always_fails_stops_the_render_and_only_it_is_redone(
        fake_edge: FakeEdgeService, short_article: Path, tmp_path: Path) -> None:
    (tmp_path / "audiobook.toml").write_text("[edge]\nretries = 1\ntimeout_s = 5\n", encoding="utf-8")
    env = cli_env(tmp_path, fake_edge.wss_url, fake_edge.voices_url)
    fake_edge.faults = Faults(by_text={"公园散步": Fault.NO_AUDIO})
    args = ("render", short_article, "--engine", "edge", "-o", tmp_path / "out", "-c", tmp_path / "audiobook.toml")

    failed = cli(*args, env=env, cwd=tmp_path)
    assert failed.returncode == 1, failed.stderr
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and FAILING in errors[0] and "re-run" in errors[0], failed.stderr
    assert "Traceback" not in failed.stderr
    assert sum(r.text == FAILING for r in fake_edge.requests) == 2  # one try, one retry

    fake_edge.faults = Faults()
    before = len(fake_edge.requests)
    rerun = cli(*args, env=env, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert [r.text for r in fake_edge.requests[before:]] == [FAILING]
    [manifest] = (tmp_path / "out" / "state").glob("*/render.json")
    data = json.loads(manifest.read_text(encoding="utf-8"))
    assert data["segments"]["synthesized"] == 1 and data["segments"]["cached"] == data["segments"]["unique"] - 1
    assert (data["engine"], data["engine_reason"]) == ("edge", "requested")


# --------------------------------------------------------------------------------- --engine auto


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def fake_edge_process(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`python -m audiobook.testing.edge_service` in its own process (tone speech: no model to load);
    yields (wss_url, voices_url) once it listens."""
    port = free_port()
    log = tmp_path / "fake.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "audiobook.testing.edge_service", "--port", str(port),
                                 "--speech", "tone"], stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT)
    try:
        urls: dict[str, str] = {}
        deadline = time.monotonic() + 60
        while len(urls) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
            for line in log.read_text().splitlines():
                key, _, value = line.strip().partition("=")
                if key.startswith("AUDIOBOOK_EDGE_"):
                    urls[key] = value
        assert len(urls) == 2, f"the fake did not start (exit {proc.poll()}): {log.read_text()}"
        yield urls["AUDIOBOOK_EDGE_WSS_URL"], urls["AUDIOBOOK_EDGE_VOICES_URL"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_auto_uses_edge_when_it_answers_and_records_why(
        fake_edge_process: tuple[str, str], short_article: Path, tmp_path: Path) -> None:
    env = cli_env(tmp_path, *fake_edge_process)
    result = cli("render", short_article, "--engine", "auto", "-o", tmp_path / "out", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [manifest] = (tmp_path / "out" / "state").glob("*/render.json")
    data = json.loads(manifest.read_text(encoding="utf-8"))
    folder = tmp_path / "out" / "site" / data["slug"]
    assert (data["engine"], data["engine_reason"]) == ("edge", "auto: the edge service answered")
    assert data["voice"] == "zh-CN-XiaoxiaoNeural" and data["segments"]["synthesized"] == 4
    for mp3 in [data["episode"]["file"], *(c["file"] for c in data["chapters"])]:
        assert comment(folder / mp3) == "本集由合成语音朗读。"  # which engine: render.json, not the listener's tags


@pytest.mark.slow
def test_auto_falls_back_to_the_kokoro_voice_and_says_why(
        short_article: Path, tmp_path: Path, edge_client_env: None, caplog: pytest.LogCaptureFixture) -> None:
    config = Config()
    config.edge = EdgeConfig(wss_url=f"ws://127.0.0.1:{free_port()}/edge/v1?x=1")
    result = render(short_article, config, load_profile("default"), "auto", tmp_path / "out")
    assert result.engine.name == "kokoro"
    data = render_json(result)
    assert data["engine"] == "kokoro" and data["engine_reason"].startswith("auto: edge unreachable (cannot connect")
    assert data["voice"] == "zm_yunxi"
    assert "using the offline kokoro voice" in caplog.text


def test_auto_falls_back_to_the_embedded_voice_without_kokoro(
        tmp_path: Path, edge_client_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from audiobook.tts.choice import choose_engine

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    config = Config()
    config.edge = EdgeConfig(wss_url=f"ws://127.0.0.1:{free_port()}/edge/v1?x=1")
    assert choose_engine("auto", config).name == "local"


# ---------------------------------------------------------------------------------- quote voice


DIALOGUE = """# 对话

他曾指出：“我们经济总量不低，大公司利润也不低。”所谓的“创新基因”并不存在。

“给予本身就是一种荣耀”，梁文峰如是说。
"""


def test_quotations_are_read_by_the_quote_voice_and_cached_per_voice(
        fake_edge: FakeEdgeService, write_article, tmp_path: Path) -> None:
    profile = load_profile("zh-CN-dialogue")
    voice, quote = voice_for("edge", profile), quote_voice_for("edge", profile)
    assert quote is not None and (voice.name, quote.name) == ("zh-CN-XiaoxiaoNeural", "zh-CN-YunxiNeural")
    assert quote_voice_for("local", profile) is None and quote_voice_for("edge", load_profile("default")) is None

    doc = ingest(write_article(DIALOGUE, "dialogue.md"))
    script = make_script(doc, profile.pauses, lambda text: (text, []), "edge", split_quotes=True)
    units = [(s.text, s.quote) for c in script.chapters for s in c.sentences]
    assert units == [("对话", False), ("他曾指出：", False), ("“我们经济总量不低，大公司利润也不低。”", True),
                     ("所谓的“创新基因”并不存在。", False), ("“给予本身就是一种荣耀”，", True),
                     ("梁文峰如是说。", False)]
    keys = [s.key for c in assign_keys(script, "edge", EdgeEngine.version, voice, quote).chapters for s in c.sentences]
    cache = SegmentCache(tmp_path / "segments")
    engine = lambda: EdgeEngine(EdgeConfig(wss_url=fake_edge.wss_url), backoff_s=0.01)  # noqa: E731
    stats = synthesize_script(script, engine, voice, cache, quote_voice=quote)
    assert stats.synthesized == 6
    said = {r.text: r.voice for r in fake_edge.requests}
    assert said == {text: quote.name if is_quote else voice.name for text, is_quote in units}

    # The same text as narration is a different segment: the key includes the voice.
    narrated = [s.key for c in assign_keys(script, "edge", EdgeEngine.version, voice).chapters for s in c.sentences]
    changed = [a != b for a, b in zip(keys, narrated, strict=True)]
    assert changed == [is_quote for _, is_quote in units]


def test_without_a_quote_voice_sentences_stay_whole(write_article) -> None:
    doc = ingest(write_article(DIALOGUE, "dialogue.md"))
    script = make_script(doc, load_profile("default").pauses, lambda text: (text, []), "edge")
    texts = [s.text for c in script.chapters for s in c.sentences]
    assert "他曾指出：“我们经济总量不低，大公司利润也不低。”" in texts
    assert not any(s.quote for c in script.chapters for s in c.sentences)
