"""Files published next to the MP3s: WebVTT and SRT captions, Podcasting 2.0 JSON chapters.

Everything is written atomically (temp file + rename), so a feed never points at half a file.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

from ..store.files import atomic_write_text
from .linebreak import CLAUSE_END, break_lines, display_width
from .tags import ChapterMark

# A caption line of 22 Chinese characters (44 columns) fits a phone screen; two lines per cue.
MAX_LINE_COLUMNS = 44
MAX_LINES = 2
# jsonChapters.md "Version 1.2"; the spec's own examples write the version as "1.2.0".
CHAPTERS_JSON_VERSION = "1.2.0"


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    text: str


def write_vtt(path: Path, cues: list[Cue], max_columns: int = MAX_LINE_COLUMNS) -> None:
    """WebVTT captions (timestamps `HH:MM:SS.mmm`); `&`, `<` and `>` escaped as cue text requires."""
    blocks = ["WEBVTT"]
    for cue in layout_cues(cues, max_columns):
        text = cue.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        blocks.append(f"{_timestamp(cue.start_ms, '.')} --> {_timestamp(cue.end_ms, '.')}\n{text}")
    _write(path, "\n\n".join(blocks) + "\n")


def write_srt(path: Path, cues: list[Cue], max_columns: int = MAX_LINE_COLUMNS) -> None:
    """SubRip captions: numbered from 1, timestamps `HH:MM:SS,mmm`."""
    blocks = [
        f"{n}\n{_timestamp(cue.start_ms, ',')} --> {_timestamp(cue.end_ms, ',')}\n{cue.text}"
        for n, cue in enumerate(layout_cues(cues, max_columns), start=1)
    ]
    _write(path, "\n\n".join(blocks) + "\n" if blocks else "")


def write_chapters_json(path: Path, chapters: list[ChapterMark], title: str | None = None) -> None:
    """Podcasting 2.0 JSON chapters (`application/json+chapters`), times in float seconds."""
    previous_start = -1
    for chapter in chapters:
        if not previous_start < chapter.start_ms < chapter.end_ms:
            raise ValueError(f"chapter {chapter.title!r} starts at {chapter.start_ms} ms, not after the "
                             f"previous one, or ends at {chapter.end_ms} ms, before it starts")
        previous_start = chapter.start_ms
    doc: dict[str, object] = {"version": CHAPTERS_JSON_VERSION}
    if title:
        doc["title"] = title
    doc["chapters"] = [
        {"startTime": chapter.start_ms / 1000, "endTime": chapter.end_ms / 1000, "title": chapter.title}
        for chapter in chapters
    ]
    _write(path, json.dumps(doc, ensure_ascii=False, indent=2) + "\n")


def layout_cues(cues: list[Cue], max_columns: int = MAX_LINE_COLUMNS,
                max_lines: int = MAX_LINES) -> list[Cue]:
    """Wrap each cue to lines of at most `max_columns` (a CJK character counts 2) and split cues
    that need more than `max_lines` lines into consecutive cues, dividing the time by text length.
    Empty cues are dropped."""
    out: list[Cue] = []
    for cue in cues:
        if not 0 <= cue.start_ms < cue.end_ms:
            raise ValueError(f"cue {cue.text[:20]!r} has times {cue.start_ms}–{cue.end_ms} ms")
        chunks = _wrapped(cue.text, max_columns, max_lines)
        total = sum(width for width, _ in chunks)
        start, done = cue.start_ms, 0
        for width, text in chunks:
            done += width
            end = cue.start_ms + round((cue.end_ms - cue.start_ms) * done / total)
            out.append(Cue(start, end, text))
            start = end
    return out


@functools.lru_cache(maxsize=1 << 14)
def _wrapped(text: str, max_columns: int, max_lines: int) -> tuple[tuple[int, str], ...]:
    """(display width, wrapped text) of each cue `text` becomes. Remembered: the VTT and the SRT,
    a chapter's captions and the episode's, lay out the same texts."""
    lines = break_lines(" ".join(text.split()), max_columns)
    chunks = [_join(lines[i:i + max_lines]) for i in range(0, len(lines), max_lines)]
    return tuple((display_width(chunk), "\n".join(_balanced_lines(chunk, max_columns, max_lines)))
                 for chunk in chunks)


def _join(lines: list[str]) -> str:
    """Undo a line break: Chinese joins directly, Latin words get their space back."""
    text = lines[0]
    for line in lines[1:]:
        narrow = display_width(text[-1]) == 1 and display_width(line[0]) == 1
        text += (" " if narrow else "") + line
    return text


def _balanced_lines(text: str, max_columns: int, max_lines: int) -> list[str]:
    """Lines for one cue: as filled, if the breaks fall after clause marks; otherwise the narrowest
    wrap that still fits in `max_lines`, so the lines come out about equally long."""
    greedy = break_lines(text, max_columns)
    if len(greedy) <= max_lines and all(line[-1] in CLAUSE_END for line in greedy[:-1]):
        return greedy
    for columns in range(math.ceil(display_width(text) / max_lines), max_columns):
        lines = break_lines(text, columns)
        if len(lines) <= max_lines:
            return lines
    return greedy


def _timestamp(ms: int, separator: str) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def _write(path: Path, text: str) -> None:
    atomic_write_text(path, text)  # OS errors become PublishError there
