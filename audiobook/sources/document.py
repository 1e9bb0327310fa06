"""From blocks a source gave (web page, feed entry, EPUB) to the `Document` the pipeline reads,
with the same cleaning an article file gets: boilerplate lines dropped, garbled text repaired or
reported, nothing unspeakable kept, the title found and marked."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field

from ..config import BoilerplateConfig
from ..errors import InputError
from ..models import Block, Document, DroppedLine, GarbledSpan
from ..paths import cache_dir
from ..store.files import atomic_write_bytes
from ..text.boilerplate import build_rules, match_rule
from ..text.garble import repair_line
from ..text.ingest import guess_language, has_speakable, promote_title
from ..text.markdown import check_date

log = logging.getLogger(__name__)

COVERS_DIR = "web/covers"
_BYLINE = re.compile(r"^\s*(作者|文|撰文|記者|记者|編輯|编辑|By)\s*[:：|丨]?\s*", re.IGNORECASE)
_DATELINE = re.compile(r"\s*[／/|丨]\s*\S{0,12}(報導|报道|電|电|攝|摄)$")  # 陳美玲／臺南報導
_DATE_PREFIX = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


@dataclass
class Metadata:
    title: str = ""
    author: str = ""
    date: str = ""  # YYYY-MM-DD (anything else is dropped with a note)
    language: str = ""  # BCP-47 as the source says it; "" = guess from the text
    description: str = ""
    cover: str = ""  # a path in the cache (fitted cover art), "" = none
    episode_id: str = ""
    dropped: list[DroppedLine] = field(default_factory=list)


def make_document(blocks: list[Block], meta: Metadata, source: str, encoding: str,
                  boilerplate: BoilerplateConfig | None) -> Document:
    boilerplate = boilerplate or BoilerplateConfig()
    kept, dropped, garbled = clean_blocks(blocks, boilerplate, source)
    if not kept:
        raise InputError(f"{source}: nothing to narrate (no article text found); give the page of one article")
    title = meta.title.strip() or kept[0].text
    promote_title(kept, title)
    return Document(
        title=title,
        author=clean_author(meta.author),
        date=clean_date(meta.date, source),
        language=language_code(meta.language) or guess_language("".join(b.text for b in kept[:40])),
        cover=meta.cover,
        source=source,
        blocks=kept,
        dropped=meta.dropped + dropped,
        garbled=garbled,
        encoding=encoding,
        description=meta.description.strip(),
        episode_id=meta.episode_id,
    )


def clean_blocks(blocks: list[Block], boilerplate: BoilerplateConfig,
                 name: str) -> tuple[list[Block], list[DroppedLine], list[GarbledSpan]]:
    rules = build_rules(boilerplate.patterns, boilerplate.disable)
    kept: list[Block] = []
    dropped: list[DroppedLine] = []
    garbled: list[GarbledSpan] = []
    for block in blocks:
        if rule := match_rule(block.text, rules):
            dropped.append(DroppedLine(block.line, block.text, rule, block.source))
            continue
        repaired, spans = repair_line(block.text, block.line)
        for span in spans:
            log.warning("%s:%d:%d garbled text %r %s", block.source or name, span.line, span.col, span.original,
                        span.action)
        garbled += spans
        if not has_speakable(repaired):
            dropped.append(DroppedLine(block.line, block.text, "nothing-speakable", block.source))
            continue
        block.text = repaired
        kept.append(block)
    return kept, dropped, garbled


def clean_author(author: str) -> str:
    """`作者：李明` → `李明`; several authors as trafilatura joins them (`甲; 乙`) → `甲、乙`."""
    names = [_DATELINE.sub("", _BYLINE.sub("", part)).strip() for part in re.split(r"[;；]", author or "")]
    return "、".join(n for n in names if n)[:80]


def clean_date(date: str, source: str) -> str:
    match = _DATE_PREFIX.match((date or "").strip())
    if not match:
        return ""
    try:
        return check_date(match.group(0), source)
    except InputError:
        log.info("%s: ignoring the impossible date %r", source, date)
        return ""


def language_code(lang: str) -> str:
    """zh-TW for Traditional (zh-Hant, zh-TW, zh-HK, zh-MO), zh-CN for Simplified (zh-Hans, zh-CN,
    zh-SG); "" when the source doesn't say which (plain `zh`): then the text decides."""
    lang = (lang or "").strip().replace("_", "-").lower()
    if lang.startswith(("zh-hant", "zh-tw", "zh-hk", "zh-mo")):
        return "zh-TW"
    if lang.startswith(("zh-hans", "zh-cn", "zh-sg")):
        return "zh-CN"
    if lang and not lang.startswith("zh"):
        return lang.split("-")[0]
    return ""


def keep_cover(data: bytes, name: str) -> str:
    """Cover art made compliant (square JPEG/PNG, 1400–3000 px) and kept in the cache by content;
    returns its path for `Document.cover`. Raises InputError if `data` is not an image."""
    from ..publish.cover import fit_cover  # Pillow: only when there is an image

    fitted, mime = fit_cover(data, name, quiet=True)
    path = cache_dir() / COVERS_DIR / (hashlib.sha256(fitted).hexdigest()[:40] + (".png" if mime == "image/png"
                                                                                    else ".jpg"))
    if path.exists():
        path.touch()  # used now: `cache prune` counts its grace period from here
    else:
        atomic_write_bytes(path, fitted, durable=False)
    return str(path)
