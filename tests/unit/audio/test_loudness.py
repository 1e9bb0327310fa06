"""Loudness mastering, judged where it counts: on the encoded MP3, measured by ffmpeg.

Measured while building this (speech-like and embedded-voice speech, 44.1 kHz mono):
- LAME scales its input by 0.95 (−0.45 dB) at ≤ 160 kbit/s, so an MP3 reads ~0.45 LU under its
  PCM; master() measures that and aims the PCM higher.
- gain alone to −19 LUFS left speech at −0.3…+0.0 dBTP in PCM and up to −0.4 dBTP in the MP3.
- with the limiter at exactly −1 dBTP (no extra headroom) the MP3's true peak, net of LAME's gain,
  came out up to +0.7 dB higher at 64 kbit/s (+1.2 at 48): hence MP3_HEADROOM_DB = 1.0.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from audiobook.audio.blocks import measure_block
from audiobook.audio.ffmpeg import decode_pcm, ebur128, encode_mp3_file
from audiobook.audio.loudness import (
    gated_loudness,
    integrated_lufs,
    limit_true_peak,
    master,
    true_peak,
)
from audiobook.audio.mp3join import join_mp3
from tests.support.speech import measure_file, speech_like

RATE = 44100


def speech_at(level_db: float, seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    """Speech-like audio as the engines give it (24 kHz, resampled), peak at level_db dBFS."""
    x = resample_poly(speech_like(seconds, 24000, seed=seed, peak=1.0), 147, 80)
    return x / np.max(np.abs(x)) * 10 ** (level_db / 20)


def write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    return path


def test_our_meters_agree_with_ffmpeg(tmp_path: Path):
    pcm = np.round(speech_at(-2.0) * 32767).astype(np.int16)
    lufs, peak = measure_file(write_wav(tmp_path / "a.wav", pcm))
    assert integrated_lufs(pcm, RATE) == pytest.approx(lufs, abs=0.15)
    assert true_peak(pcm) == pytest.approx(peak, abs=0.15)
    assert true_peak(pcm) > 20 * np.log10(np.abs(pcm).max() / 32768)  # inter-sample peaks exist


@pytest.mark.parametrize("level_db", [-30.0, -12.0, -0.5], ids=["quiet", "moderate", "hot"])
def test_master_hits_target_on_the_encoded_mp3(tmp_path: Path, level_db: float):
    out, stats = master(speech_at(level_db, seed=1), RATE, mp3_kbps=64)
    path = tmp_path / "ch.mp3"
    encode_mp3_file([out], RATE, 64, path)
    lufs, peak = measure_file(path)
    assert lufs == pytest.approx(-19.0, abs=0.5)
    assert peak <= -1.0
    assert stats.lufs == pytest.approx(-19.0 - stats.codec_gain_db, abs=0.1)


def test_gain_alone_would_break_the_true_peak_rule():
    x = speech_at(-20.0, seconds=8.0, seed=2)
    gained = x * 10 ** ((-19.0 - integrated_lufs(x, RATE)) / 20)
    assert true_peak(gained) > -1.0  # why a limiter is needed at all
    out, stats = master(x, RATE, mp3_kbps=None)
    assert true_peak(out) <= -0.99
    assert integrated_lufs(out, RATE) == pytest.approx(-19.0, abs=0.1)
    assert 0 < stats.limited_pct < 5  # it touched only the peaks


def test_limiter_is_smooth_and_keeps_the_ceiling():
    rng = np.random.default_rng(5)
    x = speech_at(-10.0, seed=3)
    clicks = rng.choice(len(x), 20, replace=False)
    x[clicks] = 0.99  # isolated spikes: the worst case for a limiter
    y, gain = limit_true_peak(x, RATE, -3.0)
    assert true_peak(y) <= -2.98
    assert np.max(np.abs(np.diff(gain))) < 0.01  # no gain steps, so no clicks
    assert np.all(gain[np.abs(x) < 0.05] > 0.5)  # quiet parts mostly untouched


def test_silence_and_very_short_audio():
    out, stats = master(np.zeros(RATE), RATE)
    assert not out.any() and stats.lufs == -np.inf
    x = speech_at(-6.0, seconds=0.3)  # shorter than one 400 ms gating block
    short, _ = master(x, RATE, mp3_kbps=None)
    assert len(short) == len(x)
    assert integrated_lufs(short, RATE) == pytest.approx(-19.0, abs=0.1)
    assert true_peak(short) <= -0.99


def test_chapters_and_streamed_episode_agree(tmp_path: Path):
    """Chapters recorded at very different levels come out within ±1 LU of each other, and the
    full episode streamed from their PCM files is on target too."""
    levels, mp3_files, chapter_lufs = [-30.0, -6.0, -15.0], [], []
    for i, level in enumerate(levels):
        out, _ = master(speech_at(level, seconds=3.0, seed=10 + i), RATE)
        mp3_files.append(tmp_path / f"{i}.mp3")
        encode_mp3_file([out], RATE, 64, mp3_files[-1])
        chapter_lufs.append(measure_file(mp3_files[-1])[0])
    assert max(chapter_lufs) - min(chapter_lufs) <= 1.0
    episode = tmp_path / "episode.mp3"
    join_mp3(mp3_files, episode)  # how the renderer builds the full episode
    lufs, peak = measure_file(episode)
    assert lufs == pytest.approx(-19.0, abs=1.0)
    assert peak <= -1.0


def test_block_readings_read_like_ebur128(tmp_path: Path):
    """What render.json reports (blocks' gating energies and our true peak of the decoded MP3,
    audio/blocks.py) against ffmpeg's ebur128 on the same files."""
    for i, level in enumerate([-30.0, -6.0]):
        out, _ = master(speech_at(level, seconds=3.0, seed=20 + i), RATE)
        path = tmp_path / f"{i}.mp3"
        encode_mp3_file([out], RATE, 64, path)
        decoded = decode_pcm(path, RATE)
        ours, theirs = measure_block(decoded, len(decoded)), ebur128(path)
        assert gated_loudness(ours.energies) == pytest.approx(theirs.integrated_lufs, abs=0.05)
        assert ours.true_peak_dbtp == pytest.approx(theirs.true_peak_dbtp, abs=0.1)
