"""The Kokoro engine: spoken text → phonemes (g2p.py) → Kokoro-82M on ONNX Runtime (model.py).

One model in memory, run by as many threads as cores (at most 2; ONNX Runtime releases the GIL,
so the threads use both cores, and one copy of the model serves them: ~0.6 GB instead of one per
process). Each sentence's front end runs on the thread that then synthesizes it. Deterministic:
one intra-op thread per run, so the same text gives the same samples. Kokoro reports no word
timings (captions split long sentences by characters instead).
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib.metadata
import logging
import os
import re
from collections.abc import Sequence

import numpy as np

from ...errors import EngineError, SynthesisError
from ...models import Synthesis, SynthRequest, Voice
from ..base import OnDone, collect
from . import model
from .g2p import G2P_VERSION, phonemes

log = logging.getLogger(__name__)

SAMPLE_RATE = model.SAMPLE_RATE
_RATE = re.compile(r"^([+-]\d{1,3})%$")


def engine_version() -> str:
    """Changes with the model, the voice packs, the front end or the pinyin data it reads."""
    return (f"kokoro-v1.0-int8/{model.MODEL_SHA256[:12]}/voices-{model.voices_digest()[:12]}/g2p{G2P_VERSION}/"
            f"pypinyin-{importlib.metadata.version('pypinyin')}/misaki-0.9.4")


def speed_of(voice: Voice) -> float:
    """Check a voice is one of Kokoro's; its speed ("+25%" → 1.25)."""
    if voice.engine != "kokoro" or voice.name not in model.VOICES:
        raise EngineError(f"{voice.engine}/{voice.name} is not a Kokoro voice; known: {', '.join(model.VOICES)}")
    match = _RATE.match(voice.rate)
    if match is None or not -50 <= int(match.group(1)) <= 100:
        raise EngineError(f"rate {voice.rate!r} is not like '+10%' (from -50% to +100%)")
    return 1.0 + int(match.group(1)) / 100.0


def render(kokoro: model.KokoroModel, text: str, voice: str, speed: float) -> Synthesis:
    """One spoken unit → int16 PCM at 24 kHz (longer than the model's input: in pieces, joined)."""
    ids = model.token_ids(phonemes(text))
    if not ids:
        log.warning("kokoro: nothing to say in %r; returning silence", text)
        return Synthesis(np.zeros(SAMPLE_RATE // 5, np.int16), SAMPLE_RATE)
    audio = np.concatenate([kokoro.run(chunk, voice, speed) for chunk in model.chunks(ids)])
    samples = np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)
    return Synthesis(samples, SAMPLE_RATE)


def open_kokoro(config: object = None) -> KokoroEngine:
    """The registry's factory (Kokoro has no settings beyond the voice profile)."""
    return KokoroEngine()


class KokoroEngine:
    name = "kokoro"
    sample_rate = SAMPLE_RATE

    def __init__(self, threads: int | None = None) -> None:
        self.version = engine_version()
        self.threads = threads or min(2, os.cpu_count() or 1)
        self._model: model.KokoroModel | None = None

    def _loaded(self) -> model.KokoroModel:
        if self._model is None:
            self._model = model.KokoroModel(threads=1)
        return self._model

    def synthesize(self, requests: Sequence[SynthRequest], on_done: OnDone) -> None:
        speeds = [speed_of(r.voice) for r in requests]  # bad voices fail before any work
        kokoro = self._loaded()
        # Chapter by chapter (the synthesis stage's group), longest first inside one.
        order = sorted(range(len(requests)), key=lambda i: (requests[i].group, -len(requests[i].text)))
        with cf.ThreadPoolExecutor(self.threads, thread_name_prefix="kokoro") as pool:
            futures = {pool.submit(render, kokoro, requests[i].text, requests[i].voice.name, speeds[i]): requests[i]
                       for i in order}
            failures = collect(futures, on_done, (EngineError,))
        if failures:
            lines = "; ".join(f"{r.text[:30]!r}: {exc}" for r, exc in failures[:5])
            raise SynthesisError(f"the Kokoro voice failed on {len(failures)} of {len(requests)} sentences ({lines}). "
                                 "Re-run to retry them; finished sentences are cached.")

    def close(self) -> None:
        self._model = None

    def __enter__(self) -> KokoroEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
