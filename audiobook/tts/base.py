"""The engine interface. The pipeline never knows which engine it talks to.

An engine turns spoken units into mono PCM plus optional word boundaries. It is handed a
batch of requests (those not already in the segment cache) and reports each finished one
through a callback as soon as it is done, so the caller can cache it immediately: a crash or
Ctrl-C loses only the in-flight segments. Failures are collected and raised as one
SynthesisError after every other request has finished.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Voice:
    """What shapes the sound of a segment (part of the segment cache key)."""

    engine: str  # a registry name: "local" | "kokoro" | "edge"
    name: str  # e.g. "zh-CN-XiaoxiaoNeural" or "baker" for the embedded voice
    rate: str = "+0%"
    pitch: str = "+0Hz"
    volume: str = "+0%"


@dataclass(frozen=True)
class Boundary:
    """A word or sentence boundary reported by the engine, times in ms from segment start."""

    text: str
    offset_ms: float
    duration_ms: float


@dataclass(frozen=True)
class SynthRequest:
    key: str  # segment cache key
    text: str  # spoken text (never empty of speakable characters)
    voice: Voice
    # Engines start lower groups first (the synthesis stage passes its chapter order, so each
    # chapter completes as a whole and is assembled while later ones are still synthesizing).
    group: int = 0


@dataclass
class Synthesis:
    samples: np.ndarray  # mono int16 PCM at sample_rate
    sample_rate: int
    boundaries: list[Boundary] = field(default_factory=list)

    @property
    def duration_ms(self) -> float:
        return 1000.0 * len(self.samples) / self.sample_rate


OnDone = Callable[[SynthRequest, Synthesis], None]


class Engine(Protocol):
    name: str  # its registry name
    version: str  # bumps invalidate cached segments
    sample_rate: int
    word_boundaries: bool  # whether boundaries are word-level

    def synthesize(self, requests: Sequence[SynthRequest], on_done: OnDone) -> None:
        """Synthesize every request, calling on_done(request, synthesis) as each finishes.

        Raises SynthesisError naming the failed sentences only after all others finished.
        """
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Engine: ...

    def __exit__(self, *exc: object) -> None: ...
