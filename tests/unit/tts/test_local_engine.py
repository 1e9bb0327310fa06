"""The embedded voice end to end: real models on LiteRT (fast: ~0.1 s of compute per sentence)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from audiobook import paths
from audiobook.errors import EngineError, SynthesisError
from audiobook.models import Synthesis, SynthRequest, Voice
from audiobook.tts import graph_patch, litert_model, local
from audiobook.tts.base import Engine
from audiobook.tts.local import LocalEngine

BAKER = Voice(engine="local", name="baker")
SENTENCE = "整個人工智能學界為之震動，這不僅僅是一個技術突破。"
LONG_CLAUSE = (
    "南方的水稻種植區與北方的小麥種植區居民在認知方式上確有可測量的差異" + "而這些差異的形成源於古代的生存策略"
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEngine]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.ENV_CACHE_DIR, str(tmp_path_factory.mktemp("cache")))
        eng = LocalEngine(workers=2)
        yield eng
        eng.close()


def synth(engine: LocalEngine, text: str, voice: Voice = BAKER) -> Synthesis:
    done: list[Synthesis] = []
    engine.synthesize([SynthRequest("k", text, voice)], lambda _req, syn: done.append(syn))
    (result,) = done
    return result


def test_satisfies_the_engine_protocol(engine: LocalEngine) -> None:
    assert isinstance(engine, LocalEngine)
    protocol_view: Engine = engine
    assert protocol_view.name == "local"
    assert protocol_view.sample_rate == 24000
    assert engine.version.startswith("baker-fs2-mbmelgan/fe")


def test_same_text_gives_identical_bytes(engine: LocalEngine) -> None:
    first = synth(engine, SENTENCE)  # in-process: the models run on 2 threads
    again = synth(engine, SENTENCE)
    assert engine._in_process_models().num_threads == 2
    fresh = local.synthesize_text(litert_model.BakerModels(num_threads=1), SENTENCE)
    assert first.samples.dtype == np.int16
    assert first.samples.tobytes() == again.samples.tobytes() == fresh.samples.tobytes()


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("你好。", id="two-syllables"),
        pytest.param(SENTENCE, id="sentence-with-comma"),
        pytest.param(LONG_CLAUSE, id="long-clause"),
    ],
)
def test_duration_is_plausible_for_the_text(engine: LocalEngine, text: str) -> None:
    syllables = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    result = synth(engine, text)
    seconds = result.duration_ms / 1000
    # 3–8 syllables per second of speech, plus up to ~0.6 s of the model's own edge silences.
    assert syllables / 8 <= seconds <= syllables / 3 + 0.6
    assert np.abs(result.samples).max() > 3000  # not silence


def test_word_boundaries_follow_the_words(engine: LocalEngine) -> None:
    result = synth(engine, SENTENCE)
    texts = [b.text for b in result.boundaries]
    assert "".join(texts) == "整個人工智能學界為之震動這不僅僅是一個技術突破"
    assert "學界" in texts  # words keep the input's Traditional spelling
    ends = [b.offset_ms + b.duration_ms for b in result.boundaries]
    assert all(b.duration_ms > 0 for b in result.boundaries)
    assert all(a <= b.offset_ms + 1e-6 for a, b in zip(ends, result.boundaries[1:], strict=False))
    assert ends[-1] <= result.duration_ms


@pytest.mark.parametrize(
    ("rate", "low", "high"),
    [
        pytest.param("+20%", 0.75, 0.9, id="faster-is-shorter"),
        pytest.param("-20%", 1.15, 1.35, id="slower-is-longer"),
    ],
)
def test_speed_follows_the_voice_rate(engine: LocalEngine, rate: str, low: float, high: float) -> None:
    normal = synth(engine, SENTENCE)
    changed = synth(engine, SENTENCE, Voice(engine="local", name="baker", rate=rate))
    # Speech scales by 1/rate; the inserted pauses between clauses do not.
    assert low * normal.duration_ms < changed.duration_ms < high * normal.duration_ms


def test_rate_above_one_speaks_faster() -> None:
    models = litert_model.BakerModels()
    normal = local.synthesize_text(models, "今天天氣很好。")
    double = local.synthesize_text(models, "今天天氣很好。", rate=2.0)
    assert 0.4 * normal.duration_ms < double.duration_ms < 0.65 * normal.duration_ms
    assert local.speaking_rate(Voice(engine="local", name="baker", rate="+20%")) == pytest.approx(1.2)


def test_nothing_speakable_is_short_silence(engine: LocalEngine) -> None:
    result = synth(engine, "……")
    assert result.duration_ms == local.SILENCE_MS
    assert not result.samples.any() and result.boundaries == []


@pytest.mark.parametrize(
    "voice",
    [
        pytest.param(Voice(engine="local", name="xiaoxiao"), id="unknown-voice"),
        pytest.param(Voice(engine="edge", name="baker"), id="other-engine"),
        pytest.param(Voice(engine="local", name="baker", rate="fast"), id="bad-rate"),
    ],
)
def test_bad_voice_is_an_engine_error(engine: LocalEngine, voice: Voice) -> None:
    with pytest.raises(EngineError):
        engine.synthesize([SynthRequest("k", "你好", voice)], lambda _r, _s: None)


def test_batch_in_pool_reports_every_request(engine: LocalEngine) -> None:
    texts = ["你好。", "今天天氣很好。", "我們去公園散步吧。", "刻板印象往往像一面哈哈鏡。", "……"]
    requests = [SynthRequest(f"k{i}", t, BAKER) for i, t in enumerate(texts)]
    done: dict[str, Synthesis] = {}
    engine.synthesize(requests, lambda req, syn: done.setdefault(req.key, syn))
    assert sorted(done) == sorted(r.key for r in requests)
    # the pool computes exactly what the calling process computes
    assert done["k1"].samples.tobytes() == synth(engine, texts[1]).samples.tobytes()


def test_pool_starts_group_by_group_longest_first(engine: LocalEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chapters (groups) complete in reading order, so each can be assembled while later ones
    synthesize; inside a group the longest go first, so both workers finish it together."""
    pool = engine._start_pool()
    started: list[int] = []
    real_submit = pool.submit

    def recording_submit(fn, *args):  # noqa: ANN001, ANN202
        if fn is local._work:
            started.append(sum(len(u.symbols) for u in args[0]))
        return real_submit(fn, *args)

    monkeypatch.setattr(pool, "submit", recording_submit)
    texts = {"你好。": 2, "今天天氣很好，我們去公園散步吧。": 1, "好。": 1, "刻板印象往往像一面哈哈鏡。": 2,
             "再見。": 1}  # text: group
    requests = [SynthRequest(f"k{i}", t, BAKER, group=g) for i, (t, g) in enumerate(texts.items())]
    engine.synthesize(requests, lambda _r, _s: None)
    cost = {t: sum(len(u.symbols) for u in local.plan_text(t)) for t in texts}
    expected = sorted(texts, key=lambda t: (texts[t], -cost[t]))
    assert started == [cost[t] for t in expected]


def test_failures_are_collected_after_the_others(engine: LocalEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """One sentence failing in the front end and one in the models: the others are delivered."""
    real_plan, real_render = local.plan_text, local.render_utterances

    def flaky_plan(text: str) -> list:
        if "壞" in text:
            raise EngineError("front end failed")
        return real_plan(text)

    def flaky_render(models: litert_model.BakerModels, utterances: list, rate: float = 1.0) -> Synthesis:
        if any("糟" in w.text for u in utterances for w in u.words):
            raise EngineError("model failed")
        return real_render(models, utterances, rate)

    monkeypatch.setattr(local, "plan_text", flaky_plan)
    monkeypatch.setattr(local, "render_utterances", flaky_render)
    single = LocalEngine(workers=1)  # in-process, so the patches apply
    texts = [("a", "你好"), ("b", "壞句子"), ("c", "再見"), ("d", "糟糕")]
    requests = [SynthRequest(k, t, BAKER) for k, t in texts]
    done: list[str] = []
    with pytest.raises(SynthesisError, match="2 of 4") as info:
        single.synthesize(requests, lambda req, _syn: done.append(req.key))
    assert done == ["a", "c"]
    assert "壞句子" in str(info.value) and "糟糕" in str(info.value)


def test_patched_model_is_recreated_when_corrupt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(paths.ENV_CACHE_DIR, str(tmp_path))
    path = litert_model.patched_acoustic_model()
    assert path.is_relative_to(tmp_path / "models")
    good = hashlib.sha256(path.read_bytes()).hexdigest()

    path.write_bytes(path.read_bytes()[:1000])  # truncated by a crash or a full disk
    assert litert_model.patched_acoustic_model() == path
    assert hashlib.sha256(path.read_bytes()).hexdigest() == good

    path.unlink()
    litert_model.patched_acoustic_model()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == good


def test_patch_removes_both_dropout_blocks() -> None:
    source = (litert_model.asset_dir() / litert_model.ACOUSTIC_FILE).read_bytes()
    patched, removed = graph_patch.patch_out_dropout(source)
    assert removed == {"dropout": 2}
    assert "FlexRandomUniform" in _op_kinds(source)
    assert "FlexRandomUniform" not in _op_kinds(patched)


def _vocode(mel: np.ndarray, **model: object) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(num_threads=1, **model)  # type: ignore[arg-type]
    index = it.get_input_details()[0]["index"]
    it.resize_tensor_input(index, [1, *mel.shape])
    it.allocate_tensors()
    it.set_tensor(index, mel[np.newaxis].astype(np.float32))
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]).ravel().copy()


@pytest.fixture(scope="module")
def exported_vocoder() -> Path:
    return litert_model.asset_dir() / litert_model.VOCODER_FILE


def test_vocoder_patch_rewrites_every_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exported_vocoder: Path
) -> None:
    monkeypatch.setenv(paths.ENV_CACHE_DIR, str(tmp_path))
    patched, sites = graph_patch.patch_vocoder(exported_vocoder.read_bytes())
    assert dict(sites) == litert_model.VOCODER_PATCH_SITES
    kinds = _op_kinds(patched)
    assert not kinds & {"MIRROR_PAD", "TRANSPOSE_CONV", "SPACE_TO_BATCH_ND", "SHAPE"}
    assert litert_model.patched_vocoder_model().read_bytes() == patched


def _op_kinds(model_bytes: bytes) -> set[str]:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = [
        c.customCode.decode() if c.customCode else names[max(c.builtinCode, c.deprecatedBuiltinCode)]
        for c in model.operatorCodes
    ]
    return {codes[op.opcodeIndex] for graph in model.subgraphs for op in graph.operators}


@pytest.mark.parametrize("frames", [10, 37, 200])  # 10: the shortest the reflect pads allow; 37: not a multiple of 3
def test_rewritten_pads_and_dilations_keep_the_audio_byte_identical(exported_vocoder: Path, frames: int) -> None:
    source = exported_vocoder.read_bytes()
    exact, _ = graph_patch.edit_model(
        source, {"dilated_conv": graph_patch._use_dilation, "mirror_pad": graph_patch._reflect_by_slices}
    )
    mel = np.random.default_rng(frames).normal(size=(frames, 80)).astype(np.float32)
    assert _vocode(mel, model_content=exact).tobytes() == _vocode(mel, model_content=source).tobytes()


def test_patched_vocoder_sounds_like_the_exported_one(engine: LocalEngine, exported_vocoder: Path) -> None:
    """The regrouped sums move the waveform by float32 rounding; rarely a sub-band sample lands
    on the neighbouring 8-bit step (1/128 before the PQMF): never more than that, and rarely."""
    models = engine._in_process_models()
    patched = engine._model_paths[1]
    mels = [models.acoustic(local.frontend.utterance_ids(u)).mel for u in local.plan_text(SENTENCE + LONG_CLAUSE)]
    for mel in mels:
        exported = _vocode(mel, model_path=str(exported_vocoder))
        ours = _vocode(mel, model_path=str(patched))
        assert ours.shape == exported.shape
        difference = np.abs(ours - exported)
        assert difference.max() < 1.05 / 128  # one step, through the PQMF filter (peak gain ~1.01)
        assert np.mean(difference > 1e-6) < 0.002


def test_model_hashes_are_remembered_until_the_file_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(paths.ENV_CACHE_DIR, str(tmp_path / "cache"))
    model = tmp_path / "model.tflite"
    model.write_bytes(b"one")
    assert litert_model.remembered_sha256(model) == hashlib.sha256(b"one").hexdigest()
    real = litert_model.file_sha256

    def unread(_path: Path) -> str:
        raise AssertionError("hashed again")

    monkeypatch.setattr(litert_model, "file_sha256", unread)
    assert litert_model.remembered_sha256(model) == hashlib.sha256(b"one").hexdigest()  # remembered
    monkeypatch.setattr(litert_model, "file_sha256", real)
    model.write_bytes(b"two!")  # rewritten: a new size and mtime
    assert litert_model.remembered_sha256(model) == hashlib.sha256(b"two!").hexdigest()
