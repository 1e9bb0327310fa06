"""Safe file names from article titles.

The name must work on Linux, macOS and Windows, inside a URL path of the feed, and as a shell
argument; Chinese is kept as it is (every modern file system and HTTP server handles UTF-8 names).
"""

from __future__ import annotations

import re
import unicodedata

MAX_SLUG_BYTES = 80

# Characters Windows forbids in file names, plus both path separators.
_RESERVED_CHARS = re.compile(r'[<>:"/\\|?*]')
# Windows refuses these as the part of a name before the first dot, whatever the case or extension.
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{dev}{n}" for dev in ("COM", "LPT") for n in (*"123456789", "¹", "²", "³")}
)
_DASHES = re.compile(r"-{2,}")
_DOTS = re.compile(r"\.{2,}")
_EDGE_JUNK = "-._ "  # a name should not start with a dot (hidden) or a dash (read as an option)


def slugify(title: str, fallback: str = "article", max_bytes: int = MAX_SLUG_BYTES) -> str:
    """A file name stem for `title`: never empty, at most `max_bytes` UTF-8 bytes, no path parts."""
    slug = _clean(title, max_bytes)
    if slug:
        return slug
    return _clean(fallback, max_bytes) or "article"


def _clean(text: str, max_bytes: int) -> str:
    text = unicodedata.normalize("NFC", text)  # same title, same bytes (macOS hands out NFD names)
    text = "".join("-" if ch.isspace() else ch for ch in text if _keep(ch))
    text = _RESERVED_CHARS.sub("-", text)
    text = _DOTS.sub(".", text)  # no ".." anywhere, not even harmlessly inside a name
    text = _DASHES.sub("-", text).strip(_EDGE_JUNK)
    text = _truncate_utf8(text, max_bytes).strip(_EDGE_JUNK)
    while text.partition(".")[0].upper() in _WINDOWS_RESERVED:  # "CON.CON" too
        text = text.partition(".")[2].strip(_EDGE_JUNK)
    return text


def _keep(ch: str) -> bool:
    """Drop control/format/unassigned characters and emoji or other pictographs (they break old
    tools and render as boxes in some file managers); letters, digits and punctuation stay."""
    if ch.isspace():
        return True
    category = unicodedata.category(ch)
    if category[0] == "C" or category == "So":
        return False
    # Variation selectors and skin-tone modifiers are leftovers of the emoji just dropped.
    return not ("\ufe00" <= ch <= "\ufe0f" or "\U0001f3fb" <= ch <= "\U0001f3ff")


def _truncate_utf8(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    # errors="ignore" drops the partial character left at the cut.
    return encoded[:max_bytes].decode("utf-8", errors="ignore")
