"""Kokoro's convolutions as int8 matrix products: the same integers, computed faster.

The model's 87 Conv1d layers are ConvInteger nodes with uint8 weights, which ONNX Runtime runs as
uint8 × uint8 GEMMs (MLAS's slowest integer path; ~2/3 of the model's time). Each is rewritten
here as the im2col it stands for (Pad with the input's zero point, Transpose, one Slice per tap,
Concat) followed by a MatMulInteger whose weights are shifted to int8 (w - 128 with zero point
zp - 128: the same differences, so the same products). MLAS runs uint8 × int8 with VNNI
(vpdpbusd), which accumulates exactly in int32: the graph's output is bit-identical to the model
as shipped (tests/unit/tts/test_kokoro_graph.py checks it), so cached segments stay valid and the
engine version does not change.

Without VNNI, MLAS's uint8 × int8 kernel sums pairs of products in int16 (vpmaddubsw), which can
saturate; there the model runs as shipped. AUDIOBOOK_KOKORO_GRAPH=shipped runs it as shipped
anywhere (to compare, or to rule the rewrite out); =rewritten forces the rewrite (on a CPU
without VNNI its audio may then differ slightly from the cached segments made as shipped).
"""

from __future__ import annotations

import functools
import logging
import os
import platform
from pathlib import Path

import numpy as np

from ...errors import ConfigError

log = logging.getLogger(__name__)

_SLICE_END = 2**62  # "to the end" for an ONNX Slice


GRAPH_ENV = "AUDIOBOOK_KOKORO_GRAPH"


def rewrite_wanted() -> bool:
    """AUDIOBOOK_KOKORO_GRAPH (shipped / rewritten), else whether the rewrite is exact here."""
    choice = os.environ.get(GRAPH_ENV, "").strip().lower()
    if choice in ("", "auto"):
        return exact_int8_products()
    if choice not in ("shipped", "rewritten"):
        raise ConfigError(f"{GRAPH_ENV}={choice!r}: use shipped, rewritten or auto (or leave it unset)")
    return choice == "rewritten"


@functools.cache
def exact_int8_products() -> bool:
    """Whether this CPU multiplies uint8 × int8 with exact int32 sums (VNNI), as ONNX Runtime will."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    flags: set[str] = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
            break
    return bool(flags & {"avx512_vnni", "avx_vnni"})


def convolutions_as_matmuls(model: bytes) -> bytes:
    """The model with every 1-D ConvInteger (group 1, scalar zero points) as im2col + MatMulInteger."""
    import onnx
    from onnx import helper, numpy_helper

    graph_model = onnx.load_from_string(model)
    graph = graph_model.graph
    weights = {init.name: init for init in graph.initializer}
    nodes: list[onnx.NodeProto] = []
    added: dict[str, onnx.TensorProto] = {}
    replaced: set[str] = set()
    rewritten = 0

    def constant(name: str, value: np.ndarray) -> str:
        added[name] = numpy_helper.from_array(value, name)
        return name

    for index, node in enumerate(graph.node):
        rewritable = (node.op_type == "ConvInteger" and len(node.input) == 4
                      and node.input[1] in weights and node.input[3] in weights)
        if rewritable:
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            w = numpy_helper.to_array(weights[node.input[1]])
            w_zero = numpy_helper.to_array(weights[node.input[3]])
            rewritable = (w.ndim == 3 and w.dtype == np.uint8 and w_zero.size == 1 and attrs.get("group", 1) == 1
                          and attrs.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET"))
        if not rewritable:
            nodes.append(node)
            continue
        x, w_name, x_zero, w_zero_name = node.input
        out_channels, in_channels, taps = w.shape
        dilation = int(attrs.get("dilations", [1])[0])
        stride = int(attrs.get("strides", [1])[0])
        pad_start, pad_end = (int(p) for p in attrs.get("pads", [0, 0]))
        p = f"audiobook_conv{index}_"
        replaced.update((w_name, w_zero_name))
        rewritten += 1
        # Rows ordered tap-major, matching the Concat of the taps below.
        shifted = (w.astype(np.int16) - 128).astype(np.int8)
        constant(p + "w", np.ascontiguousarray(shifted.transpose(2, 1, 0).reshape(taps * in_channels, out_channels)))
        constant(p + "w_zero", (w_zero.astype(np.int16) - 128).astype(np.int8).reshape(()))
        source = x
        if pad_start or pad_end:
            constant(p + "pads", np.array([0, 0, pad_start, 0, 0, pad_end], np.int64))
            nodes.append(helper.make_node("Pad", [x, p + "pads", x_zero], [p + "padded"], mode="constant"))
            source = p + "padded"
        nodes.append(helper.make_node("Transpose", [source], [p + "time_major"], perm=[0, 2, 1]))
        if taps == 1 and stride == 1:
            columns = p + "time_major"
        else:
            constant(p + "axis", np.array([1], np.int64))
            constant(p + "step", np.array([stride], np.int64))
            tap_names = []
            for j in range(taps):
                end = -(taps - 1 - j) * dilation  # the last output's tap j, counted from the end
                constant(p + f"start{j}", np.array([j * dilation], np.int64))
                constant(p + f"end{j}", np.array([end or _SLICE_END], np.int64))
                nodes.append(helper.make_node("Slice", [p + "time_major", p + f"start{j}", p + f"end{j}", p + "axis",
                                                        p + "step"], [p + f"tap{j}"]))
                tap_names.append(p + f"tap{j}")
            columns = p + "columns"
            nodes.append(helper.make_node("Concat", tap_names, [columns], axis=2))
        nodes.append(helper.make_node("MatMulInteger", [columns, p + "w", x_zero, p + "w_zero"], [p + "product"]))
        nodes.append(helper.make_node("Transpose", [p + "product"], [node.output[0]], perm=[0, 2, 1]))

    still_used = {name for n in nodes for name in n.input}
    kept = [init for init in graph.initializer if init.name not in replaced or init.name in still_used]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept + list(added.values()))
    log.debug("kokoro: %d convolutions run as int8 matrix products", rewritten)
    data: bytes = graph_model.SerializeToString()
    return data
