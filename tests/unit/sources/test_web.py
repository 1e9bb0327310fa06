"""Web pages in: a real HTTP server on loopback serves news pages the tests own (Simplified and
Traditional Chinese, GBK and Big5, wrapped in real-world clutter), and each test checks that the
article read from it is exactly the known body: nothing of the clutter, nothing of the body lost,
the structure (title, chapters, lists) and the metadata kept. Bad input is one clear error."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from audiobook.config import Config, FetchConfig, load_profile
from audiobook.errors import InputError
from audiobook.models import Document
from audiobook.render.pipeline import make_plan
from audiobook.sources import load_document, parse_ref
from tests.support.web import (
    CN_AUTHOR,
    CN_BODY,
    CN_CLUTTER,
    CN_TITLE,
    TW_AUTHOR,
    TW_BODY,
    TW_CLUTTER,
    TW_TITLE,
    Route,
    WebServer,
    cn_news_page,
    expected_blocks,
    ruby_page,
    tw_news_page,
)


def heard(document: Document) -> list[str]:
    """The blocks read after the title."""
    return [b.text for b in document.blocks if not (b.kind == "heading" and b.level == 0)]


def all_text(document: Document) -> str:
    return document.title + "".join(b.text for b in document.blocks)


def config(timeout_s: float = 5.0, max_mb: float = 10.0) -> Config:
    return Config(fetch=FetchConfig(timeout_s=timeout_s, max_mb=max_mb))


def gbk_page() -> str:
    return cn_news_page().replace("©", "").replace('charset="utf-8"', 'charset="gbk"')


def serve(web: WebServer, name: str) -> tuple[str, list[tuple[str, str]], str, str, list[str], str, str]:
    """(url, body, title, author, clutter, language, codec) for one of the test pages."""
    if name == "simplified":
        return web.page("/news/night.html", cn_news_page()), CN_BODY, CN_TITLE, CN_AUTHOR, CN_CLUTTER, "zh-CN", "utf-8"
    if name == "traditional":
        return web.page("/tw/shop", tw_news_page()), TW_BODY, TW_TITLE, TW_AUTHOR, TW_CLUTTER, "zh-TW", "utf-8"
    if name == "gbk-header":  # the HTTP header says gbk (and so does the page)
        return web.page("/gbk.html", gbk_page(), "gbk"), CN_BODY, CN_TITLE, CN_AUTHOR, CN_CLUTTER, "zh-CN", "gb18030"
    if name == "big5-meta-only":  # the header names no charset: the page's <meta> does
        url = web.page("/big5.html", tw_news_page("big5").replace("©", ""), "big5")
        web.routes["/big5.html"].content_type = "text/html"
        return url, TW_BODY, TW_TITLE, TW_AUTHOR, TW_CLUTTER, "zh-TW", "big5hkscs"
    if name == "gbk-undeclared":  # neither says: detected from the bytes
        url = web.page("/plain-gbk.html", gbk_page().replace('<meta charset="gbk">', ""), "gbk")
        web.routes["/plain-gbk.html"].content_type = "text/html"
        return url, CN_BODY, CN_TITLE, CN_AUTHOR, CN_CLUTTER, "zh-CN", "gb18030"
    raise AssertionError(name)


PAGES = ["simplified", "traditional", "gbk-header", "big5-meta-only", "gbk-undeclared"]


@pytest.mark.parametrize("name", PAGES)
def test_news_page_is_exactly_its_body(web: WebServer, name: str) -> None:
    url, body, title, author, clutter, language, codec = serve(web, name)
    document = load_document(url, config())
    assert heard(document) == expected_blocks(body)  # nothing lost, nothing added, in order
    text = all_text(document)
    assert not [c for c in clutter if c in text], "clutter was kept"
    assert (document.title, document.author, document.language, document.encoding) == (title, author, language, codec)
    assert document.source == url
    assert document.date in ("2026-11-20", "2026-10-05")
    kinds = [(b.kind, b.text) for b in document.blocks]
    chapters = [text for kind, text in body if kind == "h"]
    assert [t for k, t in kinds if k == "heading" and t != title] == chapters
    assert [t for k, t in kinds if k == "list_item"] == [text for kind, text in body if kind == "li"]


def test_plan_has_chapters_from_headings_and_lists_what_was_dropped(web: WebServer) -> None:
    url = web.page("/news/night.html", cn_news_page())
    script = make_plan(load_document(url, config()), load_profile("default"), "local")
    assert [c.title for c in script.chapters] == ["开篇", "从一个人到一群人", "需要注意的几件事"]
    assert all(c.source == url for c in script.chapters)
    rules = {d.rule for d in script.dropped}
    assert {"html:share", "html:figcaption", "html:ad", "html:related", "html:comments", "html:footer",
            "html:aside", "credits"} <= rules
    comments = next(d for d in script.dropped if d.rule == "html:comments")
    assert "写得真好" in comments.text and "江边的风景" in comments.text  # one entry for the thread
    assert all(d.line > 0 for d in script.dropped)  # the page's line, for finding it
    assert script.to_json()["chapters"][1]["source"] == url


def test_ruby_reads_the_base_text_and_br_breaks_lines(web: WebServer) -> None:
    document = load_document(web.page("/ruby.html", ruby_page()), config())
    text = all_text(document)
    assert "龘，" in text and "靐，" in text
    assert not any(reading in text for reading in ("dá", "bìng", "(", ")"))


def test_redirect_is_followed_and_the_source_stays_the_asked_url(web: WebServer) -> None:
    target = web.page("/2026/11/night.html", cn_news_page())
    web.routes["/s/abc"] = Route(b"", status=301, headers={"Location": target}, validators=False)
    document = load_document(web.url("/s/abc"), config())
    assert heard(document) == expected_blocks(CN_BODY)
    assert document.source == web.url("/s/abc")


def test_second_fetch_is_conditional_and_answered_304(web: WebServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import audiobook.sources.webpage as webpage

    url = web.page("/news/night.html", cn_news_page())
    first = load_document(url, config())
    with monkeypatch.context() as patch:  # an unchanged page is not extracted again: its reading is remembered
        patch.setattr(webpage, "page_document", lambda *a, **k: pytest.fail("extracted again"))
        second = load_document(url, config())
    assert [s.status for s in web.fetches("/news/night.html")] == [200, 304]
    assert web.fetches("/news/night.html")[1].conditional
    assert heard(second) == heard(first)
    assert all(s.user_agent.startswith("audiobook/") for s in web.seen)
    web.page("/news/night.html", cn_news_page(CN_BODY[:-1]))  # edited: a new ETag
    third = load_document(url, config())
    assert web.fetches("/news/night.html")[-1].status == 200
    assert heard(third) == expected_blocks(CN_BODY[:-1])


def test_lead_image_becomes_a_compliant_cover(web: WebServer) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 630), (200, 80, 40)).save(buffer, "JPEG")
    web.routes["/img/lead.jpg"] = Route(buffer.getvalue(), "image/jpeg")
    document = load_document(web.page("/a.html", cn_news_page(image="/img/lead.jpg")), config())
    with Image.open(document.cover) as cover:
        assert cover.size[0] == cover.size[1] >= 1400


def test_missing_lead_image_falls_back_to_a_drawn_cover(web: WebServer, caplog: pytest.LogCaptureFixture) -> None:
    document = load_document(web.page("/a.html", cn_news_page(image="/img/gone.jpg")), config())
    assert document.cover == ""
    assert "lead image is not used" in caplog.text


def test_saved_html_file(tmp_path: Path) -> None:
    page = tmp_path / "saved.html"
    page.write_bytes(tw_news_page("big5").replace("©", "").encode("big5"))
    document = load_document(parse_ref(str(page)), Config())
    assert heard(document) == expected_blocks(TW_BODY)
    assert document.source == str(page)


def huge(web: WebServer, with_length: bool) -> str:
    body = cn_news_page().replace("</article>", "<p>" + "很长的页面。" * 200_000 + "</p></article>").encode()
    web.routes["/huge"] = Route(body, length=with_length)
    return web.url("/huge")


@pytest.mark.parametrize(
    ("case", "needles"),
    [
        ("404", ["HTTP 404", "check the URL"]),
        ("not-html", ["application/pdf", "not a web page"]),
        ("a-feed", ["is a feed", "audiobook follow"]),
        ("huge-declared", ["MB limit", "max_mb"]),
        ("huge-streamed", ["MB limit"]),
        ("slow", ["no answer within 1 s"]),
        ("refused", ["refused"]),
        ("unknown-scheme", ["only http:// and https://"]),
        ("only-navigation", ["no article text found"]),
        ("no-text", ["no article text found"]),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_bad_web_input_is_one_clear_error(web: WebServer, case: str, needles: list[str]) -> None:
    if case == "404":
        url = web.url("/nope.html")
    elif case == "not-html":
        web.routes["/doc.pdf"] = Route(b"%PDF-1.4", "application/pdf")
        url = web.url("/doc.pdf")
    elif case == "a-feed":
        web.routes["/feed.xml"] = Route(b"<rss version='2.0'/>", "application/rss+xml")
        url = web.url("/feed.xml")
    elif case.startswith("huge"):
        url = huge(web, case == "huge-declared")
    elif case == "slow":
        web.routes["/slow"] = Route(cn_news_page().encode(), delay_s=10)
        url = web.url("/slow")
    elif case == "refused":
        url = "http://127.0.0.1:9/article"
    elif case == "unknown-scheme":
        url = "ftp://example.com/a.html"
    elif case == "only-navigation":
        url = web.page("/empty.html", "<html><body><nav><a href='/'>首页</a></nav></body></html>")
    else:
        url = web.page("/img.html", "<html><body><div><img src='/x.jpg'></div></body></html>")
    with pytest.raises(InputError) as caught:
        load_document(parse_ref(url), config(timeout_s=1.0, max_mb=1.0))
    message = str(caught.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message
