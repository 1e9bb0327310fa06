"""The word index behind jieba (text/words.py) cuts exactly as jieba's own dictionary does."""

from __future__ import annotations

import random

import jieba
import pytest

from audiobook.paths import cache_dir
from audiobook.text import words
from tests.support import EXAMPLE, SAMPLE

TEXTS = [
    "在人工智能快速发展的今天，我们缺乏的不是资本，而是创新的信心和能力。",
    "DeepSeek 的 V3 模型在 2024 年底发布，训练成本约为 557.6 万美元。",
    "他們花了三年時間打磨產品。後來，這家公司成為業界標杆。",
    "南京市长江大桥上的行人络绎不绝",
]


@pytest.fixture(scope="module")
def reference() -> object:
    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba.dt


def article_lines() -> list[str]:
    paths = [EXAMPLE, *([SAMPLE] if SAMPLE.exists() else [])]
    return [line for path in paths for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def test_cuts_are_jiebas(reference) -> None:
    ours = words.tokenizer()
    for text in [*TEXTS, *article_lines()]:
        assert list(ours.tokenize(text)) == list(reference.tokenize(text)), text
        assert ours.lcut(text, HMM=False) == reference.lcut(text, HMM=False), text


def test_frequencies_are_jiebas(reference, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIOBOOK_CACHE_DIR", str(tmp_path))  # built here from jieba's dictionary file
    words.frequencies.cache_clear()
    index = words.frequencies()
    words.frequencies.cache_clear()
    assert (tmp_path / "words").is_dir()
    assert len(index) == len(reference.FREQ) and index.total == reference.total
    for word in random.Random(4).sample(sorted(reference.FREQ), 3000):
        assert word in index and index[word] == reference.FREQ[word] == index.get(word)
    assert "不是一个词zz" not in index and index.get("不是一个词zz", 7) == 7 and 5 not in index
    with pytest.raises(KeyError):
        index["不是一个词zz"]


def test_a_damaged_index_is_rebuilt(caplog: pytest.LogCaptureFixture) -> None:
    words.frequencies()
    (path,) = (cache_dir() / "words").glob("jieba-*.idx")
    path.write_bytes(path.read_bytes()[:1000])
    words.frequencies.cache_clear()
    words.tokenizer.cache_clear()
    try:
        assert words.tokenizer().lcut("南京市长江大桥") == ["南京市", "长江大桥"]
        assert "rebuilding the word index" in caplog.text
        assert len(path.read_bytes()) > 1_000_000
    finally:
        words.frequencies.cache_clear()
        words.tokenizer.cache_clear()
