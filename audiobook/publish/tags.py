"""ID3 tags for chapter files and the full-episode file (with CHAP/CTOC chapters).

We write ID3v2.3, deliberately: Windows Explorer / Media Player and id3lib-based tools read only
v2.3, every podcast app (Apple Podcasts, Overcast, Pocket Casts…) reads both, and the chapter
frames (CHAP/CTOC) are defined for both. What v2.3 costs us is handled by mutagen: Chinese text is
stored as UTF-16 instead of UTF-8, and the date goes into TYER (+TDAT) instead of TDRC. mutagen
does not convert frames on save, so `update_to_v23()` must run first (see podcast-standards §5.1).

mutagen's errors become PublishError in `_mutagen_errors` and nowhere else.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mutagen
from mutagen.id3 import APIC, CHAP, COMM, CTOC, ID3, TALB, TCON, TDRC, TIT2, TLAN, TPE1, TRCK, USLT, CTOCFlags
from mutagen.mp3 import MP3

from ..errors import PublishError

ID3_VERSION = 3
UTF8 = 3  # mutagen re-encodes it as UTF-16 when saving v2.3
UINT32_MAX = 0xFFFFFFFF
MAX_CHAPTERS = 255  # CTOC stores its entry count in one byte

# BCP-47 primary subtag → ISO 639-2 (terminology code, as TLAN/USLT/COMM want).
# Mandarin and Cantonese tags (cmn, yue) are ISO 639-3; ID3 only knows 639-2, where both are "zho".
_ISO639_2 = {
    "zh": "zho", "cmn": "zho", "yue": "zho", "en": "eng", "ja": "jpn", "ko": "kor",
    "fr": "fra", "de": "deu", "es": "spa", "ru": "rus", "pt": "por", "it": "ita",
}
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@dataclass
class EpisodeTags:
    album: str  # article title
    artist: str  # author
    date: str  # "YYYY" or "YYYY-MM-DD" ("" if unknown)
    language: str  # BCP-47 like zh-CN → TLAN ISO 639-2 "zho"
    genre: str = "Podcast"
    cover: bytes | None = None
    cover_mime: str = "image/jpeg"
    comment: str = ""  # e.g. "narrated by the local engine (voice baker)"


@dataclass
class ChapterMark:
    title: str
    start_ms: int
    end_ms: int


def iso639_2(language: str) -> str:
    """"zh-CN" → "zho"; unknown languages → "und" (ISO 639-2 for undetermined)."""
    primary = language.strip().replace("_", "-").split("-")[0].lower()
    if primary in _ISO639_2:
        return _ISO639_2[primary]
    return primary if len(primary) == 3 and primary.isascii() and primary.isalpha() else "und"


def write_chapter_tags(path: Path, tags: EpisodeTags, track: int, total: int, title: str,
                       lyrics: str) -> None:
    """Tag one chapter file in place: track n/N, its title and its text as lyrics."""
    if not 1 <= track <= total:
        raise ValueError(f"track {track} is not within 1..{total}")
    id3 = _common_frames(tags, title, lyrics)
    id3.add(TRCK(encoding=UTF8, text=f"{track}/{total}"))
    _save(path, id3)


def write_episode_tags(path: Path, tags: EpisodeTags, title: str, chapters: list[ChapterMark],
                       lyrics: str) -> None:
    """Tag the full-episode file in place, with one CHAP per chapter and one top-level ordered CTOC."""
    _check_chapters(chapters)
    id3 = _common_frames(tags, title, lyrics)
    ids = [f"chp{n}" for n in range(1, len(chapters) + 1)]
    id3.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                 child_element_ids=ids, sub_frames=[TIT2(encoding=UTF8, text=tags.album)]))
    for element_id, chapter in zip(ids, chapters, strict=True):
        # Byte offsets are left at 0xFFFFFFFF ("use the times"): CBR seeking by time is exact.
        id3.add(CHAP(element_id=element_id, start_time=chapter.start_ms, end_time=chapter.end_ms,
                     start_offset=UINT32_MAX, end_offset=UINT32_MAX,
                     sub_frames=[TIT2(encoding=UTF8, text=chapter.title)]))
    _save(path, id3)


def _common_frames(tags: EpisodeTags, title: str, lyrics: str) -> ID3:
    lang = iso639_2(tags.language)
    id3 = ID3()
    id3.add(TIT2(encoding=UTF8, text=title))
    id3.add(TPE1(encoding=UTF8, text=tags.artist))
    id3.add(TALB(encoding=UTF8, text=tags.album))
    id3.add(TCON(encoding=UTF8, text=tags.genre))
    id3.add(TLAN(encoding=UTF8, text=lang))
    if tags.date:
        if not _DATE.match(tags.date):
            raise PublishError(f"date {tags.date!r} is not YYYY, YYYY-MM or YYYY-MM-DD; fix `date:` in the "
                               "article's front matter")
        id3.add(TDRC(encoding=UTF8, text=tags.date))  # becomes TYER + TDAT in update_to_v23()
    if tags.cover:
        id3.add(APIC(encoding=UTF8, mime=tags.cover_mime, type=3, desc="Cover", data=tags.cover))
    if lyrics:
        id3.add(USLT(encoding=UTF8, lang=lang, desc="", text=lyrics))
    if tags.comment:
        id3.add(COMM(encoding=UTF8, lang=lang, desc="", text=tags.comment))
    return id3


def _check_chapters(chapters: list[ChapterMark]) -> None:
    if not 1 <= len(chapters) <= MAX_CHAPTERS:
        raise PublishError(f"{len(chapters)} chapters cannot go into ID3 chapter frames (1–{MAX_CHAPTERS} "
                           "allowed); split the article differently")
    previous_end = 0
    for n, chapter in enumerate(chapters, start=1):
        if not previous_end <= chapter.start_ms < chapter.end_ms <= UINT32_MAX:
            raise ValueError(f"chapter {n} ({chapter.start_ms}–{chapter.end_ms} ms) overlaps the previous "
                             f"one (ends {previous_end} ms) or has no duration")
        previous_end = chapter.end_ms


@contextlib.contextmanager
def _mutagen_errors(path: Path) -> Iterator[None]:
    """The one seam where mutagen (and file system) errors become PublishError."""
    try:
        yield
    except mutagen.MutagenError as exc:
        raise PublishError(f"could not write tags to {path}: {exc}; is it a complete MP3 file?") from exc
    except OSError as exc:
        raise PublishError(f"could not write tags to {path}: {exc.strerror or exc}; check the path "
                           "and free disk space") from exc


def _save(path: Path, id3: ID3) -> None:
    with _mutagen_errors(path):
        MP3(path)  # refuses anything that is not MPEG audio before we write to it
        id3.update_to_v23()
        # save() replaces the whole existing ID3v2 tag, so no stale frames survive from an earlier run.
        # v1=0 removes any ID3v1 tag: it is Latin-1 only and cannot hold Chinese.
        id3.save(path, v1=0, v2_version=ID3_VERSION)
        _put_chapters_in_file_order(path)


def _put_chapters_in_file_order(path: Path) -> None:
    """Rewrite the CHAP frames in chapter order, in place and at the same size.

    mutagen sorts frames by size when saving, so CHAP frames land in an arbitrary order. Readers that
    follow the ordered CTOC don't care, but ffmpeg (and players built on it) list chapters in file
    order. This only permutes whole frames inside the tag mutagen just wrote (v2.3, no unsync,
    no extended header), so the audio does not move.
    """
    with open(path, "r+b") as fh:
        header = fh.read(10)
        if header[:3] != b"ID3" or header[3] != ID3_VERSION or header[5] != 0:
            return
        size = int.from_bytes(bytes(b & 0x7F for b in header[6:10]), "big")  # syncsafe integer
        body = fh.read(size)
        frames: list[tuple[bytes, bytes]] = []
        pos = 0
        while pos + 10 <= len(body) and body[pos] != 0:  # a zero byte starts the padding
            frame_id = body[pos:pos + 4]
            end = pos + 10 + int.from_bytes(body[pos + 4:pos + 8], "big")  # v2.3 sizes are plain uint32
            frames.append((frame_id, body[pos:end]))
            pos = end
        chaps = iter(sorted((data for fid, data in frames if fid == b"CHAP"), key=_chap_start_ms))
        reordered = [next(chaps) if fid == b"CHAP" else data for fid, data in frames]
        fh.seek(10)
        fh.write(b"".join(reordered))


def _chap_start_ms(frame: bytes) -> int:
    """Start time of a raw v2.3 CHAP frame: after the 10-byte header and the NUL-ended element id."""
    start = frame.index(b"\0", 10) + 1
    return int.from_bytes(frame[start:start + 4], "big")
