"""Assemble and publish: cached segments → tagged chapter MP3s (render/chapter_audio.py), the
full-episode MP3 (CHAP/CTOC), captions, chapters JSON and the outputs' record for render.json.

Chapters are built two at a time on threads (memory is bounded by the largest chapters, not
the book). Each chapter has a fingerprint of everything that shapes its file: a chapter whose
fingerprint and file are unchanged since the last render is kept byte-identical and untouched;
one whose audio is unchanged but whose tags are not is re-tagged without re-encoding; one that
changed is rebuilt, re-encoding only its blocks that changed. The full episode is the chapter
files' frames joined (audio/mp3join.py), so it is never encoded twice.
"""

from __future__ import annotations

import hashlib
import logging
import math
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..audio.ffmpeg import MP3_RATE as WORK_RATE
from ..audio.mp3join import join_frames, read_frames
from ..models import Chapter, Script
from ..publish import (
    ChapterMark,
    Cue,
    EpisodeTags,
    write_chapter_tags,
    write_chapters_json,
    write_episode_tags,
    write_srt,
    write_vtt,
)
from ..store.files import Staging
from ..store.segments import SegmentCache
from ..store.slug import slugify
from .chapter_audio import ASSEMBLY_VERSION, AudioSettings, build_chapter_audio, digest
from .music import EpisodeMusic, arrange, music_frames, music_records
from .synthesize import synthesis_order

log = logging.getLogger(__name__)


@dataclass
class ChapterOut:
    index: int
    title: str
    file: str
    bytes: int
    sha256: str
    duration_ms: int
    start_ms: int
    end_ms: int
    vtt: str
    srt: str
    audio_fingerprint: str
    fingerprint: str
    keys: list[str]
    cues: list[list[Any]]  # [start_ms, end_ms, text] per sentence, chapter time (the manifest's record)
    captions: list[list[Any]]  # [start_ms, end_ms, text] per caption cue (long sentences split at words)
    lufs: float
    true_peak_dbtp: float
    rebuilt: bool = False
    chapters_json: None = None
    gain_db: float = math.nan  # the make-up gain its blocks were mastered with (render/chapter_audio.py)
    mastering: str = ""  # AudioSettings.digest() of that mastering
    blocks: list[dict[str, Any]] = field(default_factory=list)  # chapter_audio.BlockRecord per block
    blocks_encoded: int = 0  # by this render (the others' frames were copied from the previous file)
    kinds: list[str] = field(default_factory=list)  # each sentence's kind (title, heading, …): for transcripts
    paragraphs: list[int] = field(default_factory=list)  # each sentence's paragraph in the chapter


@dataclass
class EpisodeOut:
    file: str
    bytes: int
    sha256: str
    duration_ms: int
    vtt: str
    srt: str
    chapters_json: str
    fingerprint: str
    lufs: float  # derived from the chapters (the episode is their frames, joined)
    true_peak_dbtp: float
    chapter_starts: list[int]  # first sample of each chapter in the decoded episode
    samples: int  # decoded length
    rebuilt: bool = False
    intro_ms: int = 0  # the intro music before chapter 1: the episode's first chapter, of its own
    intro_title: str = ""
    music: list[dict[str, Any]] = field(default_factory=list)  # each music part (render/music.music_records)


@dataclass
class ProduceResult:
    chapters: list[ChapterOut]
    episode: EpisodeOut
    timings_s: dict[str, float] = field(default_factory=dict)


def _restore(cls: type, recorded: dict[str, Any], rebuilt: bool = False) -> Any:
    """An output as render.json recorded it (fingerprint checks guarantee the fields)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in recorded.items() if k in names and k != "rebuilt"}, rebuilt=rebuilt)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def audio_fingerprint(chapter: Chapter, keys: list[str], settings: AudioSettings) -> str:
    return digest({"v": ASSEMBLY_VERSION, "keys": keys, "pauses": [s.pause_after_ms for s in chapter.sentences],
                   "settings": asdict(settings), "rate": WORK_RATE})


def _unchanged(folder: Path, previous: dict[str, Any] | None, fingerprint: str) -> bool:
    """The previous output with this fingerprint is still there, intact."""
    return bool(previous) and previous.get("fingerprint") == fingerprint and _intact(folder, previous)


def _intact(folder: Path, recorded: dict[str, Any]) -> bool:
    path = folder / recorded["file"]
    return path.exists() and path.stat().st_size == recorded.get("bytes") and file_sha256(path) == recorded["sha256"]


def _write_captions(folder: Path, stem: str, cues: list[list[Any]], stage: Staging) -> tuple[str, str]:
    items = [Cue(int(a), int(b), text) for a, b, text in cues]
    for name, write in ((f"{stem}.vtt", write_vtt), (f"{stem}.srt", write_srt)):
        with stage.path(folder / name) as tmp:
            write(tmp, items)
    return f"{stem}.vtt", f"{stem}.srt"


ChapterProgress = Callable[[str], None]
SegmentsReady = Callable[[int], None]  # returns once chapter i's segments are cached (synthesize.ChapterGate.wait)
WORKERS = 2  # chapters built at once: numpy and ffmpeg release the GIL, so threads use both cores


@dataclass
class _ChapterJob:
    chapter: Chapter
    keys: list[str]
    stem: str
    audio_fp: str
    fingerprint: str
    lyrics: str
    prev: dict[str, Any] | None


def _plan_jobs(script: Script, keys: list[list[str]], tags: EpisodeTags, settings: AudioSettings,
               previous: dict[str, Any] | None) -> list[_ChapterJob]:
    prev_by_file = {c["file"]: c for c in (previous or {}).get("chapters", [])}
    total = len(script.chapters)
    tag_info = {**asdict(tags), "cover": hashlib.sha256(tags.cover or b"").hexdigest()}
    jobs = []
    for chapter, chapter_keys in zip(script.chapters, keys, strict=True):
        stem = f"{chapter.index:02d}-{slugify(chapter.title, fallback=f'chapter-{chapter.index}')}"
        audio_fp = audio_fingerprint(chapter, chapter_keys, settings)
        lyrics = "\n".join(s.text for s in chapter.sentences)
        fingerprint = digest({"audio": audio_fp, "tags": tag_info, "title": chapter.title,
                              "track": [chapter.index, total], "lyrics": lyrics})
        jobs.append(_ChapterJob(chapter, chapter_keys, stem, audio_fp, fingerprint, lyrics,
                                prev_by_file.get(f"{stem}.mp3")))
    return jobs


def _build_chapter(job: _ChapterJob, total: int, cache: SegmentCache, folder: Path, tags: EpisodeTags,
                   settings: AudioSettings, on_stage: ChapterProgress | None, measurer: ThreadPoolExecutor,
                   wait_for: SegmentsReady | None, stage: Staging
                   ) -> tuple[ChapterOut, Future[tuple[float, float]] | None]:
    """Keep the chapter file if nothing that shapes it changed; if only its tags changed (a title,
    the track count), copy its audio and rewrite the tags; else wait until its segments are all
    cached and build its audio (render/chapter_audio.py: after an edit, only the blocks that changed are
    encoded). Its loudness, maybe still being measured, is returned with the chapter."""
    chapter, prev, file = job.chapter, job.prev, f"{job.stem}.mp3"
    path = folder / file
    if prev and _unchanged(folder, prev, job.fingerprint):
        return _restore(ChapterOut, {**prev, "blocks_encoded": 0}), None
    if on_stage:
        on_stage(f"chapter {chapter.index}/{total}: assembling")
    same_text = prev is not None and [c[2] for c in prev.get("cues", [])] == [s.text for s in chapter.sentences]
    if prev and prev.get("audio_fingerprint") == job.audio_fp and same_text and _intact(folder, prev):
        with stage.path(path) as tmp:  # prev is this same file name: same audio, new tags
            shutil.copyfile(path, tmp)
            write_chapter_tags(tmp, tags, chapter.index, total, chapter.title, job.lyrics)
        new = stage.current(path)
        return _restore(ChapterOut, {**prev, "fingerprint": job.fingerprint, "title": chapter.title,
                                     "blocks_encoded": 0, "index": chapter.index, "bytes": new.stat().st_size,
                                     "sha256": file_sha256(new)}, rebuilt=True), None
    if wait_for:
        wait_for(chapter.index)
    usable = prev if prev and _intact(folder, prev) else None
    with stage.path(path) as tmp:
        audio = build_chapter_audio(chapter, job.keys, cache, settings, usable, path if usable else None, tmp,
                                    measurer)
        write_chapter_tags(tmp, tags, chapter.index, total, chapter.title, job.lyrics)
    log.debug("chapter %d: %d of %d blocks encoded", chapter.index, audio.encoded, len(audio.blocks))
    vtt, srt = _write_captions(folder, job.stem, audio.captions, stage)
    duration_ms = round(1000 * audio.samples / WORK_RATE)
    new = stage.current(path)
    out = ChapterOut(chapter.index, chapter.title, file, new.stat().st_size, file_sha256(new), duration_ms,
                     0, duration_ms, vtt, srt, job.audio_fp, job.fingerprint, job.keys, audio.cues, audio.captions,
                     math.nan, math.nan, rebuilt=True, gain_db=audio.gain_db, mastering=settings.digest(),
                     blocks=[asdict(b) for b in audio.blocks], blocks_encoded=audio.encoded)
    return out, audio.loudness


def produce(script: Script, keys: list[list[str]], cache: SegmentCache, folder: Path, slug: str,
            tags: EpisodeTags, settings: AudioSettings, previous: dict[str, Any] | None, stage: Staging,
            on_stage: ChapterProgress | None = None, wait_for: SegmentsReady | None = None,
            music: EpisodeMusic | None = None) -> ProduceResult:
    """Build what changed into `stage` (the caller commits it, then calls remove_stale). With
    wait_for, this runs beside the synthesis stage: a chapter to rebuild is started once wait_for
    says its segments are all cached. `music` goes into the full episode (render/music.py)."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = _plan_jobs(script, keys, tags, settings, previous)
    # A rebuilt chapter's new blocks are measured (decoded, gated, true peak) on the measurer's
    # threads, overlapping the next chapters and the episode join; the results are waited for
    # before anything reports loudness.
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="measure") as measurer:
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="chapter") as pool:
            # in the order their segments arrive (synthesis_order), back in reading order after
            position = {index: i for i, index in enumerate(synthesis_order(script))}
            ordered = sorted(jobs, key=lambda job: position[job.chapter.index])
            done = dict(zip((job.chapter.index for job in ordered),
                            pool.map(lambda job: _build_chapter(job, len(jobs), cache, folder, tags, settings,
                                                                on_stage, measurer, wait_for, stage), ordered),
                            strict=True))
            built = [done[job.chapter.index] for job in jobs]
        outs = [out for out, _ in built]
        for out, job in zip(outs, jobs, strict=True):  # the page's transcript layout, from this script
            out.kinds = [s.kind for s in job.chapter.sentences]
            out.paragraphs = [s.paragraph for s in job.chapter.sentences]
        episode = _episode(script, outs, folder, slug, tags, previous, on_stage, stage, music)
        for out, measured in built:
            if measured is not None:
                lufs, peak = measured.result()
                out.lufs, out.true_peak_dbtp = round(lufs, 2), round(peak, 2)
    if episode.rebuilt:
        episode.lufs, episode.true_peak_dbtp = _episode_loudness(outs, episode.music)
    return ProduceResult(outs, episode)


def _episode(script: Script, outs: list[ChapterOut], folder: Path, slug: str, tags: EpisodeTags,
             previous: dict[str, Any] | None, on_stage: ChapterProgress | None, stage: Staging,
             music: EpisodeMusic | None) -> EpisodeOut:
    # The episode is the chapter files' frames joined (and the music's): its fingerprint is theirs
    # plus its own tags.
    shape: dict[str, Any] = {"chapters": [[c.sha256, c.title] for c in outs],
                             "tags": {**asdict(tags), "cover": hashlib.sha256(tags.cover or b"").hexdigest()},
                             "title": script.title}
    if music:  # absent without music: a render from before music existed is still unchanged
        shape["music"] = music.fingerprint()
    episode_fp = digest(shape)
    prev_episode = (previous or {}).get("episode")
    if prev_episode and prev_episode.get("file") == f"{slug}.mp3" and _unchanged(folder, prev_episode, episode_fp):
        _place_chapters(outs, prev_episode["chapter_starts"], prev_episode["samples"])
        kept = _restore(EpisodeOut, prev_episode)
        kept.music = [{**record, "encoded": False} for record in kept.music]
        return kept
    return _produce_episode(script, outs, folder, slug, tags, episode_fp, on_stage, stage, music, prev_episode)


def remove_stale(folder: Path, previous: dict[str, Any] | None, produced: ProduceResult) -> None:
    """Delete outputs of the previous render that this one no longer has (a removed or renamed chapter)."""
    current: list[ChapterOut | EpisodeOut] = [*produced.chapters, produced.episode]
    keep = {name for out in current
            for name in (out.file, out.vtt, out.srt, getattr(out, "chapters_json", None)) if name}
    old = [*(previous or {}).get("chapters", []), (previous or {}).get("episode") or {}]
    for entry in old:
        for key in ("file", "vtt", "srt", "chapters_json"):
            name = entry.get(key)
            if isinstance(name, str) and name not in keep and "/" not in name and not name.startswith("."):
                (folder / name).unlink(missing_ok=True)


def _place_chapters(chapters: list[ChapterOut], starts: list[int], total: int) -> None:
    """Chapter times in the episode: each starts at its first sample; CHAP frames are contiguous,
    so a chapter ends where the next begins (the join's few ms of codec silence included)."""
    ends = [*starts[1:], total]
    for chapter, start, end in zip(chapters, starts, ends, strict=True):
        chapter.start_ms, chapter.end_ms = round(start * 1000 / WORK_RATE), round(end * 1000 / WORK_RATE)


def _episode_loudness(chapters: list[ChapterOut], music: list[dict[str, Any]]) -> tuple[float, float]:
    """The episode holds the chapters' (and music parts') encoded frames unchanged: its true peak
    is theirs, and its loudness their duration-weighted power mean (each is mastered to the target)."""
    parts = [(c.duration_ms, c.lufs, c.true_peak_dbtp) for c in chapters]
    parts += [(m["duration_ms"], m["lufs"], m["true_peak_dbtp"]) for m in music]
    power = sum(ms * 10 ** (lufs / 10) for ms, lufs, _ in parts) / sum(ms for ms, _, _ in parts)
    return round(10 * math.log10(power), 2), max(peak for _, _, peak in parts)


def _chapter_lyrics(chapter: ChapterOut) -> str:
    """A chapter's text in the episode's lyrics: its sentences, under its title unless the first
    sentence already is the title (a heading is read aloud, so it is one of the sentences)."""
    lines = [str(cue[2]) for cue in chapter.cues]
    if not lines or lines[0].strip() != chapter.title.strip():
        lines.insert(0, chapter.title)
    return "\n".join(lines)


def _produce_episode(script: Script, chapters: list[ChapterOut], folder: Path, slug: str, tags: EpisodeTags,
                     fingerprint: str, on_stage: ChapterProgress | None, stage: Staging,
                     music: EpisodeMusic | None = None, prev_episode: dict[str, Any] | None = None) -> EpisodeOut:
    if on_stage:
        on_stage("full episode: joining chapters")
    file = f"{slug}.mp3"
    path = folder / file
    with stage.path(path) as tmp:
        encoded = music_frames(music, prev_episode, folder) if music else {}
        parts = arrange([read_frames(stage.current(folder / c.file)) for c in chapters], encoded)
        starts, total = join_frames([part for _, part in parts], tmp)
        chapter_starts = [s for (role, _), s in zip(parts, starts, strict=True) if role == "chapter"]
        _place_chapters(chapters, chapter_starts, total)
        records = music_records(music, encoded, parts, starts) if music else []
        marks = [ChapterMark(c.title, c.start_ms, c.end_ms) for c in chapters]
        intro_title = music.intro_title if music and "intro" in encoded else ""
        if intro_title:  # chapter lists start at 0: the intro is a chapter of its own, before chapter 1
            marks.insert(0, ChapterMark(intro_title, 0, chapters[0].start_ms))
        lyrics = "\n\n".join(_chapter_lyrics(c) for c in chapters)
        write_episode_tags(tmp, tags, script.title, marks, lyrics)
    captions = [[a + c.start_ms, b + c.start_ms, text] for c in chapters for a, b, text in c.captions]
    vtt, srt = _write_captions(folder, slug, captions, stage)
    chapters_json = f"{slug}.chapters.json"
    with stage.path(folder / chapters_json) as tmp:
        write_chapters_json(tmp, marks, title=script.title)
    new = stage.current(path)
    return EpisodeOut(file, new.stat().st_size, file_sha256(new), round(total * 1000 / WORK_RATE), vtt, srt,
                      chapters_json, fingerprint, math.nan, math.nan, chapter_starts, total, rebuilt=True,
                      intro_ms=chapters[0].start_ms if intro_title else 0, intro_title=intro_title, music=records)
