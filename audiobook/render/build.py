"""The build stage: cached segments → tagged chapter MP3s (render/chapter_audio.py), the
full-episode MP3 (CHAP/CTOC), captions, chapters JSON and their records for render.json
(store/manifest.py). Its time is what render.json's timings call "assemble_publish".

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
from dataclasses import asdict, dataclass, replace
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
from ..store.files import Staging, file_sha256
from ..store.manifest import ChapterRecord, EpisodeRecord, Manifest, MusicRecord
from ..store.manifest import Cue as CueRow
from ..store.segments import SegmentCache
from ..store.slug import slugify
from .chapter_audio import ASSEMBLY_VERSION, AudioSettings, build_chapter_audio, digest
from .music import EpisodeMusic, arrange, music_frames, music_records
from .synthesize import synthesis_order

log = logging.getLogger(__name__)


@dataclass
class BuildResult:
    chapters: list[ChapterRecord]
    episode: EpisodeRecord


ChapterProgress = Callable[[str], None]
SegmentsReady = Callable[[int], None]  # returns once chapter i's segments are cached (synthesize.ChapterGate.wait)
WORKERS = 2  # chapters built at once: numpy and ffmpeg release the GIL, so threads use both cores


@dataclass
class BuildContext:
    """What the build stage works with, for one render of one episode."""

    script: Script  # its sentences carry their segment keys
    cache: SegmentCache
    folder: Path  # the episode's public folder
    slug: str
    tags: EpisodeTags
    settings: AudioSettings
    previous: Manifest | None  # the last render's record
    stage: Staging  # where every output is written (the caller commits it)
    music: EpisodeMusic | None = None  # what goes into the full episode (render/music.py)
    on_stage: ChapterProgress | None = None


def audio_fingerprint(chapter: Chapter, settings: AudioSettings) -> str:
    return digest({"v": ASSEMBLY_VERSION, "keys": chapter.keys, "pauses": [s.pause_after_ms for s in chapter.sentences],
                   "settings": asdict(settings), "rate": WORK_RATE})


def _unchanged(folder: Path, previous: ChapterRecord | EpisodeRecord | None, fingerprint: str) -> bool:
    """The previous output with this fingerprint is still there, intact."""
    return previous is not None and previous.fingerprint == fingerprint and _intact(folder, previous)


def _intact(folder: Path, recorded: ChapterRecord | EpisodeRecord) -> bool:
    path = folder / recorded.file
    return path.exists() and path.stat().st_size == recorded.bytes and file_sha256(path) == recorded.sha256


def _write_captions(folder: Path, stem: str, cues: list[CueRow], stage: Staging) -> tuple[str, str]:
    items = [Cue(a, b, text) for a, b, text in cues]
    for name, write in ((f"{stem}.vtt", write_vtt), (f"{stem}.srt", write_srt)):
        with stage.path(folder / name) as tmp:
            write(tmp, items)
    return f"{stem}.vtt", f"{stem}.srt"


@dataclass
class _ChapterJob:
    chapter: Chapter
    stem: str
    audio_fp: str
    fingerprint: str
    lyrics: str
    prev: ChapterRecord | None


def _plan_jobs(ctx: BuildContext) -> list[_ChapterJob]:
    prev_by_file = {c.file: c for c in ctx.previous.chapters} if ctx.previous else {}
    total = len(ctx.script.chapters)
    tag_info = {**asdict(ctx.tags), "cover": hashlib.sha256(ctx.tags.cover or b"").hexdigest()}
    jobs = []
    for chapter in ctx.script.chapters:
        stem = f"{chapter.index:02d}-{slugify(chapter.title, fallback=f'chapter-{chapter.index}')}"
        audio_fp = audio_fingerprint(chapter, ctx.settings)
        lyrics = "\n".join(s.text for s in chapter.sentences)
        fingerprint = digest({"audio": audio_fp, "tags": tag_info, "title": chapter.title,
                              "track": [chapter.index, total], "lyrics": lyrics})
        jobs.append(_ChapterJob(chapter, stem, audio_fp, fingerprint, lyrics, prev_by_file.get(f"{stem}.mp3")))
    return jobs


def _build_chapter(ctx: BuildContext, job: _ChapterJob, total: int, measurer: ThreadPoolExecutor,
                   wait_for: SegmentsReady | None) -> tuple[ChapterRecord, Future[tuple[float, float]] | None]:
    """Keep the chapter file if nothing that shapes it changed; if only its tags changed (a title,
    the track count), copy its audio and rewrite the tags; else wait until its segments are all
    cached and build its audio (render/chapter_audio.py: after an edit, only the blocks that changed are
    encoded). Its loudness, maybe still being measured, is returned with the chapter."""
    chapter, prev, file, folder = job.chapter, job.prev, f"{job.stem}.mp3", ctx.folder
    path = folder / file
    if prev and _unchanged(folder, prev, job.fingerprint):
        return replace(prev, blocks_encoded=0, rebuilt=False), None
    if ctx.on_stage:
        ctx.on_stage(f"chapter {chapter.index}/{total}: assembling")
    same_text = prev is not None and [c[2] for c in prev.cues] == [s.text for s in chapter.sentences]
    if prev and prev.audio_fingerprint == job.audio_fp and same_text and _intact(folder, prev):
        with ctx.stage.path(path) as tmp:  # prev is this same file name: same audio, new tags
            shutil.copyfile(path, tmp)
            write_chapter_tags(tmp, ctx.tags, chapter.index, total, chapter.title, job.lyrics)
        new = ctx.stage.current(path)
        return replace(prev, fingerprint=job.fingerprint, title=chapter.title, blocks_encoded=0, index=chapter.index,
                       bytes=new.stat().st_size, sha256=file_sha256(new), rebuilt=True), None
    if wait_for:
        wait_for(chapter.index)
    usable = prev if prev and _intact(folder, prev) else None
    with ctx.stage.path(path) as tmp:
        audio = build_chapter_audio(chapter, ctx.cache, ctx.settings, usable, path if usable else None, tmp,
                                    measurer)
        write_chapter_tags(tmp, ctx.tags, chapter.index, total, chapter.title, job.lyrics)
    log.debug("chapter %d: %d of %d blocks encoded", chapter.index, audio.encoded, len(audio.blocks))
    vtt, srt = _write_captions(folder, job.stem, audio.captions, ctx.stage)
    duration_ms = round(1000 * audio.samples / WORK_RATE)
    new = ctx.stage.current(path)
    out = ChapterRecord(chapter.index, chapter.title, file, new.stat().st_size, file_sha256(new), duration_ms,
                        0, duration_ms, vtt, srt, job.audio_fp, job.fingerprint, chapter.keys, audio.cues,
                        audio.captions, math.nan, math.nan, rebuilt=True, gain_db=audio.gain_db,
                        mastering=ctx.settings.digest(), blocks=audio.blocks, blocks_encoded=audio.encoded)
    return out, audio.loudness


def build_outputs(ctx: BuildContext, wait_for: SegmentsReady | None = None) -> BuildResult:
    """Build what changed into `ctx.stage` (the caller commits it, then calls remove_stale). With
    wait_for, this runs beside the synthesis stage: a chapter to rebuild is started once wait_for
    says its segments are all cached."""
    ctx.folder.mkdir(parents=True, exist_ok=True)
    jobs = _plan_jobs(ctx)
    # A rebuilt chapter's new blocks are measured (decoded, gated, true peak) on the measurer's
    # threads, overlapping the next chapters and the episode join; the results are waited for
    # before anything reports loudness.
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="measure") as measurer:
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="chapter") as pool:
            # in the order their segments arrive (synthesis_order), back in reading order after
            position = {index: i for i, index in enumerate(synthesis_order(ctx.script))}
            ordered = sorted(jobs, key=lambda job: position[job.chapter.index])
            done = dict(zip((job.chapter.index for job in ordered),
                            pool.map(lambda job: _build_chapter(ctx, job, len(jobs), measurer, wait_for), ordered),
                            strict=True))
            built = [done[job.chapter.index] for job in jobs]
        outs = [out for out, _ in built]
        for out, job in zip(outs, jobs, strict=True):  # the page's transcript layout, from this script
            out.kinds = [s.kind for s in job.chapter.sentences]
            out.paragraphs = [s.paragraph for s in job.chapter.sentences]
        episode = _episode(ctx, outs)
        for out, measured in built:
            if measured is not None:
                lufs, peak = measured.result()
                out.lufs, out.true_peak_dbtp = round(lufs, 2), round(peak, 2)
    if episode.rebuilt:
        episode.lufs, episode.true_peak_dbtp = _episode_loudness(outs, episode.music)
    return BuildResult(outs, episode)


def _episode(ctx: BuildContext, outs: list[ChapterRecord]) -> EpisodeRecord:
    # The episode is the chapter files' frames joined (and the music's): its fingerprint is theirs
    # plus its own tags.
    shape: dict[str, Any] = {"chapters": [[c.sha256, c.title] for c in outs],
                             "tags": {**asdict(ctx.tags), "cover": hashlib.sha256(ctx.tags.cover or b"").hexdigest()},
                             "title": ctx.script.title}
    if ctx.music:  # absent without music: a render from before music existed is still unchanged
        shape["music"] = ctx.music.fingerprint()
    episode_fp = digest(shape)
    prev_episode = ctx.previous.episode if ctx.previous else None
    if prev_episode and prev_episode.file == f"{ctx.slug}.mp3" and _unchanged(ctx.folder, prev_episode, episode_fp):
        _place_chapters(outs, prev_episode.chapter_starts, prev_episode.samples)
        return replace(prev_episode, rebuilt=False, music=[replace(m, encoded=False) for m in prev_episode.music])
    return _build_episode(ctx, outs, episode_fp, prev_episode)


def remove_stale(folder: Path, previous: Manifest | None, built: BuildResult) -> None:
    """Delete outputs of the previous render that this one no longer has (a removed or renamed chapter)."""
    current: list[ChapterRecord | EpisodeRecord] = [*built.chapters, built.episode]
    keep = {name for out in current for name in (out.file, out.vtt, out.srt, out.chapters_json) if name}
    old: list[ChapterRecord | EpisodeRecord] = [*previous.chapters, previous.episode] if previous else []
    for entry in old:
        for name in (entry.file, entry.vtt, entry.srt, entry.chapters_json):
            if name and name not in keep and "/" not in name and not name.startswith("."):
                (folder / name).unlink(missing_ok=True)


def _place_chapters(chapters: list[ChapterRecord], starts: list[int], total: int) -> None:
    """Chapter times in the episode: each starts at its first sample; CHAP frames are contiguous,
    so a chapter ends where the next begins (the join's few ms of codec silence included)."""
    ends = [*starts[1:], total]
    for chapter, start, end in zip(chapters, starts, ends, strict=True):
        chapter.start_ms, chapter.end_ms = round(start * 1000 / WORK_RATE), round(end * 1000 / WORK_RATE)


def _episode_loudness(chapters: list[ChapterRecord], music: list[MusicRecord]) -> tuple[float, float]:
    """The episode holds the chapters' (and music parts') encoded frames unchanged: its true peak
    is theirs, and its loudness their duration-weighted power mean (each is mastered to the target)."""
    parts = [(c.duration_ms, c.lufs, c.true_peak_dbtp) for c in chapters]
    parts += [(m.duration_ms, m.lufs, m.true_peak_dbtp) for m in music]
    power = sum(ms * 10 ** (lufs / 10) for ms, lufs, _ in parts) / sum(ms for ms, _, _ in parts)
    return round(10 * math.log10(power), 2), max(peak for _, _, peak in parts)


def _chapter_lyrics(chapter: ChapterRecord) -> str:
    """A chapter's text in the episode's lyrics: its sentences, under its title unless the first
    sentence already is the title (a heading is read aloud, so it is one of the sentences)."""
    lines = [cue[2] for cue in chapter.cues]
    if not lines or lines[0].strip() != chapter.title.strip():
        lines.insert(0, chapter.title)
    return "\n".join(lines)


def _build_episode(ctx: BuildContext, chapters: list[ChapterRecord], fingerprint: str,
                   prev_episode: EpisodeRecord | None) -> EpisodeRecord:
    if ctx.on_stage:
        ctx.on_stage("full episode: joining chapters")
    folder, stage, music, file = ctx.folder, ctx.stage, ctx.music, f"{ctx.slug}.mp3"
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
        write_episode_tags(tmp, ctx.tags, ctx.script.title, marks, lyrics)
    captions = [(a + c.start_ms, b + c.start_ms, text) for c in chapters for a, b, text in c.captions]
    vtt, srt = _write_captions(folder, ctx.slug, captions, stage)
    chapters_json = f"{ctx.slug}.chapters.json"
    with stage.path(folder / chapters_json) as tmp:
        write_chapters_json(tmp, marks, title=ctx.script.title)
    new = stage.current(path)
    return EpisodeRecord(file, new.stat().st_size, file_sha256(new), round(total * 1000 / WORK_RATE), vtt, srt,
                         chapters_json, fingerprint, math.nan, math.nan, chapter_starts, total, rebuilt=True,
                         intro_ms=chapters[0].start_ms if intro_title else 0, intro_title=intro_title, music=records)
