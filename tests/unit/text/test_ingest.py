"""Ingest: decoding, markdown reduction, boilerplate, metadata, bullets, errors."""

from pathlib import Path

import pytest

from audiobook.config import BoilerplateConfig
from audiobook.errors import ConfigError, InputError
from audiobook.text.boilerplate import build_rules, match_rule
from audiobook.text.decode import decode_bytes
from audiobook.text.ingest import ingest
from audiobook.text.markdown import inline_to_text

ARTICLE = "标题在这里\n作者：王小明\n第一段话。这是第二句话！\n一、第一章\n正文内容在这里。\n"


def test_utf8_txt_metadata_and_blocks(write_article) -> None:
    doc = ingest(write_article(ARTICLE))
    assert doc.title == "标题在这里"
    assert doc.author == "王小明"
    assert doc.language == "zh-CN"
    assert [(b.kind, b.level) for b in doc.blocks] == [
        ("heading", 0), ("paragraph", 0), ("paragraph", 0), ("heading", 1), ("paragraph", 0)]


@pytest.mark.parametrize("codec", ["utf-8-sig", "gb18030", "gbk", "big5", "utf-16"])
def test_encodings_are_detected(write_article, codec: str) -> None:
    text = "繁體中文的標題\n我們缺乏的不是資本，而是創新的信心和組織創新的智慧。\n" if codec == "big5" else ARTICLE
    doc = ingest(write_article(text.encode(codec)))
    assert doc.blocks[1].text == text.split("\n")[1]
    assert doc.encoding in (codec, "gb18030") or (codec == "utf-8-sig" and doc.encoding == "utf-8-sig")


def test_big5_and_gbk_are_not_confused() -> None:
    trad = "我們缺乏的不是資本，而是創新的信心和組織創新的智慧。"
    simp = "我们缺乏的不是资本，而是创新的信心和组织创新的智慧。"
    assert decode_bytes(trad.encode("big5"), "x") == (trad, "big5")
    assert decode_bytes(simp.encode("gbk"), "x") == (simp, "gb18030")


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "nothing to narrate"),
     (b"\x00\x01\x02binary\x00" * 50, "binary"),
     ("。，！？😀🎉\n——……\n".encode(), "nothing to narrate"),
     (b"\x81\x30\xff\xfe\xfd" * 3 + b"\xff", "not UTF-8")],
    ids=["empty", "binary", "punctuation-emoji", "undecodable"],
)
def test_bad_input_is_a_clear_error(write_article, data: bytes, message: str) -> None:
    path = write_article(data)
    with pytest.raises(InputError, match=message) as exc:
        ingest(path)
    assert str(path) in str(exc.value)


def test_missing_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        ingest(tmp_path / "nope.txt")
    (tmp_path / "a.pdf").write_bytes(b"%PDF")
    with pytest.raises(InputError, match="unsupported file type"):
        ingest(tmp_path / "a.pdf")


def test_control_characters_stripped(write_article) -> None:
    doc = ingest(write_article("标题\n正文\x07里有\x1b控制\u200b字符。\n"))
    assert doc.blocks[1].text == "正文里有控制字符。"


@pytest.mark.parametrize(
    ("md", "spoken"),
    [("**加粗**和*斜体*", "加粗和斜体"), ("见[链接文字](https://a.com/x_(y))。", "见链接文字。"),
     ("图![一张图](a.png)后", "图后"), ("用`code`写", "用code写"), ("<b>HTML</b>标签", "HTML标签"),
     ("脚注[^1]在此", "脚注在此")],
    ids=["emphasis", "link", "image", "code", "html", "footnote"],
)
def test_inline_markdown_reduced(md: str, spoken: str) -> None:
    assert inline_to_text(md) == spoken


def test_markdown_front_matter_headings_lists_code(write_article) -> None:
    md = (
        "---\ntitle: 我的文章\nauthor: 李四\ndate: 2026-01-02\nlanguage: zh-CN\ncover: c.png\n---\n"
        "# 我的文章\n\n导语一句。\n\n## 第一节\n\n- 列表项一\n- 列表项二\n\n```python\nprint('skip')\n```\n\n"
        "![图](a.png)\n\n## 第二节\n\n段落跨\n两行。\n"
    )
    doc = ingest(write_article(md, "a.md"))
    assert (doc.title, doc.author, doc.date, doc.cover) == ("我的文章", "李四", "2026-01-02", "c.png")
    kinds = [(b.kind, b.level, b.text) for b in doc.blocks]
    assert kinds == [
        ("heading", 0, "我的文章"), ("paragraph", 0, "导语一句。"), ("heading", 2, "第一节"),
        ("list_item", 0, "列表项一"), ("list_item", 0, "列表项二"), ("heading", 2, "第二节"),
        ("paragraph", 0, "段落跨两行。"),
    ]
    assert doc.blocks[2].line == 12  # line numbers stay true to the source (line 12 of the file)


def test_bad_front_matter(write_article) -> None:
    with pytest.raises(InputError, match="front matter"):
        ingest(write_article("---\ntitle: [unclosed\n---\n正文。\n", "a.md"))


@pytest.mark.parametrize(
    ("line", "rule"),
    [("全文 4,000字 | 閱讀約10分鐘", "reading-time"), ("本文约3000字，预计阅读8分钟", "reading-time"),
     ("排版:Atlas", "credits"), ("主編: 圖靈", "credits"), ("來源:官方媒體/網絡新聞", "credits"),
     ("责任编辑：张三", "credits"),
     ("特別聲明:以上內容(如有圖片或視頻亦包括在內)為自媒體平臺“網易號”用戶上傳並發布", "disclaimer-zh"),
     ("Notice: The content above is uploaded and posted by a user of NetEase Hao, which is a social media "
      "platform and only provides information storage services.", "disclaimer-en"),
     ("參考資料:https://x.com/teortaxesTex/status/1885678099653697555", "reference-url"),
     ("https://example.com/a", "reference-url")],
)
def test_boilerplate_rules(line: str, rule: str) -> None:
    assert match_rule(line, build_rules()) == rule


@pytest.mark.parametrize(
    "line",
    ["編輯部的同事們都認為這篇文章寫得很好。", "他的來源是一本書，講的是歷史。",
     "我讀了 https://a.com 上的文章，很有意思。", "作者:Teortaxes", "開源至上"],
)
def test_content_is_not_boilerplate(line: str) -> None:
    assert match_rule(line, build_rules()) is None


def test_user_boilerplate_patterns(write_article) -> None:
    path = write_article("标题\n正文一句。\n点击关注我们的公众号\n")
    doc = ingest(path, BoilerplateConfig(patterns=["点击关注.*"]))
    assert [d.rule for d in doc.dropped] == ["custom:点击关注.*"]
    doc = ingest(write_article("标题\n编辑：张三\n"), BoilerplateConfig(disable=["credits"]))
    assert doc.blocks[-1].text == "编辑：张三"
    with pytest.raises(ConfigError, match="unknown rule"):
        build_rules(disable=["nope"])


def test_bullets_are_list_items_not_questions(write_article) -> None:
    doc = ingest(write_article("标题\n这需要\n?改造教育體系;\n•引導資本;\n- 鼓勵投資人。\n真的吗?\n"))
    assert [b.kind for b in doc.blocks[2:]] == ["list_item", "list_item", "list_item", "paragraph"]
    assert doc.blocks[2].text == "改造教育體系;"
    assert doc.blocks[-1].text == "真的吗?"


def test_traditional_language_guess(write_article) -> None:
    doc = ingest(write_article("標題\n這篇文章講的是歷史與創新，還有銀行與長江。\n"))
    assert doc.language == "zh-TW"
