"""A real HTTP server on loopback serving pages the tests own, and the pages: news articles in
Simplified and Traditional Chinese wrapped in the clutter real sites have (navigation, share bars,
ads, inline scripts, comments, related links, footers), each built from a known body so a test can
check that the extracted text is exactly that body."""

from __future__ import annotations

import hashlib
import html
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# ------------------------------------------------------------------ the server


@dataclass
class Route:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # before the answer: a slow server
    validators: bool = True  # ETag + Last-Modified (and 304 answers to conditional requests)
    length: bool = True  # send Content-Length (False: the body ends when the connection closes)


@dataclass
class Seen:
    path: str
    status: int
    conditional: bool
    user_agent: str


class WebServer:
    """ThreadingHTTPServer on 127.0.0.1:0; `routes` maps a path to what is served there."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                route = server.routes.get(self.path.split("?")[0])
                conditional = bool(self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since"))
                if route is None:
                    return self._answer(404, {"Content-Type": "text/html"}, b"<h1>404 Not Found</h1>", conditional)
                if route.delay_s and server.stopping.wait(route.delay_s):
                    return
                etag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
                headers = {"Content-Type": route.content_type, **route.headers}
                if route.validators and route.status == 200:
                    headers |= {"ETag": etag, "Last-Modified": "Wed, 18 Nov 2026 08:00:00 GMT"}
                    if self.headers.get("If-None-Match") == etag:
                        return self._answer(304, {"ETag": etag}, b"", conditional)
                self._answer(route.status, headers, route.body, conditional, route.length)

            def _answer(self, status: int, headers: dict[str, str], body: bytes, conditional: bool,
                        length: bool = True) -> None:
                server.seen.append(Seen(self.path, status, conditional, self.headers.get("User-Agent", "")))
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    if length:
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if status != 304:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def page(self, path: str, text: str, charset: str = "utf-8", content_type: str = "text/html") -> str:
        """Serve `text` at `path` (encoded in `charset`, which the header names) and return its URL."""
        self.routes[path] = Route(text.encode(charset), f"{content_type}; charset={charset}")
        return self.url(path)

    def fetches(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]


@contextmanager
def serving() -> Iterator[WebServer]:
    server = WebServer()
    thread = threading.Thread(target=server.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.httpd.shutdown()
        server.httpd.server_close()
        thread.join(5)


# ------------------------------------------------------------------ the pages

# A body is a list of (kind, text): "h" = chapter heading, "p" = paragraph, "li" = list item,
# "br" = a paragraph of lines joined by <br> (each line is heard as its own paragraph).

CN_TITLE = "城市里的夜跑者"
CN_AUTHOR = "李明"
CN_BODY: list[tuple[str, str]] = [
    ("p", "晚上九点，江边的步道上依然热闹。越来越多的年轻人选择在下班之后跑步，他们说这是一天中最自由的时间。"),
    ("p", "二十八岁的程序员小张已经坚持夜跑三年了。他告诉记者，跑步让他的睡眠变好了，工作也更有效率。"),
    ("h", "从一个人到一群人"),
    ("p", "最开始，小张总是一个人跑。后来，他在网上找到了一个跑步群，群里有一百多位成员。"),
    ("br", "每周三和周六，大家约好一起出发。\n有人跑五公里，有人跑十公里。\n没有人会被落下。"),
    ("h", "需要注意的几件事"),
    ("p", "医生提醒，夜跑也有一些需要注意的地方："),
    ("li", "穿颜色鲜艳的衣服，让司机看得见。"),
    ("li", "跑前不要吃得太饱。"),
    ("li", "选择灯光明亮的路线。"),
    ("p", "小张说，只要天气允许，他会一直跑下去。"),
]
# Strings of the clutter around the body: none may be heard.
CN_CLUTTER = ["首页", "分享到", "微信", "广告", "限时五折", "相关阅读", "马拉松报名", "网友评论", "写得真好",
              "版权所有",
              "京ICP备", "图为夜跑者", "内联脚本", "_hmt", "热门推荐", "登录", "摄影", "责任编辑", "上一篇"]

TW_TITLE = "老街的最後一家書店"
TW_AUTHOR = "陳美玲"
TW_BODY: list[tuple[str, str]] = [
    ("p", "在臺南的一條老街上，有一家開了四十年的書店。店主林先生每天早上八點準時開門，風雨無阻。"),
    ("p", "書店不大，只有二十坪左右，卻擺滿了一萬多本書。許多老顧客說，這裡是他們童年的回憶。"),
    ("h", "一、從租書店開始"),
    ("p", "民國七十五年，林先生用存下來的積蓄，開了一家小小的租書店。那時候，漫畫和武俠小說最受歡迎。"),
    ("p", "後來，租書的人越來越少，他決定改賣新書與二手書。"),
    ("h", "二、網路時代的挑戰"),
    ("p", "網路書店興起之後，實體書店的生意一落千丈。林先生也曾經想過要關門。"),
    ("p", "但是附近國小的老師常常帶學生來這裡上閱讀課，讓他決定再撐下去。"),
    ("li", "每週六下午舉辦說故事時間。"),
    ("li", "提供附近居民免費借閱舊雜誌。"),
    ("p", "林先生笑著說，只要還有人願意走進來，書店就會一直開著。"),
]
TW_CLUTTER = ["首頁", "分享", "臉書", "廣告", "延伸閱讀", "熱門文章", "留言", "好感動", "版權所有", "圖說",
              "訂閱電子報",
              "gtag", "請登入"]


def body_html(body: list[tuple[str, str]], ruby: bool = False) -> str:
    out, items = [], []
    for kind, text in body + [("end", "")]:
        if kind != "li" and items:
            out.append("<ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in items) + "</ul>")
            items = []
        if kind == "li":
            items.append(text)
        elif kind == "h":
            out.append(f"<h2>{html.escape(text)}</h2>")
        elif kind == "p":
            out.append(f"<p>{html.escape(text)}</p>")
        elif kind == "br":
            out.append("<p>" + "<br>\n".join(html.escape(line) for line in text.split("\n")) + "</p>")
    return "\n".join(out)


def expected_blocks(body: list[tuple[str, str]]) -> list[str]:
    """What a listener hears of a body, block by block (after the title)."""
    out = []
    for kind, text in body:
        out += text.split("\n") if kind == "br" else [text]
    return out


def cn_news_page(body: list[tuple[str, str]] = CN_BODY, title: str = CN_TITLE, image: str = "") -> str:
    og_image = f'<meta property="og:image" content="{image}">' if image else ""
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{title}_社会新闻_示例网</title>
<meta name="author" content="{CN_AUTHOR}">
<meta name="description" content="越来越多的年轻人选择在夜晚跑步。">
<meta property="og:title" content="{title}">{og_image}
<meta property="article:published_time" content="2026-11-20T08:00:00+08:00">
<script>var _hmt = _hmt || []; (function() {{ var hm = document.createElement("script"); }})();</script>
<style>.share {{ color: red; }}</style>
</head><body>
<div class="top-bar"><a href="/login">登录</a> <a href="/register">注册</a></div>
<header><nav class="main-nav"><a href="/">首页</a> <a href="/news">新闻</a> <a href="/sports">体育</a></nav></header>
<div class="breadcrumb"><a href="/">首页</a> &gt; <a href="/news">社会新闻</a></div>
<div class="main">
<article class="article">
<h1>{title}</h1>
<div class="byline">作者：{CN_AUTHOR}　2026-11-20 08:00　来源：示例网</div>
<div class="share-bar">分享到：<a>微信</a><a>微博</a><a>QQ空间</a></div>
<figure><img src="/img/lead.jpg" alt="夜跑"><figcaption>图为夜跑者在江边跑步。摄影：王强</figcaption></figure>
{body_html(body)}
<script>document.write("内联脚本不应被朗读");</script>
<div class="ad-box">广告：夏季跑鞋限时五折</div>
<p class="editor">责任编辑：赵六</p>
<div class="article-pager"><a href="/prev">上一篇：秋天的公园</a></div>
</article>
<div class="related-news"><h3>相关阅读</h3><ul><li><a href="/a1">马拉松报名人数创新高</a></li>
<li><a href="/a2">如何选择一双合适的跑鞋</a></li></ul></div>
<div id="comments" class="comment-list"><h3>网友评论（2）</h3>
<div class="comment-item"><p>写得真好，我也要去跑步！</p></div>
<div class="comment-item"><p>江边的风景确实不错。</p></div></div>
</div>
<aside class="sidebar"><h3>热门推荐</h3><ul><li><a href="/h1">冬季养生指南</a></li></ul></aside>
<footer><p>版权所有 © 2026 示例网 京ICP备12345678号</p></footer>
</body></html>"""


def tw_news_page(charset_meta: str = "utf-8") -> str:
    return f"""<!DOCTYPE html>
<html lang="zh-Hant-TW"><head><meta http-equiv="Content-Type" content="text/html; charset={charset_meta}">
<title>{TW_TITLE} | 地方新聞 | 範例日報</title>
<meta property="og:title" content="{TW_TITLE}">
<meta name="author" content="{TW_AUTHOR}">
<meta property="article:published_time" content="2026-10-05">
<script async src="https://www.googletagmanager.com/gtag/js"></script>
<script>window.dataLayer = window.dataLayer || []; function gtag(){{dataLayer.push(arguments);}}</script>
</head><body>
<div id="header"><ul class="menu"><li><a href="/">首頁</a></li><li><a href="/local">地方</a></li></ul>
<a class="login" href="/login">請登入</a></div>
<div id="content">
<h1 class="headline">{TW_TITLE}</h1>
<p class="author">記者{TW_AUTHOR}／臺南報導</p>
<div class="social-share"><a>分享到臉書</a><a>LINE</a></div>
<figure class="photo"><img src="/p.jpg"><figcaption>圖說：林先生在書店裡整理書籍。</figcaption></figure>
<div class="story">
{body_html(TW_BODY)}
</div>
<div class="ads"><ins class="adsbygoogle">廣告</ins></div>
<div class="subscribe-box">訂閱電子報，掌握最新消息</div>
<div class="extend-reading related"><h2>延伸閱讀</h2><ul><li><a href="/x">老街咖啡館的故事</a></li></ul></div>
</div>
<div id="disqus_thread" class="comments"><h3>留言</h3><p>看了好感動，下次去臺南一定要去。</p></div>
<div class="sidebar"><h3>熱門文章</h3><ol><li><a href="/y">颱風假怎麼放</a></li></ol></div>
<div id="footer">版權所有 © 範例日報</div>
</body></html>"""


def ruby_page() -> str:
    return """<html lang="zh-CN"><head><meta charset="utf-8"><title>生僻字</title></head><body><article>
<h1>生僻字</h1>
<p>这个字读作<ruby>龘<rp>(</rp><rt>dá</rt><rp>)</rp></ruby>，意思是龙腾飞的样子。它由三个龙字组成，笔画非常多。</p>
<p>另一个字是<ruby>靐<rt>bìng</rt></ruby>，意思是雷声。古人造字的时候，常常把同一个字叠在一起，表示数量多或者声势大。</p>
<p>学习这些字，可以帮助我们了解汉字的造字方法，也能让我们感受到古人的想象力。</p>
</article></body></html>"""


def slow_body(seconds: float) -> Route:
    return Route(cn_news_page().encode(), delay_s=seconds)


def wait_for(predicate, timeout_s: float = 5.0) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# ------------------------------------------------------------------ feeds


@dataclass
class Post:
    """One article of a test site: served as a page at `path`, listed in its feed."""

    path: str
    title: str
    date: str  # RFC 3339 date, e.g. 2026-11-20
    body: list[tuple[str, str]]
    full: bool = False  # the feed carries the whole article (else only a summary)

    def html(self) -> str:
        return cn_news_page(self.body, self.title)


def rss_feed(base: str, posts: list[Post], title: str = "示例网·社会") -> str:
    from datetime import UTC, datetime
    from email.utils import format_datetime

    items = []
    for post in posts:
        stamp = format_datetime(datetime.fromisoformat(post.date).replace(hour=8, tzinfo=UTC))
        content = (f"<content:encoded><![CDATA[<h1>{post.title}</h1>{body_html(post.body)}"
                   f"<p class=\"share\">分享到微博</p>]]></content:encoded>") if post.full else ""
        items.append(f"<item><title>{html.escape(post.title)}</title><link>{base}{post.path}</link>"
                     f"<guid>{base}{post.path}</guid><pubDate>{stamp}</pubDate>"
                     f"<description>{html.escape(post.body[0][1][:30])}……</description>{content}</item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            f'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>{title}</title>'
            f"<link>{base}/</link><description>测试用的网站</description>{''.join(items)}</channel></rss>")


def atom_feed(base: str, posts: list[Post], title: str = "範例日報") -> str:
    entries = []
    for post in posts:
        content = (f'<content type="html">{html.escape(body_html(post.body))}</content>' if post.full else "")
        entries.append(f"<entry><title>{html.escape(post.title)}</title><link href=\"{base}{post.path}\"/>"
                       f"<id>tag:example,2026:{post.path}</id><updated>{post.date}T08:00:00Z</updated>"
                       f"<author><name>{TW_AUTHOR}</name></author>"
                       f"<summary>{html.escape(post.body[0][1][:30])}……</summary>{content}</entry>")
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title>'
            f'<id>{base}/</id><updated>2026-11-20T08:00:00Z</updated><link href="{base}/"/>{"".join(entries)}</feed>')


def short_body(topic: str, n: int = 2) -> list[tuple[str, str]]:
    """A short article body about `topic` (quick to narrate with the local voice)."""
    paragraphs = [f"今天我们聊一聊{topic}。{topic}是很多人关心的话题。", f"关于{topic}，专家给出了三点建议。"]
    return [("p", text) for text in paragraphs[:n]]
