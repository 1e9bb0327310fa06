"""The show's web pages: `index.html` (the show: cover, description, how to subscribe, the episodes)
and `<episode>/index.html` (a player, the chapter list to seek with, the transcript, downloads).

Static HTML with its CSS and script inlined (page.css, page.js): no build step, no CDN, nothing
fetched from elsewhere, so the pages work from any static host, through `audiobook serve` and
from disk. Every link is relative; user text is escaped, never markup. The output is a pure function
of the show and its episodes, so an unchanged show gives byte-identical pages.
"""

from __future__ import annotations

import hashlib
import html
from datetime import datetime
from functools import cache
from importlib import resources
from urllib.parse import quote

from .. import __version__
from .feed import Show, clean_text
from .feed_articles import Article, ChapterFile, Line
from .wording import script_of, synthetic_voice_note, text

PAGE_FILE = "index.html"


@cache
def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _e(value: str) -> str:
    return html.escape(value, quote=True)


def _href(*parts: str, version: str = "") -> str:
    url = "/".join(quote(part, safe="") for part in parts)
    return f"{url}?v={version}" if version else url


def _paragraphs(value: str) -> str:
    return "".join(f"<p>{_e(p)}</p>" for p in clean_text(value, None, multiline=True).split("\n\n") if p)


def _clock(ms: int) -> str:
    s = ms // 1000
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def _date(when: datetime, language: str) -> str:
    return when.strftime("%Y-%m-%d") if script_of(language) == "en" else f"{when.year}年{when.month}月{when.day}日"


def _minutes(ms: int, language: str) -> str:
    return text("minutes", language, n=max(1, round(ms / 60_000)))


def _megabytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def _document(language: str, title: str, description: str, head: str, body: str) -> bytes:
    page = f"""<!doctype html>
<html lang="{_e(language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<meta name="description" content="{_e(clean_text(description, 300))}">
<meta name="generator" content="audiobook {_e(__version__)}">
{head}
<style>
{_asset("page.css")}</style>
</head>
<body>
{body}
<script>
{_asset("page.js")}</script>
</body>
</html>
"""
    return page.encode("utf-8")


def _subscribe(show: Show, language: str) -> str:
    app_url = "podcast://" + show.feed_url.split("://", 1)[-1]
    return f"""<section class="subscribe" aria-labelledby="subscribe-title">
<h2 id="subscribe-title">{_e(text("subscribe", language))}</h2>
<p>{_e(text("subscribe_hint", language))}</p>
<div class="copy-row">
<label for="feed-url">{_e(text("feed_url", language))}</label>
<input id="feed-url" type="url" readonly value="{_e(show.feed_url)}">
<button type="button" id="copy-feed" data-done="{_e(text("copied", language))}">{_e(text("copy", language))}</button>
</div>
<p class="status" id="copy-status" role="status" aria-live="polite"></p>
<p class="apps"><a id="open-in-app" href="{_e(app_url)}">{_e(text("open_in_app", language))}</a> ·
<a href="{_e(_href(show.feed_file))}" type="application/rss+xml">RSS</a></p>
</section>"""


def show_page(show: Show, articles: list[Article]) -> bytes:
    """The site's front page (index.html)."""
    lang = show.language
    ordered = sorted(articles, key=lambda a: a.sort_key, reverse=not show.serial)
    items = []
    for article in ordered:
        page = _href(article.slug, PAGE_FILE)
        media = article.episode
        mp3 = _href(article.slug, media.file, version=media.sha256[:12])
        items.append(f"""<li><article lang="{_e(article.language or lang)}">
<h3><a href="{_e(page)}">{_e(article.title)}</a></h3>
<p class="meta"><time datetime="{article.published.date().isoformat()}">{_e(_date(article.published, lang))}</time>
· {_e(_minutes(media.duration_ms, lang))}{" · " + _e(article.author) if article.author else ""}</p>
{_paragraphs(clean_text(article.description, 280))}
<p class="meta"><a href="{_e(page)}">{_e(text("listen", lang))}</a> ·
<a href="{_e(mp3)}" download>{_e(text("download_mp3", lang))}</a> ({_megabytes(media.bytes)})</p>
</article></li>""")
    cover = _cover_href(show)
    head = (f'<link rel="alternate" type="application/rss+xml" title="{_e(show.title)}" '
            f'href="{_e(_href(show.feed_file))}">\n<link rel="icon" href="{_e(cover)}">')
    body = f"""<a class="skip" href="#episodes">{_e(text("jump_to", lang))}{_e(text("episodes", lang))}</a>
<div class="wrap">
<header class="top">
<img class="cover" src="{_e(cover)}" alt="" width="320" height="320">
<div class="heading">
<h1>{_e(show.title)}</h1>
<p class="byline">{_e(show.author)}</p>
{_paragraphs(show.description)}
</div>
</header>
{_subscribe(show, lang)}
<main id="episodes">
<h2>{_e(text("episodes", lang))}</h2>
<ol class="episodes">
{chr(10).join(items)}
</ol>
</main>
<footer><p>{_e(text("synthetic_voice_show", lang))}</p></footer>
</div>"""
    return _document(lang, show.title, show.description, head, body)


def _cover_href(show: Show, up: str = "") -> str:
    if show.art.url:
        return show.art.url
    return up + _href(str(show.art.file), version=hashlib.sha256(show.art.data).hexdigest()[:12])


def episode_page(show: Show, article: Article) -> bytes:
    """One episode's page (<slug>/index.html): everything is relative to the episode's folder."""
    lang = article.language or show.language
    media = article.episode
    version = media.sha256[:12]
    cover = (_href(article.cover.file, version=article.cover.sha256[:12]) if article.cover
             else _cover_href(show, up="../"))
    downloads = [f'<a href="{_e(_href(media.file, version=version))}" download>'
                 f'{_e(text("download_mp3", lang))}</a> ({_megabytes(media.bytes)})']
    for name, label in ((media.vtt, "WebVTT"), (media.srt, "SRT")):
        if name:
            downloads.append(f'<a href="{_e(_href(name, version=version))}" download>'
                             f'{_e(text("captions", lang))} {label}</a>')
    chapters = "\n".join(
        f'<li><button type="button" class="seek" data-start="{start_ms / 1000:.3f}">'
        f'<span class="time">{_clock(start_ms)}</span><span>{_e(title)}</span></button></li>'
        for start_ms, title in article.marks)
    transcript = "\n".join(_transcript_chapter(c, article.title) for c in article.chapters)
    head = (f'<link rel="alternate" type="application/rss+xml" title="{_e(show.title)}" '
            f'href="{_e("../" + _href(show.feed_file))}">\n<link rel="icon" href="{_e(cover)}">')
    meta = [_date(article.published, lang), _minutes(media.duration_ms, lang)]
    if article.author:
        meta.append(article.author)
    body = f"""<a class="skip" href="#chapters">{_e(text("jump_to", lang))}{_e(text("chapters", lang))}</a>
<div class="wrap">
<nav class="crumbs"><a href="../{PAGE_FILE}">← {_e(text("back_to_show", lang, title=show.title))}</a></nav>
<header class="top">
<img class="cover" src="{_e(cover)}" alt="" width="320" height="320">
<div class="heading">
<h1>{_e(article.title)}</h1>
<p class="meta"><time datetime="{article.published.date().isoformat()}">{_e(meta[0])}</time> ·
{" · ".join(_e(m) for m in meta[1:])}</p>
</div>
</header>
<main>
<section class="player" aria-label="{_e(text("player", lang))}">
<audio id="player" controls preload="metadata" src="{_e(_href(media.file, version=version))}">
<a href="{_e(_href(media.file, version=version))}">{_e(text("no_audio", lang))}</a>
</audio>
</section>
{_paragraphs(article.description)}
<p class="downloads">{" · ".join(downloads)}</p>
<section id="chapters" aria-labelledby="chapters-title">
<h2 id="chapters-title">{_e(text("chapters", lang))}</h2>
<ol class="chapters">
{chapters}
</ol>
</section>
<section class="transcript" aria-labelledby="transcript-title">
<h2 id="transcript-title">{_e(text("transcript", lang))}</h2>
{transcript}
</section>
</main>
<footer><p>{_e(synthetic_voice_note(lang))}</p></footer>
</div>"""
    return _document(lang, f"{article.title} · {show.title}", article.description or article.title, head, body)


def _transcript_chapter(chapter: ChapterFile, article_title: str) -> str:
    """A chapter's sentences as read: its title as a heading, sub-headings, paragraphs; each sentence
    carries its start time (in the episode) so the script can follow along."""
    first = [line for line in chapter.lines if line.kind != "title"][:1]  # the article's title may come first
    read_title = next((line for line in first
                       if line.kind == "heading" and line.text.strip() == chapter.title.strip()), None)
    title = _line(chapter, read_title) if read_title else _e(chapter.title)  # followed along when read
    out = [f'<section aria-labelledby="t{chapter.index}"><h3 id="t{chapter.index}">{title}</h3>']
    paragraph: list[Line] = []

    def flush() -> None:
        if paragraph:
            parts = [_line(chapter, paragraph[0])]
            for before, line in zip(paragraph, paragraph[1:], strict=False):
                parts += [" "] if _needs_space(before.text, line.text) else []
                parts.append(_line(chapter, line))
            out.append("<p>" + "".join(parts) + "</p>")
            paragraph.clear()

    for line in chapter.lines:
        if line.kind == "title" and line.text.strip() == article_title.strip():
            continue  # the page's own heading
        if line is read_title:
            continue  # the section's heading
        if line.kind in ("title", "heading", "subheading"):
            flush()
            out.append(f"<h4>{_line(chapter, line)}</h4>")
            continue
        if paragraph and paragraph[-1].paragraph != line.paragraph:
            flush()
        paragraph.append(line)
    flush()
    out.append("</section>")
    return "\n".join(out)


def _line(chapter: ChapterFile, line: Line) -> str:
    start = (chapter.start_ms + line.start_ms) / 1000
    return f'<span class="line" data-start="{start:.3f}">{_e(line.text)}</span>'


def _needs_space(before: str, after: str) -> bool:
    """Sentences run on in Chinese; a space only between Latin-script text and a Latin word."""
    before, after = before.rstrip(), after.lstrip()
    return bool(before and after) and before[-1].isascii() and after[0].isascii() and after[0].isalnum()
