"""Loudness mastering: gain to a target integrated loudness (ITU-R BS.1770-4; the meter is ours,
in numpy, checked against pyloudnorm and ffmpeg's ebur128 in tests), with a true-peak-aware
limiter so that gain never pushes inter-sample peaks over the ceiling.

Peak normalisation is not loudness normalisation: two chapters peak-normalised to the same
level can differ by several LU. We set the loudness, and only then keep the peaks in check.
Both rules apply to the encoded MP3: LAME scales its input (−0.45 dB at ≤ 160 kbit/s) and
its coding noise adds peak overshoot, so master() aims the PCM to land on target after encoding.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .dsp import k_weighting, sliding_mean, sliding_min, upsampled_bounds, upsampled_rows
from .ffmpeg import mp3_encoder_gain_db

log = logging.getLogger(__name__)

TARGET_LUFS = -19.0  # mono spoken word (−16 stereo); DESIGN.md §5
TRUE_PEAK_DBTP = -1.0
# Room under the ceiling for MP3 coding overshoot (beyond LAME's own gain, which master()
# measures and compensates). Measured: see the module docstring of tests/unit/audio/test_loudness.py.
MP3_HEADROOM_DB = 1.0
OVERSAMPLE = 4  # BS.1770 Annex 2 asks for ≥ 4× at 48 kHz
LIMITER_WINDOW_MS = 5.0  # gain reaches its minimum this long before a peak and recovers as fast
_BLOCK_S = 0.4  # pyloudnorm's gating block


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def _as_float(samples: np.ndarray) -> np.ndarray:
    if samples.dtype == np.int16:
        return samples.astype(np.float64) / 32768.0
    return samples.astype(np.float64, copy=False)


def integrated_lufs(samples: np.ndarray, rate: int) -> float:
    """BS.1770-4 integrated loudness of mono audio (int16, or float in [-1, 1]); -inf for silence.
    The same value as pyloudnorm's Meter.integrated_loudness (tested to 0.01 LU), vectorised."""
    return _gated_lufs(k_weighting(_as_float(samples), rate), rate)


def _gated_lufs(y: np.ndarray, rate: int) -> float:
    """Integrated loudness of an already K-weighted signal."""
    return gated_loudness(gating_energies(y, rate))


def gating_energies(y: np.ndarray, rate: int) -> np.ndarray:
    """The mean square of every 400 ms gating block of a K-weighted signal, with 75 % overlap
    (pyloudnorm's block bounds). Audio shorter than one block is padded with silence, which the
    absolute gate ignores. Several signals' energies, concatenated, gate as one programme
    (a chapter measured block by block: audio/blocks.py)."""
    block = round(_BLOCK_S * rate)
    if len(y) < block + 1:
        y = np.concatenate([y, np.zeros(block + 1 - len(y))])
    step_s = _BLOCK_S * 0.25
    count = int(np.round((len(y) / rate - _BLOCK_S) / step_s)) + 1
    lower = (_BLOCK_S * 0.25 * np.arange(count) * rate).astype(np.int64)
    upper = np.minimum((_BLOCK_S * (0.25 * np.arange(count) + 1) * rate).astype(np.int64), len(y))
    # the energy between consecutive block edges (reduceat: one pass, no running sum over every
    # sample), then each block's as a difference of the edges' cumulative energies
    edges = np.unique(np.concatenate([lower, upper]))
    edges = edges[edges < len(y)]
    cumulative = np.concatenate([[0.0], np.cumsum(np.add.reduceat(y * y, edges))])
    points = np.concatenate([edges, [len(y)]])
    energy_at = cumulative[np.searchsorted(points, upper)] - cumulative[np.searchsorted(points, lower)]
    return np.maximum(energy_at / (_BLOCK_S * rate), 0.0)  # a difference of sums can round below zero


def gated_loudness(z: np.ndarray) -> float:
    """BS.1770-4 integrated loudness from gating-block energies: the absolute (-70 LUFS) and
    relative (-10 LU) gates, then the mean; -inf when nothing passes."""
    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10.0 * np.log10(z)
    gated = z[block_lufs >= -70.0]
    if len(gated) == 0:
        return -math.inf
    relative = -0.691 + 10.0 * math.log10(gated.mean()) - 10.0
    gated = z[(block_lufs > relative) & (block_lufs > -70.0)]
    if len(gated) == 0:
        return -math.inf
    return -0.691 + 10.0 * math.log10(gated.mean())


def true_peak_envelope(samples: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Per-sample true peak (float32): the max |x| of the 4× oversampled signal between sample n
    and n+1, wherever that can reach `floor`; elsewhere |x[n]| stands in.

    Oversampling is the expensive part, and only samples near a loud one can have an
    interpolated value at `floor`: an interpolated value is at most `bound` (the polyphase
    filters' largest sum of |taps|, 2.24 for the 4× filter) times the largest sample in its
    filter's reach, so rows with no sample ≥ floor / bound within that reach are skipped.
    floor=0 oversamples everything."""
    x = _as_float(samples)
    env = np.abs(x).astype(np.float32)
    if len(x) == 0:
        return env
    _, _, bound = upsampled_bounds(OVERSAMPLE)  # resample_poly's default 81-tap Kaiser filter
    rows = _rows_reaching(env >= floor / bound)
    env[rows] = np.abs(upsampled_rows(x, OVERSAMPLE, rows)).max(axis=1)
    return env


def _rows_reaching(loud: np.ndarray) -> np.ndarray:
    """The rows n whose 4× interpolation filter reaches a loud sample (one in [n + first, n + last]):
    a sliding count, from one cumulative sum."""
    first, last, _ = upsampled_bounds(OVERSAMPLE)
    count = np.cumsum(np.concatenate([np.zeros(1 - first, np.int32), loud, np.zeros(last, np.int32)]),
                      dtype=np.int32)
    return np.flatnonzero(count[last - first + 1:] != count[:len(loud)])


def true_peak(samples: np.ndarray) -> float:
    """True peak in dBTP (4× oversampling; within ~0.1 dB of ffmpeg's ebur128 reading).

    Only rows whose filter reaches a sample ≥ peak / bound can interpolate above the sample
    peak, so only those are oversampled; int16 input stays int16 until then (a chapter is ~6 M
    samples: 0.08 s instead of 0.4 s for a float64 copy and a full envelope)."""
    if len(samples) == 0:
        return -math.inf
    _, _, bound = upsampled_bounds(OVERSAMPLE)
    sample_peak = max(float(samples.max()), -float(samples.min()))
    if sample_peak == 0:
        return -math.inf
    # float32 magnitudes are cheap; the threshold is lowered a hair for their rounding
    rows = _rows_reaching(np.abs(samples.astype(np.float32)) >= np.float32(sample_peak / bound * (1 - 1e-6)))
    peak = max(sample_peak, float(np.abs(upsampled_rows(samples, OVERSAMPLE, rows)).max(initial=0.0)))
    scale = 32768.0 if samples.dtype == np.int16 else 1.0
    return 20.0 * math.log10(peak / scale)


def limit_true_peak(x: np.ndarray, rate: int, ceiling_dbtp: float,
                    envelope: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Look-ahead limiter on the oversampled peak envelope; returns (limited, gain curve).

    The gain each sample needs is min(1, ceiling / true_peak). A sliding minimum over ±W
    followed by a moving average over ±W is a smooth curve that never exceeds that need
    (every average term is a minimum over a window containing the sample), so peaks land at
    or below the ceiling without the clicks of hard clipping. `envelope` may be passed in
    (the envelope of a scaled signal is the scaled envelope)."""
    ceiling = db_to_gain(ceiling_dbtp)
    peak = true_peak_envelope(x, ceiling) if envelope is None else envelope
    gain = np.ones(len(x))
    over = np.flatnonzero(peak > ceiling)
    if len(over) == 0:
        return x, gain
    half = max(1, round(LIMITER_WINDOW_MS * rate / 1000))
    size, reach = 2 * half + 1, 2 * half  # the gain at n depends on the need within ±reach
    # Only the stretches around samples over the ceiling move: each is computed on its own, with
    # `reach` samples of context that need no gain on both sides (what the filters see there).
    split = np.flatnonzero(np.diff(over) > 4 * reach) + 1
    for run in np.split(over, split):
        lo, hi = max(0, int(run[0]) - reach), min(len(x), int(run[-1]) + 1 + reach)
        need = np.minimum(1.0, ceiling / np.maximum(peak[lo:hi].astype(np.float64), 1e-12))
        smooth = sliding_mean(sliding_min(need, size), size)
        gain[lo:hi] = np.minimum(smooth, need)  # float rounding in the average
    return x * gain, gain


@dataclass(frozen=True)
class MasterStats:
    input_lufs: float
    gain_db: float  # make-up gain applied before the limiter
    lufs: float  # integrated loudness of the returned PCM
    true_peak_dbtp: float  # true peak of the returned PCM
    codec_gain_db: float  # what the MP3 encoder will add (negative: LAME scales down)
    limited_pct: float  # share of samples the limiter turned down by more than 0.1 dB
    max_reduction_db: float


def master(samples: np.ndarray, rate: int, target_lufs: float = TARGET_LUFS,
           true_peak_dbtp: float = TRUE_PEAK_DBTP,
           mp3_kbps: int | None = 64, gain_db: float | None = None) -> tuple[np.ndarray, MasterStats]:
    """Gain mono audio so that it measures `target_lufs` with true peak ≤ `true_peak_dbtp`
    once encoded as `mp3_kbps` MP3 (or as PCM when mp3_kbps is None); return int16 PCM.

    For MP3 the PCM is aimed at the target minus the encoder's own gain, and limited
    MP3_HEADROOM_DB under the ceiling to absorb coding overshoot. The limiter lowers
    loudness a little, so the gain is corrected and the limiter re-run (from the original
    signal each time) until the PCM is within 0.05 LU of its aim.

    With `gain_db` (a gain chosen before for the programme this audio is one block of), that
    gain is applied and limited, and nothing is measured (the stats' loudness fields are NaN)."""
    (out,), stats = master_blocks(samples, rate, [len(samples)], target_lufs, true_peak_dbtp, mp3_kbps, gain_db)
    return out, stats


def master_blocks(samples: np.ndarray, rate: int, lengths: Sequence[int], target_lufs: float = TARGET_LUFS,
                  true_peak_dbtp: float = TRUE_PEAK_DBTP, mp3_kbps: int | None = 64,
                  gain_db: float | None = None) -> tuple[list[np.ndarray], MasterStats]:
    """master() for a programme made of blocks (consecutive stretches of `lengths` samples that
    meet in silence; audio/blocks.py): one gain for the whole, then each block's int16 PCM.

    Everything after the gain is local to a block: the limiter's reach is milliseconds, and the
    final trim (_settle) is per block. So a block mastered alone with the programme's gain_db
    comes out sample for sample as it does here: an edit re-masters only the block it touched."""
    if sum(lengths) != len(samples):
        raise ValueError(f"blocks of {sum(lengths)} samples for {len(samples)}")  # a bug, not input
    x = _as_float(samples)
    codec_gain_db = mp3_encoder_gain_db(mp3_kbps) if mp3_kbps else 0.0
    aim_lufs = target_lufs - codec_gain_db
    ceiling_dbtp = true_peak_dbtp - codec_gain_db - (MP3_HEADROOM_DB if mp3_kbps else 0.0)
    if gain_db is not None:
        g = db_to_gain(gain_db)
        # exact wherever the gained signal can reach the ceiling: all the limiter looks at
        envelope = true_peak_envelope(x, db_to_gain(ceiling_dbtp - gain_db))
        y, limiter_gain = limit_true_peak(x * g, rate, ceiling_dbtp, envelope * g)
        input_lufs = lufs = math.nan
    else:
        # K-weighting is linear: the limited signal's filtered form is the input's, scaled, plus the
        # filtered correction (x * (limiter_gain - 1)), which is zero wherever the limiter rests.
        weighted = k_weighting(x, rate)
        input_lufs = _gated_lufs(weighted, rate)
        if not math.isfinite(input_lufs):  # silence: nothing to normalise
            stats = MasterStats(input_lufs, 0.0, input_lufs, -math.inf, codec_gain_db, 0.0, 0.0)
            return [np.zeros(n, dtype=np.int16) for n in lengths], stats
        gain_db = aim_lufs - input_lufs
        # Gain changes the envelope only by a factor, so oversample once, with the search floor
        # set for the largest gain we might try.
        envelope = true_peak_envelope(x, db_to_gain(ceiling_dbtp - gain_db - 3.0))
        for _ in range(4):
            g = db_to_gain(gain_db)
            y, limiter_gain = limit_true_peak(x * g, rate, ceiling_dbtp, envelope * g)
            lufs = _gated_lufs(g * (weighted + k_weighting(x * (limiter_gain - 1.0), rate)), rate)
            if abs(lufs - aim_lufs) < 0.05:
                break
            gain_db += aim_lufs - lufs
    edges = np.cumsum([0, *lengths])
    settled = [_settle(y[a:b], ceiling_dbtp) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    peak = max((p for _, p in settled), default=-math.inf)
    stats = MasterStats(input_lufs, gain_db, lufs, peak, codec_gain_db, *_limiter_summary(limiter_gain))
    log.debug("mastered: %s", stats)
    return [out for out, _ in settled], stats


def _settle(y: np.ndarray, ceiling_dbtp: float) -> tuple[np.ndarray, float]:
    """int16 PCM and its true peak. The smoothed gain is checked per sample; interpolation
    between two differently-gained samples can still poke a hair over, so settle any remainder
    with a plain trim."""
    peak = true_peak(y)
    if peak > ceiling_dbtp:
        y = y * db_to_gain(ceiling_dbtp - peak - 0.01)
        peak = ceiling_dbtp - 0.01
    return np.clip(np.round(y * 32768.0), -32768, 32767).astype(np.int16), peak


def _limiter_summary(limiter_gain: np.ndarray) -> tuple[float, float]:
    """(share of samples turned down by more than 0.1 dB in %, the largest reduction in dB)"""
    limited = 100.0 * float(np.count_nonzero(limiter_gain < db_to_gain(-0.1))) / max(1, len(limiter_gain))
    return limited, -20.0 * math.log10(max(float(limiter_gain.min(initial=1.0)), 1e-6))
