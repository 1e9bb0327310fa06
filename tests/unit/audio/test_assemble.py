"""Chapter assembly: trimming, resampling, pauses, timing; and one real-voice round trip
(embedded engine → assemble → master → MP3 → decode) checked on the decoded file."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from audiobook.audio.assemble import (
    ONSET_MARGIN_MS,
    TAIL_MARGIN_MS,
    WORK_RATE,
    AssembledChapter,
    Piece,
    assemble_chapter,
    speech_bounds,
    to_work_rate,
)
from audiobook.audio.ffmpeg import decode_pcm, encode_mp3_file
from audiobook.audio.loudness import master
from audiobook.errors import AudioError
from tests.support.speech import measure_file, utterance

ENGINE_RATE = 24000


def rms_dbfs(x: np.ndarray) -> float:
    x = x.astype(np.float64) / (32768.0 if x.dtype == np.int16 else 1.0)
    return 10 * math.log10(np.mean(x**2) + 1e-20)


def loud_edges(x: np.ndarray, rate: int, rel_db: float = -40.0) -> tuple[float, float]:
    """ms of the first and last sample within rel_db of the peak."""
    level = np.abs(x.astype(np.float64))
    idx = np.flatnonzero(level > level.max() * 10 ** (rel_db / 20))
    return 1000 * idx[0] / rate, 1000 * (idx[-1] + 1) / rate


def test_speech_bounds_trim_the_engine_silence_but_keep_margins():
    seg = utterance(1.0, ENGINE_RATE, seed=1, lead_s=0.3, tail_s=0.4)
    start, end = speech_bounds(seg, ENGINE_RATE)
    first, last = loud_edges(seg, ENGINE_RATE, rel_db=-50)
    assert 1000 * start / ENGINE_RATE == pytest.approx(first - ONSET_MARGIN_MS, abs=1)
    assert 1000 * end / ENGINE_RATE == pytest.approx(last + TAIL_MARGIN_MS, abs=1)
    assert 1000 * start / ENGINE_RATE > 250  # most of the 300 ms lead is gone


@pytest.mark.parametrize(
    "seg",
    [np.zeros(4800, np.int16), np.zeros(0, np.int16), np.full(4800, 3, np.int16)],
    ids=["zeros", "empty", "below-floor"],
)
def test_silent_segments_have_no_bounds(seg: np.ndarray):
    assert speech_bounds(seg, ENGINE_RATE) == (0, 0)


def test_resampling_keeps_pitch_and_is_deterministic():
    t = np.arange(ENGINE_RATE) / ENGINE_RATE
    tone = np.round(8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    y = to_work_rate(tone, ENGINE_RATE)
    assert len(y) == WORK_RATE and y.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(y[1000:-1000] * np.hanning(len(y) - 2000)))
    assert np.fft.rfftfreq(len(y) - 2000, 1 / WORK_RATE)[spectrum.argmax()] == pytest.approx(1000, abs=2)
    assert np.array_equal(y, to_work_rate(tone, ENGINE_RATE))


def test_pieces_are_joined_with_exactly_the_configured_pauses():
    segs = [utterance(0.8, ENGINE_RATE, seed=s) for s in range(3)]
    pauses = [300, 700, 1000]
    chapter = assemble_chapter([Piece(s, ENGINE_RATE, p) for s, p in zip(segs, pauses, strict=True)],
                               lead_in_ms=500)

    assert chapter.samples.dtype == np.float32
    assert chapter.spans_ms[0][0] == pytest.approx(500, abs=0.1)
    for (_, end), (start, _), pause in zip(chapter.spans_ms, chapter.spans_ms[1:], pauses, strict=False):
        assert start - end == pytest.approx(pause, abs=0.05)
    assert chapter.duration_ms == pytest.approx(chapter.spans_ms[-1][1] + pauses[-1], abs=0.05)
    for seg, (start, end) in zip(segs, chapter.spans_ms, strict=True):
        kept = speech_bounds(seg, ENGINE_RATE)
        assert end - start == pytest.approx(1000 * (kept[1] - kept[0]) / ENGINE_RATE, abs=0.05)
    for (_, end), pause in zip(chapter.spans_ms, pauses, strict=True):  # pauses are digital silence
        a, b = round(end * WORK_RATE / 1000) + 1, round((end + pause) * WORK_RATE / 1000) - 1
        assert not chapter.samples[a:b].any()
    assert np.abs(chapter.samples[:2]).max() < 1e-3  # edges are faded: no click at the cut


def test_origins_place_engine_boundaries_in_chapter_time():
    seg = utterance(0.8, ENGINE_RATE, seed=4, lead_s=0.25)
    chapter = assemble_chapter([Piece(seg, ENGINE_RATE, 200), Piece(seg, ENGINE_RATE, 200)])
    start, _ = speech_bounds(seg, ENGINE_RATE)
    for origin, (span_start, _) in zip(chapter.origins_ms, chapter.spans_ms, strict=True):
        assert origin + 1000 * start / ENGINE_RATE == pytest.approx(span_start, abs=0.05)


def test_a_silent_piece_still_gets_its_pause():
    chapter = assemble_chapter([Piece(np.zeros(4800, np.int16), ENGINE_RATE, 400)])
    assert chapter.spans_ms == [(0.0, 0.0)]
    assert chapter.duration_ms == pytest.approx(400, abs=0.05)


def test_bad_pieces_are_audio_errors():
    with pytest.raises(AudioError, match="pauses"):
        assemble_chapter([Piece(np.zeros(10, np.int16), ENGINE_RATE, -5)])
    with pytest.raises(AudioError, match="int16"):
        assemble_chapter([Piece(np.zeros(10, np.float32), ENGINE_RATE, 0)])


# -- the embedded voice, end to end ------------------------------------------------------------

SENTENCES = ["今天天气很好。", "我们去公园散步吧。", "好的。"]
PAUSES_MS = [600, 900, 300]


@pytest.fixture(scope="module")
def spoken() -> list[np.ndarray]:
    local = pytest.importorskip("audiobook.tts.local")
    from audiobook.models import SynthRequest, Voice

    engine = local.LocalEngine(workers=1)
    voice = Voice(engine="local", name=local.VOICE_NAME)
    results: dict[str, np.ndarray] = {}
    try:
        engine.synthesize([SynthRequest(f"k{i}", t, voice) for i, t in enumerate(SENTENCES)],
                          lambda req, syn: results.__setitem__(req.key, syn.samples))
    finally:
        engine.close()
    assert engine.sample_rate == ENGINE_RATE
    return [results[f"k{i}"] for i in range(len(SENTENCES))]


def test_real_voice_round_trip(tmp_path: Path, spoken: list[np.ndarray]):
    chapter: AssembledChapter = assemble_chapter(
        [Piece(s, ENGINE_RATE, p) for s, p in zip(spoken, PAUSES_MS, strict=True)])
    pcm, _ = master(chapter.samples, WORK_RATE, mp3_kbps=64)
    path = tmp_path / "chapter.mp3"
    encode_mp3_file([pcm], WORK_RATE, 64, path)

    lufs, peak = measure_file(path)
    assert lufs == pytest.approx(-19.0, abs=1.0)
    assert peak <= -1.0
    decoded = decode_pcm(path, WORK_RATE)
    assert abs(len(decoded) - len(pcm)) <= 1152  # within one MP3 frame (it is exact in practice)
    assert len(pcm) == len(chapter.samples)

    # the engine's own leading/trailing silence is gone: sound starts and ends at the margins
    raw_first, _ = loud_edges(spoken[0], ENGINE_RATE)
    first, _ = loud_edges(decoded, WORK_RATE)
    assert raw_first > ONSET_MARGIN_MS + 30  # there was something to trim
    assert first < ONSET_MARGIN_MS + 15
    _, last = loud_edges(decoded[: round(chapter.spans_ms[-1][1] * WORK_RATE / 1000)], WORK_RATE)
    assert chapter.spans_ms[-1][1] - last < TAIL_MARGIN_MS + 15
    # each configured pause is there, and silent in the MP3 (skip 20 ms of codec spread)
    for (_, end), pause in zip(chapter.spans_ms, PAUSES_MS, strict=True):
        a, b = round((end + 20) * WORK_RATE / 1000), round((end + pause - 20) * WORK_RATE / 1000)
        assert rms_dbfs(decoded[a:b]) < -60
    start, end = (round(ms * WORK_RATE / 1000) for ms in chapter.spans_ms[1])
    assert rms_dbfs(decoded[start:end]) > -35
