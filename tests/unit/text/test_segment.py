import pytest

from audiobook.text.segment import segment, split_long, split_sentences, word_cut_points


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你好。我很好！你呢？", ["你好。", "我很好！", "你呢？"]),
        ("為什么是DeepSeek?為什么是現在?", ["為什么是DeepSeek?", "為什么是現在?"]),
        ("他说：“我们走吧。”然后走了。", ["他说：“我们走吧。”", "然后走了。"]),
        ('他说:"第一句。第二句。"然后走了。', ['他说:"第一句。', '第二句。"', "然后走了。"]),
        ("刘慈欣写道：「未來。」好的", ["刘慈欣写道：「未來。」", "好的"]),
        ("增长了3.5%。见 x.com 网站。", ["增长了3.5%。", "见 x.com 网站。"]),
        ("访问 https://a.com/b?c=1. 很方便", ["访问 https://a.com/b?c=1.", " 很方便"]),
        ("第一；第二;第三", ["第一；", "第二;", "第三"]),
        ("或许……也许吧。", ["或许……", "也许吧。"]),
        ("结尾省略……", ["结尾省略……"]),
        ("真的吗？！是的!!!", ["真的吗？！", "是的!!!"]),
        ("It works. 好。", ["It works.", " 好。"]),
        ("好。。。", ["好。。。"]),
    ],
    ids=["basic", "ascii-question", "closing-quote", "ascii-quotes-span", "corner-quote", "decimal-domain",
         "url-protected", "semicolons", "ellipsis-mid", "ellipsis-end", "mark-runs", "english-period", "dots"],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected
    assert "".join(split_sentences(text)) == text


def test_long_sentence_split_at_commas_then_words() -> None:
    text = "在规避风险、渐进改良被视为理所当然的创新土壤中，" * 3 + "重新定义中国的创新方式。"
    parts = split_long(text, 40)
    assert "".join(parts) == text
    assert all(len(p) <= 40 for p in parts)
    assert parts[0].endswith("，")


def test_long_sentence_without_punctuation_cuts_at_word_boundaries() -> None:
    text = "中华人民共和国国务院发布了关于进一步加强人工智能基础研究和产业应用的指导意见" * 3
    parts = split_long(text, 40)
    assert "".join(parts) == text
    assert all(len(p) <= 40 for p in parts)
    ends = set(word_cut_points(text))
    cuts = [sum(len(p) for p in parts[: i + 1]) for i in range(len(parts) - 1)]
    assert cuts and all(c in ends for c in cuts)  # no word is cut in half


def test_traditional_long_sentence_cut_points_map_back() -> None:
    text = "長江存儲的工程師說重慶的銀行行長已經還清了所有的貸款並且開始投資新的半導體項目和研究中心" * 2
    parts = split_long(text, 30)
    assert "".join(parts) == text
    assert all(len(p) <= 30 for p in parts)


def test_segment_marks_clause_pieces() -> None:
    text = "这是一个很长的句子，" * 8 + "结束。短句。"
    pieces = segment(text, max_chars=30)
    assert "".join(p for p, _ in pieces) == text
    assert [end for _, end in pieces][-2:] == [True, True]
    assert any(not end for _, end in pieces)


def test_punctuation_only_pieces_are_merged() -> None:
    assert split_sentences("好。！？") == ["好。！？"]
    assert split_sentences("。好。") == ["。好。"]
