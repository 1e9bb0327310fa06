"""Bytes → text: UTF-8 (with or without BOM), GB18030/GBK and Big5 are detected and decoded.

Chinese legacy encodings overlap: many GBK byte strings are also valid Big5 and vice versa.
Decoding both and asking which result reads as *common* characters separates them: real text
is mostly frequent characters, while the wrong codec yields rare ones.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from ..errors import InputError

# Control characters other than tab and newline (C0, DEL, C1) and stray BOM / zero-width marks.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\u200b\u2060\ufffe]")


def _common_share(text: str, codec: str) -> float:
    """Share of CJK characters that are frequent in `codec`'s own ordering.

    GB2312 level 1 (lead bytes B0–D7) holds the 3,755 most common simplified characters;
    Big5's frequent block is A440–C67E. Text decoded with the wrong codec lands elsewhere.
    """
    cjk = [ch for ch in text if "\u4e00" <= ch <= "\u9fff"]
    if not cjk:
        return 0.0
    common = 0
    for ch in cjk:
        try:
            if codec == "big5":
                b = ch.encode("big5")
                common += 0xA4 <= b[0] <= 0xC6
            else:
                b = ch.encode("gb2312")
                common += 0xB0 <= b[0] <= 0xD7
        except UnicodeEncodeError:
            pass
    return common / len(cjk)


def _looks_binary(data: bytes) -> bool:
    if b"\x00" in data[:8192]:
        return True
    sample = data[:8192]
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return controls > max(4, len(sample) // 50)


def decode_bytes(data: bytes, name: str) -> tuple[str, str]:
    """Return (text, encoding name). Raise InputError for binary or undecodable data."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    if _looks_binary(data):
        raise InputError(f"{name}: looks like a binary file, not text; give a .txt or .md article")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    candidates: list[tuple[float, str, str]] = []
    for codec in ("gb18030", "big5"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        candidates.append((_common_share(text, codec), codec, text))
    if not candidates:
        raise InputError(
            f"{name}: not UTF-8, GB18030 or Big5 text; re-save it as UTF-8 and try again"
        )
    # Prefer the codec whose decode reads as common characters; gb18030 wins ties.
    score, codec, text = max(candidates, key=lambda c: (c[0], c[1] == "gb18030"))
    return text, codec


def clean_text(text: str) -> str:
    """Normalize newlines, strip control characters and compatibility spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = text.replace("\u3000", " ").replace("\u00a0", " ")
    return unicodedata.normalize("NFC", text)


def read_article(path: Path) -> tuple[str, str]:
    """Read and decode an article file; return (clean text, encoding)."""
    text, encoding = decode_bytes(read_bytes(path), str(path))
    return clean_text(text), encoding


def read_bytes(path: Path) -> bytes:
    """An article file's bytes; InputError (saying what to do) when it can't be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file; check the path") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a directory; give an article file (.txt, .md, .html or .epub)") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror}); check permissions") from exc
