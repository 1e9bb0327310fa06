"""Output folders as `audiobook render` leaves them (site/<slug>/ and state/<guid>/render.json
format 1), built from real tiny MP3s, ID3 tags, chapters JSON, captions and cover art, for the
feed, pages, serve and publish tests."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from audiobook.audio.ffmpeg import encode_mp3_bytes
from audiobook.publish.sidecars import Cue, write_chapters_json, write_srt, write_vtt
from audiobook.publish.tags import ChapterMark, EpisodeTags, write_chapter_tags, write_episode_tags
from audiobook.store.slug import slugify

RATE = 44100


def tone(seconds: float, freq: float) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return np.round(0.2 * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


@cache
def _mp3(seconds: float, freq: float) -> bytes:
    return encode_mp3_bytes(tone(seconds, freq), RATE, 64)


@cache
def _cover_jpeg(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1400, 1400), color).save(out, "JPEG", quality=70)
    return out.getvalue()


def _media_entry(path: Path, duration_ms: int) -> dict:
    data = path.read_bytes()
    return {"file": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "duration_ms": duration_ms}


def make_article(root: Path, title: str, chapters: list[tuple[str, float]], *, author: str = "王小明",
                 date: str = "", first_rendered: str = "2026-11-29T21:40:00+00:00", freq: float = 440.0,
                 guid: str | None = None, description: str = "一篇关于茶与代码的短文。") -> Path:
    """Write OUTPUT/site/<slug>/ and OUTPUT/state/<guid>/ for an article with `chapters` as
    (title, seconds); return the public folder (its manifest: `manifest_of(folder)`)."""
    slug = slugify(title)
    folder = root / "site" / slug
    folder.mkdir(parents=True, exist_ok=True)
    tags = EpisodeTags(album=title, artist=author, date=date, language="zh-CN")
    (folder / "cover.jpg").write_bytes(_cover_jpeg((200, 120, 40)))

    entries, marks, start = [], [], 0
    for n, (chapter_title, seconds) in enumerate(chapters, start=1):
        stem = f"{n:02d}-{slugify(chapter_title)}"
        path = folder / f"{stem}.mp3"
        path.write_bytes(_mp3(seconds, freq + 110 * n))
        write_chapter_tags(path, tags, n, len(chapters), chapter_title, "")
        duration = round(seconds * 1000)
        cue = [Cue(0, duration, chapter_title)]
        write_vtt(folder / f"{stem}.vtt", cue)
        write_srt(folder / f"{stem}.srt", cue)
        marks.append(ChapterMark(chapter_title, start, start + duration))
        entries.append({"index": n, "title": chapter_title, **_media_entry(path, duration), "start_ms": start,
                        "end_ms": start + duration, "vtt": f"{stem}.vtt", "srt": f"{stem}.srt",
                        "chapters_json": None, "cues": [[0, duration // 2, f"{chapter_title}。"],
                                                        [duration // 2, duration, "第二句 & <b>加粗</b>。"]],
                        "kinds": ["heading", "sentence"], "paragraphs": [0, 1]})
        start += duration

    episode = folder / f"{slug}.mp3"
    pcm = np.concatenate([tone(s, freq + 110 * n) for n, (_, s) in enumerate(chapters, start=1)])
    episode.write_bytes(encode_mp3_bytes(pcm, RATE, 64))
    write_episode_tags(episode, tags, title, marks, "")
    write_chapters_json(folder / f"{slug}.chapters.json", marks, title)
    cues = [Cue(m.start_ms, m.end_ms, m.title) for m in marks]
    write_vtt(folder / f"{slug}.vtt", cues)
    write_srt(folder / f"{slug}.srt", cues)

    guid = guid or str(uuid.uuid4())
    render = {
        "format": 1, "slug": slug, "guid": guid, "title": title, "author": author,
        "date": date, "language": "zh-CN", "description": description, "source": f"articles/{slug}.md",
        "first_rendered": first_rendered, "rendered_at": first_rendered, "engine": "local", "voice": "baker",
        "cover": "cover.jpg",
        "episode": {**_media_entry(episode, round(len(pcm) * 1000 / RATE)), "vtt": f"{slug}.vtt",
                    "srt": f"{slug}.srt", "chapters_json": f"{slug}.chapters.json"},
        "chapters": entries, "segments": {"total": 0, "cached": 0, "synthesized": 0}, "timings_s": {},
    }
    state = root / "state" / guid
    state.mkdir(parents=True, exist_ok=True)
    (state / "render.json").write_text(json.dumps(render, ensure_ascii=False, indent=2), encoding="utf-8")
    identity = {"guid": guid, "slug": slug, "source": f"/articles/{slug}.md", "id": "", "title": title,
                "retired": False}
    (state / "episode.json").write_text(json.dumps(identity, ensure_ascii=False), encoding="utf-8")
    return folder


def manifest_of(folder: Path) -> Path:
    """The render.json of the episode whose public folder is `folder` (site/<slug>)."""
    root = folder.parent.parent
    for path in (root / "state").glob("*/render.json"):
        if json.loads(path.read_text(encoding="utf-8"))["slug"] == folder.name:
            return path
    raise FileNotFoundError(f"no manifest for {folder}")


def rerender(folder: Path, seconds: float, freq: float,
             rendered_at: str = "2026-11-30T08:00:00+00:00") -> None:
    """Simulate a re-render that changed the audio: new episode MP3, new size/hash/duration, same guid."""
    manifest = manifest_of(folder)
    render = json.loads(manifest.read_text(encoding="utf-8"))
    episode = folder / render["episode"]["file"]
    episode.write_bytes(_mp3(seconds, freq))
    render["episode"].update(_media_entry(episode, round(seconds * 1000)))
    render["rendered_at"] = rendered_at
    manifest.write_text(json.dumps(render, ensure_ascii=False), encoding="utf-8")
