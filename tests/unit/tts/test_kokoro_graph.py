"""The Kokoro model's convolutions rewritten as int8 matrix products (tts/kokoro/graph.py): same integers."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from audiobook.errors import ConfigError
from audiobook.tts.kokoro import graph, model
from audiobook.tts.kokoro.engine import render

# (in channels, out channels, kernel, dilation, stride, pads): the shapes the Kokoro model has
CASES = [(8, 5, 3, 1, 1, (1, 1)), (6, 4, 7, 3, 1, (9, 9)), (4, 3, 11, 5, 1, (25, 25)), (5, 7, 1, 1, 1, (0, 0)),
         (1, 2, 3, 1, 2, (1, 1)), (6, 2, 12, 1, 6, (3, 3)), (3, 3, 5, 2, 1, (0, 4))]


def conv_model(channels: int, out: int, kernel: int, dilation: int, stride: int, pads: tuple[int, int],
               rng: np.random.Generator) -> bytes:
    """float x → DynamicQuantizeLinear → ConvInteger (uint8 weights, scalar zero point), as the model has it.
    The weights stay within 128 ± 40, so that uint8 × int8 pairs sum within int16 (255 · 40 · 2 < 32767)
    and the rewrite is exact on CPUs without VNNI too: the test runs anywhere."""
    weights = rng.integers(88, 169, (out, channels, kernel), dtype=np.uint8)
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        helper.make_node("ConvInteger", ["xq", "w", "xz", "wz"], ["y"], dilations=[dilation], strides=[stride],
                         pads=list(pads), kernel_shape=[kernel], group=1),
    ]
    g = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, None])],
                          [helper.make_tensor_value_info("y", TensorProto.INT32, None)],
                          [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(np.uint8(131), "wz")])
    built = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    built.ir_version = 8
    return built.SerializeToString()


def session(data: bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("case", CASES, ids=lambda c: "k{2}d{3}s{4}p{5}".format(*c))
def test_a_convolution_and_its_rewrite_give_the_same_integers(case: tuple[int, int, int, int, int, tuple[int, int]]) \
        -> None:
    rng = np.random.default_rng(7)
    shipped = conv_model(*case, rng=rng)
    rewritten = graph.convolutions_as_matmuls(shipped)
    ops = [n.op_type for n in onnx.load_from_string(rewritten).graph.node]
    assert "ConvInteger" not in ops and ops.count("MatMulInteger") == 1
    channels = case[0]
    before, after = session(shipped), session(rewritten)
    for frames in (40, 41, 97):  # lengths that leave every stride a remainder
        x = rng.normal(0, 1, (1, channels, frames)).astype(np.float32)
        (expected,) = before.run(None, {"x": x})
        (got,) = after.run(None, {"x": x})
        assert got.dtype == np.int32 and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


def test_the_rewrite_is_chosen_by_the_cpu_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(graph.GRAPH_ENV, raising=False)
    assert graph.rewrite_wanted() is graph.exact_int8_products()
    monkeypatch.setenv(graph.GRAPH_ENV, "shipped")
    assert graph.rewrite_wanted() is False
    monkeypatch.setenv(graph.GRAPH_ENV, "Rewritten")
    assert graph.rewrite_wanted() is True
    monkeypatch.setenv(graph.GRAPH_ENV, "fastest")
    with pytest.raises(ConfigError, match="AUDIOBOOK_KOKORO_GRAPH='fastest': use shipped, rewritten or auto"):
        graph.rewrite_wanted()


def test_every_convolution_of_the_kokoro_model_is_rewritten() -> None:
    data = model.model_bytes()
    shipped = onnx.load_from_string(data)
    rewritten = onnx.load_from_string(graph.convolutions_as_matmuls(data))
    before = [n.op_type for n in shipped.graph.node]
    after = [n.op_type for n in rewritten.graph.node]
    assert before.count("ConvInteger") == 87 and "ConvInteger" not in after
    assert after.count("MatMulInteger") == before.count("MatMulInteger") + 87
    # The uint8 weights are replaced, not kept beside their int8 copies.
    assert sum(i.data_type == TensorProto.UINT8 and len(i.dims) == 3 for i in rewritten.graph.initializer) == 0


@pytest.mark.slow
@pytest.mark.skipif(not graph.exact_int8_products(),
                    reason="this CPU has no VNNI: ONNX Runtime's uint8 × int8 kernel may saturate here, so the engine "
                           "runs the model as shipped and there is no rewrite to compare")
def test_the_rewritten_model_speaks_the_same_samples_as_the_shipped_one() -> None:
    shipped = model.KokoroModel(fast_convolutions=False)
    rewritten = model.KokoroModel(fast_convolutions=True)
    for text, voice, speed in (("我们今天讨论如何在城市里种植蔬菜，并且保持耐心。", "zf_xiaoyi", 1.0),
                               ("OpenAI 的 GPT-4 在二〇二三年发布。", "zm_yunxi", 1.1)):
        expected = render(shipped, text, voice, speed).samples
        assert len(expected) > 24000 and np.abs(expected).max() > 3000
        np.testing.assert_array_equal(render(rewritten, text, voice, speed).samples, expected)
