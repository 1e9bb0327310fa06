"""Speech-like test signals for the audio tests (deterministic, no engine needed).

A source-filter toy voice: a glottal pulse train with a wandering pitch plus a noise source
for fricatives, shaped by formant resonators and a syllable-rate envelope, with word gaps.
Unlike a sine wave it has speech's crest factor (peaky pulses) and its loudness gating
behaviour (bursts and silences), which is what loudness and limiter code must handle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.signal import lfilter


def _resonator(x: np.ndarray, freq: float, bandwidth: float, rate: int) -> np.ndarray:
    r = np.exp(-np.pi * bandwidth / rate)
    theta = 2 * np.pi * freq / rate
    return lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], x)


def speech_like(seconds: float, rate: int = 24000, seed: int = 0, peak: float = 0.5) -> np.ndarray:
    """Float64 mono in [-peak, peak] with syllables at ~4 Hz and ~25% of words silent."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    f0 = 190 + 40 * np.sin(2 * np.pi * 0.5 * t + rng.uniform(0, 6.3))
    pulses = np.diff(np.floor(np.cumsum(f0) / rate), prepend=0.0)  # 1 at each glottal closure
    voiced = lfilter([1.0], [1, -0.9], pulses)
    source = voiced + 0.08 * rng.standard_normal(n) * (np.sin(2 * np.pi * 1.3 * t) > 0.6)
    vowel = sum(g * _resonator(source, f, bw, rate)
                for f, bw, g in ((700, 90, 1.0), (1200, 110, 0.6), (2600, 160, 0.3)))
    syllables = np.clip(np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 6.3)), 0, None) ** 1.2
    words = np.repeat(rng.random(n // (rate // 2) + 1) > 0.25, rate // 2)[:n]
    x = vowel * syllables * words
    return x / np.max(np.abs(x)) * peak


def utterance(seconds: float, rate: int = 24000, seed: int = 0, lead_s: float = 0.3,
              tail_s: float = 0.4, noise_dbfs: float = -70.0) -> np.ndarray:
    """An engine-style int16 segment: speech with leading/trailing near-silence (a faint
    noise floor, as vocoders produce) of the given lengths."""
    rng = np.random.default_rng(seed + 1000)
    speech = speech_like(seconds, rate, seed)
    floor = 10 ** (noise_dbfs / 20)
    lead = floor * rng.standard_normal(int(lead_s * rate))
    tail = floor * rng.standard_normal(int(tail_s * rate))
    x = np.concatenate([lead, speech, tail])
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


def measure_file(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a file by ffmpeg's ebur128 alone: the reference the
    project's own loudness readings are checked against."""
    from audiobook.audio.ffmpeg import ebur128

    summary = ebur128(path)
    return summary.integrated_lufs, summary.true_peak_dbtp
