"""An engine that speaks in memory: a real implementation of the Engine protocol, registered in the
engine registry the way the built-in engines are (`register`), for tests of everything around
synthesis (the pipeline, incremental re-renders, music, publishing) where the voice does not matter.

Each speakable character becomes a 90 ms tone (its pitch from the character) with a word boundary of
its own, so captions, loudness and block layout have speech-shaped input; requests are recorded in
HISTORY, in the order they were synthesized. Its sentences get the edge engine's spoken forms (it
reads English, like edge).
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterator, Sequence

import numpy as np

from ..models import Boundary, Synthesis, SynthRequest
from ..tts.base import OnDone
from ..tts.registry import EngineInfo, register, unregister

NAME = "memory"
VERSION = "memory/1"
SAMPLE_RATE = 24000
CHAR_MS = 90
HISTORY: list[SynthRequest] = []

INFO = EngineInfo(NAME, "in-memory tones (tests)", offline=True, speaks_english=True, voice_key="edge_voice",
                  quote_key="quote_voice", voices=(), factory="audiobook.testing.memory_engine:open_memory",
                  version_of="audiobook.testing.memory_engine:engine_version", spoken_as="edge")


def _speakable(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"


def tones(text: str) -> Synthesis:
    """The synthesis of `text`: a tone per speakable character, one word boundary each."""
    chars = [c for c in text if _speakable(c)]
    per = SAMPLE_RATE * CHAR_MS // 1000
    t = np.arange(per) / SAMPLE_RATE
    envelope = np.hanning(per) * 8000
    bursts = [np.sin(2 * np.pi * (150 + ord(c) % 200) * t) * envelope for c in chars]
    samples = np.concatenate(bursts).astype(np.int16) if bursts else np.zeros(per, np.int16)
    return Synthesis(samples, SAMPLE_RATE, [Boundary(c, float(i * CHAR_MS), float(CHAR_MS))
                                            for i, c in enumerate(chars)])


class MemoryEngine:
    name = NAME
    version = VERSION
    sample_rate = SAMPLE_RATE

    def synthesize(self, requests: Sequence[SynthRequest], on_done: OnDone) -> None:
        for request in requests:
            HISTORY.append(request)
            on_done(request, tones(request.text))

    def close(self) -> None:
        pass

    def __enter__(self) -> MemoryEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_memory(config: object = None) -> MemoryEngine:
    """The registry's factory."""
    return MemoryEngine()


def engine_version() -> str:
    return VERSION


@contextlib.contextmanager
def registered() -> Iterator[str]:
    """The engine in the registry for the length of the block; its name."""
    register(INFO)
    try:
        yield NAME
    finally:
        unregister(NAME)
