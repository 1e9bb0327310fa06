"""Chapter assembly: engine segments → one float PCM track at the working rate.

Each piece (one synthesized sentence) is trimmed of the engine's own leading and trailing
silence, resampled to WORK_RATE, faded at its edges and followed by exactly the configured
pause, so the pauses the listener hears are the ones the voice profile says.

Chapters are assembled one at a time and each is built in one preallocated array, so memory
is bounded by the largest chapter (~10 MB per minute as float32), never by the book. The
full episode is joined from the chapter MP3s (audio/mp3join.py), not from PCM.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import AudioError
from .dsp import resample_poly

WORK_RATE = 44100
# A sample counts as sound when it is within TRIM_RELATIVE_DB of the segment's peak and above
# TRIM_FLOOR_DBFS. The local voice pads with digital zeros; edge's decoded MP3 has a faint floor.
TRIM_RELATIVE_DB = -50.0
TRIM_FLOOR_DBFS = -60.0
# Sound kept around the detected edges: onsets (s, f, h) rise from very low levels and
# sentence ends decay slowly, so a margin keeps them whole. The pause is added after the tail.
ONSET_MARGIN_MS = 20.0
TAIL_MARGIN_MS = 40.0
FADE_MS = 5.0  # raised-cosine fade at both ends of each piece: no click where the cut falls


@dataclass
class Piece:
    """One synthesized sentence and the silence that follows it."""

    samples: np.ndarray  # int16 mono
    sample_rate: int
    pause_after_ms: int


@dataclass
class AssembledChapter:
    samples: np.ndarray  # float32 mono at WORK_RATE, before loudness gain
    # per piece, in chapter time (ms): where its audio (speech plus margins) starts and ends;
    # the pause follows, so spans_ms[i][1] + pause_after_ms[i] == spans_ms[i + 1][0].
    spans_ms: list[tuple[float, float]] = field(default_factory=list)
    # per piece, the chapter time of its original sample 0 (before trimming): add an engine
    # boundary's offset_ms to it to place that word in the chapter.
    origins_ms: list[float] = field(default_factory=list)
    sample_rate: int = WORK_RATE

    @property
    def duration_ms(self) -> float:
        return 1000.0 * len(self.samples) / self.sample_rate


def _ratio(rate: int) -> tuple[int, int]:
    g = math.gcd(WORK_RATE, rate)
    return WORK_RATE // g, rate // g  # 24 kHz → 147/80


def _resampled_len(n: int, rate: int) -> int:
    up, down = _ratio(rate)
    return -(-n * up // down)  # resample_poly's output length: ceil(n * up / down)


def to_work_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """int16 (or float) mono at `rate` → float32 in [-1, 1] at WORK_RATE (polyphase, deterministic)."""
    x = samples.astype(np.float32) / 32768.0 if samples.dtype == np.int16 else samples.astype(np.float32)
    if rate == WORK_RATE or len(x) == 0:
        return x
    up, down = _ratio(rate)
    return resample_poly(x, up, down).astype(np.float32)


def speech_bounds(samples: np.ndarray, rate: int) -> tuple[int, int]:
    """[start, end) of the part of a segment worth keeping: first to last sample above the
    silence threshold, widened by the onset/tail margins. (0, 0) if it is all silence."""
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise AudioError(f"a speech segment must be mono int16, got {samples.dtype} {samples.shape}")
    level = np.abs(samples.astype(np.int32))
    if len(level) == 0:
        return 0, 0
    peak = int(level.max())
    threshold = max(peak * 10 ** (TRIM_RELATIVE_DB / 20), 32768 * 10 ** (TRIM_FLOOR_DBFS / 20))
    loud = np.flatnonzero(level > threshold)
    if len(loud) == 0:
        return 0, 0
    start = max(0, int(loud[0]) - round(ONSET_MARGIN_MS * rate / 1000))
    end = min(len(samples), int(loud[-1]) + 1 + round(TAIL_MARGIN_MS * rate / 1000))
    return start, end


def _fade(x: np.ndarray) -> None:
    n = min(len(x) // 2, round(FADE_MS * WORK_RATE / 1000))
    if n == 0:
        return
    ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n, dtype=np.float32))).astype(np.float32)
    x[:n] *= ramp
    x[len(x) - n:] *= ramp[::-1]


@dataclass
class Layout:
    """Where each piece goes in a chapter, worked out from the pieces' bounds alone (no
    resampling): what captions need, and the exact length of the assembled audio."""

    bounds: list[tuple[int, int]]  # per piece, [start, end) kept of its samples (speech_bounds)
    lengths: list[int]  # per piece, that stretch's length at WORK_RATE
    pauses: list[int]  # per piece, samples of silence after it
    lead: int  # samples of silence before the first piece
    spans_ms: list[tuple[float, float]]  # as AssembledChapter.spans_ms
    origins_ms: list[float]  # as AssembledChapter.origins_ms
    samples: int  # the assembled length


def layout(pieces: Sequence[Piece], lead_in_ms: int = 0) -> Layout:
    """Each piece's kept stretch and its place in the chapter, with its pause after it."""
    if any(p.pause_after_ms < 0 for p in pieces) or lead_in_ms < 0:
        raise AudioError("pauses must be zero or positive milliseconds")
    bounds = [speech_bounds(p.samples, p.sample_rate) for p in pieces]
    lengths = [_resampled_len(end - start, p.sample_rate)
               for p, (start, end) in zip(pieces, bounds, strict=True)]
    pauses = [round(p.pause_after_ms * WORK_RATE / 1000) for p in pieces]
    lead = round(lead_in_ms * WORK_RATE / 1000)
    spans: list[tuple[float, float]] = []
    origins: list[float] = []
    pos = lead
    for piece, (start, _), length, pause in zip(pieces, bounds, lengths, pauses, strict=True):
        origins.append(1000.0 * pos / WORK_RATE - 1000.0 * start / piece.sample_rate)
        spans.append((1000.0 * pos / WORK_RATE, 1000.0 * (pos + length) / WORK_RATE))
        pos += length + pause
    return Layout(bounds, lengths, pauses, lead, spans, origins, pos)


def assemble_chapter(pieces: Sequence[Piece], lead_in_ms: int = 0) -> AssembledChapter:
    """Trim, resample, fade and join a chapter's pieces with their pauses after them.

    Two passes: the layout finds every piece's bounds and so the exact output length; then
    each piece is resampled, one at a time, straight into the preallocated chapter array."""
    plan = layout(pieces, lead_in_ms)
    out = np.zeros(plan.samples, dtype=np.float32)
    pos = plan.lead
    for piece, (start, end), length, pause in zip(pieces, plan.bounds, plan.lengths, plan.pauses, strict=True):
        audio = to_work_rate(piece.samples[start:end], piece.sample_rate)
        if len(audio) != length:
            raise AudioError(f"resampling gave {len(audio)} samples, expected {length}")  # a bug, not input
        _fade(audio)
        out[pos:pos + len(audio)] = audio
        pos += length + pause
    return AssembledChapter(out, plan.spans_ms, plan.origins_ms)
