"""audio/dsp.py against the libraries it replaces at run time (scipy.signal, scipy.ndimage,
pyloudnorm: test-only dependencies), and the render path importing none of them."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyloudnorm
import pytest
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import firwin, sosfilt
from scipy.signal import resample_poly as scipy_resample_poly

from audiobook.audio import dsp
from audiobook.audio.loudness import integrated_lufs, true_peak_envelope
from tests.support import PROJECT
from tests.support.speech import speech_like


@pytest.mark.parametrize("length", [1, 2, 79, 80, 81, 147, 1000, 24000 * 3 + 17])
@pytest.mark.parametrize(("up", "down"), [(147, 80), (80, 147), (4, 1), (3, 2)])
def test_resample_poly_is_scipys(length: int, up: int, down: int) -> None:
    x = np.random.default_rng(length).standard_normal(length)
    ours, theirs = dsp.resample_poly(x, up, down), scipy_resample_poly(x, up, down)
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() < 1e-12


def test_resample_poly_with_a_given_filter_and_degenerate_input() -> None:
    window = firwin(81, 0.25, window=("kaiser", 5.0))
    assert np.abs(window - dsp.kaiser_lowpass(81, 0.25)).max() < 1e-15
    x = np.random.default_rng(1).standard_normal(5000)
    assert np.abs(dsp.resample_poly(x, 4, 1, window) - scipy_resample_poly(x, 4, 1, window=window)).max() < 1e-12
    assert dsp.resample_poly(np.zeros(0), 147, 80).shape == (0,)
    assert np.array_equal(dsp.resample_poly(x, 5, 5), x)


@pytest.mark.parametrize("rate", [44100, 48000, 24000])
def test_k_weighting_is_pyloudnorms_filter(rate: int) -> None:
    stages = list(pyloudnorm.Meter(rate)._filters.values())
    for (b, a), stage in zip(dsp.k_weighting_stages(rate), stages, strict=True):
        assert np.allclose(b, stage.b * stage.passband_gain, rtol=1e-12) and np.allclose(a, stage.a, rtol=1e-12)
    sos = np.vstack([np.concatenate([s.b * s.passband_gain, s.a]) for s in stages])
    x = speech_like(20.0, rate, seed=4, peak=0.5)
    assert np.abs(dsp.k_weighting(x, rate) - sosfilt(sos, x)).max() < 1e-6
    x[rate:5 * rate] = 0.0  # zero blocks are skipped, and still filtered right
    assert np.abs(dsp.k_weighting(x, rate) - sosfilt(sos, x)).max() < 1e-6


@pytest.mark.parametrize(("seconds", "seed"), [(0.2, 0), (3.0, 1), (47.0, 2)])
def test_integrated_loudness_is_pyloudnorms(seconds: float, seed: int) -> None:
    x = speech_like(seconds, 44100, seed=seed, peak=0.7)
    x[: len(x) // 3] *= 0.05  # a quiet stretch for the relative gate to drop
    padded = np.concatenate([x, np.zeros(max(0, 17641 - len(x)))])  # pyloudnorm wants ≥ one block
    assert integrated_lufs(x, 44100) == pytest.approx(pyloudnorm.Meter(44100).integrated_loudness(padded), abs=0.01)


@pytest.mark.parametrize("size", [1, 3, 443])
def test_sliding_min_and_mean_are_scipy_ndimages(size: int) -> None:
    x = np.random.default_rng(size).random(10007)
    assert np.array_equal(dsp.sliding_min(x, size), minimum_filter1d(x, size, mode="nearest"))
    assert np.abs(dsp.sliding_mean(x, size) - uniform_filter1d(x, size, mode="nearest")).max() < 1e-12
    assert np.array_equal(dsp.sliding_min(x[:2], size), minimum_filter1d(x[:2], size, mode="nearest"))
    with pytest.raises(ValueError, match="odd"):
        dsp.sliding_min(x, 4)


def test_rendering_audio_imports_neither_scipy_nor_pyloudnorm() -> None:
    """They cost 2-4 s to import: more than re-building an edited chapter's audio."""
    code = ("import sys, numpy as np; from audiobook.audio.assemble import assemble_chapter, Piece; "
            "from audiobook.audio.loudness import master; from audiobook.render import build; "
            "c = assemble_chapter([Piece((np.sin(np.arange(24000) / 9) * 9000).astype(np.int16), 24000, 300)]); "
            "master(c.samples, 44100); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'pyloudnorm')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_true_peak_envelope_is_exact_wherever_it_can_reach_the_floor() -> None:
    x = speech_like(5.0, 44100, seed=6, peak=0.9)
    window = firwin(81, 0.25, window=("kaiser", 5.0))
    full = np.abs(scipy_resample_poly(x, 4, 1, window=window)).reshape(-1, 4).max(axis=1)
    for floor in (0.0, 0.3, 0.8):
        env = true_peak_envelope(x, floor)
        reach = full >= floor
        assert reach.any() and np.allclose(env[reach], full[reach], rtol=1e-6)
        assert (env[~reach] < floor).all()
    assert 0 < np.count_nonzero(env != np.abs(x).astype(np.float32)) < len(x) / 4  # most rows skipped
