"""The signal processing assembly and mastering need, in numpy alone: polyphase resampling,
the BS.1770 K-weighting filter, and centred sliding minimum and mean.

scipy.signal (and pyloudnorm, which imports it) takes 2-4 s to import on our 2-core machines:
more than building a chapter's audio. These are the few operations we used from them, computed
the same way (tests/unit/audio/test_dsp.py checks each against scipy and pyloudnorm):

- `resample_poly` is scipy's (same Kaiser-windowed FIR, same alignment and output length),
  done as one matrix product per call: output sample up*q + r is row q of a strided view of the
  input times column r of a matrix holding the polyphase filter bank.
- `k_weighting` is pyloudnorm's two biquads (RBJ cookbook high shelf and high pass), applied as
  their impulse response truncated where its remaining energy is below 1e-15 of the total
  (FFT overlap-add): the same loudness to far below 0.001 LU.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

_FFT_SIZE = 1 << 16
_IR_ENERGY_LEFT = 1e-15


def kaiser_lowpass(numtaps: int, cutoff: float, beta: float = 5.0) -> np.ndarray:
    """scipy.signal.firwin(numtaps, cutoff, window=("kaiser", beta)): cutoff relative to Nyquist,
    unity gain at DC."""
    m = np.arange(numtaps) - (numtaps - 1) / 2.0
    h = cutoff * np.sinc(cutoff * m) * np.kaiser(numtaps, beta)
    return h / h.sum()


@functools.cache
def _filter_bank(up: int, down: int, window: tuple[float, ...] | None) -> tuple[np.ndarray, int, int, int]:
    """(H, s_min, width, pre_remove): H[k, r] weighs input down*q + s_min + k for output up*q + r."""
    if window is None:
        half_len = 10 * max(up, down)
        h = kaiser_lowpass(2 * half_len + 1, 1.0 / max(up, down))
    else:
        h = np.asarray(window, dtype=np.float64)
        half_len = (len(h) - 1) // 2
    pre_pad = down - half_len % down  # scipy's alignment: output samples at the filter's centre
    h = np.concatenate([np.zeros(pre_pad), h * up])
    pre_remove = (half_len + pre_pad) // down
    # y[m] = sum_n x[n] h[(m + pre_remove) * down - up * n]; with m = up*q + r and n = down*q + s,
    # the tap is h[(r + pre_remove) * down - up * s], whatever q is.
    s_min = -((len(h) - 1 - pre_remove * down) // up)  # ceil((pre_remove*down - len(h) + 1) / up)
    s_max = (up - 1 + pre_remove) * down // up
    width = s_max - s_min + 1
    taps = (np.arange(up)[None, :] + pre_remove) * down - up * (s_min + np.arange(width)[:, None])
    valid = (taps >= 0) & (taps < len(h))
    bank = np.where(valid, h[np.clip(taps, 0, len(h) - 1)], 0.0)
    bank.flags.writeable = False
    return bank, s_min, width, pre_remove


def resample_poly(x: np.ndarray, up: int, down: int, window: np.ndarray | None = None) -> np.ndarray:
    """scipy.signal.resample_poly(x, up, down[, window]) for 1-D x (zero padding at the ends),
    computed in float64. Output length ceil(len(x) * up / down)."""
    g = math.gcd(up, down)
    up, down = up // g, down // g
    x = np.asarray(x, dtype=np.float64)
    if up == down == 1:
        return x.copy()
    n_out = -(-len(x) * up // down)
    if n_out == 0:
        return np.zeros(0)
    bank, s_min, width, _ = _filter_bank(up, down, None if window is None else tuple(map(float, window)))
    rows = -(-n_out // up)
    left = max(0, -s_min)
    right = max(0, down * (rows - 1) + s_min + width - len(x))
    padded = np.concatenate([np.zeros(left), x, np.zeros(right)])
    start = padded[left + s_min:]
    view = as_strided(start, shape=(rows, width), strides=(down * start.strides[0], start.strides[0]),
                      writeable=False)
    return (view @ bank).reshape(-1)[:n_out]


def upsampled_rows(x: np.ndarray, up: int, rows: np.ndarray) -> np.ndarray:
    """resample_poly(x, up, 1).reshape(len(x), up)[rows]: the `up` upsampled values from input
    sample n up to (not including) n + 1, computed for the requested rows n only."""
    bank, s_min, width, _ = _filter_bank(up, 1, None)
    padded = np.concatenate([np.zeros(max(0, -s_min)), np.asarray(x, dtype=np.float64),
                             np.zeros(max(0, s_min + width))])
    windows = sliding_window_view(padded[max(0, -s_min) + s_min:], width)  # row n: x[n + s_min ...]
    rows = np.asarray(rows, dtype=np.int64)
    out = np.empty((len(rows), up))
    for first in range(0, len(rows), 1 << 16):  # bounded memory: 64 Ki rows × width at a time
        chunk = rows[first:first + (1 << 16)]
        out[first:first + len(chunk)] = windows[chunk] @ bank
    return out


@functools.cache
def upsampled_bounds(up: int) -> tuple[int, int, float]:
    """For upsampled_rows: (first, last) input offset from n that row n depends on, and the
    largest sum of |taps| of the `up` polyphase filters (an upsampled value is at most this
    times the largest input sample in its filter's reach)."""
    bank, s_min, width, _ = _filter_bank(up, 1, None)
    return s_min, s_min + width - 1, float(np.abs(bank).sum(axis=0).max())


# ------------------------------------------------------------------------------- K-weighting


def _biquad(kind: str, gain_db: float, q: float, fc: float, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """pyloudnorm's IIRfilter coefficients (RBJ audio EQ cookbook), normalised by a0."""
    a_ = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * fc / rate
    alpha = math.sin(w0) / (2.0 * q)
    cos = math.cos(w0)
    if kind == "high_shelf":
        root = 2.0 * math.sqrt(a_) * alpha
        b = [a_ * ((a_ + 1) + (a_ - 1) * cos + root), -2 * a_ * ((a_ - 1) + (a_ + 1) * cos),
             a_ * ((a_ + 1) + (a_ - 1) * cos - root)]
        a = [(a_ + 1) - (a_ - 1) * cos + root, 2 * ((a_ - 1) - (a_ + 1) * cos), (a_ + 1) - (a_ - 1) * cos - root]
    else:  # high_pass
        b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
        a = [1 + alpha, -2 * cos, 1 - alpha]
    return np.array(b) / a[0], np.array(a) / a[0]


def k_weighting_stages(rate: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """BS.1770's pre-filter (+4 dB shelf above ~1.5 kHz) and RLB high pass, as pyloudnorm designs
    them for any sample rate: [(b, a), (b, a)]."""
    return [_biquad("high_shelf", 4.0, 1.0 / math.sqrt(2.0), 1500.0, rate),
            _biquad("high_pass", 0.0, 0.5, 38.0, rate)]


@functools.cache
def _k_impulse_response(rate: int) -> np.ndarray:
    """The K-weighting's impulse response, cut where less than 1e-15 of its energy is left."""
    n = 1 << 14
    h = np.zeros(n)
    h[0] = 1.0
    for b, a in k_weighting_stages(rate):
        out = np.zeros(n)
        y1 = y2 = x1 = x2 = 0.0
        for i, x0 in enumerate(h.tolist()):  # a direct-form biquad on an impulse, once per rate
            y0 = b[0] * x0 + b[1] * x1 + b[2] * x2 - a[1] * y1 - a[2] * y2
            out[i], x2, x1, y2, y1 = y0, x1, x0, y1, y0
        h = out
    tail = np.cumsum((h * h)[::-1])[::-1]  # energy from sample i on
    length = int(np.argmax(tail < _IR_ENERGY_LEFT * tail[0]))
    if length == 0 or length > _FFT_SIZE // 2:
        raise ValueError(f"K-weighting impulse response too long at {rate} Hz")
    h = h[:length]
    h.flags.writeable = False
    return h


@functools.cache
def _k_spectrum(rate: int, size: int) -> np.ndarray:
    return np.fft.rfft(_k_impulse_response(rate), size)


def k_weighting(x: np.ndarray, rate: int) -> np.ndarray:
    """x filtered by the K-weighting (float64, same length), by FFT overlap-add over the stretches
    where x is not zero: a signal that is mostly zero (a correction to a few limited passages)
    filters in a fraction of the time of a full one."""
    taps = len(_k_impulse_response(rate))
    x = np.asarray(x, dtype=np.float64)
    y = np.zeros(len(x) + taps)
    nonzero = np.flatnonzero(x)
    if len(nonzero) == 0:
        return y[:len(x)]
    breaks = np.flatnonzero(np.diff(nonzero) > taps)
    starts = nonzero[np.concatenate([[0], breaks + 1])]
    ends = nonzero[np.concatenate([breaks, [len(nonzero) - 1]])] + 1
    for first, end in zip(starts.tolist(), ends.tolist(), strict=True):
        size = min(_FFT_SIZE, 1 << (end - first + taps - 2).bit_length())
        step = size - taps + 1
        spectrum = _k_spectrum(rate, size)
        for start in range(first, end, step):
            block = x[start:min(start + step, end)]
            out = np.fft.irfft(np.fft.rfft(block, size) * spectrum, size)[:len(block) + taps - 1]
            y[start:start + len(out)] += out
    return y[:len(x)]


# ------------------------------------------------------------------------------- sliding filters


def _edge_padded(x: np.ndarray, size: int) -> np.ndarray:
    if size % 2 != 1 or size < 1:
        raise ValueError(f"window size must be odd and positive, got {size}")
    return np.pad(np.asarray(x), size // 2, mode="edge")


def sliding_min(x: np.ndarray, size: int) -> np.ndarray:
    """Minimum over the centred window of odd `size`, ends extended with the edge values
    (scipy.ndimage.minimum_filter1d(x, size, mode="nearest")). O(n): van Herk / Gil-Werman."""
    if len(x) == 0:
        return np.asarray(x).copy()
    padded = _edge_padded(x, size)
    blocks = -(-len(padded) // size)
    padded = np.pad(padded, (0, blocks * size - len(padded)), mode="edge").reshape(blocks, size)
    prefix = np.minimum.accumulate(padded, axis=1).ravel()  # min from its block's start to i
    suffix = np.minimum.accumulate(padded[:, ::-1], axis=1)[:, ::-1].ravel()  # min from i to its block's end
    return np.minimum(suffix[:len(x)], prefix[size - 1:size - 1 + len(x)])


def sliding_mean(x: np.ndarray, size: int) -> np.ndarray:
    """Mean over the centred window of odd `size`, ends extended with the edge values
    (scipy.ndimage.uniform_filter1d(x, size, mode="nearest")), in float64."""
    if len(x) == 0:
        return np.asarray(x, dtype=np.float64).copy()
    sums = np.concatenate([[0.0], np.cumsum(_edge_padded(x, size), dtype=np.float64)])
    return (sums[size:] - sums[:-size]) / size
