"""Markdown (and front matter) reduced to what a narrator reads.

We don't need a full CommonMark parser: articles use a small subset. Each source line maps to
at most one logical line (kind, text), so line numbers stay true for error reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from ..errors import InputError
from ..models import MUSIC_ROLES

FRONT_MATTER_KEYS = ("id", "title", "author", "date", "language", "cover", "description", *MUSIC_ROLES)

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_LIST = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+(.*)$")
_QUOTE = re.compile(r"^\s*>\s?")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)|\[([^\]]+)\]\[[^\]]*\]")
_AUTOLINK = re.compile(r"<(https?://[^>]+)>")
_HTML = re.compile(r"</?[A-Za-z][^>]*>")
_CODE = re.compile(r"`+([^`]*)`+")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~)(?=\S)(.+?)(?<=\S)\1")
_FOOTNOTE = re.compile(r"\[\^[^\]]+\]")


# What a reader never sees: HTML comments, and the contents of script/style/template elements (also
# across lines). Replaced by as many newlines as they spanned, so line numbers stay true.
_UNREAD_HTML = re.compile(r"<!--.*?(?:-->|\Z)|<(script|style|template|noscript)\b[^>]*>.*?(?:</\1\s*>|\Z)",
                          re.DOTALL | re.IGNORECASE)


def _hide_unread_html(body: str) -> str:
    return _UNREAD_HTML.sub(lambda m: "\n" * m.group().count("\n"), body)


@dataclass
class MdLine:
    line: int  # 1-based source line
    kind: str  # "heading" | "list_item" | "text" | "blank"
    text: str
    level: int = 0


def split_front_matter(text: str, name: str) -> tuple[dict[str, Any], str, int]:
    """Return (front matter dict, body, number of lines consumed)."""
    if not text.startswith("---\n"):
        return {}, text, 0
    end = text.find("\n---", 4)
    if end < 0:
        return {}, text, 0
    raw = text[4:end]
    rest = text[end + 4:]
    newline = rest.find("\n")
    body = "" if newline < 0 else rest[newline + 1:]
    try:
        data = yaml.load(raw, Loader=_TextLoader) or {}  # a SafeLoader
    except yaml.YAMLError as exc:
        raise InputError(f"{name}: front matter is not valid YAML ({exc}); fix the block between ---") from exc
    if not isinstance(data, dict):
        raise InputError(f"{name}: front matter must be a YAML mapping of key: value lines")
    meta = {}
    for key, value in data.items():
        if key not in FRONT_MATTER_KEYS or value is None:
            continue
        if not isinstance(value, str):
            raise InputError(f"{name}: front matter {key}: must be text, got a {type(value).__name__} ({value!r}); "
                             f"write it on one line, e.g. {key}: ...")
        meta[key] = value.strip()
    if meta.get("date"):
        meta["date"] = check_date(meta["date"], name)
    return meta, body, raw.count("\n") + 3  # the opening ---, the lines between, the closing ---


class _TextLoader(yaml.SafeLoader):
    """YAML with every plain scalar read as text: `date: 2026-02-30` stays a string we can check
    (PyYAML would raise constructing it), `title: yes` stays "yes", `title: 1984` stays "1984"."""


_TextLoader.yaml_implicit_resolvers = {}

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def check_date(value: str, name: str) -> str:
    """A front-matter date as YYYY, YYYY-MM or YYYY-MM-DD that exists (an InputError otherwise)."""
    import datetime

    match = _DATE.match(value)
    try:
        if match is None:
            raise ValueError("not YYYY-MM-DD")
        datetime.date(int(match[1]), int(match[2] or 1), int(match[3] or 1))
    except ValueError as exc:
        raise InputError(f"{name}: front matter date: {value!r} is not a date ({exc}); write it as YYYY-MM-DD, "
                         "e.g. date: 2026-11-30") from None
    return value


def inline_to_text(text: str) -> str:
    """Reduce inline markdown (links, emphasis, code, images, html) to its spoken text."""
    text = _IMAGE.sub("", text)
    text = _LINK.sub(lambda m: m.group(1) or m.group(2), text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _FOOTNOTE.sub("", text)
    text = _HTML.sub("", text)
    text = _CODE.sub(r"\1", text)
    for _ in range(3):  # nested emphasis
        text = _EMPHASIS.sub(r"\2", text)
    return text.strip()


def parse_markdown(body: str, first_line: int = 1) -> list[MdLine]:
    out: list[MdLine] = []
    in_fence = False
    lines = _hide_unread_html(body).split("\n")
    for i, raw in enumerate(lines):
        lineno = first_line + i
        if _FENCE.match(raw):
            in_fence = not in_fence
            continue
        if in_fence or not raw.strip() or _RULE.match(raw) or _TABLE_SEP.match(raw):
            out.append(MdLine(lineno, "blank", ""))
            continue
        if m := _HEADING.match(raw):
            out.append(MdLine(lineno, "heading", inline_to_text(m.group(2)), len(m.group(1))))
            continue
        if m := _SETEXT.match(raw):
            prev = out[-1] if out else None
            if prev and prev.kind == "text" and (i == 0 or lines[i - 1].strip()):
                prev.kind, prev.level = "heading", 1 if m.group(1)[0] == "=" else 2
                continue
        stripped = _QUOTE.sub("", raw)
        if m := _LIST.match(stripped):
            out.append(MdLine(lineno, "list_item", inline_to_text(m.group(1))))
            continue
        if stripped.strip().startswith("|"):  # table row: its cells read as a list, the row a sentence of its own
            cells = [inline_to_text(c) for c in stripped.strip().strip("|").split("|")]
            out.append(MdLine(lineno, "list_item", "，".join(c for c in cells if c)))
            continue
        out.append(MdLine(lineno, "text", inline_to_text(stripped)))
    return out
