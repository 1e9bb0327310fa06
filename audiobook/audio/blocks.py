"""A chapter's audio in blocks, so that an edit re-masters and re-encodes only the block it falls in.

A block is a run of consecutive sentences ending in a pause of at least MIN_SPLIT_PAUSE_MS: at
a paragraph's end once the block holds MIN_BLOCK_S of audio, or at any such pause once it holds
LONG_BLOCK_S. The rule looks only at the block itself, so the boundaries after an edit are the
old ones again from the first paragraph end that closes a block in both (usually the edited
paragraph's own end). Each block is encoded on its own (a fresh LAME encoder: no
bit reservoir reaches across blocks) and a chapter file is its blocks' frames joined, as the
episode is the chapters' (mp3join.py).

Timing. A block of L samples encodes to frames_for(L) frames of 1152 samples; joined, its
first sample lands on its first frame's start, and the codec's delay and padding (1152 to
2303 samples) become silence after it. So an inner block's PCM is cut or padded at its final
pause to aligned_length(L) samples: then its frames take round(L / 1152) × 1152 samples of
the chapter, and every pause between blocks lasts its configured length within ±13 ms.

Loudness. Each block is measured on its own decoded frames: the energies of its 400 ms gating
blocks (BS.1770) and its true peak, remembered under the hash of its frames. A chapter's
loudness gates all its blocks' energies together, so an edit measures only what it encoded.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import AudioError
from ..models import Sentence
from ..store.memo import recall, remember
from .dsp import k_weighting
from .ffmpeg import MP3_RATE
from .loudness import gated_loudness, gating_energies, true_peak
from .mp3join import SAMPLES_PER_FRAME

MIN_BLOCK_S = 10.0  # a block ends at a paragraph's end once it holds this much audio
LONG_BLOCK_S = 20.0  # ... or at any pause long enough once it holds this much
MIN_SPLIT_PAUSE_MS = 300  # blocks meet only in silence this long (the sentence pause is 350 ms)
LAME_DELAY = 576  # the encoder's own delay; decoders skip it plus DECODER_DELAY
MEASURE_VERSION = "1"


def plan_blocks(sentences: Sequence[Sentence], seconds: Sequence[float]) -> list[range]:
    """Split a chapter's sentences (with each one's synthesized length) into blocks."""
    blocks: list[range] = []
    start, held = 0, 0.0
    for i, (sentence, length) in enumerate(zip(sentences, seconds, strict=True)):
        held += length + sentence.pause_after_ms / 1000
        if i + 1 == len(sentences):
            blocks.append(range(start, i + 1))
        elif sentence.pause_after_ms >= MIN_SPLIT_PAUSE_MS:
            paragraph_ends = sentences[i + 1].paragraph != sentence.paragraph
            if held >= (MIN_BLOCK_S if paragraph_ends else LONG_BLOCK_S):
                blocks.append(range(start, i + 1))
                start, held = i + 1, 0.0
    return blocks


def frames_for(samples: int) -> int:
    """How many frames LAME writes for this many samples: the encoder's delay and look-ahead
    always take one frame more than the samples fill (CBR; measured, and tested against the encoder)."""
    return -(-samples // SAMPLES_PER_FRAME) + 1


def aligned_length(samples: int) -> int:
    """The length to give an inner block whose audio is `samples` long, by cutting or padding
    its final pause (it is cut by 576 to 1728 samples, 13 to 39 ms): its frames then take
    round(samples / 1152) frames' worth of chapter time, the codec's delay and padding included."""
    return (max(2, round(samples / SAMPLES_PER_FRAME)) - 1) * SAMPLES_PER_FRAME


def fit(pcm: np.ndarray, length: int) -> np.ndarray:
    """pcm cut or padded with silence at its end to `length` samples (the cut part must be silence)."""
    if len(pcm) >= length:
        if pcm[length:].any():  # a bug: blocks end in a pause of MIN_SPLIT_PAUSE_MS or more
            raise AudioError("a block's final pause is shorter than the cut that aligns it")
        return pcm[:length]
    return np.concatenate([pcm, np.zeros(length - len(pcm), dtype=pcm.dtype)])


@dataclass(frozen=True)
class BlockLoudness:
    energies: np.ndarray  # mean square of each 400 ms gating block (K-weighted)
    true_peak_dbtp: float


def measure_block(decoded: np.ndarray, footprint: int, rate: int = MP3_RATE) -> BlockLoudness:
    """A block's gating energies and true peak from its decoded audio, over the `footprint`
    samples it takes in the chapter (its audio and the silence after it)."""
    return BlockLoudness(block_energies(decoded, footprint, rate), true_peak(decoded))


def block_energies(pcm: np.ndarray, footprint: int, rate: int = MP3_RATE) -> np.ndarray:
    """measure_block's gating energies alone (int16 audio, padded with silence to `footprint`)."""
    padded = np.zeros(max(footprint, len(pcm)))
    padded[:len(pcm)] = pcm / 32768.0
    return gating_energies(k_weighting(padded, rate), rate)


def frames_digest(frames: Sequence[bytes]) -> str:
    h = hashlib.sha256()
    for frame in frames:
        h.update(frame)
    return h.hexdigest()


def recall_loudness(digest: str) -> BlockLoudness | None:
    value = recall("block-loudness", MEASURE_VERSION, digest)
    if not isinstance(value, dict):
        return None
    peak = value["peak"]
    return BlockLoudness(np.array(value["energies"], dtype=np.float64), -math.inf if peak is None else peak)


def remember_loudness(digest: str, loudness: BlockLoudness) -> None:
    peak = loudness.true_peak_dbtp
    energies = [float(f"{z:.7g}") for z in loudness.energies]
    remember("block-loudness", MEASURE_VERSION, digest, {"energies": energies,
                                                         "peak": peak if math.isfinite(peak) else None})


SILENCE_LUFS = -70.0  # what a meter reads for silence (the absolute gate; ffmpeg's ebur128 too)


def chapter_loudness(blocks: Sequence[BlockLoudness]) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a chapter from its blocks' measurements."""
    lufs = gated_loudness(np.concatenate([b.energies for b in blocks])) if blocks else -math.inf
    return max(lufs, SILENCE_LUFS), max((b.true_peak_dbtp for b in blocks), default=-math.inf)
