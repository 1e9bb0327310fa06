from __future__ import annotations

import pytest

from audiobook.store.slug import MAX_SLUG_BYTES, slugify

CASES = [
    ("chinese-kept", "深度求索的故事", "深度求索的故事"),
    ("spaces-to-dash", "DeepSeek 的 故事", "DeepSeek-的-故事"),
    ("ideographic-space", "第一章\u3000开始", "第一章-开始"),
    ("tabs-newlines", "a\tb\nc", "a-b-c"),
    ("runs-collapse", "a   -  b", "a-b"),
    ("chinese-punctuation-kept", "《深度求索》：一个故事！", "《深度求索》：一个故事！"),
    ("reserved-chars", 'a<b>c:d"e|f?g*h', "a-b-c-d-e-f-g-h"),
    ("parent-dirs", "../../", "article"),
    ("dotdot", "..", "article"),
    ("dot", ".", "article"),
    ("traversal-in-title", "../../etc/x", "etc-x"),
    ("absolute-path", "/etc/passwd", "etc-passwd"),
    ("windows-path", "C:\\Windows\\system32", "C-Windows-system32"),
    ("leading-dots-hidden", "...hidden", "hidden"),
    ("leading-dash-option", "-rf 标题", "rf-标题"),
    ("trailing-dots-spaces", "标题. . ", "标题"),
    ("inner-dots-collapse", "v1...2", "v1.2"),
    ("windows-con", "CON", "article"),
    ("windows-con-lower-ext", "con.txt", "txt"),
    ("windows-com1", "COM1", "article"),
    ("windows-lpt9-with-space", " lpt9 ", "article"),
    ("windows-con-twice", "CON.con.书", "书"),
    ("not-reserved-prefix", "CONTEXT", "CONTEXT"),
    ("control-chars", "a\x00b\x1bc\x7fd\x85", "abcd"),
    ("bidi-override", "abc\u202egpj.exe", "abcgpj.exe"),
    ("zero-width", "深\u200b度", "深度"),
    ("emoji-dropped", "🎧 有声书 👍🏽", "有声书"),
    ("emoji-zwj-sequence", "家庭👨\u200d👩\u200d👧", "家庭"),
    ("emoji-only", "🎧🎧", "article"),
    ("empty", "", "article"),
    ("whitespace-only", " \t\n ", "article"),
    ("nfc", "Cafe\u0301", "Café"),
]


@pytest.mark.parametrize(("title", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_slugify(title: str, expected: str) -> None:
    assert slugify(title) == expected


@pytest.mark.parametrize(
    "title",
    ["深" * 200, "a" * 500, "ab" + "深" * 100, "😀" * 40 + "x", "Title " * 50, "é" * 100],
    ids=["cjk", "ascii", "misaligned-cjk", "emoji", "words", "latin-2-byte"],
)
def test_long_titles_capped_in_bytes_without_cutting_a_character(title: str) -> None:
    slug = slugify(title)
    encoded = slug.encode("utf-8")
    assert 0 < len(encoded) <= MAX_SLUG_BYTES
    assert encoded.decode("utf-8") == slug
    assert not slug.endswith(("-", "."))


def test_cjk_cut_exactly_at_character_boundary() -> None:
    # 80 bytes hold 26 three-byte characters; after "ab" (2 bytes) still 26 (2 + 78 = 80).
    assert slugify("深" * 200) == "深" * 26
    assert slugify("ab" + "深" * 100) == "ab" + "深" * 26


def test_custom_fallback_is_sanitized_too() -> None:
    assert slugify("..", fallback="第 1 章") == "第-1-章"
    assert slugify("..", fallback="../") == "article"


def test_custom_byte_cap() -> None:
    assert slugify("深度求索", max_bytes=7) == "深度"


@pytest.mark.parametrize("title", ["../../", "/etc/passwd", "a/b\\c", "..\\..\\x", "CON", "x" * 1000, "🎧"])
def test_result_is_a_single_safe_path_component(title: str) -> None:
    slug = slugify(title)
    assert slug
    assert "/" not in slug and "\\" not in slug and ".." not in slug
    assert not slug.startswith((".", "-"))
